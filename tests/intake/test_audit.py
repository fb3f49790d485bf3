"""The supervisor audit of classifications: queue, append-only reviews, accuracy, corrections export.

Decisions are written straight through the store with chosen codes and confidences, so every
number here is known by construction; the API is driven in-process with a token per role.
"""
from __future__ import annotations

import datetime as dt
import json

import pytest

from intake.auth import create_token_thd
from intake.db.pool import run_sync
from intake.models import DecisionRecord, IncomingReport
from intake.pipeline import audit_sample
from tests.intake.helpers import call, count_rows

# Where the api_env clock starts (tests/intake/conftest.py): 2026-11-27 09:00 in Changzhou.
NOW = dt.datetime(2026, 11, 27, 1, 0, tzinfo=dt.timezone.utc)


def put(env, ext, *, channel="sms", code="06042", confidence=0.9, oos=False, agency=None, model="m1",
        sampled=False, flagged=False, at=None, text=None, caller=None):
    """Store one report and its decision as the pipeline would, with the classification given here.

    needs_review follows the configured threshold (as the analyser's abstain does) or `flagged` (the
    duplicate check asking a person); audit_sampled is what the caller says (tests that check the
    sample compute it with intake.pipeline.audit_sample).
    """
    threshold = env.config.classifier.review_threshold
    at = at or NOW - dt.timedelta(hours=1)
    report = IncomingReport(channel=channel, external_id=ext, text=text or f"三井菜场门口的垃圾桶满了 {ext}",
                            received_at=at, caller=caller)
    cands = tuple({"code": c, "confidence": p} for c, p in
                  ((code or "06010", confidence), ("06010", 0.2), ("07001", 0.1), ("01001", 0.05)))
    decision = DecisionRecord(
        model_version=model, code=None if oos else code, code_name=None, confidence=confidence,
        abstain=confidence < threshold, candidates=cands, out_of_scope=oos, agency=agency if oos else None,
        emergency=False, classification_reasons=(f"matter {code} p={confidence:.2f}",), street="三井街道",
        community=None, grid=None, places=(), location_reasons=(), tokens=("垃圾桶",))
    query = {"grids": [], "community": None, "street": None, "places": [], "since": at, "closed_since": at}

    def plan(_rows):
        return {"outcome": "out_of_scope" if oos else "new", "needs_review": confidence < threshold or flagged,
                "audit_sampled": sampled, "reasons": ()}
    return run_sync(env.app.store.intake(report, decision, query, plan)).report_id


def user_token(env, name, role):
    """A token for another user of `role` (accuracy per operator needs more than one operator)."""
    return run_sync(env.app.store.db.do(create_token_thd, name, role))


def review(env, report_id, body, role="operator", token=None):
    """POST a review as `role` (or with an explicit token)."""
    if token is not None:
        return call(env.resource, "POST", f"/api/v1/reports/{report_id}/review", body, token=token)
    return env.call("POST", f"/api/v1/reports/{report_id}/review", body, role=role)


def sample_ids(channel, rate, want: bool, n: int):
    """External ids that intake's deterministic audit sample puts in (want=True) or leaves out."""
    out = [f"q-{i}" for i in range(5000) if audit_sample(channel, f"q-{i}", rate) == want]
    assert len(out) >= n
    return out[:n]


