"""ESMEProtocol over StringTransport with an injected Clock: bind, keep-alive, window, timeouts,
deliver_sm answered after the handler, unbind."""
from __future__ import annotations

import pytest
from twisted.internet import defer
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.python import failure

from intake.channels.smpp import pdu as P
from intake.channels.smpp.protocol import BindFailed, ESMEProtocol, ResponseTimeout, SessionClosed, SessionSettings


def frames(transport) -> list[P.PDU]:
    """Every PDU the protocol wrote (and clear the transport)."""
    data = transport.value()
    transport.clear()
    out = []
    while data:
        n = P.frame_length(data)
        out.append(P.decode(data[:n]))
        data = data[n:]
    return out


class Harness:
    """A protocol on a StringTransport whose loseConnection really ends the connection."""

    def __init__(self, handler=None, **kw):
        self.clock = Clock()
        settings = SessionSettings(**dict(dict(system_id="hotline", password="secret", window=2,
                                               response_timeout_s=10, enquire_link_s=30), **kw))
        self.delivered = []
        self.proto = ESMEProtocol(settings, self.clock, handler or self.accept)
        self.transport = StringTransport()
        self.proto.makeConnection(self.transport)

    def accept(self, pdu):
        """The default deliver_sm handler: remember it, store at once."""
        self.delivered.append(pdu)
        return defer.succeed(P.ESME_ROK)

    def feed(self, pdu: P.PDU):
        """The SMSC sends a PDU."""
        self.proto.dataReceived(P.encode(pdu))

    def close_if_asked(self):
        """Finish a loseConnection the protocol asked for."""
        if self.transport.disconnecting and self.proto.state != "closed":
            self.proto.connectionLost(failure.Failure(ConnectionError("closed")))

    def bind(self):
        """Answer the bind the protocol sent with OK; the bind PDU."""
        (bind,) = frames(self.transport)
        self.feed(P.response_to(bind, system_id="SMSC"))
        return bind


def test_binds_on_connect_with_the_configured_identity_and_mode():
    """The first PDU is bind_<mode> with system_id, password and version 3.4; OK makes it bound."""
    h = Harness(mode="receiver", system_type="CITY")
    bind = h.bind()
    assert bind.name == "bind_receiver" and bind.get("system_id") == "hotline" and bind.get("password") == "secret"
    assert bind.get("system_type") == "CITY" and bind.get("interface_version") == 0x34
    assert h.proto.state == "bound" and h.proto.bound.called


def test_refused_bind_fails_bound_and_closes():
    """ESME_RINVPASWD: bound fails with BindFailed naming the status, and the session closes."""
    h = Harness()
    failures = []
    h.proto.bound.addErrback(failures.append)
    (bind,) = frames(h.transport)
    h.feed(P.response_to(bind, P.ESME_RINVPASWD))
    assert failures and failures[0].check(BindFailed) and "ESME_RINVPASWD" in failures[0].getErrorMessage()
    assert h.transport.disconnecting


def test_silent_smsc_times_out_the_bind_on_the_clock():
    """No bind_resp within response_timeout_s: bound fails with ResponseTimeout and the session closes."""
    h = Harness()
    failures = []
    h.proto.bound.addErrback(failures.append)
    h.clock.advance(9.9)
    assert not failures
    h.clock.advance(0.2)
    assert failures[0].check(ResponseTimeout) and h.transport.disconnecting


def test_enquire_link_every_interval_and_an_unanswered_one_closes_the_session():
    """Bound: enquire_link after enquire_link_s; answered it keeps going; unanswered it closes."""
    h = Harness()
    h.bind()
    h.clock.advance(30)
    (ping,) = frames(h.transport)
    assert ping.name == "enquire_link"
    h.feed(P.response_to(ping))
    h.clock.advance(30)
    (ping2,) = frames(h.transport)
    assert ping2.sequence != ping.sequence
    h.clock.advance(10)
    assert h.transport.disconnecting


def test_window_holds_requests_beyond_the_limit_until_an_answer_frees_a_slot():
    """window 2: two submits go out, the third waits; an answer lets it out; answers match by sequence."""
    h = Harness()
    h.bind()
    ds = [h.proto.request(P.PDU(P.SUBMIT_SM, params={"short_message": bytes([i])})) for i in range(3)]
    sent = frames(h.transport)
    assert [p.get("short_message") for p in sent] == [b"\x00", b"\x01"] and h.proto.outstanding == 2
    h.feed(P.response_to(sent[1], message_id="m1"))
    (third,) = frames(h.transport)
    assert third.get("short_message") == b"\x02"
    assert ds[1].result.get("message_id") == "m1" and not ds[0].called
    h.feed(P.response_to(sent[0], P.ESME_RTHROTTLED))
    assert ds[0].result.status == P.ESME_RTHROTTLED


