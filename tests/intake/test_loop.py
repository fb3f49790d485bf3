"""The closed loop through the API, with a token per role, on each database backend.

Reports come in through POST /api/v1/reports; every step after that is POST
/api/v1/cases/{id}/actions by the role that does it. The clock is the injected twisted Clock
(2026-11-27 09:00 in Changzhou, a Friday), advanced by the tests.
"""
from __future__ import annotations

import pytest

from tests.intake.helpers import call

SANJING_BIN = {"channel": "sms", "external_id": "loop-1", "text": "三井菜场门口的垃圾桶满了，垃圾都溢出来了",
               "caller": "13900000001"}
SANJING_BIN_AGAIN = {"channel": "12345", "external_id": "loop-2", "caller": "13900000002",
                     "text": "市民来电反映：三井菜场门口的垃圾桶满了，垃圾都溢出来了，很臭"}
EMERGENCY = {"channel": "110", "external_id": "loop-110",
             "text": "110转办：报警人称东南花苑门口有一处下水道井盖没有了，一名老人不慎掉入，已被路人救起，请相关部门立即处理。"}
SANJING = "department:locality-sanjing"
SANITATION = "department:sanitation"


@pytest.fixture
def env(api_env):
    """The core API plus the loop's routes on the same resource, department tokens and the watch."""
    from intake.auth import create_token_thd
    from intake.db.loop_store import LoopStore
    from intake.db.pool import run_sync
    from intake.http import loop_api
    from intake.loop_config import calendar_of, limits_of
    db = api_env.app.store.db
    for dept in ("sanitation", "emergency"):
        api_env.tokens[f"department:{dept}"] = run_sync(db.do(create_token_thd, f"test-{dept}", "department", dept))
    # api_env mounts every module of intake.app.API_MODULES, the loop's routes among them.
    assert any(pattern == "/api/v1/cases/{case_id}/actions" for _, _, _, pattern in api_env.resource.routes)
    api_env.watch = loop_api.OverdueWatch(LoopStore(db), limits_of(api_env.config), calendar_of(api_env.config),
                                          api_env.clock)
    return api_env


def act(env, case_id, role, action, expect=200, **params):
    """One action by `role`; asserts the status and returns the body."""
    status, body = env.call("POST", f"/api/v1/cases/{case_id}/actions", {"action": action, **params}, role=role)
    assert status == expect, body
    return body


def new_case(env, report=SANJING_BIN):
    """Post a citizen's report; the case id."""
    status, body = env.call("POST", "/api/v1/reports", report)
    assert status == 201, body
    return body["case"]["id"]


def to_dispatched(env, case_id, **dispatch):
    """accept, register, dispatch (to the router's proposal unless a department is given)."""
    act(env, case_id, "operator", "accept")
    act(env, case_id, "shift_chief", "register")
    return act(env, case_id, "dispatcher", "dispatch", **dispatch)


def history(env, case_id):
    """The case's history kinds."""
    _, c = env.call("GET", f"/api/v1/cases/{case_id}", role="shift_chief")
    return c


