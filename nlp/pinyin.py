"""Toneless pinyin for homophone-robust matching (警盖 = 井盖, 站道 = 占道, 阳尘 = 扬尘).

Speech recognition and hasty typing replace characters with others that sound the same. The
classifier and the place finder therefore also look at what a text *sounds like*. The
per-character table is built once from pypinyin's dictionary (first reading, tones removed), so
a lookup is a dict access; polyphones always get the same reading, which is all matching needs.
"""
from __future__ import annotations

import threading
import unicodedata
from functools import lru_cache

__all__ = ["char_pinyin", "pinyin_of", "syllables", "HomophoneCorrector", "homophone_pools"]

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
                    table[chr(cp)] = unicodedata.normalize("NFC", _strip_tone(first))
                # Common polyphones whose first reading is not the everyday one in reports.
                table.update({"长": "chang", "行": "xing", "重": "zhong", "地": "di", "了": "le",
                              "还": "hai", "着": "zhe", "没": "mei", "都": "dou", "大": "da"})
                _TABLE = table
    return _TABLE


def char_pinyin(ch: str) -> str:
    """Toneless pinyin of one character; the character itself when it has none (digits, letters)."""
    return _table().get(ch, ch)


def syllables(text: str) -> list[str]:
    """Toneless pinyin of every character of `text`, one entry per character."""
    t = _table()
    return [t.get(c, c) for c in text]


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
        self._domain = set(domain_words)
        self._known = known_words if known_words is not None else {}
        self._explicit = dict(explicit or {})

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
        for wrong, right in self._explicit.items():
            if wrong in text:
                text = text.replace(wrong, right)
                fixes.append((wrong, right))
        sy = syllables(text)
        if not self._by_sound:
            return text, tuple(fixes), sy
        out: list[str] = []
        i, n = 0, len(text)
        while i < n:
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
                out.append(hit[0])
                i += hit[1]
            else:
                out.append(text[i])
                i += 1
        return "".join(out), tuple(fixes), sy
