"""One SIP line: a pyVoIP 1.6.8 phone, raw PCMU capture, and the call flow that runs each call.

Threads. pyVoIP runs every call in a thread of its own (started ~1 s after the INVITE). The call
flow (`CallFlow`) runs there: it is a paced 20 ms loop that drains captured RTP, plays prompts and
waits for digits. It never touches the reactor directly; `SinkBridge` hands everything to the
sink with reactor.callFromThread and waits (with a timeout) for the sink's Deferreds.

Audio. pyVoIP's own receive path converts PCMU to 8-bit samples, which throws most of the
dynamic range away. `CapturingRTPClient` keeps the raw PCMU payload instead; the flow decodes it
to 16-bit (audio.ulaw_to_linear16), which is bit-exact with what the caller sent.
"""
from __future__ import annotations

import collections
import hashlib
import logging
import os
import re
import socket
import threading
import time
import uuid
from concurrent.futures import Future
from dataclasses import replace
from typing import Callable, Optional

from pyVoIP import RTP
from pyVoIP.VoIP.VoIP import CallState, InvalidStateError, PhoneStatus, VoIPCall, VoIPPhone

from telephony import interfaces as I
from telephony.audio import (FRAME_SAMPLES, SAMPLE_RATE, VadConfig, VoiceActivity, WavRecorder,
                             alaw_to_linear16, linear16_to_unsigned8, ulaw_to_linear16)
from telephony.config import CallTimeouts, LineConfig
from telephony.keepalive import answer_options

log = logging.getLogger(__name__)

_DTMF_KEYS = "0123456789*#ABCD"
MAX_GAP_FILL_SAMPLES = 10 * SAMPLE_RATE   # a timestamp jump beyond this starts a new stream


# --------------------------------------------------------------------------- capture

class MediaCapture:
    """Thread-safe hand-off of raw RTP from pyVoIP's receiver thread to the call flow."""

    def __init__(self):
        self._lock = threading.Lock()
        self._items: collections.deque = collections.deque()
        self.bad_packets = 0
        self.last_packet_at: Optional[float] = None

    def audio(self, ssrc: int, seq: int, ts: int, payload: bytes, codec: str = "PCMU") -> None:
        """A G.711 packet arrived (called on pyVoIP's RTP thread)."""
        with self._lock:
            self._items.append(("audio", ssrc, seq, ts, payload) if codec == "PCMU"
                               else ("audio", ssrc, seq, ts, payload, codec))
            self.last_packet_at = time.monotonic()

    def digit(self, key: str) -> None:
        """The first packet of an RFC 2833 telephone event arrived."""
        with self._lock:
            self._items.append(("digit", key))
            self.last_packet_at = time.monotonic()

    def bad(self) -> None:
        """A packet that could not be parsed (counted, never fatal)."""
        with self._lock:
            self.bad_packets += 1

    def drain(self) -> list:
        """Everything captured since the last drain, in arrival order."""
        with self._lock:
            items = list(self._items)
            self._items.clear()
        return items


class CapturingRTPClient(RTP.RTPClient):
    """pyVoIP's RTP client that hands the raw PCMU payload and DTMF to a MediaCapture.

    It also survives malformed packets: pyVoIP's receiver thread dies on anything but an
    RTPParseError (a short datagram raises IndexError), which would silently end the audio.
    """

    def __init__(self, *args, capture: MediaCapture, **kwargs):
        super().__init__(*args, **kwargs)
        self.capture = capture

    def parse_packet(self, packet: bytes) -> None:
        """Parse one datagram; audio and digits go to the capture, anything else is counted."""
        try:
            if len(packet) < 12:
                raise RTP.RTPParseError("short RTP packet")
            msg = RTP.RTPMessage(packet, self.assoc)
            if msg.payload_type == RTP.PayloadType.PCMU:
                self.capture.audio(msg.SSRC, msg.sequence, msg.timestamp, bytes(msg.payload))
            elif msg.payload_type == RTP.PayloadType.PCMA:
                # why: a caller that only offers A-law still gets recorded (pyVoIP's A-law
                # transmit is broken, so our answer prefers PCMU whenever it is offered)
                self.capture.audio(msg.SSRC, msg.sequence, msg.timestamp, bytes(msg.payload),
                                   "PCMA")
            elif msg.payload_type == RTP.PayloadType.EVENT:
                # why: an event is repeated in several packets; only the first has the marker bit
                if msg.marker and msg.payload and msg.payload[0] < len(_DTMF_KEYS):
                    self.capture.digit(_DTMF_KEYS[msg.payload[0]])
            else:
                self.capture.bad()
        except Exception:
            self.capture.bad()

    def read(self, length: int = 160, blocking: bool = True) -> bytes:
        """Unused: audio is taken from the capture, pyVoIP's 8-bit buffer stays empty."""
        return b"\x80" * length


