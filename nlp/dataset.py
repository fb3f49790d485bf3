"""The labelled corpus: reading it, and the deterministic train/dev split.

Files (JSON Lines, UTF-8), all under nlp/corpus/:

- ``written/*.jsonl``: examples per matter code, ``{"text", "code", "style", "street", "emergency"}``;
- ``out_of_scope.jsonl`` and ``teddy_cup.jsonl``: not city management, ``"code": null``,
  ``"out_of_scope": true`` and the ``"agency"`` it belongs to;
- ``emergency.jsonl``: emergencies (``"emergency": true``) with their closest matter code, and
  near misses (``false``).

- ``real.jsonl``: real citizen letters labelled by hand (nlp/corpus/tools/make_real.py), in or
  out of scope, with ``"split"`` set by near-duplicate cluster and ``"candidates"`` (the other
  matters a letter raises).

Optional ``"group"`` ties variants of one written report together: the split hashes the group
(else the text), so no variant of a dev report is ever trained on. About 20 % of every label goes
to dev; the assignment depends only on the text, never on file order or the random seed. A line
with ``"split": "dev"`` or ``"train"`` is put there instead (the real letters are split by cluster).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Example", "OUT_OF_SCOPE", "load_corpus", "is_dev", "split", "CorpusError", "corpus_digest", "DEFAULT_CORPUS"]

OUT_OF_SCOPE = "OUT"  # the classifier's label for "not city management"
DEV_PERCENT = 20
DEFAULT_CORPUS = Path(__file__).resolve().parent / "corpus"


class CorpusError(ValueError):
    """A corpus line that cannot be used, with file and line number."""


@dataclass(frozen=True)
class Example:
    """One labelled report. `label` is a matter code or OUT_OF_SCOPE."""

    text: str
    label: str
    style: str = ""
    street: str | None = None
    emergency: bool = False
    agency: str | None = None
    group: str = ""
    source: str = ""
    split: str = ""                   # "dev" / "train" when the line fixes it, else by hash
    candidates: tuple[str, ...] = ()  # other matters the report raises (real letters)

    @property
    def real(self) -> bool:
        """True for a real citizen's message labelled by hand (not text we wrote)."""
        return self.source == "real.jsonl"

    @property
    def out_of_scope(self) -> bool:
        """True when the report is not city management."""
        return self.label == OUT_OF_SCOPE


def is_dev(key: str) -> bool:
    """True for the ~20 % of keys (texts or groups) that belong to the dev split."""
    h = int.from_bytes(hashlib.sha1(key.encode("utf-8")).digest()[:4], "big")
    return h % 100 < DEV_PERCENT


def _parse(obj: dict, where: str, matter_codes) -> Example:
    text = obj.get("text")
    if not isinstance(text, str) or not text.strip():
        raise CorpusError(f"{where}: no text")
    code = obj.get("code")
    oos = bool(obj.get("out_of_scope")) or code is None
    if oos:
        label = OUT_OF_SCOPE
    else:
        if not isinstance(code, str):
            raise CorpusError(f"{where}: code must be a string, got {code!r}")
        if matter_codes is not None and code not in matter_codes:
            raise CorpusError(f"{where}: unknown matter code {code!r}")
        label = code
    street = obj.get("street")
    fixed = obj.get("split") or ""
    if fixed not in ("", "dev", "train"):
        raise CorpusError(f"{where}: split must be dev or train, got {fixed!r}")
    cands = obj.get("candidates") or []
    if not isinstance(cands, list) or not all(isinstance(c, str) for c in cands):
        raise CorpusError(f"{where}: candidates must be a list of matter codes")
    return Example(
        text=text.strip(), label=label, style=str(obj.get("style") or ""),
        street=street if isinstance(street, str) and street else None,
        emergency=bool(obj.get("emergency")), agency=obj.get("agency") if oos else None,
        group=str(obj.get("group") or ""), source=where.split(":")[0], split=fixed,
        candidates=tuple(c for c in cands if matter_codes is None or c in matter_codes),
    )


def load_corpus(root: Path = DEFAULT_CORPUS, matter_codes=None, strict: bool = False) -> tuple[list[Example], list[str]]:
    """All examples under `root` and the problems found (bad lines are skipped unless strict)."""
    root = Path(root)
    files = sorted((root / "written").glob("*.jsonl")) + sorted(p for p in root.glob("*.jsonl"))
    examples: list[Example] = []
    problems: list[str] = []
    seen: set[tuple[str, str]] = set()
    for path in files:
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                line = line.strip()
                if not line:
                    continue
                where = f"{path.relative_to(root)}:{n}"
                try:
                    obj = json.loads(line)
                    if not isinstance(obj, dict):
                        raise CorpusError(f"{where}: not an object")
                    ex = _parse(obj, where, matter_codes)
                except (json.JSONDecodeError, CorpusError) as e:
                    if strict:
                        raise CorpusError(str(e)) from None
                    problems.append(str(e) if isinstance(e, CorpusError) else f"{where}: bad JSON ({e.msg})")
                    continue
                key = (ex.text, ex.label)
                if key in seen:
                    continue  # the same report twice would count twice in both splits
                seen.add(key)
                examples.append(ex)
    return examples, problems


def split(examples: list[Example]) -> tuple[list[Example], list[Example]]:
    """(train, dev): dev is a deterministic ~20 % by hash of group or text."""
    train, dev = [], []
    for ex in examples:
        in_dev = ex.split == "dev" if ex.split else is_dev(ex.group or ex.text)
        (dev if in_dev else train).append(ex)
    return train, dev


def corpus_digest(examples: list[Example]) -> str:
    """A hash of the corpus content (order-independent), part of the model version."""
    h = hashlib.sha256()
    for line in sorted(f"{e.label}\t{int(e.emergency)}\t{e.agency}\t{e.street}\t{e.text}" for e in examples):
        h.update(line.encode("utf-8"))
        h.update(b"\n")
    return h.hexdigest()
