"""The supervisor audit of classifications, JSON API (the web pages come later).

    GET  /api/v1/audit/queue                 reports waiting for review (operator, shift_chief, auditor)
    POST /api/v1/reports/{id}/review         confirm, correct or override a report's code
    GET  /api/v1/reports/{id}/reviews        the append-only review trail of a report
    GET  /api/v1/audit/accuracy              the machine's accuracy from reviews (shift_chief, auditor)

Thin adapters: parse and check the request, call intake.db.audit_store, shape the answer. The
review threshold and audit sample rate come from config (hotline.yaml `classifier`); time comes
from the injected clock.
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from twisted.internet import defer

from intake.http.params import int_arg, int_param, query_args, with_principal
from intake.auth import require
from intake.db.audit_store import (GROUPINGS, AuditStore, Classification, ReviewRefused,
                                   accuracy_summary)
from intake.http.api import SEES_PHONE, mask_phone
from intake.http.router import HttpError, NotFound
from intake.models import CHANNELS
from intake.validation import FieldError, InvalidInput, decode_json_body, parse_time

# Who works the queue and records reviews: operators at intake, supervisors in audits.
REVIEWERS = ("operator", "shift_chief", "auditor")
# Who reads accuracy reports: the supervisors.
SUPERVISORS = ("shift_chief", "auditor")
REVIEW_FIELDS = frozenset({"code", "out_of_scope", "agency", "reason"})
MAX_REASON_CHARS = 1000
MAX_PAGE = 200
DEFAULT_PERIOD = dt.timedelta(days=30)
# Accuracy rows are summarised in memory: a year of reviews is the most one request reads.
MAX_PERIOD = dt.timedelta(days=366)


def register(router, *, config, db, clock, auth, **_) -> "AuditApi":
    """Add the audit routes to the service's router (an entry of intake.app.API_MODULES)."""
    api = AuditApi(config, AuditStore(db), clock, auth)
    api.register(router)
    return api