def test_queue_holds_low_confidence_and_sampled_reports_and_not_the_rest(api_env):
    """Below the threshold or in the configured audit sample: queued, newest first; confident and
    unsampled: not queued. Each item shows what the machine proposed and why it is there."""
    assert api_env.clock.seconds() == NOW.timestamp()
    rate = api_env.config.classifier.audit_sample_rate
    [in_sample] = sample_ids("sms", rate, True, 1)
    out_of_sample = sample_ids("sms", rate, False, 3)
    low = put(api_env, out_of_sample[0], confidence=0.31, at=NOW - dt.timedelta(hours=3), caller="13912345678")
    sampled = put(api_env, in_sample, confidence=0.93, sampled=audit_sample("sms", in_sample, rate),
                  at=NOW - dt.timedelta(hours=2))
    confident = put(api_env, out_of_sample[1], confidence=0.95, sampled=audit_sample("sms", out_of_sample[1], rate),
                    at=NOW - dt.timedelta(hours=1))
    oos_low = put(api_env, "oos-1", oos=True, agency="labour", confidence=0.4, at=NOW - dt.timedelta(minutes=30))
    asked = put(api_env, out_of_sample[2], confidence=0.9, flagged=True, at=NOW - dt.timedelta(hours=4))

    status, body = api_env.call("GET", "/api/v1/audit/queue", role="operator")
    assert status == 200
    assert [it["report_id"] for it in body["items"]] == [oos_low, sampled, low, asked]
    assert confident not in [it["report_id"] for it in body["items"]]
    assert body["total"] == 4
    assert body["review_threshold"] == api_env.config.classifier.review_threshold
    assert body["audit_sample_rate"] == rate
    by_id = {it["report_id"]: it for it in body["items"]}
    assert by_id[low]["queued_because"] == ["below_threshold"]
    assert by_id[sampled]["queued_because"] == ["audit_sample"]
    assert by_id[asked]["queued_because"] == ["flagged_at_intake"]
    item = by_id[low]
    assert item["proposed"]["code"] == "06042" and item["proposed"]["name"]
    assert item["confidence"] == 0.31 and item["model_version"] == "m1"
    assert [c["code"] for c in item["candidates"]] == ["06042", "06010", "07001"]
    assert all(c["name"] for c in item["candidates"])
    assert item["reasons"] == ["matter 06042 p=0.31"]
    assert item["caller"] == "13912345678"  # an operator calls the citizen back
    assert by_id[oos_low]["proposed"]["out_of_scope"] is True
    assert by_id[oos_low]["proposed"]["agency"] == "labour"

    _, audited = api_env.call("GET", "/api/v1/audit/queue", role="auditor")
    assert {it["report_id"]: it["caller"] for it in audited["items"]}[low] == "139****5678"

    status, page = api_env.call("GET", "/api/v1/audit/queue", role="shift_chief", args={"limit": 2, "offset": 1})
    assert status == 200
    assert [it["report_id"] for it in page["items"]] == [sampled, low] and page["next_offset"] == 3
    _, last = api_env.call("GET", "/api/v1/audit/queue", role="shift_chief", args={"limit": 2, "offset": 3})
    assert [it["report_id"] for it in last["items"]] == [asked] and last["next_offset"] is None
    _, web = api_env.call("GET", "/api/v1/audit/queue", args={"channel": "web"})
    assert web["total"] == 0 and web["items"] == []
    status, bad = api_env.call("GET", "/api/v1/audit/queue", args={"channel": "fax", "limit": 0})
    assert status == 400 and {e["field"] for e in bad["errors"]} == {"channel", "limit"}


def test_a_confirmation_takes_the_report_out_of_the_queue(api_env):
    """An operator confirming the proposed code needs no reason, is recorded as 'confirm' and the
    report leaves the queue; the case keeps its code."""
    rid = put(api_env, "c-1", confidence=0.3)
    other = put(api_env, "c-2", confidence=0.2)
    status, rv = review(api_env, rid, {"code": "06042"})
    assert status == 201
    assert rv["kind"] == "confirm" and rv["old"]["code"] == rv["new"]["code"] == "06042"
    assert rv["case"]["code_updated"] is False
    _, body = api_env.call("GET", "/api/v1/audit/queue")
    assert [it["report_id"] for it in body["items"]] == [other]


