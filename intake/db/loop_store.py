"""The closed loop in the database: case actions, messages to citizens, satisfaction, overdue watch.

Every method has the store's shape (`def thd(conn): ...; return self.db.do(thd)`): one transaction
on the DB pool that locks the case row, reads its history, lets the pure workflow
(routing.workflow) decide, and appends the events, all or nothing. Nothing SQLAlchemy leaves the
thread: methods return plain dicts and lists.

Messages to citizens go to `outbound_messages` (an outbox the SMS gateway will send from): the
receipt is written by `after_intake` inside the intake transaction itself, the result when a case
is closed or rejected, to every reporter of the case (duplicates included).
"""
from __future__ import annotations

import datetime as dt
from typing import Callable, Iterable

import sqlalchemy as sa

from intake.db import schema as t
from routing import workflow as wf
from routing.evaluation import CaseRecord
from routing.timelimits import overall, step_timings

SATISFACTION_ANSWERS = {"satisfied": "满意", "basically_satisfied": "基本满意", "dissatisfied": "不满意"}


class CaseNotFound(Exception):
    """No case with this id or number."""


def receipt_text(number: str) -> str:
    """The receipt a reporter gets: the case number to look the case up with."""
    return (f"【新北区城市管理】您反映的问题已收到，案件编号{number}。"
            f"可凭编号拨打12345或在网站查询办理进度，办结后将告知处理结果。")


def result_text(number: str, status: str, note: str | None) -> str:
    """The result a reporter gets when the case is closed (or not taken up)."""
    if status == wf.REJECTED:
        return (f"【新北区城市管理】您反映的问题（案件编号{number}）不予受理：{note or '不属于受理范围'}。"
                f"如有疑问请拨打12345。")
    return (f"【新北区城市管理】您反映的问题（案件编号{number}）已办结：{note or '已处理'}。"
            f"欢迎回复对办理结果的满意度（满意/基本满意/不满意）。")


def after_intake(conn, *, case_id: int | None, report_id: int, channel: str, caller: str | None,
                 outcome: str, emergency: bool, now: dt.datetime) -> None:
    """Intake's part of the loop, in the intake transaction: the new case's first state (an
    inspector's report waits for registration; an emergency is registered and dispatched to the
    emergency unit at once) and the receipt with the case number for the reporter."""
    if case_id is None:
        return
    case = conn.execute(sa.select(t.cases.c.number, t.cases.c.status, t.cases.c.department_id)
                        .where(t.cases.c.id == case_id)).mappings().one()
    if outcome in ("new", "recurrence", "ask"):
        status = wf.initial_status(channel, emergency)
        if status != case["status"]:
            conn.execute(t.cases.update().where(t.cases.c.id == case_id).values(status=status))
            if status == wf.ACCEPTED:
                _event(conn, case_id, now, "system", "accepted", {"reason": "an inspector's report needs no acceptance"})
            elif status == wf.DISPATCHED:
                emergency_dispatch(conn, case_id, case["department_id"], now,
                                   "emergency: registered and dispatched to the emergency chain at once")
    if caller:
        conn.execute(t.outbound_messages.insert().values(
            case_id=case_id, report_id=report_id, recipient=caller, kind="receipt",
            text=receipt_text(case["number"]), created_at=now))


def emergency_dispatch(conn, case_id: int, department: str | None, now: dt.datetime, why: str) -> None:
    """The loop's record of an emergency sent straight to the emergency chain: registered and
    dispatched by the system at once (the caller has set the case's status and department)."""
    count = conn.execute(sa.select(sa.func.count()).select_from(t.case_events).where(
        t.case_events.c.case_id == case_id, t.case_events.c.kind == "dispatched")).scalar_one() + 1
    _event(conn, case_id, now, "system", "registered", {"reason": why})
    _event(conn, case_id, now, "system", "dispatched", {"department": department, "count": count, "reason": why})


def _event(conn, case_id: int, at: dt.datetime, actor: str, kind: str, detail: dict) -> None:
    conn.execute(t.case_events.insert().values(case_id=case_id, at=at, actor=actor, kind=kind, detail=detail))