def test_full_path_to_close_with_receipts_results_public_note_and_satisfaction(env):
    """Two citizens report one problem: both get a receipt with the number at intake and the result
    at close; every step is recorded with who, when and why; the public lookup shows the result note."""
    case_id = new_case(env)
    status, merged = env.call("POST", "/api/v1/reports", SANJING_BIN_AGAIN)
    assert merged["outcome"] == "merged" and merged["case"]["id"] == case_id
    out = to_dispatched(env, case_id)
    assert out["case"]["department"] == "locality-sanjing" and out["proposal"]["primary"] == "locality-sanjing"
    env.clock.advance(1800)
    act(env, case_id, SANJING, "start")
    act(env, case_id, SANJING, "finish", note="已清运，垃圾桶已清洗", photos=["ph-1.jpg", "ph-2.jpg"])
    act(env, case_id, "inspector", "verify", result="pass")
    out = act(env, case_id, "shift_chief", "close")
    assert out["case"]["status"] == "closed"
    c = history(env, case_id)
    kinds = [e["kind"] for e in c["history"]]
    assert kinds[-7:] == ["accepted", "registered", "dispatched", "started", "finished", "verified", "closed"]
    finished = next(e for e in c["history"] if e["kind"] == "finished")
    assert finished["actor"] == "department:test-locality-sanjing" and finished["detail"]["photos"] == ["ph-1.jpg", "ph-2.jpg"]
    _, msgs = env.call("GET", "/api/v1/messages", args={"case": case_id}, role="operator")
    got = sorted((m["kind"], m["recipient"]) for m in msgs["items"])
    assert got == [("receipt", "13900000001"), ("receipt", "13900000002"),
                   ("result", "13900000001"), ("result", "13900000002")]
    assert all(c["number"] in m["text"] for m in msgs["items"])
    assert any("已清运" in m["text"] for m in msgs["items"] if m["kind"] == "result")
    _, pub = call(env.resource, "GET", f"/api/v1/public/cases/{c['number']}")
    assert pub["status"] == "closed" and pub["result"] == "已清运，垃圾桶已清洗"
    assert "1390000000" not in str(pub) and "test-" not in str(pub)
    status, body = env.call("POST", f"/api/v1/cases/{case_id}/satisfaction", {"answer": "satisfied"}, role="operator")
    assert status == 201 and body["label"] == "满意"
    status, body = env.call("POST", f"/api/v1/cases/{case_id}/satisfaction", {"answer": "dissatisfied"},
                            role="operator")
    assert status == 409 and "already" in body["error"]


def test_reject_with_reason_is_final_and_tells_the_reporter(env):
    """The operator rejects with a reason; the reporter is told; nothing else can follow."""
    case_id = new_case(env)
    body = act(env, case_id, "operator", "reject", expect=400)
    assert body["field"] == "reason"
    act(env, case_id, "operator", "reject", reason="私人小区内部事务，请联系物业")
    body = act(env, case_id, "shift_chief", "register", expect=409)
    assert "rejected" in body["error"]
    _, msgs = env.call("GET", "/api/v1/messages", args={"case": case_id, "kind": "result"}, role="operator")
    assert msgs["total"] == 1 and "不予受理" in msgs["items"][0]["text"]
    status, _ = env.call("POST", f"/api/v1/cases/{case_id}/satisfaction", {"answer": "satisfied"}, role="operator")
    assert status == 409


def test_void_by_the_shift_chief(env):
    """An accepted case is voided by the shift chief with a reason (a duplicate of a closed one)."""
    case_id = new_case(env)
    act(env, case_id, "operator", "accept")
    act(env, case_id, "operator", "void", expect=403, reason="dup")
    act(env, case_id, "shift_chief", "void", reason="与已结案件重复")
    c = history(env, case_id)
    assert c["status"] == "voided" and c["history"][-1]["detail"]["reason"] == "与已结案件重复"


def test_return_and_redispatch_to_the_second_choice(env):
    """The locality returns the case; the dispatcher approves; the next proposal is the router's
    second choice (the sanitation bureau), used when no department is named."""
    case_id = new_case(env)
    to_dispatched(env, case_id)
    act(env, case_id, SANJING, "request_return", reason="菜场内部垃圾桶由环卫处负责")
    out = act(env, case_id, "dispatcher", "approve_return")
    assert out["case"]["status"] == "registered"
    _, proposal = env.call("GET", f"/api/v1/cases/{case_id}/proposal", role="dispatcher")
    assert proposal["primary"] == "locality-sanjing" and proposal["fallback"] == "sanitation"
    out = act(env, case_id, "dispatcher", "dispatch")
    assert out["case"]["department"] == "sanitation" and out["events"][0]["detail"]["proposal"] == "sanitation"
    # The locality no longer sees or acts on it.
    act(env, case_id, SANJING, "start", expect=403)
    act(env, case_id, SANITATION, "start")