def test_corrections_and_overrides_are_appended_with_who_when_old_new_and_model(api_env):
    """An operator's correction then an auditor's override: two rows, each with reviewer, role, time,
    old and new code, model version and reason; the first row never changes; the case's code follows
    through 'code_corrected' events; an operator may not undo the audit."""
    rid = put(api_env, "o-1", confidence=0.35, model="m-2026.11")
    s1, first = review(api_env, rid, {"code": "06010", "reason": "桶满溢出属于垃圾收集容器"})
    assert s1 == 201
    assert first["kind"] == "correct" and first["reviewer"] == "test-operator" and first["role"] == "operator"
    assert (first["old"]["code"], first["new"]["code"]) == ("06042", "06010")
    assert first["model_version"] == "m-2026.11"
    assert first["at"] == NOW.isoformat()
    assert first["case"]["code_updated"] is True

    api_env.clock.advance(3600)
    s2, second = review(api_env, rid, {"code": "07001", "reason": "现场照片是小广告"}, role="auditor")
    assert s2 == 201
    assert second["kind"] == "override" and second["role"] == "auditor"
    assert (second["old"]["code"], second["new"]["code"]) == ("06010", "07001")
    assert second["at"] == (NOW + dt.timedelta(hours=1)).isoformat()

    status, trail = api_env.call("GET", f"/api/v1/reports/{rid}/reviews", role="shift_chief")
    assert status == 200
    assert trail["machine"]["code"] == "06042" and trail["final"]["code"] == "07001"
    assert [r["id"] for r in trail["reviews"]] == [first["id"], second["id"]]
    kept = {k: v for k, v in first.items() if k != "case"}
    assert trail["reviews"][0] == kept, "an earlier review is never rewritten"
    assert trail["reviews"][1]["reason"] == "现场照片是小广告"

    case_id = first["case"]["id"]
    _, case = api_env.call("GET", f"/api/v1/cases/{case_id}", role="shift_chief")
    assert case["code"] == "07001"
    corrections = [e for e in case["history"] if e["kind"] == "code_corrected"]
    assert [(e["detail"]["old"], e["detail"]["new"]) for e in corrections] == [("06042", "06010"), ("06010", "07001")]
    assert corrections[0]["detail"]["by"] == "operator:test-operator"
    assert corrections[1]["detail"]["reason"] == "现场照片是小广告"

    s3, refused = review(api_env, rid, {"code": "06042", "reason": "我觉得是满溢"})
    assert s3 == 409 and "audit" in refused["error"]
    assert count_rows(api_env.app.engine, "classification_reviews") == 2


def test_marking_the_opening_report_out_of_scope_keeps_the_case_code_and_says_so(api_env):
    """A case's code is a matter code: when the report that opened it is judged out of scope, the
    review is recorded, the case keeps its code and its history gets a 'review_out_of_scope' event
    for the shift chief (who voids cases)."""
    rid = put(api_env, "m-1", confidence=0.3)
    api_env.clock.advance(60)
    status, rv = review(api_env, rid, {"code": None, "agency": "labour", "reason": "讨薪，不属城管"})
    assert status == 201
    assert rv["new"]["out_of_scope"] is True and rv["new"]["agency"] == "labour"
    assert rv["case"]["code_updated"] is False and "out of scope" in rv["case"]["note"]
    _, case = api_env.call("GET", f"/api/v1/cases/{rv['case']['id']}", role="shift_chief")
    assert case["code"] == "06042"
    assert [e["kind"] for e in case["history"]][-1] == "review_out_of_scope"


def test_correcting_a_merged_report_leaves_the_case_code_to_the_report_that_opened_it(api_env):
    """A duplicate report merged into a case does not decide the case's code: its correction is
    recorded and the answer says why the case kept its code."""
    opener = put(api_env, "d-1", confidence=0.9)
    _, trail = api_env.call("GET", f"/api/v1/reports/{opener}", role="shift_chief")
    case_id = trail["decision"]["case_id"]
    at = NOW - dt.timedelta(minutes=10)
    report = IncomingReport(channel="sms", external_id="d-2", text="菜场门口垃圾桶又满了", received_at=at)
    decision = DecisionRecord(
        model_version="m1", code="06042", code_name=None, confidence=0.3, abstain=True,
        candidates=({"code": "06042", "confidence": 0.3},), out_of_scope=False, agency=None, emergency=False,
        classification_reasons=(), street="三井街道", community=None, grid=None, places=(), location_reasons=(),
        tokens=("垃圾桶",))
    query = {"grids": [], "community": None, "street": None, "places": [], "since": at, "closed_since": at}
    merged = run_sync(api_env.app.store.intake(report, decision, query, lambda _rows: {
        "outcome": "merge", "case_id": case_id, "needs_review": True, "audit_sampled": False})).report_id
    status, rv = review(api_env, merged, {"code": "06010", "reason": "满溢"})
    assert status == 201 and rv["kind"] == "correct"
    assert rv["case"] == {"id": case_id, "number": rv["case"]["number"], "code_updated": False,
                          "note": rv["case"]["note"]}
    assert "duplicate" in rv["case"]["note"]
    _, case = api_env.call("GET", f"/api/v1/cases/{case_id}", role="shift_chief")
    assert case["code"] == "06042"
    assert not [e for e in case["history"] if e["kind"] == "code_corrected"]


