"""Measuring the analyser on the dev split (never trained on).

`evaluate(analyser, dev, pools)` runs every dev example through the full `ReportAnalyser`
(normalisation, model, emergency rules, place finder) and returns an `EvalReport`: matter top-1
and major-class accuracy, out-of-scope precision/recall/F1, emergency recall/precision, street
accuracy where the text names one, expected calibration error, coverage and accuracy at the
review threshold, accuracy under 10 % and 20 % simulated homophone noise, per-class
precision/recall/F1 with macro-F1, and the most confused pairs. `render_html` turns it into a page.
"""
from __future__ import annotations

import html
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from nlp.augment import homophone_noise
from nlp.dataset import OUT_OF_SCOPE, Example

__all__ = ["EvalReport", "evaluate", "render_html", "summary_lines", "split_dev", "side_by_side_lines", "render_html_sides"]


@dataclass
class EvalReport:
    """All dev-split numbers. Fractions in [0, 1]; None when there was nothing to measure."""

    n: int = 0
    n_matter: int = 0
    accuracy_confusable_ok: float | None = None  # counting a swap inside a confusable group as right
    matter_accuracy: float | None = None
    any_named_accuracy: float | None = None      # the proposal is the main matter or one the letter also raises
    major_accuracy: float | None = None
    oos_precision: float | None = None
    oos_recall: float | None = None
    oos_f1: float | None = None
    emergency_recall: float | None = None
    emergency_precision: float | None = None
    emergency_recall_model: float | None = None  # the trained model alone, without the cue rules
    n_emergency: int = 0
    street_accuracy: float | None = None
    n_street: int = 0
    ece: float | None = None
    threshold: float = 0.5
    coverage: float | None = None
    accuracy_covered: float | None = None
    noise_accuracy: dict = field(default_factory=dict)   # rate -> matter accuracy
    macro_f1: float | None = None
    by_source: dict = field(default_factory=dict)        # corpus file -> (matter accuracy, n)
    per_class: dict = field(default_factory=dict)        # label -> (precision, recall, f1, support)
    confused: list = field(default_factory=list)         # ((true, predicted), count)
    major_confusion: dict = field(default_factory=dict)  # (true major, predicted major) -> count
    calibration_bins: list = field(default_factory=list) # (mean confidence, accuracy, count)
    coverage_curve: list = field(default_factory=list)   # (threshold, coverage, accuracy of covered)
    errors: list = field(default_factory=list)           # a sample of (text, true, predicted)
    model_version: str = ""

    def as_dict(self) -> dict:
        """The headline numbers as a JSON-ready dict."""
        keys = ("n", "n_matter", "matter_accuracy", "any_named_accuracy", "accuracy_confusable_ok", "major_accuracy", "oos_precision", "oos_recall", "oos_f1",
                "emergency_recall", "emergency_precision", "emergency_recall_model", "n_emergency", "street_accuracy", "n_street", "ece",
                "threshold", "coverage", "accuracy_covered", "macro_f1", "model_version")
        d = {k: getattr(self, k) for k in keys}
        d["noise_accuracy"] = {str(k): v for k, v in self.noise_accuracy.items()}
        d["by_source"] = {k: {"accuracy": a, "n": n} for k, (a, n) in self.by_source.items()}
        return d


def _ratio(a: float, b: float) -> float | None:
    return a / b if b else None


def _predicted_label(analysis) -> str:
    c = analysis.classification
    return OUT_OF_SCOPE if c.out_of_scope else (c.code or OUT_OF_SCOPE)


