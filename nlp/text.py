"""Normalisation of citizen text before anything reads it.

Reports arrive as phone transcripts (no punctuation, fillers such as 喂 那个 就是 嗯, repeated
words, spoken numbers), SMS with typos, 12345 work orders (市民来电反映：...), 110 transfer notes
(110转办：报警人称...) and long web complaints. `normalise` turns all of them into one shape:
half-width, lower case, punctuation as spaces, fillers and stammered repetitions removed, spoken
numbers as digits (一千二百八十号 -> 1280号). The channel prefixes are recognised and returned as
`signals` (they tell where a report came from, not what it is about), and removed from the text.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import cn2an

__all__ = ["Normalised", "normalise", "spoken_numbers_to_digits", "strip_fillers", "FILLERS"]


@dataclass(frozen=True)
class Normalised:
    """A normalised text and the channel signals seen in its prefix ("12345", "110", "sms")."""

    text: str
    signals: tuple[str, ...] = ()


# Words that carry no meaning in spoken Chinese. Longer ones first so 就是说 goes before 就是.
FILLERS = (
    "怎么说呢", "你知道吧", "我跟你说", "我跟你讲", "你晓得吧", "这么说吧", "就是说", "然后呢", "那个什么",
    "那个", "这个", "就是", "然后", "反正", "对对对", "对对", "是吧", "是这样的", "是这样",
    "你好", "您好", "请问", "麻烦你", "麻烦您", "谢谢", "喂喂",
)
# Single-character interjections. 喂 only when it is not 喂养/喂食 (feeding animals is a matter).
# The leading lookahead names every character a match can start with: it changes no match, but
# lets the engine reject most positions at once instead of trying the four alternatives
# (1.0 -> 0.3 us per text).
_INTERJECTIONS = re.compile(r"(?=[喂嗯呃啊哎诶唉噢哦呀])(?:喂(?![养食鸡鸭狗猫鱼奶])|[嗯呃啊哎诶唉噢哦呀]+(?=[\s，。,！!？?]|$)|^[嗯呃啊哎诶唉噢哦]+|[嗯呃])")
_FILLER_RE = re.compile("|".join(re.escape(f) for f in sorted(FILLERS, key=len, reverse=True)))

# A stammer: the same 2-4 Chinese characters said two or more times in a row (井盖井盖 -> 井盖).
_REPEAT_RE = re.compile(r"([\u4e00-\u9fff]{2,4})\1+")
# The same character three or more times (了了了 -> 了); two stays (天天, 常常).
_REPEAT_CHAR_RE = re.compile(r"([\u4e00-\u9fff])\1{2,}")
# A Chinese character that comes again within the next four, only Chinese characters between:
# both patterns above need one (a stammered unit repeats its first character 2-4 places on; a
# tripled character repeats it at once). Two texts in three have none, and this one search
# (~0.9 us) then stands in for the three substitutions (~4 us).
_MAYBE_REPEAT_RE = re.compile(r"([\u4e00-\u9fff])(?=[\u4e00-\u9fff]{0,3}\1)")

_CN_DIGITS = "零〇一二两三四五六七八九幺十百千万"
# Runs of numerals. A lone 一 百 千 or 万 is always kept as it is (see the replacement below), so
# the pattern does not match it: two reports in five have 一个/一下 and no other numeral, and each
# match costs a Python call. Longer runs are still matched whole (the first alternative is
# tried first and is greedy), exactly as by "[...]+".
_NUM_RUN_RE = re.compile("[%s]{2,}|[%s]" % (_CN_DIGITS, _CN_DIGITS.translate({ord(c): None for c in "一百千万"})))
# Measure words after which a spoken number is an address or a quantity worth keeping as digits.
_NUMBER_UNITS = "号栋幢单元楼层室米路弄组期区户间辆个棵根块处点天年月日次多公斤吨元岁分钟小时"

# Channel prefixes. Each is (signal, regex anchored at the start of the normalised text).
_PREFIXES = (
    ("110", re.compile(r"^\s*(?:接)?\s*110\s*(?:指挥中心)?\s*(?:转办|转警|转来|转|移交|联动|推送)?(?:工单|警情)?\s*[:：]?\s*(?:报警人|报警者|来电人|群众|事主)?\s*(?:称|反映|报称|报警称|来电称)?\s*[:：，,]?")),
    ("12345", re.compile(r"^\s*(?:12345\s*(?:工单|热线|转办)?\s*[:：]?\s*)?(?:市民|群众|来电人|来电者|来电群众|网友|居民|投诉人|诉求人)\s*(?:来电|来信|留言|网上留言|致电)?\s*(?:反映|反应|称|表示|投诉|举报|求助|咨询|诉求)\s*[:：，,]?")),
    ("12345", re.compile(r"^\s*12345\s*(?:工单|热线|转办)?\s*[:：]\s*")),
    ("12345", re.compile(r"^\s*工单(?:编号|号)?\s*[:：]?\s*[0-9a-z\-]+\s*")),
)
# All prefixes at once: none of them can match an empty string, so when this does not match,
# no prefix is there and the ordered loop in `normalise` can be skipped (most texts).
_ANY_PREFIX = re.compile("|".join(f"(?:{rx.pattern})" for _, rx in _PREFIXES))
_PUNCT_RE = re.compile(r"[^\w\u4e00-\u9fff]+|_+")


# Full-width punctuation frequent in reports (more than half have a ，), each with its
# compatibility decomposition (one ASCII character).
_FULL_WIDTH = tuple((wide, unicodedata.normalize("NFKD", wide)) for wide in "，：？！（）；")


def _to_half_width(text: str) -> str:
    # NFKC maps full-width letters/digits/punctuation to ASCII (ｇｂ１２３ -> gb123).
    # Why the detour: a single ， made NFKC decompose and recompose the whole text (~2.6 us).
    # Replacing a character by its compatibility decomposition leaves the text's NFKC form as it
    # was (NFKC starts by decomposing every character); when what is left is already in NFKC
    # (a quick check), it is that form. Otherwise the full normalisation of the original runs.
    quick = text
    for wide, narrow in _FULL_WIDTH:
        quick = quick.replace(wide, narrow)
    if unicodedata.is_normalized("NFKC", quick):
        return quick
    return unicodedata.normalize("NFKC", text)


def spoken_numbers_to_digits(text: str) -> str:
    """Replace spoken numbers that are addresses or quantities with digits (一千二百八十号 -> 1280号).

    A run of Chinese numerals is converted when it is followed by a measure word (号 栋 米 ...),
    has three or more characters (a phone or house number read digit by digit), or is structured
    (contains 十 百 千 万). Words like 一下 一些 一直 stay as they are.
    """
    def repl(m: re.Match) -> str:
        """Digits for one run of numerals, or the run unchanged."""
        run = m.group(0)
        end = m.end()
        nxt = text[end] if end < len(text) else ""
        structured = any(c in run for c in "十百千万")
        if not (nxt and nxt in _NUMBER_UNITS and len(run) >= 1) and len(run) < 3 and not structured:
            return run
        if run == "十" and nxt and nxt in "号栋幢单楼层室":
            return "10"
        if len(run) == 1 and run in "十百千万一":
            return run  # 一个, 一块: the word "a", not the number one
        if len(run) == 2 and not structured and nxt not in "号栋幢单元楼层室弄路":
            return run  # 五六个人 is "five or six", not 56
        try:
            if not structured and len(run) >= 2:
                # Digit by digit (幺三九 -> 139, 二零二三 -> 2023).
                return "".join(str(_DIGIT.get(c, c)) for c in run) if all(c in _DIGIT for c in run) else run
            value = cn2an.cn2an(run.replace("幺", "一"), "smart")
        except (ValueError, KeyError, TypeError, AttributeError):
            return run
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return str(value)

    return _NUM_RUN_RE.sub(repl, text)


_DIGIT = {"零": 0, "〇": 0, "一": 1, "幺": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


def strip_fillers(text: str) -> str:
    """Remove spoken fillers, interjections and stammered repetitions."""
    text = _FILLER_RE.sub(" ", text)
    text = _INTERJECTIONS.sub(" ", text)
    if _MAYBE_REPEAT_RE.search(text) is None:
        return text  # no repetition of any kind: the substitutions below would change nothing
    text = _REPEAT_CHAR_RE.sub(r"\1", text)
    # Twice: 井盖井盖井盖 collapses in one pass, 那个井盖那个井盖 needs the fillers gone first.
    # When the first pass changed nothing, the second would see the same text: skip it.
    text, changed = _REPEAT_RE.subn(r"\1", text)
    return _REPEAT_RE.sub(r"\1", text) if changed else text


def normalise(text: str, channel: str | None = None) -> Normalised:
    """The canonical form of a report text, with channel signals found in its prefix.

    Never raises on odd input: None or non-text gives an empty result.
    """
    if not isinstance(text, str):
        return Normalised("", ())
    text = _to_half_width(text).lower()
    signals: list[str] = []
    if channel:
        signals.append(str(channel))
    for _ in range(2):  # "12345工单：市民来电反映：" has two prefixes
        if not _ANY_PREFIX.match(text):
            break
        for signal, rx in _PREFIXES:
            m = rx.match(text)
            if m and m.end() > 0:
                text = text[m.end():]
                if signal not in signals:
                    signals.append(signal)
                break
    text = spoken_numbers_to_digits(text)
    text = _PUNCT_RE.sub(" ", text)
    text = strip_fillers(text)
    # Why split/join: the same as re.sub(r"\s+", " ", text).strip() (str.split() and the
    # regex's \s both use str.isspace()), in one C call instead of two.
    text = " ".join(text.split())
    return Normalised(text, tuple(signals))