class HotlineCall(VoIPCall):
    """A pyVoIP call whose RTP clients capture raw payloads."""

    def __del__(self):
        # pyVoIP's finalizer releases ports by inspecting threads under the phone's lock; run by
        # the garbage collector inside another thread's start-up it deadlocked a whole process
        # (seen in the test suite: Thread.start waiting forever). Finalizers must not take locks.
        # Ports of ended calls are reclaimed by pyVoIP's own request_port -> release_ports().
        pass

    def create_rtp_clients(self, codecs, ip, port, request, baseport) -> None:
        """Same as pyVoIP's, with CapturingRTPClient (created before answer(), so no packet is
        missed)."""
        if not hasattr(self, "capture"):
            self.capture = MediaCapture()
        for ii in range(len(request.body["c"])):
            self.RTPClients.append(CapturingRTPClient(
                codecs, ip, port, request.body["c"][ii]["address"], baseport + ii,
                self.sendmode, dtmf=self.dtmf_callback, capture=self.capture))


class HotlinePhone(VoIPPhone):
    """pyVoIP phone creating HotlineCall objects (pyVoIP left `_create_Call` for subclassing)."""

    def _create_Call(self, request, sess_id: int) -> None:
        call_id = request.headers["Call-ID"]
        self.calls[call_id] = HotlineCall(self, CallState.RINGING, request, sess_id, self.myIP,
                                          sendmode=self.recvmode)


_NUMBER_RE = re.compile(r"(?:sips?|tel):\+?([0-9A-Za-z_.*#+-]+)")


def caller_number(headers: dict) -> str:
    """The caller's number: P-Asserted-Identity if present (set by the carrier), else From."""
    for name, value in headers.items():
        if name.lower() in ("p-asserted-identity", "p-preferred-identity") and isinstance(value, str):
            m = _NUMBER_RE.search(value)
            if m:
                return m.group(1).split("@")[0]
    frm = headers.get("From")
    if isinstance(frm, dict):
        return str(frm.get("number") or frm.get("address") or "")
    if isinstance(frm, str):
        m = _NUMBER_RE.search(frm)
        return m.group(1).split("@")[0] if m else ""
    return ""


# --------------------------------------------------------------------------- media adapter

class PyVoIPMedia:
    """What the call flow needs from a call, over a pyVoIP HotlineCall."""

    def __init__(self, call: HotlineCall):
        self.call = call
        self.capture: MediaCapture = getattr(call, "capture", None) or MediaCapture()

    def answer(self) -> None:
        """Answer the call (starts RTP)."""
        self.call.answer()

    def drain(self) -> list:
        """Captured audio packets and digits since the last call."""
        return self.capture.drain()

    def last_packet_at(self) -> Optional[float]:
        """time.monotonic() of the last packet, None before the first."""
        return self.capture.last_packet_at

    def play(self, pcm16: bytes) -> None:
        """Queue 16-bit samples for transmission (pyVoIP paces them at 20 ms)."""
        self.call.write_audio(linear16_to_unsigned8(pcm16))

    @property
    def ended(self) -> bool:
        """True once the caller hung up (or the call was ended)."""
        return self.call.state == CallState.ENDED

    def hangup(self) -> None:
        """End the call from our side; a no-op when it already ended."""
        try:
            self.call.hangup()
        except (InvalidStateError, OSError):
            pass


# --------------------------------------------------------------------------- sink bridge