def test_a_correction_never_overwrites_an_inspectors_code_on_the_case(api_env):
    """When the case's code changed after intake (an inspector's authoritative code), correcting the
    opening report is recorded but the case keeps the inspector's code, and the answer says so."""
    opener = put(api_env, "i-1", confidence=0.3)
    _, got = api_env.call("GET", f"/api/v1/reports/{opener}", role="shift_chief")
    case_id = got["decision"]["case_id"]
    at = NOW - dt.timedelta(minutes=5)
    report = IncomingReport(channel="inspector", external_id="i-2", text="核实：小广告", received_at=at, code="07001")
    decision = DecisionRecord(
        model_version="m1", code="07001", code_name=None, confidence=1.0, abstain=False,
        candidates=(), out_of_scope=False, agency=None, emergency=False, classification_reasons=(),
        street="三井街道", community=None, grid=None, places=(), location_reasons=(), tokens=("小广告",))
    query = {"grids": [], "community": None, "street": None, "places": [], "since": at, "closed_since": at}
    run_sync(api_env.app.store.intake(report, decision, query, lambda _rows: {
        "outcome": "merge", "case_id": case_id, "needs_review": False, "audit_sampled": False}))
    status, rv = review(api_env, opener, {"code": "06010", "reason": "满溢"})
    assert status == 201
    assert rv["case"]["code_updated"] is False and "07001" in rv["case"]["note"]
    _, case = api_env.call("GET", f"/api/v1/cases/{case_id}", role="shift_chief")
    assert case["code"] == "07001"


@pytest.mark.parametrize("body,field", [
    ({"code": "06010"}, "reason"),
    ({"code": "06010", "reason": "   "}, "reason"),
    ({"code": "99999", "reason": "x"}, "code"),
    ({"code": 6010, "reason": "x"}, "code"),
    ({"reason": "x"}, "code"),
    ({"code": None, "reason": "not ours"}, "agency"),
    ({"code": None, "agency": "nobody", "reason": "x"}, "agency"),
    ({"code": "06010", "agency": "labour", "reason": "x"}, "agency"),
    ({"code": "06010", "out_of_scope": True, "reason": "x"}, "out_of_scope"),
    ({"code": None, "out_of_scope": False, "reason": "x"}, "code"),
    ({"code": "06010", "reason": 5}, "reason"),
    ({"code": "06010", "reason": "x" * 1001}, "reason"),
    ({"code": "06042", "confidence": 1}, "confidence"),
])
def test_bad_reviews_are_refused_naming_the_field(api_env, body, field):
    """A change without a reason, an unknown code or agency, contradictory scope, unknown fields:
    400 naming the field, and no review row."""
    rid = put(api_env, "b-1", confidence=0.3)
    status, out = review(api_env, rid, body)
    assert status == 400, out
    assert out["field"] == field and field in out["error"]
    assert count_rows(api_env.app.engine, "classification_reviews") == 0


def test_reviewing_a_missing_report_is_404(api_env):
    """A review (or the trail) of a report that does not exist: 404 naming it; an id that is not a
    number: 400 naming report_id."""
    status, out = review(api_env, 999, {"code": "06042"})
    assert status == 404 and "999" in out["error"]
    status, out = review(api_env, "abc", {"code": "06042"})
    assert status == 400 and out["field"] == "report_id"
    status, out = api_env.call("GET", "/api/v1/reports/999/reviews", role="auditor")
    assert status == 404 and "999" in out["error"]


@pytest.mark.parametrize("method,path,role", [
    ("GET", "/api/v1/audit/queue", "dispatcher"),
    ("GET", "/api/v1/audit/queue", "channel"),
    ("GET", "/api/v1/audit/queue", "department:power"),
    ("POST", "/api/v1/reports/{rid}/review", "channel"),
    ("POST", "/api/v1/reports/{rid}/review", "dispatcher"),
    ("POST", "/api/v1/reports/{rid}/review", "inspector"),
    ("GET", "/api/v1/reports/{rid}/reviews", "department:power"),
    ("GET", "/api/v1/audit/accuracy", "operator"),
    ("GET", "/api/v1/audit/accuracy", "dispatcher"),
])
def test_wrong_roles_get_403_and_change_nothing(api_env, method, path, role):
    """Only operators and supervisors work the queue and review; only supervisors read accuracy."""
    rid = put(api_env, "r-1", confidence=0.3)
    status, out = api_env.call(method, path.format(rid=rid), {"code": "06010", "reason": "x"}, role=role)
    assert status == 403 and "needs" in out["error"]
    assert count_rows(api_env.app.engine, "classification_reviews") == 0