def evaluate(analyser, dev: list[Example], pools: dict | None = None, noise_rates=(0.1, 0.2), seed: int = 7) -> EvalReport:
    """Run the dev split through `analyser` and compute every metric."""
    r = EvalReport(n=len(dev), threshold=analyser.review_threshold, model_version=analyser.model_version)
    if not dev:
        return r
    y_true, y_pred, confs = [], [], []
    em_tp = em_fn = em_fp = em_model = 0
    st_ok = st_n = 0
    covered = covered_ok = 0
    for ex in dev:
        a = analyser.analyse(ex.text)
        pred = _predicted_label(a)
        c = a.classification
        y_true.append(ex.label)
        y_pred.append(pred)
        confs.append(c.confidence)
        if ex.emergency:
            em_model += any(r.startswith("model p=") for r in c.emergency_reasons)
            em_tp += c.emergency
            em_fn += not c.emergency
        elif c.emergency:
            em_fp += 1
        if ex.street:
            st_n += 1
            st_ok += a.location.street == ex.street
        if not c.abstain:
            covered += 1
            covered_ok += pred == ex.label
        if pred != ex.label and len(r.errors) < 200:
            r.errors.append((ex.text, ex.label, pred))
    matter = [(t, p) for t, p in zip(y_true, y_pred) if t != OUT_OF_SCOPE]
    src: dict[str, list] = defaultdict(lambda: [0, 0])
    for ex, t, p in zip(dev, y_true, y_pred):
        if t != OUT_OF_SCOPE:
            key = "written/" if ex.source.startswith("written/") else (ex.source or "?")
            src[key][0] += t == p
            src[key][1] += 1
    r.by_source = {k: (ok / n, n) for k, (ok, n) in sorted(src.items())}
    r.n_matter = len(matter)
    r.matter_accuracy = _ratio(sum(t == p for t, p in matter), len(matter))
    r.major_accuracy = _ratio(sum(t[:2] == p[:2] for t, p in matter), len(matter))
    named = [p == ex.label or p in ex.candidates for ex, p in zip(dev, y_pred) if ex.label != OUT_OF_SCOPE]
    r.any_named_accuracy = _ratio(sum(named), len(named))
    tax = getattr(analyser, "taxonomy", None)
    if tax is not None and getattr(tax, "confusable", None):
        r.accuracy_confusable_ok = _ratio(sum(t == p or tax.is_confusable(t, p) for t, p in matter), len(matter))
    tp = sum(t == OUT_OF_SCOPE and p == OUT_OF_SCOPE for t, p in zip(y_true, y_pred))
    fp = sum(t != OUT_OF_SCOPE and p == OUT_OF_SCOPE for t, p in zip(y_true, y_pred))
    fn = sum(t == OUT_OF_SCOPE and p != OUT_OF_SCOPE for t, p in zip(y_true, y_pred))
    r.oos_precision, r.oos_recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    if r.oos_precision is not None and r.oos_recall is not None and (r.oos_precision + r.oos_recall):
        r.oos_f1 = 2 * r.oos_precision * r.oos_recall / (r.oos_precision + r.oos_recall)
    r.n_emergency = em_tp + em_fn
    r.emergency_recall = _ratio(em_tp, em_tp + em_fn)
    r.emergency_precision = _ratio(em_tp, em_tp + em_fp)
    r.emergency_recall_model = _ratio(em_model, em_tp + em_fn)
    r.n_street = st_n
    r.street_accuracy = _ratio(st_ok, st_n)
    r.coverage = covered / len(dev)
    r.accuracy_covered = _ratio(covered_ok, covered)

    # Expected calibration error of the top-1 confidence, 10 equal-width bins.
    bins: dict[int, list] = defaultdict(list)
    for conf, t, p in zip(confs, y_true, y_pred):
        bins[min(9, int(conf * 10))].append((conf, t == p))
    ece = 0.0
    for b in sorted(bins):
        items = bins[b]
        mc = sum(c for c, _ in items) / len(items)
        acc = sum(ok for _, ok in items) / len(items)
        ece += len(items) / len(dev) * abs(mc - acc)
        r.calibration_bins.append((mc, acc, len(items)))
    r.ece = ece
    for th in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95):
        kept = [t == p for conf, t, p in zip(confs, y_true, y_pred) if conf >= th]
        r.coverage_curve.append((th, len(kept) / len(dev), sum(kept) / len(kept) if kept else None))

    labels = sorted(set(y_true) | set(y_pred))
    f1s = []
    for l in labels:
        tp_ = sum(t == l and p == l for t, p in zip(y_true, y_pred))
        sup = sum(t == l for t in y_true)
        npred = sum(p == l for p in y_pred)
        prec = tp_ / npred if npred else 0.0
        rec = tp_ / sup if sup else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        r.per_class[l] = (prec, rec, f1, sup)
        if sup:
            f1s.append(f1)
    r.macro_f1 = sum(f1s) / len(f1s) if f1s else None
    r.confused = Counter((t, p) for t, p in zip(y_true, y_pred) if t != p).most_common(20)
    r.major_confusion = Counter(
        (t[:2] if t != OUT_OF_SCOPE else "OUT", p[:2] if p != OUT_OF_SCOPE else "OUT") for t, p in zip(y_true, y_pred))

    if pools:
        in_scope = [ex for ex in dev if ex.label != OUT_OF_SCOPE]
        for rate in noise_rates:
            rng = random.Random(seed)
            ok = 0
            for ex in in_scope:
                noisy = homophone_noise(ex.text, rate, pools, rng)
                ok += _predicted_label(analyser.analyse(noisy)) == ex.label
            r.noise_accuracy[rate] = _ratio(ok, len(in_scope))
    return r


