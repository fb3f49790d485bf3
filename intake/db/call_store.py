"""Phone calls in the database (the `calls` table): stored first, linked to their report later.

Every method has the store's shape (`def thd(conn): ...; return self.db.do(thd)`) and returns
plain dicts, never SQLAlchemy rows. `record_call` is an upsert on the SIP Call-ID so a repeated
hand-over (a late transcript arriving first, a retry) never makes two rows for one call.
"""
from __future__ import annotations

import datetime as dt
import os
from typing import Iterable

import sqlalchemy as sa

from intake.db import schema as t

# intake_status values (see schema.calls).
NO_REPORT = "no_report"
AWAITING_ASR = "awaiting_asr"
AWAITING_TRANSCRIPTION = "awaiting_transcription"
REPORTED = "reported"
INTAKE_FAILED = "intake_failed"
INTAKE_STATUSES = (NO_REPORT, AWAITING_ASR, AWAITING_TRANSCRIPTION, REPORTED, INTAKE_FAILED)
# What an operator's transcription queue shows: nobody (no machine) will transcribe these.
WAITING = (AWAITING_TRANSCRIPTION, INTAKE_FAILED)


class CallNotFound(Exception):
    """No call with this id."""


def utc(ts: float) -> dt.datetime:
    """A POSIX time as an aware UTC datetime."""
    return dt.datetime.fromtimestamp(ts, tz=dt.timezone.utc)


def _row(r) -> dict:
    d = dict(r)
    d["words"] = [list(w) for w in (d.get("words") or [])]
    return d


class CallStore:
    """Typed access to `calls` through a runner (DBThreadPool or SyncRunner)."""

    def __init__(self, db):
        self.db = db

    def record_call(self, values: dict, now: dt.datetime):
        """Insert the call (or update the row of the same call_id); fires with the row's id."""
        def thd(conn):
            existing = conn.execute(sa.select(t.calls.c.id, t.calls.c.report_id).where(
                t.calls.c.call_id == values["call_id"])).first()
            if existing is None:
                return conn.execute(t.calls.insert().values(stored_at=now, **values)).inserted_primary_key[0]
            update = dict(values)
            if existing.report_id is not None:
                # why: a call that already made a report keeps its link and its transcript
                for k in ("intake_status", "transcript", "words", "transcript_source", "report_id"):
                    update.pop(k, None)
            conn.execute(t.calls.update().where(t.calls.c.id == existing.id).values(**update))
            return existing.id
        return self.db.do(thd)

    def set_transcript(self, call_id: int, text: str, words, source: str, by: str | None, status: str):
        """Record a transcript (machine's late one or an operator's) and the new intake status."""
        def thd(conn):
            n = conn.execute(t.calls.update().where(t.calls.c.id == call_id).values(
                transcript=text, words=[list(w) for w in words], transcript_source=source,
                transcribed_by=by, intake_status=status, intake_error=None)).rowcount
            if n == 0:
                raise CallNotFound(f"no call {call_id}")
        return self.db.do(thd)

    def link_report(self, call_id: int, report_id: int):
        """The call's report is stored: link it."""
        def thd(conn):
            conn.execute(t.calls.update().where(t.calls.c.id == call_id).values(
                report_id=report_id, intake_status=REPORTED, intake_error=None))
        return self.db.do(thd)

    def mark_failed(self, call_id: int, error: str):
        """The pipeline failed for this call; it waits for an operator."""
        def thd(conn):
            conn.execute(t.calls.update().where(t.calls.c.id == call_id).values(
                intake_status=INTAKE_FAILED, intake_error=error[:2000]))
        return self.db.do(thd)

    def get(self, call_id: int | None = None, sip_call_id: str | None = None):
        """One call with its report's case (id, number, status), or None."""
        def thd(conn):
            q = (sa.select(t.calls, t.cases.c.id.label("case_id"), t.cases.c.number.label("case_number"),
                           t.cases.c.status.label("case_status"), t.cases.c.department_id.label("case_department"))
                 .outerjoin(t.report_decisions, t.report_decisions.c.report_id == t.calls.c.report_id)
                 .outerjoin(t.cases, t.cases.c.id == t.report_decisions.c.case_id))
            q = q.where(t.calls.c.id == call_id) if call_id is not None else q.where(t.calls.c.call_id == sip_call_id)
            r = conn.execute(q).mappings().first()
            return None if r is None else _row(r)
        return self.db.do(thd)

    def list(self, *, state: str | None = None, intake_status: Iterable[str] | None = None,
             limit: int = 50, offset: int = 0):
        """Calls matching the filters, newest first, and the total count."""
        def thd(conn):
            conds = []
            if state:
                conds.append(t.calls.c.state == state)
            if intake_status:
                conds.append(t.calls.c.intake_status.in_(list(intake_status)))
            where = sa.and_(*conds) if conds else sa.true()
            total = conn.execute(sa.select(sa.func.count()).select_from(t.calls).where(where)).scalar_one()
            rows = conn.execute(sa.select(t.calls).where(where)
                                .order_by(t.calls.c.started_at.desc(), t.calls.c.id.desc())
                                .limit(limit).offset(offset)).mappings().all()
            return total, [_row(r) for r in rows]
        return self.db.do(thd)

    def case_by_number(self, number: str):
        """(status, department) of a case by its number, or None."""
        def thd(conn):
            r = conn.execute(sa.select(t.cases.c.status, t.cases.c.department_id)
                             .where(t.cases.c.number == number)).first()
            return None if r is None else (r.status, r.department_id)
        return self.db.do(thd)

    def prune_recordings(self, older_than: dt.datetime, now: dt.datetime, batch: int = 500):
        """Delete the WAV files of calls started before `older_than` and mark their rows;
        returns (files removed, rows marked). A file already gone is marked too."""
        def thd(conn):
            rows = conn.execute(sa.select(t.calls.c.id, t.calls.c.wav_path).where(
                t.calls.c.started_at < older_than, t.calls.c.recording_deleted_at.is_(None))
                .order_by(t.calls.c.started_at).limit(batch)).all()
            removed, marked = 0, []
            for r in rows:
                try:
                    os.remove(r.wav_path)
                    removed += 1
                except FileNotFoundError:
                    pass
                except OSError:
                    continue        # why: keep the mark off so the next sweep tries again
                marked.append(r.id)
            if marked:
                conn.execute(t.calls.update().where(t.calls.c.id.in_(marked)).values(recording_deleted_at=now))
            return removed, len(marked)
        return self.db.do(thd)
