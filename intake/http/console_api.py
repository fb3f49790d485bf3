"""The consoles' side of the API: browser sign-in, the operator's queue, one report with all that
was decided about it, and the corrections the pages offer that the loop and audit APIs lack.

    POST   /api/v1/session                     {"user", "password"} -> session cookie + CSRF secret
    GET    /api/v1/session                     who is signed in, and the CSRF secret again
    DELETE /api/v1/session                     sign out
    GET    /api/v1/console/queue               what waits for an operator, emergencies first
    GET    /api/v1/console/reports/{id}        a report, its decision, its case now, reviews, merge targets
    GET    /api/v1/console/lookups             matters (name, code, pinyin initials), places, grids, agencies
    POST   /api/v1/console/cases/{id}/place    {"grid"} or {"street", "community"?}, "reason"?
    POST   /api/v1/console/cases/{id}/emergency {"reason"}
    POST   /api/v1/console/reports/{id}/merge  {"case", "reason"}: move the report into another case
    POST   /api/v1/console/reports/{id}/split  {"reason"}: the report becomes a case of its own
    POST   /api/v1/console/cases/{id}/photos?purpose=  an image body (JPEG, PNG or WebP, at most 5 MB)

and, outside the JSON router (binary answers), under /console/files/:

    GET /console/files/photos/{id}              a photo (a department: of its own cases only)
    GET /console/files/evaluation.xlsx?from=&to= the evaluation tables as a workbook

The pages themselves are static files (intake/console/static) served at /console/ with a strict
Content-Security-Policy: no inline script, nothing from another origin. Every action a page takes
goes through the same handlers and role checks as an API client's; only the credential differs.
"""
from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from zoneinfo import ZoneInfo

from twisted.internet import defer
from twisted.logger import Logger
from twisted.web import resource, server, static

from intake.http.params import with_principal
from intake.auth import (ROLES, SESSION_COOKIE, SESSION_SECONDS, AuthError, require, session_cookie,
                         sign_in_thd, sign_out_thd)
from intake.db.console_store import ConsoleRefused, ConsoleStore
from intake.http.api import SEES_PHONE, mask_phone
from intake.http.router import HttpError, NotFound
from intake.validation import FieldError, InvalidInput, decode_json_body, parse_time
from routing import workflow as wf

log = Logger()
STATIC = Path(__file__).resolve().parent.parent / "console" / "static"

# Who works at the operator's desk, and who may correct a case's place or raise an emergency.
DESK = ("operator", "shift_chief")
READERS = ("operator", "shift_chief", "auditor", "dispatcher")
PHOTO_ROLES = ("department", "inspector", "operator", "shift_chief")
MAX_PHOTO_BYTES = 5 * 1024 * 1024
# The image types accepted, each recognised by its first bytes (the declared type must agree).
IMAGE_MAGIC = {"image/jpeg": (b"\xff\xd8\xff",), "image/png": (b"\x89PNG\r\n\x1a\n",), "image/webp": (b"RIFF",)}
MAX_REASON = 1000
# Password guessing: after this many failed sign-ins for one user name within the window, further
# attempts are refused (429) until the oldest failure leaves the window.
SIGN_IN_FAILURES = 5
SIGN_IN_WINDOW_S = 15 * 60
QUEUE_POLL_MS = 3000
CSP = (b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       b"media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
       b"form-action 'self'")


def image_type(data: bytes, declared: str) -> str:
    """The checked content type of an uploaded photo; InvalidInput naming what is wrong."""
    declared = declared.split(";")[0].strip().lower()
    if not data:
        raise InvalidInput([FieldError("body", "the photo is empty")])
    if len(data) > MAX_PHOTO_BYTES:
        raise HttpError(413, f"the photo is {len(data)} bytes; the limit is {MAX_PHOTO_BYTES} (5 MB)", "body")
    if declared not in IMAGE_MAGIC:
        raise HttpError(415, f"content type {declared or '(none)'!r} is not a photo; send image/jpeg, image/png "
                             "or image/webp", "body")
    ok = any(data.startswith(m) for m in IMAGE_MAGIC[declared])
    if declared == "image/webp":
        ok = ok and data[8:12] == b"WEBP"
    if not ok:
        raise InvalidInput([FieldError("body", f"the bytes are not a {declared} image")])
    return declared