class SinkBridge:
    """Calls an ICallSink on the reactor thread from a call thread."""

    def __init__(self, sink, reactor):
        self.sink = sink
        self.reactor = reactor

    def started(self, info: I.CallInfo) -> None:
        """Tell the sink a call was answered (fire and forget)."""
        self.reactor.callFromThread(self._safe, self.sink.call_started, info)

    def partial(self, call_id: str, text: str) -> None:
        """Publish a partial transcript (fire and forget)."""
        self.reactor.callFromThread(self._safe, self.sink.partial_transcript, call_id, text)

    def transcript_ready(self, record: I.CallRecord) -> None:
        """Hand over a late transcript (fire and forget)."""
        self.reactor.callFromThread(self._safe, self.sink.transcript_ready, record)

    def finished(self, record: I.CallRecord, timeout_s: float) -> Optional[str]:
        """Hand over the record; wait up to timeout_s for the case number (None on timeout)."""
        return self._wait(self.sink.call_finished, record, timeout_s=timeout_s)

    def status(self, number: str, timeout_s: float) -> Optional[str]:
        """Ask the sink for a case's status text; None on timeout or error."""
        return self._wait(self.sink.case_status, number, timeout_s=timeout_s)

    @staticmethod
    def _safe(fn, *args):
        try:
            fn(*args)
        except Exception:
            log.exception("sink %s failed", getattr(fn, "__name__", fn))

    def _wait(self, fn, *args, timeout_s: float):
        from twisted.internet.defer import maybeDeferred
        done = threading.Event()
        box: list = [None]

        def ok(value):
            box[0] = value
            done.set()

        def fail(failure):
            log.error("sink %s failed: %s", fn.__name__, failure.getTraceback())
            done.set()

        def call():
            maybeDeferred(fn, *args).addCallbacks(ok, fail)

        self.reactor.callFromThread(call)
        if not done.wait(timeout_s):
            log.warning("sink %s gave no answer within %.1f s", fn.__name__, timeout_s)
            return None
        return box[0]


# --------------------------------------------------------------------------- call flow

class CallerHungUp(Exception):
    """The caller ended the call."""


class RtpStopped(Exception):
    """No audio from the caller for rtp_timeout_s."""


def recording_path(directory: str, line: str, call_id: str, started_at: float) -> str:
    """Where a call's WAV goes: DIR/YYYYMMDD/LINE-HHMMSS-HASH.wav (Call-IDs may hold any char)."""
    t = time.localtime(started_at)
    digest = hashlib.sha1(call_id.encode("utf8", "replace")).hexdigest()[:10]
    safe_line = re.sub(r"[^0-9A-Za-z_-]", "_", line)
    return os.path.join(directory, time.strftime("%Y%m%d", t),
                        f"{safe_line}-{time.strftime('%H%M%S', t)}-{digest}.wav")


