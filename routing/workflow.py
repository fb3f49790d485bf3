"""The closed loop as a pure state machine: who may do what to a case, and what follows.

Glossary (the same English word everywhere in the code; domain README section 3):

    受理 accept      不予受理 reject    立案 register     作废 void        派遣 dispatch
    处置 handle (start, finish)        回退 return       延期 extension   挂账 park
    挂账恢复 resume   核查 verify        返工 rework       结案 close       仲裁 arbitrate

States (cases.status):

    open         待受理  taken in by intake; the operator (受理员) accepts or rejects it
    accepted     待立案  the shift chief (值班长) registers or voids it (an inspector's report starts here)
    registered   待派遣  the dispatcher (派遣员) dispatches it to a department
    dispatched   待处置  the department starts handling (or asks for a return, extension, parking)
    handling     处置中  the department finishes with a result note and photos
    finished     待核查  the inspector (监督员) verifies on site: pass, or fail = rework by the same department
    verified     待结案  the shift chief closes it
    parked       挂账    the clock is stopped; the dispatcher resumes it
    arbitration  待仲裁  bounced between departments: the shift chief decides who handles it
    closed       结案 / rejected 不予受理 / voided 作废: final

A department's request (return, extension, parking) does not change the state: the case carries
it as `pending` until the dispatcher approves or refuses it, and the department keeps working.
Emergencies are registered and dispatched to the emergency unit by intake itself.

Bounce detection (the seed's 156 cases that cycled between departments nobody owned): when a
return is approved and two different departments have returned the case, or a re-dispatch would
be its third dispatch, the case goes to the arbitration queue instead of back to the dispatcher;
after the shift chief's arbitration the department may no longer return it.

Pure domain code: `decide()` either returns the Outcome (new state and the events to append) or
raises `Refused` with a reason a person can act on.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from routing.timelimits import parse_duration

OPEN, ACCEPTED, REGISTERED = "open", "accepted", "registered"
DISPATCHED, HANDLING, FINISHED, VERIFIED = "dispatched", "handling", "finished", "verified"
PARKED, ARBITRATION = "parked", "arbitration"
CLOSED, REJECTED, VOIDED = "closed", "rejected", "voided"

STATES = {
    OPEN: "待受理", ACCEPTED: "待立案", REGISTERED: "待派遣", DISPATCHED: "待处置", HANDLING: "处置中",
    FINISHED: "待核查", VERIFIED: "待结案", PARKED: "挂账", ARBITRATION: "待仲裁",
    CLOSED: "已结案", REJECTED: "不予受理", VOIDED: "已作废",
}
FINAL = frozenset({CLOSED, REJECTED, VOIDED})
# States of a case that no department has been given yet.
BEFORE_DISPATCH = frozenset({OPEN, ACCEPTED, REGISTERED})
ACTIVE = frozenset(STATES) - FINAL
# States where a department works on the case (and may ask for a return, extension or parking).
WORKING = (DISPATCHED, HANDLING)

# Bounce rule: distinct departments returning the case, dispatches a case may have.
BOUNCE_RETURNERS = 2
BOUNCE_DISPATCHES = 3


@dataclass(frozen=True)
class Rule:
    """One action: the roles that may do it, the states it applies in, what it needs."""

    roles: tuple[str, ...]
    states: tuple[str, ...]
    label: str
    needs_reason: bool = False
    pending: str | None = None  # the pending request this action answers


ACTIONS: Mapping[str, Rule] = {
    "accept": Rule(("operator",), (OPEN,), "受理"),
    "reject": Rule(("operator",), (OPEN,), "不予受理", needs_reason=True),
    "register": Rule(("shift_chief",), (ACCEPTED,), "立案"),
    "void": Rule(("shift_chief",), (OPEN, ACCEPTED, REGISTERED, ARBITRATION), "作废", needs_reason=True),
    "dispatch": Rule(("dispatcher",), (REGISTERED,), "派遣"),
    "start": Rule(("department",), (DISPATCHED,), "开始处置"),
    "finish": Rule(("department",), (HANDLING,), "处置完成"),
    "request_return": Rule(("department",), WORKING, "申请回退", needs_reason=True),
    "request_extension": Rule(("department",), WORKING, "申请延期", needs_reason=True),
    "request_park": Rule(("department",), WORKING, "申请挂账", needs_reason=True),
    "approve_return": Rule(("dispatcher",), WORKING, "同意回退", pending="return"),
    "refuse_return": Rule(("dispatcher",), WORKING, "不同意回退", needs_reason=True, pending="return"),
    "approve_extension": Rule(("dispatcher",), WORKING, "同意延期", pending="extension"),
    "refuse_extension": Rule(("dispatcher",), WORKING, "不同意延期", needs_reason=True, pending="extension"),
    "approve_park": Rule(("dispatcher",), WORKING, "同意挂账", pending="park"),
    "refuse_park": Rule(("dispatcher",), WORKING, "不同意挂账", needs_reason=True, pending="park"),
    "resume": Rule(("dispatcher",), (PARKED,), "挂账恢复"),
    "verify": Rule(("inspector",), (FINISHED,), "核查"),
    "close": Rule(("shift_chief",), (VERIFIED,), "结案"),
    "arbitrate": Rule(("shift_chief",), (ARBITRATION,), "仲裁"),
}
# Who may do anything (administrators repair cases; their actions are recorded like everyone's).
SUPER_ROLES = ("admin",)


class Refused(Exception):
    """An action refused: kind 'forbidden' (role or department), 'conflict' (not in this state)
    or 'invalid' (a missing or bad parameter, named by `field`)."""

    def __init__(self, kind: str, message: str, field: str | None = None):
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.field = field


@dataclass(frozen=True)
class CaseState:
    """What the workflow needs to know about a case (from cases row and history)."""

    status: str
    department_id: str | None = None
    pending: str | None = None
    resume_status: str | None = None
    dispatch_count: int = 0
    returned_by: tuple[str, ...] = ()
    arbitrated: bool = False
    emergency: bool = False


@dataclass(frozen=True)
class Outcome:
    """The result of an allowed action: the case's new fields and the events to append."""

    status: str
    department_id: str | None
    pending: str | None
    resume_status: str | None
    events: tuple[tuple[str, dict], ...]
    final: bool = False
    notes: tuple[str, ...] = field(default=())