def _reason(data: dict, required: bool, errors: list) -> str | None:
    reason = data.get("reason")
    if reason is None or (isinstance(reason, str) and not reason.strip()):
        if required:
            errors.append(FieldError("reason", "is required: say why"))
        return None
    if not isinstance(reason, str):
        errors.append(FieldError("reason", "must be a text"))
        return None
    if len(reason) > MAX_REASON:
        errors.append(FieldError("reason", f"is {len(reason)} characters; the limit is {MAX_REASON}"))
    return reason.strip()


def _object(request, allowed: set) -> dict:
    data = decode_json_body(request.content.read())
    if not isinstance(data, dict):
        raise InvalidInput([FieldError("body", "expected a JSON object")])
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise InvalidInput([FieldError(k, "unknown field") for k in unknown])
    return data


def _refused(e: ConsoleRefused) -> Exception:
    if e.status == 404:
        return NotFound(e.message)
    if e.status == 403:
        return AuthError(403, e.message)
    if e.status == 400:
        return InvalidInput([FieldError(e.field or "body", e.message)])
    return HttpError(e.status, e.message, e.field)


def _case_ref(value: str):
    if not value.isdigit() or len(value) > 20:
        raise InvalidInput([FieldError("case", f"a case id or number is digits only, got {value[:20]!r}")])
    return value if len(value) >= 10 else int(value)


def _report_id(value: str) -> int:
    if not value.isdigit() or len(value) > 12:
        raise InvalidInput([FieldError("report_id", f"must be a positive integer, got {value[:20]!r}")])
    return int(value)


def matter_initials(name: str) -> str:
    """The pinyin initials of a matter's name (暴露垃圾 -> blj) for the code picker."""
    from pypinyin import Style, lazy_pinyin
    return "".join(p[0] for p in lazy_pinyin(name, style=Style.FIRST_LETTER) if p and p[0].isalnum()).lower()


