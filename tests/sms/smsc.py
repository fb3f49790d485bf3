"""SMSC simulators for the SMPP tests: real TCP servers on 127.0.0.1 (ephemeral ports).

One server class whose `behaviour` decides how it misbehaves:

    good        answers everything; accepts every submit_sm
    silent      accepts the TCP connection and never answers anything
    throttle    answers the first `throttle_count` submit_sm with ESME_RTHROTTLED, then accepts
    drop        accepts `drop_after` submits, then reads a window of submits and drops the connection
                without answering them (once); afterwards it behaves well
    retransmit  sends every deliver_sm `copies` times: again with the same sequence number, again with
                a new one, and once more after the client answered

A submit counts as accepted only when the simulator answered it with ESME_ROK (`accepted`), which
is what "delivered once" means in the tests. The simulator uses the project's PDU codec only to
frame and parse; its tests pin that codec to bytes built by hand (tests/sms/test_pdu.py).
"""
from __future__ import annotations

import itertools

from twisted.internet import defer, protocol

from intake.channels.smpp import pdu as P


class SMSCProtocol(protocol.Protocol):
    """One ESME connection to the simulator."""

    def connectionMade(self):
        """Remember the connection (the simulator delivers to bound receivers)."""
        self.sim = self.factory
        self.buffer = b""
        self.bound_as = None
        self.seq = itertools.count(1)
        self.waiting: dict[int, defer.Deferred] = {}
        self.sim.connections.append(self)
        self.held = 0
        self.closing = False

    def connectionLost(self, reason=protocol.connectionDone):
        """Forget the connection; deliveries waiting for an answer fail."""
        if self in self.sim.connections:
            self.sim.connections.remove(self)
        waiting, self.waiting = self.waiting, {}
        for d in waiting.values():
            d.errback(ConnectionError("ESME connection lost before deliver_sm_resp"))
        self.sim.lost += 1

    def dataReceived(self, data):
        """Frame and handle PDUs."""
        self.buffer += data
        while True:
            n = P.frame_length(self.buffer)
            if n is None or len(self.buffer) < n:
                return
            frame, self.buffer = self.buffer[:n], self.buffer[n:]
            self.handle(P.decode(frame))

    def send(self, pdu: P.PDU):
        """Write one PDU."""
        self.transport.write(P.encode(pdu))

    def handle(self, pdu: P.PDU):
        """The simulator's side of each operation, per behaviour."""
        sim = self.sim
        if self.closing:
            return   # dropped: nothing more is read on this connection (its answers would be lost)
        sim.received.append(pdu.name)
        sim._check_waiters()
        if sim.behaviour == "silent":
            return
        if pdu.command_id in (P.BIND_TRANSCEIVER, P.BIND_RECEIVER, P.BIND_TRANSMITTER):
            sim.binds.append(pdu.name)
            if pdu.get("password") != sim.password:
                self.send(P.response_to(pdu, P.ESME_RINVPASWD))
                return
            self.bound_as = pdu.name[len("bind_"):]
            self.send(P.response_to(pdu, system_id="SIMSMSC"))
            for d in list(sim.bind_waiters):
                sim.bind_waiters.remove(d)
                d.callback(self)
        elif pdu.command_id == P.ENQUIRE_LINK:
            self.send(P.response_to(pdu))
        elif pdu.command_id == P.UNBIND:
            sim.unbinds += 1
            self.send(P.response_to(pdu))
            self.transport.loseConnection()
        elif pdu.command_id == P.SUBMIT_SM:
            self.submit(pdu)
        elif pdu.command_id == P.DELIVER_SM | P.RESP:
            d = self.waiting.pop(pdu.sequence, None)
            if d is not None:
                d.callback(pdu.status)
            sim.deliver_resps.append(pdu.status)
        else:
            self.send(P.PDU(P.GENERIC_NACK, pdu.sequence, P.ESME_RINVCMDID))

    def submit(self, pdu: P.PDU):
        """Accept, throttle or hold (then drop) a submit_sm."""
        sim = self.sim
        if sim.behaviour == "throttle" and sim.throttled < sim.throttle_count:
            sim.throttled += 1
            self.send(P.response_to(pdu, P.ESME_RTHROTTLED))
            return
        if sim.behaviour == "drop" and not sim.dropped and len(sim.accepted) >= sim.drop_after:
            self.held += 1
            if self.held >= sim.hold:
                sim.dropped = True
                self.closing = True
                self.transport.loseConnection()
            return
        mid = f"sim{next(sim.ids)}"
        sim.accepted.append({"id": mid, "to": pdu.get("destination_addr"), "from": pdu.get("source_addr"),
                             "data": pdu.get("short_message"), "data_coding": pdu.get("data_coding"),
                             "esm_class": pdu.get("esm_class")})
        self.send(P.response_to(pdu, message_id=mid))
        sim._check_waiters()

    def deliver(self, params: dict, tlvs: dict | None = None) -> defer.Deferred:
        """Send a deliver_sm; fires with the ESME's deliver_sm_resp status."""
        seq = next(self.seq)
        d = defer.Deferred()
        self.waiting[seq] = d
        self.send(P.PDU(P.DELIVER_SM, seq, params=params, tlvs=tlvs or {}))
        return d


