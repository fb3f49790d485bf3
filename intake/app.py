"""Assembling the service: each part gets exactly what it needs (no god object).

`open_database` prepares the schema; `build_pipeline` wires the pure parts (analyser, duplicate
decider, router) to a store; `HotlineService` owns the thread pools and the HTTP port.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from twisted.application import service, strports
from twisted.internet import defer, threads
from twisted.python import threadpool
from twisted.web import resource, server

import nlp
from intake.db.migrate import ensure_schema
from intake.db.pool import DBThreadPool, SyncRunner, make_engine
from intake.db.store import Store
from intake.http import audit_api, console_api, hot_api, loop_api
from intake.http import calls_api
from intake.channels.smpp import gateway as sms_gateway
from intake.pipeline import IntakePipeline

DEFAULT_MODEL = Path(nlp.__file__).resolve().parent / "model" / "current.pkl"


class StartupError(Exception):
    """The service cannot start; the message says why and what to do."""


def model_path(config) -> Path:
    """The classifier model the config names, or the bundled one."""
    p = config.classifier.model_path
    if not p:
        return DEFAULT_MODEL
    p = Path(p)
    return p if p.is_absolute() else (Path(config.directory) / p)


def load_analyser(config):
    """Load the trained model; a missing model is a startup error naming the fix."""
    from nlp.analyser import ReportAnalyser
    path = model_path(config)
    if not path.exists():
        raise StartupError(f"no classifier model at {path}: run `hotline train` (the setup script does)")
    return ReportAnalyser.load(path, config.taxonomy, config.places, config.agencies,
                               config.classifier.review_threshold)


def open_database(url: str):
    """An engine whose schema is ready (created when empty); StartupError when it is stale."""
    from intake.db.migrate import SchemaOutOfDate
    engine = make_engine(url)
    try:
        ensure_schema(engine)
    except SchemaOutOfDate as e:
        engine.dispose()
        raise StartupError(str(e)) from e
    except Exception as e:  # noqa: BLE001 - turned into a clear startup message
        engine.dispose()
        raise StartupError(f"cannot open database {engine.url.render_as_string(hide_password=True)}: {e}") from e
    return engine


def build_pipeline(config, analyser, store, run_cpu) -> IntakePipeline:
    """The pipeline with the duplicate decider and router built from config."""
    from routing.duplicates import DuplicateDecider
    from routing.router import Router
    gazetteer = {p.name: p for p in config.places}
    from intake.pipeline import RECURRENCE_DAYS
    decider = DuplicateDecider(config.taxonomy, config.district, config.duplicates, gazetteer=gazetteer,
                               recurrence_days=RECURRENCE_DAYS)
    router = Router(config.departments, config.routing, config.district)
    return IntakePipeline(config, analyser, decider, router, store, run_cpu)


@dataclass
class SyncApp:
    """The pipeline without a reactor: for replay and tests of the whole flow."""

    store: Store
    pipeline: IntakePipeline
    engine: object

    def close(self) -> None:
        """Release the database."""
        self.engine.dispose()


def build_sync_app(config, db_url: str, analyser=None) -> SyncApp:
    """Everything inline: store calls and analysis run in the caller's thread."""
    engine = open_database(db_url)
    store = Store(SyncRunner(engine))
    analyser = analyser or load_analyser(config)
    pipeline = build_pipeline(config, analyser, store, lambda f, *a, **k: defer.maybeDeferred(f, *a, **k))
    return SyncApp(store=store, pipeline=pipeline, engine=engine)


class PoolService(service.Service):
    """Starts and stops a thread pool (or DB pool) with the service tree."""

    def __init__(self, pool, name: str):
        self.pool = pool
        self.setName(name)

    def startService(self):
        """Start the threads."""
        super().startService()
        self.pool.start()

    def stopService(self):
        """Stop the threads once running work finished (in a thread: stop() joins)."""
        super().stopService()
        return threads.deferToThread(self.pool.stop)


class Root(resource.Resource):
    """/ : a pointer to the API; /api/v1/... : the JSON API."""

    def render_GET(self, request):
        request.setHeader(b"Content-Type", b"application/json; charset=utf-8")
        return (b'{"service": "hotline intake", "api": "/api/v1/", "openapi": "/api/v1/openapi.json", '
                b'"console": "/console/"}')


# Functions `register(router, *, config, db, store, pipeline, clock, auth)` of API modules beyond
# the core report/case API (closed loop, audit...). Each takes the keyword arguments it needs.
API_MODULES: list = [hot_api.register]
API_MODULES.append(audit_api.register)
API_MODULES.append(loop_api.register)
API_MODULES.append(console_api.register)
# Phone calls: routes, recordings' retention, and the telephony lines when config/lines.yaml exists.
API_MODULES.append(calls_api.register)
# SMS over SMPP: the gateway Service when config/sms.yaml enables a link (no routes of its own).
API_MODULES.append(sms_gateway.register)


def build_service(config, db_url: str, port: int, interface: str, reactor, analyser=None):
    """The service tree: DB pool, NLP pool, HTTP site. Returns (MultiService, parts dict)."""
    from intake.http.api import ApiV1
    from intake.http.router import JsonRouter
    engine = open_database(db_url)
    analyser = analyser or load_analyser(config)
    top = service.MultiService()
    db = DBThreadPool(engine, reactor)
    PoolService(db, "db").setServiceParent(top)
    nlp_pool = threadpool.ThreadPool(minthreads=1, maxthreads=max(1, os.cpu_count() or 1), name="nlp")
    PoolService(nlp_pool, "nlp").setServiceParent(top)
    store = Store(db)

    def run_cpu(f, *a, **k):
        return threads.deferToThreadPool(reactor, nlp_pool, f, *a, **k)

    pipeline = build_pipeline(config, analyser, store, run_cpu)
    from intake.auth import Authenticator
    authenticator = Authenticator(db, reactor)
    api = ApiV1(config, pipeline, store, reactor, authenticator)
    router = JsonRouter()
    api.register(router)
    # Further API modules register their routes here, each given only what it needs.
    mounts = []
    for register in API_MODULES:
        part = register(router, config=config, db=db, store=store, pipeline=pipeline, clock=reactor, auth=authenticator,
                        reactor=reactor)
        # A module may return a Service (the loop's overdue watch) to run with the tree.
        if isinstance(part, service.Service):
            part.setServiceParent(top)
        # A module may also serve pages beside the API (the consoles at /console/).
        if hasattr(part, "mount"):
            mounts.append(part)
    root = Root()
    root.putChild(b"api", router)
    for part in mounts:
        part.mount(root)
    site = server.Site(root)
    site.displayTracebacks = False
    http = strports.service(f"tcp:{port}:interface={interface}", site)
    http.setName("http")
    http.setServiceParent(top)
    parts = {"store": store, "pipeline": pipeline, "site": site, "engine": engine, "api": api}
    if "phone" in top.namedServices:
        parts["phone"] = top.getServiceNamed("phone")  # the phone channel (calls_api.PhoneService)
    return top, parts
