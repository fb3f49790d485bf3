"""The HTTP API contract: reports in, answers out, every bad input refused with the field named."""
from __future__ import annotations

import pytest

from tests.intake.helpers import count_rows

GOOD = {"channel": "sms", "external_id": "sms-1", "text": "三井菜场门口的垃圾桶满了，垃圾都溢出来了",
        "caller": "13900000001"}


def test_new_report_opens_a_case_with_a_number_and_reasons(api_env):
    """A citizen's SMS becomes a stored report, a case with a database-issued number, and reasons."""
    status, body = api_env.call("POST", "/api/v1/reports", GOOD)
    assert status == 201
    assert body["outcome"] == "opened"
    assert body["case"]["number"].startswith("2026")
    assert body["classification"]["code"] and len(body["classification"]["code"]) == 5
    assert body["classification"]["model_version"]
    assert body["location"]["street"] == "三井街道"
    assert body["department"]
    assert body["reasons"], "every decision says why"
    assert body["replayed"] is False


def test_retry_returns_the_first_answer_and_creates_nothing(api_env):
    """(channel, external_id) makes intake idempotent: a retry answers 200 with the same body."""
    s1, first = api_env.call("POST", "/api/v1/reports", GOOD)
    changed = dict(GOOD, text="完全不同的内容：路灯不亮")
    s2, again = api_env.call("POST", "/api/v1/reports", changed)
    assert (s1, s2) == (201, 200)
    assert again["report_id"] == first["report_id"]
    assert again["case"] == first["case"]
    assert again["replayed"] is True
    assert count_rows(api_env.app.engine, "reports") == 1
    assert count_rows(api_env.app.engine, "cases") == 1


def test_same_external_id_on_another_channel_is_another_report(api_env):
    """Idempotency is per channel: web's id 1 and sms's id 1 are different reports."""
    api_env.call("POST", "/api/v1/reports", GOOD)
    status, body = api_env.call("POST", "/api/v1/reports", dict(GOOD, channel="web"))
    assert status == 201 and body["replayed"] is False
    assert count_rows(api_env.app.engine, "reports") == 2


@pytest.mark.parametrize("body,field", [
    ({"external_id": "x", "text": "路灯不亮"}, "channel"),
    (dict(GOOD, channel="fax"), "channel"),
    (dict(GOOD, channel=12345), "channel"),
    ({"channel": "sms", "text": "路灯不亮"}, "external_id"),
    (dict(GOOD, external_id=""), "external_id"),
    (dict(GOOD, external_id=17), "external_id"),
    (dict(GOOD, external_id="x" * 129), "external_id"),
    ({"channel": "sms", "external_id": "x"}, "text"),
    (dict(GOOD, text=""), "text"),
    (dict(GOOD, text="   \n "), "text"),
    (dict(GOOD, text=["路灯"]), "text"),
    (dict(GOOD, text="井" * 4001), "text"),
    (dict(GOOD, text="路灯\x00不亮"), "text"),
    (dict(GOOD, received_at="yesterday"), "received_at"),
    (dict(GOOD, received_at=20261127), "received_at"),
    (dict(GOOD, caller=13900000001), "caller"),
    (dict(GOOD, street="火星街道"), "street"),
    (dict(GOOD, code="6042"), "code"),
    (dict(GOOD, code="99999"), "code"),
    (dict(GOOD, lng=200.0, lat=31.9), "lng"),
    (dict(GOOD, lng=119.9), "lat"),
    (dict(GOOD, lng="119.9", lat=31.9), "lng"),
    (dict(GOOD, priority="high"), "priority"),
])
def test_bad_fields_are_refused_naming_the_field(api_env, body, field):
    """Wrong types, unknown channel, empty/oversized text, unknown fields: 400 naming the field; nothing stored."""
    status, out = api_env.call("POST", "/api/v1/reports", body)
    assert status == 400
    assert out["field"] == field
    assert field in out["error"]
    assert any(e["field"] == field for e in out["errors"])
    assert count_rows(api_env.app.engine, "reports") == 0
    assert count_rows(api_env.app.engine, "cases") == 0


