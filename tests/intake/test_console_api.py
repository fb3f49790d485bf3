"""The consoles' API: password sign-in with a session cookie and CSRF secret accepted by every
route, the operator's queue, corrections of a case (place, emergency, merge, split) recorded in
its history, photo uploads checked for type, size and department. In-process, on each database."""
from __future__ import annotations

import json
import subprocess
from io import BytesIO

import pytest
import sqlalchemy as sa
from twisted.web.server import NOT_DONE_YET
from twisted.web.test.requesthelper import DummyRequest

from intake.auth import set_password_thd
from intake.db.pool import run_sync
from intake.db import schema as t

PASSWORD = "correct horse battery"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


class CookieRequest(DummyRequest):
    """A DummyRequest that carries cookies both ways (the real Request's addCookie/getCookie)."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.received_cookies = {}
        self.cookies_set = []

    def getCookie(self, name):
        """The cookie the 'browser' sent."""
        return self.received_cookies.get(name)

    def addCookie(self, name, value, **kw):
        """Record the cookie the server sets, with its attributes."""
        self.cookies_set.append((name, value, kw))

    def isSecure(self):
        """Plain HTTP, as on 127.0.0.1."""
        return False


def send(env, method, path, body=None, *, session=None, csrf=None, token=None, raw=None,
         content_type="application/json", args=None):
    """(status, JSON body, request) of one request through the service's router."""
    req = CookieRequest([p.encode() for p in path.strip("/").split("/")])
    req.method = method.encode()
    req.path = req.uri = path.encode()
    data = raw if raw is not None else (b"" if body is None else json.dumps(body, ensure_ascii=False).encode())
    req.content = BytesIO(data)
    if content_type:
        req.requestHeaders.setRawHeaders(b"content-type", [content_type.encode()])
    if session:
        req.received_cookies[b"hl_session"] = session.encode()
    if csrf:
        req.requestHeaders.setRawHeaders(b"x-csrf-token", [csrf.encode()])
    if token:
        req.requestHeaders.setRawHeaders(b"authorization", [f"Bearer {token}".encode()])
    req.args = {k.encode(): [str(v).encode()] for k, v in (args or {}).items()}
    out = env.resource.render(req)
    payload = b"".join(req.written) if out is NOT_DONE_YET else out
    return req.responseCode or 200, json.loads(payload.decode("utf-8")), req


@pytest.fixture
def env(api_env):
    """The API with console users (operator, shift chief, two departments, an inspector)."""
    db = api_env.app.store.db
    for name, role, dept in (("op", "operator", None), ("chief", "shift_chief", None),
                             ("sanjing", "department", "locality-sanjing"), ("power", "department", "power"),
                             ("insp", "inspector", None)):
        run_sync(db.do(set_password_thd, name, role, PASSWORD, dept))
    return api_env


def sign_in(env, user):
    """(session token, csrf secret) of a fresh sign-in."""
    status, body, req = send(env, "POST", "/api/v1/session", {"user": user, "password": PASSWORD})
    assert status == 200, body
    name, value, attrs = req.cookies_set[0]
    assert name == b"hl_session" and attrs["httpOnly"] and attrs["sameSite"] == "strict"
    assert attrs["max_age"] == b"28800"
    return value.decode(), body["csrf_token"]


def report(env, key, text, **extra):
    """A report sent by the channel; its answer."""
    status, body = env.call("POST", "/api/v1/reports", dict(channel="sms", external_id=key, text=text,
                                                            caller="13912345678", **extra))
    assert status == 201, body
    return body


def test_passwords_are_stored_as_argon2_hashes(env):
    """Only an argon2id hash is stored, never the password."""
    with env.app.engine.connect() as c:
        stored = c.execute(sa.select(t.users.c.password_hash).where(t.users.c.name == "op")).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_sign_in_gives_a_session_that_every_route_accepts_and_sign_out_ends_it(env):
    """The cookie opens the API with the user's role; signing out makes the same cookie 401."""
    session, csrf = sign_in(env, "op")
    status, me, _ = send(env, "GET", "/api/v1/session", session=session)
    assert status == 200 and me["role"] == "operator" and me["csrf_token"] == csrf
    assert send(env, "GET", "/api/v1/cases", session=session)[0] == 200
    assert send(env, "DELETE", "/api/v1/session", session=session, csrf=csrf)[0] == 200
    status, body, _ = send(env, "GET", "/api/v1/cases", session=session)
    assert status == 401 and "sign in again" in body["error"]


