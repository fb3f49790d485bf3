"""The closed loop's API: case actions by role, time lights, arbitration, overdue, messages,
satisfaction, evaluation. Thin adapters over intake.db.loop_store and the pure routing.workflow.

    POST /api/v1/cases/{id or number}/actions       {"action": "dispatch", "department"?, "reason"?, ...}
    GET  /api/v1/cases/{id or number}/timing        lights, deadlines, the caller's allowed actions
    GET  /api/v1/cases/{id or number}/proposal      the router's first and second choice (dispatcher)
    GET  /api/v1/arbitration                        bounced cases with their whole history (shift chief)
    GET  /api/v1/overdue                            active cases whose running step is red
    GET  /api/v1/messages?case=&kind=&limit=&offset= the outbox of messages to citizens
    POST /api/v1/cases/{id or number}/satisfaction  {"answer": satisfied|basically_satisfied|dissatisfied}
    GET  /api/v1/evaluation?from=&to=               every evaluation table for the period

`OverdueWatch` is the Service that appends overdue and escalation events on the injected clock.
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from twisted.application import service
from twisted.internet import defer, task
from twisted.logger import Logger

from intake.http.params import with_principal
from intake.auth import AuthError, require
from intake.db.loop_store import SATISFACTION_ANSWERS, CaseNotFound, LoopStore, timing_of
from intake.http.router import HttpError, NotFound
from intake.loop_config import calendar_of, limits_of
from intake.validation import FieldError, InvalidInput, decode_json_body, parse_time
from routing import workflow as wf
from routing.evaluation import Evaluator
from routing.router import Router

log = Logger()
MAX_PAGE = 200
# Who sees the outbox (it holds citizens' phone numbers) and the evaluation.
MESSAGE_READERS = ("operator", "shift_chief")
EVALUATION_READERS = ("shift_chief", "dispatcher", "auditor")


def case_ref(value: str):
    """A case number (10+ digits) stays a string; a shorter number is the case id."""
    if not value.isdigit() or len(value) > 20:
        raise InvalidInput([FieldError("case", f"a case id or number is digits only, got {value[:20]!r}")])
    return value if len(value) >= 10 else int(value)


def refused_to_http(e: wf.Refused) -> Exception:
    """The workflow's refusal as the HTTP error it is: 403, 409 or 400 naming the field."""
    if e.kind == "forbidden":
        return AuthError(403, e.message)
    if e.kind == "conflict":
        return HttpError(409, e.message)
    return InvalidInput([FieldError(e.field or "body", e.message)])


