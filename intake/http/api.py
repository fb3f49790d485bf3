"""The JSON API v1: reports in, reports and cases out.

Thin adapters (Synapse's servlets): parse and check the request, hand a normalised report to the
pipeline, shape the answer. The logic lives in intake.pipeline and the stores.
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from twisted.internet import defer

from intake.auth import REPORT_SENDERS, AuthError, require
from intake.http.openapi import openapi_document
from intake.http.params import int_arg, int_param, query_args, with_principal
from intake.http.router import HttpError, JsonRouter, NotFound
from intake.models import CaseRow
from intake.pipeline import result_json
from intake.validation import FieldError, InvalidInput, decode_json_body, parse_report, parse_time

MAX_PAGE = 200


# Roles that may see citizens' phone numbers (to call them back); everyone else sees them masked.
SEES_PHONE = {"operator", "shift_chief", "admin"}


def mask_phone(number: str | None) -> str | None:
    """139****0001: enough to tell callers apart, not enough to call them."""
    if not number:
        return number
    if len(number) <= 4:
        return "*" * len(number)
    keep = 3 if len(number) >= 11 else 1
    return number[:keep] + "*" * (len(number) - keep - 4) + number[-4:]


def case_json(c: CaseRow, taxonomy=None, sees_phone: bool = True) -> dict:
    """A case as the API shows it (reports and history when loaded)."""
    body = {
        "id": c.id, "number": c.number, "status": c.status, "code": c.code,
        "name": taxonomy.matters[c.code].name if taxonomy is not None and c.code in taxonomy.matters else None,
        "street": c.street, "community": c.community, "grid": c.grid, "department": c.department_id,
        "level": c.level, "emergency": c.emergency, "hot": c.hot, "inspector_confirmed": c.inspector_confirmed,
        "report_count": c.report_count, "channels": list(c.channels), "recurrence_of": c.recurrence_of,
        "opened_at": c.opened_at, "last_report_at": c.last_report_at, "closed_at": c.closed_at,
    }
    if c.reports:
        body["reports"] = [dict(r, caller=r.get("caller") if sees_phone else mask_phone(r.get("caller")))
                           for r in c.reports]
    if c.history:
        body["history"] = [{"at": e["at"], "actor": e["actor"], "kind": e["kind"], "detail": e["detail"]}
                           for e in c.history]
    return body


class ApiV1:
    """Handlers of /api/v1; `resource()` gives the twisted.web resource."""

    def __init__(self, config, pipeline, store, clock, authenticator):
        self.config = config
        self.auth = authenticator
        self.pipeline = pipeline
        self.store = store
        self.clock = clock
        self.tz = ZoneInfo(config.service.timezone)
        self._streets = set()
        for s in config.district.streets.values():
            self._streets.add(s.name)
            self._streets.update(s.aliases)

    def resource(self) -> JsonRouter:
        """A router with this module's routes only (tests use it alone)."""
        r = JsonRouter()
        self.register(r)
        return r

    def register(self, r: JsonRouter) -> None:
        """Add this module's routes to the service's router."""
        self.router = r
        r.add("POST", "/api/v1/reports", self.authenticated(self.post_report))
        r.add("GET", "/api/v1/reports/{report_id}", self.authenticated(self.get_report))
        r.add("GET", "/api/v1/cases", self.authenticated(self.list_cases))
        r.add("GET", "/api/v1/cases/{case_id}", self.authenticated(self.get_case))
        r.add("GET", "/api/v1/public/cases/{number}", self.public_case)
        r.add("GET", "/api/v1/openapi.json", self.openapi)
        r.add("GET", "/api/v1/health", self.health)

    def authenticated(self, handler):
        """Wrap a handler so it runs with the caller's Principal (401 without a valid token)."""
        return with_principal(self.auth, handler)

    def check_case_access(self, principal, department_id) -> None:
        """A department sees only its own cases: the server refuses, not only the page."""
        if principal.role == "department" and department_id != principal.department_id:
            raise AuthError(403, f"this case belongs to another department; {principal.name} sees only "
                                 f"cases of {principal.department_id}")

    def now(self) -> dt.datetime:
        """The injected clock's time as an aware datetime."""
        return dt.datetime.fromtimestamp(self.clock.seconds(), tz=dt.timezone.utc)

    @defer.inlineCallbacks
    def post_report(self, request, principal):
        """POST /api/v1/reports: take a report; 201 when new, 200 with the first answer for a retry."""
        require(principal, *REPORT_SENDERS)
        ctype = (request.getHeader(b"content-type") or b"").decode("latin-1").lower()
        if ctype and "json" not in ctype:
            raise HttpError(415, f"content type {ctype!r} not supported; send application/json", "body")
        data = decode_json_body(request.content.read())
        report = parse_report(data, now=self.now(), tz=self.tz, max_text_chars=self.config.service.max_text_chars,
                              known_streets=self._streets, known_codes=self.config.taxonomy.matters.keys())
        if (report.channel == "inspector") != (principal.role in ("inspector", "admin")):
            raise AuthError(403, "only inspectors' devices send channel inspector (their code is authoritative)"
                            if report.channel == "inspector" else
                            f"an inspector's token sends channel inspector, not {report.channel}")
        result = yield self.pipeline.submit(report)
        return (200 if result.replayed else 201), result_json(result, self.config)

    @defer.inlineCallbacks
    def get_report(self, request, principal, report_id):
        """GET /api/v1/reports/{id}: the report as received and what was decided about it."""
        rid = int_param(report_id, "report_id")
        found = yield self.store.get_report(rid)
        if found is None:
            raise NotFound(f"no report {rid}")
        r, d = found["report"], found["decision"]
        if principal.role == "department":
            self.check_case_access(principal, found.get("case_department"))
        body = {k: r[k] for k in ("id", "channel", "external_id", "text", "caller", "address", "street_hint",
                                  "code_hint", "lng", "lat", "received_at", "stored_at")}
        if principal.role not in SEES_PHONE:
            body["caller"] = mask_phone(body["caller"])
        body["decision"] = None if d is None else {k: v for k, v in d.items() if k != "report_id"}
        if d is not None:
            body["decision"]["tokens"] = d["tokens"].split()
        return 200, body

    @defer.inlineCallbacks
    def get_case(self, request, principal, case_id):
        """GET /api/v1/cases/{id or number}: the case with its reports and history."""
        if case_id.isdigit() and len(case_id) >= 10:
            c = yield self.store.get_case(number=case_id)
        else:
            c = yield self.store.get_case(case_id=int_param(case_id, "case_id"))
        if c is None:
            raise NotFound(f"no case {case_id}")
        self.check_case_access(principal, c.department_id)
        return 200, case_json(c, self.config.taxonomy, principal.role in SEES_PHONE)

    @defer.inlineCallbacks
    def public_case(self, request, number):
        """GET /api/v1/public/cases/{number}: a citizen's status lookup; no token, no personal data."""
        if not number.isdigit() or len(number) > 20:
            raise InvalidInput([FieldError("number", "a case number is digits only")])
        c = yield self.store.get_case(number=number)
        if c is None:
            raise NotFound(f"no case {number}")
        name = self.config.taxonomy.matters[c.code].name if c.code in self.config.taxonomy.matters else None
        # When closed, the department's result note (what was done), never who reported or handled it.
        result = None
        if c.status == "closed":
            done = [e for e in c.history if e["kind"] == "finished"]
            result = (done[-1]["detail"] or {}).get("note") if done else None
        return 200, {"number": c.number, "status": c.status, "matter": name, "street": c.street,
                     "opened_at": c.opened_at, "closed_at": c.closed_at, "report_count": c.report_count,
                     "result": result}

    @defer.inlineCallbacks
    def list_cases(self, request, principal):
        """GET /api/v1/cases?status=&street=&code=&from=&to=&limit=&offset=: filtered, paged (a department
        sees only its own cases)."""
        args = query_args(request)
        allowed = {"status", "street", "code", "from", "to", "limit", "offset"}
        errors = [FieldError(k, "unknown query parameter") for k in sorted(set(args) - allowed)]
        since = parse_time(args["from"], "from", self.tz, errors) if "from" in args else None
        until = parse_time(args["to"], "to", self.tz, errors) if "to" in args else None
        limit = int_arg(args, "limit", 50, 1, MAX_PAGE, errors)
        offset = int_arg(args, "offset", 0, 0, 10 ** 9, errors)
        street = args.get("street")
        if street:
            s = self.config.district.street_by_name(street)
            if s is None:
                errors.append(FieldError("street", f"unknown street/town {street!r}"))
            else:
                street = s.name
        if errors:
            raise InvalidInput(errors)
        department = principal.department_id if principal.role == "department" else None
        total, rows = yield self.store.list_cases(status=args.get("status"), street=street, code=args.get("code"),
                                                  since=since, until=until, limit=limit, offset=offset,
                                                  department=department)
        nxt = offset + limit if offset + limit < total else None
        return 200, {"total": total, "limit": limit, "offset": offset, "next_offset": nxt,
                     "items": [case_json(c, self.config.taxonomy, principal.role in SEES_PHONE) for c in rows]}

    def openapi(self, request):
        """GET /api/v1/openapi.json: the OpenAPI 3 description of this API."""
        from intake.http.openapi import complete
        return 200, complete(openapi_document(), self.router.routes)

    def health(self, request):
        """GET /api/v1/health: the service is up and which model it runs."""
        return 200, {"status": "ok", "model_version": getattr(self.pipeline.analyser, "model_version", None)}
