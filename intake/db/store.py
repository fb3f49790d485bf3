"""Reports, decisions and cases in the database: every method runs on the DB pool.

The intake transaction is the heart: it takes the intake lock, stores the report as received,
finds candidate cases by place and time (indexes only), lets the pure planner decide, and writes
the case, its history and the decision, all or nothing.
"""
from __future__ import annotations

import datetime as dt
from typing import Callable

import sqlalchemy as sa

from intake.db import loop_store
from intake.db import schema as t
from intake.models import CaseRow, DecisionRecord, IncomingReport, IntakeResult
from routing import workflow as wf

# At most this many cases per candidate lookup (newest first): a bound on one intake's cost.
CANDIDATE_CAP = 200

# A new case starts `open` (待受理: waiting for the operator) unless loop_store.after_intake moves it
# on in the same transaction (an inspector's report: accepted; an emergency: dispatched). The states
# are routing.workflow's; `closed` is the only one a forced close (replay's legacy action) sets.
CASE_OPEN = wf.OPEN
CASE_CLOSED = wf.CLOSED


class DuplicateReport(Exception):
    """The (channel, external_id) is already stored: carries the first answer."""

    def __init__(self, result: IntakeResult):
        super().__init__(f"report already stored as {result.report_id}")
        self.result = result


def case_number(case_id: int, opened_at: dt.datetime) -> str:
    """The number citizens are told: the year and the database's case id, digits only (DTMF)."""
    return f"{opened_at.year}{case_id:06d}"


def _json_list(v) -> tuple:
    return tuple(v or ())


