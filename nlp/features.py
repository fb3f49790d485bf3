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
L2 norm). Training uses the named features; inference (`Vocabulary.vector_of_prepared`) computes
the same vector straight from the prepared text, without building ~140 names per text. The two
must agree bit for bit: tests/nlp/test_fast_paths.py compares them on ordinary, odd and random
texts.
"""
from __future__ import annotations

import math
import re
import sys
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
FEATURE_REVISION = 7

_NUM_RE = re.compile(r"^[0-9]+[a-z]?$")
_CJK_RE = re.compile(r"[\u4e00-\u9fff]")
# Particles, pronouns, fillers and the copula: as single characters they say nothing about the
# matter, yet with the character block's weight they pulled reports towards whichever codes
# happened to use them most (有/内 made a 110 note about a gas smell look like 06017). They stay
# in the words, bigrams and pinyin. Dropping them: dev top-1 91.9 -> 92.3 %, major class 94.7 -> 94.9 %.
_FUNCTION_CHARS = frozenset("的了是在有和也就都还又很我你他她它这那个把被给让吗吧呢啊哦嗯喂们")
_CHAR_LIMIT = 0xA000  # u| features exist for U+4E00..U+9FFF only
_NO_KEY = np.iinfo(np.int64).max  # sentinel closing every sorted key table
_SOUND_OFFSET = 1 << 42  # p| keys come after all c| keys (two code points < 2**21 each)
_TF_TABLE_SIZE = 4096  # counts below this get their sublinear weight from a table


def _sorted_table(pairs) -> tuple[np.ndarray, np.ndarray]:
    """(keys, columns) sorted by key, closed by a sentinel key so a search never runs off the end."""
    pairs = sorted(pairs)
    keys = np.array([k for k, _ in pairs] + [_NO_KEY], dtype=np.int64)
    cols = np.array([c for _, c in pairs] + [-1], dtype=np.int32)  # int32: half the cache footprint
    return keys, cols


def _lookup(keys: np.ndarray, cols: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Column of each wanted key in a `_sorted_table`, -1 where it has none."""
    pos = keys.searchsorted(wanted)
    # take() rather than keys[pos]: same elements, less per-call overhead on small arrays.
    return np.where(keys.take(pos) == wanted, cols.take(pos), -1)


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
        feats += ["u|" + ch for ch in seg if "\u4e00" <= ch <= "\u9fff" and ch not in _FUNCTION_CHARS]
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
        # 1 + log(tf) for tf < _TF_TABLE_SIZE, computed by the very expression `vector_of_list`
        # uses (same float32 log, same addition), so a lookup gives the same bits (entry 0 is
        # never read: counts start at 1). Why: one take() instead of astype + log + add.
        counts = np.arange(_TF_TABLE_SIZE, dtype=np.int64)
        counts[0] = 1
        self._sublinear = 1.0 + np.log(counts.astype(np.float32))
        self._build_block_lookups()

    def _build_block_lookups(self) -> None:
        """Compact lookup tables for `vector_of_prepared`, one per feature block.

        Why: the named-feature path builds ~140 strings per text ("u|" + ch, "c|" + bigram,
        "p|" + a + "_" + b) and looks each up in a 40,000-entry dict; right after segmentation
        has walked jieba's dictionary those lookups mostly miss the CPU caches. Here characters
        and character pairs are looked up by code point in small sorted numpy arrays instead.
        Only names that `feature_list` can actually produce go in, so a hit means exactly "this
        feature"; a vocabulary with unexpected names falls back to the named path.
        """
        words: dict[str, int] = {}
        chars, bigrams, sounds = [], [], []
        syllable_ids: dict[str, int] = {}
        fast = True
        for name, col in self.index.items():
            block, key = name[:2], name[2:]
            if block == "w|":
                # Numeric tokens are folded to w|<num> (handled apart); a literal "w|12" is unreachable.
                if not _NUM_RE.match(key):
                    words[key] = col
            elif block == "u|":
                if len(key) == 1 and "\u4e00" <= key <= "\u9fff" and key not in _FUNCTION_CHARS:
                    chars.append((ord(key), col))
            elif block == "c|":
                # Bigrams never span a space (segments are split on it): keys with one cannot match.
                if len(key) == 2 and " " not in key:
                    bigrams.append(((ord(key[0]) << 21) | ord(key[1]), col))
            elif block == "p|":
                parts = key.split("_")
                if len(parts) != 2:
                    fast = False  # "a_b_c" could come from two different pairs: use names
                    continue
                ia = syllable_ids.setdefault(sys.intern(parts[0]), len(syllable_ids))
                ib = syllable_ids.setdefault(sys.intern(parts[1]), len(syllable_ids))
                sounds.append((ia, ib, col))
        self._fast = fast
        # A miss (-1) and a sentinel above every column: see the end of `vector_of_prepared`.
        self._end_markers = np.array([-1, len(self.index)], dtype=np.int64)
        self._words = words
        self._num_col = self.index.get("w|<num>")
        # Code point -> column of its u| feature (-1: none); everything past U+9FFF maps to the
        # last slot, which is -1 (only U+4E00..U+9FFF have u| features).
        self._char_cols = np.full(_CHAR_LIMIT + 1, -1, dtype=np.int32)  # int32: half the cache footprint
        for cp, col in chars:
            self._char_cols[cp] = col
        # Syllable pairs as numbers a * base + b. Id `len(syllable_ids)` stands for "no pair
        # here" (a syllable the vocabulary never pairs, or a space): with base one larger than
        # that id, a pair containing it can never equal a key made of two real ids.
        self._syllable_ids = syllable_ids
        self._no_syllable = len(syllable_ids)
        self._syllable_base = len(syllable_ids) + 1
        # Bigram keys are below 2**42 (code points < 2**21); pair keys are offset past them, so
        # both blocks are looked up in one sorted table.
        self._pair_keys, self._pair_cols = _sorted_table(
            bigrams + [(_SOUND_OFFSET + a * self._syllable_base + b, col) for a, b, col in sounds])

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

    def vector_of_prepared(self, p: Prepared) -> tuple[np.ndarray, np.ndarray]:
        """The same vector as `vector_of_list(feature_list(p))`, computed without feature names.

        This is the inference hot path. It must stay equal, bit for bit, to the named-feature path
        that training uses; tests/nlp/test_fast_paths.py checks that on varied texts.
        """
        if not self._fast:
            return self.vector_of_list(feature_list(p))
        text, tokens = p.text, p.tokens
        n = len(text)
        # w|: one dict lookup per token; a miss may be a number, folded into w|<num>.
        ids = list(map(self._words.get, tokens, repeat(-1)))
        num_col = self._num_col
        if num_col is not None:
            for i, col in enumerate(ids):
                if col < 0 and _NUM_RE.match(tokens[i]):
                    ids[i] = num_col
        parts = [np.array(ids, dtype=np.int64)]
        if n:
            cp = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
            # u|: every CJK character (others, spaces included, map to -1). mode="clip" sends code
            # points past the table to its last slot, -1 (what np.minimum did, one call fewer).
            parts.append(self._char_cols.take(cp, mode="clip"))
        if n > 1:
            # c|: every pair of neighbouring characters; a pair across a space is in no key.
            # p|: pairs of neighbouring syllables inside a space-separated segment: a space's
            # position gets the "no pair" id, as does a syllable the vocabulary never pairs.
            sy = p.syllables if len(p.syllables) == n else syllables(text)
            sid = np.fromiter(map(self._syllable_ids.get, sy, repeat(self._no_syllable)), dtype=np.int64, count=n)
            sid[cp == 32] = self._no_syllable
            wanted = np.concatenate(((cp[:-1] << 21) | cp[1:], sid[:-1] * self._syllable_base + (sid[1:] + _SOUND_OFFSET)))
            parts.append(_lookup(self._pair_keys, self._pair_cols, wanted))
        # The markers: one miss, so that the sorted columns always start with a run of -1, and
        # a sentinel above every column, which closes the last run of real columns.
        parts.append(self._end_markers)
        all_cols = np.concatenate(parts)
        all_cols.sort()
        # Distinct columns (ascending, as np.unique gives them, so that the dot products below
        # add their terms in the very same order as the training-side code) and their counts:
        # `last` holds the index of the last element of each run of equal values, the run of
        # misses first. Why the leading miss: every column run then has a run before it, and
        # its count is a plain difference (fewer numpy calls than slicing the misses off).
        last = (all_cols[1:] != all_cols[:-1]).nonzero()[0]
        if len(last) == 1:  # only the misses and the sentinel
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        ends = last[1:]
        cols_a = all_cols.take(ends)
        tfs = ends - last[:-1]
        if len(all_cols) <= _TF_TABLE_SIZE:  # every count is below the number of features
            vals = self._sublinear.take(tfs) * self.scale.take(cols_a)
        else:
            vals = (1.0 + np.log(tfs.astype(np.float32))) * self.scale.take(cols_a)
        # The float32 square root of the float32 dot product, as np.sqrt gives it: a square root
        # taken in double precision and rounded to single is the correctly rounded single one
        # (53 >= 2 * 24 + 2 bits), and math.sqrt spares a slow numpy scalar call.
        norm = float(np.float32(math.sqrt(float(np.dot(vals, vals)))))
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
