"""Fixtures for the SMS tests: a running reactor, SMSC simulators on 127.0.0.1, the gateway over a
real database (SQLite, and PostgreSQL when HOTLINE_TEST_POSTGRES is set).

TCP needs the real reactor, so it runs in a background thread (as in tests/telephony); every timer
of the SMPP code runs on an injected Clock that the tests advance, so nothing waits on wall-clock
time. The test thread waits on Deferreds through `on_reactor`, which gives up after a bounded time.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field

import pytest
from twisted.internet import defer, threads
from twisted.internet.task import Clock
from twisted.python import failure

START = 1795741200.0  # 2026-11-27T01:00:00Z
WAIT_S = 60.0         # generous: a loaded 2-core machine; a passing test never waits this long


def _log_to_stderr(event):
    """Twisted log events to stderr, which pytest captures and shows with a failing test."""
    import sys
    from twisted.logger import formatEventAsClassicLogText
    text = formatEventAsClassicLogText(event)
    if text and "jieba" not in text:
        sys.stderr.write(text)


@pytest.fixture(scope="session")
def reactor_thread():
    """The global reactor running in a background thread (its log goes to the captured stderr)."""
    from twisted.internet import reactor
    from twisted.logger import globalLogPublisher
    globalLogPublisher.addObserver(_log_to_stderr)
    if not reactor.running:
        t = threading.Thread(target=reactor.run, kwargs={"installSignalHandlers": False}, name="reactor", daemon=True)
        t.start()
        ready = threading.Event()
        reactor.callFromThread(ready.set)
        assert ready.wait(10), "reactor did not start"
    return reactor


def on_reactor(reactor, fn, *args, timeout: float = WAIT_S, **kwargs):
    """Call fn on the reactor thread; wait (bounded) for its result, or its Deferred's."""
    done = threading.Event()
    box: list = []

    def run():
        d = defer.maybeDeferred(fn, *args, **kwargs)

        def got(r):
            box.append(r)
            done.set()
        d.addBoth(got)
    reactor.callFromThread(run)
    if not done.wait(timeout):
        raise TimeoutError(f"{getattr(fn, '__name__', fn)} did not finish within {timeout}s")
    r = box[0]
    if isinstance(r, failure.Failure):
        r.raiseException()
    return r


@dataclass
class SmsEnv:
    """The parts a test drives: reactor, clock, database runner, pipeline, simulators, gateways."""

    reactor: object
    clock: Clock
    db: object
    store: object
    pipeline: object
    config: object
    engine: object
    gateways: list = field(default_factory=list)
    simulators: list = field(default_factory=list)

    def run(self, fn, *args, **kwargs):
        """fn on the reactor thread, its (Deferred's) result here."""
        return on_reactor(self.reactor, fn, *args, **kwargs)

    def simulator(self, behaviour="good", **kw):
        """A listening SMSC simulator; (simulator, port)."""
        from tests.sms.smsc import SMSCSimulator
        sim = SMSCSimulator(behaviour, **kw)
        port = self.run(sim.listen, self.reactor)
        self.simulators.append(sim)
        return sim, port

    def settings(self, port, *, bind="transceiver", queue=None, templates=None, **link):
        """SmsSettings with one link to 127.0.0.1:port (fast, test-sized timings)."""
        from intake.sms_config import DEFAULT_TEMPLATES, LinkSettings, QueueSettings, SmsSettings
        values = dict(name="test", host="127.0.0.1", port=port, system_id="hotline", password="secret",
                      short_number="12345", bind=bind, window=4, submit_rate=1000, enquire_link_s=30,
                      response_timeout_s=10, reconnect_initial_s=1, reconnect_max_s=8, throttle_pause_s=2)
        values.update(link)
        q = dict(poll_s=5, batch=20, max_attempts=5, retry_initial_s=2, retry_max_s=30, max_parts=6)
        q.update(queue or {})
        return SmsSettings(links=(LinkSettings(**values),), queue=QueueSettings(**q),
                           templates=dict(DEFAULT_TEMPLATES, **(templates or {})))

    def gateway(self, settings, start=True):
        """An SmsGateway on the env's clock and database; started (links connecting) unless asked."""
        from intake.channels.smpp.gateway import SmsGateway
        gw = SmsGateway(settings, self.pipeline, self.db, self.clock, reactor=self.reactor,
                        timezone=self.config.service.timezone)
        self.gateways.append(gw)
        if start:
            self.run(gw.startService)
        return gw

    def stop_gateway(self, gw, silent_smsc=False):
        """Stop a gateway: a clean unbind answered by the SMSC; for an SMSC that does not answer,
        the clock is advanced past the unbind's response timeout."""
        if gw in self.gateways:
            self.gateways.remove(gw)
        if silent_smsc:
            return self.run(lambda: _stop_with_clock(gw, self.clock))
        return self.run(gw.stopService)

    def advance(self, seconds, step=None):
        """Move the injected clock forward (in steps, letting the reactor run in between)."""
        step = step or seconds
        done = 0.0
        while done < seconds:
            s = min(step, seconds - done)
            self.run(self.clock.advance, s)
            self.run(lambda: threads.deferToThread(lambda: None))   # let I/O and DB callbacks run
            done += s


def _stop_with_clock(gw, clock):
    d = defer.maybeDeferred(gw.stopService)
    # An SMSC that does not answer unbind: its response timeout runs on the injected clock.
    for _ in range(3):
        clock.advance(30)
    return d


@pytest.fixture
def sms_env(reactor_thread, db_url, config, analyser):
    """The intake pipeline over a DB thread pool on a fresh database, a Clock at 2026-11-27 09:00
    +08, and cleanup of every gateway and simulator the test made."""
    from intake.app import build_pipeline, open_database
    from intake.db.pool import DBThreadPool
    from intake.db.store import Store
    reactor = reactor_thread
    engine = open_database(db_url)
    db = DBThreadPool(engine, reactor)
    db.start()
    store = Store(db)
    pipeline = build_pipeline(config, analyser, store, lambda f, *a, **k: threads.deferToThread(f, *a, **k))
    clock = Clock()
    clock.advance(START)
    env = SmsEnv(reactor=reactor, clock=clock, db=db, store=store, pipeline=pipeline, config=config, engine=engine)
    try:
        yield env
    finally:
        for gw in list(env.gateways):
            try:
                env.stop_gateway(gw, silent_smsc=True)
            except Exception:  # noqa: BLE001 - cleanup goes on
                pass
        for sim in env.simulators:
            try:
                on_reactor(reactor, sim.stop, timeout=10)
            except Exception:  # noqa: BLE001
                pass
        db.stop()