def _pct(x) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def summary_lines(r: EvalReport) -> list[str]:
    """The headline numbers, one per line, for the terminal."""
    lines = [
        f"dev examples {r.n} (matters {r.n_matter}), model {r.model_version}",
        f"matter top-1 accuracy   {_pct(r.matter_accuracy)}   major class {_pct(r.major_accuracy)}   macro-F1 {_pct(r.macro_f1)}",
        f"  the main matter or one the letter also raises: {_pct(r.any_named_accuracy)}",
        "  by corpus file: " + ", ".join(f"{k} {_pct(a)} (n={n})" for k, (a, n) in r.by_source.items()),
        f"  counting swaps inside a confusable group (config/confusable.yaml) as right: {_pct(r.accuracy_confusable_ok)}",
        f"out of scope            P {_pct(r.oos_precision)}  R {_pct(r.oos_recall)}  F1 {_pct(r.oos_f1)}",
        f"emergency               recall {_pct(r.emergency_recall)} (n={r.n_emergency})  precision {_pct(r.emergency_precision)}"
        f"  (model alone: recall {_pct(r.emergency_recall_model)})",
        f"street                  {_pct(r.street_accuracy)} (n={r.n_street})",
        f"calibration             ECE {r.ece:.3f}   coverage at {r.threshold:.2f}: {_pct(r.coverage)}, accuracy there {_pct(r.accuracy_covered)}"
        if r.ece is not None else "calibration n/a",
    ]
    for rate, acc in sorted(r.noise_accuracy.items()):
        rel = acc / r.matter_accuracy if acc is not None and r.matter_accuracy else None
        lines.append(f"homophone noise {int(rate * 100):>2d}%     accuracy {_pct(acc)} ({_pct(rel)} of clean)")
    return lines


def split_dev(dev: list[Example]) -> dict[str, list[Example]]:
    """The dev split in two: text written on this project, and real citizens' letters.

    Real numbers and written numbers are reported side by side, never pooled: the written text is
    flattering (a model trained on it halved on real letters).
    """
    return {"written": [e for e in dev if not e.real], "real": [e for e in dev if e.real]}


_SIDE_ROWS = (
    ("examples (matters)", lambda r: f"{r.n} ({r.n_matter})"),
    ("matter top-1", lambda r: _pct(r.matter_accuracy)),
    ("  main or a named matter", lambda r: _pct(r.any_named_accuracy)),
    ("major class", lambda r: _pct(r.major_accuracy)),
    ("macro-F1", lambda r: _pct(r.macro_f1)),
    ("out of scope P", lambda r: _pct(r.oos_precision)),
    ("out of scope R", lambda r: _pct(r.oos_recall)),
    ("out of scope F1", lambda r: _pct(r.oos_f1)),
    ("emergency recall (n)", lambda r: f"{_pct(r.emergency_recall)} ({r.n_emergency})"),
    ("emergency precision", lambda r: _pct(r.emergency_precision)),
    ("calibration ECE", lambda r: "n/a" if r.ece is None else f"{r.ece:.3f}"),
    ("coverage at threshold", lambda r: _pct(r.coverage)),
    ("accuracy of covered", lambda r: _pct(r.accuracy_covered)),
)