def build_accuracy_set(env):
    """Eight reports with known outcomes (see test_accuracy_*): six reviewed in the period, one never
    reviewed, one reviewed but decided before the period. Returns the period's query args."""
    alice = user_token(env, "alice", "operator")
    bob = user_token(env, "bob", "operator")
    h = lambda n: NOW - dt.timedelta(hours=n)  # noqa: E731 - a short local helper
    r1 = put(env, "a1", channel="sms", code="06042", confidence=0.9, model="m1", sampled=True, at=h(8))
    r2 = put(env, "a2", channel="sms", code="06042", confidence=0.3, model="m1", sampled=True, at=h(7))
    r3 = put(env, "a3", channel="web", code="06010", confidence=0.9, model="m1", sampled=True, at=h(6))
    r4 = put(env, "a4", channel="web", code="06010", confidence=0.4, model="m2", at=h(5))
    r5 = put(env, "a5", channel="12345", oos=True, agency="labour", confidence=0.8, model="m2", sampled=True, at=h(4))
    r6 = put(env, "a6", channel="12345", code="01001", confidence=0.9, model="m2", sampled=True, at=h(3))
    put(env, "a7", channel="sms", code="06042", confidence=0.2, model="m1", at=h(2))
    r8 = put(env, "a8", channel="sms", code="06042", confidence=0.3, model="m1", at=NOW - dt.timedelta(days=3))
    for rid, body, token in [
        (r1, {"code": "06042"}, alice),
        (r2, {"code": "06010", "reason": "满溢"}, alice),
        (r3, {"code": "06010"}, bob),
        (r4, {"code": "06042", "reason": "看错了"}, bob),
        (r5, {"code": None}, alice),
        (r8, {"code": "06010", "reason": "满溢"}, alice),
    ]:
        status, out = review(env, rid, body, token=token)
        assert status == 201, out
    assert review(env, r4, {"code": "06010", "reason": "操作员改错了"}, role="auditor")[0] == 201
    assert review(env, r6, {"code": "06042", "reason": "不是供水井盖"}, role="auditor")[0] == 201
    return {"from": "2026-11-26T00:00:00+08:00", "to": "2026-11-27T10:00:00+08:00"}


def groups(body):
    """Groups as {key: (reviewed, correct, accuracy)}, in the answer's order."""
    return {g["key"]: (g["reviewed"], g["correct"], g["accuracy"]) for g in body["groups"]}


def test_accuracy_by_code_channel_operator_and_model_matches_hand_counts(api_env):
    """Accuracy = machine's code == final reviewed code, over reports decided in the period that were
    reviewed. Hand counts: r1 ok, r2 wrong (06042->06010), r3 ok, r4 ok (bob's correction overridden
    back), r5 ok (out of scope), r6 wrong (01001->06042): 4 of 6."""
    period = build_accuracy_set(api_env)
    status, body = api_env.call("GET", "/api/v1/audit/accuracy", role="auditor", args=dict(period, by="code"))
    assert status == 200, body
    assert body["overall"] == {"reviewed": 6, "correct": 4, "accuracy": 0.6667}
    assert list(groups(body).items()) == [("06010", (3, 2, 0.6667)), ("06042", (2, 1, 0.5)),
                                          ("out_of_scope", (1, 1, 1.0))]
    assert body["groups"][0]["name"]
    assert body["confusion"] == [{"machine": "01001", "final": "06042", "count": 1},
                                 {"machine": "06042", "final": "06010", "count": 1}]
    # The random sample of confident decisions: r1, r3, r5 right, r6 wrong (r2 is sampled but below
    # the threshold, so it says nothing about the decisions nobody is asked to look at).
    assert body["confident_sample"] == {"reviewed": 4, "correct": 3, "accuracy": 0.75}

    _, body = api_env.call("GET", "/api/v1/audit/accuracy", role="shift_chief", args=dict(period, by="machine_code"))
    assert groups(body) == {"06010": (2, 2, 1.0), "06042": (2, 1, 0.5), "01001": (1, 0, 0.0),
                            "out_of_scope": (1, 1, 1.0)}

    _, body = api_env.call("GET", "/api/v1/audit/accuracy", role="auditor", args=dict(period, by="channel"))
    assert list(groups(body).items()) == [("12345", (2, 1, 0.5)), ("sms", (2, 1, 0.5)), ("web", (2, 2, 1.0))]

    _, body = api_env.call("GET", "/api/v1/audit/accuracy", role="auditor", args=dict(period, by="model_version"))
    assert groups(body) == {"m1": (3, 2, 0.6667), "m2": (3, 2, 0.6667)}

    _, body = api_env.call("GET", "/api/v1/audit/accuracy", role="auditor", args=dict(period, by="operator"))
    assert groups(body) == {"alice": (3, 2, 0.6667), "bob": (2, 2, 1.0), "test-auditor": (1, 0, 0.0)}
    bob = next(g for g in body["groups"] if g["key"] == "bob")
    # bob's one audited review (r4: 06042) was overridden back to 06010.
    assert (bob["audited_later"], bob["upheld"], bob["upheld_rate"]) == (1, 0, 0.0)