class Store:
    """Typed access to the database through a runner (DBThreadPool or SyncRunner)."""

    def __init__(self, db):
        self.db = db

    # -- intake ---------------------------------------------------------------------------
    def find_result(self, channel: str, external_id: str):
        """The stored answer for (channel, external_id), or None."""
        def thd(conn):
            return _result_for(conn, channel, external_id, replayed=True)
        return self.db.do(thd)

    def intake(self, report: IncomingReport, decision: DecisionRecord, candidate_query: dict,
               planner: Callable, actor: str = "system"):
        """Store the report and act on the planner's verdict in one transaction.

        candidate_query: {"grids": [...], "community", "street", "since", "closed_since"} says where
        to look. planner(conn_free_candidates: list[dict]) -> dict with keys outcome ('new' | 'merge'
        | 'recurrence' | 'ask' | 'out_of_scope'), case_id, score, reasons, recurrence_of, department_id,
        level, routing_reasons, needs_review, audit_sampled, hot_rule (reports, days).
        """
        def thd(conn):
            _take_intake_lock(conn)
            existing = _result_for(conn, report.channel, report.external_id, replayed=True)
            if existing is not None:
                return existing
            now = report.received_at
            report_id = conn.execute(t.reports.insert().values(
                channel=report.channel, external_id=report.external_id, text=report.text,
                caller=report.caller, address=report.address, street_hint=report.street,
                code_hint=report.code, lng=report.lng, lat=report.lat,
                received_at=report.received_at, stored_at=dt.datetime.now(dt.timezone.utc),
            )).inserted_primary_key[0]
            candidates = _candidates(conn, candidate_query) if not decision.out_of_scope else []
            plan = planner(candidates)
            outcome = plan["outcome"]
            case_id = None
            duplicate_of = None
            role = "origin"
            if outcome == "merge":
                case_id = plan["case_id"]
                duplicate_of = case_id
                role = "confirmation" if report.channel == "inspector" else "duplicate"
                _merge_into_case(conn, case_id, report, decision, report_id, role, plan, now, actor)
            elif outcome in ("new", "recurrence", "ask"):
                case_id = _open_case(conn, report, decision, report_id, plan, now, actor)
            if case_id is not None:
                conn.execute(t.case_reports.insert().values(case_id=case_id, report_id=report_id,
                                                            role=role, joined_at=now))
                # The loop's first state and the reporter's receipt, in this same transaction.
                loop_store.after_intake(conn, case_id=case_id, report_id=report_id, channel=report.channel,
                                        caller=report.caller, outcome=outcome, emergency=decision.emergency,
                                        now=now)
            api_outcome = ("out_of_scope" if outcome == "out_of_scope"
                           else "emergency" if decision.emergency
                           else "merged" if outcome == "merge" else "opened")
            conn.execute(t.report_decisions.insert().values(
                report_id=report_id, outcome=api_outcome, case_id=case_id, duplicate_of=duplicate_of,
                model_version=decision.model_version, code=decision.code, confidence=decision.confidence,
                abstain=decision.abstain, candidates=list(decision.candidates),
                out_of_scope=decision.out_of_scope, agency=decision.agency, emergency=decision.emergency,
                classification_reasons=list(decision.classification_reasons),
                street=decision.street, community=decision.community, grid=decision.grid,
                places=list(decision.places), location_reasons=list(decision.location_reasons),
                duplicate_outcome=outcome, duplicate_score=plan.get("score"),
                duplicate_reasons=list(plan.get("reasons", ())),
                department_id=plan.get("department_id"), routing_level=plan.get("level"),
                routing_reasons=list(plan.get("routing_reasons", ())),
                needs_review=bool(plan.get("needs_review")), audit_sampled=bool(plan.get("audit_sampled")),
                tokens=" ".join(decision.tokens), decided_at=now,
            ))
            return _result_for(conn, report.channel, report.external_id, replayed=False)
        return self.db.do(thd)

    def close_case_of_report(self, channel_or_none, report_id: int, at: dt.datetime, actor: str = "system",
                             reason: str = "closed"):
        """Close the case that holds a report (used by replay's close actions)."""
        def thd(conn):
            row = conn.execute(sa.select(t.case_reports.c.case_id).where(
                t.case_reports.c.report_id == report_id)).first()
            if row is None:
                return None
            case_id = row.case_id
            status = conn.execute(sa.select(t.cases.c.status).where(t.cases.c.id == case_id)).scalar_one()
            if status == CASE_CLOSED:
                return case_id
            conn.execute(t.cases.update().where(t.cases.c.id == case_id).values(status=CASE_CLOSED, closed_at=at))
            _event(conn, case_id, at, actor, "closed", {"reason": reason})
            return case_id
        return self.db.do(thd)

    # -- reading --------------------------------------------------------------------------
    def get_report(self, report_id: int):
        """A report as received plus its decision, or None."""
        def thd(conn):
            r = conn.execute(sa.select(t.reports).where(t.reports.c.id == report_id)).mappings().first()
            if r is None:
                return None
            d = conn.execute(sa.select(t.report_decisions).where(
                t.report_decisions.c.report_id == report_id)).mappings().first()
            dept = conn.execute(sa.select(t.cases.c.department_id).join(
                t.case_reports, t.case_reports.c.case_id == t.cases.c.id).where(
                t.case_reports.c.report_id == report_id)).scalar()
            return {"report": dict(r), "decision": dict(d) if d else None, "case_department": dept}
        return self.db.do(thd)

    def get_case(self, case_id: int | None = None, number: str | None = None):
        """A case with its reports and history, or None."""
        def thd(conn):
            q = sa.select(t.cases)
            q = q.where(t.cases.c.id == case_id) if case_id is not None else q.where(t.cases.c.number == number)
            row = conn.execute(q).mappings().first()
            if row is None:
                return None
            reports = conn.execute(
                sa.select(t.reports.c.id, t.reports.c.channel, t.reports.c.external_id, t.reports.c.text,
                          t.reports.c.caller, t.reports.c.received_at, t.case_reports.c.role)
                .join(t.case_reports, t.case_reports.c.report_id == t.reports.c.id)
                .where(t.case_reports.c.case_id == row["id"]).order_by(t.reports.c.received_at, t.reports.c.id)
            ).mappings().all()
            events = conn.execute(sa.select(t.case_events).where(t.case_events.c.case_id == row["id"])
                                  .order_by(t.case_events.c.at, t.case_events.c.id)).mappings().all()
            return _case_row(row, reports=tuple(dict(r) for r in reports),
                             history=tuple(dict(e) for e in events))
        return self.db.do(thd)

    def list_cases(self, status=None, street=None, code=None, since=None, until=None,
                   limit: int = 50, offset: int = 0, department: str | None = None):
        """Cases matching the filters, newest first, and the total count."""
        def thd(conn):
            conds = []
            if status:
                conds.append(t.cases.c.status == status)
            if street:
                conds.append(t.cases.c.street == street)
            if code:
                conds.append(t.cases.c.code == code)
            if department:
                conds.append(t.cases.c.department_id == department)
            if since:
                conds.append(t.cases.c.opened_at >= since)
            if until:
                conds.append(t.cases.c.opened_at < until)
            where = sa.and_(*conds) if conds else sa.true()
            total = conn.execute(sa.select(sa.func.count()).select_from(t.cases).where(where)).scalar_one()
            rows = conn.execute(sa.select(t.cases).where(where)
                                .order_by(t.cases.c.opened_at.desc(), t.cases.c.id.desc())
                                .limit(limit).offset(offset)).mappings().all()
            return total, [_case_row(r) for r in rows]
        return self.db.do(thd)

    def summary(self):
        """Counts for the demo: outcomes, and cases per street and department."""
        def thd(conn):
            outcomes = dict(conn.execute(sa.select(t.report_decisions.c.outcome, sa.func.count())
                                         .group_by(t.report_decisions.c.outcome)).all())
            per_street = conn.execute(sa.select(t.cases.c.street, sa.func.count(), sa.func.sum(t.cases.c.report_count))
                                      .group_by(t.cases.c.street)).all()
            per_dept = conn.execute(sa.select(t.cases.c.department_id, sa.func.count())
                                    .group_by(t.cases.c.department_id)).all()
            review = conn.execute(sa.select(sa.func.count()).select_from(t.report_decisions)
                                  .where(t.report_decisions.c.needs_review.is_(True))).scalar_one()
            hot = conn.execute(sa.select(sa.func.count()).select_from(t.cases).where(t.cases.c.hot.is_(True))).scalar_one()
            return {"outcomes": outcomes, "per_street": [tuple(r) for r in per_street],
                    "per_department": [tuple(r) for r in per_dept], "needs_review": review, "hot": hot}
        return self.db.do(thd)


