"""Audio helpers: mu-law decoding, WAV writing, the energy VAD, prompt generation."""
from __future__ import annotations

import math
import os
import struct
import wave

import pytest

from telephony import testing
from telephony.audio import (VadConfig, VoiceActivity, WavRecorder, linear16_to_ulaw,
                             linear16_to_unsigned8, read_wav_linear16, rms_dbfs, ulaw_to_linear16)


def g711_ulaw_decode(code: int) -> int:
    """Reference G.711 mu-law decoder written from the standard (for comparison)."""
    code = ~code & 0xFF
    sign, exponent, mantissa = code & 0x80, (code >> 4) & 0x07, code & 0x0F
    sample = (((mantissa << 3) + 0x84) << exponent) - 0x84
    return -sample if sign else sample


def test_ulaw_decoding_matches_the_g711_table():
    """Every one of the 256 mu-law codes decodes to the G.711 reference value in 16 bits."""
    pcm = ulaw_to_linear16(bytes(range(256)))
    got = struct.unpack("<256h", pcm)
    assert list(got) == [g711_ulaw_decode(c) for c in range(256)]


def test_ulaw_round_trip_is_stable():
    """Decoding then re-encoding any mu-law payload gives it back (the recording path is
    lossless with respect to what was on the wire); 0x7f and 0xff both mean zero."""
    payload = bytes(c for c in range(256) if c != 0x7F)
    assert linear16_to_ulaw(ulaw_to_linear16(payload)) == payload


def test_unsigned8_conversion_centres_silence_at_0x80():
    """pyVoIP's write_audio takes 8-bit unsigned samples: zero maps to 0x80."""
    assert linear16_to_unsigned8(b"\x00\x00" * 4) == b"\x80" * 4


def test_wav_recorder_writes_8k_16bit_and_survives_double_close(tmp_path):
    """A recording is 8 kHz mono 16-bit; data is on disk before close; close is idempotent."""
    path = str(tmp_path / "a" / "b.wav")
    rec = WavRecorder(path)
    rec.write(b"\x01\x00" * 800)
    assert os.path.getsize(path) >= 44 + 1600
    rec.close()
    rec.close()
    rec.write(b"\x01\x00")          # ignored after close
    with wave.open(path) as w:
        assert (w.getframerate(), w.getsampwidth(), w.getnchannels(), w.getnframes()) == (8000, 2, 1, 800)
    assert rec.duration_s == pytest.approx(0.1)


def test_read_wav_rejects_wrong_formats(tmp_path):
    """A prompt at the wrong rate is refused with a message naming the file."""
    path = str(tmp_path / "x.wav")
    with wave.open(path, "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(16000)
        w.writeframes(b"\x00\x00" * 10)
    with pytest.raises(ValueError, match="x.wav: expected 8000 Hz"):
        read_wav_linear16(path)


def sine(seconds: float, amplitude: float) -> bytes:
    """A 400 Hz sine at the given amplitude (0..1)."""
    n = int(8000 * seconds)
    return struct.pack(f"<{n}h", *(int(amplitude * 32767 * math.sin(2 * math.pi * 400 * i / 8000))
                                    for i in range(n)))


def feed(vad: VoiceActivity, pcm: bytes) -> None:
    """Feed 20 ms frames."""
    for i in range(0, len(pcm), 320):
        vad.feed(pcm[i:i + 320])


def test_vad_detects_speech_then_trailing_silence():
    """Loud frames start an utterance; silence_s of quiet afterwards ends it, not before."""
    vad = VoiceActivity(VadConfig(threshold_dbfs=-40, speech_frames=3, silence_s=1.0))
    feed(vad, sine(1.0, 0.3))
    assert vad.speech_started and not vad.utterance_ended()
    feed(vad, b"\x00\x00" * 7600)                       # 0.95 s
    assert not vad.utterance_ended()
    feed(vad, b"\x00\x00" * 800)
    assert vad.utterance_ended()


def test_vad_thresholds_are_respected():
    """Quiet noise under the threshold is not speech; a single click is filtered by
    speech_frames; a silent line times out after initial_silence_s; max_s caps the length."""
    cfg = VadConfig(threshold_dbfs=-30, speech_frames=3, initial_silence_s=2.0, max_s=3.0)
    vad = VoiceActivity(cfg)
    feed(vad, sine(1.0, 0.01))                          # about -43 dBFS
    assert rms_dbfs(sine(0.1, 0.01)) < -30 and not vad.speech_started
    feed(vad, sine(0.04, 0.5) + b"\x00\x00" * 320)      # two loud frames: a click
    assert not vad.speech_started
    feed(vad, b"\x00\x00" * 8000)
    assert vad.timed_out_silent()
    feed(vad, b"\x00\x00" * 8000)
    assert vad.reached_max()


def test_prompts_are_generated_as_8k_16bit_speech(tmp_path):
    """generate_prompts speaks every prompt and digit with espeak-ng (Mandarin) into 8 kHz
    16-bit WAVs that are not silent; PromptSet loads them and spells case numbers."""
    testing.require_tools("espeak-ng", "sox")
    from telephony.prompts import PromptSet, generate_prompts
    written = generate_prompts(str(tmp_path), [("12319", "")])
    assert "greeting_12319" in written and "digit_7" in written and "beep" in written
    prompts = PromptSet(str(tmp_path), "12319")
    for name in PromptSet.REQUIRED:
        assert rms_dbfs(prompts.get(name)) > -40, name
    assert prompts.digits("20") == prompts.get("digit_2") + prompts.get("digit_0")
    assert generate_prompts(str(tmp_path), [("12319", "")]) == []   # re-runnable


def test_missing_prompts_are_named(tmp_path):
    """A line whose prompts were never generated fails with the missing files and the fix."""
    from telephony.prompts import PromptError, PromptSet
    with pytest.raises(PromptError, match="menu.wav.*setup-telephony.sh"):
        PromptSet(str(tmp_path), "12345")
