"""SMS over SMPP in the database: inbound PDUs and messages, the outbox's queue state, receipts.

Every method has the store's shape (`def thd(conn): ...; return self.db.do(thd)`) and returns plain
dicts. The outbox is the loop's `outbound_messages` table, extended with a queue state (queued ->
sending -> sent -> delivered | failed), attempts and next_try_at; `sms_submits` keeps each part the
SMSC accepted with its message id, so a retry never sends an accepted part again and a delivery
receipt finds its message.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import zlib
from typing import Callable

import sqlalchemy as sa

from intake.db import schema as t
from routing import workflow as wf

OUT = t.outbound_messages


def dedup_keys(link: str, source: str, destination: str, data_coding: int, esm_class: int, user_data: bytes,
               received_at: dt.datetime, window_s: float) -> tuple[str, str]:
    """(key for now, key of the previous time bucket) of one PDU: a hash of what identifies it and
    the bucket of `window_s` it arrived in. Checking both buckets makes a retransmission within
    the window match even across a bucket boundary."""
    h = hashlib.sha256(b"\x00".join([link.encode(), source.encode("latin-1", "replace"),
                                     destination.encode("latin-1", "replace"), bytes([data_coding & 0xFF]),
                                     bytes([esm_class & 0xFF]), user_data])).hexdigest()[:40]
    bucket = int(received_at.timestamp() // window_s)
    return f"{h}:{bucket}", f"{h}:{bucket - 1}"


def _insert_ignore(conn, table, values: dict) -> bool:
    """INSERT that does nothing on a unique conflict; True when the row was inserted."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    # RETURNING says whether a row was written (rowcount is not reliable for this on psycopg).
    stmt = insert(table).values(**values).on_conflict_do_nothing().returning(*table.primary_key.columns)
    return conn.execute(stmt).first() is not None


