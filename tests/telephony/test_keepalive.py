"""Re-registering by detection: the keepalive's SIP messages, the probe on an injected clock,
LineService's decisions (no sockets, no threads, no sleeping), and the real thing against a
kamailio that restarts."""
from __future__ import annotations

import socket
import time
import uuid

import pytest
from twisted.internet import defer, task
from twisted.internet.threads import blockingCallFromThread

from telephony import testing
from telephony.keepalive import (ALIVE, BOUND, NO_ANSWER, UNBOUND, OptionsProbe, answer_options,
                                 classify, options_request, parse_response)
from telephony.service import LineService

LINE_TAG = "hlabc123"


def response(status: int, call_id: str, to_tag: str = "", reason: str = "X") -> bytes:
    """A minimal SIP response to a probe."""
    to = "<sip:l@127.0.0.1>" + (f";tag={to_tag}" if to_tag else "")
    return (f"SIP/2.0 {status} {reason}\r\nVia: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bKx\r\n"
            f"From: <sip:keepalive@127.0.0.1>;tag=a\r\nTo: {to}\r\nCall-ID: {call_id}\r\n"
            f"CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n").encode()


# ----------------------------------------------------------------------------- messages

def test_options_request_is_addressed_to_the_line_through_the_server():
    """The probe asks the registrar for the line's own address of record, with a Via the
    answer can come back to, and parses back as a request pyVoIP-independent code can read."""
    data = options_request(user="12345a", server=("10.0.0.5", 5060), local=("10.0.0.9", 40000),
                           call_id="ka-1", branch="b1", from_tag="t1", cseq=3)
    text = data.decode()
    assert text.startswith("OPTIONS sip:12345a@10.0.0.5:5060 SIP/2.0\r\n")
    assert "Via: SIP/2.0/UDP 10.0.0.9:40000;branch=z9hG4bKb1;rport\r\n" in text
    assert "Call-ID: ka-1\r\n" in text and "CSeq: 3 OPTIONS\r\n" in text
    assert text.endswith("\r\n\r\n")


def test_line_answers_options_copying_the_dialog_headers():
    """The line's 200 to an OPTIONS forwarded by a proxy copies every Via (in order), From,
    Call-ID and CSeq, adds its own To-tag, and goes to the top Via's received/rport."""
    req = (b"OPTIONS sip:l@127.0.0.1:5080 SIP/2.0\r\n"
           b"Via: SIP/2.0/UDP 10.1.1.1:5060;branch=z9hG4bKp;received=10.9.9.9;rport=6000\r\n"
           b"v: SIP/2.0/UDP 127.0.0.1:4000;branch=z9hG4bKc;rport=4000\r\n"
           b"f: <sip:keepalive@127.0.0.1>;tag=f1\r\nt: <sip:l@127.0.0.1>\r\n"
           b"i: abc\r\nCSeq: 7 OPTIONS\r\nContent-Length: 0\r\n\r\n")
    reply, dest = answer_options(req, LINE_TAG)
    text = reply.decode()
    assert dest == ("10.9.9.9", 6000)
    assert text.startswith("SIP/2.0 200 OK\r\n")
    assert text.index("10.1.1.1:5060") < text.index("127.0.0.1:4000")
    assert f"To: <sip:l@127.0.0.1>;tag={LINE_TAG}\r\n" in text
    assert "Call-ID: abc\r\n" in text and "CSeq: 7 OPTIONS\r\n" in text
    assert parse_response(reply) == (200, "abc", LINE_TAG)
    # a To that already has a tag keeps it; no received/rport: the Via's own address
    req2 = req.replace(b"t: <sip:l@127.0.0.1>", b"To: <sip:l@127.0.0.1>;tag=old").replace(
        b";received=10.9.9.9;rport=6000", b"")
    reply2, dest2 = answer_options(req2, LINE_TAG)
    assert dest2 == ("10.1.1.1", 5060) and b";tag=old\r\n" in reply2 and LINE_TAG.encode() not in reply2