def _history(conn, case_ids: Iterable[int]) -> dict[int, list[dict]]:
    ids = list(case_ids)
    out: dict[int, list[dict]] = {i: [] for i in ids}
    for chunk in range(0, len(ids), 500):
        part = ids[chunk:chunk + 500]
        rows = conn.execute(sa.select(t.case_events).where(t.case_events.c.case_id.in_(part))
                            .order_by(t.case_events.c.case_id, t.case_events.c.at, t.case_events.c.id)).mappings()
        for r in rows:
            out[r["case_id"]].append({"at": r["at"], "actor": r["actor"], "kind": r["kind"],
                                      "detail": r["detail"] or {}})
    return out


def state_of(case: dict, events: list[dict]) -> wf.CaseState:
    """The workflow's view of a case: its row plus what its history says (dispatches, returns)."""
    dispatches = sum(1 for e in events if e["kind"] == "dispatched")
    returned = tuple(e["detail"].get("department") for e in events
                     if e["kind"] == "return_approved" and e["detail"].get("department"))
    return wf.CaseState(status=case["status"], department_id=case["department_id"],
                        pending=case["pending_request"], resume_status=case["resume_status"],
                        dispatch_count=dispatches, returned_by=returned,
                        arbitrated=any(e["kind"] == "arbitrated" for e in events),
                        emergency=bool(case["emergency"]))


def timing_of(case: dict, events: list[dict], limits, calendar, now: dt.datetime) -> dict:
    """The case's clock now: the running step with its light and deadline, and the whole case."""
    if not events:
        return {"step": None}
    steps = step_timings(events, case["code"], case["emergency"], limits, calendar, now)
    whole = overall(events, case["code"], case["emergency"], limits, calendar, now)
    current = steps[-1] if steps and steps[-1].ended_at is None else None

    def one(s):
        return {"step": s.step, "started_at": s.started_at, "limit_hours": round(s.limit_seconds / 3600, 2),
                "extension_hours": round(s.extension_seconds / 3600, 2),
                "elapsed_hours": round(s.elapsed_seconds / 3600, 2), "used": round(s.ratio, 3),
                "light": s.light(limits.yellow_at), "deadline": s.deadline, "paused": s.paused,
                "on_time": s.on_time}
    return {"current": one(current) if current else None, "overall": one(whole),
            "steps": [dict(one(s), ended_at=s.ended_at) for s in steps]}


