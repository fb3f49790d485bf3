"""Hand-labelling real citizen messages (the 2020 Teddy Cup board) with GB/T 47678.5 matter codes.

The labels live in ``nlp/corpus/real/labels-*.jsonl``: only the message id and the label, never the
message text, which stays in the data folder (``../shared/data/teddy-cup-2020`` relative to the
repository root, or ``--data DIR``) and is joined at training time (``nlp/corpus/tools/make_real.py``).

    real_labels.py sample --out DIR [--chunks 5] [--seed 20261206] [--counts hot=1250,reply=800,lab=150]
    real_labels.py show CHUNK LABELS [--next 15]     # the next unlabelled messages, in full
    real_labels.py add CHUNK LABELS < lines.jsonl     # validate and append labels
    real_labels.py stats LABELS...                    # counts per code, major class, agency

A label line:
    {"id": "hot-188007", "code": "06001" | null, "agency": "planning" | null,
     "emergency": false, "candidates": ["08001"], "unsure": false, "note": "short reason"}
``code`` null means out of scope and then ``agency`` (an id of config/agencies.yaml) is required.
"""
from __future__ import annotations

import argparse
import csv
import json
import random
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "teddy-cup-2020"
SOURCES = {
    "hot": "messages-hot-issues.jsonl",
    "reply": "messages-with-replies.jsonl",
    "lab": "messages-labelled-495.jsonl",
}
_WS = re.compile(r"\s+")


def clean(text: str) -> str:
    """The message text with the board's tabs and newlines collapsed to single spaces."""
    return _WS.sub(" ", text or "").strip()


def load_messages(data: Path) -> dict[str, dict]:
    """Every message of the three files by id (``hot-N``, ``reply-N``, ``lab-N``)."""
    out: dict[str, dict] = {}
    for prefix, name in SOURCES.items():
        with open(data / name, encoding="utf-8") as f:
            for line in f:
                if not line.strip():
                    continue
                m = json.loads(line)
                mid = f"{prefix}-{m['留言编号']}"
                out[mid] = {
                    "id": mid,
                    "subject": clean(m.get("留言主题", "")),
                    "detail": clean(m.get("留言详情", "")),
                    "time": m.get("留言时间", ""),
                    "reply": clean(m.get("答复意见", ""))[:300],
                    "organiser_class": m.get("一级分类", ""),
                }
    return out


def matter_codes() -> dict[str, str]:
    """The 250 matter codes of config/taxonomy.csv with their names."""
    with open(ROOT / "config" / "taxonomy.csv", encoding="utf-8") as f:
        return {r["code"]: r["name"] for r in csv.DictReader(f) if r["kind"] != "component"}


def agency_ids() -> set[str]:
    """The agency ids of config/agencies.yaml."""
    import yaml

    with open(ROOT / "config" / "agencies.yaml", encoding="utf-8") as f:
        return {a["id"] for a in yaml.safe_load(f)["agencies"]}


def cmd_sample(args) -> None:
    """Draw a random sample (distinct texts) and write it in chunks of input lines."""
    msgs = load_messages(args.data)
    counts = dict((k, int(v)) for k, v in (p.split("=") for p in args.counts.split(",")))
    rng = random.Random(args.seed)
    seen_text: set[str] = set()
    picked: list[dict] = []
    for prefix in SOURCES:
        pool = sorted((m for m in msgs.values() if m["id"].startswith(prefix + "-")), key=lambda m: m["id"])
        rng.shuffle(pool)
        n = 0
        for m in pool:
            if n >= counts.get(prefix, 0):
                break
            if m["detail"] in seen_text:
                continue
            seen_text.add(m["detail"])
            picked.append(m)
            n += 1
    rng.shuffle(picked)
    args.out.mkdir(parents=True, exist_ok=True)
    for c in range(args.chunks):
        with open(args.out / f"chunk-{c + 1}.jsonl", "w", encoding="utf-8") as f:
            for m in picked[c :: args.chunks]:
                f.write(json.dumps(m, ensure_ascii=False) + "\n")
    print(f"{len(picked)} messages in {args.chunks} chunks under {args.out}")