def test_a_session_expires_after_a_shift(env):
    """Eight hours after sign-in (the injected clock) the cookie no longer opens anything."""
    session, _ = sign_in(env, "chief")
    env.clock.advance(8 * 3600 - 1)
    assert send(env, "GET", "/api/v1/session", session=session)[0] == 200
    env.clock.advance(2)
    assert send(env, "GET", "/api/v1/session", session=session)[0] == 401


def test_a_wrong_password_or_unknown_user_is_the_same_401(env):
    """No session for a wrong password, and no hint whether the user exists."""
    a = send(env, "POST", "/api/v1/session", {"user": "op", "password": "wrong password"})
    b = send(env, "POST", "/api/v1/session", {"user": "nobody", "password": "wrong password"})
    assert a[0] == b[0] == 401 and a[1] == b[1] and not a[2].cookies_set


def test_repeated_wrong_passwords_are_throttled_per_user(env):
    """Five failures in 15 minutes lock that user name (429, even with the right password) until
    the window passes; other users are unaffected."""
    for _ in range(5):
        assert send(env, "POST", "/api/v1/session", {"user": "op", "password": "guess-guess"})[0] == 401
    status, body, _ = send(env, "POST", "/api/v1/session", {"user": "op", "password": PASSWORD})
    assert status == 429 and "try again" in body["error"]
    assert send(env, "POST", "/api/v1/session", {"user": "chief", "password": PASSWORD})[0] == 200
    env.clock.advance(15 * 60 + 1)
    assert send(env, "POST", "/api/v1/session", {"user": "op", "password": PASSWORD})[0] == 200


def test_sign_in_refuses_a_form_post_and_bad_fields(env):
    """A cross-site form cannot sign in (JSON only); missing fields are named."""
    status, body, _ = send(env, "POST", "/api/v1/session", raw=b"user=op&password=x",
                           content_type="application/x-www-form-urlencoded")
    assert status == 415
    status, body, _ = send(env, "POST", "/api/v1/session", {"user": "op"})
    assert status == 400 and body["field"] == "password"


def test_unsafe_methods_on_a_session_need_the_csrf_secret(env):
    """A POST with the cookie alone (what a forged cross-site request carries) is refused 403 and
    changes nothing; with the session's secret it goes through the same role checks."""
    r = report(env, "c1", "三井街道河海中路上有暴露垃圾，好几天没人清理")
    session, csrf = sign_in(env, "op")
    path = f"/api/v1/cases/{r['case']['id']}/actions"
    status, body, _ = send(env, "POST", path, {"action": "accept"}, session=session)
    assert status == 403 and "CSRF" in body["error"]
    status, body, _ = send(env, "POST", path, {"action": "accept"}, session=session, csrf="forged")
    assert status == 403
    status, body, _ = send(env, "POST", path, {"action": "accept"}, session=session, csrf=csrf)
    assert status == 200 and body["events"][0]["actor"] == "operator:op"
    status, body, _ = send(env, "POST", path, {"action": "register"}, session=session, csrf=csrf)
    assert status == 403  # the role check, not the credential, refuses an operator's register


def test_a_department_session_cannot_read_or_act_on_another_departments_case(env):
    """The server refuses another department's case, its actions and photo uploads."""
    r = report(env, "d1", "新桥镇路灯不亮")
    cid = r["case"]["id"]
    env.call("POST", f"/api/v1/cases/{cid}/actions", {"action": "accept"}, role="operator")
    env.call("POST", f"/api/v1/cases/{cid}/actions", {"action": "register"}, role="shift_chief")
    status, _ = env.call("POST", f"/api/v1/cases/{cid}/actions", {"action": "dispatch", "department": "power"},
                         role="dispatcher")
    assert status == 200
    session, csrf = sign_in(env, "sanjing")
    assert send(env, "GET", f"/api/v1/cases/{cid}", session=session)[0] == 403
    assert send(env, "POST", f"/api/v1/cases/{cid}/actions", {"action": "start"}, session=session, csrf=csrf)[0] == 403
    status, body, _ = send(env, "POST", f"/api/v1/console/cases/{cid}/photos", raw=PNG, content_type="image/png",
                           session=session, csrf=csrf, args={"purpose": "result"})
    assert status == 403
    own, ocsrf = sign_in(env, "power")
    status, body, _ = send(env, "POST", f"/api/v1/console/cases/{cid}/photos", raw=PNG, content_type="image/png",
                           session=own, csrf=ocsrf, args={"purpose": "result"})
    assert status == 201 and body["url"] == f"/console/files/photos/{body['id']}"