class LoopStore:
    """Case actions and the loop's other tables through a runner (DBThreadPool or SyncRunner)."""

    def __init__(self, db):
        self.db = db

    def act(self, case_ref, action: str, *, role: str, actor: str, actor_department: str | None,
            params: dict, now: dt.datetime, known_departments=None,
            propose: Callable[[dict, tuple], dict] | None = None):
        """Apply one action to a case (id or number) in one transaction.

        propose(case_row, returned_by) -> {"primary", "fallback"} gives the router's proposal; a
        dispatch without a department takes the proposal's first unit that has not returned the case.
        Returns {"case": row dict, "events": appended, "proposal"?}; raises CaseNotFound or wf.Refused.
        """
        def thd(conn):
            q = sa.select(t.cases).with_for_update()
            q = q.where(t.cases.c.number == case_ref) if isinstance(case_ref, str) else q.where(t.cases.c.id == case_ref)
            case = conn.execute(q).mappings().first()
            if case is None:
                raise CaseNotFound(f"no case {case_ref}")
            case = dict(case)
            events = _history(conn, [case["id"]])[case["id"]]
            state = state_of(case, events)
            p = dict(params)
            proposal = None
            if action in ("dispatch", "arbitrate") and propose is not None:
                proposal = propose(case, state.returned_by)
                if action == "dispatch":
                    choices = [d for d in (proposal.get("primary"), proposal.get("fallback")) if d]
                    fresh = [d for d in choices if d not in state.returned_by]
                    p.setdefault("proposal", fresh[0] if fresh else (choices[0] if choices else None))
                    if not p.get("department"):
                        p["department"] = p["proposal"]
            if action == "approve_extension" and not p.get("amount"):
                asked = next((e for e in reversed(events) if e["kind"] == "extension_requested"), None)
                p["requested"] = asked["detail"].get("amount") if asked else None
            out = wf.decide(state, action, role, p, actor_department=actor_department,
                            known_departments=known_departments)
            values = {"status": out.status, "department_id": out.department_id,
                      "pending_request": out.pending, "resume_status": out.resume_status}
            if out.final:
                values["closed_at"] = now
            conn.execute(t.cases.update().where(t.cases.c.id == case["id"]).values(**values))
            appended = []
            for kind, detail in out.events:
                _event(conn, case["id"], now, actor, kind, detail)
                appended.append({"at": now, "actor": actor, "kind": kind, "detail": detail})
            if out.status in (wf.CLOSED, wf.REJECTED):
                note = p.get("reason")
                if out.status == wf.CLOSED:
                    done = next((e for e in reversed(events) if e["kind"] == "finished"), None)
                    note = done["detail"].get("note") if done else note
                _result_messages(conn, case["id"], case["number"], out.status, note, now)
            case.update(values)
            body = {"case": case, "events": appended}
            if proposal is not None:
                body["proposal"] = proposal
            return body
        return self.db.do(thd)

    def case_with_history(self, case_ref):
        """(case row dict, events) of one case (id or number), or None."""
        def thd(conn):
            q = sa.select(t.cases)
            q = q.where(t.cases.c.number == case_ref) if isinstance(case_ref, str) else q.where(t.cases.c.id == case_ref)
            case = conn.execute(q).mappings().first()
            if case is None:
                return None
            return dict(case), _history(conn, [case["id"]])[case["id"]]
        return self.db.do(thd)

    def active_cases(self, statuses: Iterable[str] | None = None, department: str | None = None):
        """Active cases (optionally of some states or one department) with their histories."""
        def thd(conn):
            wanted = list(statuses) if statuses is not None else sorted(wf.ACTIVE)
            q = sa.select(t.cases).where(t.cases.c.status.in_(wanted))
            if department:
                q = q.where(t.cases.c.department_id == department)
            rows = [dict(r) for r in conn.execute(q.order_by(t.cases.c.id)).mappings()]
            hist = _history(conn, [r["id"] for r in rows])
            return [(r, hist[r["id"]]) for r in rows]
        return self.db.do(thd)

    def scan_overdue(self, limits, calendar, now: dt.datetime):
        """Append 'overdue' and 'escalated' (to the shift chief) once per overdue step of every
        active case; returns the ids of the cases escalated now."""
        def thd(conn):
            rows = [dict(r) for r in conn.execute(sa.select(t.cases).where(
                t.cases.c.status.in_(sorted(wf.ACTIVE - {wf.PARKED})))).mappings()]
            hist = _history(conn, [r["id"] for r in rows])
            escalated = []
            for case in rows:
                events = hist[case["id"]]
                if not events:
                    continue
                steps = step_timings(events, case["code"], case["emergency"], limits, calendar, now)
                if not steps or steps[-1].ended_at is not None:
                    continue
                s = steps[-1]
                if s.light(limits.yellow_at) != "red":
                    continue
                key = s.started_at.isoformat()
                if any(e["kind"] == "overdue" and e["detail"].get("step_started_at") == key for e in events):
                    continue
                detail = {"step": s.step, "step_started_at": key, "department": case["department_id"],
                          "limit_hours": round((s.limit_seconds + s.extension_seconds) / 3600, 2)}
                _event(conn, case["id"], now, "system", "overdue", detail)
                _event(conn, case["id"], now, "system", "escalated",
                       {"to": "shift_chief", "step": s.step,
                        "reason": f"step {s.step} is overdue (limit {detail['limit_hours']} h of working time)"})
                escalated.append(case["id"])
            return escalated
        return self.db.do(thd)

    def messages(self, case_id: int | None = None, kind: str | None = None, limit: int = 50, offset: int = 0):
        """Outgoing messages, newest first, and their total; replies that belong to no case (an
        unknown case number, an out-of-scope answer) are listed too, with no case number."""
        def thd(conn):
            conds = []
            if case_id is not None:
                conds.append(t.outbound_messages.c.case_id == case_id)
            if kind:
                conds.append(t.outbound_messages.c.kind == kind)
            where = sa.and_(*conds) if conds else sa.true()
            total = conn.execute(sa.select(sa.func.count()).select_from(t.outbound_messages).where(where)).scalar_one()
            rows = conn.execute(sa.select(t.outbound_messages, t.cases.c.number)
                                .outerjoin(t.cases, t.cases.c.id == t.outbound_messages.c.case_id).where(where)
                                .order_by(t.outbound_messages.c.id.desc()).limit(limit).offset(offset)).mappings()
            return total, [dict(r) for r in rows]
        return self.db.do(thd)

    # -- the outbox seam for the SMS gateway (it sends pending rows, then marks them sent) --------
    def pending_messages(self, limit: int = 100):
        """Messages not sent yet, oldest first (what a gateway sends next)."""
        def thd(conn):
            rows = conn.execute(sa.select(t.outbound_messages).where(t.outbound_messages.c.sent_at.is_(None))
                                .order_by(t.outbound_messages.c.created_at, t.outbound_messages.c.id)
                                .limit(limit)).mappings()
            return [dict(r) for r in rows]
        return self.db.do(thd)

    def mark_sent(self, message_ids: Iterable[int], at: dt.datetime):
        """Record that the gateway delivered these messages; returns how many were still pending."""
        ids = list(message_ids)

        def thd(conn):
            if not ids:
                return 0
            return conn.execute(t.outbound_messages.update().where(
                t.outbound_messages.c.id.in_(ids), t.outbound_messages.c.sent_at.is_(None)).values(sent_at=at)).rowcount
        return self.db.do(thd)

    def record_satisfaction(self, case_ref, answer: str, comment: str | None, actor: str, now: dt.datetime):
        """Store the citizen's answer for a closed case; wf.Refused when not closed or already answered."""
        def thd(conn):
            q = sa.select(t.cases.c.id, t.cases.c.status, t.cases.c.number)
            q = q.where(t.cases.c.number == case_ref) if isinstance(case_ref, str) else q.where(t.cases.c.id == case_ref)
            case = conn.execute(q).mappings().first()
            if case is None:
                raise CaseNotFound(f"no case {case_ref}")
            if case["status"] != wf.CLOSED:
                raise wf.Refused("conflict", f"satisfaction is asked for closed cases; this one is {case['status']}")
            if conn.execute(sa.select(t.case_satisfaction.c.case_id).where(
                    t.case_satisfaction.c.case_id == case["id"])).first() is not None:
                raise wf.Refused("conflict", "this case's satisfaction answer is already recorded")
            conn.execute(t.case_satisfaction.insert().values(case_id=case["id"], answer=answer, comment=comment,
                                                             recorded_by=actor, recorded_at=now))
            _event(conn, case["id"], now, actor, "satisfaction", {"answer": answer, "comment": comment})
            return {"case": case["number"], "answer": answer, "label": SATISFACTION_ANSWERS[answer]}
        return self.db.do(thd)

    def evaluation_records(self, start: dt.datetime, end: dt.datetime):
        """CaseRecords of every case with an event in [start, end), history up to `end`."""
        def thd(conn):
            ids = conn.execute(sa.select(t.case_events.c.case_id).distinct().where(
                t.case_events.c.at >= start, t.case_events.c.at < end)).scalars().all()
            rows = {r["id"]: dict(r) for r in conn.execute(sa.select(t.cases).where(t.cases.c.id.in_(ids))).mappings()} \
                if ids else {}
            hist = _history(conn, sorted(rows))
            out = []
            for cid in sorted(rows):
                r = rows[cid]
                events = tuple(e for e in hist[cid] if e["at"] < end)
                out.append(CaseRecord(case_id=cid, code=r["code"], street=r["street"], emergency=bool(r["emergency"]),
                                      origin_channel=(r["channels"] or ["?"])[0], events=events))
            return out
        return self.db.do(thd)

    def satisfaction_counts(self, start: dt.datetime, end: dt.datetime):
        """Answers recorded in [start, end): answer -> count."""
        def thd(conn):
            return dict(conn.execute(sa.select(t.case_satisfaction.c.answer, sa.func.count())
                                     .where(t.case_satisfaction.c.recorded_at >= start,
                                            t.case_satisfaction.c.recorded_at < end)
                                     .group_by(t.case_satisfaction.c.answer)).all())
        return self.db.do(thd)


def _result_messages(conn, case_id: int, number: str, status: str, note: str | None, now: dt.datetime) -> None:
    """One result message per reporter of the case (duplicates included), each phone number once."""
    callers = conn.execute(
        sa.select(t.reports.c.id, t.reports.c.caller)
        .join(t.case_reports, t.case_reports.c.report_id == t.reports.c.id)
        .where(t.case_reports.c.case_id == case_id, t.reports.c.caller.is_not(None))
        .order_by(t.reports.c.received_at, t.reports.c.id)).all()
    seen = set()
    text = result_text(number, status, note)
    for report_id, caller in callers:
        if not caller or caller in seen:
            continue
        seen.add(caller)
        conn.execute(t.outbound_messages.insert().values(case_id=case_id, report_id=report_id, recipient=caller,
                                                         kind="result", text=text, created_at=now))
