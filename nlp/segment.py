"""Word segmentation with a private jieba tokenizer and the domain's dictionary.

The global `jieba` tokenizer is shared by everything in the process; changing it would change
other people's results. `Segmenter` owns its own `jieba.Tokenizer`, adds the domain words
(nlp/data/domain_words.txt, the taxonomy's names, the gazetteer's names and aliases) so that
井盖, 占道经营, 薛冶路 and 常州北站 come out as single tokens, and is read-only after `__init__`,
so concurrent `cut` calls from a thread pool are safe.
"""
from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Iterable

__all__ = ["Segmenter", "read_word_list", "read_pairs", "DATA_DIR", "domain_vocabulary"]

DATA_DIR = Path(__file__).resolve().parent / "data"

# Suffixes of taxonomy names that citizens never say (供水井盖异常 -> 供水井盖).
_NAME_NOISE = re.compile(r"异常|[（(][^）)]*[）)]|SOS")


def read_word_list(path: Path) -> list[str]:
    """Non-empty, non-comment lines of a UTF-8 word list."""
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                out.append(line)
    return out


def read_pairs(path: Path) -> dict[str, str]:
    """Tab-separated `wrong<TAB>right` pairs of a UTF-8 table."""
    out = {}
    for line in read_word_list(path):
        parts = line.split("\t")
        if len(parts) == 2:
            out[parts[0].strip()] = parts[1].strip()
    return out


def domain_vocabulary(taxonomy=None, places: Iterable = ()) -> list[str]:
    """Domain words: the word list, taxonomy names without 异常/brackets, place names and aliases."""
    words = list(read_word_list(DATA_DIR / "domain_words.txt"))
    if taxonomy is not None:
        for entries in (taxonomy.matters, taxonomy.components):
            for e in entries.values():
                name = _NAME_NOISE.sub("", e.name).strip()
                for part in re.split(r"[、，,或及]", name):
                    if len(part) >= 2:
                        words.append(part)
    for p in places:
        words.append(p.name)
        words.extend(a for a in p.aliases if len(a) >= 2)
    seen, out = set(), []
    for w in words:
        if w not in seen:
            seen.add(w)
            out.append(w)
    return out


class Segmenter:
    """A private jieba tokenizer that knows the domain's words. Thread-safe after construction."""

    _init_lock = threading.Lock()

    def __init__(self, words: Iterable[str] = (), hmm: bool = True):
        import jieba  # heavy: imported only when a segmenter is built

        self._hmm = hmm
        self._tk = jieba.Tokenizer()
        with self._init_lock:
            # Initialising reads (or builds) jieba's cache file; serialise it between instances.
            self._tk.initialize()
        for w in words:
            w = w.strip()
            if w and " " not in w:
                # A fixed high count keeps domain words whole without the cost of suggest_freq.
                self._tk.add_word(w, freq=3000)
        self.words = frozenset(words)

    @property
    def known_words(self) -> dict:
        """The tokenizer's frequency table (word -> count; prefixes map to 0)."""
        return self._tk.FREQ

    def cut(self, text: str) -> list[str]:
        """Tokens of `text`, spaces dropped."""
        return [t for t in self._tk.lcut(text, HMM=self._hmm) if t.strip()]