def test_extension_moves_the_deadline(env):
    """A 4-working-hour case: an approved extension of one working day moves the deadline a day on."""
    case_id = new_case(env)
    to_dispatched(env, case_id)
    _, before = env.call("GET", f"/api/v1/cases/{case_id}/timing", role="dispatcher")
    act(env, case_id, SANJING, "request_extension", reason="清运车辆检修", amount="1wd")
    _, pending = env.call("GET", f"/api/v1/cases/{case_id}/timing", role="dispatcher")
    assert pending["pending_request"] == "extension" and "approve_extension" in pending["allowed_actions"]
    act(env, case_id, "dispatcher", "approve_extension")
    _, after = env.call("GET", f"/api/v1/cases/{case_id}/timing", role="dispatcher")
    assert before["current"]["deadline"].startswith("2026-11-27T14:30")
    assert after["current"]["deadline"].startswith("2026-11-30T14:30")
    assert after["current"]["extension_hours"] == 7.5


def test_parking_stops_the_clock_and_resume_continues(env):
    """Parked cases do not age: a week parked leaves the light as it was; resume returns to handling."""
    case_id = new_case(env)
    to_dispatched(env, case_id)
    act(env, case_id, SANJING, "start")
    act(env, case_id, "dispatcher", "approve_park", expect=409)
    act(env, case_id, SANJING, "request_park", reason="需市级立项改造垃圾站")
    act(env, case_id, "dispatcher", "approve_park")
    env.clock.advance(7 * 86400)
    _, parked = env.call("GET", f"/api/v1/cases/{case_id}/timing", role="dispatcher")
    assert parked["status"] == "parked" and parked["current"]["light"] == "paused"
    assert parked["current"]["elapsed_hours"] == 0
    out = act(env, case_id, "dispatcher", "resume")
    assert out["case"]["status"] == "handling"


def test_failed_verification_is_rework_then_close(env):
    """fail -> the same department again (rework) -> finish -> pass -> close."""
    case_id = new_case(env)
    to_dispatched(env, case_id)
    act(env, case_id, SANJING, "start")
    act(env, case_id, SANJING, "finish", note="已清运")
    out = act(env, case_id, "inspector", "verify", result="fail", reason="地面仍有散落垃圾")
    assert out["case"]["status"] == "dispatched" and out["case"]["department"] == "locality-sanjing"
    assert [e["kind"] for e in out["events"]] == ["verified", "rework"]
    act(env, case_id, SANJING, "start")
    act(env, case_id, SANJING, "finish", note="已清扫地面")
    act(env, case_id, "inspector", "verify", result="pass")
    act(env, case_id, "shift_chief", "close")
    _, pub = call(env.resource, "GET", f"/api/v1/public/cases/{history(env, case_id)['number']}")
    assert pub["result"] == "已清扫地面"


@pytest.mark.parametrize("role,action,params,status,words", [
    ("dispatcher", "accept", {}, 403, "operator"),
    ("operator", "register", {}, 403, "shift_chief"),
    ("channel", "accept", {}, 403, "operator"),
    ("auditor", "close", {}, 403, "shift_chief"),
    ("shift_chief", "close", {}, 409, "cannot close"),
    ("operator", "teleport", {}, 400, "action"),
    ("operator", "accept", {"colour": "red"}, 400, "colour"),
])
def test_wrong_roles_and_illegal_transitions_are_refused_clearly(env, role, action, params, status, words):
    """403 names the role needed, 409 the state, 400 the field; nothing is recorded."""
    case_id = new_case(env)
    got, body = env.call("POST", f"/api/v1/cases/{case_id}/actions", {"action": action, **params}, role=role)
    assert got == status and words in (body["error"] + str(body.get("field"))), body
    assert history(env, case_id)["status"] == "open"


def test_actions_need_a_token_and_an_existing_case(env):
    """No token: 401; an unknown case: 404; a malformed id: 400."""
    case_id = new_case(env)
    status, _ = call(env.resource, "POST", f"/api/v1/cases/{case_id}/actions", {"action": "accept"})
    assert status == 401
    assert env.call("POST", "/api/v1/cases/999/actions", {"action": "accept"}, role="operator")[0] == 404
    assert env.call("POST", "/api/v1/cases/abc/actions", {"action": "accept"}, role="operator")[0] == 400