@pytest.mark.parametrize("data", [
    b"", b"\xff\xfe", b"OPTIONS\r\n\r\n", b"INVITE sip:x SIP/2.0\r\nVia: SIP/2.0/UDP 1.2.3.4\r\n\r\n",
    b"OPTIONS sip:x SIP/2.0\r\nFrom: <sip:a>\r\n\r\n",                        # no Via, To, ...
    b"OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/TCP 1.2.3.4\r\nFrom: a\r\nTo: b\r\n"
    b"Call-ID: c\r\nCSeq: 1 OPTIONS\r\n\r\n",                                   # not UDP
    b"OPTIONS sip:x SIP/2.0\r\nbroken header line\r\n\r\n",
])
def test_malformed_options_get_no_answer(data):
    """Anything but a well-formed UDP OPTIONS is dropped (None), never an exception."""
    assert answer_options(data, LINE_TAG) is None


def test_answers_are_classified():
    """Only the line's own 200 means bound; 404/480/410/604 mean the registrar forgot the line;
    any other answer (the server answering for itself, asking for auth) only means alive."""
    assert classify(200, LINE_TAG, LINE_TAG) == BOUND
    assert classify(200, "servertag", LINE_TAG) == ALIVE
    assert [classify(s, "", LINE_TAG) for s in (404, 480, 410, 604)] == [UNBOUND] * 4
    assert classify(407, "", LINE_TAG) == ALIVE and classify(500, "", LINE_TAG) == ALIVE
    assert parse_response(b"SIP/2.0 abc\r\nCall-ID: x\r\n\r\n") is None
    assert parse_response(b"INVITE sip:x SIP/2.0\r\nCall-ID: x\r\n\r\n") is None


# ----------------------------------------------------------------------------- the probe

class FakeUDP:
    """Stands in for a listening UDP port: keeps what was written."""

    def __init__(self):
        self.written: list = []

    def write(self, data, addr):
        """Keep the datagram."""
        self.written.append((data, addr))

    def getHost(self):
        """The probe's own address."""
        class H:
            host, port = "127.0.0.1", 40000
        return H


def make_probe(clock, resolve=None):
    """A probe on a fake transport, timing out after 1 s of the given clock."""
    probe = OptionsProbe(user="l", server=("127.0.0.1", 5060), line_tag=LINE_TAG, clock=clock,
                         timeout_s=1.0, resolve=resolve)
    probe.makeConnection(FakeUDP())
    return probe


def sent_call_id(probe, i=-1) -> str:
    """The Call-ID of the i-th OPTIONS the probe sent."""
    data, addr = probe.transport.written[i]
    assert addr == ("127.0.0.1", 5060)
    return next(l.split(": ", 1)[1] for l in data.decode().split("\r\n") if l.startswith("Call-ID"))


def test_probe_outcomes_on_an_injected_clock():
    """The line's 200 gives bound, a 404 unbound; provisional, stray, garbage and late
    datagrams are ignored; silence gives no-answer exactly at the timeout."""
    clock = task.Clock()
    probe = make_probe(clock)
    results = []
    probe.probe().addCallback(results.append)
    cid = sent_call_id(probe)
    probe.datagramReceived(response(100, cid), ("127.0.0.1", 5060))      # Trying: not final
    probe.datagramReceived(response(200, "someone-else", LINE_TAG), ("127.0.0.1", 5060))
    probe.datagramReceived(b"\x00garbage", ("127.0.0.1", 5060))
    assert results == []
    probe.datagramReceived(response(200, cid, LINE_TAG), ("127.0.0.1", 5060))
    assert results == [BOUND]

    probe.probe().addCallback(results.append)
    probe.datagramReceived(response(404, sent_call_id(probe)), ("127.0.0.1", 5060))
    assert results == [BOUND, UNBOUND]

    probe.probe().addCallback(results.append)
    cid = sent_call_id(probe)
    clock.advance(0.99)
    assert results == [BOUND, UNBOUND]
    clock.advance(0.01)
    assert results == [BOUND, UNBOUND, NO_ANSWER]
    probe.datagramReceived(response(200, cid, LINE_TAG), ("127.0.0.1", 5060))  # too late
    assert results == [BOUND, UNBOUND, NO_ANSWER]
    assert not clock.getDelayedCalls()


