"""Text similarity of two reports, for finding duplicates (many calls about the same problem).

`description_tokens` keeps what a report says happened: jieba content words, with fillers, stop
words, place names and numbers removed and homophones normalised (警盖 -> 井盖), so two callers
describing the same broken cover in different words and accents still share tokens.
`text_similarity` blends the overlap of those tokens with the overlap of pinyin character bigrams
(robust to segmentation differences and to homophones the corrector does not know).
"""
from __future__ import annotations

import math
import re
import threading
from collections import Counter

from nlp.pinyin import pinyin_of, syllables

__all__ = ["description_tokens", "text_similarity", "content_tokens"]

# Tokens that are place names by their form (华山路, 新桥大街, 锦绣东苑): where, not what.
_PLACE_FORM = re.compile(r"^.{2,}(路|街|大道|大街|小区|花园|花苑|新村|社区|广场|东苑|西苑|中心|公园|菜场|市场)$")
_CJK = re.compile(r"[\u4e00-\u9fff]")
# Single characters that say nothing about a matter (particles, pronouns).
_MINOR_CHARS = frozenset("的了是在有和也就都还又很我你他她它这那个把被给让吗吧呢啊哦嗯喂")
_PIPELINE = None
_LOCK = threading.Lock()


def _pipeline():
    """A shared text pipeline with the domain dictionary (built once, on first use)."""
    global _PIPELINE
    if _PIPELINE is None:
        with _LOCK:
            if _PIPELINE is None:
                from nlp.features import TextPipeline
                from nlp.segment import domain_vocabulary
                _PIPELINE = TextPipeline(domain_vocabulary(None, ()))
    return _PIPELINE


_SYNONYMS: dict[str, str] | None = None


def _synonyms() -> dict[str, str]:
    global _SYNONYMS
    if _SYNONYMS is None:
        from nlp.segment import DATA_DIR, read_pairs
        _SYNONYMS = read_pairs(DATA_DIR / "synonyms.txt")
    return _SYNONYMS


def content_tokens(tokens, stopwords, place_words=frozenset()) -> tuple[str, ...]:
    """Tokens that describe the matter: no stop words, places, numbers or single non-CJK marks.

    Synonyms citizens use for the same fact (不见/没了/丢了) are mapped to one word.
    """
    out = []
    syn = _synonyms()
    for t in tokens:
        if t in stopwords or t in place_words:
            continue
        # Numbers and Latin letters (no CJK character) are dropped; most tokens start with a
        # CJK character, which settles it without the regex. A place form has at least three
        # characters, so shorter tokens skip that regex.
        if not ("\u4e00" <= t[:1] <= "\u9fff" or _CJK.search(t)) or (len(t) > 2 and _PLACE_FORM.match(t)):
            continue
        t = syn.get(t, t)
        if len(t) == 1 and t in _MINOR_CHARS:
            continue
        out.append(t)
    return tuple(out)


def description_tokens(text: str) -> tuple[str, ...]:
    """Content words of a report (fillers, places, stop words removed; homophones normalised)."""
    if not isinstance(text, str) or not text.strip():
        return ()
    p = _pipeline()
    prepared = p.prepare(text)
    return content_tokens(prepared.tokens, p.stopwords)


def _cosine(a: Counter, b: Counter) -> float:
    if not a or not b:
        return 0.0
    dot = sum(v * b.get(k, 0) for k, v in a.items())
    na = math.sqrt(sum(v * v for v in a.values()))
    nb = math.sqrt(sum(v * v for v in b.values()))
    return dot / (na * nb) if na and nb else 0.0


def _sound_bigrams(tokens) -> Counter:
    sy = [s for t in tokens for s in syllables(t)]
    return Counter(a + "_" + b for a, b in zip(sy, sy[1:]))


def text_similarity(a: str, b: str) -> float:
    """Similarity of two report texts in [0, 1] (1 for the same description)."""
    ta, tb = description_tokens(a), description_tokens(b)
    if not ta or not tb:
        return 0.0
    words = _cosine(Counter(pinyin_of(t) for t in ta), Counter(pinyin_of(t) for t in tb))
    sounds = _cosine(_sound_bigrams(ta), _sound_bigrams(tb))
    return max(0.0, min(1.0, 0.5 * words + 0.5 * sounds))
