"""Faults at the line: early hang-up, silence, RTP that stops, a registrar restart, garbage.

Each must end in a clear state with the recording kept, and never take the line down.
"""
from __future__ import annotations

import os
import random
import socket
import threading

import pytest
from twisted.internet import task
from twisted.internet.threads import blockingCallFromThread

from telephony import interfaces as I
from telephony import testing
from telephony.service import LineService

DTMF = "/usr/share/sip-tester/dtmf_2833_{}.pcap"


def ulaw_file(tmp_path, name: str, pcm16: bytes) -> str:
    """Write a raw mu-law file for SIPp's rtp_stream."""
    path = str(tmp_path / name)
    testing.write_ulaw(pcm16, path)
    return path


def tone(seconds: float, amplitude: int = 8000) -> bytes:
    """A loud 440 Hz-ish square wave (speech-like energy for the VAD)."""
    period = 18
    one = (amplitude).to_bytes(2, "little", signed=True)
    other = (-amplitude).to_bytes(2, "little", signed=True)
    samples = [one if (i // (period // 2)) % 2 == 0 else other for i in range(int(8000 * seconds))]
    return b"".join(samples)


def wait_record(sink, timeout_s=25.0):
    """Wait until the sink holds a finished call record."""
    testing.wait_for(lambda: sink.finished, timeout_s, what="call_finished")
    return sink.finished[0]


def test_hangup_during_greeting(kamailio, make_line, sipp):
    """A caller who hangs up during the greeting ends in 'hangup_in_greeting', with the
    recording file kept and handed over."""
    line = make_line(kamailio)
    rc = sipp.run(testing.uac_scenario(pause_after_ms=200), line.config.username, timeout_s=20)
    record = wait_record(line.sink)
    assert rc == 0
    assert record.state == I.STATE_HANGUP_IN_GREETING
    assert record.menu == I.MENU_NONE
    assert os.path.exists(record.wav_path)


def test_silent_call(kamailio, make_line, sipp, tmp_path):
    """A caller who presses 1 and then says nothing (RTP of digital silence) ends in
    'silent' after the VAD's initial-silence limit."""
    line = make_line(kamailio)
    audio = ulaw_file(tmp_path, "silence.ulaw", b"\x00\x00" * 8000 * 7)
    rc = sipp.run(testing.uac_scenario(dtmf_pcaps=(DTMF.format(1),), audio=audio,
                                       pause_after_ms=7500), line.config.username, timeout_s=25)
    record = wait_record(line.sink)
    assert record.state == I.STATE_SILENT
    assert record.menu == I.MENU_REPORT
    assert record.duration_s >= 3.0      # initial_silence_s of the test VAD
    assert rc == 0


def test_rtp_that_stops_times_out(kamailio, make_line, sipp, tmp_path):
    """Audio that stops arriving (caller's network gone) ends the call in 'rtp_timeout'
    after rtp_timeout_s; what did arrive is in the recording."""
    line = make_line(kamailio)
    audio = ulaw_file(tmp_path, "short.ulaw", tone(1.0))
    sipp.run(testing.uac_scenario(audio=audio, pause_after_ms=6000), line.config.username,
             timeout_s=20)
    record = wait_record(line.sink)
    assert record.state == I.STATE_RTP_TIMEOUT
    assert record.duration_s == pytest.approx(1.0, abs=0.05)


def test_registrar_restart_is_followed_by_reregistration(kamailio, make_line, sipp,
                                                         reactor_thread):
    """kamailio keeps registrations in memory: after its restart calls to the line get 404
    until the watchdog (driven by an injected clock) registers the line again."""
    line = make_line(kamailio, start=False)
    clock = task.Clock()
    service = LineService(line, reactor_thread, clock=clock, reregister_interval_s=5)
    blockingCallFromThread(reactor_thread, service.startService)
    try:
        quick = testing.uac_scenario(pause_after_ms=200)
        assert sipp.run(quick, line.config.username, name="before", timeout_s=15) == 0
        kamailio.restart()
        assert sipp.run(quick, line.config.username, name="lost", timeout_s=5) != 0
        before = line.registrations
        reactor_thread.callFromThread(clock.advance, 5)
        testing.wait_for(lambda: line.registrations > before, 15, what="re-registration")
        assert sipp.run(quick, line.config.username, name="after", timeout_s=15) == 0
        testing.wait_for(lambda: len(line.sink.finished) == 2, 15, what="second call record")
    finally:
        blockingCallFromThread(reactor_thread, service.stopService)


def test_garbage_datagrams_do_not_stop_the_line(kamailio, make_line, sipp):
    """Random bytes, truncated and malformed SIP, invalid UTF-8 and oversized datagrams at the
    line's SIP port are ignored: the next real call is answered and recorded."""
    line = make_line(kamailio)
    rnd = random.Random(7)
    junk = [b"", b"\x00\x00\x00\x00", b"\xff\xfe\xfd" * 50, bytes(rnd.randrange(256) for _ in range(600)),
            b"INVITE\r\n\r\n", b"SIP/2.0 200\r\n\r\n", b"SIP/2.0 200 OK\r\nCall-ID: x\r\n\r\n",
            b"INVITE sip:x@127.0.0.1 SIP/2.0\r\nVia: broken\r\nFrom: <>\r\n\r\n",
            b"BYE sip:x SIP/2.0\r\nCall-ID: nope\r\n\r\n", b"A" * 8000,
            "INVITE sip:一@127.0.0.1 SIP/2.0\r\n\r\n".encode("utf8"),
            b"INVITE sip:x@127.0.0.1 SIP/3.0\r\nCall-ID: y\r\n\r\n"]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for j in junk:
            s.sendto(j, ("127.0.0.1", line.config.sip_port))
    rc = sipp.run(testing.uac_scenario(pause_after_ms=200), line.config.username, timeout_s=20)
    record = wait_record(line.sink)
    assert rc == 0
    assert record.state == I.STATE_HANGUP_IN_GREETING
    assert line.healthy


def test_garbage_rtp_during_a_call_is_counted_not_fatal(kamailio, make_line, sipp, tmp_path):
    """Malformed datagrams at the call's RTP port are counted and dropped; the real audio
    around them is still recorded."""
    line = make_line(kamailio)
    audio = ulaw_file(tmp_path, "tone.ulaw", tone(4.0))
    proc = sipp.start(testing.uac_scenario(dtmf_pcaps=(DTMF.format(1),), audio=audio,
                                           pause_after_ms=7000), line.config.username,
                      timeout_s=20)
    try:
        # the RTP socket is bound when the call is answered, ~1 s after the INVITE
        testing.wait_for(lambda: any(hasattr(r, "sin") for c in list(line.phone.calls.values())
                                     for r in c.RTPClients), 10, what="an answered call")
        port = next(iter(line.phone.calls.values())).RTPClients[0].inPort
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for j in (b"", b"\x80", b"\x80\x00\x00", b"\xc0" * 40, b"\x80\x7f" + b"\x00" * 30):
                s.sendto(j, ("127.0.0.1", port))
        record = wait_record(line.sink)
    finally:
        proc.wait(30)
    call_capture_bad = record.extra.get("bad_packets")
    assert record.duration_s >= 1.5
    assert call_capture_bad is not None and call_capture_bad >= 4


def test_line_recovers_after_the_registrar_was_down_long_enough_for_pyvoip_to_give_up(
        kamailio, make_line, sipp, reactor_thread):
    """With the SIP server down, pyVoIP's own refreshes fail until it stops the phone; once
    the server is back, the next watchdog tick recreates the phone and registers it."""
    line = make_line(kamailio, start=False)
    clock = task.Clock()
    service = LineService(line, reactor_thread, clock=clock, reregister_interval_s=5)
    blockingCallFromThread(reactor_thread, service.startService)
    try:
        kamailio.stop()
        # drive pyVoIP's own refresh now instead of waiting for its 115 s timer
        line.phone.sip.registerThread.cancel()
        threading.Thread(target=line.phone.sip.register, daemon=True).start()
        testing.wait_for(lambda: not line.healthy, 20, what="pyVoIP to give up")
        kamailio.start()

        def tick_then_check():
            # a tick can come while pyVoIP is still deregistering its failed phone (the SIP
            # port is busy for register_timeout_s); the next tick succeeds
            reactor_thread.callFromThread(clock.advance, 5)
            return line.healthy
        testing.wait_for(tick_then_check, 20, interval_s=0.5, what="phone recreated and registered")
        assert sipp.run(testing.uac_scenario(pause_after_ms=200), line.config.username,
                        timeout_s=15) == 0
        testing.wait_for(lambda: line.sink.finished, 15, what="call record")
    finally:
        blockingCallFromThread(reactor_thread, service.stopService)