def test_deliver_sm_is_answered_only_when_the_handler_has_stored_it():
    """deliver_sm_resp waits for the handler's Deferred and carries its status; a failing handler
    answers ESME_RX_T_APPN so the SMSC retries."""
    pending = []

    def handler(pdu):
        d = defer.Deferred()
        pending.append(d)
        return d
    h = Harness(handler)
    h.bind()
    h.feed(P.PDU(P.DELIVER_SM, 77, params={"source_addr": "139", "short_message": b"hi"}))
    h.feed(P.PDU(P.DELIVER_SM, 78, params={"source_addr": "139", "short_message": b"ho"}))
    assert frames(h.transport) == []
    pending[0].callback(P.ESME_ROK)
    pending[1].errback(RuntimeError("database down"))
    answers = frames(h.transport)
    assert [(a.name, a.sequence, a.status) for a in answers] == [
        ("deliver_sm_resp", 77, P.ESME_ROK), ("deliver_sm_resp", 78, P.ESME_RX_T_APPN)]


def test_transmitter_refuses_deliver_sm_and_unknown_commands_get_generic_nack():
    """A transmitter session answers deliver_sm with ESME_RINVBNDSTS; unknown operations are nacked."""
    h = Harness(mode="transmitter")
    h.bind()
    h.feed(P.PDU(P.DELIVER_SM, 5, params={"short_message": b"x"}))
    h.proto.dataReceived(P.HEADER.pack(16, 0x00000103, 0, 6))
    answers = frames(h.transport)
    assert [(a.name, a.sequence, a.status) for a in answers] == [
        ("deliver_sm_resp", 5, P.ESME_RINVBNDSTS), ("generic_nack", 6, P.ESME_RINVCMDID)]
    assert h.delivered == []


def test_corrupt_stream_is_nacked_and_closed_and_frames_may_arrive_in_pieces():
    """A frame split across reads is reassembled; an impossible command_length closes the session."""
    h = Harness()
    h.bind()
    raw = P.encode(P.PDU(P.ENQUIRE_LINK, 11))
    h.proto.dataReceived(raw[:5])
    h.proto.dataReceived(raw[5:])
    (answer,) = frames(h.transport)
    assert answer.name == "enquire_link_resp" and answer.sequence == 11
    h.proto.dataReceived(b"\x00\x00\x00\x03garbage")
    (nack,) = frames(h.transport)
    assert nack.name == "generic_nack" and nack.status == P.ESME_RINVCMDLEN and h.transport.disconnecting


def test_connection_loss_fails_outstanding_and_waiting_requests():
    """Requests in flight and requests waiting for the window fail with SessionClosed."""
    h = Harness(window=1)
    h.bind()
    d1 = h.proto.request(P.PDU(P.SUBMIT_SM))
    d2 = h.proto.request(P.PDU(P.SUBMIT_SM))
    errors = []
    d1.addErrback(errors.append)
    d2.addErrback(errors.append)
    h.proto.connectionLost(failure.Failure(ConnectionError("reset")))
    assert [e.check(SessionClosed) for e in errors] == [SessionClosed, SessionClosed]
    assert h.proto.closed.called
    with pytest.raises(SessionClosed):
        h.proto.request(P.PDU(P.SUBMIT_SM)).result.raiseException()


def test_unbind_waits_for_its_answer_then_closes_and_the_smsc_may_unbind_us():
    """Our unbind: sent, closed on unbind_resp. The SMSC's unbind: answered, then closed."""
    h = Harness()
    h.bind()
    d = h.proto.unbind()
    (unbind,) = frames(h.transport)
    assert unbind.name == "unbind" and not h.transport.disconnecting
    h.feed(P.response_to(unbind))
    assert h.transport.disconnecting
    h.close_if_asked()
    assert d.called
    h2 = Harness()
    h2.bind()
    h2.feed(P.PDU(P.UNBIND, 3))
    (resp,) = frames(h2.transport)
    assert resp.name == "unbind_resp" and resp.sequence == 3 and h2.transport.disconnecting


def test_unbind_first_answers_the_messages_being_stored():
    """A deliver_sm still being stored when the service stops is answered before the unbind goes out."""
    pending = []
    h = Harness(lambda pdu: pending.append(defer.Deferred()) or pending[-1])
    h.bind()
    h.feed(P.PDU(P.DELIVER_SM, 21, params={"short_message": b"x"}))
    h.proto.unbind()
    assert frames(h.transport) == []
    pending[0].callback(P.ESME_ROK)
    assert [p.name for p in frames(h.transport)] == ["deliver_sm_resp", "unbind"]