def test_another_department_can_neither_see_nor_act(env):
    """The power company's user gets 403 on a locality case's timing and actions."""
    case_id = new_case(env)
    to_dispatched(env, case_id)
    assert env.call("GET", f"/api/v1/cases/{case_id}/timing", role="department:power")[0] == 403
    body = act(env, case_id, "department:power", "start", expect=403)
    assert "own cases" in body["error"]


def test_bounce_goes_to_arbitration_with_history_and_stops_cycling(env):
    """Returned by the locality and by the sanitation bureau: the case waits for the shift chief with
    its whole history; after arbitration the assigned department cannot return it."""
    case_id = new_case(env)
    to_dispatched(env, case_id)
    act(env, case_id, SANJING, "request_return", reason="不属属地")
    act(env, case_id, "dispatcher", "approve_return")
    act(env, case_id, "dispatcher", "dispatch", department="sanitation")
    act(env, case_id, SANITATION, "request_return", reason="菜场由属地管理")
    out = act(env, case_id, "dispatcher", "approve_return")
    assert out["case"]["status"] == "arbitration"
    act(env, case_id, "dispatcher", "dispatch", expect=409, department="locality-sanjing")
    status, queue = env.call("GET", "/api/v1/arbitration", role="shift_chief")
    assert status == 200 and [i["id"] for i in queue["items"]] == [case_id]
    item = queue["items"][0]
    assert "2 departments" in item["reason"]
    assert [e["kind"] for e in item["history"]].count("return_approved") == 2
    act(env, case_id, "shift_chief", "arbitrate", department="sanitation", reason="菜场垃圾桶属环卫设施")
    body = act(env, case_id, SANITATION, "request_return", expect=409, reason="again")
    assert "arbitration" in body["error"]
    assert env.call("GET", "/api/v1/arbitration", role="shift_chief")[1]["total"] == 0
    assert env.call("GET", "/api/v1/arbitration", role="operator")[0] == 403


def test_overdue_watch_escalates_once_on_the_injected_clock(env):
    """The watch runs on the Clock: a dispatched 4-hour case is red after 5 working hours, gets one
    overdue and one escalation event, and shows in the shift chief's overdue list."""
    case_id = new_case(env)
    to_dispatched(env, case_id)
    env.watch.startService()
    try:
        assert env.watch.escalated == []
        env.clock.advance(3 * 3600)  # 12:00: 3 of 4 hours (75 %), green; lunch does not count
        _, timing = env.call("GET", f"/api/v1/cases/{case_id}/timing", role="shift_chief")
        assert timing["current"]["light"] == "green"
        env.clock.advance(6300)  # 13:45: 3 h 15 (81 %), yellow
        _, timing = env.call("GET", f"/api/v1/cases/{case_id}/timing", role="shift_chief")
        assert timing["current"]["light"] == "yellow" and env.watch.escalated == []
        env.clock.advance(8100)  # 16:00: 5.5 working hours, red
        assert env.watch.escalated == [case_id]
        env.clock.advance(600)
        env.clock.advance(600)
        kinds = [e["kind"] for e in history(env, case_id)["history"]]
        assert kinds.count("overdue") == 1 and kinds.count("escalated") == 1
        _, overdue = env.call("GET", "/api/v1/overdue", role="shift_chief")
        assert [(i["id"], i["step"], i["escalated"]) for i in overdue["items"]] == [(case_id, "handle", True)]
    finally:
        env.watch.stopService()


