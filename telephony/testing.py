"""Test and benchmark harness: fast timings, test audio, fakes (kamailio and SIPp: telephony.localsip).

Used by tests/telephony and bench/bench_calls.py; production code never imports it. Everything
listens on 127.0.0.1 only.
"""
from __future__ import annotations

from typing import Optional

from twisted.internet import defer
from zope.interface import implementer

from telephony.audio import VadConfig
from telephony.config import CallTimeouts
from telephony.interfaces import ICallSink
# The private kamailio and the SIPp callers live in telephony.localsip (the demo uses them too);
# re-exported here for the tests and the benchmark.
from telephony.localsip import (KAMAILIO_CFG, Kamailio, Sipp, ToolMissing, _free_even_port,  # noqa: F401
                                dtmf_pcap, free_udp_port, require_tools, sip_options_ok,
                                uac_scenario, wait_for, write_ulaw)


# Short timings for tests: calls end in seconds; the caller (SIPp) always hangs up first.
FAST_TIMEOUTS = CallTimeouts(rtp_timeout_s=3.0, menu_timeout_s=2.0, digit_timeout_s=3.0,
                             sink_timeout_s=5.0, asr_final_timeout_s=10.0, hangup_grace_s=30.0,
                             reregister_interval_s=1.0, register_timeout_s=2.0)
FAST_VAD = VadConfig(threshold_dbfs=-45.0, speech_frames=3, silence_s=1.0,
                     initial_silence_s=3.0, max_s=20.0)


def speech_wav(text: str, out_path: str, voice: str = "cmn") -> None:
    """Synthesize caller speech as 8 kHz 16-bit WAV with espeak-ng + sox."""
    from telephony.prompts import speak_to_wav
    speak_to_wav(text, out_path, voice)


@implementer(ICallSink)
class RecordingSink:
    """An in-memory ICallSink for tests: keeps everything, answers case numbers in order."""

    def __init__(self, case_number: Optional[str] = "20260001", status_text: str = "正在处理"):
        self.case_number = case_number
        self.status_text = status_text
        self.started: list = []
        self.partials: list = []
        self.finished: list = []
        self.late: list = []
        self.status_queries: list = []

    def call_started(self, call_info):
        """Keep the CallInfo."""
        self.started.append(call_info)

    def partial_transcript(self, call_id, text):
        """Keep each partial transcript."""
        self.partials.append((call_id, text))

    def call_finished(self, record):
        """Keep the record; answer the configured case number."""
        self.finished.append(record)
        return defer.succeed(self.case_number)

    def case_status(self, number):
        """Keep the query; answer the configured status text."""
        self.status_queries.append(number)
        return defer.succeed(self.status_text)

    def transcript_ready(self, record):
        """Keep a late transcript."""
        self.late.append(record)


class VoskWebsocketServer:
    """A small server speaking the upstream vosk-server protocol, built on real vosk.

    Stands in for vosk-server in tests: first text message may be {"config": {...}}, binary
    messages are 16-bit PCM (one JSON reply each: a segment result or a partial), the text
    {"eof" : 1} gets the final result. Listens on 127.0.0.1 on a free port.
    """

    def __init__(self, model):
        import threading
        from websockets.sync.server import serve
        self.model = model
        self.messages = 0
        self._server = serve(self._handle, "127.0.0.1", 0, max_size=None)
        self.port = self._server.socket.getsockname()[1]
        self.url = f"ws://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name="vosk-ws")
        self._thread.start()

    def _handle(self, ws) -> None:
        import json
        import vosk
        rate, words, rec = 8000.0, False, None
        for message in ws:
            self.messages += 1
            if isinstance(message, str):
                obj = json.loads(message)
                if "config" in obj:
                    rate = float(obj["config"].get("sample_rate", rate))
                    words = bool(obj["config"].get("words", words))
                    continue
                if obj.get("eof") == 1:
                    if rec is None:
                        rec = vosk.KaldiRecognizer(self.model, rate)
                    ws.send(rec.FinalResult())
                    return
                continue
            if rec is None:
                rec = vosk.KaldiRecognizer(self.model, rate)
                rec.SetWords(words)
            ws.send(rec.Result() if rec.AcceptWaveform(message) else rec.PartialResult())

    def close(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._thread.join(5)
