"""The link's pacing and reconnection on an injected clock (MemoryReactorClock records connects)."""
from __future__ import annotations

from twisted.internet import defer
from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.python import failure

from intake.channels.smpp import pdu as P
from intake.channels.smpp.link import RateLimiter, SMPPLink
from intake.sms_config import LinkSettings


def settings(**kw):
    """A link to a made-up SMSC."""
    values = dict(name="t", host="127.0.0.1", port=2775, system_id="hotline", password="secret", short_number="12345",
                  reconnect_initial_s=1, reconnect_max_s=8, submit_rate=10, throttle_pause_s=2)
    values.update(kw)
    return LinkSettings(**values)


def test_rate_limiter_allows_a_burst_then_the_configured_rate():
    """rate 10/s: ten at once, then one per 0.1 s of the clock, in the order asked."""
    clock = Clock()
    limiter = RateLimiter(10, clock)
    got = []
    for i in range(13):
        limiter.acquire().addCallback(lambda _, i=i: got.append(i))
    assert got == list(range(10))
    clock.advance(0.1)
    assert got == list(range(11))
    clock.advance(0.2)
    assert got == list(range(13))


def test_rate_limiter_pause_holds_everything_until_it_ends():
    """After pause(2) nothing goes out for 2 s of the clock, then the queue drains at the rate."""
    clock = Clock()
    limiter = RateLimiter(100, clock)
    limiter.pause(2)
    got = []
    for i in range(3):
        limiter.acquire().addCallback(lambda _, i=i: got.append(i))
    clock.advance(1.9)
    assert got == []
    clock.advance(0.1)
    assert got == [0, 1, 2]


def test_reconnect_backoff_doubles_to_the_cap_and_resets_once_bound():
    """Failed connects wait 1, 2, 4, 8, 8 s; a bind resets the wait to 1 s; stop ends reconnecting."""
    reactor = MemoryReactorClock()
    link = SMPPLink(settings(), reactor, reactor, on_deliver=lambda link, pdu: defer.succeed(0))
    link.startService()
    session = link.sessions[0]
    assert len(reactor.tcpClients) == 1 and reactor.tcpClients[0][:2] == ("127.0.0.1", 2775)
    waits = []
    for _ in range(5):
        session.clientConnectionFailed(None, failure.Failure(ConnectionRefusedError()))
        waits.append(reactor.getDelayedCalls()[0].getTime() - reactor.seconds())
        reactor.advance(waits[-1])
    assert waits == [1, 2, 4, 8, 8] and len(reactor.tcpClients) == 6
    proto = session.buildProtocol(None)
    transport = StringTransport()
    proto.makeConnection(transport)
    bind = P.decode(transport.value())
    proto.dataReceived(P.encode(P.response_to(bind, system_id="SMSC")))
    assert session.delay == 1 and link.transmitter is proto
    ready = link.when_ready()
    assert ready.called
    link.stopService()
    proto.connectionLost(failure.Failure(ConnectionError("closed")))
    assert not [c for c in reactor.getDelayedCalls() if c.active() and c.func == session._connect]


def test_throttled_answer_pauses_the_link_and_doubles_while_it_lasts():
    """ESME_RTHROTTLED pauses every submit for throttle_pause_s; a second one doubles the pause;
    an accepted submit brings it back to the configured pause."""
    reactor = MemoryReactorClock()
    link = SMPPLink(settings(), reactor, reactor, on_deliver=lambda link, pdu: defer.succeed(0))
    link.startService()
    proto = link.sessions[0].buildProtocol(None)
    transport = StringTransport()
    proto.makeConnection(transport)
    proto.dataReceived(P.encode(P.response_to(P.decode(transport.value()), system_id="SMSC")))
    transport.clear()

    def answer(status):
        d = link.submit(P.PDU(P.SUBMIT_SM))
        sent = P.decode(transport.value())
        transport.clear()
        proto.dataReceived(P.encode(P.response_to(sent, status, message_id="m")))
        return d
    answer(P.ESME_RTHROTTLED)
    assert link.limiter.paused_until == reactor.seconds() + 2
    reactor.advance(2)
    answer(P.ESME_RTHROTTLED)
    assert link.limiter.paused_until == reactor.seconds() + 4
    reactor.advance(4)
    answer(P.ESME_ROK)
    assert link._throttle == 2