def test_accuracy_period_and_parameters_are_checked(api_env):
    """The default period is the 30 days before the clock's now; bad parameters are named."""
    build_accuracy_set(api_env)
    status, body = api_env.call("GET", "/api/v1/audit/accuracy", role="auditor")
    assert status == 200
    assert body["overall"]["reviewed"] == 7  # r8 (three days ago) is inside the default 30 days
    assert body["to"] == NOW.isoformat()
    for args, field in [({"by": "street"}, "by"), ({"from": "yesterday"}, "from"),
                        ({"from": "2026-11-27T00:00:00+08:00", "to": "2026-11-26T00:00:00+08:00"}, "from"),
                        ({"from": "2025-01-01T00:00:00+08:00"}, "from"), ({"limit": "5"}, "limit")]:
        status, out = api_env.call("GET", "/api/v1/audit/accuracy", role="auditor", args=args)
        assert status == 400 and out["field"] == field, (args, out)


def test_corrections_export_writes_corpus_lines_that_load_corpus_accepts(api_env, tmp_path):
    """Every reviewed report becomes one corpus line with its final code (or out of scope and the
    agency), the style of its channel and source 'review'; nlp.dataset.load_corpus reads them all
    strictly; citizens' phone numbers do not reach the corpus; unreviewed reports are left out."""
    from intake.cli import main
    from nlp.dataset import OUT_OF_SCOPE, load_corpus
    a = put(api_env, "e1", channel="inspector", code="06042", confidence=0.3,
            text="三井菜场垃圾桶满溢，联系人电话13912345678")
    b = put(api_env, "e2", channel="110", code="06042", confidence=0.3, text="报警人称河海路有人讨薪堵路")
    c = put(api_env, "e3", channel="12345", code="06010", confidence=0.3, text="小区门口垃圾没人收")
    put(api_env, "e4", channel="sms", code="06010", confidence=0.3, text="没人看过的报告")
    assert review(api_env, a, {"code": "06010", "reason": "桶满溢"})[0] == 201
    assert review(api_env, b, {"code": None, "agency": "labour", "reason": "劳动纠纷"}, role="auditor")[0] == 201
    assert review(api_env, c, {"code": "06010"})[0] == 201

    out = tmp_path / "corpus" / "corrections.jsonl"
    url = api_env.app.engine.url.render_as_string(hide_password=False)
    assert main(["corrections", "export", "--db", url, "--out", str(out)]) == 0
    assert main(["corrections", "export", "--db", url, "--out", str(out)]) == 0  # rewritten, not appended
    lines = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 3
    by_text = {x["text"]: x for x in lines}
    first = by_text["三井菜场垃圾桶满溢，联系人电话***"]
    assert first == {"text": "三井菜场垃圾桶满溢，联系人电话***", "code": "06010", "style": "sms",
                     "street": "三井街道", "emergency": False, "source": "review"}
    assert by_text["报警人称河海路有人讨薪堵路"]["code"] is None
    assert by_text["报警人称河海路有人讨薪堵路"]["out_of_scope"] is True
    assert by_text["报警人称河海路有人讨薪堵路"]["agency"] == "labour"
    assert by_text["报警人称河海路有人讨薪堵路"]["style"] == "110"
    assert by_text["小区门口垃圾没人收"]["style"] == "12345"

    examples, problems = load_corpus(out.parent, matter_codes=api_env.config.taxonomy.matters, strict=True)
    assert problems == []
    assert sorted(e.label for e in examples) == sorted(["06010", "06010", OUT_OF_SCOPE])
    assert {e.agency for e in examples if e.out_of_scope} == {"labour"}
