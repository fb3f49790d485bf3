"""Hot issues and recurring places for supervisors."""
from __future__ import annotations

from tests.intake.helpers import call

SAME = ["香槟湖小区外面的绿化带被人挖了种菜", "世茂香槟湖外围绿地被毁了种上了蔬菜，希望管一管",
        "喂 那个 香槟湖外边的草坪 被人挖掉种菜了 你们管管"]


def test_hot_issue_is_listed_with_its_reports(api_env):
    """Three reports of one problem in three days: the case is listed as a hot issue."""
    for i, (ch, text) in enumerate(zip(["web", "sms", "12345"], SAME)):
        api_env.call("POST", "/api/v1/reports", {"channel": ch, "external_id": f"h{i}", "text": text,
                                                 "received_at": f"2026-11-2{4 + i}T10:00:00+08:00"})
    api_env.call("POST", "/api/v1/reports", {"channel": "web", "external_id": "other", "text": "万达广场门口路灯不亮",
                                             "received_at": "2026-11-26T10:00:00+08:00"})
    status, body = api_env.call("GET", "/api/v1/hot-issues", role="shift_chief")
    assert status == 200
    assert [i["report_count"] for i in body["items"]] == [3]
    assert body["items"][0]["name"]


def test_recurring_places_list_grid_and_matter_with_several_cases(api_env):
    """The same matter at the same grid twice (after a close) appears with its recurrence count."""
    first = {"channel": "sms", "external_id": "r1", "text": "三井菜场门口垃圾桶满了溢出来了",
             "received_at": "2026-11-20T08:00:00+08:00"}
    _, a = api_env.call("POST", "/api/v1/reports", first)
    # close it the way replay does, then the same problem comes back
    from intake.db.pool import run_sync
    import datetime as dt
    run_sync(api_env.app.store.close_case_of_report(None, a["report_id"], dt.datetime(2026, 11, 20, 12, tzinfo=dt.timezone.utc)))
    _, b = api_env.call("POST", "/api/v1/reports", dict(first, external_id="r2", received_at="2026-11-22T08:00:00+08:00"))
    assert b["case"]["id"] != a["case"]["id"]
    status, body = api_env.call("GET", "/api/v1/recurring-places", role="auditor",
                                args={"from": "2026-11-01T00:00:00+08:00", "to": "2026-12-01T00:00:00+08:00"})
    assert status == 200
    rows = [r for r in body["items"] if r["code"] == a["classification"]["code"]]
    assert rows and rows[0]["cases"] == 2 and rows[0]["recurrences"] == 1


def test_hot_views_need_a_supervising_role(api_env):
    """A department or a channel cannot read the supervisors' lists; bad parameters name the field."""
    assert api_env.call("GET", "/api/v1/hot-issues", role="department:power")[0] == 403
    assert api_env.call("GET", "/api/v1/recurring-places", role="channel")[0] == 403
    assert call(api_env.resource, "GET", "/api/v1/hot-issues")[0] == 401
    status, body = api_env.call("GET", "/api/v1/recurring-places", role="shift_chief", args={"min_cases": 1})
    assert status == 400 and body["field"] == "min_cases"
