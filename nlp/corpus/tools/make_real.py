"""Build nlp/corpus/real.jsonl: the hand-labelled real board messages joined with their text.

The labels (nlp/corpus/real/labels-*.jsonl, see real_labels.py and the rules R1-R20 in
nlp/corpus/README.md) hold only ids; the text comes from the data folder
(``../shared/data/teddy-cup-2020`` relative to the repository root, or the first argument).

Text = 留言主题 + "。" + the whole 留言详情, with the organisers' anonymised names (A市, A3区,
A000123) replaced as in make_teddy_cup.py, so "A市" cannot become a signal.

The dev split is by cluster: the board repeats posts (one writer posting the same letter again,
neighbours copying a letter), so near duplicates (same subject, or 5-gram Jaccard >= 0.5 of the
texts) are one cluster and go to the same side. A cluster is dev when the hash of its smallest id
falls in DEV_PERCENT; the choice is written into each line (``"split"``) so it can be read, and
training never sees a dev line.

Usage: python nlp/corpus/tools/make_real.py [DATA_DIR] > nlp/corpus/real.jsonl
"""
from __future__ import annotations

import hashlib
import json
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_teddy_cup import clean  # noqa: E402
from real_labels import DEFAULT_DATA, ROOT, load_messages  # noqa: E402

LABELS = ROOT / "nlp" / "corpus" / "real"
DEV_PERCENT = 25  # of clusters; the real split needs >= 400 messages out of ~2,200
JACCARD = 0.5
SHINGLE = 5
COMMON = 40  # a 5-gram in more texts than this is boilerplate, not evidence of a repeat


def read_labels(folder: Path = LABELS) -> dict[str, dict]:
    """Every label of labels-*.jsonl by message id (later files win on a repeated id)."""
    out: dict[str, dict] = {}
    for path in sorted(folder.glob("labels-*.jsonl")):
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    obj = json.loads(line)
                    out[obj["id"]] = obj
    return out


def _shingles(text: str) -> set[str]:
    return {text[i:i + SHINGLE] for i in range(max(1, len(text) - SHINGLE + 1))}


def clusters(texts: dict[str, tuple[str, str]]) -> dict[str, str]:
    """Message id -> cluster key (the smallest id of its near-duplicate cluster).

    `texts`: id -> (subject, text). Candidate pairs come from an inverted index of rare 5-grams,
    so the cost grows with the number of real repeats, not with the square of the messages.
    """
    parent = {i: i for i in texts}

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(a, b):
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    by_subject: dict[str, list[str]] = defaultdict(list)
    for i, (subject, _) in texts.items():
        if len(subject) >= 6:
            by_subject[subject].append(i)
    for ids in by_subject.values():
        for other in ids[1:]:
            union(ids[0], other)
    sh = {i: _shingles(t) for i, (_, t) in texts.items()}
    index: dict[str, list[str]] = defaultdict(list)
    for i, s in sh.items():
        for g in s:
            index[g].append(i)
    seen: set[tuple[str, str]] = set()
    for i, s in sh.items():
        shared: dict[str, int] = defaultdict(int)
        for g in s:
            ids = index[g]
            if len(ids) <= COMMON:
                for j in ids:
                    if j > i:
                        shared[j] += 1
        for j, n in shared.items():
            if (i, j) in seen:
                continue
            seen.add((i, j))
            if n / len(s | sh[j]) >= JACCARD or n / max(1, min(len(s), len(sh[j]))) >= 0.8:
                union(i, j)
    return {i: find(i) for i in texts}


def is_dev_cluster(key: str, percent: int = DEV_PERCENT) -> bool:
    """True when a cluster (by its key) belongs to the real dev split."""
    h = int.from_bytes(hashlib.sha1(("real:" + key).encode("utf-8")).digest()[:4], "big")
    return h % 100 < percent


def build(data: Path = DEFAULT_DATA, labels_dir: Path = LABELS) -> list[dict]:
    """The corpus lines of every labelled message, in id order."""
    msgs = load_messages(data)
    labels = read_labels(labels_dir)
    missing = sorted(i for i in labels if i not in msgs)
    if missing:
        raise SystemExit(f"make_real: {len(missing)} labelled ids are not in {data}: {missing[:5]}")
    texts = {}
    for i in labels:
        m = msgs[i]
        subject, detail = clean(m["subject"]), clean(m["detail"])
        texts[i] = (subject, subject + "。" + detail if subject else detail)
    cl = clusters(texts)
    out = []
    for i in sorted(labels):
        lab = labels[i]
        code = lab.get("code")
        out.append({
            "text": texts[i][1], "code": code, "out_of_scope": code is None,
            "agency": lab.get("agency") if code is None else None,
            "emergency": bool(lab.get("emergency")), "style": "letter", "street": None,
            "group": "real-" + cl[i], "split": "dev" if is_dev_cluster(cl[i]) else "train",
            "candidates": lab.get("candidates") or [], "unsure": bool(lab.get("unsure")), "id": i,
        })
    return out


def main(argv: list[str]) -> None:
    """Print the JSON lines."""
    data = Path(argv[0]) if argv else DEFAULT_DATA
    for line in build(data):
        print(json.dumps(line, ensure_ascii=False))


if __name__ == "__main__":
    main(sys.argv[1:])