def test_emergency_is_dispatched_at_once_and_inspector_report_waits_for_registration(env):
    """An emergency skips the queue (registered and dispatched by the system to the emergency unit);
    an inspector's report starts accepted, waiting for the shift chief."""
    status, body = env.call("POST", "/api/v1/reports", EMERGENCY)
    c = history(env, body["case"]["id"])
    assert c["status"] == "dispatched" and c["department"] == "emergency"
    assert [e["kind"] for e in c["history"]][-2:] == ["registered", "dispatched"]
    act(env, c["id"], "department:emergency", "start")
    status, body = env.call("POST", "/api/v1/reports", {
        "channel": "inspector", "external_id": "insp-loop-1", "code": "06042",
        "text": "垃圾桶满溢，周边散落生活垃圾", "address": "三井农贸市场东侧垃圾箱"})
    assert history(env, body["case"]["id"])["status"] == "accepted"
    act(env, body["case"]["id"], "shift_chief", "register")


def test_messages_and_evaluation_are_for_the_right_roles(env):
    """The outbox holds phone numbers: not for departments; the evaluation needs a period."""
    case_id = new_case(env)
    assert env.call("GET", "/api/v1/messages", role=SANJING)[0] == 403
    _, msgs = env.call("GET", "/api/v1/messages", role="shift_chief")
    assert msgs["total"] == 1 and msgs["items"][0]["case_id"] == case_id
    status, body = env.call("GET", "/api/v1/evaluation", role="shift_chief")
    assert status == 400 and body["field"] in ("from", "to")
    assert env.call("GET", "/api/v1/evaluation", args={"from": "2026-11-27", "to": "2026-11-28"},
                    role="operator")[0] == 403


def test_evaluation_over_the_api_counts_a_walked_case(env):
    """One case walked to close by one chief and one dispatcher: each has 1 on-time action."""
    case_id = new_case(env)
    to_dispatched(env, case_id)
    act(env, case_id, SANJING, "start")
    act(env, case_id, SANJING, "finish", note="ok")
    act(env, case_id, "inspector", "verify", result="pass")
    act(env, case_id, "shift_chief", "close")
    status, ev = env.call("GET", "/api/v1/evaluation", args={"from": "2026-11-27", "to": "2026-11-28"},
                          role="shift_chief")
    assert status == 200 and ev["cases"] == 1
    chief = ev["shift_chiefs"][0]
    assert (chief["name"], chief["立案数"], chief["按时立案率"], chief["按时结案率"]) == \
        ("shift_chief:test-shift_chief", 1, 1.0, 1.0)
    assert chief["综合指标值"] == 100.0
    assert ev["departments"][0]["name"] == "locality-sanjing" and ev["departments"][0]["结案率"] == 1.0
    assert ev["streets"][0]["name"] == "三井街道"


def test_replayed_loop_day_leaves_every_state_and_report_prints_its_numbers(tmp_path, db_url):
    """intake/samples/loop-day.jsonl: every action line is applied (none refused), every state of the
    loop is present afterwards, and `hotline report` prints the tables and writes CSV, XLSX and PNG."""
    import json
    import subprocess
    import sys

    import openpyxl
    import sqlalchemy as sa

    from intake.db.pool import make_engine
    from routing import workflow as wf
    root = __import__("pathlib").Path(__file__).resolve().parents[2]
    sample = root / "intake" / "samples" / "loop-day.jsonl"
    out = subprocess.run([sys.executable, "-m", "intake.cli", "replay", str(sample), "--db", db_url], cwd=root,
                         capture_output=True, text=True, timeout=600, check=True)
    lines = [json.loads(x) for x in out.stdout.splitlines()]
    assert len(lines) == sum(1 for x in sample.read_text("utf-8").splitlines() if x.strip())
    refused = [x for x in lines if x["outcome"] == "rejected"]
    assert refused == [], refused
    engine = make_engine(db_url)
    try:
        with engine.connect() as c:
            states = dict(c.execute(sa.text("SELECT status, count(*) FROM cases GROUP BY status")).all())
            kinds = {k for (k,) in c.execute(sa.text("SELECT DISTINCT kind FROM case_events"))}
            messages = dict(c.execute(sa.text("SELECT kind, count(*) FROM outbound_messages GROUP BY kind")).all())
    finally:
        engine.dispose()
    assert set(states) == set(wf.STATES), states
    assert {"rework", "parked", "resumed", "extension_approved", "extension_refused", "return_refused",
            "arbitration", "arbitrated", "overdue", "escalated", "satisfaction"} <= kinds
    assert messages["receipt"] > 30 and messages["result"] >= 7
    report = subprocess.run([sys.executable, "-m", "intake.cli", "report", "--from", "2026-11-27", "--to",
                             "2026-12-01", "--db", db_url, "--out", str(tmp_path / "rep")], cwd=root,
                            capture_output=True, text=True, timeout=300, check=True)
    text = report.stdout
    for title in ("值班长", "派遣员", "专业部门", "监督员", "街道", "中心", "案件状态", "满意度"):
        assert f"== {title}" in text
    assert "shift_chief:chief-wang" in text and "dispatcher:dispatcher-li" in text
    written = {p.name for p in (tmp_path / "rep").iterdir()}
    assert {"shift_chiefs.csv", "streets.csv", "evaluation.xlsx", "departments.png", "states.png"} <= written
    wb = openpyxl.load_workbook(tmp_path / "rep" / "evaluation.xlsx")
    states_sheet = {r[0]: r[2] for r in wb["states"].iter_rows(min_row=2, values_only=True)}
    assert states_sheet == {s: states[s] for s in wf.STATES}


