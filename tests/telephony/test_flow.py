"""CallFlow logic with a scripted fake call and a fake clock: no sockets, no real time."""
from __future__ import annotations

import wave

import pytest

from telephony import interfaces as I
from telephony.audio import VadConfig, linear16_to_ulaw, ulaw_to_linear16
from telephony.config import CallTimeouts, LineConfig
from telephony.line import CallFlow, caller_number

LOUD = linear16_to_ulaw((6000).to_bytes(2, "little", signed=True) * 80
                        + (-6000).to_bytes(2, "little", signed=True) * 80)
QUIET = b"\xff" * 160


class FakeClock:
    """monotonic()/now() read it, sleep() advances it."""

    def __init__(self):
        self.t = 0.0

    def monotonic(self):
        """Scripted stand-in for monotonic."""
        return self.t

    def now(self):
        """Scripted stand-in for now."""
        return 1_800_000_000.0 + self.t

    def sleep(self, dt):
        """Scripted stand-in for sleep."""
        self.t += dt


class FakeMedia:
    """A call scripted as (time, item) events; items are ('audio', ssrc, seq, ts, payload)
    or ('digit', key). The caller hangs up at `hangup_at`."""

    def __init__(self, clock, events, hangup_at=None):
        self.clock, self.events, self.hangup_at = clock, sorted(events, key=lambda e: e[0]), hangup_at
        self.played = b""
        self.hung_up_by_us = False

    def drain(self):
        """Scripted stand-in for drain."""
        out = [item for t, item in self.events if t <= self.clock.t]
        self.events = [(t, item) for t, item in self.events if t > self.clock.t]
        return out

    def play(self, pcm):
        """Scripted stand-in for play."""
        self.played += pcm

    @property
    def ended(self):
        """Scripted stand-in for ended."""
        return self.hung_up_by_us or (self.hangup_at is not None and self.clock.t >= self.hangup_at)

    def hangup(self):
        """Scripted stand-in for hangup."""
        self.hung_up_by_us = True


class FakePrompts:
    """Each prompt is 0.2 s of a distinct constant value, so playback can be identified."""

    def __init__(self):
        names = ["greeting", "menu", "record", "operator", "status_enter", "status_unknown",
                 "case_number", "thanks", "silent", "beep"] + [f"digit_{d}" for d in "0123456789"]
        self.audio = {n: (i + 1).to_bytes(2, "little") * 1600 for i, n in enumerate(names)}

    def get(self, name):
        """Scripted stand-in for get."""
        return self.audio[name]

    def digits(self, number):
        """Scripted stand-in for digits."""
        return b"".join(self.audio[f"digit_{c}"] for c in number)


class FakeBridge:
    """Records sink traffic; answers a fixed case number."""

    def __init__(self, number="42"):
        self.number = number
        self.infos, self.finished_records, self.partials, self.late = [], [], [], []

    def started(self, info):
        """Scripted stand-in for started."""
        self.infos.append(info)

    def finished(self, record, timeout_s):
        """Scripted stand-in for finished."""
        self.finished_records.append(record)
        return self.number

    def status(self, number, timeout_s):
        """Scripted stand-in for status."""
        return None

    def partial(self, call_id, text):
        """Scripted stand-in for partial."""
        self.partials.append(text)

    def transcript_ready(self, record):
        """Scripted stand-in for transcript_ready."""
        self.late.append(record)


def audio_events(start_t, payloads, seq0=1, ts0=1000, skip=()):
    """RTP packets every 20 ms from start_t; indexes in `skip` are lost on the way."""
    out = []
    for i, p in enumerate(payloads):
        if i in skip:
            continue
        out.append((start_t + 0.02 * i, ("audio", 7, seq0 + i, ts0 + 160 * i, p)))
    return out


def run_flow(tmp_path, events, hangup_at=None, number="42", vad=None, timeouts=None):
    """Run a CallFlow over the script; returns (record, media, bridge)."""
    clock = FakeClock()
    media = FakeMedia(clock, events, hangup_at)
    bridge = FakeBridge(number)
    flow = CallFlow(call_id="c1", line=LineConfig(name="l1", hotline="12345", username="u"),
                    caller="139", media=media, prompts=FakePrompts(), pool=None, bridge=bridge,
                    vad=vad or VadConfig(threshold_dbfs=-40, silence_s=0.5, initial_silence_s=2, max_s=10),
                    timeouts=timeouts or CallTimeouts(rtp_timeout_s=1.0, menu_timeout_s=1.0,
                                                      hangup_grace_s=0.1),
                    recordings_dir=str(tmp_path), now=clock.now, monotonic=clock.monotonic,
                    sleep=clock.sleep)
    record = flow.run()
    return record, media, bridge


def wav_samples(path):
    """All samples of a WAV file."""
    with wave.open(path) as w:
        return w.readframes(w.getnframes())


