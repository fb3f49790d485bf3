"""Toneless pinyin for homophone-robust matching (警盖 = 井盖, 站道 = 占道, 阳尘 = 扬尘).

Speech recognition and hasty typing replace characters with others that sound the same. The
classifier and the place finder therefore also look at what a text *sounds like*. The
per-character table is built once from pypinyin's dictionary (first reading, tones removed), so
a lookup is a dict access; polyphones always get the same reading, which is all matching needs.
"""
from __future__ import annotations

import re
import sys
import threading
import unicodedata
from functools import lru_cache
from itertools import compress, count

__all__ = ["char_pinyin", "pinyin_of", "syllables", "HomophoneCorrector", "homophone_pools", "positions_of"]

_TABLE: dict[str, str] | None = None
_TABLE_LOCK = threading.Lock()


def _strip_tone(reading: str) -> str:
    out = []
    for ch in unicodedata.normalize("NFD", reading):
        if unicodedata.combining(ch):
            continue
        out.append(ch)
    return "".join(out).replace("ü", "v")


def _table() -> dict[str, str]:
    global _TABLE
    if _TABLE is None:
        with _TABLE_LOCK:
            if _TABLE is None:
                from pypinyin.pinyin_dict import pinyin_dict
                table = {}
                for cp, readings in pinyin_dict.items():
                    first = readings.split(",")[0]
                    # Interned: the ~400 distinct syllables are then single objects that stay in
                    # the CPU cache, and dict lookups keyed by them match by identity.
                    table[chr(cp)] = sys.intern(unicodedata.normalize("NFC", _strip_tone(first)))
                # Common polyphones whose first reading is not the everyday one in reports.
                table.update({ch: sys.intern(s) for ch, s in {
                    "长": "chang", "行": "xing", "重": "zhong", "地": "di", "了": "le",
                    "还": "hai", "着": "zhe", "没": "mei", "都": "dou", "大": "da"}.items()})
                _TABLE = table
    return _TABLE


def char_pinyin(ch: str) -> str:
    """Toneless pinyin of one character; the character itself when it has none (digits, letters)."""
    return _table().get(ch, ch)


def syllables(text: str) -> list[str]:
    """Toneless pinyin of every character of `text`, one entry per character."""
    try:
        # By code point in a flat list: one memory access per character where a lookup in the
        # 40,000-entry dict costs three, and this runs on every text (in C, through map()).
        return list(map(_by_code_point().__getitem__, map(ord, text)))
    except IndexError:  # a character past U+9FFF (rare): the dict has every character
        t = _table()
        return list(map(t.get, text, text))  # t.get(c, c) for each character, in C


_BY_CODE_POINT: list[str] | None = None


def _by_code_point() -> list[str]:
    """`char_pinyin` of every character up to U+9FFF, indexed by code point."""
    global _BY_CODE_POINT
    if _BY_CODE_POINT is None:
        t = _table()
        with _TABLE_LOCK:
            if _BY_CODE_POINT is None:
                _BY_CODE_POINT = [t.get(c, c) for c in map(chr, range(0xA000))]
    return _BY_CODE_POINT


@lru_cache(maxsize=200_000)
def pinyin_of(token: str) -> str:
    """Toneless pinyin of a token, syllables joined without separator (井盖 -> jinggai). Cached."""
    t = _table()
    return "".join(t.get(c, c) for c in token)


def homophone_pools(chars) -> dict[str, tuple[str, ...]]:
    """Group characters by toneless pinyin: the pool a homophone error draws from."""
    pools: dict[str, list[str]] = {}
    for c in sorted(set(chars)):
        if "\u4e00" <= c <= "\u9fff":
            pools.setdefault(char_pinyin(c), []).append(c)
    return {k: tuple(v) for k, v in pools.items() if len(v) > 1}


def positions_of(items, wanted) -> list[int]:
    """Indexes of the elements of `items` (any iterable) that are in `wanted` (a set), ascending.

    For scans that only stop where one of a few known values occurs: one membership test per
    element, all in C (compress over the tests). Why not list.index() per wanted value, as
    before: that needed the items as a list and the set of wanted values present first (an
    intersection), and compared tuples one by one; this is ~2.5 times faster on reports.
    """
    return list(compress(count(), map(wanted.__contains__, items)))


# Characters so frequent in ordinary speech that a two-character sound-alike containing one is
# more likely a real phrase than a recognition error.
_FUNCTION_CHARS = frozenset("了也和有是在的地得着过就都还又很不没一个这那我你他她它们到两说时市")