class AuditApi:
    """Handlers of the audit routes."""

    def __init__(self, config, audit_store: AuditStore, clock, authenticator):
        self.config = config
        self.store = audit_store
        self.clock = clock
        self.auth = authenticator
        self.tz = ZoneInfo(config.service.timezone)

    def register(self, r) -> None:
        """Add this module's routes to a JsonRouter."""
        r.add("GET", "/api/v1/audit/queue", self.authenticated(self.queue))
        r.add("GET", "/api/v1/audit/accuracy", self.authenticated(self.accuracy))
        r.add("POST", "/api/v1/reports/{report_id}/review", self.authenticated(self.review))
        r.add("GET", "/api/v1/reports/{report_id}/reviews", self.authenticated(self.reviews))

    def authenticated(self, handler):
        """Wrap a handler so it runs with the caller's Principal (401 without a valid token)."""
        return with_principal(self.auth, handler)

    def now(self) -> dt.datetime:
        """The injected clock's time as an aware datetime."""
        return dt.datetime.fromtimestamp(self.clock.seconds(), tz=dt.timezone.utc)

    # -- shaping -------------------------------------------------------------------------------
    def classification_json(self, c: Classification) -> dict:
        """A code with its name, or out of scope with the agency and its name."""
        matters = self.config.taxonomy.matters
        agency = self.config.agencies.get(c.agency) if c.agency else None
        return {"code": c.code, "name": matters[c.code].name if c.code in matters else None,
                "out_of_scope": c.out_of_scope, "agency": c.agency if c.out_of_scope else None,
                "agency_name": agency.name if agency is not None and c.out_of_scope else None}

    def review_json(self, rv) -> dict:
        """One row of the trail."""
        return {"id": rv.id, "report_id": rv.report_id, "kind": rv.kind, "reviewer": rv.reviewer,
                "role": rv.role, "at": rv.at, "model_version": rv.model_version,
                "old": self.classification_json(rv.old), "new": self.classification_json(rv.new),
                "reason": rv.reason, "case_id": rv.case_id}

    # -- handlers ------------------------------------------------------------------------------
    @defer.inlineCallbacks
    def queue(self, request, principal):
        """GET /api/v1/audit/queue?limit=&offset=&channel=: reports below the review threshold or in the
        audit sample that nobody has reviewed yet, newest first."""
        require(principal, *REVIEWERS)
        args = query_args(request)
        errors = [FieldError(k, "unknown query parameter") for k in sorted(set(args) - {"limit", "offset", "channel"})]
        limit = int_arg(args, "limit", 50, 1, MAX_PAGE, errors)
        offset = int_arg(args, "offset", 0, 0, 10 ** 9, errors)
        channel = args.get("channel")
        if channel is not None and channel not in CHANNELS:
            errors.append(FieldError("channel", f"unknown channel {channel!r}; one of {', '.join(CHANNELS)}"))
        if errors:
            raise InvalidInput(errors)
        settings = self.config.classifier
        total, items = yield self.store.queue(settings.review_threshold, limit=limit, offset=offset, channel=channel)
        sees_phone = principal.role in SEES_PHONE
        matters = self.config.taxonomy.matters
        out = []
        for it in items:
            out.append({
                "report_id": it.report_id, "channel": it.channel, "external_id": it.external_id,
                "received_at": it.received_at, "text": it.text,
                "caller": it.caller if sees_phone else mask_phone(it.caller),
                "proposed": self.classification_json(it.proposed),
                "confidence": round(it.confidence, 4), "abstain": it.abstain,
                "candidates": [{"code": c.get("code"), "name": matters[c["code"]].name if c.get("code") in matters else None,
                                "confidence": c.get("confidence")} for c in it.candidates],
                "model_version": it.model_version, "reasons": list(it.reasons),
                # below_threshold: the machine was unsure; flagged_at_intake: a person was asked for
                # another reason (an uncertain duplicate); audit_sample: a confident decision picked
                # at random for audit.
                "queued_because": [w for w, on in (
                    ("below_threshold", it.below_threshold),
                    ("flagged_at_intake", it.flagged and not it.below_threshold),
                    ("audit_sample", it.audit_sampled)) if on],
                "case": None if it.case_id is None else {"id": it.case_id, "number": it.case_number},
            })
        nxt = offset + limit if offset + limit < total else None
        return 200, {"total": total, "limit": limit, "offset": offset, "next_offset": nxt,
                     "review_threshold": settings.review_threshold, "audit_sample_rate": settings.audit_sample_rate,
                     "items": out}

    @defer.inlineCallbacks
    def review(self, request, principal, report_id):
        """POST /api/v1/reports/{id}/review {"code", "out_of_scope"?, "agency"?, "reason"}: append a
        confirm/correct (operator) or confirm/override (shift chief, auditor) to the report's trail."""
        require(principal, *REVIEWERS)
        rid = int_param(report_id, "report_id")
        ctype = (request.getHeader(b"content-type") or b"").decode("latin-1").lower()
        if ctype and "json" not in ctype:
            raise HttpError(415, f"content type {ctype!r} not supported; send application/json", "body")
        new, reason = self.parse_review(decode_json_body(request.content.read()))
        if new.out_of_scope and new.agency is None:
            # "Out of scope" again without naming the agency: keep the one already proposed.
            trail = yield self.store.trail(rid)
            if trail is None:
                raise NotFound(f"no report {rid}")
            if not (trail.final.out_of_scope and trail.final.agency):
                raise InvalidInput([FieldError("agency", "is required for an out-of-scope report: the id of the "
                                               "agency it belongs to (config/agencies.yaml)")])
            new = Classification(None, True, trail.final.agency)
        try:
            outcome = yield self.store.review(rid, new, reason, user_id=principal.user_id, reviewer=principal.name,
                                              role=principal.role, actor=principal.actor, at=self.now())
        except ReviewRefused as e:
            if e.status == 404:
                raise NotFound(e.message)
            if e.status == 400:
                raise InvalidInput([FieldError(e.field, e.message)])
            raise HttpError(e.status, e.message, e.field)
        body = self.review_json(outcome.review)
        body["case"] = None if outcome.case_id is None else {
            "id": outcome.case_id, "number": outcome.case_number, "code_updated": outcome.case_updated,
            "note": outcome.case_note}
        return 201, body

    def parse_review(self, data) -> tuple[Classification, str | None]:
        """The review body -> (classification, reason); InvalidInput naming every bad field."""
        if not isinstance(data, dict):
            raise InvalidInput([FieldError("body", f"expected a JSON object, got {type(data).__name__}")])
        errors = [FieldError(k, "unknown field") for k in sorted(set(data) - REVIEW_FIELDS)]
        if "code" not in data:
            errors.append(FieldError("code", "is required: a matter code such as \"06042\", or null with "
                                             "out_of_scope true"))
        code = data.get("code")
        if code is not None and not (isinstance(code, str) and code in self.config.taxonomy.matters):
            errors.append(FieldError("code", f"{code!r} is not a matter code of GB/T 47678.5-2026"))
            code = None
        oos = data.get("out_of_scope")
        if oos is not None and not isinstance(oos, bool):
            errors.append(FieldError("out_of_scope", f"must be true or false, got {type(oos).__name__}"))
            oos = None
        if "code" in data and data["code"] is not None and oos is True:
            errors.append(FieldError("out_of_scope", "a report with a matter code is in scope; send code null "
                                                     "to mark it out of scope"))
        if "code" in data and data["code"] is None and oos is False:
            errors.append(FieldError("code", "is required when out_of_scope is false"))
        agency = data.get("agency")
        if agency is not None:
            if not isinstance(agency, str) or agency not in self.config.agencies:
                errors.append(FieldError("agency", f"unknown agency {agency!r}; an id of config/agencies.yaml"))
                agency = None
            elif data.get("code") is not None:
                errors.append(FieldError("agency", "only an out-of-scope report (code null) names an agency"))
        reason = data.get("reason")
        if reason is not None:
            if not isinstance(reason, str):
                errors.append(FieldError("reason", f"must be a string, got {type(reason).__name__}"))
                reason = None
            else:
                reason = reason.strip() or None
                if reason and len(reason) > MAX_REASON_CHARS:
                    errors.append(FieldError("reason", f"is {len(reason)} characters; the limit is {MAX_REASON_CHARS}"))
        if errors:
            raise InvalidInput(errors)
        if code is None:
            return Classification(None, True, agency), reason
        return Classification(code, False, None), reason

    @defer.inlineCallbacks
    def reviews(self, request, principal, report_id):
        """GET /api/v1/reports/{id}/reviews: the machine's classification, every review in order, and
        the classification that stands."""
        require(principal, *REVIEWERS)
        rid = int_param(report_id, "report_id")
        trail = yield self.store.trail(rid)
        if trail is None:
            raise NotFound(f"no report {rid}")
        return 200, {"report_id": rid, "channel": trail.channel, "model_version": trail.model_version,
                     "machine": dict(self.classification_json(trail.machine), confidence=round(trail.confidence, 4)),
                     "reviews": [self.review_json(rv) for rv in trail.reviews],
                     "final": self.classification_json(trail.final)}

    @defer.inlineCallbacks
    def accuracy(self, request, principal):
        """GET /api/v1/audit/accuracy?from=&to=&by=code|machine_code|channel|operator|model_version: the
        machine's accuracy on the reports received (and so classified) in [from, to) that were
        reviewed (default: the 30 days before now), with counts and the confusion pairs."""
        require(principal, *SUPERVISORS)
        args = query_args(request)
        errors = [FieldError(k, "unknown query parameter") for k in sorted(set(args) - {"from", "to", "by"})]
        until = parse_time(args["to"], "to", self.tz, errors) if "to" in args else self.now()
        since = parse_time(args["from"], "from", self.tz, errors) if "from" in args else None
        by = args.get("by", "code")
        if by not in GROUPINGS:
            errors.append(FieldError("by", f"unknown grouping {by!r}; one of {', '.join(GROUPINGS)}"))
        if until is not None and since is None and "from" not in args:
            since = until - DEFAULT_PERIOD
        if since is not None and until is not None:
            if since >= until:
                errors.append(FieldError("from", "must be before to"))
            elif until - since > MAX_PERIOD:
                errors.append(FieldError("from", f"the period is at most {MAX_PERIOD.days} days"))
        if errors:
            raise InvalidInput(errors)
        rows = yield self.store.reviewed(since, until, threshold=self.config.classifier.review_threshold,
                                         with_text=False)
        summary = accuracy_summary(rows, by)
        if by in ("code", "machine_code"):
            matters = self.config.taxonomy.matters
            for g in summary["groups"]:
                g["name"] = matters[g["key"]].name if g["key"] in matters else None
        return 200, dict({"from": since, "to": until, "by": by, "period_of": "received_at"}, **summary)