class ConsoleApi:
    """Handlers of the console routes; each checks the caller's role before anything else."""

    def __init__(self, config, db, clock, auth):
        self.config = config
        self.db = db
        self.store = ConsoleStore(db)
        self.clock = clock
        self.auth = auth
        self.tz = ZoneInfo(config.service.timezone)
        self._lookups = None
        self._failures: dict[str, list[float]] = {}

    def mount(self, root) -> None:
        """Serve the pages and files at /console/ beside /api/ (called by build_service)."""
        root.putChild(b"console", console_resource(self))

    def register(self, r) -> None:
        """Add the routes to the service's JsonRouter."""
        r.add("POST", "/api/v1/session", self.sign_in)
        r.add("GET", "/api/v1/session", self._auth(self.whoami))
        r.add("DELETE", "/api/v1/session", self._auth(self.sign_out))
        r.add("GET", "/api/v1/console/queue", self._auth(self.queue))
        r.add("GET", "/api/v1/console/lookups", self._auth(self.lookups))
        r.add("GET", "/api/v1/console/reports/{report_id}", self._auth(self.report))
        r.add("POST", "/api/v1/console/reports/{report_id}/merge", self._auth(self.merge))
        r.add("POST", "/api/v1/console/reports/{report_id}/split", self._auth(self.split))
        r.add("POST", "/api/v1/console/cases/{case_id}/place", self._auth(self.place))
        r.add("POST", "/api/v1/console/cases/{case_id}/emergency", self._auth(self.emergency))
        r.add("POST", "/api/v1/console/cases/{case_id}/photos", self._auth(self.upload_photo))
        r.add("GET", "/api/v1/console/cases/{case_id}/photos", self._auth(self.list_photos))

    def _auth(self, handler):
        return with_principal(self.auth, handler)

    def now(self) -> dt.datetime:
        """The injected clock's time."""
        return dt.datetime.fromtimestamp(self.clock.seconds(), tz=dt.timezone.utc)

    # -- sessions ------------------------------------------------------------------------------
    def _me(self, p, csrf: str | None = None) -> dict:
        dept = self.config.departments.get(p.department_id) if p.department_id else None
        body = {"user": p.name, "role": p.role, "role_label": ROLES.get(p.role), "department": p.department_id,
                "department_name": dept.name if dept else None, "sees_phone": p.role in SEES_PHONE}
        if csrf is not None:
            body["csrf_token"] = csrf
        return body

    @defer.inlineCallbacks
    def sign_in(self, request):
        """POST /api/v1/session {"user", "password"}: a session cookie (HttpOnly, SameSite=Strict,
        8 hours) and the CSRF secret the pages send back on every change; 401 on a wrong password
        (the same answer for an unknown user)."""
        ctype = (request.getHeader(b"content-type") or b"").decode("latin-1").lower()
        if "json" not in ctype:
            # A cross-site form cannot send JSON without a preflight: this closes login CSRF too.
            raise HttpError(415, "send the sign-in as application/json", "body")
        data = _object(request, {"user", "password"})
        errors = [FieldError(k, "is required") for k in ("user", "password")
                  if not isinstance(data.get(k), str) or not data.get(k)]
        if errors:
            raise InvalidInput(errors)
        if len(data["user"]) > 64 or len(data["password"]) > 1024:
            raise InvalidInput([FieldError("user", "too long")])
        name = data["user"]
        now = self.clock.seconds()
        recent = [x for x in self._failures.get(name, []) if now - x < SIGN_IN_WINDOW_S]
        if len(recent) >= SIGN_IN_FAILURES:
            wait = int(SIGN_IN_WINDOW_S - (now - recent[0])) + 1
            raise HttpError(429, f"too many failed sign-ins for this user; try again in {wait} s")
        hit = yield self.db.do(sign_in_thd, name, data["password"], self.now())
        if hit is None:
            self._failures[name] = recent + [now]
            raise AuthError(401, "wrong user name or password")
        self._failures.pop(name, None)
        token, csrf, principal = hit
        request.addCookie(SESSION_COOKIE, token.encode("ascii"), path=b"/", httpOnly=True, sameSite="strict",
                          max_age=str(SESSION_SECONDS).encode(), secure=request.isSecure())
        return 200, self._me(principal, csrf)

    @defer.inlineCallbacks
    def whoami(self, request, principal):
        """GET /api/v1/session: the signed-in user and (for a session) its CSRF secret."""
        csrf = None
        token = session_cookie(request)
        if token and not request.getHeader(b"authorization"):
            from intake.auth import session_thd
            hit = yield self.db.do(session_thd, token, self.now())
            csrf = hit[1] if hit else None
        return 200, self._me(principal, csrf)

    @defer.inlineCallbacks
    def sign_out(self, request, principal):
        """DELETE /api/v1/session: end the session now and clear the cookie."""
        token = session_cookie(request)
        ended = False
        if token:
            ended = yield self.db.do(sign_out_thd, token, self.now())
        request.addCookie(SESSION_COOKIE, b"", path=b"/", httpOnly=True, sameSite="strict", max_age=b"0",
                          secure=request.isSecure())
        return 200, {"signed_out": bool(ended)}

    # -- the operator's desk --------------------------------------------------------------------
    @defer.inlineCallbacks
    def queue(self, request, principal):
        """GET /api/v1/console/queue: reports waiting for a person, emergencies first, with the
        interval the page should poll again at."""
        require(principal, *DESK)
        items = yield self.store.operator_queue(self.config.classifier.review_threshold)
        matters = self.config.taxonomy.matters
        for it in items:
            it["name"] = matters[it["code"]].name if it["code"] in matters else None
        return 200, {"total": len(items), "items": items, "poll_ms": QUEUE_POLL_MS, "at": self.now()}

    def lookups(self, request, principal):
        """GET /api/v1/console/lookups: matters with pinyin initials, streets, communities, grids
        (polygons for the map), agencies and departments; computed once."""
        if self._lookups is None:
            c = self.config
            district = c.district
            self._lookups = {
                "matters": [{"code": code, "name": m.name, "initials": matter_initials(m.name)}
                            for code, m in sorted(c.taxonomy.matters.items())],
                "streets": [{"code": s.code, "name": s.name} for s in district.streets.values()],
                "communities": [{"code": x.code, "name": x.name, "street": district.streets[x.street_code].name}
                                for x in district.communities.values()],
                "grids": [{"id": g.id, "community": g.community_code, "street": district.streets[g.street_code].name,
                           "polygon": [[round(p[0], 6), round(p[1], 6)] for p in g.polygon]}
                          for g in district.grids.values()],
                "agencies": [{"id": a.id, "name": a.name} for a in c.agencies.values()],
                "departments": [{"id": d.id, "name": d.name} for d in c.departments.values()],
                "states": wf.STATES,
            }
        return 200, self._lookups

    @defer.inlineCallbacks
    def report(self, request, principal, report_id):
        """GET /api/v1/console/reports/{id}: everything an operator needs to decide on a report."""
        require(principal, *READERS)
        rid = _report_id(report_id)
        v = yield self.store.report_view(rid)
        if v is None:
            raise NotFound(f"no report {rid}")
        matters = self.config.taxonomy.matters
        r, d, case = v["report"], v["decision"], v["case"]
        name = lambda code: matters[code].name if code in matters else None  # noqa: E731
        body = {"report": {k: r[k] for k in ("id", "channel", "external_id", "text", "caller", "address",
                                             "street_hint", "lng", "lat", "received_at")}}
        if principal.role not in SEES_PHONE:
            body["report"]["caller"] = mask_phone(r["caller"])
        if d is not None:
            body["decision"] = {
                "code": d["code"], "name": name(d["code"]), "confidence": round(float(d["confidence"]), 4),
                "abstain": d["abstain"], "model_version": d["model_version"],
                "candidates": [dict(x, name=name(x.get("code"))) for x in (d["candidates"] or [])[:3]],
                "out_of_scope": d["out_of_scope"], "agency": d["agency"], "emergency": d["emergency"],
                "classification_reasons": d["classification_reasons"], "street": d["street"],
                "community": d["community"], "grid": d["grid"], "places": d["places"],
                "location_reasons": d["location_reasons"], "duplicate_outcome": d["duplicate_outcome"],
                "duplicate_score": d["duplicate_score"], "duplicate_reasons": d["duplicate_reasons"],
                "department": d["department_id"], "routing_reasons": d["routing_reasons"],
                "needs_review": d["needs_review"], "outcome": d["outcome"]}
        body["case"] = None if case is None else {
            "id": case["id"], "number": case["number"], "status": case["status"],
            "status_label": wf.STATES.get(case["status"]), "code": case["code"], "name": name(case["code"]),
            "street": case["street"], "community": case["community"], "grid": case["grid"],
            "department": case["department_id"], "emergency": case["emergency"], "hot": case["hot"],
            "report_count": case["report_count"], "role_of_report": v["role"]}
        body["reviews"] = [{"kind": x["kind"], "reviewer": x["reviewer"], "role": x["role"], "at": x["at"],
                            "old": x["old_code"], "new": x["new_code"], "new_name": name(x["new_code"]),
                            "out_of_scope": x["new_out_of_scope"], "agency": x["new_agency"], "reason": x["reason"]}
                           for x in v["reviews"]]
        body["nearby"] = [dict(x, name=name(x["code"])) for x in v["nearby"]]
        body["history"] = [{"at": e["at"], "actor": e["actor"], "kind": e["kind"], "detail": e["detail"]}
                           for e in v["history"]]
        return 200, body

    @defer.inlineCallbacks
    def place(self, request, principal, case_id):
        """POST /api/v1/console/cases/{id}/place {"grid"} or {"street", "community"?}, "reason"?:
        correct where the case is; the place is checked against the district's config."""
        require(principal, *DESK)
        ref = _case_ref(case_id)
        data = _object(request, {"grid", "street", "community", "reason"})
        errors: list = []
        reason = _reason(data, False, errors)
        district = self.config.district
        place = None
        if data.get("grid"):
            g = district.grids.get(data["grid"]) if isinstance(data["grid"], str) else None
            if g is None:
                errors.append(FieldError("grid", f"unknown grid {data['grid']!r}"))
            else:
                place = {"grid": g.id, "community": g.community_code, "street": district.streets[g.street_code].name}
        elif data.get("street"):
            s = district.street_by_name(data["street"]) if isinstance(data["street"], str) else None
            if s is None:
                errors.append(FieldError("street", f"unknown street/town {data['street']!r}"))
            else:
                place = {"street": s.name, "community": None, "grid": None}
                if data.get("community"):
                    cm = district.communities.get(data["community"]) if isinstance(data["community"], str) else None
                    if cm is None or cm.street_code != s.code:
                        errors.append(FieldError("community", f"{data['community']!r} is not a community of {s.name}"))
                    else:
                        place["community"] = cm.code
        else:
            errors.append(FieldError("grid", "send a grid, or a street (and community)"))
        if errors:
            raise InvalidInput(errors)
        try:
            out = yield self.store.change_place(ref, place, reason, principal.actor, self.now())
        except ConsoleRefused as e:
            raise _refused(e) from None
        return 200, out

    @defer.inlineCallbacks
    def emergency(self, request, principal, case_id):
        """POST /api/v1/console/cases/{id}/emergency {"reason"}: raise a case to an emergency."""
        require(principal, *DESK)
        ref = _case_ref(case_id)
        data = _object(request, {"reason"})
        errors: list = []
        reason = _reason(data, True, errors)
        if errors:
            raise InvalidInput(errors)
        try:
            out = yield self.store.raise_emergency(ref, reason, principal.actor, self.now())
        except ConsoleRefused as e:
            raise _refused(e) from None
        return 200, out

    @defer.inlineCallbacks
    def merge(self, request, principal, report_id):
        """POST /api/v1/console/reports/{id}/merge {"case", "reason"}: the report joins another case."""
        require(principal, *DESK)
        rid = _report_id(report_id)
        data = _object(request, {"case", "reason"})
        errors: list = []
        reason = _reason(data, True, errors)
        target = data.get("case")
        if isinstance(target, int):
            target = str(target)
        if not isinstance(target, str) or not target.isdigit():
            errors.append(FieldError("case", "the id or number of the case to merge into"))
        if errors:
            raise InvalidInput(errors)
        try:
            out = yield self.store.move_report(rid, _case_ref(target), reason, principal.actor, self.now())
        except ConsoleRefused as e:
            raise _refused(e) from None
        return 200, out

    @defer.inlineCallbacks
    def split(self, request, principal, report_id):
        """POST /api/v1/console/reports/{id}/split {"reason"}: the report leaves its case for a new one."""
        require(principal, *DESK)
        rid = _report_id(report_id)
        data = _object(request, {"reason"})
        errors: list = []
        reason = _reason(data, True, errors)
        if errors:
            raise InvalidInput(errors)
        try:
            out = yield self.store.split_report(rid, reason, principal.actor, self.now())
        except ConsoleRefused as e:
            raise _refused(e) from None
        return 201, out

    @defer.inlineCallbacks
    def upload_photo(self, request, principal, case_id):
        """POST /api/v1/console/cases/{id}/photos?purpose=result|verification|other: the body is the
        image itself; type (by its bytes) and size are checked; a department only on its own cases."""
        require(principal, *PHOTO_ROLES)
        ref = _case_ref(case_id)
        purpose = (request.args.get(b"purpose") or [b"other"])[-1].decode("utf-8", "replace")
        if purpose not in ("result", "verification", "other"):
            raise InvalidInput([FieldError("purpose", "one of result, verification, other")])
        declared = (request.getHeader(b"content-type") or b"").decode("latin-1")
        data = request.content.read(MAX_PHOTO_BYTES + 1)
        ctype = image_type(data, declared)
        dept = principal.department_id if principal.role == "department" else None
        try:
            out = yield self.store.add_photo(ref, data, ctype, purpose, principal.actor, dept, self.now())
        except ConsoleRefused as e:
            raise _refused(e) from None
        out["url"] = f"/console/files/photos/{out['id']}"
        return 201, out

    @defer.inlineCallbacks
    def list_photos(self, request, principal, case_id):
        """GET /api/v1/console/cases/{id}/photos: the photos of a case (a department: its own)."""
        from intake.db.loop_store import LoopStore
        found = yield LoopStore(self.db).case_with_history(_case_ref(case_id))
        if found is None:
            raise NotFound(f"no case {case_id}")
        case = found[0]
        if principal.role == "department" and case["department_id"] != principal.department_id:
            raise AuthError(403, "this case belongs to another department")
        rows = yield self.store.photos_of(case["id"])
        return 200, {"items": [dict(r, url=f"/console/files/photos/{r['id']}") for r in rows]}


