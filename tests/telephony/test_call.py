"""End-to-end calls: SIPp -> kamailio -> pyVoIP line -> CallFlow -> recording + sink."""
from __future__ import annotations

import wave

import pytest
from zope.interface.verify import verifyObject

from telephony import interfaces as I
from telephony import testing
from telephony.audio import linear16_to_ulaw, read_wav_linear16, rms_dbfs, ulaw_to_linear16

DTMF = "/usr/share/sip-tester/dtmf_2833_{}.pcap"


@pytest.fixture(scope="module")
def caller_audio(tmp_path_factory):
    """Caller speech (espeak-ng, Mandarin) with silence around it, as the raw mu-law bytes
    SIPp sends and the 16-bit samples they decode to."""
    testing.require_tools("espeak-ng", "sox")
    d = tmp_path_factory.mktemp("audio")
    wav = str(d / "speech.wav")
    testing.speech_wav("新北区河海街道路灯坏了，晚上很黑，请派人来修。", wav)
    speech = read_wav_linear16(wav)
    pcm = b"\x00\x00" * 2400 + speech + b"\x00\x00" * 20000    # 0.3 s + speech + 2.5 s
    ulaw = linear16_to_ulaw(pcm)
    path = str(d / "caller.ulaw")
    with open(path, "wb") as f:
        f.write(ulaw)
    return {"path": path, "ulaw": ulaw, "pcm": ulaw_to_linear16(ulaw),
            "speech_s": len(speech) / 16000}


def wait_record(sink, timeout_s=25.0):
    """Wait until the sink holds a finished call record."""
    testing.wait_for(lambda: sink.finished, timeout_s, what="call_finished")
    return sink.finished[0]


def test_recorded_call_is_bit_exact_and_handed_over(kamailio, make_line, sipp, caller_audio):
    """A caller presses 1 and speaks: the WAV holds exactly the samples the caller sent
    (decoded from PCMU to 16 bits), the DTMF choice is taken, the record reaches the sink,
    the caller's number comes from P-Asserted-Identity, and SIPp sees a clean call."""
    line = make_line(kamailio)
    sink = line.sink
    verifyObject(I.ICallSink, sink)
    scenario = testing.uac_scenario(dtmf_pcaps=(DTMF.format(1),), audio=caller_audio["path"],
                                    pause_after_ms=9000, caller="13800000000",
                                    pai="13912345678")
    rc = sipp.run(scenario, line.config.username, timeout_s=30)
    record = wait_record(sink)
    print(record)
    assert rc == 0, open(sipp.log_path).read()[-3000:]
    assert record.state == I.STATE_COMPLETED
    assert record.menu == I.MENU_REPORT and record.dtmf.startswith("1")
    assert record.caller == "13912345678"
    assert sink.started and sink.started[0].call_id == record.call_id
    with wave.open(record.wav_path, "rb") as w:
        assert (w.getframerate(), w.getsampwidth(), w.getnchannels()) == (8000, 2, 1)
        got = w.readframes(w.getnframes())
    sent = caller_audio["pcm"]
    # the recording stops when the VAD hears the description end, so it is a prefix of what
    # was sent: it must be bit-exact and reach past the end of the speech
    assert len(got) >= (0.3 + caller_audio["speech_s"]) * 16000
    assert got == sent[:len(got)]
    assert record.frames_lost == 0
    assert record.duration_s == pytest.approx(len(got) / 16000)
    assert record.asr_status == I.ASR_NONE and record.engine == "none"


def test_caller_number_falls_back_to_from(kamailio, make_line, sipp, caller_audio):
    """Without P-Asserted-Identity the caller's number is taken from From; a call in which
    the caller speaks without pressing a key is treated as a report after the menu timeout."""
    line = make_line(kamailio)
    scenario = testing.uac_scenario(audio=caller_audio["path"], pause_after_ms=10000,
                                    caller="13700000001")
    sipp.run(scenario, line.config.username, timeout_s=30)
    record = wait_record(line.sink)
    assert record.caller == "13700000001"
    assert record.menu == I.MENU_REPORT and record.dtmf == ""
    assert record.state == I.STATE_COMPLETED
    assert rms_dbfs(read_wav_linear16(record.wav_path)) > -40


def test_status_menu_reads_digits_to_hash_and_asks_the_sink(kamailio, make_line, sipp,
                                                            tmp_path):
    """Menu 2: the digits keyed up to '#' are the case number handed to case_status, whose
    text is spoken (espeak-ng at run time); the call ends as 'status_given'."""
    line = make_line(kamailio)
    pcaps = tuple(DTMF.format(d) for d in "2301") + (
        testing.dtmf_pcap("#", str(tmp_path / "hash.pcap")),)
    silence = str(tmp_path / "silence.ulaw")
    testing.write_ulaw(b"\x00\x00" * 8000 * 10, silence)
    rc = sipp.run(testing.uac_scenario(dtmf_pcaps=pcaps, audio=silence, audio_first=True,
                                       pause_after_ms=6000),
                  line.config.username, timeout_s=25)
    record = wait_record(line.sink)
    assert rc == 0, (record, open(sipp.log_path).read()[-1500:])
    assert line.sink.status_queries == ["301"]
    assert record.menu == I.MENU_STATUS and record.state == I.STATE_STATUS_GIVEN
    assert record.dtmf == "2301#"


