"""The phone channel on the intake side, without SIP: IntakeSink over a real store and pipeline,
the call routes, the event stream, masking, retention on an injected clock, every end state.

Records are built the way telephony.line.CallFlow builds them; the real calls through kamailio
and SIPp are in tests/telephony/test_intake_wiring.py.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import wave
from io import BytesIO

import pytest
from twisted.web.server import NOT_DONE_YET
from twisted.web.test.requesthelper import DummyRequest
from zope.interface.verify import verifyObject

from intake.db import call_store as cs
from intake.db.pool import run_sync
from telephony import interfaces as ti
from tests.intake.conftest import START
from tests.intake.helpers import call, count_rows, write_wav

REPORT_TEXT = "新北区河海街道华山路上的路灯坏了，晚上很黑，请派人来修。"


@pytest.fixture
def phone(api_env, tmp_path):
    """The calls API and IntakeSink over the api_env store and pipeline, on the test clock,
    with lines configured (retention of 30 days, recordings in tmp_path)."""
    import dataclasses

    from intake.http import calls_api
    from intake.http.api import ApiV1
    from intake.http.router import JsonRouter
    from intake.phone_config import with_lines
    from telephony.config import LineConfig, RecordingConfig, TelephonyConfig
    lines = TelephonyConfig(lines=(LineConfig(name="12345", hotline="12345", username="12345"),),
                            recordings=RecordingConfig(str(tmp_path / "rec"), 30))
    config = with_lines(api_env.config, lines)
    router = JsonRouter()
    ApiV1(config, api_env.app.pipeline, api_env.app.store, api_env.clock, api_env.api.auth).register(router)
    svc = calls_api.register(router, config=config, db=api_env.app.store.db, pipeline=api_env.app.pipeline,
                             clock=api_env.clock, auth=api_env.api.auth)
    assert svc.telephony is None          # no reactor given: routes and retention only
    svc.router = router
    svc.env = api_env
    svc.wavdir = tmp_path / "rec"
    svc.wavdir.mkdir()
    svc.lines = dataclasses.replace(lines)
    return svc


def api(phone, method, path, body=None, role="operator", **kw):
    """A JSON call against the phone env's router with `role`'s token."""
    return call(phone.router, method, path, body, token=phone.env.tokens.get(role), **kw)


def raw(phone, method, path, role="operator"):
    """A request whose answer is not JSON: (status, content type, bytes, request)."""
    req = DummyRequest([p.encode() for p in path.strip("/").split("/")])
    req.method, req.path, req.uri = method.encode(), path.encode(), path.encode()
    req.content = BytesIO(b"")
    req.requestHeaders.setRawHeaders(b"authorization", [f"Bearer {phone.env.tokens[role]}".encode()])
    out = phone.router.render(req)
    assert out is NOT_DONE_YET
    ctype = req.responseHeaders.getRawHeaders(b"content-type", [b""])[0].decode()
    return req.responseCode or 200, ctype, b"".join(req.written), req




_n = [0]


def record(phone, state=ti.STATE_COMPLETED, transcript=REPORT_TEXT, menu=ti.MENU_REPORT,
           asr_status=ti.ASR_DONE, started=None, caller="13912345678", hotline="12345", seconds=2.0, **kw):
    """A CallRecord as CallFlow hands it over, with a real WAV file."""
    _n[0] += 1
    started = START + 60 * _n[0] if started is None else started
    wav = phone.wavdir / f"call{_n[0]}.wav"
    write_wav(wav, seconds)
    words = tuple((w, 0.9, i * 0.5, i * 0.5 + 0.4) for i, w in enumerate(transcript.split("，")) if w) if transcript else ()
    return ti.CallRecord(call_id=f"c{_n[0]}-{os.getpid()}@127.0.0.1", line=hotline, hotline=hotline, caller=caller,
                         started_at=started, ended_at=started + seconds + 3, wav_path=str(wav),
                         duration_s=seconds, state=state, transcript=transcript, words=words,
                         engine="fake" if asr_status == ti.ASR_DONE else "none", dtmf="1" if menu == ti.MENU_REPORT else "",
                         menu=menu, asr_status=asr_status, frames_received=int(seconds * 50), frames_lost=0,
                         extra={"bad_packets": 0}, **kw)


def finish(phone, rec):
    """call_started then call_finished, as the telephony layer calls them; returns the case number."""
    phone.sink.call_started(ti.CallInfo(rec.call_id, rec.line, rec.hotline, rec.caller, rec.started_at))
    return run_sync(phone.sink.call_finished(rec))


def row_of(phone, rec):
    """The stored call row of a record."""
    return run_sync(phone.calls.get(sip_call_id=rec.call_id))


def test_the_sink_provides_the_interface(phone):
    """IntakeSink is a complete ICallSink (all five methods with their signatures)."""
    assert verifyObject(ti.ICallSink, phone.sink)


def test_a_transcribed_call_becomes_a_report_and_case_linked_to_the_call(phone):
    """The final transcript goes through the pipeline as a report of the hotline's channel: the call
    row holds the recording, words and state, the report is linked, the case number is returned."""
    rec = record(phone)
    number = finish(phone, rec)
    row = row_of(phone, rec)
    assert number and number.isdigit() and row["case_number"] == number
    assert row["state"] == "completed" and row["intake_status"] == cs.REPORTED
    assert row["wav_path"] == rec.wav_path and row["duration_s"] == 2.0 and row["dtmf"] == "1"
    assert row["words"][0][0] == "新北区河海街道华山路上的路灯坏了" and row["words"][0][1] == 0.9
    status, rep = api(phone, "GET", f"/api/v1/reports/{row['report_id']}")
    assert status == 200 and rep["channel"] == "12345" and rep["external_id"] == rec.call_id
    assert rep["text"] == REPORT_TEXT and rep["caller"] == "13912345678"
    assert rep["received_at"].startswith(dt.datetime.fromtimestamp(rec.started_at, dt.timezone.utc).isoformat()[:19])
    status, body = api(phone, "GET", f"/api/v1/calls/{row['id']}")
    assert status == 200 and body["case"]["number"] == number and body["channel"] == "12345"
    assert body["words"][0]["conf"] == 0.9 and body["recording"]["url"].endswith("/recording")


def test_a_110_transfer_is_a_report_of_channel_110(phone):
    """Calls to the 110 line are reports of channel '110' (the hotline's own channel)."""
    rec = record(phone, hotline="110")
    finish(phone, rec)
    row = row_of(phone, rec)
    _, rep = api(phone, "GET", f"/api/v1/reports/{row['report_id']}")
    assert rep["channel"] == "110"


@pytest.mark.parametrize("state,menu,expected", [
    (ti.STATE_SILENT, ti.MENU_REPORT, cs.NO_REPORT),
    (ti.STATE_HANGUP_IN_GREETING, ti.MENU_NONE, cs.NO_REPORT),
    (ti.STATE_STATUS_GIVEN, ti.MENU_STATUS, cs.NO_REPORT),
    (ti.STATE_RTP_TIMEOUT, ti.MENU_NONE, cs.NO_REPORT),
    (ti.STATE_RTP_TIMEOUT, ti.MENU_REPORT, cs.AWAITING_TRANSCRIPTION),
    (ti.STATE_HANGUP_IN_RECORDING, ti.MENU_REPORT, cs.AWAITING_TRANSCRIPTION),
    (ti.STATE_FAILED, ti.MENU_OPERATOR, cs.AWAITING_TRANSCRIPTION),
])
def test_every_end_state_is_stored_without_a_report_unless_described(phone, state, menu, expected):
    """Each end state is stored on the call with its recording; calls in which nobody described a
    problem make no report, described ones without a transcript wait in the manual queue."""
    rec = record(phone, state=state, menu=menu, transcript="", asr_status=ti.ASR_NONE)
    assert finish(phone, rec) is None
    row = row_of(phone, rec)
    assert (row["state"], row["intake_status"], row["report_id"]) == (state, expected, None)
    assert row["wav_path"] == rec.wav_path and os.path.exists(row["wav_path"])
    assert count_rows(phone.env.app.engine, "reports") == 0


def test_a_silent_call_with_noise_transcribed_makes_no_report(phone):
    """Even if the recogniser heard something in a silent call, no report is opened for it."""
    rec = record(phone, state=ti.STATE_SILENT, transcript="嗯")
    assert finish(phone, rec) is None
    assert row_of(phone, rec)["intake_status"] == cs.NO_REPORT
    assert count_rows(phone.env.app.engine, "reports") == 0


def test_engine_none_queues_the_call_and_an_operator_transcript_opens_the_case(phone):
    """Without ASR the call waits in the manual queue; an operator's transcript runs the pipeline and
    answers like POST /reports; the call leaves the queue; a second transcript is refused (409)."""
    rec = record(phone, transcript="", asr_status=ti.ASR_NONE)
    assert finish(phone, rec) is None
    row = row_of(phone, rec)
    status, queue = api(phone, "GET", "/api/v1/calls", args={"waiting": "true"})
    assert status == 200 and [c["id"] for c in queue["items"]] == [row["id"]]
    assert queue["items"][0]["waiting_for_transcription"] is True
    status, out = api(phone, "POST", f"/api/v1/calls/{row['id']}/transcript", {"text": "x"}, role="channel")
    assert status == 403
    status, out = api(phone, "POST", f"/api/v1/calls/{row['id']}/transcript", {"text": "  "})
    assert status == 400 and out["field"] == "text"
    status, out = api(phone, "POST", f"/api/v1/calls/{row['id']}/transcript", {"text": REPORT_TEXT})
    assert status == 201 and out["outcome"] in ("opened", "emergency") and out["case"]["number"]
    assert out["call_id"] == row["id"]
    row = row_of(phone, rec)
    assert row["intake_status"] == cs.REPORTED and row["transcript_source"] == "operator"
    assert row["transcribed_by"] == "operator:test-operator" and row["case_number"] == out["case"]["number"]
    _, queue = api(phone, "GET", "/api/v1/calls", args={"waiting": "true"})
    assert queue["total"] == 0
    status, again = api(phone, "POST", f"/api/v1/calls/{row['id']}/transcript", {"text": REPORT_TEXT})
    assert status == 409 and "already" in again["error"]


def test_a_late_asr_transcript_runs_the_pipeline(phone):
    """A call whose ASR was busy waits (awaiting_asr, not in the operators' queue) until
    transcript_ready brings the text; then the report and case are made."""
    rec = record(phone, transcript="", asr_status=ti.ASR_QUEUED)
    finish(phone, rec)
    assert row_of(phone, rec)["intake_status"] == cs.AWAITING_ASR
    _, queue = api(phone, "GET", "/api/v1/calls", args={"waiting": "true"})
    assert queue["total"] == 0
    import dataclasses
    run_sync(phone.sink.transcript_ready(dataclasses.replace(rec, transcript=REPORT_TEXT, asr_status=ti.ASR_DONE)))
    row = row_of(phone, rec)
    assert row["intake_status"] == cs.REPORTED and row["case_number"] and row["transcript"] == REPORT_TEXT


def test_a_pipeline_failure_keeps_the_call_and_queues_it(phone):
    """Store first, then pipeline: when the pipeline raises, the call row stays (intake_failed with
    the reason, in the manual queue) and an operator can submit it later."""
    real = phone.sink.pipeline.submit

    def boom(report):
        raise RuntimeError("classifier exploded")
    phone.sink.pipeline.submit = boom
    rec = record(phone)
    try:
        assert finish(phone, rec) is None
    finally:
        phone.sink.pipeline.submit = real
    row = row_of(phone, rec)
    assert row["intake_status"] == cs.INTAKE_FAILED and "classifier exploded" in row["intake_error"]
    assert row["wav_path"] == rec.wav_path
    _, queue = api(phone, "GET", "/api/v1/calls", args={"waiting": "true"})
    assert [c["id"] for c in queue["items"]] == [row["id"]]
    status, out = api(phone, "POST", f"/api/v1/calls/{row['id']}/transcript", {"text": REPORT_TEXT})
    assert status == 201 and out["case"]["number"]


def test_caller_is_masked_for_roles_that_must_not_see_it(phone, api_env):
    """An operator sees the caller's number; the department the case went to sees it masked,
    another department is refused, the list masks it for a dispatcher."""
    from intake.auth import create_token_thd
    rec = record(phone)
    finish(phone, rec)
    row = row_of(phone, rec)
    dept = row["case_department"]
    assert dept
    api_env.tokens["dept"] = run_sync(api_env.app.store.db.do(create_token_thd, "t-dept", "department", dept))
    other = next(d for d in api_env.config.departments if d != dept)
    api_env.tokens["other"] = run_sync(api_env.app.store.db.do(create_token_thd, "t-other", "department", other))
    _, body = api(phone, "GET", f"/api/v1/calls/{row['id']}")
    assert body["caller"] == "13912345678"
    status, body = api(phone, "GET", f"/api/v1/calls/{row['id']}", role="dept")
    assert status == 200 and body["caller"] == "139****5678"
    status, _ = api(phone, "GET", f"/api/v1/calls/{row['id']}", role="other")
    assert status == 403
    _, listing = api(phone, "GET", "/api/v1/calls", role="dispatcher")
    assert listing["items"][0]["caller"] == "139****5678"
    status, _ = api(phone, "GET", "/api/v1/calls", role="dept")
    assert status == 403


def test_recording_is_served_as_wav_to_allowed_roles(phone):
    """GET .../recording answers the WAV bytes (audio/wav) to operators and auditors; a dispatcher
    is refused."""
    rec = record(phone, seconds=1.5)
    finish(phone, rec)
    row = row_of(phone, rec)
    for role in ("operator", "auditor", "shift_chief"):
        status, ctype, data, _ = raw(phone, "GET", f"/api/v1/calls/{row['id']}/recording", role=role)
        assert status == 200 and ctype == "audio/wav"
        assert data == open(rec.wav_path, "rb").read()
        with wave.open(BytesIO(data)) as w:
            assert (w.getframerate(), w.getsampwidth(), w.getnframes()) == (8000, 2, 12000)
    status, ctype, data, _ = raw(phone, "GET", f"/api/v1/calls/{row['id']}/recording", role="dispatcher")
    assert status == 403 and "json" in ctype


def test_retention_deletes_old_recordings_on_the_clock(phone):
    """The retention sweep (LoopingCall on the injected clock) deletes WAVs of calls older than the
    configured days, marks their rows, and the recording route answers 410 Gone for them."""
    clock = phone.env.clock
    old = record(phone, started=clock.seconds() - 40 * 86400, transcript="", asr_status=ti.ASR_NONE)
    new = record(phone, started=clock.seconds() - 2 * 86400, transcript="", asr_status=ti.ASR_NONE)
    finish(phone, old)
    finish(phone, new)
    phone.retention.startService()       # sweeps at once, then hourly
    try:
        assert not os.path.exists(old.wav_path) and os.path.exists(new.wav_path)
        assert row_of(phone, old)["recording_deleted_at"] is not None
        assert row_of(phone, new)["recording_deleted_at"] is None
        clock.advance(29 * 86400)         # the newer call is now 31 days old
        assert not os.path.exists(new.wav_path)
        assert row_of(phone, new)["recording_deleted_at"] is not None
    finally:
        phone.retention.stopService()
    status, _, data, _ = raw(phone, "GET", f"/api/v1/calls/{row_of(phone, old)['id']}/recording")
    assert status == 410 and "retention" in json.loads(data)["error"]
    assert row_of(phone, old)["state"] == "completed"        # the row itself stays


def test_event_stream_delivers_partials_then_the_final_event(phone):
    """While a call is live, GET .../events streams each partial transcript, then one final event
    with where the call ended (the case number), and closes."""
    rec = record(phone)
    sink = phone.sink
    sink.call_started(ti.CallInfo(rec.call_id, rec.line, rec.hotline, rec.caller, rec.started_at))
    row = row_of(phone, rec)
    assert row["state"] == "in_progress"
    sink.partial_transcript(rec.call_id, "新北区")
    status, ctype, first, req = raw(phone, "GET", f"/api/v1/calls/{row['id']}/events")
    assert status == 200 and ctype.startswith("text/event-stream") and not req.finished
    sink.partial_transcript(rec.call_id, "新北区河海街道")
    sink.partial_transcript(rec.call_id, "新北区河海街道路灯坏了")
    number = run_sync(sink.call_finished(rec))
    assert req.finished
    events = [(b.split("\n")[0][7:], json.loads(b.split("\n")[1][6:]))
              for b in b"".join(req.written).decode().split("\n\n") if b.startswith("event:")]
    assert [e for e, _ in events] == ["partial", "partial", "partial", "final"]
    assert [d["text"] for _, d in events[:3]] == ["新北区", "新北区河海街道", "新北区河海街道路灯坏了"]
    assert events[-1][1]["case_number"] == number and events[-1][1]["state"] == "completed"
    # a finished call's stream answers the final event at once
    status, _, data, req = raw(phone, "GET", f"/api/v1/calls/{row['id']}/events")
    assert req.finished and b"event: final" in data and number.encode() in data


def test_case_status_is_a_short_chinese_sentence(phone):
    """case_status names the case's state in Chinese words; an unknown number gives None (the
    telephony layer then plays its 'unknown' prompt)."""
    rec = record(phone)
    number = finish(phone, rec)
    text = run_sync(phone.sink.case_status(number))
    assert "待受理" in text or "待处置" in text
    assert " ".join(number) in text
    assert run_sync(phone.sink.case_status("999")) is None


def test_list_filters_by_state_and_rejects_bad_parameters(phone):
    """state= filters the list; unknown parameters and a bad waiting value are 400 naming them."""
    finish(phone, record(phone, state=ti.STATE_SILENT, transcript="", asr_status=ti.ASR_NONE))
    finish(phone, record(phone))
    _, body = api(phone, "GET", "/api/v1/calls", args={"state": "silent"})
    assert body["total"] == 1 and body["items"][0]["state"] == "silent"
    status, body = api(phone, "GET", "/api/v1/calls", args={"waiting": "maybe"})
    assert status == 400 and body["field"] == "waiting"
    status, body = api(phone, "GET", "/api/v1/calls", args={"colour": "red"})
    assert status == 400 and body["field"] == "colour"
    status, body = api(phone, "GET", "/api/v1/calls/abc")
    assert status == 400
    status, body = api(phone, "GET", "/api/v1/calls/99999")
    assert status == 404


def test_lines_yaml_is_optional_and_checked_with_file_and_key(tmp_path, config):
    """The bundled demo lines parse (three lines, engine none) and the bundled config has no
    lines.yaml, so `hotline serve` answers no calls until a city adds its own; a lines.yaml with a
    bad value is reported with the file and the key."""
    import shutil

    from intake.config import ConfigError, load_config
    from intake.phone_config import demo_lines_of, lines_of
    lines = demo_lines_of(config)
    assert [ln.hotline for ln in lines.lines] == ["12345", "12319", "110"] and lines.asr.engine == "none"
    assert lines_of(config) is None
    d = tmp_path / "cfg"
    shutil.copytree(config.directory, d)
    shutil.copy(config.directory / "lines.demo.yaml", d / "lines.yaml")
    text = (d / "lines.yaml").read_text(encoding="utf-8").replace("sip_port: 5084", "sip_port: 70000")
    (d / "lines.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_config(d)
    assert any(p.file.endswith("lines.yaml") and p.key == "lines[2].sip_port" and "70000" in p.message
               and "lines.yaml" not in p.message for p in e.value.problems)


def test_a_late_transcript_that_overtakes_the_hand_over_is_not_lost(phone):
    """transcript_ready may reach the reactor before call_finished (both come from call threads):
    the transcript is kept and taken in right after the call row is written."""
    import dataclasses
    rec = record(phone, transcript="", asr_status=ti.ASR_QUEUED)
    sink = phone.sink
    sink.call_started(ti.CallInfo(rec.call_id, rec.line, rec.hotline, rec.caller, rec.started_at))
    run_sync(sink.transcript_ready(dataclasses.replace(rec, transcript=REPORT_TEXT, asr_status=ti.ASR_DONE)))
    assert row_of(phone, rec)["intake_status"] == "in_call"
    run_sync(sink.call_finished(rec))
    row = row_of(phone, rec)
    assert row["intake_status"] == cs.REPORTED and row["transcript"] == REPORT_TEXT and row["case_number"]
