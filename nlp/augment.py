"""Train-time augmentation: render a written report the way other channels would carry it.

A report written as an SMS must still be recognised when it arrives as a phone transcript, a
12345 work order or a 110 transfer note, and with speech-recognition homophone errors. Each
function takes an explicit `random.Random`, so a seed reproduces the same training set.
"""
from __future__ import annotations

import random
import re

import cn2an

from nlp.pinyin import char_pinyin

__all__ = ["STYLES", "render", "homophone_noise", "augment", "paraphrase"]

STYLES = ("phone", "sms", "12345", "110", "web", "app")

_PUNCT = re.compile(r"[，。！？、；：,.!?;:“”\"'（）()【】\s]+")
_FILLERS = ("喂", "那个", "就是", "嗯", "这个", "然后", "就是说", "啊", "你好", "我跟你说")
_OPENERS = ("喂 你好", "喂喂", "你好 我想反映个事", "喂 是城管吗", "你好 那个", "嗯 我要反映一下")
_CLOSERS = ("你们赶紧来看一下", "麻烦尽快处理一下", "谢谢啊", "你们管一管", "就这个事")
_12345 = ("市民来电反映：{t}，请相关部门核实处理。", "来电人称：{t}，要求尽快处理。", "市民来电反映：{t}。诉求：请尽快处理。", "群众反映：{t}")
_110 = ("110转办：报警人称{t}，请相关单位处置。", "接110指挥中心转：{t}。", "110转办：报警人称{t}")
_WEB = ("尊敬的领导：您好！{t}。希望有关部门尽快处理，谢谢！", "{t}。此问题已存在很久，多次反映无果，请求相关部门重视。", "我是附近居民，{t}，恳请解决。")
_NUM = re.compile(r"[0-9]+")


def _spoken_numbers(text: str, rng: random.Random) -> str:
    def repl(m: re.Match) -> str:
        """Half of the short numbers said the Chinese way."""
        s = m.group(0)
        if len(s) > 5 or rng.random() < 0.5:
            return s
        try:
            return cn2an.an2cn(s, "low")
        except (ValueError, KeyError):
            return s
    return _NUM.sub(repl, text)


def homophone_noise(text: str, rate: float, pools: dict[str, tuple[str, ...]], rng: random.Random) -> str:
    """Replace about `rate` of the Chinese characters with another of the same toneless pinyin."""
    out = []
    for ch in text:
        if "\u4e00" <= ch <= "\u9fff" and rng.random() < rate:
            pool = pools.get(char_pinyin(ch))
            if pool:
                alt = [c for c in pool if c != ch]
                if alt:
                    ch = alt[rng.randrange(len(alt))]
        out.append(ch)
    return "".join(out)


def _phone(text: str, rng: random.Random) -> str:
    parts = [p for p in _PUNCT.split(text) if p]
    out = [rng.choice(_OPENERS)] if rng.random() < 0.6 else []
    for p in parts:
        if rng.random() < 0.35:
            out.append(rng.choice(_FILLERS))
        if rng.random() < 0.1 and len(p) >= 2:
            out.append(p[:2])  # a stammer: the first word said twice
        out.append(p)
    if rng.random() < 0.4:
        out.append(rng.choice(_CLOSERS))
    return _spoken_numbers(" ".join(out) if rng.random() < 0.5 else "".join(out), rng)


def _sms(text: str, rng: random.Random) -> str:
    parts = [p for p in _PUNCT.split(text) if p]
    return (" " if rng.random() < 0.5 else "，").join(parts)


def render(text: str, style: str, rng: random.Random) -> str:
    """`text` as it would arrive in `style` (one of STYLES)."""
    core = _PUNCT.sub("，", text).strip("，")
    if style == "phone":
        return _phone(text, rng)
    if style == "sms":
        return _sms(text, rng)
    if style == "12345":
        return rng.choice(_12345).format(t=core)
    if style == "110":
        return rng.choice(_110).format(t=core)
    if style == "web":
        return rng.choice(_WEB).format(t=core)
    return core  # app: short, as typed


_GROUPS: list[tuple[str, ...]] | None = None


def _paraphrase_groups() -> list[tuple[str, ...]]:
    global _GROUPS
    if _GROUPS is None:
        from nlp.segment import DATA_DIR, read_word_list
        _GROUPS = [tuple(line.split()) for line in read_word_list(DATA_DIR / "paraphrases.txt")]
    return _GROUPS


def paraphrase(text: str, rng: random.Random, rate: float = 0.5) -> str:
    """Swap words for others of their paraphrase group (nlp/data/paraphrases.txt) at `rate`."""
    for group in _paraphrase_groups():
        for w in sorted(group, key=len, reverse=True):
            if w in text:
                if rng.random() < rate:
                    alt = [g for g in group if g != w]
                    text = text.replace(w, alt[rng.randrange(len(alt))])
                break  # one member per group: do not swap back what was just put in
    return text


def augment(text: str, style: str, pools, rng: random.Random, copies: int = 2, noise=(0.1, 0.2),
            paraphrase_rate: float = 0.0) -> list[str]:
    """`copies` variants of a report: another style each, paraphrased at `paraphrase_rate`, half
    of them with homophone noise."""
    others = [s for s in STYLES if s != style] or list(STYLES)
    out = []
    for _ in range(copies):
        t = paraphrase(text, rng, paraphrase_rate) if paraphrase_rate else text
        t = render(t, rng.choice(others), rng)
        if rng.random() < 0.5:
            t = homophone_noise(t, rng.uniform(*noise), pools, rng)
        out.append(t)
    return out