def test_every_problem_is_listed_at_once(api_env):
    """Several faults in one body come back together, so a sender fixes them in one go."""
    status, out = api_env.call("POST", "/api/v1/reports", {"channel": "fax", "text": "", "colour": 1})
    assert status == 400
    assert {e["field"] for e in out["errors"]} == {"channel", "external_id", "text", "colour"}


@pytest.mark.parametrize("raw,status,needle", [
    (b"{not json", 400, "invalid JSON"),
    (b"", 400, "empty"),
    (b"[1, 2]", 400, "JSON object"),
    ('{"channel": "sms", "external_id": "a", "text": "路灯"}'.encode("gb18030"), 400, "UTF-8"),
    (b'{"text": "' + b"x" * (70 * 1024) + b'"}', 413, "limit"),
])
def test_malformed_bodies_are_refused(api_env, raw, status, needle):
    """Invalid JSON, wrong encoding, a non-object, an oversized body: a clear 4xx JSON error."""
    got, out = api_env.call("POST", "/api/v1/reports", raw=raw)
    assert got == status
    assert out["field"] == "body"
    assert needle in out["error"]
    assert count_rows(api_env.app.engine, "reports") == 0


def test_non_json_content_type_is_refused(api_env):
    """A form post is not silently read as JSON."""
    status, out = api_env.call("POST", "/api/v1/reports", GOOD, content_type="application/x-www-form-urlencoded")
    assert status == 415 and out["field"] == "body"


def test_time_without_offset_is_read_in_the_deployment_zone(api_env):
    """received_at without an offset means Changzhou time, stored as the same instant."""
    status, body = api_env.call("POST", "/api/v1/reports", dict(GOOD, received_at="2026-11-27T08:30:00"))
    assert status == 201
    _, report = api_env.call("GET", f"/api/v1/reports/{body['report_id']}")
    assert report["received_at"].startswith("2026-11-27T00:30:00")


def test_get_report_shows_it_as_received_with_its_decision(api_env):
    """The stored report is the raw text, channel, external id, caller; decisions sit beside it."""
    _, body = api_env.call("POST", "/api/v1/reports", GOOD)
    status, r = api_env.call("GET", f"/api/v1/reports/{body['report_id']}")
    assert status == 200
    assert r["text"] == GOOD["text"] and r["channel"] == "sms" and r["external_id"] == "sms-1"
    assert r["caller"] == GOOD["caller"]
    d = r["decision"]
    assert d["model_version"] == body["classification"]["model_version"]
    assert d["code"] == body["classification"]["code"]
    assert d["duplicate_outcome"] == "new"
    assert d["department_id"] == body["department"]
    assert isinstance(d["candidates"], list) and len(d["candidates"]) >= 1


def test_get_case_by_id_and_number_with_reports_and_history(api_env):
    """A case shows its reports and its append-only history (opened, routed)."""
    _, body = api_env.call("POST", "/api/v1/reports", GOOD)
    s1, by_id = api_env.call("GET", f"/api/v1/cases/{body['case']['id']}")
    s2, by_number = api_env.call("GET", f"/api/v1/cases/{body['case']['number']}")
    assert s1 == s2 == 200
    assert by_id == by_number
    assert [r["id"] for r in by_id["reports"]] == [body["report_id"]]
    kinds = [e["kind"] for e in by_id["history"]]
    assert kinds[:2] == ["opened", "routed"]
    assert by_id["status"] == "open"


@pytest.mark.parametrize("path,status", [
    ("/api/v1/reports/999", 404), ("/api/v1/cases/999", 404), ("/api/v1/reports/abc", 400),
    ("/api/v1/nothing", 404),
])
def test_missing_things_are_404_and_bad_ids_400(api_env, path, status):
    """Unknown ids and paths answer in JSON with the right status."""
    got, out = api_env.call("GET", path)
    assert got == status and "error" in out


def test_wrong_method_is_405(api_env):
    """DELETE on reports is not allowed."""
    got, out = api_env.call("DELETE", "/api/v1/reports")
    assert got == 405 and "not allowed" in out["error"]


