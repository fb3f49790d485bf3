"""The closed loop's state machine: every path, roles, illegal transitions, bounce detection."""
from __future__ import annotations

import pytest

from routing import workflow as wf
from routing.workflow import CaseState, Refused, decide


def run(steps, state=None):
    """Apply (action, role, params, actor_department) steps; returns the final state and all events."""
    state = state or CaseState(status=wf.OPEN, department_id="locality-sanjing")
    events = []
    for action, role, params, dept in steps:
        out = decide(state, action, role, params, actor_department=dept)
        events.extend(k for k, _ in out.events)
        dispatches = state.dispatch_count + sum(1 for k, _ in out.events if k == "dispatched")
        returned = state.returned_by + tuple(d["department"] for k, d in out.events if k == "return_approved")
        state = CaseState(status=out.status, department_id=out.department_id, pending=out.pending,
                          resume_status=out.resume_status, dispatch_count=dispatches, returned_by=returned,
                          arbitrated=state.arbitrated or any(k == "arbitrated" for k, _ in out.events))
    return state, events


DEPT = "locality-sanjing"
TO_DISPATCHED = [("accept", "operator", {}, None), ("register", "shift_chief", {}, None),
                 ("dispatch", "dispatcher", {"department": DEPT}, None)]


def test_the_straight_path_from_intake_to_close():
    """accept -> register -> dispatch -> start -> finish -> verify pass -> close."""
    state, events = run(TO_DISPATCHED + [
        ("start", "department", {}, DEPT),
        ("finish", "department", {"note": "已清运", "photos": ["p1.jpg"]}, DEPT),
        ("verify", "inspector", {"result": "pass"}, None),
        ("close", "shift_chief", {}, None)])
    assert state.status == wf.CLOSED
    assert events == ["accepted", "registered", "dispatched", "started", "finished", "verified", "closed"]


def test_reject_and_void_are_final_and_need_a_reason():
    """The operator rejects with a reason; the shift chief voids with a reason; nothing follows."""
    with pytest.raises(Refused) as e:
        decide(CaseState(wf.OPEN), "reject", "operator", {})
    assert e.value.kind == "invalid" and e.value.field == "reason"
    state, _ = run([("reject", "operator", {"reason": "不属于城管范围"}, None)])
    assert state.status == wf.REJECTED
    state, _ = run([("accept", "operator", {}, None), ("void", "shift_chief", {"reason": "重复"}, None)])
    assert state.status == wf.VOIDED
    for action in ("accept", "register", "close"):
        with pytest.raises(Refused, match="nothing more can be done"):
            decide(state, action, "admin", {"reason": "x"})


def test_return_approved_goes_back_to_the_dispatcher_and_is_redispatched():
    """A department returns with a reason; approved -> registered; dispatched again elsewhere."""
    state, events = run(TO_DISPATCHED + [
        ("request_return", "department", {"reason": "不属我单位"}, DEPT),
        ("approve_return", "dispatcher", {}, None),
        ("dispatch", "dispatcher", {"department": "sanitation"}, None)])
    assert state.status == wf.DISPATCHED and state.department_id == "sanitation"
    assert events[-3:] == ["return_requested", "return_approved", "dispatched"]
    assert state.returned_by == (DEPT,)


def test_refused_return_keeps_the_department_working():
    """A refused return clears the request; the state and department stay."""
    state, _ = run(TO_DISPATCHED + [("start", "department", {}, DEPT),
                                    ("request_return", "department", {"reason": "x"}, DEPT),
                                    ("refuse_return", "dispatcher", {"reason": "属地负责"}, None)])
    assert state.status == wf.HANDLING and state.pending is None and state.department_id == DEPT