# -- transaction helpers (run on the pool thread) ----------------------------------------------

def _take_intake_lock(conn) -> None:
    """Serialise intake transactions across every node on this database (see schema.intake_lock)."""
    n = conn.execute(t.intake_lock.update().where(t.intake_lock.c.id == 1)
                     .values(generation=t.intake_lock.c.generation + 1)).rowcount
    if n == 0:
        # The row is written with the schema (create_all path and migration 0001); inserting it
        # here would race between nodes, so a missing row is a broken database, said plainly.
        raise RuntimeError("intake_lock row 1 is missing: the database was not prepared by `hotline db upgrade`")


def _result_for(conn, channel: str, external_id: str, replayed: bool) -> IntakeResult | None:
    q = (sa.select(t.reports.c.id, t.report_decisions, t.cases.c.number)
         .join(t.report_decisions, t.report_decisions.c.report_id == t.reports.c.id)
         .outerjoin(t.cases, t.cases.c.id == t.report_decisions.c.case_id)
         .where(t.reports.c.channel == channel, t.reports.c.external_id == external_id))
    row = conn.execute(q).mappings().first()
    if row is None:
        return None
    reasons = tuple(row["classification_reasons"] or ()) + tuple(row["location_reasons"] or ()) + \
        tuple(row["duplicate_reasons"] or ()) + tuple(row["routing_reasons"] or ())
    return IntakeResult(
        report_id=row["id"], outcome=row["outcome"], case_id=row["case_id"], case_number=row["number"],
        duplicate_of=row["duplicate_of"], reasons=reasons, code=row["code"], confidence=row["confidence"],
        abstain=row["abstain"], candidates=tuple(row["candidates"] or ()), out_of_scope=row["out_of_scope"],
        agency=row["agency"], emergency=row["emergency"], street=row["street"], community=row["community"],
        grid=row["grid"], department_id=row["department_id"], needs_review=row["needs_review"],
        model_version=row["model_version"], replayed=replayed)


