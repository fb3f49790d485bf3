"""Throughput of the classify path next to plain jieba.lcut on the same texts, in the same run.

    .venv/bin/python bench/bench_classify.py [--model PATH] [--n 10000] [--config DIR] [--stages] [--real [DIR]]

Texts: the corpus reports, repeated and varied (a counter appended) up to N; with --real, the real
letters of the city's message board instead (../shared/data/teddy-cup-2020/messages-hot-issues.jsonl,
subject + "。" + full text, mean ~390 characters), as citizens wrote them. Measured: model load
time; messages per second of the `hotline classify` path (JSON line in -> analyse -> JSON line
out, one at a time as the command does); messages per second of `jieba.lcut` (the global
tokenizer, default dictionary) on the very same texts; their ratio (target >= 0.5); the same ratio
in CPU time (steadier on a shared machine); peak resident memory (resource.getrusage). With
--stages, CPU time per message of each stage of the path. Results also go to
bench/results/bench_classify.json.
"""
from __future__ import annotations

import argparse
import json
import logging
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _peak_mb() -> float:
    # ru_maxrss is in kilobytes on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _real_texts(folder: Path) -> list[str]:
    """The board's letters as a citizen sent them: subject, 。, the full text (whitespace squeezed)."""
    import re
    out = []
    with open(folder / "messages-hot-issues.jsonl", encoding="utf-8") as f:
        for line in f:
            if line.strip():
                m = json.loads(line)
                subject = re.sub(r"\s+", " ", m.get("留言主题", "")).strip()
                detail = re.sub(r"\s+", " ", m.get("留言详情", "")).strip()
                out.append(subject + "。" + detail)
    return out


def _stages(analyser, texts) -> dict:
    """CPU microseconds per message of each stage of `ReportAnalyser.analyse`, run stage by stage."""
    from nlp.emergency import emergency_cues
    from nlp.similarity import content_tokens
    from nlp.text import normalise

    pipe, model, finder = analyser.pipeline, analyser.model, analyser.finder
    out = {}

    def timed(name, fn, items):
        c0 = time.process_time()
        results = [fn(x) for x in items]
        out[name] = round((time.process_time() - c0) / len(items) * 1e6, 1)
        return results

    normalised = timed("normalise", normalise, texts)
    corrected = timed("homophones", lambda n: pipe.corrector.correct_with_syllables(n.text), normalised)
    timed("segment", lambda c: pipe.segmenter.cut(c[0]), corrected)
    prepared = timed("prepare (all 3)", pipe.prepare, texts)
    vectors = timed("vector", model.vector, prepared)
    timed("score", lambda pv: model.score(*pv), list(zip(prepared, vectors)))
    timed("emergency cues", lambda p: emergency_cues(p.text), prepared)
    timed("locate", lambda p: finder.locate(p.text, sounds=p.syllables), prepared)
    timed("content tokens", lambda p: content_tokens(p.tokens, pipe.stopwords, analyser._place_words), prepared)
    timed("analyse (whole)", analyser.analyse, texts)
    # What `hotline classify` runs: the decisions without the explanations (reasons, tokens).
    timed("analyse (light)", lambda t: analyser.analyse(t, detail=False), texts)
    return out


def main(argv=None) -> int:
    """Run the benchmark and print the numbers."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", help="model path (default: nlp/model/current.pkl)")
    ap.add_argument("--config", help="config folder (default: config/)")
    ap.add_argument("--n", type=int, default=10_000, help="messages (default 10000)")
    ap.add_argument("--stages", action="store_true", help="also time each stage of the path on its own")
    ap.add_argument("--real", nargs="?", const=str(ROOT.parent / "shared" / "data" / "teddy-cup-2020"), metavar="DIR",
                    help="real-length texts: the board's letters in DIR (default ../shared/data/teddy-cup-2020)")
    args = ap.parse_args(argv)

    import jieba
    jieba.setLogLevel(logging.WARNING)
    from intake.commands.classify import classify_line, load_nlp_setup, resolve_model_path
    from nlp.analyser import ReportAnalyser
    from nlp.dataset import load_corpus

    setup = load_nlp_setup(args.config)
    if args.real:
        base = _real_texts(Path(args.real))
    else:
        examples, _ = load_corpus(matter_codes=set(setup.taxonomy.matters))
        base = [e.text for e in examples] or ["路灯不亮了"]
    texts = [base[i % len(base)] + ("" if i < len(base) else f" 第{i // len(base)}次") for i in range(args.n)]
    lines = [json.dumps({"id": i, "text": t}, ensure_ascii=False) for i, t in enumerate(texts)]
    mem_before = _peak_mb()

    t0 = time.perf_counter()
    analyser = ReportAnalyser.load(resolve_model_path(args, setup), setup.taxonomy, setup.places,
                                   setup.agencies, setup.review_threshold)
    load_s = time.perf_counter() - t0
    mem_loaded = _peak_mb()

    jieba.lcut("预热")  # load the global dictionary outside the timed loop
    classify_line(analyser, lines[0])

    t0, c0 = time.perf_counter(), time.process_time()
    for t in texts:
        jieba.lcut(t)
    jieba_s, jieba_cpu = time.perf_counter() - t0, time.process_time() - c0

    t0, c0 = time.perf_counter(), time.process_time()
    for line in lines:
        json.dumps(classify_line(analyser, line), ensure_ascii=False)
    classify_s, classify_cpu = time.perf_counter() - t0, time.process_time() - c0

    chars = sum(map(len, texts))
    result = {
        "messages": len(texts), "mean_chars": round(chars / len(texts), 1),
        "model_version": analyser.model_version, "model_load_s": round(load_s, 3),
        "jieba_lcut_per_s": round(len(texts) / jieba_s, 1),
        "classify_per_s": round(len(texts) / classify_s, 1),
        "ratio_classify_to_jieba": round(jieba_s / classify_s, 3),
        # The same ratio in CPU time of this process: on a shared machine other processes stretch
        # wall-clock time unevenly between the two loops; CPU time is much less affected.
        "cpu_ratio_classify_to_jieba": round(jieba_cpu / classify_cpu, 3),
        "peak_rss_mb": round(_peak_mb(), 1), "rss_before_model_mb": round(mem_before, 1),
        "rss_after_load_mb": round(mem_loaded, 1),
    }
    print(f"messages            {result['messages']} (mean {result['mean_chars']} chars)")
    print(f"model load          {result['model_load_s']:.2f} s  (model {result['model_version']})")
    print(f"jieba.lcut          {result['jieba_lcut_per_s']:.0f} msg/s")
    print(f"classify path       {result['classify_per_s']:.0f} msg/s")
    print(f"ratio               {result['ratio_classify_to_jieba']:.2f} (target >= 0.5)")
    print(f"ratio in CPU time   {result['cpu_ratio_classify_to_jieba']:.2f} (jieba {jieba_cpu / len(texts) * 1e6:.0f} us, "
          f"classify {classify_cpu / len(texts) * 1e6:.0f} us per message)")
    print(f"peak memory         {result['peak_rss_mb']:.0f} MB (before model {result['rss_before_model_mb']:.0f} MB)")
    if args.stages:
        result["stages_us"] = _stages(analyser, texts)
        print("stages (us per message, each stage run alone over all texts, so caches are warmer than in the path):")
        for name, us in result["stages_us"].items():
            print(f"  {name:18s}{us:7.1f}")
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / ("bench_classify_real.json" if args.real else "bench_classify.json")).write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
