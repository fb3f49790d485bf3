"""Real calls into intake: SIPp -> kamailio -> pyVoIP line -> IntakeSink -> store + pipeline.

The line is wired to the app's real IntakeSink (intake.channels.phone) over a real store on a
DB thread pool (SQLite and PostgreSQL) and the real pipeline (classifier on a thread), as
`hotline serve` wires it; the API is the real calls API. ASR is a fake engine speaking the
IASREngine interface (no Chinese model can be installed here): it hands out a scripted Chinese
transcript, growing with the audio it is fed, so partials, the final transcript with word
confidences, the report and the case can be checked exactly.
"""
from __future__ import annotations

import json
import os
import random
import socket
from io import BytesIO

import pytest
from twisted.internet import threads
from twisted.internet.threads import blockingCallFromThread
from twisted.web.test.requesthelper import DummyRequest
from zope.interface import implementer
from zope.interface.verify import verifyObject

from telephony import interfaces as I
from telephony import testing
from telephony.audio import linear16_to_ulaw, read_wav_linear16, ulaw_to_linear16

DTMF = "/usr/share/sip-tester/dtmf_2833_{}.pcap"
REPORT_TEXT = "新北区河海街道华山路上的路灯坏了，晚上很黑，请派人来修。"


class FakeStream:
    """One call's recogniser: partial text grows one character per 0.1 s of audio fed."""

    def __init__(self, text: str):
        self.text = text
        self.fed = 0

    def accept(self, pcm: bytes) -> str:
        """Take audio; the partial is the transcript's prefix for the audio so far."""
        self.fed += len(pcm)
        return self.text[:min(len(self.text), self.fed // 1600)]

    def finish(self) -> I.Transcript:
        """The whole scripted transcript, word by word with confidences."""
        words = tuple(I.Word(w, 0.8 + 0.01 * i, i * 0.6, i * 0.6 + 0.5)
                      for i, w in enumerate(self.text.rstrip("。").split("，")))
        return I.Transcript(self.text, words)


@implementer(I.IASREngine)
class FakeEngine:
    """An engine that 'recognises' a scripted Chinese transcript (stands in for vosk-model-cn)."""

    name = "fake-cn"
    available = True

    def __init__(self, text: str):
        self.text = text

    def open_stream(self, sample_rate=8000):
        """A new stream for one call."""
        return FakeStream(self.text)

    def close(self):
        """Nothing to release."""


@pytest.fixture(scope="module")
def caller_audio(tmp_path_factory):
    """Caller speech (espeak-ng, Mandarin) with silence around it, as the mu-law file SIPp
    sends and the 16-bit samples it decodes to."""
    testing.require_tools("espeak-ng", "sox")
    d = tmp_path_factory.mktemp("audio")
    wav = str(d / "speech.wav")
    testing.speech_wav("新北区河海街道路灯坏了，晚上很黑，请派人来修。", wav)
    speech = read_wav_linear16(wav)
    ulaw = linear16_to_ulaw(b"\x00\x00" * 2400 + speech + b"\x00\x00" * 20000)
    path = str(d / "caller.ulaw")
    with open(path, "wb") as f:
        f.write(ulaw)
    return {"path": path, "pcm": ulaw_to_linear16(ulaw), "speech_s": len(speech) / 16000}


class Intake:
    """The app's phone side on the running reactor: store, pipeline, calls API, tokens."""

    def __init__(self, db_url, config, analyser, reactor, tmp_path):
        from intake.app import build_pipeline, open_database
        from intake.auth import Authenticator, create_token_thd
        from intake.db.pool import DBThreadPool
        from intake.db.store import Store
        from intake.http import calls_api
        from intake.http.api import ApiV1
        from intake.http.router import JsonRouter
        self.reactor = reactor
        self.engine = open_database(db_url)
        self.db = DBThreadPool(self.engine, reactor)
        self.db.start()
        store = Store(self.db)
        pipeline = build_pipeline(config, analyser, store, lambda f, *a, **k: threads.deferToThread(f, *a, **k))
        auth = Authenticator(self.db, reactor)
        self.router = JsonRouter()
        ApiV1(config, pipeline, store, reactor, auth).register(self.router)
        self.phone = calls_api.register(self.router, config=config, db=self.db, pipeline=pipeline,
                                        clock=reactor, auth=auth)
        self.sink = self.phone.sink
        self.numbers: list = []
        finished = self.sink.call_finished

        def spy(record):
            # why: the case number the line speaks is what call_finished fires with
            return finished(record).addCallback(lambda n: (self.numbers.append(n), n)[1])
        self.sink.call_finished = spy
        self.tokens = {}
        with self.engine.begin() as conn:
            for role in ("operator", "auditor", "dispatcher"):
                self.tokens[role] = create_token_thd(conn, f"t-{role}", role)

    def token_for_department(self, dept: str) -> str:
        """A department user's token."""
        from intake.auth import create_token_thd
        with self.engine.begin() as conn:
            return create_token_thd(conn, f"t-{dept}", "department", dept)

    def request(self, method, path, body=None, token=None, wait=True):
        """Render a request on the reactor thread; with wait, block until it finished and return
        (status, content type, bytes); else return the live DummyRequest."""
        from urllib.parse import parse_qs
        path, _, query = path.partition("?")
        req = DummyRequest([p.encode() for p in path.strip("/").split("/")])
        req.method, req.path, req.uri = method.encode(), path.encode(), path.encode()
        req.args = {k.encode(): [x.encode() for x in v] for k, v in parse_qs(query).items()}
        req.content = BytesIO(json.dumps(body, ensure_ascii=False).encode() if body is not None else b"")
        req.requestHeaders.setRawHeaders(b"content-type", [b"application/json"])
        req.requestHeaders.setRawHeaders(b"authorization", [f"Bearer {token or self.tokens['operator']}".encode()])

        def go():
            d = req.notifyFinish()
            out = self.router.render(req)
            if isinstance(out, bytes):      # answered at once (404, 405)
                req.write(out)
                req.finish()
            return d if wait else None
        blockingCallFromThread(self.reactor, go)
        if not wait:
            return req
        ctype = req.responseHeaders.getRawHeaders(b"content-type", [b""])[0].decode()
        return req.responseCode or 200, ctype, b"".join(req.written)

    def json(self, method, path, body=None, token=None):
        """A JSON request: (status, parsed body)."""
        status, _, data = self.request(method, path, body, token)
        return status, json.loads(data)

    def row(self, sip_call_id):
        """The stored call row."""
        return blockingCallFromThread(self.reactor, self.phone.calls.get, None, sip_call_id)

    def close(self):
        """Stop the DB pool."""
        self.db.stop()


@pytest.fixture
def intake(db_url, config, analyser, reactor_thread, tmp_path):
    """The intake side over a fresh database on each backend."""
    app = Intake(db_url, config, analyser, reactor_thread, tmp_path)
    yield app
    app.close()


def wait_number(app, n=1, timeout_s=40.0):
    """Wait until call_finished answered n calls (the row written, the pipeline run)."""
    testing.wait_for(lambda: len(app.numbers) >= n, timeout_s, what="call_finished answered")


def events_of(data: bytes) -> list:
    """(event, data) pairs of a text/event-stream body."""
    out = []
    for block in data.decode("utf-8").split("\n\n"):
        lines = dict(ln.split(": ", 1) for ln in block.split("\n") if ln and not ln.startswith(":"))
        if "event" in lines:
            out.append((lines["event"], json.loads(lines["data"])))
    return out


def test_a_transcribed_call_opens_a_case_linked_to_its_recording(intake, kamailio, make_line, sipp, caller_audio):
    """A caller presses 1 and speaks: the call row holds the recording (bit-exact, its length
    that of the audio sent up to the end of the description), the DTMF choice, the caller from
    the SIP headers; the transcript became a report and a case linked to the call; call_finished
    answered its number; the event stream gave partials then the final event; a department user
    sees the caller masked."""
    assert verifyObject(I.ICallSink, intake.sink)
    engine = FakeEngine(REPORT_TEXT)
    assert verifyObject(I.IASREngine, engine)
    line = make_line(kamailio, engine=engine, sink=intake.sink)
    proc = sipp.start(testing.uac_scenario(dtmf_pcaps=(DTMF.format(1),), audio=caller_audio["path"],
                                           pause_after_ms=9000, caller="13800000000", pai="13912345678"),
                      line.config.username, timeout_s=30)
    try:
        testing.wait_for(lambda: any(c.row_id for c in list(intake.sink.live.values())), 15, what="call row")
        row_id = next(c.row_id for c in intake.sink.live.values())
        stream = intake.request("GET", f"/api/v1/calls/{row_id}/events", wait=False)
        wait_number(intake)
        rc = proc.wait(40)
    finally:
        if proc.poll() is None:
            proc.kill()
        sipp._out.close()
    assert rc == 0, open(sipp.log_path).read()[-2000:]
    testing.wait_for(lambda: stream.finished, 10, what="event stream closed")
    status, call = intake.json("GET", f"/api/v1/calls/{row_id}")
    assert status == 200
    assert call["state"] == "completed" and call["menu"] == "report" and call["dtmf"].startswith("1")
    assert call["caller"] == "13912345678" and call["engine"] == "fake-cn" and call["asr_status"] == "done"
    assert call["intake_status"] == "reported" and call["transcript"] == REPORT_TEXT
    assert [w["word"] for w in call["words"]][:2] == ["新北区河海街道华山路上的路灯坏了", "晚上很黑"]
    assert call["case"]["number"] == intake.numbers[0] and intake.numbers[0].isdigit()
    # the recording: what the caller sent, decoded to 16 bits, up to the end of the description
    row = intake.row(call["call_id"])
    got = read_wav_linear16(row["wav_path"])
    assert len(got) >= (0.3 + caller_audio["speech_s"]) * 16000
    assert got == caller_audio["pcm"][:len(got)]
    assert call["duration_s"] == pytest.approx(len(got) / 16000) and call["frames_lost"] == 0
    status, ctype, wav = intake.request("GET", f"/api/v1/calls/{row_id}/recording", token=intake.tokens["auditor"])
    assert status == 200 and ctype == "audio/wav" and wav == open(row["wav_path"], "rb").read()
    # the report and the case
    status, rep = intake.json("GET", f"/api/v1/reports/{call['report_id']}")
    assert rep["channel"] == "12345" and rep["external_id"] == call["call_id"] and rep["text"] == REPORT_TEXT
    status, case = intake.json("GET", f"/api/v1/cases/{call['case']['number']}")
    assert status == 200 and case["reports"][0]["id"] == call["report_id"]
    # the live event stream
    events = events_of(b"".join(stream.written))
    kinds = [e for e, _ in events]
    assert kinds[-1] == "final" and kinds.count("partial") >= 3
    partials = [d["text"] for e, d in events if e == "partial"]
    assert all(REPORT_TEXT.startswith(p) for p in partials) and partials == sorted(partials, key=len)
    assert events[-1][1]["case_number"] == intake.numbers[0]
    # masking for the department the case went to
    dept = case["department"]
    status, seen = intake.json("GET", f"/api/v1/calls/{row_id}", token=intake.token_for_department(dept))
    assert status == 200 and seen["caller"] == "139****5678"


def test_without_asr_the_call_is_queued_and_an_operator_opens_the_case(intake, kamailio, make_line, sipp, caller_audio,
                                                                        tmp_path):
    """Engine none: the call is answered and recorded, waits in the manual transcription queue
    (no case number spoken); the operator's transcript through the API opens the case; calling
    back with menu 2 and the case number gives its status from the case (the DTMF path)."""
    line = make_line(kamailio, sink=intake.sink)
    rc = sipp.run(testing.uac_scenario(dtmf_pcaps=(DTMF.format(1),), audio=caller_audio["path"],
                                       pause_after_ms=9000, caller="13700000001"),
                  line.config.username, timeout_s=30)
    wait_number(intake)
    assert rc == 0
    assert intake.numbers == [None]
    status, queue = intake.json("GET", "/api/v1/calls?waiting=true")
    assert status == 200 and queue["total"] == 1
    item = queue["items"][0]
    assert item["asr_status"] == "no_asr" and item["state"] == "completed" and item["caller"] == "13700000001"
    got = read_wav_linear16(intake.row(item["call_id"])["wav_path"])
    assert got == caller_audio["pcm"][:len(got)] and len(got) >= caller_audio["speech_s"] * 16000
    status, out = intake.json("POST", f"/api/v1/calls/{item['id']}/transcript", {"text": REPORT_TEXT})
    assert status == 201 and out["case"]["number"] and out["call_id"] == item["id"]
    status, call = intake.json("GET", f"/api/v1/calls/{item['id']}")
    assert call["intake_status"] == "reported" and call["case"]["number"] == out["case"]["number"]
    assert call["transcript_source"] == "operator"
    # the caller calls back: menu 2, the case number keyed digit by digit, '#': the status
    # sentence comes from the case (spoken with espeak-ng at run time); no new report
    number = out["case"]["number"]
    asked = []
    case_status = intake.sink.case_status
    intake.sink.case_status = lambda n: case_status(n).addCallback(lambda t: (asked.append((n, t)), t)[1])
    pcaps = tuple(DTMF.format(d) for d in "2" + number) + (testing.dtmf_pcap("#", str(tmp_path / "hash.pcap")),)
    silence = str(tmp_path / "silence.ulaw")
    testing.write_ulaw(b"\x00\x00" * 8000 * 24, silence)
    sipp.run(testing.uac_scenario(dtmf_pcaps=pcaps, audio=silence, audio_first=True, dtmf_gap_ms=250,
                                  pause_after_ms=16000, caller="13700000001"), line.config.username, timeout_s=50)
    wait_number(intake, 2)
    assert asked and asked[0][0] == number and "待受理" in asked[0][1]
    _, calls = intake.json("GET", "/api/v1/calls?state=status_given")
    assert calls["total"] == 1 and calls["items"][0]["dtmf"] == "2" + number + "#"
    assert calls["items"][0]["intake_status"] == "no_report" and calls["items"][0]["report_id"] is None


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_faults_end_in_clear_states_on_the_call_rows(intake, kamailio, make_line, tmp_path):
    """Three callers at once: one hangs up in the greeting, one stays silent, one's audio stops;
    garbage datagrams hit the line meanwhile. Every call gets its row with its state and its
    recording, none makes a report, and the line answers the next call."""
    line = make_line(kamailio, sink=intake.sink)
    silence = str(tmp_path / "silence.ulaw")
    testing.write_ulaw(b"\x00\x00" * 8000 * 7, silence)
    tone = str(tmp_path / "tone.ulaw")
    testing.write_ulaw(b"".join((6000 if (i // 9) % 2 else -6000).to_bytes(2, "little", signed=True)
                                for i in range(8000)), tone)
    scenarios = {
        "hangup_in_greeting": testing.uac_scenario(pause_after_ms=200, caller="13600000001"),
        "silent": testing.uac_scenario(dtmf_pcaps=(DTMF.format(1),), audio=silence, pause_after_ms=7500,
                                       caller="13600000002"),
        "rtp_timeout": testing.uac_scenario(audio=tone, pause_after_ms=6000, caller="13600000003"),
    }
    procs = []
    for i, (name, xml) in enumerate(scenarios.items()):
        d = tmp_path / f"sipp{i}"
        d.mkdir()
        s = testing.Sipp(str(d), kamailio.port)
        procs.append((s, s.start(xml, line.config.username, name=name, timeout_s=25)))
    rng = random.Random(7)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for n in range(30):
            junk = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 600)))
            if n % 3 == 0:
                junk = b"INVITE sip:x SIP/2.0\r\nVia: broken\r\n\r\n" + junk
            sock.sendto(junk, ("127.0.0.1", line.config.sip_port))
    try:
        wait_number(intake, 3)
    finally:
        for s, p in procs:
            if p.poll() is None:
                p.wait(30)
            s._out.close()
    _, listing = intake.json("GET", "/api/v1/calls")
    by_caller = {c["caller"]: c for c in listing["items"]}
    assert by_caller["13600000001"]["state"] == "hangup_in_greeting"
    assert by_caller["13600000002"]["state"] == "silent"
    assert by_caller["13600000003"]["state"] == "rtp_timeout"
    for c in by_caller.values():
        row = intake.row(c["call_id"])
        assert os.path.exists(row["wav_path"]) and row["report_id"] is None
    assert by_caller["13600000001"]["intake_status"] == "no_report"
    assert by_caller["13600000002"]["intake_status"] == "no_report"
    assert intake.numbers == [None, None, None]
    # the line still answers
    rc = testing.Sipp(str(tmp_path), kamailio.port).run(
        testing.uac_scenario(pause_after_ms=200, caller="13600000004"), line.config.username, timeout_s=20)
    wait_number(intake, 4)
    assert rc == 0


def test_serve_refuses_to_start_when_a_line_cannot_register(tools, tmp_path):
    """`hotline serve` with a lines.yaml whose SIP server does not answer exits 1 with a message
    naming the line and the server (a failed start is loud); --no-phones serves anyway."""
    import shutil
    import subprocess
    import sys

    import yaml

    from tests.intake.nodes import ROOT
    cfg = tmp_path / "config"
    shutil.copytree(ROOT / "config", cfg)
    lines = yaml.safe_load((cfg / "lines.demo.yaml").read_text(encoding="utf-8"))
    dead = testing.free_udp_port()
    lines["server"]["port"] = dead
    lines["timeouts"]["register_timeout_s"] = 1
    lines["prompts_dir"] = str(ROOT / "var" / "prompts")
    for ln in lines["lines"]:
        ln["sip_port"] = testing.free_udp_port()
    (cfg / "lines.yaml").write_text(yaml.safe_dump(lines, allow_unicode=True), encoding="utf-8")
    cmd = [sys.executable, "-m", "intake.cli", "serve", "--config", str(cfg), "--port", "0",
           "--db", f"sqlite:///{tmp_path / 'h.sqlite'}"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 1, out.stdout[-2000:] + out.stderr[-2000:]
    assert "cannot start: a phone line could not register" in out.stderr
    assert f"127.0.0.1:{dead}" in out.stderr and "--no-phones" in out.stderr
    from tests.intake.nodes import Node
    node = Node(f"sqlite:///{tmp_path / 'h2.sqlite'}", tmp_path, extra=["--config", str(cfg)])   # adds --no-phones
    try:
        assert node.base.startswith("http://127.0.0.1:")
    finally:
        node.stop()