def _candidates(conn, q: dict) -> list[dict]:
    """Cases near the report, by indexed place and time lookups only (never a scan of all cases).

    Open or recently active cases: same or neighbouring grids, same community (or street when the
    report has no finer place), same named spot, active since `since` (the widest duplicate window
    of the codes that could match). Closed cases for recurrence: only at the same grid or named
    spot, closed since `closed_since`. Each lookup is capped (newest first) so a dense area cannot
    make one intake slow.
    """
    since, closed_since = q["since"], q["closed_since"]
    found: dict[int, dict] = {}

    def take(stmt):
        for row in conn.execute(stmt.limit(CANDIDATE_CAP)).mappings():
            found.setdefault(row["id"], dict(row))

    newest = t.cases.c.last_report_at.desc()
    grids = list(q.get("grids") or ())
    if grids:
        take(sa.select(t.cases).where(t.cases.c.grid.in_(grids), t.cases.c.last_report_at >= since).order_by(newest))
        take(sa.select(t.cases).where(t.cases.c.grid == grids[0], t.cases.c.closed_at >= closed_since)
             .order_by(t.cases.c.closed_at.desc()))
    if q.get("community"):
        take(sa.select(t.cases).where(t.cases.c.community == q["community"], t.cases.c.last_report_at >= since)
             .order_by(newest))
    if q.get("street"):
        take(sa.select(t.cases).where(t.cases.c.street == q["street"], t.cases.c.last_report_at >= since)
             .order_by(newest))
    places = list(q.get("places") or ())
    if places:
        # A closed case's last report may predate its closing by weeks: look back that much more.
        floor = min(since, closed_since - dt.timedelta(days=30))
        ids = conn.execute(sa.select(t.case_places.c.case_id).distinct().where(
            t.case_places.c.place.in_(places), t.case_places.c.last_report_at >= floor)
            .limit(CANDIDATE_CAP)).scalars().all()
        missing = [i for i in ids if i not in found]
        if missing:
            for row in conn.execute(sa.select(t.cases).where(t.cases.c.id.in_(missing))).mappings():
                if row["last_report_at"] >= since or (row["closed_at"] is not None and row["closed_at"] >= closed_since):
                    found.setdefault(row["id"], dict(row))
    return list(found.values())


def _open_case(conn, report: IncomingReport, d: DecisionRecord, report_id: int, plan: dict,
               now: dt.datetime, actor: str) -> int:
    case_id = conn.execute(t.cases.insert().values(
        status=CASE_OPEN, code=d.code, alternative_codes=list(plan.get("alternative_codes", ())), street=d.street, community=d.community, grid=d.grid,
        places=list(d.places), tokens=" ".join(d.tokens), department_id=plan.get("department_id"),
        level=plan.get("level"), emergency=d.emergency, hot=False,
        inspector_confirmed=report.channel == "inspector", report_count=1,
        callers=[report.caller] if report.caller else [], channels=[report.channel],
        recurrence_of=plan.get("recurrence_of"), opened_at=now, last_report_at=now,
    )).inserted_primary_key[0]
    conn.execute(t.cases.update().where(t.cases.c.id == case_id).values(number=case_number(case_id, now)))
    spots = plan.get("spots", ())
    if spots:
        conn.execute(t.case_places.insert(), [{"case_id": case_id, "place": p, "last_report_at": now} for p in spots])
    _event(conn, case_id, now, actor, "opened", {
        "report_id": report_id, "channel": report.channel, "code": d.code, "confidence": d.confidence,
        "model_version": d.model_version, "duplicate": plan.get("outcome"),
        "reasons": list(plan.get("reasons", ())), "recurrence_of": plan.get("recurrence_of")})
    _event(conn, case_id, now, actor, "routed", {
        "department_id": plan.get("department_id"), "level": plan.get("level"),
        "reasons": list(plan.get("routing_reasons", ()))})
    if d.emergency:
        _event(conn, case_id, now, actor, "emergency", {"report_id": report_id})
    return case_id


