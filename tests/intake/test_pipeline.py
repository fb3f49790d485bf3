"""The pipeline end to end through the API: merging, confirmation, scope, emergencies, hot issues."""
from __future__ import annotations

from tests.intake.helpers import count_rows


def post(env, **fields):
    """POST one report; returns the answer body (asserting it was accepted)."""
    status, body = env.call("POST", "/api/v1/reports", fields)
    assert status in (200, 201), body
    return body


def test_two_citizens_on_one_overflowing_bin_make_one_case(api_env):
    """The same problem in other words through another channel joins the first case."""
    a = post(api_env, channel="12345", external_id="h-1", received_at="2026-11-27T07:15:00+08:00",
             text="市民来电反映：三井菜场门口的垃圾桶满了，垃圾都溢出来了，臭味很大，请相关部门及时清运。",
             caller="13915000001")
    b = post(api_env, channel="sms", external_id="s-1", received_at="2026-11-27T07:31:00+08:00",
             text="三井菜场东边垃圾箱又满了 到处都是 能不能早点来收", caller="13915000002")
    assert a["outcome"] == "opened"
    assert b["outcome"] == "merged" and b["duplicate_of"] == a["case"]["id"] == b["case"]["id"]
    _, case = api_env.call("GET", f"/api/v1/cases/{a['case']['id']}")
    assert case["report_count"] == 2
    assert set(case["channels"]) == {"12345", "sms"}
    assert [e["kind"] for e in case["history"]].count("report_merged") == 1


def test_same_place_different_problem_is_a_new_case(api_env):
    """A broken street light at the market is not the overflowing bin at the market."""
    a = post(api_env, channel="sms", external_id="s-1", received_at="2026-11-27T07:31:00+08:00",
             text="三井菜场门口垃圾桶满了溢出来了")
    b = post(api_env, channel="web", external_id="w-1", received_at="2026-11-27T09:00:00+08:00",
             text="三井菜场门口的路灯坏了，晚上一片漆黑，好几天都不亮了")
    assert b["outcome"] == "opened" and b["case"]["id"] != a["case"]["id"]


def test_inspector_after_citizens_confirms_their_case(api_env):
    """An inspector's report of a problem citizens reported confirms their case instead of opening another."""
    a = post(api_env, channel="12345", external_id="h-9", received_at="2026-11-27T10:00:00+08:00",
             text="来电人称：新龙生态林南边的草地上被人倒了一大堆垃圾，还有建筑垃圾，没人清理。")
    b = post(api_env, channel="inspector", external_id="i-9", received_at="2026-11-27T11:00:00+08:00",
             text="绿地内堆放建筑垃圾及生活垃圾", code="06017", address="新龙生态林南侧绿地")
    assert b["outcome"] == "merged" and b["case"]["id"] == a["case"]["id"]
    _, case = api_env.call("GET", f"/api/v1/cases/{a['case']['id']}")
    assert case["inspector_confirmed"] is True
    assert case["code"] == "06017", "an inspector's code is authoritative"
    kinds = [e["kind"] for e in case["history"]]
    assert "confirmed_by_inspector" in kinds


def test_out_of_scope_opens_no_case_and_names_the_agency(api_env):
    """Unpaid wages are not city management: stored, answered with the agency, no case."""
    body = post(api_env, channel="12345", external_id="h-w", text="市民来电反映：公司拖欠工资三个月未发，多次讨要无果，请求帮助追讨。")
    assert body["outcome"] == "out_of_scope"
    assert body["case"] is None
    assert body["classification"]["out_of_scope"] is True and body["classification"]["agency"]
    assert count_rows(api_env.app.engine, "reports") == 1
    assert count_rows(api_env.app.engine, "cases") == 0


def test_an_emergency_is_flagged_routed_to_the_emergency_chain(api_env):
    """Someone fell into an open manhole: outcome emergency, flagged case, still a matter code."""
    body = post(api_env, channel="110", external_id="110-1",
                text="110转办：报警人称东南花苑门口有一处下水道井盖没有了，一名老人不慎掉入，已被路人救起，请相关部门立即处理。")
    assert body["outcome"] == "emergency"
    assert body["classification"]["emergency"] is True
    assert body["classification"]["code"].startswith("01")
    emergency_units = {d.id for d in api_env.config.departments.values() if d.kind == "emergency"}
    assert body["department"] in emergency_units
    _, case = api_env.call("GET", f"/api/v1/cases/{body['case']['id']}")
    assert case["emergency"] is True and "emergency" in [e["kind"] for e in case["history"]]