class ConsoleFiles(resource.Resource):
    """/console/files/: binary answers (photos, the evaluation workbook) with the same checks."""

    isLeaf = True

    def __init__(self, api: ConsoleApi):
        super().__init__()
        self.api = api

    def render_GET(self, request):
        parts = [p.decode("utf-8", "replace") for p in request.postpath if p]
        d = self.api.auth.principal(request)
        if len(parts) == 2 and parts[0] == "photos" and parts[1].isdigit() and len(parts[1]) < 12:
            d.addCallback(self._photo, request, int(parts[1]))
        elif parts == ["evaluation.xlsx"]:
            d.addCallback(self._xlsx, request)
        else:
            d = defer.fail(NotFound("no such file"))
        d.addCallbacks(lambda res: self._send(request, *res), lambda f: self._error(request, f))
        return server.NOT_DONE_YET

    @defer.inlineCallbacks
    def _photo(self, principal, request, photo_id):
        require(principal, *PHOTO_ROLES, "auditor", "dispatcher")
        found = yield self.api.store.photo(photo_id)
        if found is None:
            raise NotFound(f"no photo {photo_id}")
        dept, ctype, data = found
        if principal.role == "department" and dept != principal.department_id:
            raise AuthError(403, "this photo belongs to another department's case")
        return ctype, data, None

    @defer.inlineCallbacks
    def _xlsx(self, principal, request):
        from intake.http.loop_api import EVALUATION_READERS
        require(principal, *EVALUATION_READERS)
        args = {k.decode(): v[-1].decode("utf-8", "replace") for k, v in request.args.items()}
        errors: list = []
        tz = self.api.tz
        start = parse_time(_day(args.get("from", "")), "from", tz, errors)
        end = parse_time(_day(args.get("to", "")), "to", tz, errors)
        if errors:
            raise InvalidInput(errors)
        tables = yield evaluation_tables(self.api.config, self.api.db, start, end)
        from intake.commands.report import _xlsx
        buf = io.BytesIO()
        _xlsx(tables, buf)
        name = f"evaluation-{start.date()}-{end.date()}.xlsx"
        return ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", buf.getvalue(), name)

    def _send(self, request, ctype, data, filename) -> None:
        request.setHeader(b"Content-Type", ctype.encode())
        request.setHeader(b"Cache-Control", b"private, no-store")
        request.setHeader(b"X-Content-Type-Options", b"nosniff")
        if filename:
            request.setHeader(b"Content-Disposition", f'attachment; filename="{filename}"'.encode())
        request.write(data)
        request.finish()

    def _error(self, request, failure) -> None:
        from intake.http.router import dumps
        status, body = 500, {"error": "internal error; the request was logged"}
        if failure.check(AuthError):
            status, body = failure.value.status, {"error": failure.value.message}
        elif failure.check(NotFound):
            status, body = 404, {"error": str(failure.value)}
        elif failure.check(InvalidInput):
            e = failure.value.errors[0]
            status, body = 400, {"error": f"{e.field}: {e.message}", "field": e.field}
        else:
            log.failure("console file", failure)
        request.setResponseCode(status)
        request.setHeader(b"Content-Type", b"application/json; charset=utf-8")
        request.write(dumps(body))
        request.finish()