def test_extension_request_and_approval_record_the_amount():
    """An extension needs a working-time amount; approval appends it (the deadline moves by it)."""
    state, _ = run(TO_DISPATCHED)
    with pytest.raises(Refused) as e:
        decide(state, "request_extension", "department", {"reason": "x", "amount": "soon"}, actor_department=DEPT)
    assert e.value.field == "amount"
    out = decide(state, "request_extension", "department", {"reason": "等待配件", "amount": "2wd"},
                 actor_department=DEPT)
    assert out.pending == "extension" and out.events[0][1]["amount"] == "2wd"
    pending = CaseState(status=out.status, department_id=DEPT, pending="extension")
    approved = decide(pending, "approve_extension", "dispatcher", {"requested": "2wd"})
    assert approved.events == (("extension_approved", {"amount": "2wd"}),) and approved.pending is None


def test_park_and_resume_return_to_the_state_before():
    """Parking stops the case in 'parked'; resuming brings back the state it was parked from."""
    state, events = run(TO_DISPATCHED + [("start", "department", {}, DEPT),
                                         ("request_park", "department", {"reason": "需立项资金"}, DEPT),
                                         ("approve_park", "dispatcher", {}, None)])
    assert state.status == wf.PARKED and state.resume_status == wf.HANDLING
    with pytest.raises(Refused):
        decide(state, "finish", "department", {"note": "x"}, actor_department=DEPT)
    state, _ = run([("resume", "dispatcher", {}, None)], state)
    assert state.status == wf.HANDLING and state.resume_status is None


def test_failed_verification_is_rework_by_the_same_department():
    """fail (with a reason) sends the case back to the same department as rework."""
    state, events = run(TO_DISPATCHED + [("start", "department", {}, DEPT),
                                         ("finish", "department", {"note": "done"}, DEPT)])
    with pytest.raises(Refused, match="reason"):
        decide(state, "verify", "inspector", {"result": "fail"})
    state, more = run([("verify", "inspector", {"result": "fail", "reason": "仍有垃圾"}, None)], state)
    assert state.status == wf.DISPATCHED and state.department_id == DEPT
    assert more == ["verified", "rework"]


@pytest.mark.parametrize("action", sorted(wf.ACTIONS))
def test_every_action_is_refused_to_a_role_that_may_not_do_it(action):
    """A role outside the rule is 403-kind refused before anything else is looked at."""
    rule = wf.ACTIONS[action]
    wrong = next(r for r in ("operator", "shift_chief", "dispatcher", "department", "inspector", "auditor")
                 if r not in rule.roles)
    state = CaseState(status=rule.states[0], department_id=DEPT, pending=rule.pending)
    with pytest.raises(Refused) as e:
        decide(state, action, wrong, {"reason": "x"}, actor_department=DEPT)
    assert e.value.kind == "forbidden" and wrong in e.value.message


@pytest.mark.parametrize("action,status", [
    ("close", wf.OPEN), ("dispatch", wf.ACCEPTED), ("finish", wf.DISPATCHED), ("verify", wf.HANDLING),
    ("register", wf.REGISTERED), ("resume", wf.HANDLING), ("start", wf.PARKED), ("arbitrate", wf.REGISTERED),
])
def test_illegal_transitions_are_refused_with_the_states_that_would_do(action, status):
    """Wrong state -> conflict naming the current state and where the action applies."""
    role = wf.ACTIONS[action].roles[0]
    with pytest.raises(Refused) as e:
        decide(CaseState(status=status, department_id=DEPT), action, role,
               {"reason": "x", "note": "n", "result": "pass", "department": DEPT}, actor_department=DEPT)
    assert e.value.kind == "conflict" and status in e.value.message


def test_a_department_acts_only_on_its_own_cases():
    """Another department's user is refused even with the right role."""
    state, _ = run(TO_DISPATCHED)
    with pytest.raises(Refused) as e:
        decide(state, "start", "department", {}, actor_department="power")
    assert e.value.kind == "forbidden" and "own cases" in e.value.message


