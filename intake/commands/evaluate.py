"""`hotline eval [--model PATH] [--out DIR] [--corpus DIR] [--config DIR]`.

Evaluates the trained model on the dev split of the corpus (never trained on), in two parts side
by side: the **written** dev split (text written on this project) and the **real** dev split
(citizens' letters from a message board, labelled by hand, split by near-duplicate cluster).
Prints the side-by-side table and writes DIR/index.html (for each split: per-class
precision/recall/F1, macro-F1, most confused pairs, calibration, coverage at the review threshold,
accuracy under 10 % and 20 % simulated homophone noise) with DIR/confusion-written.png and
DIR/confusion-real.png (major-class confusion charts) and DIR/metrics.json. Default DIR:
bench/results/eval.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

DEFAULT_OUT = Path(__file__).resolve().parents[2] / "bench" / "results" / "eval"


def add_arguments(p) -> None:
    """--model, --out, --corpus, --config."""
    p.add_argument("--model", metavar="PATH", help="trained model (default: nlp/model/current.pkl)")
    p.add_argument("--out", metavar="DIR", help=f"report folder (default: {DEFAULT_OUT})")
    p.add_argument("--corpus", metavar="DIR", help="corpus folder (default: nlp/corpus)")
    p.add_argument("--config", metavar="DIR", help="configuration folder (default: the bundled config/)")


def confusion_png(report, path: Path, title: str = "dev split") -> bool:
    """Draw the major-class confusion matrix (rows true, columns predicted) as a PNG."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    import numpy as np

    keys = sorted({k for pair in report.major_confusion for k in pair}, key=lambda k: (k == "OUT", k))
    m = np.zeros((len(keys), len(keys)))
    for (t, p), n in report.major_confusion.items():
        m[keys.index(t), keys.index(p)] = n
    rows = m.sum(axis=1, keepdims=True)
    frac = np.divide(m, rows, out=np.zeros_like(m), where=rows > 0)
    fig, ax = plt.subplots(figsize=(7, 6))
    im = ax.imshow(frac, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(keys)), keys)
    ax.set_yticks(range(len(keys)), keys)
    ax.set_xlabel("predicted major class")
    ax.set_ylabel("true major class")
    for i in range(len(keys)):
        for j in range(len(keys)):
            if m[i, j]:
                ax.text(j, i, int(m[i, j]), ha="center", va="center", fontsize=7,
                        color="white" if frac[i, j] > 0.5 else "black")
    fig.colorbar(im, ax=ax, label="share of the true class")
    ax.set_title(f"{title}, model {report.model_version}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def run(args) -> int:
    """Evaluate, print, write the HTML report."""
    import logging

    import jieba
    jieba.setLogLevel(logging.WARNING)
    from intake.commands.classify import load_nlp_setup, resolve_model_path
    from nlp.analyser import ReportAnalyser
    from nlp.classifier import ModelError
    from nlp.dataset import load_corpus, split
    from nlp.evaluation import evaluate, render_html_sides, side_by_side_lines, split_dev
    from nlp.pinyin import homophone_pools

    setup = load_nlp_setup(args.config)
    path = resolve_model_path(args, setup)
    try:
        analyser = ReportAnalyser.load(path, setup.taxonomy, setup.places, setup.agencies, setup.review_threshold)
    except ModelError as e:
        print(f"hotline eval: {e}", file=sys.stderr)
        return 1
    kwargs = {"root": Path(args.corpus)} if args.corpus else {}
    examples, problems = load_corpus(matter_codes=set(setup.taxonomy.matters), **kwargs)
    _, dev = split(examples)
    if not dev:
        print("hotline eval: the corpus has no dev examples", file=sys.stderr)
        return 1
    pools = homophone_pools("".join(e.text for e in examples))
    reports = {name: evaluate(analyser, part, pools) for name, part in split_dev(dev).items()}
    for line in side_by_side_lines(reports):
        print(line)
    for name, report in reports.items():
        if report.n:
            print(f"most confused ({name}):")
            for (t, p), n in report.confused[:8]:
                print(f"  {t} -> {p}: {n}")
    out = Path(args.out) if args.out else DEFAULT_OUT
    out.mkdir(parents=True, exist_ok=True)
    charts = {}
    for name, report in reports.items():
        png = f"confusion-{name}.png"
        if report.n and confusion_png(report, out / png, f"{name} dev split"):
            charts[name] = png
    (out / "index.html").write_text(render_html_sides(reports, setup.taxonomy, charts), encoding="utf-8")
    (out / "metrics.json").write_text(json.dumps({k: r.as_dict() for k, r in reports.items()}, ensure_ascii=False, indent=2),
                                      encoding="utf-8")
    print(f"report: {out / 'index.html'}")
    return 0