def test_report_refuses_a_backwards_period(tmp_path):
    """--to before --from is a clear error, not a traceback."""
    import subprocess
    import sys
    root = __import__("pathlib").Path(__file__).resolve().parents[2]
    res = subprocess.run([sys.executable, "-m", "intake.cli", "report", "--from", "2026-11-28", "--to", "2026-11-27",
                          "--db", f"sqlite:///{tmp_path / 'x.sqlite'}"], cwd=root, capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 1 and "--to must be after --from" in res.stderr


def test_outbox_seam_for_the_sms_gateway(env):
    """A gateway takes pending messages oldest first and marks them sent once; the API shows sent_at."""
    import datetime as dt

    from intake.db.loop_store import LoopStore
    from intake.db.pool import run_sync
    new_case(env)
    env.call("POST", "/api/v1/reports", SANJING_BIN_AGAIN)
    loop = LoopStore(env.app.store.db)
    pending = run_sync(loop.pending_messages())
    assert [m["recipient"] for m in pending] == ["13900000001", "13900000002"]
    at = dt.datetime(2026, 11, 27, 1, 5, tzinfo=dt.timezone.utc)
    assert run_sync(loop.mark_sent([pending[0]["id"]], at)) == 1
    assert run_sync(loop.mark_sent([pending[0]["id"]], at)) == 0
    assert [m["recipient"] for m in run_sync(loop.pending_messages())] == ["13900000002"]
    _, msgs = env.call("GET", "/api/v1/messages", role="operator")
    sent = {m["recipient"]: m["sent_at"] for m in msgs["items"]}
    assert sent["13900000001"].startswith("2026-11-27T01:05") and sent["13900000002"] is None


def test_replies_without_a_case_are_listed_with_the_others(env):
    """An SMS answer to an unknown case number belongs to no case; the message list still shows it."""
    import datetime as dt

    from intake.db.pool import run_sync
    from intake.db.sms_store import SmsStore
    case_id = new_case(env)
    at = dt.datetime(2026, 11, 27, 1, 10, tzinfo=dt.timezone.utc)
    run_sync(SmsStore(env.app.store.db).enqueue(recipient="13900000009", kind="reply",
                                                text="没有找到编号为 X 的案件", now=at))
    _, msgs = env.call("GET", "/api/v1/messages", role="operator")
    by_recipient = {m["recipient"]: m for m in msgs["items"]}
    assert msgs["total"] == len(msgs["items"]) == 2
    assert by_recipient["13900000009"]["case_id"] is None and by_recipient["13900000009"]["case_number"] is None
    assert by_recipient["13900000001"]["case_id"] == case_id
    _, replies = env.call("GET", "/api/v1/messages", args={"kind": "reply"}, role="operator")
    assert [m["recipient"] for m in replies["items"]] == ["13900000009"]