def test_probe_of_an_unresolvable_server_is_no_answer():
    """A server name that does not resolve counts as a server that does not answer."""
    clock = task.Clock()
    probe = OptionsProbe(user="l", server=("sip.invalid", 5060), line_tag=LINE_TAG, clock=clock,
                         timeout_s=1.0, resolve=lambda name: defer.fail(OSError("no such name")))
    probe.makeConnection(FakeUDP())
    results = []
    probe.probe().addCallback(results.append)
    assert results == [NO_ANSWER] and probe.transport.written == []


# ----------------------------------------------------------------------------- decisions

class FakeLine:
    """A line whose reregister outcomes are scripted; counts calls."""

    class config:
        """Stand-in config."""
        name, username, bind_ip = "fake", "fake", "127.0.0.1"

        class server:
            """Stand-in server."""
            host, port = "127.0.0.1", 5060

    def __init__(self, outcomes=()):
        self.outcomes = list(outcomes)
        self.reregisters = 0
        self.healthy = True
        self.options_tag = LINE_TAG

    def start(self):
        """Registers (scripted: always works)."""

    def stop(self):
        """Stops."""

    def reregister(self):
        """Scripted outcome: True, False, or an exception to raise; True when none left."""
        self.reregisters += 1
        outcome = self.outcomes.pop(0) if self.outcomes else True
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


class FakeProbe:
    """Probe outcomes handed out in order (no answer when none are left)."""

    def __init__(self, outcomes=()):
        self.outcomes = list(outcomes)
        self.sent = 0

    def probe(self):
        """The next scripted outcome."""
        self.sent += 1
        return defer.succeed(self.outcomes.pop(0) if self.outcomes else NO_ANSWER)


def service(line, probe, clock, keepalive_s=2.0, refresh_s=60.0, retry_s=1.0):
    """A started LineService running the line's blocking methods synchronously."""
    svc = LineService(line, reactor=None, clock=clock, reregister_interval_s=refresh_s,
                      keepalive_interval_s=keepalive_s, keepalive_timeout_s=0.5, retry_s=retry_s,
                      probe=probe, run_blocking=lambda fn: defer.maybeDeferred(fn))
    svc.startService()
    assert svc.ready.called
    return svc


def test_registrar_that_forgot_the_line_gets_a_register_at_the_next_keepalive():
    """A 404 to the keepalive (the registrar restarted faster than a keepalive interval)
    makes the line register at that tick, long before the periodic refresh."""
    clock, line = task.Clock(), FakeLine()
    svc = service(line, FakeProbe([BOUND, UNBOUND, BOUND, BOUND]), clock)
    clock.advance(2)
    assert line.reregisters == 0
    clock.advance(2)
    assert line.reregisters == 1
    assert svc.history == [(4.0, "server does not know the line", True)]
    clock.advance(4)
    assert line.reregisters == 1            # bound again: nothing more to do
    svc.stopService()


def test_server_answering_again_after_silence_triggers_a_register_once():
    """While the server does not answer nothing is sent but probes (a REGISTER would only
    time out); its first answer afterwards (it came back, maybe restarted, maybe still
    knowing the line) triggers exactly one REGISTER."""
    clock, line = task.Clock(), FakeLine()
    probe = FakeProbe([BOUND, NO_ANSWER, NO_ANSWER, NO_ANSWER, ALIVE, BOUND])
    svc = service(line, probe, clock)
    clock.advance(2)
    for _ in range(3):
        clock.advance(2)
        assert svc.server_answering is False and line.reregisters == 0
    clock.advance(2)
    assert line.reregisters == 1 and svc.history[-1][1] == "server answers again"
    clock.advance(2)
    assert line.reregisters == 1 and probe.sent == 6
    svc.stopService()