def _post_many(env):
    texts = [
        ("web", "w1", "薛家吾悦广场门口好多小摊摆到马路上卖早点", "2026-11-27T08:00:00+08:00"),
        ("sms", "s1", "华山路人行道上的井盖翘起来了", "2026-11-27T09:00:00+08:00"),
        ("12345", "h1", "市民来电反映：常州北站南广场路灯晚上不亮", "2026-11-28T10:00:00+08:00"),
    ]
    return [env.call("POST", "/api/v1/reports",
                 {"channel": c, "external_id": e, "text": t, "received_at": at})[1] for c, e, t, at in texts]


def test_list_cases_filters_and_pages(api_env):
    """Filters by street, code, date range; limit/offset paging with a total and next offset."""
    made = _post_many(api_env)
    status, page = api_env.call("GET", "/api/v1/cases", args={"limit": 2})
    assert status == 200 and page["total"] == 3 and len(page["items"]) == 2 and page["next_offset"] == 2
    _, rest = api_env.call("GET", "/api/v1/cases", args={"limit": 2, "offset": 2})
    assert len(rest["items"]) == 1 and rest["next_offset"] is None
    _, by_street = api_env.call("GET", "/api/v1/cases", args={"street": "薛家"})
    assert [c["street"] for c in by_street["items"]] == ["薛家镇"]
    code = made[1]["classification"]["code"]
    _, by_code = api_env.call("GET", "/api/v1/cases", args={"code": code})
    assert by_code["total"] >= 1 and all(c["code"] == code for c in by_code["items"])
    _, by_date = api_env.call("GET", "/api/v1/cases",
                      args={"from": "2026-11-28T00:00:00+08:00", "to": "2026-11-29T00:00:00+08:00"})
    assert by_date["total"] == 1 and by_date["items"][0]["id"] == made[2]["case"]["id"]
    _, by_status = api_env.call("GET", "/api/v1/cases", args={"status": "closed"})
    assert by_status["total"] == 0


@pytest.mark.parametrize("args,field", [
    ({"limit": 0}, "limit"), ({"limit": 1000}, "limit"), ({"offset": -1}, "offset"),
    ({"from": "soon"}, "from"), ({"street": "火星街道"}, "street"), ({"colour": "red"}, "colour"),
])
def test_list_cases_refuses_bad_filters(api_env, args, field):
    """Bad paging or filter values are 400 naming the parameter."""
    status, out = api_env.call("GET", "/api/v1/cases", args=args)
    assert status == 400 and out["field"] == field


def test_openapi_describes_every_route(api_env):
    """The OpenAPI document lists the API's paths and the report schema refuses unknown fields."""
    status, doc = api_env.call("GET", "/api/v1/openapi.json")
    assert status == 200 and doc["openapi"].startswith("3.")
    assert {"/api/v1/reports", "/api/v1/reports/{report_id}", "/api/v1/cases", "/api/v1/cases/{case_id}"} <= set(doc["paths"])
    schema = doc["components"]["schemas"]["ReportIn"]
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {"channel", "external_id", "text"}


def test_a_failure_inside_the_transaction_leaves_nothing_behind(api_env):
    """If deciding fails half-way, the report is not stored half-written: the whole transaction rolls back."""
    class Boom(Exception):
        pass

    def explode(*a, **k):
        raise Boom("decider failed")
    api_env.app.pipeline.decider.decide = explode
    status, out = api_env.call("POST", "/api/v1/reports", GOOD)
    assert status == 500 and "internal error" in out["error"]
    assert count_rows(api_env.app.engine, "reports") == 0
    assert count_rows(api_env.app.engine, "report_decisions") == 0


def test_openapi_lists_every_routed_operation(api_env):
    """Every route any API module registered appears in the served document with its method."""
    _, doc = api_env.call("GET", "/api/v1/openapi.json")
    for method, _regex, _handler, pattern in api_env.resource.routes:
        assert method.lower() in doc["paths"][pattern], (method, pattern)