def _merge_into_case(conn, case_id: int, report: IncomingReport, d: DecisionRecord, report_id: int,
                     role: str, plan: dict, now: dt.datetime, actor: str) -> None:
    case = conn.execute(sa.select(t.cases).where(t.cases.c.id == case_id)).mappings().one()
    callers = list(case["callers"] or [])
    if report.caller and report.caller not in callers:
        callers.append(report.caller)
    channels = list(case["channels"] or [])
    if report.channel not in channels:
        channels.append(report.channel)
    places = list(case["places"] or [])
    places.extend(p for p in d.places if p not in places)
    tokens = case["tokens"].split() if case["tokens"] else []
    tokens.extend(tk for tk in d.tokens if tk not in tokens)
    alternatives = list(case["alternative_codes"] or [])
    alternatives.extend(c for c in plan.get("alternative_codes", ()) if c not in alternatives)
    values = dict(report_count=case["report_count"] + 1, callers=callers, channels=channels,
                  alternative_codes=alternatives[:6],
                  places=places, tokens=" ".join(tokens[:400]), last_report_at=max(now, case["last_report_at"]))
    if case["grid"] is None and d.grid:
        values.update(grid=d.grid, community=d.community or case["community"], street=d.street or case["street"])
    _event(conn, case_id, now, actor, "report_merged", {
        "report_id": report_id, "channel": report.channel, "role": role, "score": plan.get("score"),
        "reasons": list(plan.get("reasons", ()))})
    if role == "confirmation":
        values["inspector_confirmed"] = True
        _event(conn, case_id, now, actor, "confirmed_by_inspector", {"report_id": report_id})
        if report.code and report.code != case["code"]:
            values["code"] = report.code
            _event(conn, case_id, now, actor, "code_corrected", {
                "old": case["code"], "new": report.code, "why": "an inspector's code is authoritative"})
    if d.emergency and not case["emergency"]:
        values["emergency"] = True
        _escalate(conn, case, values, report_id, plan.get("emergency_route"), now, actor)
    hot_reports, hot_days = plan.get("hot_rule", (3, 3))
    if not case["hot"]:
        recent = conn.execute(
            sa.select(sa.func.count()).select_from(t.case_reports)
            .where(t.case_reports.c.case_id == case_id,
                   t.case_reports.c.joined_at >= now - dt.timedelta(days=hot_days))).scalar_one()
        if recent + 1 >= hot_reports:
            values["hot"] = True
            _event(conn, case_id, now, actor, "flagged_hot",
                   {"reports_in_window": recent + 1, "days": hot_days})
    conn.execute(t.cases.update().where(t.cases.c.id == case_id).values(**values))
    known = set(conn.execute(sa.select(t.case_places.c.place).where(t.case_places.c.case_id == case_id)).scalars())
    new_spots = [p for p in plan.get("spots", ()) if p not in known]
    if new_spots:
        conn.execute(t.case_places.insert(), [{"case_id": case_id, "place": p, "last_report_at": values["last_report_at"]}
                                              for p in new_spots])
    conn.execute(t.case_places.update().where(t.case_places.c.case_id == case_id)
                 .values(last_report_at=values["last_report_at"]))


def _escalate(conn, case, values: dict, report_id: int, route: dict | None, now: dt.datetime, actor: str) -> None:
    """A merged report made `case` an emergency (国办发〔2022〕12号: such reports go to the emergency
    chain at once). A case no department has yet is registered and dispatched to the emergency
    unit now, as a new emergency would be; a case a department already works on (or one parked,
    in arbitration or closed) keeps its state and department, and the alert is recorded on it.
    """
    case_id = case["id"]
    unit = (route or {}).get("department_id")
    if case["status"] in wf.BEFORE_DISPATCH and unit:
        why = "a merged report is an emergency: registered and dispatched to the emergency chain at once"
        values.update(status=wf.DISPATCHED, department_id=unit, level=(route or {}).get("level") or case["level"])
        _event(conn, case_id, now, actor, "emergency", {"report_id": report_id, "escalated": True})
        _event(conn, case_id, now, actor, "routed", {"department_id": unit, "level": values["level"],
                                                     "reasons": list((route or {}).get("reasons", ()))})
        loop_store.emergency_dispatch(conn, case_id, unit, now, why)
    else:
        _event(conn, case_id, now, actor, "emergency", {
            "report_id": report_id, "escalated": False, "alert": unit, "status": case["status"],
            "department": case["department_id"],
            "reason": "the case is already past dispatch: its department keeps it; the emergency unit is alerted"})


def _event(conn, case_id: int, at: dt.datetime, actor: str, kind: str, detail: dict) -> None:
    conn.execute(t.case_events.insert().values(case_id=case_id, at=at, actor=actor, kind=kind, detail=detail))


def _case_row(row, reports=(), history=()) -> CaseRow:
    return CaseRow(
        id=row["id"], number=row["number"], status=row["status"], code=row["code"], street=row["street"],
        community=row["community"], grid=row["grid"], department_id=row["department_id"], level=row["level"],
        emergency=row["emergency"], hot=row["hot"], inspector_confirmed=row["inspector_confirmed"],
        report_count=row["report_count"], channels=_json_list(row["channels"]),
        recurrence_of=row["recurrence_of"], opened_at=row["opened_at"], last_report_at=row["last_report_at"],
        closed_at=row["closed_at"], reports=reports, history=history)