def test_report_flow_completes_and_speaks_the_case_number(tmp_path):
    """1, speech, silence: the record is handed over once as 'completed' and the case number
    digits are played after the case-number prompt."""
    payloads = [QUIET] * 40 + [LOUD] * 50 + [QUIET] * 200
    record, media, bridge = run_flow(tmp_path, [(0.05, ("digit", "1"))] + audio_events(0.0, payloads))
    assert record.state == I.STATE_COMPLETED and record.menu == I.MENU_REPORT
    assert bridge.finished_records == [record]
    assert [i.call_id for i in bridge.infos] == ["c1"] and bridge.infos[0].caller == "139"
    p = FakePrompts()
    assert p.get("case_number") + p.digits("42") + p.get("thanks") in media.played
    assert media.hung_up_by_us
    assert wav_samples(record.wav_path) == ulaw_to_linear16(b"".join(payloads))[:len(wav_samples(record.wav_path))]


def test_lost_packets_become_silence_and_are_counted(tmp_path):
    """Three packets missing in the middle of the stream are counted as lost frames and
    replaced by silence of the same length, so later audio keeps its time position."""
    payloads = [LOUD] * 30 + [QUIET] * 200
    record, _, _ = run_flow(tmp_path, [(0.05, ("digit", "1"))]
                            + audio_events(0.0, payloads, skip=(10, 11, 12)))
    assert record.frames_lost == 3
    got = wav_samples(record.wav_path)
    assert got[10 * 320:13 * 320] == b"\x00\x00" * 480
    assert got[13 * 320:14 * 320] == ulaw_to_linear16(LOUD)


def test_hangup_in_greeting(tmp_path):
    """A hang-up before any menu choice ends as 'hangup_in_greeting' and is handed over."""
    record, _, bridge = run_flow(tmp_path, audio_events(0.0, [QUIET] * 10), hangup_at=0.1)
    assert record.state == I.STATE_HANGUP_IN_GREETING
    assert len(bridge.finished_records) == 1


def test_hangup_while_describing_keeps_what_was_said(tmp_path):
    """A caller who hangs up mid-description ends as 'hangup_in_recording' with everything
    said until then in the WAV."""
    payloads = [LOUD] * 100
    record, _, _ = run_flow(tmp_path, [(0.05, ("digit", "1"))] + audio_events(0.0, payloads),
                            hangup_at=1.5)
    assert record.state == I.STATE_HANGUP_IN_RECORDING
    assert record.duration_s == pytest.approx(1.5, abs=0.05)


def test_silent_caller(tmp_path):
    """RTP of silence after the menu ends as 'silent' once initial_silence_s passes."""
    record, media, _ = run_flow(tmp_path, [(0.05, ("digit", "1"))] + audio_events(0.0, [QUIET] * 400))
    assert record.state == I.STATE_SILENT
    assert FakePrompts().get("silent") in media.played


def test_rtp_timeout(tmp_path):
    """Audio that stops for rtp_timeout_s ends as 'rtp_timeout' and we hang up."""
    record, media, _ = run_flow(tmp_path, audio_events(0.0, [LOUD] * 10))
    assert record.state == I.STATE_RTP_TIMEOUT and media.hung_up_by_us


def test_description_is_capped_at_max_length(tmp_path):
    """A caller who never stops is cut at vad.max_s; the call still completes."""
    vad = VadConfig(threshold_dbfs=-40, silence_s=0.5, initial_silence_s=2, max_s=3)
    record, _, _ = run_flow(tmp_path, [(0.05, ("digit", "1"))] + audio_events(0.0, [LOUD] * 600), vad=vad)
    assert record.state == I.STATE_COMPLETED
    assert record.duration_s < 6


def test_operator_choice_records_a_message(tmp_path):
    """0 (reach a person) plays the operator prompt and records a message (no transfer)."""
    payloads = [LOUD] * 50 + [QUIET] * 200
    record, media, _ = run_flow(tmp_path, [(0.05, ("digit", "0"))] + audio_events(0.0, payloads))
    assert record.menu == I.MENU_OPERATOR and record.state == I.STATE_COMPLETED
    assert FakePrompts().get("operator") in media.played


def test_caller_number_prefers_p_asserted_identity():
    """P-Asserted-Identity (set by the carrier) wins over From; From is the fallback."""
    frm = {"number": "100", "address": "100@x"}
    assert caller_number({"From": frm, "P-Asserted-Identity": "<sip:+8613912345678@ims>"}) == "8613912345678"
    assert caller_number({"From": frm, "P-Asserted-Identity": "<tel:13912345678>"}) == "13912345678"
    assert caller_number({"From": frm}) == "100"
    assert caller_number({}) == ""


def test_alaw_packets_are_decoded_too(tmp_path):
    """A caller whose phone only speaks A-law (PCMA) is recorded with the A-law decoder."""
    import audioop
    alaw = audioop.lin2alaw(ulaw_to_linear16(LOUD), 2)
    events = [(0.05, ("digit", "1"))] + [
        (t, item + ("PCMA",)) for t, item in audio_events(0.0, [alaw] * 40 + [b"\xd5" * 160] * 200)]
    record, _, _ = run_flow(tmp_path, events)
    got = wav_samples(record.wav_path)
    assert record.state == I.STATE_COMPLETED
    assert got[:320] == audioop.alaw2lin(alaw, 2)