@pytest.mark.parametrize("raw, ctype, status", [
    (b"GIF89a" + b"\x00" * 10, "image/gif", 415),       # not an accepted type
    (b"<svg onload=alert(1)>", "image/png", 400),        # declared PNG, bytes are not
    (JPEG, "image/png", 400),                            # a JPEG declared as PNG
    (b"", "image/png", 400),                             # empty
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * (5 * 1024 * 1024), "image/png", 413),  # over 5 MB
])
def test_photo_uploads_are_checked_for_type_and_size(env, raw, ctype, status):
    """Only real JPEG, PNG or WebP bytes up to 5 MB are stored; anything else is refused and
    nothing is written."""
    r = report(env, f"p-{status}-{ctype}-{len(raw)}", "三井街道河海中路上有暴露垃圾")
    session, csrf = sign_in(env, "insp")
    got, body, _ = send(env, "POST", f"/api/v1/console/cases/{r['case']['id']}/photos", raw=raw, content_type=ctype,
                        session=session, csrf=csrf)
    assert got == status, body
    with env.app.engine.connect() as c:
        assert c.execute(sa.select(sa.func.count()).select_from(t.case_photos)).scalar_one() == 0


def test_a_photo_upload_is_recorded_in_the_case_history(env):
    """An accepted photo appears in the case's history with who uploaded it and its digest."""
    r = report(env, "p-ok", "三井街道河海中路上有暴露垃圾")
    session, csrf = sign_in(env, "insp")
    status, body, _ = send(env, "POST", f"/api/v1/console/cases/{r['case']['id']}/photos", raw=JPEG,
                           content_type="image/jpeg", session=session, csrf=csrf, args={"purpose": "verification"})
    assert status == 201 and body["content_type"] == "image/jpeg"
    _, case = env.call("GET", f"/api/v1/cases/{r['case']['id']}")
    added = [e for e in case["history"] if e["kind"] == "photo_added"]
    assert added and added[0]["actor"] == "inspector:insp" and added[0]["detail"]["purpose"] == "verification"


def test_the_operator_queue_puts_emergencies_first(env):
    """An emergency waits above everything else; each item says why it waits."""
    report(env, "q1", "三井街道河海中路上有暴露垃圾，好几天没人清理")
    em = report(env, "q2", "龙虎塘街道有电线杆倒了压住了人")
    session, _ = sign_in(env, "op")
    status, body, _ = send(env, "GET", "/api/v1/console/queue", session=session)
    assert status == 200 and body["poll_ms"] > 0 and len(body["items"]) >= 2
    assert em["classification"]["emergency"] is True
    assert body["items"][0]["report_id"] == em["report_id"] and "emergency" in body["items"][0]["kinds"]
    assert "waiting_acceptance" in body["items"][1]["kinds"]
    sanjing, _ = sign_in(env, "sanjing")
    assert send(env, "GET", "/api/v1/console/queue", session=sanjing)[0] == 403


def test_place_and_emergency_corrections_are_checked_and_recorded(env):
    """A grid from config moves the case (street and community follow); an unknown grid is named;
    raising an emergency needs a reason; both land in the history with who did it."""
    r = report(env, "pl", "三井街道河海中路上有暴露垃圾，好几天没人清理")
    cid = r["case"]["id"]
    grid = next(g for g in env.config.district.grids.values()
                if env.config.district.streets[g.street_code].name == "新桥镇")
    status, body = env.call("POST", f"/api/v1/console/cases/{cid}/place", {"grid": "320411999999999"}, role="operator")
    assert status == 400 and body["field"] == "grid"
    status, body = env.call("POST", f"/api/v1/console/cases/{cid}/place", {"grid": grid.id, "reason": "市民补充了地址"},
                            role="operator")
    assert status == 200 and body["new"]["street"] == "新桥镇" and body["new"]["community"] == grid.community_code
    status, body = env.call("POST", f"/api/v1/console/cases/{cid}/emergency", {}, role="operator")
    assert status == 400 and body["field"] == "reason"
    status, body = env.call("POST", f"/api/v1/console/cases/{cid}/emergency", {"reason": "有人受伤"}, role="operator")
    assert status == 200
    status, body = env.call("POST", f"/api/v1/console/cases/{cid}/emergency", {"reason": "again"}, role="operator")
    assert status == 409
    _, case = env.call("GET", f"/api/v1/cases/{cid}")
    assert case["street"] == "新桥镇" and case["grid"] == grid.id and case["emergency"] is True
    kinds = {e["kind"]: e for e in case["history"]}
    assert kinds["place_corrected"]["actor"] == "operator:test-operator"
    assert kinds["emergency"]["detail"]["reason"] == "有人受伤"
    assert env.call("POST", f"/api/v1/console/cases/{cid}/emergency", {"reason": "x"},
                    role="department:locality-sanjing")[0] == 403