def allowed_actions(case: CaseState, role: str, actor_department: str | None = None) -> list[str]:
    """The actions `role` may take on the case now (for the API's hints)."""
    out = []
    for name in ACTIONS:
        try:
            _check(case, name, role, actor_department)
        except Refused:
            continue
        out.append(name)
    return out


def _check(case: CaseState, action: str, role: str, actor_department: str | None) -> Rule:
    rule = ACTIONS.get(action)
    if rule is None:
        raise Refused("invalid", f"unknown action {action!r}; one of {', '.join(ACTIONS)}", "action")
    if role not in rule.roles and role not in SUPER_ROLES:
        raise Refused("forbidden", f"{action} ({rule.label}) is done by {' or '.join(rule.roles)}, not by {role}")
    if role == "department" and case.department_id != actor_department:
        raise Refused("forbidden", f"this case is assigned to {case.department_id or 'no department'}; "
                                   f"{actor_department} may act only on its own cases")
    if case.status not in rule.states:
        if case.status in FINAL:
            raise Refused("conflict", f"the case is {case.status} ({STATES[case.status]}): nothing more can be done")
        raise Refused("conflict", f"cannot {action} ({rule.label}) a case that is {case.status} "
                                  f"({STATES.get(case.status, '?')}); {action} applies to "
                                  f"{', '.join(rule.states)}")
    if rule.pending is not None and case.pending != rule.pending:
        raise Refused("conflict", f"there is no pending {rule.pending} request to answer"
                      + (f" (pending: {case.pending})" if case.pending else ""))
    if action.startswith("request_"):
        if case.pending is not None:
            raise Refused("conflict", f"a {case.pending} request is already waiting for the dispatcher")
        if action == "request_return" and case.arbitrated:
            raise Refused("conflict", "the shift chief assigned this case by arbitration: it cannot be returned")
    return rule