def _read_jsonl(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def cmd_show(args) -> None:
    """Print the next unlabelled messages of a chunk, in full."""
    done = {l["id"] for l in _read_jsonl(args.labels)}
    todo = [m for m in _read_jsonl(args.chunk) if m["id"] not in done]
    print(f"# {len(done)} labelled, {len(todo)} to go")
    for m in todo[: args.next]:
        print(f"\n## {m['id']}  {m['time']}  {m['organiser_class']}")
        print(f"主题: {m['subject']}")
        print(f"详情: {m['detail']}")
        if m["reply"]:
            print(f"答复(前300字): {m['reply']}")


def validate(obj, chunk_ids: set[str], codes, agencies) -> list[str]:
    """The problems of one label line (empty when it is good)."""
    errs = []
    if not isinstance(obj, dict):
        return ["not an object"]
    if obj.get("id") not in chunk_ids:
        errs.append(f"id {obj.get('id')!r} is not in this chunk")
    code = obj.get("code")
    if code is None:
        if obj.get("agency") not in agencies:
            errs.append(f"out of scope needs an agency of config/agencies.yaml, got {obj.get('agency')!r}")
    elif code not in codes:
        errs.append(f"unknown matter code {code!r}")
    elif obj.get("agency") is not None:
        errs.append("an in-scope label has no agency")
    for c in obj.get("candidates") or []:
        if c not in codes:
            errs.append(f"unknown candidate code {c!r}")
    for k in ("emergency", "unsure"):
        if not isinstance(obj.get(k, False), bool):
            errs.append(f"{k} must be true or false")
    return errs


def cmd_add(args) -> None:
    """Validate label lines from stdin and append the good ones (a later line replaces an earlier one)."""
    chunk_ids = {m["id"] for m in _read_jsonl(args.chunk)}
    codes, agencies = matter_codes(), agency_ids()
    existing = {l["id"]: l for l in _read_jsonl(args.labels)}
    good, bad = 0, 0
    for n, line in enumerate(sys.stdin, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            print(f"line {n}: bad JSON ({e.msg})")
            bad += 1
            continue
        errs = validate(obj, chunk_ids, codes, agencies)
        if errs:
            print(f"line {n} {obj.get('id') if isinstance(obj, dict) else ''}: " + "; ".join(errs))
            bad += 1
            continue
        obj.setdefault("candidates", [])
        obj.setdefault("emergency", False)
        obj.setdefault("unsure", False)
        existing[obj["id"]] = obj
        good += 1
    tmp = args.labels.with_suffix(".tmp")
    order = [m["id"] for m in _read_jsonl(args.chunk)]
    with open(tmp, "w", encoding="utf-8") as f:
        for mid in order:
            if mid in existing:
                f.write(json.dumps(existing[mid], ensure_ascii=False) + "\n")
    tmp.replace(args.labels)
    print(f"added {good}, refused {bad}; {len(existing)} of {len(order)} labelled")


def cmd_stats(args) -> None:
    """Counts per major class, code and agency over label files."""
    labels = [l for p in args.labels for l in _read_jsonl(p)]
    codes = matter_codes()
    scope = Counter("in" if l["code"] else "out" for l in labels)
    print(f"{len(labels)} labels: {scope['in']} in scope, {scope['out']} out of scope, "
          f"{sum(l.get('emergency', False) for l in labels)} emergencies, {sum(l.get('unsure', False) for l in labels)} unsure")
    print("major:", dict(sorted(Counter(l["code"][:2] for l in labels if l["code"]).items())))
    print("codes:", ", ".join(f"{c} {codes[c]} {n}" for c, n in Counter(l["code"] for l in labels if l["code"]).most_common(40)))
    print("agencies:", dict(Counter(l["agency"] for l in labels if not l["code"]).most_common()))


def main(argv=None) -> None:
    """Command line."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the teddy-cup-2020 folder")
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("sample")
    s.add_argument("--out", type=Path, required=True)
    s.add_argument("--chunks", type=int, default=5)
    s.add_argument("--seed", type=int, default=20261206)
    s.add_argument("--counts", default="hot=1250,reply=800,lab=150")
    s = sub.add_parser("show")
    s.add_argument("chunk", type=Path)
    s.add_argument("labels", type=Path)
    s.add_argument("--next", type=int, default=15)
    s = sub.add_parser("add")
    s.add_argument("chunk", type=Path)
    s.add_argument("labels", type=Path)
    s = sub.add_parser("stats")
    s.add_argument("labels", type=Path, nargs="+")
    args = p.parse_args(argv)
    {"sample": cmd_sample, "show": cmd_show, "add": cmd_add, "stats": cmd_stats}[args.cmd](args)


if __name__ == "__main__":
    main()