def _day(value: str) -> str:
    return value + "T00:00:00" if len(value) == 10 else value


@defer.inlineCallbacks
def evaluation_tables(config, db, start, end):
    """The evaluation tables of `hotline report` for a period, computed on the DB pool."""
    from intake.commands.report import _state_counts
    from intake.db.loop_store import SATISFACTION_ANSWERS, LoopStore
    from intake.loop_config import calendar_of, limits_of
    from routing.evaluation import Evaluator
    loop = LoopStore(db)
    records = yield loop.evaluation_records(start, end)
    tables = Evaluator(limits_of(config), calendar_of(config), start, end).evaluate(records)
    names = {d.id: d.name for d in config.departments.values()}
    for row in tables["departments"]:
        row["name"] = f"{names.get(row['name'], row['name'])} ({row['name']})"
    tables["centre"] = [tables["centre"]]
    counts = yield db.do(_state_counts)
    tables["states"] = [{"status": s, "label": wf.STATES[s], "cases": counts.get(s, 0)} for s in wf.STATES]
    sat = yield loop.satisfaction_counts(start, end)
    tables["satisfaction"] = [{"answer": a, "label": label, "count": sat.get(a, 0)}
                              for a, label in SATISFACTION_ANSWERS.items()]
    return tables


class ConsolePages(static.File):
    """The console's static pages with headers that keep citizens' text inert: a strict
    Content-Security-Policy (no inline script, same origin only), no sniffing, no framing."""

    # Class-level so every file below the folder (createSimilarFile) declares UTF-8.
    contentTypes = dict(static.File.contentTypes, **{
        ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
        ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"})

    def render(self, request):
        request.setHeader(b"Content-Security-Policy", CSP)
        request.setHeader(b"X-Content-Type-Options", b"nosniff")
        request.setHeader(b"X-Frame-Options", b"DENY")
        request.setHeader(b"Referrer-Policy", b"same-origin")
        request.setHeader(b"Cache-Control", b"no-cache")
        return super().render(request)


def console_resource(api: ConsoleApi) -> resource.Resource:
    """/console/: the pages (index = sign-in) and /console/files/."""
    pages = ConsolePages(str(STATIC), defaultType="application/octet-stream")
    pages.indexNames = ["index.html"]
    pages.putChild(b"files", ConsoleFiles(api))
    return pages


def register(router, *, config, db, clock, auth, **_) -> ConsoleApi:
    """API_MODULES entry point: the console's JSON routes (the pages are mounted by build_service)."""
    api = ConsoleApi(config, db, clock, auth)
    api.register(router)
    return api
