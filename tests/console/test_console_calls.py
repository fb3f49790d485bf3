"""The call parts of the operator's report page in real headless Chromium: a phone report's
recording plays from the page (the browser fetches a real WAV), the caller's number is masked for
roles that must not see it, the transcript shown is the stored one, and the live view of a call
in progress takes the call's end from the event stream (GET /api/v1/calls/{id}/events).

Calls are stored the way the phone channel stores them: the rows IntakeSink builds
(call_started's values for a call in progress, _values(record) for a finished call), written
through CallStore into the running service's database, linked to a report sent through the API
on the hotline's channel. The partial events themselves are published only inside the serving
process (by the telephony layer over SIP); tests/telephony covers that path.
"""
from __future__ import annotations

import os
import time

import pytest
from twisted.internet.task import Clock

from intake.channels.phone import IntakeSink
from intake.db import call_store as cs
from intake.db.pool import SyncRunner, run_sync
from telephony import interfaces as ti
from tests.console.test_consoles import Console
from tests.intake.helpers import write_wav

CALLER = "13912345678"
TRANSCRIPT = "新北区三井街道黄河西路上的窨井盖坏了，有人差点摔倒，请尽快来修。"
# Wraps EventSource so a test decides when the page's stream opens (the call ends in between, as
# when a caller hangs up while the operator opens the page) and sees which events arrived.
HOLD_STREAMS = """
(() => {
  const Real = window.EventSource;
  window.__events = []; window.__held = [];
  window.__release = () => { window.__held.splice(0).forEach((open) => open()); };
  window.EventSource = function (url) {
    const fake = { listeners: [], onerror: null, real: null,
      addEventListener(kind, fn) { this.listeners.push([kind, fn]); },
      close() { if (this.real) this.real.close(); this.closed = true; } };
    window.__held.push(() => {
      if (fake.closed) return;
      const es = fake.real = new Real(url);
      for (const [kind, fn] of fake.listeners) es.addEventListener(kind, fn);
      for (const kind of ["partial", "final"]) es.addEventListener(kind, (ev) => window.__events.push([kind, ev.data]));
      es.onerror = (ev) => { window.__events.push(["error", ""]); if (fake.onerror) fake.onerror(ev); };
    });
    return fake;
  };
})();
"""




class Phone:
    """The phone channel's store over the running service's database (inline, no reactor)."""

    def __init__(self, service, wavdir):
        from intake.app import open_database
        self.service = service
        self.runner = SyncRunner(open_database(service.db_url))
        self.calls = cs.CallStore(self.runner)
        self.sink = IntakeSink(self.calls, None, Clock())
        self.wavdir = wavdir
        self.n = 0

    def started(self, key: str) -> ti.CallInfo:
        """A call answered now: its row written by IntakeSink.call_started (state in_progress)."""
        info = ti.CallInfo(f"console-call-{key}-{os.getpid()}@127.0.0.1", "12345", "12345", CALLER, time.time())
        run_sync(self.sink.call_started(info))
        return info

    def finished(self, info: ti.CallInfo, seconds: float = 2.0) -> dict:
        """The call's end with a real WAV and the recogniser's transcript: the report sent through
        the API on the hotline's channel, the row stored as IntakeSink stores a CallRecord and
        linked to it. The stored row."""
        self.n += 1
        wav = self.wavdir / f"call{self.n}.wav"
        write_wav(wav, seconds, peak=1000)
        rec = ti.CallRecord(call_id=info.call_id, line=info.line, hotline=info.hotline, caller=info.caller,
                            started_at=info.started_at, ended_at=info.started_at + seconds, wav_path=str(wav),
                            duration_s=seconds, state=ti.STATE_COMPLETED, transcript=TRANSCRIPT,
                            words=tuple((w, 0.9, i * 0.5, i * 0.5 + 0.4) for i, w in enumerate(TRANSCRIPT.split("，"))),
                            engine="fake", dtmf="1", menu=ti.MENU_REPORT, asr_status=ti.ASR_DONE,
                            frames_received=int(seconds * 50))
        report = self._report(info.call_id)
        row_id = run_sync(self.calls.record_call(self.sink._values(rec), self.sink.now()))
        run_sync(self.calls.link_report(row_id, report["report_id"]))
        self.sink.live.pop(info.call_id, None)
        return run_sync(self.calls.get(row_id))

    def _report(self, sip_call_id: str) -> dict:
        """The call's report through POST /api/v1/reports (external id: the SIP Call-ID)."""
        status, body = self.service.api("POST", "/api/v1/reports", dict(
            channel="12345", external_id=sip_call_id, text=TRANSCRIPT, caller=CALLER))
        assert status in (200, 201), body
        return body

    def close(self) -> None:
        """Dispose the engine."""
        self.runner.stop()