class SmsStore:
    """The SMS gateway's tables through a runner (DBThreadPool or SyncRunner)."""

    def __init__(self, db):
        self.db = db

    # -- inbound ------------------------------------------------------------------------------
    def store_pdu(self, *, link: str, source: str, destination: str, data_coding: int, esm_class: int,
                  wire_data: bytes, data: bytes, ref: int | None, total: int, seq: int,
                  received_at: dt.datetime, window_s: float, read: Callable[[bytes, int], tuple]):
        """Store one deliver_sm's user data (retransmissions find their first copy).

        wire_data: the user data as received (UDH included: it identifies the part);
        data: without the UDH. read(joined, data_coding) -> (text, error, kind) classifies a whole
        message. Returns {"duplicate": bool, "message": message dict or None (parts still missing)}.
        """
        key, previous = dedup_keys(link, source, destination, data_coding, esm_class, wire_data, received_at, window_s)

        def thd(conn):
            if ref is not None and conn.dialect.name == "postgresql":
                # The parts of one message may arrive on several sessions at once: whoever stores
                # the last part must see all the others, so parts of one message are serialised.
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"),
                             {"k": zlib.crc32(f"sms:{link}:{source}:{ref}:{total}".encode())})
            first = conn.execute(sa.select(t.sms_inbound_pdus).where(
                t.sms_inbound_pdus.c.link == link, t.sms_inbound_pdus.c.dedup_key.in_([key, previous]))).mappings().first()
            if first is None:
                inserted = _insert_ignore(conn, t.sms_inbound_pdus, dict(
                    link=link, dedup_key=key, source=source, destination=destination, data_coding=data_coding,
                    concat_ref=ref, concat_total=total, concat_seq=seq, user_data=data, received_at=received_at))
                if inserted:
                    return {"duplicate": False, "message": self._assemble(conn, link, source, destination, data_coding,
                                                                          ref, total, received_at, read, key)}
                first = conn.execute(sa.select(t.sms_inbound_pdus).where(
                    t.sms_inbound_pdus.c.link == link, t.sms_inbound_pdus.c.dedup_key == key)).mappings().one()
            message = None
            if first["message_id"] is not None:
                message = dict(conn.execute(sa.select(t.sms_inbound_messages).where(
                    t.sms_inbound_messages.c.id == first["message_id"])).mappings().one())
            return {"duplicate": True, "message": message}
        return self.db.do(thd)

    def _assemble(self, conn, link, source, destination, data_coding, ref, total, now, read, key):
        pdus = t.sms_inbound_pdus
        if ref is None:
            rows = [conn.execute(sa.select(pdus).where(pdus.c.link == link, pdus.c.dedup_key == key)).mappings().one()]
        else:
            rows = conn.execute(sa.select(pdus).where(
                pdus.c.link == link, pdus.c.source == source, pdus.c.concat_ref == ref,
                pdus.c.concat_total == total, pdus.c.message_id.is_(None)).order_by(pdus.c.id)).mappings().all()
            by_seq = {}
            for r in rows:
                by_seq.setdefault(r["concat_seq"], r)
            if len(by_seq) < total:
                return None
            rows = [by_seq[i] for i in range(1, total + 1)]
        raw = b"".join(r["user_data"] for r in rows)
        text, error, kind = read(raw, data_coding)
        mid = conn.execute(t.sms_inbound_messages.insert().values(
            link=link, source=source, destination=destination, data_coding=data_coding, raw=raw, text=text,
            error=error, kind=kind, state="received", received_at=min(r["received_at"] for r in rows))
        ).inserted_primary_key[0]
        conn.execute(pdus.update().where(pdus.c.id.in_([r["id"] for r in rows])).values(message_id=mid))
        return dict(conn.execute(sa.select(t.sms_inbound_messages).where(
            t.sms_inbound_messages.c.id == mid)).mappings().one())

    def mark_handled(self, message_id: int, *, now: dt.datetime, report_id: int | None = None,
                     case_id: int | None = None, error: str | None = None):
        """The message has been handled (report stored, query answered, survey recorded)."""
        return self.mark_many([dict(id=message_id, report_id=report_id, case_id=case_id, error=error)], now)

    def mark_many(self, handled: list[dict], now: dt.datetime):
        """Several messages handled ({id, report_id, case_id, error?} each), in one transaction."""
        def thd(conn):
            m = t.sms_inbound_messages
            for h in handled:
                values = dict(state="done", handled_at=now, report_id=h.get("report_id"), case_id=h.get("case_id"))
                if h.get("error"):
                    values["error"] = h["error"]
                conn.execute(m.update().where(m.c.id == h["id"]).values(**values))
        return self.db.do(thd)

    def unhandled_messages(self, link: str, limit: int = 100):
        """Messages stored but not handled (the service stopped in between): handled again at start."""
        def thd(conn):
            m = t.sms_inbound_messages
            return [dict(r) for r in conn.execute(sa.select(m).where(m.c.link == link, m.c.state == "received")
                                                  .order_by(m.c.id).limit(limit)).mappings()]
        return self.db.do(thd)

    def inbound_messages(self, link: str | None = None):
        """Every stored inbound message, oldest first (tests, operators)."""
        def thd(conn):
            m = t.sms_inbound_messages
            q = sa.select(m).order_by(m.c.id)
            if link:
                q = q.where(m.c.link == link)
            return [dict(r) for r in conn.execute(q).mappings()]
        return self.db.do(thd)

    # -- what a citizen asks ---------------------------------------------------------------------
    def case_status(self, number: str):
        """{number, status, note, updated} of a case by its number, or None."""
        def thd(conn):
            case = conn.execute(sa.select(t.cases.c.id, t.cases.c.number, t.cases.c.status)
                                .where(t.cases.c.number == number)).mappings().first()
            if case is None:
                return None
            return dict(case, **_case_notes(conn, case["id"]))
        return self.db.do(thd)

    def survey_case_for(self, recipient: str):
        """The case whose survey this citizen was sent most recently and has not answered, or None."""
        def thd(conn):
            row = conn.execute(
                sa.select(OUT.c.case_id, t.cases.c.number).join(t.cases, t.cases.c.id == OUT.c.case_id)
                .outerjoin(t.case_satisfaction, t.case_satisfaction.c.case_id == OUT.c.case_id)
                .where(OUT.c.recipient == recipient, OUT.c.kind == "survey",
                       OUT.c.state.in_(["sent", "delivered"]), t.case_satisfaction.c.case_id.is_(None))
                .order_by(OUT.c.id.desc()).limit(1)).mappings().first()
            return dict(row) if row else None
        return self.db.do(thd)

    # -- outbox --------------------------------------------------------------------------------
    def enqueue(self, *, recipient: str, kind: str, text: str, now: dt.datetime, case_id: int | None = None,
                report_id: int | None = None):
        """Put a message in the outbox (a reply to a query, a thank-you); its id."""
        def thd(conn):
            return conn.execute(OUT.insert().values(case_id=case_id, report_id=report_id, recipient=recipient,
                                                    kind=kind, text=text, created_at=now)).inserted_primary_key[0]
        return self.db.do(thd)

    def requeue_interrupted(self):
        """Messages left 'sending' by a stopped service go back to the queue (their accepted parts
        are in sms_submits and are not sent again); how many."""
        def thd(conn):
            return conn.execute(OUT.update().where(OUT.c.state == "sending").values(state="queued")).rowcount
        return self.db.do(thd)

    def claim_due(self, now: dt.datetime, limit: int):
        """Take up to `limit` due messages (state -> sending, attempts + 1), oldest first, each with
        its case's number, status and note (to fill the templates) and the parts already accepted."""
        def thd(conn):
            q = (sa.select(OUT.c.id).where(OUT.c.state == "queued", OUT.c.sent_at.is_(None),
                                           sa.or_(OUT.c.next_try_at.is_(None), OUT.c.next_try_at <= now))
                 .order_by(OUT.c.id).limit(limit))
            if conn.dialect.name == "postgresql":
                q = q.with_for_update(skip_locked=True)
            ids = conn.execute(q).scalars().all()
            if not ids:
                return []
            conn.execute(OUT.update().where(OUT.c.id.in_(ids)).values(state="sending", attempts=OUT.c.attempts + 1))
            rows = [dict(r) for r in conn.execute(sa.select(OUT).where(OUT.c.id.in_(ids)).order_by(OUT.c.id)).mappings()]
            accepted: dict[int, set] = {}
            for oid, part in conn.execute(sa.select(t.sms_submits.c.outbound_id, t.sms_submits.c.part)
                                          .where(t.sms_submits.c.outbound_id.in_(ids))):
                accepted.setdefault(oid, set()).add(part)
            for r in rows:
                r["accepted_parts"] = accepted.get(r["id"], set())
                r["case"] = None
                if r["case_id"] is not None:
                    case = conn.execute(sa.select(t.cases.c.id, t.cases.c.number, t.cases.c.status)
                                        .where(t.cases.c.id == r["case_id"])).mappings().one()
                    r["case"] = dict(case, **_case_notes(conn, case["id"]))
            return rows
        return self.db.do(thd)

    def release(self, outbound_ids: list[int]):
        """Put claimed messages back untouched (the gateway stopped before sending them)."""
        def thd(conn):
            conn.execute(OUT.update().where(OUT.c.id.in_(outbound_ids), OUT.c.state == "sending").values(
                state="queued", attempts=OUT.c.attempts - 1))
        return self.db.do(thd)

    def part_accepted(self, outbound_id: int, part: int, total: int, link: str, smsc_message_id: str, now: dt.datetime):
        """The SMSC accepted one part (submit_sm_resp OK) with this message id."""
        def thd(conn):
            _insert_ignore(conn, t.sms_submits, dict(outbound_id=outbound_id, part=part, total=total, link=link,
                                                     smsc_message_id=smsc_message_id, submitted_at=now))
        return self.db.do(thd)

    def message_sent(self, outbound_id: int, text: str, now: dt.datetime, follow_up: dict | None = None,
                     last_part: tuple | None = None):
        """Every part accepted: state sent, with the text as sent. follow_up {kind, text} queues
        the next message to the same citizen (the survey after a result) in the same transaction;
        last_part (part, total, link, smsc_message_id) records the final accepted part with it."""
        def thd(conn):
            if last_part is not None:
                part, total, link, mid = last_part
                _insert_ignore(conn, t.sms_submits, dict(outbound_id=outbound_id, part=part, total=total, link=link,
                                                         smsc_message_id=mid, submitted_at=now))
            row = conn.execute(sa.select(OUT).where(OUT.c.id == outbound_id)).mappings().one()
            conn.execute(OUT.update().where(OUT.c.id == outbound_id).values(
                state="sent", sent_at=now, text=text, last_error=None, next_try_at=None))
            if follow_up:
                conn.execute(OUT.insert().values(case_id=row["case_id"], report_id=row["report_id"],
                                                 recipient=row["recipient"], kind=follow_up["kind"],
                                                 text=follow_up["text"], created_at=now))
        return self.db.do(thd)

    def retry_later(self, outbound_id: int, error: str, next_try_at: dt.datetime | None, *, final: bool = False):
        """Back to the queue until next_try_at (or failed for good when `final`), with the error."""
        def thd(conn):
            values = {"state": "failed", "last_error": error} if final else \
                {"state": "queued", "last_error": error, "next_try_at": next_try_at}
            conn.execute(OUT.update().where(OUT.c.id == outbound_id).values(**values))
        return self.db.do(thd)

    def apply_receipt(self, link: str, smsc_message_id: str, state: str, final_ok: bool, final_failed: bool,
                      now: dt.datetime):
        """A delivery receipt: record it on the part; the message is delivered when every part is,
        failed when one part cannot be. Returns the outbound id it concerned, or None (unknown id)."""
        def thd(conn):
            s = t.sms_submits
            sub = conn.execute(sa.select(s).where(s.c.link == link, s.c.smsc_message_id == smsc_message_id)
                               .order_by(s.c.id.desc()).limit(1)).mappings().first()
            if sub is None:
                return None
            conn.execute(s.update().where(s.c.id == sub["id"]).values(receipt_state=state, receipt_at=now))
            if final_failed:
                conn.execute(OUT.update().where(OUT.c.id == sub["outbound_id"], OUT.c.state != "delivered").values(
                    state="failed", last_error=f"delivery receipt: {state} (part {sub['part']} of {sub['total']})"))
            elif final_ok:
                parts = conn.execute(sa.select(s.c.part, s.c.receipt_state).where(
                    s.c.outbound_id == sub["outbound_id"])).all()
                done = {p for p, st in parts if st == "DELIVRD"}
                if len(done) >= sub["total"]:
                    conn.execute(OUT.update().where(OUT.c.id == sub["outbound_id"], OUT.c.state == "sent").values(
                        state="delivered", delivered_at=now))
            return sub["outbound_id"]
        return self.db.do(thd)

    def outbox(self, recipient: str | None = None):
        """Every outgoing message, oldest first (tests, operators)."""
        def thd(conn):
            q = sa.select(OUT).order_by(OUT.c.id)
            if recipient:
                q = q.where(OUT.c.recipient == recipient)
            return [dict(r) for r in conn.execute(q).mappings()]
        return self.db.do(thd)


def _case_notes(conn, case_id: int) -> dict:
    """The note a citizen is told about a case: the department's finishing note or the reason for
    not taking it up; and when its status last changed."""
    e = t.case_events
    rows = conn.execute(sa.select(e.c.kind, e.c.detail, e.c.at).where(e.c.case_id == case_id)
                        .order_by(e.c.at, e.c.id)).all()
    note = None
    for kind, detail, _ in rows:
        detail = detail or {}
        if kind == "finished" and detail.get("note"):
            note = detail["note"]
        elif kind in ("rejected", "voided") and detail.get("reason"):
            note = detail["reason"]
    return {"note": note, "updated": rows[-1][2] if rows else None}


def status_label(status: str) -> str:
    """The citizen-facing name of a case state (待派遣, 处置中, 已结案 ...)."""
    return wf.STATES.get(status, status)
