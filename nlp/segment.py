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
from math import log
from pathlib import Path
from typing import Iterable

__all__ = ["Segmenter", "read_word_list", "read_pairs", "DATA_DIR", "domain_vocabulary"]

DATA_DIR = Path(__file__).resolve().parent / "data"

# What jieba 0.42 treats as one block of "Chinese" text (its re_han_default), as whitespace (its
# re_skip_default), and the single characters it glues into one token (its re_eng). Copied so that
# `Segmenter.cut` without HMM gives exactly jieba's tokens (tests/nlp/test_fast_paths.py checks).
_RE_HAN = re.compile("([\u4E00-\u9FD5a-zA-Z0-9+#&\\._%\\-]+)", re.U)
_RE_SKIP = re.compile("(\r\n|\\s)", re.U)
_HAN_LIMIT = 0x9FD6  # every character _RE_HAN accepts is below this code point
_ENG_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")

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
        self._char_table = None

    @property
    def known_words(self) -> dict:
        """The tokenizer's frequency table (word -> count; prefixes map to 0)."""
        return self._tk.FREQ

    def cut(self, text: str) -> list[str]:
        """Tokens of `text`, spaces dropped."""
        if self._hmm:
            return [t for t in self._tk.lcut(text, HMM=True) if t.strip()]
        return self._cut_no_hmm(text)

    def _single_char_table(self, logtotal: float) -> list:
        """What jieba's dictionary says of each character below U+9FD6, indexed by code point.

        None: not in the dictionary; False: only a prefix of longer words (count 0); else the
        character's own score log(count) - log(total). Every position of a block starts with
        this lookup: a flat list spares a probe of the 500,000-entry dictionary (usually a
        cache miss) and a log(). Built once per total; the tokenizer is not changed after
        __init__.
        """
        cached = self._char_table
        if cached is None or cached[0] != logtotal:
            freq = self._tk.FREQ
            table = []
            for c in map(chr, range(_HAN_LIMIT)):
                f = freq.get(c)
                table.append(f if f is None else (log(f) - logtotal if f else False))
            cached = self._char_table = (logtotal, table)
        return cached[1]

    def _cut_no_hmm(self, text: str) -> list[str]:
        """`jieba.Tokenizer.lcut(text, HMM=False)` without whitespace tokens, about twice as fast.

        Why not just call jieba: its accurate mode builds a DAG dict, then a route dict with a
        generator and max() per character, through three nested generators, looking each
        fragment up three times. This is the same algorithm (same dictionary, same log
        probabilities added in the same order, same tie-breaking) in one pass per block.
        """
        tk = self._tk
        freq_get = tk.FREQ.get
        logtotal = log(tk.total)
        char_table = self._single_char_table(logtotal)
        out: list[str] = []
        # split() with one group alternates: gap, block, gap, block, ..., gap (gaps may be empty).
        # jieba tells them apart with a second match() per piece; the position says it here.
        for index, piece in enumerate(_RE_HAN.split(text)):
            if index % 2:
                _cut_block(piece, freq_get, char_table, logtotal, out)
            elif piece and not piece.isspace():
                # Outside "Chinese" blocks jieba yields whitespace runs (dropped here, like every
                # whitespace token, hence the isspace() shortcut) and single characters.
                for x in _RE_SKIP.split(piece):
                    if not _RE_SKIP.match(x):
                        out.extend(ch for ch in x if ch.strip())
        return out


def _cut_block(sentence: str, freq_get, char_table: list, logtotal: float, out: list) -> None:
    """Append jieba's HMM-free tokens of one block (jieba's get_DAG + calc + __cut_DAG_NO_HMM).

    Right to left, each position's best path is the best of the dictionary words starting
    there (or the single character when none does), scored log(freq) - log(total) plus the best
    path after the word; on a tie the longer word wins, as max() over (score, end) does in jieba.
    The floats are computed exactly as jieba does ((log(f) - log(total)) + rest), so the same
    path wins even where two paths score almost alike.
    """
    n = len(sentence)
    score = [0.0] * (n + 1)
    end = [0] * (n + 1)
    alone = 0.0 - logtotal  # log(1) - log(total): a character the dictionary has no word for
    # A block holds only characters of _RE_HAN, all below U+9FD6: index the flat list directly.
    firsts = list(map(char_table.__getitem__, map(ord, sentence)))
    for k in range(n - 1, -1, -1):
        own = firsts[k]
        if own is None:  # no word starts here
            score[k] = alone + score[k + 1]
            end[k] = k
            continue
        if own is False:  # only longer words start here
            best, best_x = None, k
        else:
            best, best_x = own + score[k + 1], k
        i = k + 1
        while i < n:
            f = freq_get(sentence[k:i + 1])
            if f is None:  # no longer word has this prefix
                break
            if f:
                s = log(f) - logtotal + score[i + 1]
                if best is None or s >= best:
                    best, best_x = s, i
            i += 1
        score[k] = alone + score[k + 1] if best is None else best
        end[k] = best_x
    # Walk the best path; runs of single ASCII letters/digits are glued into one token.
    x = 0
    buf = ""
    while x < n:
        y = end[x] + 1
        word = sentence[x:y]
        if y - x == 1 and word in _ENG_CHARS:
            buf += word
        else:
            if buf:
                out.append(buf)
                buf = ""
            out.append(word)
        x = y
    if buf:
        out.append(buf)
