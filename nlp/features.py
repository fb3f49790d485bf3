"""From a report text to the sparse features the classifiers read.

One `TextPipeline` does, in order: `nlp.text.normalise` (fillers, numbers, prefixes), the
homophone corrector (known ASR errors and unknown words that sound like a domain word), the
private jieba segmenter. `feature_counts` then emits named features in five blocks:

- ``w|`` jieba words (numbers folded to ``w|<num>``),
- ``u|`` single characters and ``c|`` character bigrams (robust to segmentation; trigrams were
  no better on the dev split and cost time),
- ``p|`` bigrams of toneless pinyin syllables: a homophone error (警盖 for 井盖) changes the
  characters but not these, so the model still recognises it. (Whole-word pinyin added nothing
  on the dev split and cost time, so it is not used.)

`Vocabulary` turns named features into a TF-IDF vector (sublinear term frequency, block weights,
L2 norm). Training and inference use the very same code, so they cannot drift apart.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from itertools import repeat
from dataclasses import dataclass

import numpy as np

from nlp.pinyin import HomophoneCorrector, syllables
from nlp.segment import DATA_DIR, Segmenter, domain_vocabulary, read_pairs, read_word_list
from nlp.text import normalise

__all__ = ["Prepared", "TextPipeline", "feature_counts", "feature_list", "Vocabulary", "BLOCK_WEIGHTS"]

# Relative weight of each feature block in the vector (before the L2 norm). Single characters
# weigh most: on the writers' dev split (reports worded independently of the training ones) a
# bag of characters generalised best (u 0.4 -> 1.5 with c 1.0 -> 0.7: 79 % -> 85 %). Pinyin is
# below the characters so that, on clean text, the characters decide and pinyin breaks ties.
BLOCK_WEIGHTS = {"w": 1.0, "u": 1.5, "c": 0.7, "p": 0.6, "q": 0.6, "s": 1.0}

# Bump when feature extraction changes: it is part of the model version.
FEATURE_REVISION = 6

_NUM_RE = re.compile(r"^[0-9]+[a-z]?$")
_CJK_RE = re.compile(r"[\u4e00-\u9fff]")


@dataclass(frozen=True)
class Prepared:
    """A text ready for feature extraction: normalised, corrected, segmented."""

    text: str
    tokens: tuple[str, ...]
    signals: tuple[str, ...]
    fixes: tuple[tuple[str, str], ...] = ()
    syllables: tuple[str, ...] = ()  # toneless pinyin of each character of `text` (may be empty)


class TextPipeline:
    """Normalise, correct homophones and segment; shared by training, inference and similarity.

    Read-only after construction, so one instance serves many threads.
    """

    def __init__(self, domain_words=(), place_names=(), hmm: bool = True):
        words = list(domain_words)
        self.domain_words = tuple(words)
        self.segmenter = Segmenter(words, hmm=hmm)
        explicit = read_pairs(DATA_DIR / "homophones.txt")
        # Only matter words (not place names) are auto-corrected: a place name that sounds like
        # another word is handled by the place finder's own pinyin fallback.
        places = set(place_names)
        core = [w for w in words if w not in places]
        self.corrector = HomophoneCorrector(core, self.segmenter.known_words, explicit)
        self.stopwords = frozenset(read_word_list(DATA_DIR / "stopwords.txt"))

    @classmethod
    def for_domain(cls, taxonomy=None, places=(), extra_words=(), hmm: bool = True) -> "TextPipeline":
        """A pipeline whose dictionary holds the taxonomy's and the gazetteer's words."""
        words = list(extra_words) + [w for w in domain_vocabulary(taxonomy, places) if w not in set(extra_words)]
        names = set()
        for p in places:
            names.add(p.name)
            names.update(p.aliases)
        return cls(words, names, hmm=hmm)

    def prepare(self, text: str, channel: str | None = None) -> Prepared:
        """Normalise, correct and segment one text."""
        n = normalise(text, channel)
        corrected, fixes, sy = self.corrector.correct_with_syllables(n.text)
        tokens = tuple(self.segmenter.cut(corrected))
        return Prepared(corrected, tokens, n.signals, fixes, tuple(sy))


def feature_list(p: Prepared, signals: bool = False) -> list[str]:
    """Named features of a prepared text, one entry per occurrence."""
    feats = ["w|<num>" if _NUM_RE.match(t) else "w|" + t for t in p.tokens]
    text = p.text
    sy_all = p.syllables if len(p.syllables) == len(text) else syllables(text)
    start = 0
    for seg in text.split(" "):
        n = len(seg)
        feats += ["u|" + ch for ch in seg if "\u4e00" <= ch <= "\u9fff"]
        feats += ["c|" + seg[i:i + 2] for i in range(n - 1)]
        sy = sy_all[start:start + n]
        feats += ["p|" + a + "_" + b for a, b in zip(sy, sy[1:])]
        start += n + 1
    if signals:
        feats += ["s|" + s for s in p.signals]
    return feats


def feature_counts(p: Prepared, signals: bool = False) -> Counter:
    """Named features of a prepared text with their counts."""
    return Counter(feature_list(p, signals))


class Vocabulary:
    """Feature name -> column, with inverse document frequencies and block weights."""

    def __init__(self, index: dict[str, int], idf: np.ndarray, weights: dict | None = None):
        self.index = dict(index)  # a fresh dict is compact: lookups were ~30 % faster than on the unpickled one
        self.idf = idf.astype(np.float32)
        self.weights = dict(BLOCK_WEIGHTS if weights is None else weights)
        blocks = np.ones(len(index), dtype=np.float32)
        for name, col in index.items():
            blocks[col] = self.weights.get(name[0], 1.0)
        self.scale = self.idf * blocks

    @classmethod
    def fit(cls, docs: list[Counter], min_df: int = 2, max_features: int = 120_000, weights: dict | None = None) -> "Vocabulary":
        """Columns for features seen in at least `min_df` documents (the most frequent first)."""
        df: Counter = Counter()
        for d in docs:
            df.update(d.keys())
        kept = [(n, c) for n, c in df.items() if c >= min_df]
        kept.sort(key=lambda nc: (-nc[1], nc[0]))
        kept = kept[:max_features]
        kept.sort(key=lambda nc: nc[0])  # stable column order, independent of ties
        index = {n: i for i, (n, _) in enumerate(kept)}
        n_docs = len(docs)
        idf = np.array([math.log((1 + n_docs) / (1 + c)) + 1.0 for _, c in kept], dtype=np.float32)
        return cls(index, idf, weights)

    def __len__(self) -> int:
        return len(self.index)

    def vector(self, counts: Counter) -> tuple[np.ndarray, np.ndarray]:
        """Sparse TF-IDF vector of one document as (columns, values), L2-normalised."""
        if not counts:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        # map() over the dict's own get runs in C: much faster than a Python loop here.
        cols_all = np.fromiter(map(self.index.get, counts, repeat(-1, len(counts))), dtype=np.int64, count=len(counts))
        keep = cols_all >= 0
        cols_a = cols_all[keep]
        if not len(cols_a):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        tfs = np.fromiter(counts.values(), dtype=np.float32, count=len(counts))[keep]
        vals = (1.0 + np.log(tfs)) * self.scale[cols_a]
        norm = float(np.sqrt(np.dot(vals, vals)))
        if norm > 0:
            vals /= norm
        return cols_a, vals

    def vector_of_list(self, feats: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """The same vector as `vector(Counter(feats))`, without building the Counter (faster)."""
        if not feats:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        cols_all = np.fromiter(map(self.index.get, feats, repeat(-1, len(feats))), dtype=np.int64, count=len(feats))
        cols_all = cols_all[cols_all >= 0]
        if not len(cols_all):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        cols_a, tfs = np.unique(cols_all, return_counts=True)
        vals = (1.0 + np.log(tfs.astype(np.float32))) * self.scale[cols_a]
        norm = float(np.sqrt(np.dot(vals, vals)))
        if norm > 0:
            vals /= norm
        return cols_a, vals

    def matrix(self, docs: list[Counter]):
        """A CSR matrix of many documents (for training)."""
        from scipy.sparse import csr_matrix

        indptr = [0]
        all_cols, all_vals = [], []
        for d in docs:
            c, v = self.vector(d)
            all_cols.append(c)
            all_vals.append(v)
            indptr.append(indptr[-1] + len(c))
        cols = np.concatenate(all_cols) if all_cols else np.zeros(0, dtype=np.int64)
        vals = np.concatenate(all_vals) if all_vals else np.zeros(0, dtype=np.float32)
        return csr_matrix((vals, cols, np.array(indptr)), shape=(len(docs), len(self.index)), dtype=np.float32)
