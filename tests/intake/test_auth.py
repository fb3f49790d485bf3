"""Who may do what: tokens, roles, a department's own cases, masked phone numbers, the public lookup."""
from __future__ import annotations

import subprocess
import sys

from tests.intake.helpers import call, count_rows
from tests.intake.nodes import ROOT

BIN = {"channel": "sms", "external_id": "s-auth", "text": "三井菜场门口的垃圾桶满了，垃圾都溢出来了", "caller": "13912345678"}


def test_no_token_is_401_and_nothing_is_stored(api_env):
    """Without a bearer token the API answers 401 and stores nothing."""
    status, out = call(api_env.resource, "POST", "/api/v1/reports", BIN)
    assert status == 401 and "Bearer" in out["error"]
    assert count_rows(api_env.app.engine, "reports") == 0
    status, _ = call(api_env.resource, "GET", "/api/v1/cases")
    assert status == 401


def test_a_wrong_token_is_401(api_env):
    """A token that was never issued is refused."""
    status, out = call(api_env.resource, "GET", "/api/v1/cases", token="hl_not-a-real-token")
    assert status == 401 and "invalid" in out["error"]


def test_roles_that_may_not_send_reports_get_403(api_env):
    """A department's token cannot inject reports."""
    status, out = api_env.call("POST", "/api/v1/reports", BIN, role="department:power")
    assert status == 403 and "needs" in out["error"]


def test_only_inspectors_send_the_inspector_channel(api_env):
    """A channel token cannot claim an inspector's authoritative code; an inspector cannot post as sms."""
    s1, _ = api_env.call("POST", "/api/v1/reports", dict(BIN, channel="inspector", code="06042"), role="channel")
    s2, _ = api_env.call("POST", "/api/v1/reports", BIN, role="inspector")
    assert (s1, s2) == (403, 403)


def test_a_department_sees_only_its_own_cases(api_env):
    """The bin goes to 三井街道's team: that team reads it, the power company is refused by the server."""
    _, body = api_env.call("POST", "/api/v1/reports", BIN)
    case_id = body["case"]["id"]
    assert body["department"] == "locality-sanjing"
    own, case = api_env.call("GET", f"/api/v1/cases/{case_id}", role="department:locality-sanjing")
    other, refused = api_env.call("GET", f"/api/v1/cases/{case_id}", role="department:power")
    assert own == 200 and case["id"] == case_id
    assert other == 403 and "another department" in refused["error"]
    s, _ = api_env.call("GET", f"/api/v1/reports/{body['report_id']}", role="department:power")
    assert s == 403
    _, listed = api_env.call("GET", "/api/v1/cases", role="department:power")
    assert listed["total"] == 0
    _, listed = api_env.call("GET", "/api/v1/cases", role="department:locality-sanjing")
    assert [c["id"] for c in listed["items"]] == [case_id]


def test_phone_numbers_are_masked_for_roles_that_must_not_see_them(api_env):
    """Operators see the caller's number to call back; a department sees it masked."""
    _, body = api_env.call("POST", "/api/v1/reports", BIN)
    _, for_operator = api_env.call("GET", f"/api/v1/reports/{body['report_id']}", role="operator")
    _, for_dept = api_env.call("GET", f"/api/v1/reports/{body['report_id']}", role="department:locality-sanjing")
    _, case_for_dept = api_env.call("GET", f"/api/v1/cases/{body['case']['id']}", role="department:locality-sanjing")
    assert for_operator["caller"] == "13912345678"
    assert for_dept["caller"] == "139****5678"
    assert case_for_dept["reports"][0]["caller"] == "139****5678"


def test_citizens_look_up_status_by_number_without_token_or_personal_data(api_env):
    """The public lookup needs no token and shows no caller, text or ids of people."""
    _, body = api_env.call("POST", "/api/v1/reports", BIN)
    status, pub = call(api_env.resource, "GET", f"/api/v1/public/cases/{body['case']['number']}")
    assert status == 200
    assert pub["number"] == body["case"]["number"] and pub["status"] == "open"
    flat = str(pub)
    assert "13912345678" not in flat and "垃圾都溢出来了" not in flat
    assert call(api_env.resource, "GET", "/api/v1/public/cases/99999999999")[0] == 404


def test_token_create_command_prints_a_working_token(tmp_path):
    """`hotline token create` prints a token that the database accepts; a bad role exits 2."""
    db = f"sqlite:///{tmp_path / 'tok.sqlite'}"
    out = subprocess.run([sys.executable, "-m", "intake.cli", "token", "create", "--user", "platform-12345",
                          "--role", "channel", "--db", db], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    token = out.stdout.strip()
    assert token.startswith("hl_") and len(token) > 30
    from intake.auth import principal_thd
    from intake.db.pool import make_engine
    engine = make_engine(db)
    with engine.connect() as c:
        p = principal_thd(c, token)
    engine.dispose()
    assert p.name == "platform-12345" and p.role == "channel"
    bad = subprocess.run([sys.executable, "-m", "intake.cli", "token", "create", "--user", "x", "--role", "king",
                          "--db", db], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "unknown role" in bad.stderr
