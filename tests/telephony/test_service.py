"""Services: the watchdog on an injected clock, retention of recordings, the sink bridge."""
from __future__ import annotations

import os

from twisted.internet import defer, task
from twisted.internet.threads import blockingCallFromThread
from zope.interface.verify import verifyObject

from telephony import testing
from telephony.interfaces import ICallSink
from telephony.line import SinkBridge
from telephony.service import LineService, prune_recordings


class FakeLine:
    """A line whose start/reregister outcomes are scripted."""

    class config:
        """Stand-in config."""
        name = "fake"

    def __init__(self, outcomes):
        self.outcomes = list(outcomes)
        self.calls = 0
        self.stopped = False

    def start(self):
        """Scripted stand-in for start."""
        pass

    def stop(self):
        """Scripted stand-in for stop."""
        self.stopped = True

    def reregister(self):
        """Scripted stand-in for reregister."""
        self.calls += 1
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


def test_watchdog_reregisters_on_each_tick_and_survives_failures(reactor_thread):
    """Each tick of the injected clock re-registers the line (in the reactor's thread pool);
    a failing REGISTER is counted and retried after retry_s instead of stopping the watchdog
    or waiting for the next tick; stop stops the phone."""
    line = FakeLine([TimeoutError("no answer"), True, True])
    clock = task.Clock()
    svc = LineService(line, reactor_thread, clock=clock, reregister_interval_s=30, retry_s=5)
    blockingCallFromThread(reactor_thread, svc.startService)
    assert line.calls == 0                  # nothing before the first interval
    blockingCallFromThread(reactor_thread, clock.advance, 30)
    testing.wait_for(lambda: line.calls == 1 and not svc._busy, 5, what="first tick")
    assert svc.failures == 1 and svc.need_register
    blockingCallFromThread(reactor_thread, clock.advance, 5)
    testing.wait_for(lambda: line.calls == 2 and not svc._busy, 5, what="the retry")
    assert svc.failures == 1 and not svc.need_register
    blockingCallFromThread(reactor_thread, clock.advance, 25)
    testing.wait_for(lambda: line.calls == 3 and not svc._busy, 5, what="second tick")
    assert [reason for _, reason, _ in svc.history] == [
        "periodic refresh", "retry of a failed REGISTER", "periodic refresh"]
    blockingCallFromThread(reactor_thread, svc.stopService)
    assert line.stopped


def test_retention_removes_only_old_recordings(tmp_path):
    """Recordings older than retention_days are deleted; newer ones and other files stay;
    0 days keeps everything."""
    old, new, other = tmp_path / "d" / "old.wav", tmp_path / "d" / "new.wav", tmp_path / "d" / "x.txt"
    old.parent.mkdir()
    for p in (old, new, other):
        p.write_bytes(b"x")
    now = 2_000_000_000
    os.utime(old, (now - 91 * 86400, now - 91 * 86400))
    os.utime(new, (now - 89 * 86400, now - 89 * 86400))
    os.utime(other, (now - 999 * 86400, now - 999 * 86400))
    assert prune_recordings(str(tmp_path), 0, now) == 0 and old.exists()
    assert prune_recordings(str(tmp_path), 90, now) == 1
    assert not old.exists() and new.exists() and other.exists()


def test_sink_bridge_times_out_and_survives_failing_sinks(reactor_thread):
    """From a call thread, the bridge returns the sink's answer; a sink that never answers
    gives None after the timeout and a failing sink gives None, without raising."""
    sink = testing.RecordingSink(case_number="77")
    verifyObject(ICallSink, sink)
    bridge = SinkBridge(sink, reactor_thread)
    assert bridge.finished("rec", 5) == "77"
    sink.call_finished = lambda record: defer.Deferred()
    assert bridge.finished("rec", 0.2) is None
    sink.case_status = lambda number: defer.fail(RuntimeError("db down"))
    assert bridge.status("1", 5) is None


def test_telephony_service_starts_lines_answers_and_stops(kamailio, prompts_dir, tmp_path,
                                                          reactor_thread, sipp, make_line_config):
    """The MultiService built from a TelephonyConfig registers its line (when_ready fires),
    answers a call into the given sink, and stops its phones and pool."""
    from telephony.asr import NullEngine
    from telephony.config import RecordingConfig, TelephonyConfig
    from telephony.service import TelephonyService
    lc = make_line_config(kamailio)
    cfg = TelephonyConfig(lines=(lc,), vad=testing.FAST_VAD, timeouts=testing.FAST_TIMEOUTS,
                          recordings=RecordingConfig(str(tmp_path / "rec"), 30),
                          prompts_dir=prompts_dir)
    sink = testing.RecordingSink()
    svc = TelephonyService(cfg, sink, NullEngine(), reactor=reactor_thread, clock=task.Clock())
    blockingCallFromThread(reactor_thread, svc.startService)
    try:
        blockingCallFromThread(reactor_thread, svc.when_ready)
        assert sipp.run(testing.uac_scenario(pause_after_ms=200), lc.username, timeout_s=15) == 0
        testing.wait_for(lambda: sink.finished, 15, what="call record")
        assert sink.finished[0].line == lc.name
    finally:
        blockingCallFromThread(reactor_thread, svc.stopService)
    assert all(line.phone is None for line in svc.lines)


def test_line_that_cannot_register_fails_its_start(tmp_path, make_line):
    """A line whose SIP server does not answer fails start() with the server and account in
    the message, instead of pyVoIP retrying silently in the background."""
    import pytest

    class Nobody:
        port = testing.free_udp_port()
    with pytest.raises(RuntimeError, match=r"did not accept REGISTER for line\d+"):
        make_line(Nobody)