def test_three_reports_in_three_days_make_a_hot_issue(api_env):
    """The third report of one problem within three days flags the case hot."""
    texts = ["香槟湖小区外面的绿化带被人挖了种菜", "世茂香槟湖外围绿地被毁了种上了蔬菜，希望管一管",
             "喂 那个 香槟湖外边的草坪 被人挖掉种菜了 你们管管"]
    bodies = [post(api_env, channel=ch, external_id=f"x-{i}", received_at=f"2026-11-2{5 + i}T10:00:00+08:00", text=t)
              for i, (ch, t) in enumerate(zip(["web", "sms", "12345"], texts))]
    case_ids = {b["case"]["id"] for b in bodies}
    assert len(case_ids) == 1
    _, case = api_env.call("GET", f"/api/v1/cases/{case_ids.pop()}")
    assert case["hot"] is True
    assert "flagged_hot" in [e["kind"] for e in case["history"]]


def test_coordinates_place_a_report_in_its_grid(api_env):
    """lng/lat inside a unit grid decide grid, community and street."""
    grid = next(iter(api_env.config.district.grids.values()))
    lng, lat = grid.centroid
    body = post(api_env, channel="inspector", external_id="i-geo", code="06042", text="垃圾箱满溢", lng=lng, lat=lat)
    assert body["location"]["grid"] == grid.id
    assert body["location"]["community"] == grid.community_code
    assert body["location"]["street"] == api_env.config.district.streets[grid.street_code].name


def test_an_emergency_merged_into_a_waiting_case_sends_it_to_the_emergency_chain(api_env):
    """A cover reported missing, then someone falls in: the waiting case is dispatched to the emergency unit."""
    a = post(api_env, channel="sms", external_id="s-cover", received_at="2026-11-27T08:00:00+08:00",
             text="东南花苑门口的下水道井盖没有了，晚上很危险")
    assert a["outcome"] == "opened" and a["classification"]["emergency"] is False
    b = post(api_env, channel="110", external_id="110-cover", received_at="2026-11-27T09:00:00+08:00",
             text="110转办：报警人称东南花苑门口下水道井盖缺失，一名老人不慎掉入井中，请相关部门立即处理。")
    assert b["classification"]["emergency"] is True
    assert b["case"]["id"] == a["case"]["id"], b["reasons"]
    emergency_units = {d.id for d in api_env.config.departments.values() if d.kind == "emergency"}
    _, case = api_env.call("GET", f"/api/v1/cases/{a['case']['id']}")
    assert case["emergency"] is True
    assert case["status"] == "dispatched"
    assert case["department"] in emergency_units
    kinds = [e["kind"] for e in case["history"]]
    assert kinds.count("dispatched") == 1 and "emergency" in kinds


def test_an_emergency_merged_into_a_worked_case_keeps_its_department_and_records_the_alert(api_env):
    """A case already with a department stays there; the emergency flag and the alert are recorded."""
    a = post(api_env, channel="sms", external_id="s-cover2", received_at="2026-11-27T08:00:00+08:00",
             text="东南花苑门口的下水道井盖没有了，晚上很危险")
    case_id = a["case"]["id"]
    # Move the case on to a department the way the loop does (accept, register, dispatch).
    for action, role in (("accept", "operator"), ("register", "shift_chief"), ("dispatch", "dispatcher")):
        status, body = api_env.call("POST", f"/api/v1/cases/{case_id}/actions", {"action": action}, role=role)
        assert status == 200, (action, body)
    _, worked = api_env.call("GET", f"/api/v1/cases/{case_id}")
    assert worked["status"] == "dispatched"
    b = post(api_env, channel="110", external_id="110-cover2", received_at="2026-11-27T09:00:00+08:00",
             text="110转办：报警人称东南花苑门口下水道井盖缺失，一名老人不慎掉入井中，请相关部门立即处理。")
    assert b["case"]["id"] == case_id and b["classification"]["emergency"] is True
    _, case = api_env.call("GET", f"/api/v1/cases/{case_id}")
    assert case["emergency"] is True
    assert case["status"] == "dispatched" and case["department"] == worked["department"]
    alert = [e for e in case["history"] if e["kind"] == "emergency"]
    assert len(alert) == 1 and alert[0]["detail"]["escalated"] is False and alert[0]["detail"]["alert"]
    assert [e["kind"] for e in case["history"]].count("dispatched") == 1