@pytest.fixture(scope="module")
def korean_audio(tmp_path_factory):
    """espeak-ng Korean speech with silence after it, as a mu-law file for SIPp."""
    testing.require_tools("espeak-ng", "sox")
    d = tmp_path_factory.mktemp("ko")
    wav = str(d / "ko.wav")
    testing.speech_wav("안녕하세요 도로에 가로등이 고장났어요 빨리 고쳐 주세요", wav, voice="ko")
    pcm = b"\x00\x00" * 2400 + read_wav_linear16(wav) + b"\x00\x00" * 20000
    path = str(d / "ko.ulaw")
    testing.write_ulaw(pcm, path)
    return path


def test_live_vosk_transcription_during_a_call(kamailio, make_line, sipp, vosk_engine,
                                               korean_audio):
    """With the vosk engine, partial transcripts reach the sink while the caller speaks and
    the record carries the final transcript with word confidences."""
    line = make_line(kamailio, engine=vosk_engine)
    sipp.run(testing.uac_scenario(dtmf_pcaps=(DTMF.format(1),), audio=korean_audio,
                                  pause_after_ms=9000), line.config.username, timeout_s=30)
    record = wait_record(line.sink)
    assert record.state == I.STATE_COMPLETED
    assert record.engine == "vosk" and record.asr_status == I.ASR_DONE
    assert record.transcript and record.words
    assert all(0 <= conf <= 1 and start <= end for _, conf, start, end in record.words)
    assert line.sink.partials and {cid for cid, _ in line.sink.partials} == {record.call_id}
    # measured, not benchmarked here (bench/bench_calls.py does): only a sane range
    assert 0 < record.extra["asr_rtf"] < 3.0


def test_busy_asr_still_answers_records_and_transcribes_later(kamailio, make_line, sipp,
                                                              vosk_engine, korean_audio):
    """With no free ASR slot the call is answered and recorded as usual ('asr_queued'), and
    the transcript arrives later through transcript_ready."""
    line = make_line(kamailio, engine=vosk_engine, max_streams=1)
    blocker = line.pool.open(lambda text: None)      # another call holds the only slot
    sipp.run(testing.uac_scenario(dtmf_pcaps=(DTMF.format(1),), audio=korean_audio,
                                  pause_after_ms=9000), line.config.username, timeout_s=30)
    record = wait_record(line.sink)
    assert record.state == I.STATE_COMPLETED and record.asr_status == I.ASR_QUEUED
    assert record.transcript == "" and not line.sink.partials
    blocker.finish().result(10)      # that call ends: its slot frees up
    testing.wait_for(lambda: line.sink.late, 30, what="late transcript")
    late = line.sink.late[0]
    assert late.call_id == record.call_id and late.asr_status == I.ASR_DONE and late.words


def test_call_from_baresip_softphone(kamailio, make_line, tmp_path, caller_audio):
    """A real softphone (baresip, whose INVITE carries the empty Supported header pyVoIP
    chokes on; the SIP server removes it) gets answered and its audio recorded."""
    import subprocess
    testing.require_tools("baresip")
    line = make_line(kamailio)
    conf = tmp_path / "baresip"
    conf.mkdir()
    wav = str(tmp_path / "caller.wav")
    with wave.open(wav, "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(8000)
        w.writeframes(caller_audio["pcm"])
    sip_port = testing.free_udp_port()
    (conf / "config").write_text(
        f"sip_listen 127.0.0.1:{sip_port}\nnet_interface 127.0.0.1\naudio_source aufile,{wav}\n"
        "audio_player aubridge,nil\naudio_alert aubridge,nil\naudio_srate 8000\n"
        "module_path /usr/lib/baresip/modules\nmodule g711.so\nmodule aufile.so\n"
        "module aubridge.so\nmodule stdio.so\nmodule_app account.so\nmodule_app menu.so\n")
    (conf / "accounts").write_text(
        "<sip:13600000000@127.0.0.1>;regint=0;audio_codecs=PCMU\n")
    out = open(tmp_path / "baresip.out", "w")
    proc = subprocess.Popen(["baresip", "-f", str(conf), "-e",
                             f"/dial sip:{line.config.username}@127.0.0.1:{kamailio.port}",
                             "-t", "14"], stdin=subprocess.DEVNULL, stdout=out,
                            stderr=subprocess.STDOUT)
    try:
        record = wait_record(line.sink, timeout_s=25)
    finally:
        if proc.poll() is None:
            proc.wait(20)
        out.close()
    assert record.caller == "13600000000"
    assert record.state in (I.STATE_COMPLETED, I.STATE_HANGUP_IN_RECORDING)
    assert rms_dbfs(read_wav_linear16(record.wav_path)) > -40