def test_failed_refresh_is_retried_soon_with_backoff_not_at_the_next_interval():
    """A periodic refresh that fails is retried after retry_s, then 2x, 4x ... (capped at the
    refresh interval) until it works; then the normal rhythm resumes."""
    clock = task.Clock()
    line = FakeLine([TimeoutError("no answer"), False, True])
    svc = service(line, FakeProbe([ALIVE] * 100), clock, keepalive_s=0, refresh_s=60, retry_s=1)
    clock.advance(60)
    assert line.reregisters == 1 and svc.failures == 1 and svc.need_register
    clock.advance(1)
    assert line.reregisters == 2 and svc.failures == 2
    clock.advance(1.9)
    assert line.reregisters == 2            # the second retry waits 2 s
    clock.advance(0.1)
    assert line.reregisters == 3 and not svc.need_register
    assert [ok for _, _, ok in svc.history] == [False, False, True]
    clock.advance(56.9)
    assert line.reregisters == 3
    clock.advance(0.1)                      # t=120: the periodic refresh
    assert line.reregisters == 4
    svc.stopService()
    assert not clock.getDelayedCalls()


def test_failed_register_waits_for_the_server_while_it_is_silent():
    """With the keepalive on and the server silent, a failed REGISTER is not retried on a
    timer (it would block the line's receive loop for the REGISTER timeout each time); the
    server's next answer retries it."""
    clock = task.Clock()
    line = FakeLine([TimeoutError("no answer"), True])
    probe = FakeProbe([NO_ANSWER] * 30 + [ALIVE] + [BOUND] * 10)
    svc = service(line, probe, clock, keepalive_s=2, refresh_s=60, retry_s=1)
    for _ in range(29):                     # a LoopingCall runs once per advance()
        clock.advance(2)
    assert svc.server_answering is False and probe.sent == 29
    clock.advance(2)                        # t=60: refresh fails; no timer retry
    assert line.reregisters == 1 and svc.need_register
    clock.advance(1)
    assert line.reregisters == 1
    clock.advance(1)                        # t=62: the server answers: register now
    assert line.reregisters == 2 and not svc.need_register
    svc.stopService()


def test_stopped_phone_is_restarted_at_the_keepalive():
    """A phone pyVoIP stopped after failed refreshes is recreated at the next keepalive
    answer, not at the next periodic refresh."""
    clock, line = task.Clock(), FakeLine()
    svc = service(line, FakeProbe([BOUND, ALIVE]), clock)
    clock.advance(2)
    line.healthy = False
    clock.advance(2)
    assert line.reregisters == 1 and svc.history[-1][1] == "phone stopped"
    svc.stopService()


def test_keepalive_off_sends_nothing():
    """keepalive_interval_s 0: no probe at all, only the periodic refresh."""
    clock, line, probe = task.Clock(), FakeLine(), FakeProbe()
    svc = service(line, probe, clock, keepalive_s=0, refresh_s=10)
    clock.advance(10)
    assert probe.sent == 0 and line.reregisters == 1
    svc.stopService()


# ----------------------------------------------------------------------------- for real

def test_line_answers_options_on_its_sip_port(kamailio, make_line, sipp):
    """A registered line answers an OPTIONS sent straight to its SIP port with its tag (pyVoIP
    alone drops OPTIONS); an OPTIONS whose Via points at a closed port or a malformed one do
    not stop it, and it still answers calls afterwards."""
    line = make_line(kamailio)

    def options(via_port: int, cid: str) -> bytes:
        return (f"OPTIONS sip:{line.config.username}@127.0.0.1 SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP 127.0.0.1:{via_port};branch=z9hG4bK{cid[:10]}\r\n"
                f"From: <sip:t@127.0.0.1>;tag=x\r\nTo: <sip:{line.config.username}@127.0.0.1>\r\n"
                f"Call-ID: {cid}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n").encode()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        s.settimeout(3)
        port = s.getsockname()[1]
        target = ("127.0.0.1", line.config.sip_port)
        s.sendto(options(testing.free_udp_port(), uuid.uuid4().hex), target)   # nobody there
        s.sendto(b"OPTIONS sip:x SIP/2.0\r\nVia: nonsense\r\n\r\n", target)
        cid = uuid.uuid4().hex
        s.sendto(options(port, cid), target)
        status, call_id, tag = parse_response(s.recv(4096))
    assert (status, call_id, tag) == (200, cid, line.options_tag)
    assert line.options_answered == 2 and line.healthy
    assert sipp.run(testing.uac_scenario(pause_after_ms=200), line.config.username,
                    timeout_s=15) == 0
    testing.wait_for(lambda: line.sink.finished, 15, what="call record")


