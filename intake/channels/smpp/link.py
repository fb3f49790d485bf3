"""One configured SMPP link: its sessions, reconnecting with backoff, and the pace of submits.

A link binds one transceiver session, or a receiver and a transmitter (bind: pair). Each session
reconnects on its own after a failed connect, a refused bind, a silent SMSC or a dropped connection,
waiting `reconnect_initial_s`, doubling to `reconnect_max_s`, back to the start once bound.
`submit()` goes out at most `submit_rate` per second (a token bucket on the injected clock), and an
ESME_RTHROTTLED answer pauses all submits of the link for `throttle_pause_s` (doubling while the
SMSC keeps throttling). `stopService` unbinds every session cleanly.
"""
from __future__ import annotations

from typing import Callable

from twisted.application import service
from twisted.internet import defer, protocol
from twisted.logger import Logger

from intake.channels.smpp import pdu as P
from intake.channels.smpp.protocol import ESMEProtocol, SessionClosed, SessionSettings
from intake.sms_config import LinkSettings

log = Logger()


class LinkPaused(Exception):
    """The SMSC throttled this link; no submit before `until` (clock seconds)."""

    def __init__(self, until: float):
        super().__init__(f"link paused after ESME_RTHROTTLED until clock {until:.1f}")
        self.until = until


class RateLimiter:
    """At most `rate` acquisitions per second on `clock`, with a burst of one second's worth;
    `pause(s)` stops every acquisition for s seconds (the SMSC said it is throttling)."""

    def __init__(self, rate: float, clock):
        self.rate = rate
        self.clock = clock
        self.capacity = max(1.0, rate)
        self.tokens = self.capacity
        self.stamp = clock.seconds()
        self.paused_until = 0.0
        self._waiting: list[defer.Deferred] = []
        self._call = None

    def _refill(self):
        now = self.clock.seconds()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def acquire(self) -> defer.Deferred:
        """A Deferred that fires when one submit may go out (in order of asking)."""
        d = defer.Deferred(self._cancel)
        self._waiting.append(d)
        self._serve()
        return d

    def _cancel(self, d):
        if d in self._waiting:
            self._waiting.remove(d)

    def pause(self, seconds: float) -> None:
        """No acquisition for `seconds` from now."""
        self.paused_until = max(self.paused_until, self.clock.seconds() + seconds)
        self._serve()

    def _serve(self):
        if self._call is not None and self._call.active():
            self._call.cancel()
        self._call = None
        self._refill()
        now = self.clock.seconds()
        while self._waiting:
            if now < self.paused_until:
                self._call = self.clock.callLater(self.paused_until - now, self._serve)
                return
            if self.tokens >= 1:
                self.tokens -= 1
                self._waiting.pop(0).callback(None)
                continue
            self._call = self.clock.callLater((1 - self.tokens) / self.rate, self._serve)
            return

    def stop(self):
        """Cancel the pending wake-up (the waiters are failed by their owners)."""
        if self._call is not None and self._call.active():
            self._call.cancel()
        waiting, self._waiting = self._waiting, []
        for d in waiting:
            d.errback(SessionClosed("link stopped"))


class SessionConnector(protocol.ClientFactory):
    """Keeps one session (one bind mode) connected and bound, with backoff between attempts."""

    noisy = False

    def __init__(self, link: "SMPPLink", mode: str):
        self.link = link
        self.mode = mode
        self.delay = link.settings.reconnect_initial_s
        self.proto: ESMEProtocol | None = None
        self.stopped = True
        self._retry_call = None
        self._connector = None
        self.connects = 0
        self.binds = 0

    @property
    def bound(self) -> ESMEProtocol | None:
        """The session when it is bound, else None."""
        p = self.proto
        return p if p is not None and p.state == "bound" else None

    def start(self):
        """Connect now; keep reconnecting until stop()."""
        self.stopped = False
        self._connect()

    def _connect(self):
        self._retry_call = None
        if self.stopped:
            return
        self.connects += 1
        s = self.link.settings
        log.debug("SMPP link {link}: {mode} connecting to {host}:{port} (attempt {n})", link=s.name, mode=self.mode,
                  host=s.host, port=s.port, n=self.connects)
        self._connector = self.link.reactor.connectTCP(s.host, s.port, self, timeout=s.response_timeout_s)

    def buildProtocol(self, addr):
        """A new session for this connection."""
        s = self.link.settings
        settings = SessionSettings(system_id=s.system_id, password=s.password, system_type=s.system_type,
                                   mode=self.mode, window=s.window, response_timeout_s=s.response_timeout_s,
                                   enquire_link_s=s.enquire_link_s)
        p = ESMEProtocol(settings, self.link.clock, self.link.on_deliver)
        p.factory = self
        self.proto = p
        p.bound.addCallbacks(self._bound, self._bind_failed)
        p.closed.addBoth(self._closed, p)
        return p

    def _bound(self, p):
        self.binds += 1
        self.delay = self.link.settings.reconnect_initial_s
        log.info("SMPP link {link}: {mode} session bound", link=self.link.settings.name, mode=self.mode)
        self.link.session_bound(self)

    def _bind_failed(self, f):
        log.warn("SMPP link {link}: {mode} bind failed: {why}", link=self.link.settings.name, mode=self.mode,
                 why=f.getErrorMessage())

    def _closed(self, _reason, p):
        log.info("SMPP link {link}: {mode} session closed", link=self.link.settings.name, mode=self.mode)
        if self.proto is p:
            self.proto = None
        self._retry()

    def clientConnectionFailed(self, connector, reason):
        """The TCP connect failed: try again after the backoff."""
        log.warn("SMPP link {link}: cannot connect to {host}:{port}: {why}", link=self.link.settings.name,
                 host=self.link.settings.host, port=self.link.settings.port, why=reason.getErrorMessage())
        self._retry()

    def _retry(self):
        if self.stopped or self._retry_call is not None:
            return
        delay = self.delay
        self.delay = min(self.delay * 2, self.link.settings.reconnect_max_s)
        log.debug("SMPP link {link}: {mode} reconnects in {d}s", link=self.link.settings.name, mode=self.mode, d=delay)
        self._retry_call = self.link.clock.callLater(delay, self._connect)

    def stop(self) -> defer.Deferred:
        """No more reconnects; unbind the session if there is one; fires when it is closed."""
        self.stopped = True
        if self._retry_call is not None and self._retry_call.active():
            self._retry_call.cancel()
        self._retry_call = None
        if self.proto is not None:
            return self.proto.unbind()
        if self._connector is not None and self._connector.state == "connecting":
            self._connector.stopConnecting()
        return defer.succeed(None)