def side_by_side_lines(reports: dict[str, EvalReport]) -> list[str]:
    """A table of the headline numbers, one column per dev split (e.g. written | real)."""
    names = list(reports)
    width = max(len(l) for l, _ in _SIDE_ROWS) + 2
    lines = [" " * width + "".join(f"{n + ' dev':>16}" for n in names)]
    for label, get in _SIDE_ROWS:
        lines.append(f"{label:<{width}}" + "".join(f"{(get(reports[n]) if reports[n].n else '-'):>16}" for n in names))
    return lines


def render_html_sides(reports: dict[str, EvalReport], taxonomy=None, charts: dict[str, str] | None = None) -> str:
    """One page: the side-by-side table, then the full report of each split under its heading."""
    esc = html.escape
    charts = charts or {}
    version = next(iter(reports.values())).model_version if reports else ""
    out = ["<!doctype html><meta charset='utf-8'><title>hotline classifier evaluation</title>",
           f"<h1>Classifier evaluation, model {esc(version)}</h1>",
           "<p>The <b>real</b> dev split is citizens' letters from a city's message board, labelled by hand "
           "and split by near-duplicate cluster; the <b>written</b> dev split is text written on this project. "
           "Never trained on either.</p><pre>", esc("\n".join(side_by_side_lines(reports))), "</pre>"]
    for name, r in reports.items():
        if not r.n:
            continue
        body = render_html(r, taxonomy, charts.get(name))
        body = body.split("</h1>", 1)[1] if "</h1>" in body else body
        out.append(f"<h1 id='{esc(name)}'>{esc(name)} dev split</h1>{body}")
    return "\n".join(out)


def render_html(r: EvalReport, taxonomy=None, chart_png: str | None = None) -> str:
    """A self-contained HTML page with every metric (the chart is referenced by file name)."""
    def name(code):
        """A label with its matter name, for people."""
        if code == OUT_OF_SCOPE:
            return "OUT (out of scope)"
        if taxonomy is not None and code in taxonomy.matters:
            return f"{code} {taxonomy.matters[code].name}"
        return code
    esc = html.escape
    out = ["<!doctype html><meta charset='utf-8'><title>hotline classifier evaluation</title>",
           "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
           "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}td.l,th.l{text-align:left}</style>",
           f"<h1>Classifier evaluation, model {esc(r.model_version)}</h1><pre>",
           esc("\n".join(summary_lines(r))), "</pre>"]
    if chart_png:
        out.append(f"<h2>Confusion between major classes</h2><img src='{esc(chart_png)}' alt='confusion chart'>")
    out.append("<h2>Calibration</h2><table><tr><th>mean confidence</th><th>accuracy</th><th>n</th></tr>")
    for mc, acc, n in r.calibration_bins:
        out.append(f"<tr><td>{mc:.2f}</td><td>{acc:.2f}</td><td>{n}</td></tr>")
    out.append("</table><h2>Coverage and accuracy by review threshold</h2><table><tr><th>threshold</th>"
               "<th>coverage (not sent to review)</th><th>accuracy of those</th></tr>")
    for th, cov, acc in r.coverage_curve:
        mark = " (configured)" if abs(th - r.threshold) < 1e-9 else ""
        out.append(f"<tr><td>{th:.2f}{mark}</td><td>{_pct(cov)}</td><td>{_pct(acc)}</td></tr>")
    out.append("</table><h2>Most confused pairs</h2><table><tr><th class=l>true</th><th class=l>predicted</th><th>n</th></tr>")
    for (t, p), n in r.confused:
        out.append(f"<tr><td class=l>{esc(name(t))}</td><td class=l>{esc(name(p))}</td><td>{n}</td></tr>")
    out.append("</table><h2>Per class</h2><table><tr><th class=l>label</th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr>")
    for l, (p, rc, f1, sup) in sorted(r.per_class.items()):
        out.append(f"<tr><td class=l>{esc(name(l))}</td><td>{p:.2f}</td><td>{rc:.2f}</td><td>{f1:.2f}</td><td>{sup}</td></tr>")
    out.append("</table><h2>Some errors</h2><table><tr><th class=l>text</th><th class=l>true</th><th class=l>predicted</th></tr>")
    for text, t, p in r.errors[:60]:
        out.append(f"<tr><td class=l>{esc(text[:120])}</td><td class=l>{esc(name(t))}</td><td class=l>{esc(name(p))}</td></tr>")
    out.append("</table>")
    return "\n".join(out)