def keepalive_service(line, reactor_thread, interval_s=1.0):
    """A LineService on the real reactor clock: keepalive every interval_s, the periodic
    refresh far away (10 min) so that it cannot be what re-registers the line."""
    svc = LineService(line, reactor_thread, reregister_interval_s=600,
                      keepalive_interval_s=interval_s, keepalive_timeout_s=0.5, retry_s=1.0)
    blockingCallFromThread(reactor_thread, svc.startService)
    blockingCallFromThread(reactor_thread, lambda: svc.ready)
    return svc


def test_kamailio_restart_is_detected_and_the_line_registers_again_in_seconds(
        kamailio, make_line, sipp, reactor_thread):
    """kamailio forgets the line when it restarts. The keepalive (1 s) notices -- a 404 for
    the line, or an answer after silence -- and the line registers again while the test
    waits (10 s at most), so not by the periodic refresh (10 min here); a call placed after
    that reaches the line. How long it took is printed, not asserted: timing is the bench's job."""
    line = make_line(kamailio, start=False)
    svc = keepalive_service(line, reactor_thread)
    try:
        quick = testing.uac_scenario(pause_after_ms=200)
        testing.wait_for(lambda: svc.last_probe == BOUND, 5, what="the keepalive to see the line")
        assert sipp.run(quick, line.config.username, name="before", timeout_s=15) == 0
        before = len(svc.history)
        began = time.monotonic()
        kamailio.restart()                  # returns once kamailio answers again
        back = time.monotonic()
        testing.wait_for(lambda: any(ok for _, _, ok in svc.history[before:]), 10,
                         interval_s=0.02, what="re-registration after the restart")
        took = time.monotonic() - back
        print(f"\nre-registered {took:.2f} s after kamailio answered again, "
              f"{time.monotonic() - began:.2f} s after the restart began ({svc.history[before][1]})")
        assert svc.history[before][1] in ("server does not know the line", "server answers again")
        assert sipp.run(quick, line.config.username, name="after", timeout_s=15) == 0
        testing.wait_for(lambda: len(line.sink.finished) == 2, 15, what="second call record")
    finally:
        blockingCallFromThread(reactor_thread, svc.stopService)


def test_kamailio_down_then_back_registers_the_line_at_its_first_answer(
        kamailio, make_line, sipp, reactor_thread):
    """kamailio down for a while: the keepalive sees no answers (and no REGISTER is sent);
    when kamailio starts again the line registers within a few seconds and calls reach it."""
    line = make_line(kamailio, start=False)
    svc = keepalive_service(line, reactor_thread)
    try:
        testing.wait_for(lambda: svc.last_probe == BOUND, 5, what="the keepalive to see the line")
        kamailio.stop()
        testing.wait_for(lambda: svc.server_answering is False, 5, what="the keepalive to miss")
        before = len(svc.history)
        kamailio.start()
        back = time.monotonic()
        testing.wait_for(lambda: any(ok for _, _, ok in svc.history[before:]), 10,
                         interval_s=0.02, what="re-registration after the server came back")
        took = time.monotonic() - back
        print(f"\nre-registered {took:.2f} s after kamailio answered again "
              f"({svc.history[before][1]})")
        assert sipp.run(testing.uac_scenario(pause_after_ms=200), line.config.username,
                        timeout_s=15) == 0
        testing.wait_for(lambda: line.sink.finished, 15, what="call record")
    finally:
        blockingCallFromThread(reactor_thread, svc.stopService)
