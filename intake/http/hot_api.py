"""Supervisors' views of duplicates at scale: hot issues and recurring places.

GET /api/v1/hot-issues?from=&to=         cases with many reports in a short time (issue rule in config)
GET /api/v1/recurring-places?from=&to=&min_cases=2
                                          grid + matter pairs that keep producing cases
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from twisted.internet import defer

from intake.auth import require
from intake.db.hot_store import HotSpotStore
from intake.validation import FieldError, InvalidInput, parse_time

READERS = ("shift_chief", "auditor", "operator", "dispatcher")


class HotSpotApi:
    """Handlers; `register` adds them to the service's router."""

    def __init__(self, config, db, clock, auth):
        self.config = config
        self.store = HotSpotStore(db)
        self.clock = clock
        self.auth = auth
        self.tz = ZoneInfo(config.service.timezone)

    def register(self, router) -> None:
        """Add the routes."""
        router.add("GET", "/api/v1/hot-issues", self.hot_issues)
        router.add("GET", "/api/v1/recurring-places", self.recurring_places)

    def _period(self, request, extra=()):
        args = {k.decode(): v[-1].decode("utf-8", "replace") for k, v in request.args.items()}
        errors = [FieldError(k, "unknown query parameter") for k in sorted(set(args) - {"from", "to", *extra})]
        now = dt.datetime.fromtimestamp(self.clock.seconds(), tz=dt.timezone.utc)
        since = parse_time(args["from"], "from", self.tz, errors) if "from" in args else now - dt.timedelta(days=30)
        until = parse_time(args["to"], "to", self.tz, errors) if "to" in args else now + dt.timedelta(seconds=1)
        return args, since, until, errors

    def _name(self, code):
        m = self.config.taxonomy.matters.get(code)
        return m.name if m else None

    @defer.inlineCallbacks
    def hot_issues(self, request):
        """Hot issues active in the period (default: the last 30 days)."""
        require((yield self.auth.principal(request)), *READERS)
        _, since, until, errors = self._period(request)
        if errors:
            raise InvalidInput(errors)
        rows = yield self.store.hot_issues(since, until)
        rule = self.config.duplicates
        return 200, {"rule": f"{rule.hot_reports} or more reports within {rule.hot_days} days",
                     "items": [dict(r, name=self._name(r["code"])) for r in rows]}

    @defer.inlineCallbacks
    def recurring_places(self, request):
        """Grid + matter pairs with several cases in the period (default: the last 30 days)."""
        require((yield self.auth.principal(request)), *READERS)
        args, since, until, errors = self._period(request, extra=("min_cases",))
        min_cases = 2
        if "min_cases" in args:
            if not args["min_cases"].isdigit() or not 2 <= int(args["min_cases"]) <= 1000:
                errors.append(FieldError("min_cases", "must be an integer between 2 and 1000"))
            else:
                min_cases = int(args["min_cases"])
        if errors:
            raise InvalidInput(errors)
        rows = yield self.store.recurring_places(since, until, min_cases)
        return 200, {"min_cases": min_cases, "items": [dict(r, name=self._name(r["code"])) for r in rows]}


def register(router, *, config, db, clock, auth, **_):
    """API_MODULES entry point."""
    HotSpotApi(config, db, clock, auth).register(router)