def test_answers_need_a_pending_request_and_requests_do_not_stack():
    """Approving what nobody asked is refused; a second request waits for the first answer."""
    state, _ = run(TO_DISPATCHED)
    with pytest.raises(Refused, match="no pending return"):
        decide(state, "approve_return", "dispatcher", {})
    state, _ = run([("request_park", "department", {"reason": "x"}, DEPT)], state)
    with pytest.raises(Refused, match="already waiting"):
        decide(state, "request_return", "department", {"reason": "y"}, actor_department=DEPT)


def test_returned_by_two_departments_goes_to_arbitration_and_cannot_cycle_after():
    """Two departments return it: the shift chief arbitrates; the assigned one may not return it."""
    state, events = run(TO_DISPATCHED + [
        ("request_return", "department", {"reason": "不属我单位"}, DEPT),
        ("approve_return", "dispatcher", {}, None),
        ("dispatch", "dispatcher", {"department": "sanitation"}, None),
        ("request_return", "department", {"reason": "属地负责"}, "sanitation"),
        ("approve_return", "dispatcher", {}, None)])
    assert state.status == wf.ARBITRATION and events[-1] == "arbitration"
    with pytest.raises(Refused):
        decide(state, "dispatch", "dispatcher", {"department": DEPT})
    state, _ = run([("arbitrate", "shift_chief", {"department": "sanitation", "reason": "环卫处负责"}, None)], state)
    assert state.status == wf.DISPATCHED and state.department_id == "sanitation"
    with pytest.raises(Refused, match="arbitration"):
        decide(state, "request_return", "department", {"reason": "again"}, actor_department="sanitation")


def test_a_third_dispatch_goes_to_arbitration_even_from_one_department():
    """The same department returns twice: a third dispatch is not left to the dispatcher."""
    cycle = [("request_return", "department", {"reason": "x"}, DEPT), ("approve_return", "dispatcher", {}, None)]
    state, _ = run(TO_DISPATCHED + cycle + [("dispatch", "dispatcher", {"department": DEPT}, None)] + cycle)
    assert state.status == wf.ARBITRATION
    assert wf.bounce_reason((DEPT,), 1) is None
    assert "2 departments" in wf.bounce_reason((DEPT, "power"), 2)
    assert "dispatched 2 times" in wf.bounce_reason((DEPT, DEPT), 2)


def test_initial_states_and_the_duplicate_deciders_view():
    """Citizens' reports wait for the operator, inspectors' for registration, emergencies are dispatched;
    final states are 'closed' for duplicate matching, every other state 'open'."""
    assert wf.initial_status("sms", False) == wf.OPEN
    assert wf.initial_status("inspector", False) == wf.ACCEPTED
    assert wf.initial_status("12345", True) == wf.DISPATCHED
    assert {wf.duplicate_status(s) for s in wf.FINAL} == {"closed"}
    assert {wf.duplicate_status(s) for s in wf.ACTIVE} == {"open"}


def test_unknown_action_and_missing_dispatch_target_are_invalid():
    """Bad input gets a clear refusal naming the field."""
    with pytest.raises(Refused) as e:
        decide(CaseState(wf.OPEN), "teleport", "admin", {})
    assert e.value.field == "action"
    with pytest.raises(Refused) as e:
        decide(CaseState(wf.REGISTERED), "dispatch", "dispatcher", {}, known_departments={"power"})
    assert e.value.field == "department"
    with pytest.raises(Refused, match="unknown department"):
        decide(CaseState(wf.REGISTERED), "dispatch", "dispatcher", {"department": "nasa"}, known_departments={"power"})


def test_allowed_actions_and_transitions_table_cover_every_action():
    """The hints a caller gets, and the documentation table, agree with the rules."""
    state = CaseState(status=wf.DISPATCHED, department_id=DEPT)
    assert wf.allowed_actions(state, "department", DEPT) == ["start", "request_return", "request_extension",
                                                             "request_park"]
    assert wf.allowed_actions(state, "department", "power") == []
    assert [row[0] for row in wf.transitions_table()] == list(wf.ACTIONS)