class CallFlow:
    """The dialog of one call, run on the call's own thread; returns the CallRecord.

    answer -> greeting + menu (a digit interrupts) -> 1/0/no digit: record the description until
    the VAD hears it end, max length or hang-up -> hand the record to the sink -> speak the case
    number -> goodbye -> hang up. 2: collect digits to '#', speak the case's status.
    Everything the caller says from the answer to the end of the description is in the WAV, and
    the record is handed to the sink exactly once, whatever happens.
    """

    def __init__(self, *, call_id: str, line: LineConfig, caller: str, media, prompts, pool,
                 bridge, vad: VadConfig, timeouts: CallTimeouts, recordings_dir: str,
                 synthesize: Optional[Callable[[str], bytes]] = None,
                 now: Callable[[], float] = time.time,
                 monotonic: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep, tick_s: float = 0.02):
        self.call_id, self.line, self.caller = call_id, line, caller
        self.media, self.prompts, self.pool, self.bridge = media, prompts, pool, bridge
        self.vad_config, self.timeouts = vad, timeouts
        self.recordings_dir = recordings_dir
        self.synthesize = synthesize
        self.now, self.monotonic, self.sleep, self.tick_s = now, monotonic, sleep, tick_s
        self.dtmf = ""
        self._digits: collections.deque[str] = collections.deque()
        self.menu = I.MENU_NONE
        self.frames_received = 0
        self.frames_lost = 0
        self.frames_late = 0
        self._recording = True
        self._vad: Optional[VoiceActivity] = None
        self._stream_key = None
        self._next_ts: Optional[int] = None
        self._last_audio_mono: Optional[float] = None
        self.handed_over = False
        self.record: Optional[I.CallRecord] = None

    # -- pumping ----------------------------------------------------------------------------

    def _pump(self) -> None:
        for item in self.media.drain():
            if item[0] == "digit":
                self._digits.append(item[1])
                self.dtmf += item[1]
                continue
            _, ssrc, seq, ts, payload = item[:5]
            self._last_audio_mono = self.monotonic()
            pcm = alaw_to_linear16(payload) if item[5:] == ("PCMA",) else ulaw_to_linear16(payload)
            samples = len(payload)
            if self._stream_key != ssrc or self._next_ts is None:
                self._stream_key = ssrc          # a new RTP stream: no gap to fill
            else:
                gap = (ts - self._next_ts) & 0xFFFFFFFF
                if gap >= 0x80000000:            # an old or duplicate packet: already written
                    self.frames_late += 1
                    continue
                if 0 < gap <= MAX_GAP_FILL_SAMPLES:
                    # why: a lost packet becomes silence of the same length, so the recording's
                    # time axis stays true to the call
                    self.frames_lost += max(1, gap // FRAME_SAMPLES)
                    self._take(b"\x00\x00" * gap)
            self._next_ts = (ts + samples) & 0xFFFFFFFF
            self.frames_received += 1
            self._take(pcm)
        if self.media.ended:
            raise CallerHungUp()
        last = self._last_audio_mono if self._last_audio_mono is not None else self._answered_mono
        if self.monotonic() - last > self.timeouts.rtp_timeout_s:
            raise RtpStopped()

    def _take(self, pcm: bytes) -> None:
        if not self._recording:
            return
        self.wav.write(pcm)
        if self.live is not None:
            self.live.feed(pcm)
        if self._vad is not None:
            for i in range(0, len(pcm), 2 * FRAME_SAMPLES):
                self._vad.feed(pcm[i:i + 2 * FRAME_SAMPLES])

    def _wait(self, until: Callable[[], bool], timeout_s: float) -> bool:
        """Pump every tick until `until()` or timeout; hang-up and RTP loss raise."""
        deadline = self.monotonic() + timeout_s
        while True:
            self._pump()
            if until():
                return True
            if self.monotonic() >= deadline:
                return False
            self.sleep(self.tick_s)

    def _play(self, pcm16: bytes, interrupt_on_digit: bool = False) -> None:
        """Play samples in 20 ms steps, keeping ~100 ms queued ahead, so a digit can cut a
        prompt short and the recording keeps flowing meanwhile."""
        frame = 2 * FRAME_SAMPLES
        lead = 5
        pos = 0
        start = self.monotonic()
        total_s = len(pcm16) / (2 * SAMPLE_RATE)
        while True:
            self._pump()
            if interrupt_on_digit and self._digits:
                return
            elapsed_frames = int((self.monotonic() - start) / 0.02)
            target = min(len(pcm16), (elapsed_frames + lead) * frame)
            if pos < target:
                self.media.play(pcm16[pos:target])
                pos = target
            if pos >= len(pcm16) and self.monotonic() - start >= total_s:
                return
            self.sleep(self.tick_s)

    def _next_digit(self, timeout_s: float) -> Optional[str]:
        if self._wait(lambda: bool(self._digits), timeout_s):
            return self._digits.popleft()
        return None

    # -- the dialog ----------------------------------------------------------------------------

    def run(self) -> I.CallRecord:
        """Run the whole call; always returns the record (also handed to the sink)."""
        self.started_at = self.now()
        self._answered_mono = self.monotonic()
        self.wav_path = recording_path(self.recordings_dir, self.line.name, self.call_id,
                                       self.started_at)
        self.wav = WavRecorder(self.wav_path)
        self.live = self.pool.open(lambda text: self.bridge.partial(self.call_id, text)) \
            if self.pool is not None else None
        self.ended_at: Optional[float] = None
        self.bridge.started(I.CallInfo(self.call_id, self.line.name, self.line.hotline,
                                       self.caller, self.started_at))
        self._phase = "greeting"
        state = I.STATE_FAILED
        try:
            try:
                self._play(self.prompts.get("greeting") + self.prompts.get("menu"),
                           interrupt_on_digit=True)
                digit = self._next_digit(self.timeouts.menu_timeout_s)
                if digit == "2":
                    self.menu = I.MENU_STATUS
                    self._phase = "status"
                    state = self._status_flow()
                else:
                    self.menu = I.MENU_OPERATOR if digit == "0" else I.MENU_REPORT
                    self._phase = "recording"
                    state = self._report_flow()
            except CallerHungUp:
                state = (I.STATE_HANGUP_IN_RECORDING if self._phase == "recording"
                         else I.STATE_STATUS_GIVEN if self._phase == "status_given"
                         else I.STATE_HANGUP_IN_GREETING)
            except RtpStopped:
                state = I.STATE_RTP_TIMEOUT
                self.media.hangup()
        except Exception:
            log.exception("call %s on line %s failed", self.call_id, self.line.name)
            state = I.STATE_FAILED
            self.media.hangup()
        finally:
            self._stop_recording()
            if not self.handed_over:
                self._hand_over(state, want_number=False)
        return self.record

    def _report_flow(self) -> str:
        prompt = "operator" if self.menu == I.MENU_OPERATOR else "record"
        self._play(self.prompts.get(prompt) + self.prompts.get("beep"))
        self._vad = VoiceActivity(self.vad_config)
        silence_s = self.vad_config.silence_s

        def description_over() -> bool:
            v = self._vad
            if v.utterance_ended() or v.timed_out_silent() or v.reached_max():
                return True
            # why: a phone that stops sending RTP in pauses (DTX) must still end the utterance
            return (v.speech_started and self._last_audio_mono is not None
                    and self.monotonic() - self._last_audio_mono >= silence_s)

        try:
            self._wait(description_over, self.vad_config.max_s + self.timeouts.rtp_timeout_s)
        except RtpStopped:
            raise
        silent = not self._vad.speech_started
        self._stop_recording()
        if silent:
            self._hand_over(I.STATE_SILENT, want_number=False)
            self._play(self.prompts.get("silent"))
            self._goodbye()
            return I.STATE_SILENT
        number = self._hand_over(I.STATE_COMPLETED, want_number=True)
        if number:
            self._play(self.prompts.get("case_number") + self.prompts.digits(str(number)))
        self._play(self.prompts.get("thanks"))
        self._goodbye()
        return I.STATE_COMPLETED

    def _status_flow(self) -> str:
        self._play(self.prompts.get("status_enter"), interrupt_on_digit=True)
        number = ""
        while True:
            d = self._next_digit(self.timeouts.digit_timeout_s)
            if d is None or d == "#":
                break
            if d.isdigit():
                number += d
        text = self.bridge.status(number, self.timeouts.sink_timeout_s) if number else None
        if text and self.synthesize is not None:
            try:
                audio = self.synthesize(text)
            except Exception:
                log.exception("speaking case status failed")
                audio = self.prompts.get("status_unknown")
        else:
            audio = self.prompts.get("status_unknown")
        self._play(audio)
        self._phase = "status_given"
        self._play(self.prompts.get("thanks"))
        self._goodbye()
        return I.STATE_STATUS_GIVEN

    def _goodbye(self) -> None:
        self._wait(lambda: False, self.timeouts.hangup_grace_s)
        self.media.hangup()

    # -- hand-over -----------------------------------------------------------------------------

    def _stop_recording(self) -> None:
        if self._recording:
            self._recording = False
            self.ended_at = self.now()
            self.wav.close()

    def _hand_over(self, state: str, want_number: bool) -> Optional[str]:
        """Build the CallRecord (waiting a bounded time for the final transcript), give it to
        the sink once, and arrange a late transcription when needed."""
        self.handed_over = True
        transcript = I.Transcript()
        engine = getattr(getattr(self.pool, "engine", None), "name", "none")
        late: Optional[Future] = None
        if self.pool is None or not self.pool.available:
            asr_status = I.ASR_NONE
        elif self.live is None:
            asr_status = I.ASR_QUEUED
            late = self.pool.transcribe_later(self.wav_path)
        else:
            fut = self.live.finish()
            deadline = time.monotonic() + self.timeouts.asr_final_timeout_s
            while not fut.done() and time.monotonic() < deadline:
                time.sleep(0.01)   # why: real time on purpose; the pool works meanwhile
            if fut.done() and fut.exception() is None:
                transcript, asr_status = fut.result(), I.ASR_DONE
            elif fut.done():
                asr_status = I.ASR_FAILED
            else:
                asr_status, late = I.ASR_QUEUED, fut
        self.record = I.CallRecord(
            call_id=self.call_id, line=self.line.name, hotline=self.line.hotline,
            caller=self.caller, started_at=self.started_at,
            ended_at=self.ended_at or self.now(), wav_path=self.wav_path,
            duration_s=self.wav.duration_s, state=state, transcript=transcript.text,
            words=tuple((w.word, w.conf, w.start, w.end) for w in transcript.words),
            engine=engine, dtmf=self.dtmf, menu=self.menu, asr_status=asr_status,
            frames_received=self.frames_received, frames_lost=self.frames_lost,
            extra={"asr_rtf": round(self.live.rtf, 3) if self.live else None,
                   **({"asr_cpu_rtf": round(self.live.cpu_rtf, 3),
                       "asr_open_s": round(self.live.open_s, 4),
                       "asr_max_wait_s": round(self.live.max_wait_s, 4),
                       "asr_final_lag_s": (round(self.live.final_lag_s, 3)
                                           if self.live.final_lag_s is not None else None),
                       "asr_chunks": self.live.chunks} if self.live else {}),
                   "frames_late": self.frames_late,
                   "bad_packets": getattr(getattr(self.media, "capture", None), "bad_packets", 0)})
        if late is not None:
            record = self.record

            def deliver(f: Future) -> None:
                if f.exception() is None:
                    t = f.result()
                    self.bridge.transcript_ready(replace(
                        record, transcript=t.text, asr_status=I.ASR_DONE,
                        words=tuple((w.word, w.conf, w.start, w.end) for w in t.words)))
                else:
                    log.error("late transcription of %s failed: %s", record.wav_path, f.exception())
            late.add_done_callback(deliver)
        number = self.bridge.finished(self.record, self.timeouts.sink_timeout_s)
        return number if want_number else None


# --------------------------------------------------------------------------- the line

class SipLine:
    """A registered SIP account answering calls with CallFlow.

    Blocking methods (start, stop, reregister) are meant for a thread (deferToThread);
    the call callback runs on pyVoIP's call thread.
    """

    def __init__(self, config: LineConfig, *, prompts, pool, bridge, vad: VadConfig,
                 timeouts: CallTimeouts, recordings_dir: str,
                 synthesize: Optional[Callable[[str], bytes]] = None):
        self.config = config
        self.prompts, self.pool, self.bridge = prompts, pool, bridge
        self.vad, self.timeouts, self.recordings_dir = vad, timeouts, recordings_dir
        self.synthesize = synthesize
        self.phone: Optional[HotlinePhone] = None
        self.active_calls = 0
        self.calls_total = 0
        self.registrations = 0
        self._lock = threading.Lock()
        self.records: collections.deque = collections.deque(maxlen=100)
        # the To-tag of this line's answers to OPTIONS: lets the keepalive tell the line's own
        # answer (forwarded by the registrar) from the registrar answering for itself
        self.options_tag = "hl" + uuid.uuid4().hex[:12]
        self.options_answered = 0

    def _make_phone(self) -> HotlinePhone:
        c = self.config
        phone = HotlinePhone(c.server.host, c.server.port, c.username, c.password,
                             myIP=c.bind_ip, callCallback=self._on_call, sipPort=c.sip_port,
                             rtpPortLow=c.rtp_low, rtpPortHigh=c.rtp_high)
        # why: pyVoIP waits 30 s per REGISTER by default, which stalls start-up and recovery
        phone.sip.register_timeout = self.timeouts.register_timeout_s
        sip, recv_loop = phone.sip, phone.sip.recv_loop

        def quiet_recv_loop():
            # why: stopping the phone closes the socket under pyVoIP's receive loop, which
            # then dies with EBADF; that is the end of the loop, not an error. While the phone
            # runs, errors still escape (and are logged by the thread exception hook).
            try:
                recv_loop()
            except OSError:
                if sip.NSD:
                    raise
        sip.recv_loop = quiet_recv_loop
        recv = sip.recv

        def recv_answering_options():
            # why: pyVoIP 1.6.8 drops OPTIONS unanswered (not among its methods), so the
            # keepalive through the registrar, and SBCs that qualify their contacts with
            # OPTIONS, would take the line for dead. Peek (raises BlockingIOError when there is
            # nothing, like pyVoIP's own recv); anything but OPTIONS is left to pyVoIP.
            try:
                head = sip.s.recv(8, socket.MSG_PEEK)
            except BlockingIOError:
                raise
            except OSError:
                # e.g. ECONNREFUSED left by an ICMP error: pyVoIP's recv meets and ignores it
                return recv()
            if not head.startswith(b"OPTIONS "):
                return recv()
            data = sip.s.recv(8192)
            reply = answer_options(data, self.options_tag)
            if reply is not None:
                try:
                    sip.out.sendto(*reply)
                    self.options_answered += 1
                except OSError as e:    # an unreachable Via must not end the receive loop
                    log.warning("line %s: answering OPTIONS to %s failed: %s",
                                self.config.name, reply[1], e)
        sip.recv = recv_answering_options
        return phone

    def start(self) -> None:
        """Create the phone and register (blocking). Raises if the server does not answer."""
        phone = self._make_phone()
        phone.start()
        if phone.get_status() != PhoneStatus.REGISTERED:
            # why: pyVoIP swallows a failed REGISTER and retries in the background; a line
            # that cannot register must fail its start loudly instead
            try:
                phone.stop()
            except Exception:
                log.exception("line %s: stopping the unregistered phone failed", self.config.name)
            c = self.config
            raise RuntimeError(f"line {c.name}: SIP server {c.server.host}:{c.server.port} did "
                               f"not accept REGISTER for {c.username} within "
                               f"{self.timeouts.register_timeout_s} s")
        self.phone = phone
        self.registrations += 1
        log.info("line %s registered as %s at %s:%s", self.config.name, self.config.username,
                 self.config.server.host, self.config.server.port)

    def stop(self) -> None:
        """Hang up, deregister and stop pyVoIP's threads (blocking)."""
        phone, self.phone = self.phone, None
        if phone is not None:
            try:
                phone.stop()
            except Exception:
                log.exception("line %s: stopping the phone failed", self.config.name)
                try:
                    phone.sip.NSD = False
                    phone.sip._close_sockets()
                except Exception:
                    pass

    @property
    def healthy(self) -> bool:
        """False when pyVoIP gave up (too many failed registrations) or was never started."""
        p = self.phone
        return p is not None and p.sip.NSD and p.get_status() != PhoneStatus.FAILED

    def reregister(self) -> bool:
        """Refresh the registration now (blocking); restart the phone if pyVoIP gave up.

        A registrar that restarted (kamailio keeps locations in memory) forgot this line; a
        fresh REGISTER puts it back. pyVoIP's public register() would start another refresh
        timer each time, so the REGISTER transaction is sent directly under its receive lock.
        """
        if not self.healthy:
            log.warning("line %s: phone not running, restarting it", self.config.name)
            self.stop()
            self.start()
            return True
        sip = self.phone.sip
        with sip.recvLock:
            ok = sip._SIPClient__register()
        if ok:
            self.registrations += 1
        return bool(ok)

    def _on_call(self, call: HotlineCall) -> None:
        """pyVoIP's call callback (its own thread): run the flow; never let an error escape."""
        with self._lock:
            self.active_calls += 1
            self.calls_total += 1
        try:
            media = PyVoIPMedia(call)
            caller = caller_number(call.request.headers)
            media.answer()
            flow = CallFlow(call_id=call.call_id, line=self.config, caller=caller, media=media,
                            prompts=self.prompts, pool=self.pool, bridge=self.bridge,
                            vad=self.vad, timeouts=self.timeouts,
                            recordings_dir=self.recordings_dir, synthesize=self.synthesize)
            record = flow.run()
            self.records.append(record)
        except Exception:
            log.exception("line %s: call failed before its flow started", self.config.name)
            try:
                call.hangup()
            except Exception:
                pass
        finally:
            with self._lock:
                self.active_calls -= 1