class SMPPLink(service.Service):
    """One link: its sessions, the submit pace and the throttle pause.

    on_deliver(link, pdu) -> Deferred[int status] handles every deliver_sm; on_ready() is called
    each time a session that can submit is bound (the gateway then looks at its queue)."""

    def __init__(self, settings: LinkSettings, reactor, clock, on_deliver: Callable, on_ready: Callable | None = None):
        self.settings = settings
        self.reactor = reactor
        self.clock = clock
        self._on_deliver = on_deliver
        self.on_ready = on_ready
        self.setName(f"smpp-{settings.name}")
        modes = ("transceiver",) if settings.bind == "transceiver" else ("receiver", "transmitter")
        self.sessions = [SessionConnector(self, m) for m in modes]
        self.limiter = RateLimiter(settings.submit_rate, clock)
        self._throttle = settings.throttle_pause_s
        self._ready_waiters: list[defer.Deferred] = []

    def on_deliver(self, pdu: P.PDU) -> defer.Deferred:
        """Hand a deliver_sm to the gateway with this link's name."""
        return self._on_deliver(self, pdu)

    def startService(self):
        """Connect every session."""
        super().startService()
        for s in self.sessions:
            s.start()

    def stopService(self):
        """Unbind every session (each waits for its unbind_resp or the response timeout)."""
        super().stopService()
        self.limiter.stop()
        return defer.DeferredList([s.stop() for s in self.sessions])

    def session_bound(self, session: SessionConnector):
        """A session is bound: let the gateway send when it can submit."""
        if session.mode not in ("transceiver", "transmitter"):
            return
        waiters, self._ready_waiters = self._ready_waiters, []
        for d in waiters:
            d.callback(self)
        if self.on_ready is not None:
            self.on_ready(self)

    def when_ready(self) -> defer.Deferred:
        """Fires with the link once a session that can submit is bound (at once if one is)."""
        if self.transmitter is not None:
            return defer.succeed(self)
        d = defer.Deferred()
        self._ready_waiters.append(d)
        return d

    @property
    def transmitter(self) -> ESMEProtocol | None:
        """The bound session that submits, or None."""
        for s in self.sessions:
            if s.mode in ("transceiver", "transmitter") and s.bound is not None:
                return s.bound
        return None

    @defer.inlineCallbacks
    def submit(self, pdu: P.PDU):
        """submit_sm at the configured pace; fires with the response PDU (any status). Fails with
        SessionClosed when no session can submit, LinkPaused while the SMSC throttles,
        ResponseTimeout when the SMSC stays silent."""
        if self.transmitter is None:
            raise SessionClosed(f"link {self.settings.name} has no bound session that can submit")
        if self.limiter.paused_until > self.clock.seconds():
            # Throttled: the message goes back to the queue until the pause ends instead of
            # holding the sender (the queue, not memory, is where waiting messages live).
            raise LinkPaused(self.limiter.paused_until)
        yield self.limiter.acquire()
        session = self.transmitter
        if session is None:
            raise SessionClosed(f"link {self.settings.name} lost its session while waiting to submit")
        resp = yield session.request(pdu)
        if resp.status == P.ESME_RTHROTTLED:
            log.warn("SMPP link {link}: SMSC throttles; pausing submits for {s}s", link=self.settings.name, s=self._throttle)
            self.limiter.pause(self._throttle)
            self._throttle = min(self._throttle * 2, self.settings.reconnect_max_s)
        elif resp.status == P.ESME_ROK:
            self._throttle = self.settings.throttle_pause_s
        return resp
