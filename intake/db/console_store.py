"""What the consoles need beyond the other stores: the operator's queue, one report with all
that was decided about it, and the operators' corrections of a case (place, emergency, moving a
report into another case or out into a case of its own), and photos attached to cases.

Same shape as every store (`def thd(conn): ...; return self.db.do(thd)`): one transaction on the
DB pool, plain dicts out. Every change appends to the case's history (case_events) with the actor
and the time, so the consoles' decisions are as auditable as the loop's.
"""
from __future__ import annotations

import datetime as dt
import hashlib

import sqlalchemy as sa

from intake.db import schema as t
from intake.db.store import case_number
from routing import workflow as wf

QUEUE_LIMIT = 200
# Why an item waits for a person, most urgent first (the queue sorts by this order).
QUEUE_KINDS = ("emergency", "low_confidence", "ambiguous_duplicate", "waiting_acceptance")


class ConsoleRefused(Exception):
    """A console operation refused: status 400 (field named), 403, 404 or 409, with a reason."""

    def __init__(self, status: int, message: str, field: str | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field


def _event(conn, case_id: int, at: dt.datetime, actor: str, kind: str, detail: dict) -> None:
    conn.execute(t.case_events.insert().values(case_id=case_id, at=at, actor=actor, kind=kind, detail=detail))


def _case(conn, case_ref, lock: bool = False) -> dict:
    q = sa.select(t.cases)
    if lock:
        q = q.with_for_update()
    q = q.where(t.cases.c.number == case_ref) if isinstance(case_ref, str) else q.where(t.cases.c.id == case_ref)
    row = conn.execute(q).mappings().first()
    if row is None:
        raise ConsoleRefused(404, f"no case {case_ref}")
    return dict(row)


def _current_case_of(conn, report_id: int):
    """(case row, role of the report in it) of the case holding the report now, or (None, None)."""
    row = conn.execute(sa.select(t.case_reports.c.case_id, t.case_reports.c.role)
                       .where(t.case_reports.c.report_id == report_id)).first()
    if row is None:
        return None, None
    return _case(conn, row.case_id, lock=True), row.role


class ConsoleStore:
    """The consoles' reads and corrections through a runner (DBThreadPool or SyncRunner)."""

    def __init__(self, db):
        self.db = db

    def operator_queue(self, threshold: float, limit: int = QUEUE_LIMIT):
        """Reports waiting for an operator, emergencies first: not yet reviewed, and below the
        review threshold, or flagged at intake (an ambiguous duplicate), or an emergency, or the
        origin of a case still waiting for acceptance (待受理)."""
        def thd(conn):
            d = t.report_decisions
            reviewed = sa.exists().where(t.classification_reviews.c.report_id == d.c.report_id)
            rows = conn.execute(
                sa.select(t.reports.c.id, t.reports.c.channel, t.reports.c.text, t.reports.c.received_at,
                          d.c.code, d.c.confidence, d.c.abstain, d.c.emergency, d.c.needs_review,
                          d.c.duplicate_outcome, d.c.out_of_scope, d.c.street, t.cases.c.id.label("case_id"),
                          t.cases.c.number, t.cases.c.status, t.case_reports.c.role)
                .select_from(d.join(t.reports, t.reports.c.id == d.c.report_id)
                             .outerjoin(t.case_reports, t.case_reports.c.report_id == d.c.report_id)
                             .outerjoin(t.cases, t.cases.c.id == t.case_reports.c.case_id))
                .where(~reviewed, sa.or_(d.c.needs_review.is_(True), d.c.emergency.is_(True),
                                         sa.and_(t.cases.c.status == wf.OPEN, t.case_reports.c.role == "origin")))
                .order_by(d.c.emergency.desc(), t.reports.c.received_at.desc(), t.reports.c.id.desc())
                .limit(limit)).mappings().all()
            items = []
            for r in rows:
                kinds = []
                if r["emergency"]:
                    kinds.append("emergency")
                if r["abstain"] or float(r["confidence"]) < threshold:
                    kinds.append("low_confidence")
                if r["duplicate_outcome"] == "ask":
                    kinds.append("ambiguous_duplicate")
                if r["status"] == wf.OPEN and r["role"] == "origin":
                    kinds.append("waiting_acceptance")
                if not kinds:
                    kinds.append("low_confidence")  # flagged at intake for review
                items.append({"report_id": r["id"], "channel": r["channel"], "text": r["text"][:120],
                              "received_at": r["received_at"], "code": r["code"],
                              "confidence": round(float(r["confidence"]), 4), "out_of_scope": bool(r["out_of_scope"]),
                              "street": r["street"], "kinds": kinds,
                              "case": None if r["case_id"] is None else
                              {"id": r["case_id"], "number": r["number"], "status": r["status"]}})
            items.sort(key=lambda i: min(QUEUE_KINDS.index(k) for k in i["kinds"]))
            return items
        return self.db.do(thd)

    def report_view(self, report_id: int):
        """One report with its decision, its case now, its review trail and nearby open cases
        (merge targets), or None."""
        def thd(conn):
            r = conn.execute(sa.select(t.reports).where(t.reports.c.id == report_id)).mappings().first()
            if r is None:
                return None
            d = conn.execute(sa.select(t.report_decisions).where(
                t.report_decisions.c.report_id == report_id)).mappings().first()
            case, role = None, None
            link = conn.execute(sa.select(t.case_reports.c.case_id, t.case_reports.c.role)
                                .where(t.case_reports.c.report_id == report_id)).first()
            if link is not None:
                case = dict(conn.execute(sa.select(t.cases).where(t.cases.c.id == link.case_id)).mappings().one())
                role = link.role
            reviews = [dict(x) for x in conn.execute(
                sa.select(t.classification_reviews).where(t.classification_reviews.c.report_id == report_id)
                .order_by(t.classification_reviews.c.id)).mappings()]
            nearby = []
            grid = (case or {}).get("grid") or (d or {}).get("grid")
            community = (case or {}).get("community") or (d or {}).get("community")
            if grid or community:
                cond = t.cases.c.grid == grid if grid else t.cases.c.community == community
                q = (sa.select(t.cases.c.id, t.cases.c.number, t.cases.c.code, t.cases.c.status, t.cases.c.grid,
                               t.cases.c.report_count, t.cases.c.last_report_at)
                     .where(cond, t.cases.c.status.in_(sorted(wf.ACTIVE)))
                     .order_by(t.cases.c.last_report_at.desc()).limit(6))
                nearby = [dict(x) for x in conn.execute(q).mappings() if not case or x["id"] != case["id"]][:5]
            events = []
            if case is not None:
                events = [dict(x) for x in conn.execute(
                    sa.select(t.case_events).where(t.case_events.c.case_id == case["id"])
                    .order_by(t.case_events.c.at, t.case_events.c.id)).mappings()]
            return {"report": dict(r), "decision": dict(d) if d else None, "case": case, "role": role,
                    "reviews": reviews, "nearby": nearby, "history": events}
        return self.db.do(thd)

    def change_place(self, case_ref, place: dict, reason: str | None, actor: str, now: dt.datetime):
        """Set a case's street, community and grid (checked against config by the caller)."""
        def thd(conn):
            case = _case(conn, case_ref, lock=True)
            if case["status"] in wf.FINAL:
                raise ConsoleRefused(409, f"the case is {case['status']} ({wf.STATES[case['status']]}): "
                                          "its place can no longer change")
            old = {k: case[k] for k in ("street", "community", "grid")}
            if old == place:
                raise ConsoleRefused(409, "the case is already at this place")
            conn.execute(t.cases.update().where(t.cases.c.id == case["id"]).values(**place))
            detail = {"old": old, "new": place, "reason": reason}
            _event(conn, case["id"], now, actor, "place_corrected", detail)
            return {"case": case["number"], **detail}
        return self.db.do(thd)

    def raise_emergency(self, case_ref, reason: str, actor: str, now: dt.datetime):
        """Mark a case as an emergency (it sorts first everywhere and gets emergency time limits)."""
        def thd(conn):
            case = _case(conn, case_ref, lock=True)
            if case["status"] in wf.FINAL:
                raise ConsoleRefused(409, f"the case is {case['status']} ({wf.STATES[case['status']]})")
            if case["emergency"]:
                raise ConsoleRefused(409, "the case is already an emergency")
            conn.execute(t.cases.update().where(t.cases.c.id == case["id"]).values(emergency=True))
            _event(conn, case["id"], now, actor, "emergency", {"reason": reason, "raised_by": actor})
            return {"case": case["number"], "emergency": True}
        return self.db.do(thd)

    def move_report(self, report_id: int, target_ref, reason: str, actor: str, now: dt.datetime):
        """Merge: move a report out of its case into another active case (the report becomes a
        duplicate there). A case left without reports is voided; one left without its origin
        takes its earliest remaining report as origin."""
        def thd(conn):
            source, _ = _current_case_of(conn, report_id)
            if source is None:
                raise ConsoleRefused(409, f"report {report_id} is in no case (out of scope?)")
            target = _case(conn, target_ref, lock=True)
            if target["id"] == source["id"]:
                raise ConsoleRefused(409, f"report {report_id} is already in case {target['number']}", "case")
            if target["status"] in wf.FINAL:
                raise ConsoleRefused(409, f"case {target['number']} is {wf.STATES[target['status']]}: "
                                          "a report cannot join it", "case")
            conn.execute(t.case_reports.update().where(t.case_reports.c.report_id == report_id)
                         .values(case_id=target["id"], role="duplicate", joined_at=now))
            left = _recount(conn, source["id"])
            _recount(conn, target["id"], last=now)
            _event(conn, source["id"], now, actor, "report_moved_out",
                   {"report_id": report_id, "to": target["number"], "reason": reason})
            _event(conn, target["id"], now, actor, "report_merged",
                   {"report_id": report_id, "from": source["number"], "role": "duplicate", "reason": reason,
                    "by": actor})
            if left == 0 and source["status"] not in wf.FINAL:
                conn.execute(t.cases.update().where(t.cases.c.id == source["id"])
                             .values(status=wf.VOIDED, closed_at=now))
                _event(conn, source["id"], now, actor, "voided",
                       {"reason": f"its only report was merged into case {target['number']}", "from": source["status"]})
            return {"report_id": report_id, "from": source["number"], "to": target["number"],
                    "source_voided": left == 0}
        return self.db.do(thd)

    def split_report(self, report_id: int, reason: str, actor: str, now: dt.datetime):
        """Split: take a report out of a case of several reports into a new case of its own (open,
        waiting for acceptance), with the report's own classification and place."""
        def thd(conn):
            source, role = _current_case_of(conn, report_id)
            if source is None:
                raise ConsoleRefused(409, f"report {report_id} is in no case")
            if source["report_count"] <= 1:
                raise ConsoleRefused(409, f"report {report_id} is the only report of case {source['number']}: "
                                          "nothing to split from")
            d = conn.execute(sa.select(t.report_decisions).where(
                t.report_decisions.c.report_id == report_id)).mappings().one()
            r = conn.execute(sa.select(t.reports).where(t.reports.c.id == report_id)).mappings().one()
            last_review = conn.execute(sa.select(t.classification_reviews.c.new_code).where(
                t.classification_reviews.c.report_id == report_id).order_by(
                t.classification_reviews.c.id.desc()).limit(1)).scalar()
            code = last_review or d["code"] or source["code"]
            case_id = conn.execute(t.cases.insert().values(
                status=wf.OPEN, code=code, alternative_codes=[], street=d["street"], community=d["community"],
                grid=d["grid"], places=list(d["places"] or []), tokens=d["tokens"] or "",
                department_id=d["department_id"] or source["department_id"], level=d["routing_level"] or source["level"],
                emergency=bool(d["emergency"]), hot=False, inspector_confirmed=r["channel"] == "inspector",
                report_count=1, callers=[r["caller"]] if r["caller"] else [], channels=[r["channel"]],
                opened_at=now, last_report_at=r["received_at"])).inserted_primary_key[0]
            number = case_number(case_id, now)
            conn.execute(t.cases.update().where(t.cases.c.id == case_id).values(number=number))
            conn.execute(t.case_reports.update().where(t.case_reports.c.report_id == report_id)
                         .values(case_id=case_id, role="origin", joined_at=now))
            _recount(conn, source["id"])
            _event(conn, source["id"], now, actor, "report_split_out",
                   {"report_id": report_id, "to": number, "reason": reason})
            _event(conn, case_id, now, actor, "opened",
                   {"report_id": report_id, "channel": r["channel"], "code": code, "split_from": source["number"],
                    "reason": reason})
            return {"report_id": report_id, "from": source["number"], "case_id": case_id, "number": number}
        return self.db.do(thd)

    def add_photo(self, case_ref, data: bytes, content_type: str, purpose: str, actor: str,
                  actor_department: str | None, now: dt.datetime):
        """Attach a checked photo to a case (a department only to its own cases); its id."""
        def thd(conn):
            case = _case(conn, case_ref, lock=True)
            if actor_department is not None and case["department_id"] != actor_department:
                raise ConsoleRefused(403, f"this case belongs to another department; {actor_department} may "
                                          "attach photos only to its own cases")
            digest = hashlib.sha256(data).hexdigest()
            photo_id = conn.execute(t.case_photos.insert().values(
                case_id=case["id"], content_type=content_type, size=len(data), sha256=digest, data=data,
                uploaded_by=actor, uploaded_at=now)).inserted_primary_key[0]
            _event(conn, case["id"], now, actor, "photo_added",
                   {"photo_id": photo_id, "purpose": purpose, "size": len(data), "sha256": digest})
            return {"id": photo_id, "case": case["number"], "size": len(data), "content_type": content_type}
        return self.db.do(thd)

    def photo(self, photo_id: int):
        """(department of the case, content type, bytes) of a photo, or None."""
        def thd(conn):
            row = conn.execute(sa.select(t.case_photos.c.content_type, t.case_photos.c.data, t.cases.c.department_id)
                               .join(t.cases, t.cases.c.id == t.case_photos.c.case_id)
                               .where(t.case_photos.c.id == photo_id)).first()
            return None if row is None else (row.department_id, row.content_type, bytes(row.data))
        return self.db.do(thd)

    def photos_of(self, case_id: int):
        """The photos of a case (no bytes), oldest first."""
        def thd(conn):
            return [dict(r) for r in conn.execute(
                sa.select(t.case_photos.c.id, t.case_photos.c.content_type, t.case_photos.c.size,
                          t.case_photos.c.uploaded_by, t.case_photos.c.uploaded_at)
                .where(t.case_photos.c.case_id == case_id).order_by(t.case_photos.c.id)).mappings()]
        return self.db.do(thd)


def _recount(conn, case_id: int, last: dt.datetime | None = None) -> int:
    """Set a case's report count (and origin, channels, callers) from the reports it holds now."""
    rows = conn.execute(sa.select(t.case_reports.c.report_id, t.case_reports.c.role, t.reports.c.channel,
                                  t.reports.c.caller, t.reports.c.received_at)
                        .join(t.reports, t.reports.c.id == t.case_reports.c.report_id)
                        .where(t.case_reports.c.case_id == case_id)
                        .order_by(t.reports.c.received_at, t.reports.c.id)).all()
    values: dict = {"report_count": len(rows)}
    if rows:
        values["channels"] = list(dict.fromkeys(r.channel for r in rows))
        values["callers"] = list(dict.fromkeys(r.caller for r in rows if r.caller))
        if not any(r.role == "origin" for r in rows):
            conn.execute(t.case_reports.update().where(t.case_reports.c.report_id == rows[0].report_id)
                         .values(role="origin"))
    if last is not None:
        values["last_report_at"] = last
    conn.execute(t.cases.update().where(t.cases.c.id == case_id).values(**values))
    return len(rows)