def bounce_reason(returned_by: tuple[str, ...], dispatch_count: int) -> str | None:
    """Why a returned case must go to arbitration, or None when the dispatcher may re-dispatch."""
    distinct = list(dict.fromkeys(returned_by))
    if len(distinct) >= BOUNCE_RETURNERS:
        return f"returned by {len(distinct)} departments ({', '.join(distinct)})"
    if dispatch_count + 1 >= BOUNCE_DISPATCHES:
        return f"dispatched {dispatch_count} times already; a further dispatch goes to arbitration"
    return None


def decide(case: CaseState, action: str, role: str, params: Mapping | None = None,
           actor_department: str | None = None, known_departments=None) -> Outcome:
    """Apply `action` by `role` to the case; the Outcome or Refused.

    params: reason (required where the rule says so), department (dispatch, arbitrate),
    note and photos (finish), amount (request_extension, e.g. "4wh"), result 'pass'|'fail' (verify).
    known_departments: ids a case may be dispatched to (None: not checked).
    """
    params = dict(params or {})
    rule = _check(case, action, role, actor_department)
    reason = params.get("reason")
    if reason is not None and (not isinstance(reason, str) or not reason.strip()):
        raise Refused("invalid", "reason must be a non-empty text", "reason")
    if rule.needs_reason and not reason:
        raise Refused("invalid", f"{action} ({rule.label}) needs a reason", "reason")
    base = {"reason": reason} if reason else {}
    st, dept, pending, resume = case.status, case.department_id, case.pending, case.resume_status

    def out(status, events, *, department=dept, pending_=pending, resume_=resume):
        return Outcome(status=status, department_id=department, pending=pending_, resume_status=resume_,
                       events=tuple(events), final=status in FINAL)

    if action == "accept":
        return out(ACCEPTED, [("accepted", base)])
    if action == "reject":
        return out(REJECTED, [("rejected", base)])
    if action == "register":
        return out(REGISTERED, [("registered", base)])
    if action == "void":
        return out(VOIDED, [("voided", {**base, "from": st})])
    if action in ("dispatch", "arbitrate"):
        target = params.get("department")
        if not isinstance(target, str) or not target:
            raise Refused("invalid", f"{action} needs the department to send the case to", "department")
        if known_departments is not None and target not in known_departments:
            raise Refused("invalid", f"unknown department {target!r}", "department")
        if action == "dispatch":
            detail = {**base, "department": target, "count": case.dispatch_count + 1}
            for k in ("proposal", "second_choice"):
                if params.get(k):
                    detail[k] = params[k]
            return out(DISPATCHED, [("dispatched", detail)], department=target, pending_=None)
        return out(DISPATCHED, [("arbitrated", {**base, "department": target})], department=target, pending_=None)
    if action == "start":
        return out(HANDLING, [("started", base)])
    if action == "finish":
        note = params.get("note")
        if not isinstance(note, str) or not note.strip():
            raise Refused("invalid", "finish needs a result note (what was done)", "note")
        photos = params.get("photos", [])
        if not isinstance(photos, list) or not all(isinstance(p, str) and p for p in photos):
            raise Refused("invalid", "photos must be a list of photo references (URLs or file ids)", "photos")
        return out(FINISHED, [("finished", {**base, "note": note.strip(), "photos": photos})], pending_=None)
    if action == "request_return":
        return out(st, [("return_requested", base)], pending_="return")
    if action == "request_extension":
        amount = params.get("amount")
        try:
            d = parse_duration(amount)
        except ValueError as e:
            raise Refused("invalid", f"amount: {e}", "amount") from None
        if d.unit == "h" and not case.emergency:
            raise Refused("invalid", "amount: extensions of ordinary cases are in working time (wh or wd)", "amount")
        return out(st, [("extension_requested", {**base, "amount": str(d)})], pending_="extension")
    if action == "request_park":
        return out(st, [("park_requested", base)], pending_="park")
    if action == "approve_return":
        returned = case.returned_by + ((dept,) if dept else ())
        events = [("return_approved", {**base, "department": dept})]
        why = None if case.arbitrated else bounce_reason(returned, case.dispatch_count)
        if why:
            events.append(("arbitration", {"reason": why, "returned_by": list(dict.fromkeys(returned)),
                                           "dispatches": case.dispatch_count}))
            return out(ARBITRATION, events, pending_=None)
        return out(REGISTERED, events, pending_=None)
    if action in ("refuse_return", "refuse_extension", "refuse_park"):
        kind = action.split("_", 1)[1]
        return out(st, [(f"{kind}_refused", base)], pending_=None)
    if action == "approve_extension":
        amount = params.get("amount")
        if amount is not None:
            try:
                amount = str(parse_duration(amount))
            except ValueError as e:
                raise Refused("invalid", f"amount: {e}", "amount") from None
        return out(st, [("extension_approved", {**base, "amount": amount or params.get("requested")})],
                   pending_=None)
    if action == "approve_park":
        return out(PARKED, [("parked", base)], pending_=None, resume_=st)
    if action == "resume":
        return out(resume or DISPATCHED, [("resumed", base)], resume_=None)
    if action == "verify":
        result = params.get("result")
        if result not in ("pass", "fail"):
            raise Refused("invalid", "verify needs result 'pass' or 'fail'", "result")
        if result == "pass":
            return out(VERIFIED, [("verified", {**base, "passed": True})])
        if not reason:
            raise Refused("invalid", "a failed verification needs a reason (what is still wrong)", "reason")
        return out(DISPATCHED, [("verified", {**base, "passed": False}),
                                ("rework", {"department": dept, "reason": reason})])
    if action == "close":
        return out(CLOSED, [("closed", base)])
    raise Refused("invalid", f"unknown action {action!r}", "action")  # pragma: no cover - ACTIONS covers all