@pytest.fixture
def phone(service, tmp_path):
    """Stores calls into the service's database; recordings under tmp_path."""
    p = Phone(service, tmp_path)
    try:
        yield p
    finally:
        p.close()


@pytest.fixture
def ui(browser, service):
    """The console helper (tests/console/test_consoles.Console); no held streams left behind."""
    browser.set_script_timeout(30)
    yield Console(browser, service)
    browser.execute_cdp_cmd("Page.enable", {})
    for ident in getattr(browser, "_held_scripts", []):
        browser.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", {"identifier": ident})
    browser._held_scripts = []


def recording_as_fetched(ui) -> dict:
    """Fetch the audio element's src from the page (with the session cookie): status, type, size."""
    return ui.d.execute_async_script("""
        const done = arguments[0];
        const a = document.querySelector("[data-testid='recording']");
        fetch(a.src).then(async (r) => done({status: r.status, type: r.headers.get('content-type'),
            size: (await r.arrayBuffer()).byteLength}), (e) => done({status: String(e)}));""")


def test_a_phone_report_plays_its_recording_and_shows_its_transcript(ui, phone):
    """A finished call's report: the page's audio element points at a WAV the browser fetches
    (200, audio/wav, the stored file's size) and loads (duration of the 2 s recording); the
    transcript shown is the stored one; the caller's number is whole for the operator and masked
    for the auditor."""
    row = phone.finished(phone.started("done"))
    size = os.path.getsize(row["wav_path"])
    for user, caller in (("op", CALLER), ("auditor", "139****5678")):
        ui.sign_in(user)
        ui.open(f"report.html?id={row['report_id']}")
        audio = ui.tid("recording")
        assert audio.get_attribute("src").endswith(f"/api/v1/calls/{row['id']}/recording")
        got = recording_as_fetched(ui)
        assert got == {"status": 200, "type": "audio/wav", "size": size}, got
        # preload is none (nothing fetched until asked): ask for the metadata, as pressing play would
        ui.d.execute_script("const a = arguments[0]; a.preload = 'metadata'; a.load();", audio)
        ui.wait(lambda d: d.execute_script("return arguments[0].readyState;", audio) >= 1)
        assert abs(ui.d.execute_script("return arguments[0].duration;", audio) - 2.0) < 0.05
        assert ui.tid("caller").text == caller
        assert ui.tid("partial").text == TRANSCRIPT
        assert ui.tid("report-text").text == TRANSCRIPT
        ui.shot(f"call-report-{user}")


def test_the_live_view_of_a_call_takes_its_end_from_the_event_stream(ui, phone):
    """The operator opens a call in progress (report.html?call=): no recording yet, an empty live
    transcript. The caller hangs up before the page's stream opens; the stream then sends the
    call's `final` event and the page shows the stored transcript from it (not an empty line)."""
    info = phone.started("live")
    row = run_sync(phone.calls.get(sip_call_id=info.call_id))
    assert row["state"] == "in_progress"
    ui.sign_in("op")
    ident = ui.d.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": HOLD_STREAMS})["identifier"]
    ui.d._held_scripts = [ident]
    ui.open(f"report.html?call={row['id']}")
    card = ui.tid("call")
    assert "实时转写（通话中）" in card.text and "通话中，录音尚未生成" in card.text
    ui.wait(lambda d: d.execute_script("return window.__held.length;") == 1)
    assert ui.tid("partial").text == ""
    phone.finished(info)
    ui.d.execute_script("window.__release();")
    events = ui.wait(lambda d: [e for e in d.execute_script("return window.__events;") if e[0] == "final"])
    assert '"state": "completed"' in events[0][1], events
    ui.wait(lambda d: ui.tid("partial").text == TRANSCRIPT)
    ui.shot("call-live-final")