class HomophoneCorrector:
    """Replace unknown words that sound like a domain word with that word (警盖 -> 井盖).

    A substring of 2-4 characters is replaced when its toneless pinyin equals that of exactly one
    domain word, it differs from that word, and it is not itself a known word of the general
    dictionary; a two-character piece must also share a character with the word (站到 stays,
    站道 becomes 占道). An explicit table of
    known errors (nlp/data/homophones.txt) is applied first.
    """

    def __init__(self, domain_words, known_words=None, explicit: dict[str, str] | None = None):
        by_sound: dict[tuple[str, ...], set[str]] = {}
        for w in domain_words:
            if 2 <= len(w) <= 4 and all("\u4e00" <= c <= "\u9fff" for c in w):
                by_sound.setdefault(tuple(syllables(w)), set()).add(w)
        self._by_sound = {k: next(iter(v)) for k, v in by_sound.items() if len(v) == 1}
        lengths: dict[str, set[int]] = {}
        for k in self._by_sound:
            lengths.setdefault(k[0], set()).add(len(k))
        # First syllable -> lengths of domain words starting with it, longest first.
        self._lengths = {s: tuple(sorted(ls, reverse=True)) for s, ls in lengths.items()}
        # First two syllables of every domain word (all have 2-4): only where a text's pair of
        # syllables is one of these can a sound-alike start, so the scan skips everything else.
        self._heads = frozenset(k[:2] for k in self._by_sound)
        self._domain = set(domain_words)
        self._known = known_words if known_words is not None else {}
        self._explicit = dict(explicit or {})
        # (An empty "wrong" occurs in every text: then there is no shortcut.)
        self._explicit_re = (re.compile("|".join(map(re.escape, self._explicit)))
                             if self._explicit and "" not in self._explicit else None)

    def _plausible_pair(self, text: str, i: int, piece: str, w: str) -> bool:
        """Whether a two-character sound-alike is likely an error rather than a real phrase.

        Two characters are a weak signal: they must share a character with the word (站道 for
        占道, not 站到), contain no everyday function character (到了 is not 倒了, 树也 not 树叶),
        and not be half of a real word with a neighbour (临时工 is not 临施工, 桥两边 not 桥梁边).
        Whatever is left to the classifier: its pinyin features see all sound-alikes anyway.
        """
        if not (set(piece) & set(w)) or any(c in _FUNCTION_CHARS for c in piece):
            return False
        known = self._known
        left, right = text[max(0, i - 1):i + 1], text[i + 1:i + 3]
        return not ((len(left) == 2 and known.get(left)) or (len(right) == 2 and known.get(right)))

    def correct(self, text: str) -> tuple[str, tuple[tuple[str, str], ...]]:
        """The corrected text and the (wrong, right) replacements made."""
        text, fixes, _ = self.correct_with_syllables(text)
        return text, fixes

    def correct_with_syllables(self, text: str) -> tuple[str, tuple[tuple[str, str], ...], list[str]]:
        """Like `correct`, plus the syllables of the corrected text (sound-alike fixes keep them)."""
        fixes: list[tuple[str, str]] = []
        # One scan says whether any known error occurs at all (usually none); only then are
        # the replacements made, in table order as before.
        if self._explicit and (self._explicit_re is None or self._explicit_re.search(text)):
            for wrong, right in self._explicit.items():
                if wrong in text:
                    text = text.replace(wrong, right)
                    fixes.append((wrong, right))
        sy = syllables(text)
        if not self._by_sound:
            return text, tuple(fixes), sy
        # Only where a pair of syllables starts a domain word can a sound-alike start.
        starts = positions_of(zip(sy, sy[1:]), self._heads)
        if not starts:
            return text, tuple(fixes), sy
        out: list[str] = []
        n = len(text)
        done = 0  # text[:done] is in `out` already
        for i in starts:
            if i < done:
                continue
            hit = None
            for length in self._lengths.get(sy[i], ()):
                if i + length > n:
                    continue
                w = self._by_sound.get(tuple(sy[i:i + length]))
                if w is None:
                    continue
                piece = text[i:i + length]
                if piece == w:
                    hit = (piece, length)
                    break
                if piece in self._domain or self._known.get(piece):
                    continue
                if length == 2 and not self._plausible_pair(text, i, piece, w):
                    continue
                if length == 3 and any(a != b and a in _FUNCTION_CHARS for a, b in zip(piece, w)):
                    continue  # 一出来 is "as soon as ... comes out", not 溢出来
                hit = (w, length)
                fixes.append((piece, w))
                break
            if hit:
                # A domain word (or its sound-alike, replaced) is consumed whole, as one step.
                out.append(text[done:i])
                out.append(hit[0])
                done = i + hit[1]
        out.append(text[done:])
        return "".join(out), tuple(fixes), sy