def initial_status(channel: str, emergency: bool) -> str:
    """Where intake puts a new case: emergencies are dispatched at once, an inspector's report
    waits for registration (the inspector saw it), a citizen's report waits for the operator."""
    if emergency:
        return DISPATCHED
    if channel == "inspector":
        return ACCEPTED
    return OPEN


def duplicate_status(status: str) -> str:
    """The duplicate decider knows 'open' and 'closed': a final case is closed for it (a new
    report of the problem becomes a new case), every other state is open (the report merges)."""
    return "closed" if status in FINAL else "open"


def transitions_table() -> list[tuple[str, str, str, str]]:
    """(action, roles, from states, result) rows for documentation and the report."""
    results = {
        "accept": ACCEPTED, "reject": REJECTED, "register": REGISTERED, "void": VOIDED,
        "dispatch": DISPATCHED, "start": HANDLING, "finish": FINISHED,
        "request_return": "(same; pending return)", "request_extension": "(same; pending extension)",
        "request_park": "(same; pending park)", "approve_return": f"{REGISTERED}, or {ARBITRATION} when bounced",
        "refuse_return": "(same)", "approve_extension": "(same; limit extended)", "refuse_extension": "(same)",
        "approve_park": PARKED, "refuse_park": "(same)", "resume": "(state before parking)",
        "verify": f"pass: {VERIFIED}; fail: {DISPATCHED} (rework, same department)", "close": CLOSED,
        "arbitrate": f"{DISPATCHED} (no further return)",
    }
    return [(a, "/".join(r.roles), ", ".join(r.states), results[a]) for a, r in ACTIONS.items()]
