"""Run every query on a thread pool of its own, never on the reactor thread (Buildbot's shape).

Each store method is written as `def thd(conn): ...; return self.db.do(thd)`; the function runs
inside one transaction on a pool thread and its result (plain data, never SQLAlchemy objects)
comes back as a Deferred. `SyncRunner` runs the same functions inline for commands that have no
reactor (`hotline replay`), so both paths execute the same code.
"""
from __future__ import annotations

import logging
import time as _time
from typing import Any, Callable

import sqlalchemy as sa
from sqlalchemy import event
from twisted.internet import defer, threads
from twisted.python import threadpool

log = logging.getLogger(__name__)


def make_engine(url: str, **kw) -> sa.Engine:
    """An engine for `url` with the settings this service relies on.

    SQLite: WAL journal so readers never block the writer, a busy timeout, foreign keys on.
    """
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kw)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            # pysqlite's own transaction handling is switched off so that BEGIN IMMEDIATE below
            # takes the write lock at the start of every transaction (no lock upgrades to fail).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            if ":memory:" not in url and url not in ("sqlite://", "sqlite:///"):
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return sa.create_engine(url, pool_pre_ping=True, **kw)


def is_transient(exc: BaseException) -> bool:
    """Errors the dialect says may succeed on retry: a locked SQLite file, a lost or reset
    PostgreSQL connection, a serialization failure or deadlock."""
    if isinstance(exc, sa.exc.DBAPIError):
        if exc.connection_invalidated:
            return True
        msg = str(exc.orig).lower() if exc.orig is not None else ""
        if "database is locked" in msg or "database table is locked" in msg:
            return True
        code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
        if code in ("40001", "40P01", "08006", "08003", "57P01"):
            return True
    return False


def run_in_transaction(engine: sa.Engine, fn: Callable, args, kwargs, retries: int = 5):
    """Call fn(conn, *args, **kwargs) inside a transaction, retrying transient errors."""
    delay = 0.05
    for attempt in range(retries + 1):
        try:
            with engine.begin() as conn:
                return fn(conn, *args, **kwargs)
        except Exception as e:  # noqa: BLE001 - re-raised unless transient
            if attempt < retries and is_transient(e):
                log.warning("transient database error (attempt %d): %s", attempt + 1, e)
                # A backoff between retries of a failed transaction on a pool thread (never the
                # reactor thread): the other transaction needs time to finish.
                _time.sleep(delay)
                delay *= 2
                continue
            raise


class DBThreadPool:
    """A dedicated thread pool for database work, started and stopped with the service.

    SQLite allows one writer at a time, so its pool has one thread; PostgreSQL gets several.
    """

    def __init__(self, engine: sa.Engine, reactor, max_threads: int | None = None):
        self.engine = engine
        self.reactor = reactor
        if max_threads is None:
            max_threads = 1 if engine.dialect.name == "sqlite" else 8
        self.pool = threadpool.ThreadPool(minthreads=1, maxthreads=max_threads, name="db")
        self._started = False

    def start(self) -> None:
        """Start the threads (called by the service when the reactor runs)."""
        if not self._started:
            self.pool.start()
            self._started = True

    def stop(self) -> None:
        """Wait for running queries and stop the threads; dispose the connections."""
        if self._started:
            self.pool.stop()
            self._started = False
        self.engine.dispose()

    def do(self, fn: Callable, *args, **kwargs) -> defer.Deferred:
        """Run fn(conn, ...) in a transaction on the pool; a Deferred with its result."""
        return threads.deferToThreadPool(self.reactor, self.pool, run_in_transaction,
                                         self.engine, fn, args, kwargs)


class SyncRunner:
    """Runs store functions inline, for commands without a reactor (replay, token create)."""

    def __init__(self, engine: sa.Engine):
        self.engine = engine

    def start(self) -> None:
        """Nothing to start."""

    def stop(self) -> None:
        """Dispose the connections."""
        self.engine.dispose()

    def do(self, fn: Callable, *args, **kwargs) -> defer.Deferred:
        """Run fn(conn, ...) now; an already-fired Deferred with its result or failure."""
        return defer.maybeDeferred(run_in_transaction, self.engine, fn, args, kwargs)


def run_sync(d: defer.Deferred) -> Any:
    """The result of an already-fired Deferred (raises its failure); for SyncRunner callers."""
    out: list = []
    d.addBoth(out.append)
    if not out:
        raise RuntimeError("Deferred has not fired: SyncRunner code must not wait on the reactor")
    result = out[0]
    from twisted.python.failure import Failure
    if isinstance(result, Failure):
        result.raiseException()
    return result