class SMSCSimulator(protocol.ServerFactory):
    """A simulated SMSC; see the module docstring for the behaviours."""

    protocol = SMSCProtocol

    def __init__(self, behaviour: str = "good", password: str = "secret", throttle_count: int = 3,
                 drop_after: int = 2, hold: int = 3, copies: int = 3):
        self.behaviour = behaviour
        self.password = password
        self.throttle_count = throttle_count
        self.drop_after = drop_after
        self.hold = hold
        self.copies = copies
        self.connections: list[SMSCProtocol] = []
        self.accepted: list[dict] = []
        self.received: list[str] = []
        self.binds: list[str] = []
        self.deliver_resps: list[int] = []
        self.bind_waiters: list[defer.Deferred] = []
        self.submit_waiters: list[tuple[int, defer.Deferred]] = []
        self.received_waiters: list[tuple[str, int, defer.Deferred]] = []
        self.ids = itertools.count(1)
        self.throttled = 0
        self.dropped = False
        self.unbinds = 0
        self.lost = 0
        self.port = None

    def listen(self, reactor) -> int:
        """Listen on an ephemeral 127.0.0.1 port; the port number."""
        self.port = reactor.listenTCP(0, self, interface="127.0.0.1")
        return self.port.getHost().port

    def stop(self) -> defer.Deferred:
        """Stop listening and close every connection."""
        for c in list(self.connections):
            c.transport.abortConnection()
        return defer.maybeDeferred(self.port.stopListening)

    def receiver(self):
        """A bound connection that can take deliver_sm (transceiver or receiver), or None."""
        return next((c for c in self.connections if c.bound_as in ("transceiver", "receiver")), None)

    def wait_bound(self) -> defer.Deferred:
        """Fires with a bound receiving connection (now, or when one binds)."""
        c = self.receiver()
        if c is not None:
            return defer.succeed(c)
        d = defer.Deferred()

        def check(conn):
            return conn if conn.bound_as in ("transceiver", "receiver") else self.wait_bound()
        self.bind_waiters.append(d)
        return d.addCallback(check)

    def wait_received(self, name: str, n: int) -> defer.Deferred:
        """Fires when at least n PDUs named `name` (bind_transceiver ...) have arrived."""
        d = defer.Deferred()
        self.received_waiters.append((name, n, d))
        self._check_waiters()
        return d

    def wait_submits(self, n: int) -> defer.Deferred:
        """Fires when at least n submits have been accepted."""
        d = defer.Deferred()
        self.submit_waiters.append((n, d))
        self._check_waiters()
        return d

    def _check_waiters(self):
        for name, n, d in list(self.received_waiters):
            if self.received.count(name) >= n:
                self.received_waiters.remove((name, n, d))
                d.callback(n)
        for n, d in list(self.submit_waiters):
            if len(self.accepted) >= n:
                self.submit_waiters.remove((n, d))
                d.callback(list(self.accepted))

    @defer.inlineCallbacks
    def deliver(self, source: str, data: bytes, data_coding: int = 8, esm_class: int = 0, tlvs: dict | None = None,
                destination: str = "12345"):
        """A citizen's message (or part) to the ESME; fires with deliver_sm_resp's status. The
        retransmit behaviour sends copies (same sequence, new sequence, after the answer)."""
        conn = yield self.wait_bound()
        params = {"source_addr": source, "destination_addr": destination, "esm_class": esm_class,
                  "data_coding": data_coding, "short_message": data}
        if self.behaviour != "retransmit":
            status = yield conn.deliver(params, tlvs)
            return status
        seq = next(conn.seq)
        first = defer.Deferred()
        conn.waiting[seq] = first
        frame = P.encode(P.PDU(P.DELIVER_SM, seq, params=params, tlvs=tlvs or {}))
        conn.transport.write(frame + frame)   # the same PDU twice, same sequence number
        again = conn.deliver(params, tlvs)    # and once more with a new sequence number
        status = yield first
        yield again
        for _ in range(max(0, self.copies - 2)):
            yield conn.deliver(params, tlvs)  # after the answer: the SMSC did not see it in time
        return status

    def deliver_receipt(self, message_id: str, stat: str = "DELIVRD", destination: str = "12345",
                        source: str = "13900000000") -> defer.Deferred:
        """A delivery receipt for a message the simulator accepted."""
        text = f"id:{message_id} sub:001 dlvrd:001 submit date:2611270900 done date:2611270901 stat:{stat} err:000 text:"
        conn = self.receiver()
        return conn.deliver({"source_addr": source, "destination_addr": destination, "esm_class": P.ESM_DELIVERY_RECEIPT,
                             "data_coding": 0, "short_message": text.encode("ascii")})