class LoopApi:
    """Handlers of the loop's routes; each checks the caller's role before anything else."""

    def __init__(self, config, db, clock, auth):
        self.config = config
        self.loop = LoopStore(db)
        self.clock = clock
        self.auth = auth
        self.tz = ZoneInfo(config.service.timezone)
        self.calendar = calendar_of(config)
        self.limits = limits_of(config)
        self.router = Router(config.departments, config.routing, config.district)

    def register(self, r) -> None:
        """Add the routes."""
        r.add("POST", "/api/v1/cases/{case_id}/actions", self._auth(self.post_action))
        r.add("GET", "/api/v1/cases/{case_id}/timing", self._auth(self.get_timing))
        r.add("GET", "/api/v1/cases/{case_id}/proposal", self._auth(self.get_proposal))
        r.add("POST", "/api/v1/cases/{case_id}/satisfaction", self._auth(self.post_satisfaction))
        r.add("GET", "/api/v1/arbitration", self._auth(self.get_arbitration))
        r.add("GET", "/api/v1/overdue", self._auth(self.get_overdue))
        r.add("GET", "/api/v1/messages", self._auth(self.get_messages))
        r.add("GET", "/api/v1/evaluation", self._auth(self.get_evaluation))

    def _auth(self, handler):
        return with_principal(self.auth, handler)

    def now(self) -> dt.datetime:
        """The injected clock's time."""
        return dt.datetime.fromtimestamp(self.clock.seconds(), tz=dt.timezone.utc)

    def propose(self, case: dict, returned_by: tuple) -> dict:
        """The router's first and second choice for a case (the dispatcher's proposal)."""
        places = tuple(case.get("places") or ())
        first = self.router.route(case["code"], case["street"], bool(case["emergency"]), places=places)
        second = self.router.fallback(case["code"], case["street"], bool(case["emergency"]), places=places)
        return {"primary": first.department_id, "fallback": second.department_id if second else None,
                "level": first.level, "reasons": list(first.reasons) + (list(second.reasons) if second else []),
                "returned_by": list(returned_by)}

    # -- actions -----------------------------------------------------------------------------
    @defer.inlineCallbacks
    def post_action(self, request, principal, case_id):
        """POST /api/v1/cases/{id}/actions: one step of the loop by the caller's role (403 for the
        wrong role or another department's case, 409 for an illegal transition)."""
        ref = case_ref(case_id)
        data = decode_json_body(request.content.read())
        if not isinstance(data, dict):
            raise InvalidInput([FieldError("body", "expected a JSON object with an action")])
        action = data.get("action")
        if not isinstance(action, str) or action not in wf.ACTIONS:
            raise InvalidInput([FieldError("action", f"one of {', '.join(wf.ACTIONS)}")])
        allowed = {"action", "reason", "department", "note", "photos", "amount", "result"}
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise InvalidInput([FieldError(k, "unknown field") for k in unknown])
        params = {k: v for k, v in data.items() if k != "action"}
        try:
            out = yield self.loop.act(ref, action, role=principal.role, actor=principal.actor,
                                      actor_department=principal.department_id, params=params, now=self.now(),
                                      known_departments=set(self.config.departments), propose=self.propose)
        except CaseNotFound as e:
            raise NotFound(str(e)) from None
        except wf.Refused as e:
            raise refused_to_http(e) from None
        c = out["case"]
        body = {"case": {"id": c["id"], "number": c["number"], "status": c["status"],
                         "status_label": wf.STATES.get(c["status"]), "department": c["department_id"],
                         "pending_request": c["pending_request"]},
                "events": out["events"]}
        if "proposal" in out:
            body["proposal"] = out["proposal"]
        return 200, body

    @defer.inlineCallbacks
    def _case(self, principal, case_id):
        found = yield self.loop.case_with_history(case_ref(case_id))
        if found is None:
            raise NotFound(f"no case {case_id}")
        case, events = found
        if principal.role == "department" and case["department_id"] != principal.department_id:
            raise AuthError(403, f"this case belongs to another department; {principal.name} sees only cases of "
                                 f"{principal.department_id}")
        return case, events

    @defer.inlineCallbacks
    def get_timing(self, request, principal, case_id):
        """GET /api/v1/cases/{id}/timing: the running step's light and deadline, the whole case's,
        and what the caller may do now."""
        case, events = yield self._case(principal, case_id)
        state = self._state(case, events)
        body = {"number": case["number"], "status": case["status"], "status_label": wf.STATES.get(case["status"]),
                "pending_request": case["pending_request"],
                "allowed_actions": wf.allowed_actions(state, principal.role, principal.department_id)}
        body.update(timing_of(case, events, self.limits, self.calendar, self.now()))
        return 200, body

    @staticmethod
    def _state(case, events):
        from intake.db.loop_store import state_of
        return state_of(case, events)

    @defer.inlineCallbacks
    def get_proposal(self, request, principal, case_id):
        """GET /api/v1/cases/{id}/proposal: where the router would send the case, first and second."""
        require(principal, "dispatcher", "shift_chief")
        case, events = yield self._case(principal, case_id)
        state = self._state(case, events)
        return 200, self.propose(case, state.returned_by)

    # -- queues ------------------------------------------------------------------------------
    @defer.inlineCallbacks
    def get_arbitration(self, request, principal):
        """GET /api/v1/arbitration: bounced cases waiting for the shift chief, each with its whole history."""
        require(principal, "shift_chief", "dispatcher")
        rows = yield self.loop.active_cases([wf.ARBITRATION])
        now = self.now()
        items = []
        for case, events in rows:
            why = next((e["detail"].get("reason") for e in reversed(events) if e["kind"] == "arbitration"), None)
            items.append({"id": case["id"], "number": case["number"], "code": case["code"], "street": case["street"],
                          "reason": why, "proposal": self.propose(case, self._state(case, events).returned_by),
                          "timing": timing_of(case, events, self.limits, self.calendar, now)["current"],
                          "history": events})
        return 200, {"total": len(items), "items": items}

    @defer.inlineCallbacks
    def get_overdue(self, request, principal):
        """GET /api/v1/overdue: active cases whose running step is red (a department sees its own)."""
        require(principal, "shift_chief", "dispatcher", "department")
        dept = principal.department_id if principal.role == "department" else None
        rows = yield self.loop.active_cases(department=dept)
        now = self.now()
        items = []
        for case, events in rows:
            timing = timing_of(case, events, self.limits, self.calendar, now)
            cur = timing.get("current")
            if cur and cur["light"] == "red":
                items.append({"id": case["id"], "number": case["number"], "status": case["status"],
                              "department": case["department_id"], "step": cur["step"], "deadline": cur["deadline"],
                              "used": cur["used"], "escalated": any(e["kind"] == "escalated" for e in events)})
        return 200, {"total": len(items), "items": items}

    @defer.inlineCallbacks
    def get_messages(self, request, principal):
        """GET /api/v1/messages?case=&kind=&limit=&offset=: messages to citizens, newest first."""
        require(principal, *MESSAGE_READERS)
        args = {k.decode(): v[-1].decode("utf-8", "replace") for k, v in request.args.items()}
        errors = [FieldError(k, "unknown query parameter") for k in sorted(set(args) - {"case", "kind", "limit", "offset"})]
        case_id = None
        if "case" in args:
            if not args["case"].isdigit():
                errors.append(FieldError("case", "a case id is a positive integer"))
            else:
                case_id = int(args["case"])
        if args.get("kind") not in (None, "receipt", "result", "reply"):
            errors.append(FieldError("kind", "receipt, result or reply"))
        limit = _int(args, "limit", 50, 1, MAX_PAGE, errors)
        offset = _int(args, "offset", 0, 0, 10 ** 9, errors)
        if errors:
            raise InvalidInput(errors)
        total, rows = yield self.loop.messages(case_id=case_id, kind=args.get("kind"), limit=limit, offset=offset)
        items = [{"id": r["id"], "case_id": r["case_id"], "case_number": r["number"], "report_id": r["report_id"],
                  "recipient": r["recipient"], "kind": r["kind"], "text": r["text"], "created_at": r["created_at"],
                  "sent_at": r["sent_at"]} for r in rows]
        return 200, {"total": total, "limit": limit, "offset": offset, "items": items}

    @defer.inlineCallbacks
    def post_satisfaction(self, request, principal, case_id):
        """POST /api/v1/cases/{id}/satisfaction: the citizen's answer about a closed case (once)."""
        require(principal, "operator", "channel")
        data = decode_json_body(request.content.read())
        if not isinstance(data, dict):
            raise InvalidInput([FieldError("body", "expected a JSON object with an answer")])
        errors = [FieldError(k, "unknown field") for k in sorted(set(data) - {"answer", "comment"})]
        answer = data.get("answer")
        if answer not in SATISFACTION_ANSWERS:
            errors.append(FieldError("answer", f"one of {', '.join(SATISFACTION_ANSWERS)}"))
        comment = data.get("comment")
        if comment is not None and (not isinstance(comment, str) or len(comment) > 500):
            errors.append(FieldError("comment", "a text of at most 500 characters"))
        if errors:
            raise InvalidInput(errors)
        try:
            out = yield self.loop.record_satisfaction(case_ref(case_id), answer, comment, principal.actor, self.now())
        except CaseNotFound as e:
            raise NotFound(str(e)) from None
        except wf.Refused as e:
            raise refused_to_http(e) from None
        return 201, out

    @defer.inlineCallbacks
    def get_evaluation(self, request, principal):
        """GET /api/v1/evaluation?from=&to=: every evaluation table (domain README section 5)."""
        require(principal, *EVALUATION_READERS)
        args = {k.decode(): v[-1].decode("utf-8", "replace") for k, v in request.args.items()}
        errors = [FieldError(k, "unknown query parameter") for k in sorted(set(args) - {"from", "to"})]
        for k in ("from", "to"):
            if k not in args:
                errors.append(FieldError(k, "required (ISO 8601 date-time or date)"))
        start = parse_time(_day(args["from"]), "from", self.tz, errors) if "from" in args else None
        end = parse_time(_day(args["to"]), "to", self.tz, errors) if "to" in args else None
        if start and end and end <= start:
            errors.append(FieldError("to", "must be after from"))
        if errors:
            raise InvalidInput(errors)
        records = yield self.loop.evaluation_records(start, end)
        tables = Evaluator(self.limits, self.calendar, start, end).evaluate(records)
        tables["satisfaction"] = yield self.loop.satisfaction_counts(start, end)
        return 200, {"from": start, "to": end, "cases": len(records), **tables}


