"""Fixtures for the intake tests: the API over a synchronous app on each database backend."""
from __future__ import annotations

from dataclasses import dataclass

import pytest
from twisted.internet.task import Clock

START = 1795741200.0  # 2026-11-27T01:00:00Z


@dataclass
class ApiEnv:
    """The API resource with the parts a test may want to look at."""

    resource: object
    api: object
    app: object
    clock: Clock
    config: object


@pytest.fixture
def api_env(db_url, config, analyser):
    """ApiV1 over a SyncApp (store calls inline) on a fresh database, clock at 2026-11-27 09:00 +08."""
    from intake.app import build_sync_app
    from intake.http.api import ApiV1
    app = build_sync_app(config, db_url, analyser=analyser)
    clock = Clock()
    clock.advance(START)  # 2026-11-27T01:00:00Z = 09:00 in Changzhou
    api = ApiV1(config, app.pipeline, app.store, clock)
    try:
        yield ApiEnv(resource=api.resource(), api=api, app=app, clock=clock, config=config)
    finally:
        app.close()