def test_merge_then_split_moves_a_report_between_cases_with_history(env):
    """Merging moves a report into another case (its own case, left empty, is voided); splitting
    takes it out again into a new open case; counts and histories follow."""
    a = report(env, "m1", "三井街道河海中路上有暴露垃圾，好几天没人清理")
    b = report(env, "m2", "新桥镇路灯不亮")
    assert a["case"]["id"] != b["case"]["id"]
    status, body = env.call("POST", f"/api/v1/console/reports/{b['report_id']}/merge",
                            {"case": a["case"]["number"], "reason": "同一位市民重复反映"}, role="operator")
    assert status == 200 and body["source_voided"] is True
    _, target = env.call("GET", f"/api/v1/cases/{a['case']['id']}")
    assert target["report_count"] == 2 and target["history"][-1]["kind"] == "report_merged"
    _, source = env.call("GET", f"/api/v1/cases/{b['case']['id']}")
    assert source["status"] == "voided"
    status, body = env.call("POST", f"/api/v1/console/reports/{b['report_id']}/merge",
                            {"case": a["case"]["number"], "reason": "again"}, role="operator")
    assert status == 409
    status, body = env.call("POST", f"/api/v1/console/reports/{b['report_id']}/split", {"reason": "不是同一问题"},
                            role="operator")
    assert status == 201
    _, new = env.call("GET", f"/api/v1/cases/{body['case_id']}")
    assert new["status"] == "open" and new["report_count"] == 1 and new["reports"][0]["id"] == b["report_id"]
    _, target = env.call("GET", f"/api/v1/cases/{a['case']['id']}")
    assert target["report_count"] == 1 and target["history"][-1]["kind"] == "report_split_out"
    assert target["history"][-1]["actor"] == "operator:test-operator"
    status, body = env.call("POST", f"/api/v1/console/reports/{a['report_id']}/split", {"reason": "x"}, role="operator")
    assert status == 409  # the only report of its case


def test_report_view_masks_phones_for_roles_that_may_not_call_back(env):
    """The report page's data: decision with the top 3, case and merge targets; the caller's number
    in full for an operator, masked for an auditor."""
    r = report(env, "v1", "三井街道河海中路上有暴露垃圾，好几天没人清理")
    status, body = env.call("GET", f"/api/v1/console/reports/{r['report_id']}", role="operator")
    assert status == 200 and body["report"]["caller"] == "13912345678"
    assert len(body["decision"]["candidates"]) <= 3 and body["case"]["number"] == r["case"]["number"]
    status, body = env.call("GET", f"/api/v1/console/reports/{r['report_id']}", role="auditor")
    assert body["report"]["caller"] == "139****5678"


def test_lookups_find_matters_by_pinyin_initials(env):
    """The picker's list carries each matter's pinyin initials (暴露垃圾 -> bllj)."""
    status, body = env.call("GET", "/api/v1/console/lookups")
    assert status == 200
    assert {"code": "06010", "name": "暴露垃圾", "initials": "bllj"} in body["matters"]
    assert len(body["grids"]) == len(env.config.district.grids)


def test_hotline_user_create_reads_the_password_from_stdin(tmp_path):
    """`hotline user create --password-stdin` creates a user who can sign in; a short password is refused."""
    from tests.intake.nodes import HOTLINE, ROOT
    db = f"sqlite:///{tmp_path / 'u.sqlite'}"
    out = subprocess.run([*HOTLINE, "user", "create", "--user", "amy", "--role", "operator", "--password-stdin",
                          "--db", db], input=PASSWORD + "\n", capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    bad = subprocess.run([*HOTLINE, "user", "create", "--user", "bob", "--role", "operator", "--password-stdin",
                          "--db", db], input="short\n", capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert bad.returncode == 2 and "at least 8" in bad.stderr
    from intake.app import open_database
    from intake.auth import sign_in_thd
    import datetime as dt
    engine = open_database(db)
    try:
        with engine.begin() as c:
            assert sign_in_thd(c, "amy", PASSWORD, dt.datetime.now(dt.timezone.utc)) is not None
            assert sign_in_thd(c, "amy", "wrong password", dt.datetime.now(dt.timezone.utc)) is None
    finally:
        engine.dispose()


def test_console_pages_never_parse_strings_as_html():
    """The pages build everything from text nodes: no script uses an HTML-parsing sink, and no page
    has inline script (the Content-Security-Policy forbids it anyway)."""
    from intake.http.console_api import STATIC
    sinks = ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function")
    for js in STATIC.glob("*.js"):
        text = js.read_text(encoding="utf-8")
        assert not [s for s in sinks if s in text], js.name
    for page in STATIC.glob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert "<script>" not in text and " on" not in text.split("<body")[1].split(">")[0], page.name
