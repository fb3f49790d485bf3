"""Fixtures for the intake tests: the API over a synchronous app on each database backend."""
from __future__ import annotations

from dataclasses import dataclass

import pytest
from twisted.internet.task import Clock

START = 1795741200.0  # 2026-11-27T01:00:00Z


@dataclass
class ApiEnv:
    """The API resource with the parts a test may want to look at, and a token per role."""

    resource: object
    api: object
    app: object
    clock: Clock
    config: object
    tokens: dict

    def call(self, method, path, body=None, role=None, **kw):
        """A request with the token of `role` (default: inspector or channel for POST, operator for GET)."""
        from tests.intake.helpers import call
        if role is None:
            if method == "POST":
                role = "inspector" if isinstance(body, dict) and body.get("channel") == "inspector" else "channel"
            else:
                role = "operator"
        return call(self.resource, method, path, body, token=self.tokens.get(role), **kw)


@pytest.fixture
def api_env(db_url, config, analyser):
    """ApiV1 over a SyncApp (store calls inline) on a fresh database, clock at 2026-11-27 09:00 +08."""
    from intake.app import build_sync_app
    from intake.auth import Authenticator, create_token_thd
    from intake.db.pool import run_sync
    from intake.http.api import ApiV1
    app = build_sync_app(config, db_url, analyser=analyser)
    clock = Clock()
    clock.advance(START)  # 2026-11-27T01:00:00Z = 09:00 in Changzhou
    db = app.store.db
    tokens = {role: run_sync(db.do(create_token_thd, f"test-{role}", role)) for role in
              ("channel", "inspector", "operator", "shift_chief", "dispatcher", "auditor")}
    for dept in ("locality-sanjing", "power"):
        if dept in config.departments:
            tokens[f"department:{dept}"] = run_sync(db.do(create_token_thd, f"test-{dept}", "department", dept))
    from intake.app import API_MODULES
    from intake.http.router import JsonRouter
    auth = Authenticator(db, clock)
    api = ApiV1(config, app.pipeline, app.store, clock, auth)
    router = JsonRouter()
    api.register(router)
    for register in API_MODULES:
        register(router, config=config, db=db, store=app.store, pipeline=app.pipeline, clock=clock, auth=auth)
    try:
        yield ApiEnv(resource=router, api=api, app=app, clock=clock, config=config, tokens=tokens)
    finally:
        app.close()