def _day(value: str) -> str:
    """A bare date means its midnight in the deployment's zone."""
    return value + "T00:00:00" if len(value) == 10 else value


def _int(args, name, default, lo, hi, errors):
    if name not in args:
        return default
    v = args[name]
    if not v.isdigit() or not lo <= int(v) <= hi:
        errors.append(FieldError(name, f"must be an integer between {lo} and {hi}"))
        return default
    return int(v)


class OverdueWatch(service.Service):
    """Every `interval` seconds of the injected clock, marks overdue steps and escalates them to the
    shift chief (events 'overdue' and 'escalated', once per step)."""

    name = "overdue-watch"

    def __init__(self, loop: LoopStore, limits, calendar, clock, interval: float = 60.0):
        self.loop = loop
        self.limits = limits
        self.calendar = calendar
        self.clock = clock
        self.interval = interval
        self._call = None
        self.escalated: list[int] = []

    def scan(self):
        """One pass; a failure is logged and the next pass tries again (the watch never stops)."""
        now = dt.datetime.fromtimestamp(self.clock.seconds(), tz=dt.timezone.utc)
        d = self.loop.scan_overdue(self.limits, self.calendar, now)
        d.addCallback(self.escalated.extend)
        d.addErrback(lambda f: log.failure("overdue scan failed", f))
        return d

    def startService(self):
        """Start the periodic scan on the clock."""
        super().startService()
        self._call = task.LoopingCall(self.scan)
        self._call.clock = self.clock
        self._call.start(self.interval, now=True)

    def stopService(self):
        """Stop scanning."""
        super().stopService()
        if self._call is not None and self._call.running:
            self._call.stop()


def register(router, *, config, db, clock, auth, **_):
    """API_MODULES entry point: the routes, and the overdue watch as a Service for the tree."""
    api = LoopApi(config, db, clock, auth)
    api.register(router)
    return OverdueWatch(api.loop, api.limits, api.calendar, clock)
