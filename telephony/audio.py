"""Audio helpers for the telephony layer: G.711 decoding, WAV files, voice activity.

Everything here is pure computation on bytes (no Twisted, no sockets), so it is tested directly.
Audio inside the telephony layer is always 8 kHz mono signed 16-bit little-endian PCM
("linear16"); a 20 ms frame is 160 samples = 320 bytes.
"""
from __future__ import annotations

import math
import os
import warnings
import wave
from dataclasses import dataclass

with warnings.catch_warnings():
    # why: audioop is deprecated (removed in 3.13); pyVoIP 1.6.8 needs it anyway, so the
    # project pins Python < 3.13 and the warning says nothing new
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop

SAMPLE_RATE = 8000
SAMPLE_WIDTH = 2
FRAME_SAMPLES = 160                      # 20 ms of 8 kHz audio, one RTP packet
FRAME_BYTES = FRAME_SAMPLES * SAMPLE_WIDTH
ULAW_SILENCE = b"\xff"                   # mu-law code for (near) zero amplitude


def ulaw_to_linear16(payload: bytes) -> bytes:
    """Decode a PCMU (G.711 mu-law) payload to signed 16-bit little-endian PCM.

    One input byte gives one 16-bit sample; this is the lossless path the recordings use
    (pyVoIP's own path goes through 8-bit samples and loses most of the dynamic range).
    """
    return audioop.ulaw2lin(payload, SAMPLE_WIDTH)


def alaw_to_linear16(payload: bytes) -> bytes:
    """Decode a PCMA (G.711 A-law) payload to signed 16-bit little-endian PCM."""
    return audioop.alaw2lin(payload, SAMPLE_WIDTH)


def linear16_to_ulaw(pcm: bytes) -> bytes:
    """Encode signed 16-bit PCM to PCMU; used to build test audio and prompts for sending."""
    return audioop.lin2ulaw(pcm, SAMPLE_WIDTH)


def linear16_to_unsigned8(pcm: bytes) -> bytes:
    """Convert 16-bit PCM to the 8-bit unsigned samples that pyVoIP's `write_audio` expects.

    pyVoIP 1.6.8 re-encodes those 8-bit samples to mu-law for transmission; the prompts lose
    some quality on the way, which only affects what the caller hears, never the recordings.
    """
    return audioop.bias(audioop.lin2lin(pcm, SAMPLE_WIDTH, 1), 1, 128)


def frame_rms(pcm: bytes) -> float:
    """Root-mean-square amplitude of a block of 16-bit samples (0 for an empty block)."""
    if not pcm:
        return 0.0
    return float(audioop.rms(pcm, SAMPLE_WIDTH))


def rms_dbfs(pcm: bytes) -> float:
    """Energy of a 16-bit block in dB relative to full scale (-120 for digital silence)."""
    rms = frame_rms(pcm)
    if rms <= 0:
        return -120.0
    return 20.0 * math.log10(rms / 32768.0)


def read_wav_linear16(path: str) -> bytes:
    """Read a WAV file that must be 8 kHz mono 16-bit and return its samples.

    Raises ValueError naming the file and what is wrong with it, so a bad prompt file is
    reported at start-up rather than played as noise.
    """
    with wave.open(path, "rb") as w:
        if (w.getframerate(), w.getnchannels(), w.getsampwidth()) != (SAMPLE_RATE, 1, SAMPLE_WIDTH):
            raise ValueError(
                f"{path}: expected 8000 Hz mono 16-bit WAV, got {w.getframerate()} Hz, "
                f"{w.getnchannels()} channel(s), {8 * w.getsampwidth()}-bit")
        return w.readframes(w.getnframes())


class WavRecorder:
    """Writes 16-bit 8 kHz mono audio to a WAV file as it arrives.

    Data reaches the disk with every `write` (the header is fixed up on `close`), so a process
    that dies mid-call still leaves the audio in the file. `close` is idempotent.
    """

    def __init__(self, path: str):
        self.path = path
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        self._wav = wave.open(path, "wb")
        self._wav.setnchannels(1)
        self._wav.setsampwidth(SAMPLE_WIDTH)
        self._wav.setframerate(SAMPLE_RATE)
        self.samples = 0

    def write(self, pcm: bytes) -> None:
        """Append 16-bit samples; a no-op after `close`."""
        if self._wav is None or not pcm:
            return
        self._wav.writeframesraw(pcm)
        self._wav._file.flush()          # why: a crash must not lose buffered audio
        self.samples += len(pcm) // SAMPLE_WIDTH

    @property
    def duration_s(self) -> float:
        """Seconds of audio written so far."""
        return self.samples / SAMPLE_RATE

    def close(self) -> None:
        """Fix up the WAV header and close the file."""
        if self._wav is not None:
            self._wav.close()
            self._wav = None


@dataclass(frozen=True)
class VadConfig:
    """Thresholds of the energy-based voice activity detector.

    threshold_dbfs: a 20 ms frame louder than this counts as speech.
    speech_frames: consecutive loud frames needed before speech is considered started
    (filters clicks). silence_s: trailing quiet that ends an utterance once speech started.
    initial_silence_s: how long to wait for any speech before calling the caller silent.
    max_s: the longest description recorded.
    """
    threshold_dbfs: float = -40.0
    speech_frames: int = 3
    silence_s: float = 1.2
    initial_silence_s: float = 8.0
    max_s: float = 120.0


class VoiceActivity:
    """Frame-energy VAD: feed it 20 ms frames (or missing-frame ticks) and ask what happened.

    It only counts frames, so it is deterministic and independent of wall-clock time; the
    caller feeds one `quiet_tick` per 20 ms without audio (RTP gaps count as silence).
    """

    def __init__(self, config: VadConfig):
        self.config = config
        self.frames = 0
        self.speech_started = False
        self._loud_run = 0
        self._quiet_run = 0

    def feed(self, frame: bytes) -> None:
        """Account one frame of 16-bit audio (any length; judged by its energy)."""
        self.frames += 1
        if rms_dbfs(frame) > self.config.threshold_dbfs:
            self._loud_run += 1
            self._quiet_run = 0
            if self._loud_run >= self.config.speech_frames:
                self.speech_started = True
        else:
            self._loud_run = 0
            self._quiet_run += 1

    def quiet_tick(self) -> None:
        """Account 20 ms in which no audio arrived."""
        self.feed(b"")

    @property
    def seconds(self) -> float:
        """Audio time accounted so far."""
        return self.frames * FRAME_SAMPLES / SAMPLE_RATE

    def utterance_ended(self) -> bool:
        """True once speech started and was followed by `silence_s` of quiet."""
        return (self.speech_started
                and self._quiet_run * FRAME_SAMPLES / SAMPLE_RATE >= self.config.silence_s)

    def timed_out_silent(self) -> bool:
        """True when no speech started within `initial_silence_s`."""
        return not self.speech_started and self.seconds >= self.config.initial_silence_s

    def reached_max(self) -> bool:
        """True once `max_s` of audio has been accounted."""
        return self.seconds >= self.config.max_s
