"""The SMPP 3.4 client side (ESME) of one TCP session, as a Twisted protocol.

    connect -> bind_<mode> -> bound: enquire_link every `enquire_link_s`; requests go out through a
    window of at most `window` unanswered ones; deliver_sm is answered with the status the handler's
    Deferred gives (so the answer follows the stored report) -> unbind -> close

Every timer runs on the injected clock. A request that gets no answer within `response_timeout_s`
fails with `ResponseTimeout` and the session is closed: an SMSC that stopped answering is treated as
gone, and the link reconnects (a half-dead TCP session would otherwise hold the window forever).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from twisted.internet import defer, protocol, task
from twisted.logger import Logger
from twisted.python import failure

from intake.channels.smpp import pdu as P

log = Logger()


@dataclass(frozen=True)
class SessionSettings:
    """How one session binds and paces itself (from config/sms.yaml)."""

    system_id: str
    password: str
    system_type: str = ""
    mode: str = "transceiver"            # transceiver | receiver | transmitter
    window: int = 10                     # unanswered requests at a time
    response_timeout_s: float = 10.0
    enquire_link_s: float = 30.0
    addr_ton: int = 0
    addr_npi: int = 0
    address_range: str = ""


class SessionClosed(Exception):
    """The session ended (or was never bound) before the request was answered."""


class ResponseTimeout(Exception):
    """The SMSC did not answer a request in time; the session is being closed."""


class BindFailed(Exception):
    """The SMSC refused the bind; `status` is its command_status."""

    def __init__(self, status: int):
        super().__init__(f"bind refused: {P.status_name(status)}")
        self.status = status


class ESMEProtocol(protocol.Protocol):
    """One SMPP session. `on_deliver(pdu) -> Deferred[int]` handles each deliver_sm; `bound` fires
    once bound (or fails with BindFailed/ResponseTimeout/SessionClosed); `closed` fires when the
    connection is gone."""

    def __init__(self, settings: SessionSettings, clock, on_deliver: Callable[[P.PDU], defer.Deferred]):
        self.settings = settings
        self.clock = clock
        self.on_deliver = on_deliver
        self.state = "connecting"
        self.bound: defer.Deferred = defer.Deferred()
        self.closed: defer.Deferred = defer.Deferred()
        self._buffer = b""
        self._next_seq = 1
        self._outstanding: dict[int, tuple[defer.Deferred, object, str]] = {}
        self._waiters: list[defer.Deferred] = []
        self._enquire: task.LoopingCall | None = None
        self._unbound: defer.Deferred | None = None
        self._drained: defer.Deferred | None = None
        self.inbound_in_progress = 0

    # -- connection ------------------------------------------------------------------------------
    def connectionMade(self):
        """Bind as configured; the bind's answer decides `bound`."""
        self.state = "binding"
        s = self.settings
        bind = P.PDU(P.BIND_COMMANDS[s.mode], params={
            "system_id": s.system_id, "password": s.password, "system_type": s.system_type,
            "interface_version": 0x34, "addr_ton": s.addr_ton, "addr_npi": s.addr_npi,
            "address_range": s.address_range})
        d = self._send_request(bind, bypass_window=True)
        d.addCallbacks(self._bind_answered, self._bind_failed)

    def _bind_answered(self, resp: P.PDU):
        if resp.status != P.ESME_ROK:
            self._bind_failed(failure.Failure(BindFailed(resp.status)))
            return
        self.state = "bound"
        self._enquire = task.LoopingCall(self._enquire_link)
        self._enquire.clock = self.clock
        self._enquire.start(self.settings.enquire_link_s, now=False)
        if not self.bound.called:
            self.bound.callback(self)

    def _bind_failed(self, f):
        if not self.bound.called:
            self.bound.errback(f)
        self._drop()

    def _enquire_link(self):
        d = self._send_request(P.PDU(P.ENQUIRE_LINK), bypass_window=True)
        d.addErrback(lambda f: None)  # a timeout already closes the session

    def connectionLost(self, reason=protocol.connectionDone):
        """Fail everything in flight; the link decides whether to reconnect."""
        self.state = "closed"
        if self._enquire is not None and self._enquire.running:
            self._enquire.stop()
        outstanding, self._outstanding = self._outstanding, {}
        for d, timer, _ in outstanding.values():
            if timer.active():
                timer.cancel()
            d.errback(SessionClosed(f"connection lost before the answer: {reason.getErrorMessage()}"))
        waiters, self._waiters = self._waiters, []
        for w in waiters:
            w.errback(SessionClosed("connection lost while waiting for the window"))
        if not self.bound.called:
            self.bound.errback(SessionClosed(f"connection lost before bind: {reason.getErrorMessage()}"))
        if self._unbound is not None and not self._unbound.called:
            self._unbound.callback(None)
        if not self.closed.called:
            self.closed.callback(None)

    def _drop(self):
        if self.transport is not None and self.state != "closed":
            self.state = "closing"
            self.transport.loseConnection()

    # -- requests --------------------------------------------------------------------------------
    @property
    def can_submit(self) -> bool:
        """Bound in a mode that sends messages."""
        return self.state == "bound" and self.settings.mode in ("transceiver", "transmitter")

    def request(self, pdu: P.PDU) -> defer.Deferred:
        """Send a request when the window has room; fires with the response PDU (any status),
        fails with ResponseTimeout or SessionClosed."""
        if self.state != "bound":
            return defer.fail(SessionClosed(f"session is {self.state}, not bound"))
        if len(self._outstanding) < self.settings.window and not self._waiters:
            return self._send_request(pdu)
        w = defer.Deferred()
        self._waiters.append(w)
        w.addCallback(lambda _: self._send_request(pdu))
        return w

    @property
    def outstanding(self) -> int:
        """Requests sent and not answered yet."""
        return len(self._outstanding)

    def _send_request(self, pdu: P.PDU, bypass_window: bool = False) -> defer.Deferred:
        if self.state in ("closed", "closing"):
            return defer.fail(SessionClosed(f"session is {self.state}"))
        seq = self._next_seq
        self._next_seq = 1 if seq >= 0x7FFFFFFF else seq + 1
        d = defer.Deferred()
        timer = self.clock.callLater(self.settings.response_timeout_s, self._timed_out, seq)
        self._outstanding[seq] = (d, timer, pdu.name)
        self.transport.write(P.encode(P.PDU(pdu.command_id, seq, pdu.status, pdu.params, pdu.tlvs)))
        return d

    def _timed_out(self, seq: int):
        entry = self._outstanding.pop(seq, None)
        if entry is None:
            return
        d, _, name = entry
        log.warn("SMSC did not answer {name} #{seq} within {t}s: closing the session", name=name, seq=seq,
                 t=self.settings.response_timeout_s)
        self._free_slot()
        d.errback(ResponseTimeout(f"no answer to {name} within {self.settings.response_timeout_s}s"))
        self._drop()

    def _free_slot(self):
        while self._waiters and len(self._outstanding) < self.settings.window and self.state == "bound":
            self._waiters.pop(0).callback(None)

    # -- incoming --------------------------------------------------------------------------------
    def dataReceived(self, data: bytes):
        """Split the stream into frames; a corrupt length closes the session (cannot resync)."""
        self._buffer += data
        while True:
            try:
                n = P.frame_length(self._buffer)
            except P.PDUError as e:
                log.warn("corrupt SMPP stream from SMSC: {e}; closing", e=str(e))
                self._write(P.PDU(P.GENERIC_NACK, 0, e.status))
                self._buffer = b""
                self._drop()
                return
            if n is None or len(self._buffer) < n:
                return
            frame, self._buffer = self._buffer[:n], self._buffer[n:]
            try:
                pdu = P.decode(frame)
            except P.PDUError as e:
                log.warn("undecodable PDU from SMSC: {e}", e=str(e))
                if e.command_id is not None and e.command_id & P.RESP:
                    self._answered(P.PDU(P.GENERIC_NACK, e.sequence, e.status))
                else:
                    self._write(P.PDU(P.GENERIC_NACK, e.sequence, e.status))
                continue
            self._dispatch(pdu)

    def _dispatch(self, pdu: P.PDU):
        if pdu.is_response:
            self._answered(pdu)
        elif pdu.command_id == P.ENQUIRE_LINK:
            self._write(P.response_to(pdu))
        elif pdu.command_id == P.DELIVER_SM:
            self._deliver(pdu)
        elif pdu.command_id == P.UNBIND:
            self._write(P.response_to(pdu))
            self._drop()
        else:
            self._write(P.PDU(P.GENERIC_NACK, pdu.sequence, P.ESME_RINVCMDID))

    def _answered(self, pdu: P.PDU):
        entry = self._outstanding.pop(pdu.sequence, None)
        if entry is None:
            log.warn("answer {name} #{seq} to nothing outstanding: ignored", name=pdu.name, seq=pdu.sequence)
            return
        d, timer, _ = entry
        if timer.active():
            timer.cancel()
        self._free_slot()
        d.callback(pdu)

    def _deliver(self, pdu: P.PDU):
        if self.state != "bound" or self.settings.mode == "transmitter":
            self._write(P.response_to(pdu, P.ESME_RINVBNDSTS))
            return
        self.inbound_in_progress += 1
        d = defer.maybeDeferred(self.on_deliver, pdu)

        def failed(f):
            log.failure("deliver_sm #{seq} not stored: answering ESME_RX_T_APPN so the SMSC retries", f, seq=pdu.sequence)
            return P.ESME_RX_T_APPN

        def answer(status):
            self.inbound_in_progress -= 1
            if self.state in ("bound", "unbinding"):
                self._write(P.response_to(pdu, status))
            if self.state == "unbinding" and not self.inbound_in_progress:
                self._drain_done()
        d.addErrback(failed)
        d.addCallback(answer)

    def _write(self, pdu: P.PDU):
        if self.transport is not None and self.state not in ("closed",):
            self.transport.write(P.encode(pdu))

    # -- shutdown --------------------------------------------------------------------------------
    def unbind(self) -> defer.Deferred:
        """Stop taking requests, send unbind, close on its answer (or its timeout); fires when closed."""
        if self.state == "closed":
            return defer.succeed(None)
        if self._unbound is not None:
            return self._unbound
        self._unbound = defer.Deferred()
        if self.state != "bound":
            self._drop()
            return self._unbound
        self.state = "unbinding"
        if self._enquire is not None and self._enquire.running:
            self._enquire.stop()
        # Messages being stored are answered first (else the SMSC would send them again), for at
        # most one response timeout.
        self._drained = defer.Deferred()
        timer = self.clock.callLater(self.settings.response_timeout_s, self._drain_done)
        if not self.inbound_in_progress:
            self._drain_done()

        def send_unbind(_):
            if timer.active():
                timer.cancel()
            if self.state != "unbinding":
                return
            d = self._send_request(P.PDU(P.UNBIND), bypass_window=True)
            d.addBoth(lambda _: self._drop())
        self._drained.addCallback(send_unbind)
        return self._unbound

    def _drain_done(self):
        if self._drained is not None and not self._drained.called:
            self._drained.callback(None)
