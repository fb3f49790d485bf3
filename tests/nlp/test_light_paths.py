"""The second round of `hotline classify` shortcuts gives exactly what the plain code gives.

Covered here: `ReportAnalyser.analyse(detail=False)` (no explanations, same decisions), the
one-search emergency pre-check, the normalisation shortcuts (quick NFKC, lone numerals not
matched, interjection lookahead, the repetition pre-check), `positions_of` and the place-name
regex grouped by first character. Each is compared with a straightforward reference on
ordinary, odd and random texts.
"""
from __future__ import annotations

import json
import random
import re
import unicodedata

import pytest

import nlp.emergency as em
import nlp.text as text_mod
from nlp.dataset import load_corpus
from nlp.locate import _longest_first_pattern
from nlp.pinyin import positions_of
from nlp.text import normalise

ODD = [
    "", " ", "喂喂喂", "嗯嗯", "!!!", "ＡＢＣ１２３", "井盖井盖井盖坏了了了了", "12345工单：市民来电反映：路灯不亮",
    "110转办：报警人称闻到燃气味", "担心起火", "没有漏气", "x" * 5000, "a\u0301，b", "喂养流浪猫",
]


@pytest.fixture(scope="module")
def corpus_texts(nlp_setup):
    """Every 7th corpus report (about 1,400 texts of every kind)."""
    examples, _ = load_corpus(matter_codes=set(nlp_setup.taxonomy.matters))
    return [e.text for e in examples[::7]]


def _random_texts(n: int, alphabet: str, seed: int, longest: int = 40) -> list[str]:
    rnd = random.Random(seed)
    return ["".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, longest))) for _ in range(n)]


def _decisions(a) -> tuple:
    c, loc = a.classification, a.location
    return (c.code, c.name, c.confidence, c.abstain, c.candidates, c.out_of_scope, c.agency, c.emergency,
            c.model_version, c.emergency_reasons, loc.street, loc.community, loc.grid, loc.places,
            a.normalised_text)


def test_light_analysis_keeps_every_decision(nlp_analyser, nlp_setup, corpus_texts):
    """detail=False leaves out reasons and tokens only; every decision is the same."""
    streets = [p.name for p in nlp_setup.places if p.kind == "street"][:2] + ["薛家", "不存在"]
    codes = list(nlp_setup.taxonomy.matters)[:2] + ["bogus"]
    checked = explained = 0
    for i, t in enumerate(corpus_texts + ODD):
        variants = [{}, {"channel": "110"}]
        if i % 5 == 0:
            variants += [{"address": "新北区太湖路88号", "street_hint": streets[i % len(streets)]},
                         {"code_hint": codes[i % len(codes)]}, {"street_hint": streets[(i + 1) % len(streets)]}]
        for kw in variants:
            full = nlp_analyser.analyse(t, **kw)
            light = nlp_analyser.analyse(t, detail=False, **kw)
            assert _decisions(light) == _decisions(full), (t, kw)
            assert light.classification.reasons == () and light.location.reasons == () and light.tokens == ()
            checked += 1
            explained += bool(full.classification.reasons and full.location.reasons and full.tokens)
    assert checked > 2000 and explained > 100  # the full mode did have explanations to leave out


def test_classify_line_output_is_that_of_the_full_analysis(nlp_analyser, corpus_texts):
    """The command's JSON object is the one the full analysis would give."""
    from intake.commands.classify import _result, classify_line

    for i, t in enumerate(corpus_texts[:400] + [x for x in ODD if x.strip()]):
        channel = "12345" if i % 3 == 0 else None
        line = json.dumps({"id": i, "text": t, "channel": channel}, ensure_ascii=False)
        expected = _result(nlp_analyser.analyse(t, channel=channel), i)
        assert classify_line(nlp_analyser, line) == expected, t


def test_any_rule_search_finds_exactly_the_texts_some_rule_matches():
    """The one-search pre-check says "no" only when no single rule matches anywhere."""
    fragments = ["燃气", "味", "路面", "塌陷", "人", "掉", "进", "井", "水管", "爆", "电线", "断", "地上", "树",
                 "倒了", "路", "着火了", "被困", "杆", "横在", "高空", "掉下来", "砸到", "担心", "没有", " ", "了",
                 "一股", "嘶嘶", "漏气", "天坑", "冒烟了", "电梯", "坠"]
    rnd = random.Random(11)
    texts = ["".join(rnd.choice(fragments) for _ in range(rnd.randint(0, 8))) for _ in range(4000)]
    texts += _random_texts(2000, "".join(sorted(set("".join(fragments)))) + "abc 。", seed=12)
    some = 0
    for t in texts:
        any_rule = any(rx.search(t) for _, rx in em._RULES)
        assert (em._ANY_RULE.search(t) is not None) == any_rule, t
        some += any_rule
    assert 500 < some < len(texts) - 500  # both answers were exercised


def test_half_width_shortcut_is_nfkc():
    """The quick path of _to_half_width is NFKC, also next to combining marks and jamo."""
    alphabet = "，：？！（）；,.a井盖\u0301\u0308\u0327\u1100\u1161\u11a8가ＡｇＡ\u3000①ﬁ…"
    for t in _random_texts(20000, alphabet, seed=3, longest=12) + ODD:
        assert text_mod._to_half_width(t) == unicodedata.normalize("NFKC", t), t


def test_normalise_shortcuts_equal_the_plain_patterns(monkeypatch, corpus_texts):
    """Normalising with the plain patterns (every numeral run matched, no lookahead, no
    repetition pre-check, full NFKC) gives the same text and signals."""
    alphabet = ("零〇一二两三四五六七八九幺十百千万号栋个下些喂养嗯呃啊哎诶唉噢哦呀 \t\n，。,！!？?_-"
                "井盖坏了那个就是abcＡ１：12345工单市民来电反映\u0301")
    texts = corpus_texts + ODD + _random_texts(6000, alphabet, seed=21)
    texts += _random_texts(6000, "井盖了坏那 ", seed=22, longest=20)  # dense stammers
    fast = [normalise(t, ch) for t in texts for ch in (None, "sms")]
    numerals = text_mod._CN_DIGITS
    monkeypatch.setattr(text_mod, "_NUM_RUN_RE", re.compile("[%s]+" % numerals))
    monkeypatch.setattr(text_mod, "_INTERJECTIONS", re.compile(
        r"喂(?![养食鸡鸭狗猫鱼奶])|[嗯呃啊哎诶唉噢哦呀]+(?=[\s，。,！!？?]|$)|^[嗯呃啊哎诶唉噢哦]+|[嗯呃]"))
    monkeypatch.setattr(text_mod, "_MAYBE_REPEAT_RE", re.compile(""))  # always "maybe": all passes run
    monkeypatch.setattr(text_mod, "_to_half_width", lambda t: unicodedata.normalize("NFKC", t))
    plain = [normalise(t, ch) for t in texts for ch in (None, "sms")]
    assert fast == plain
    assert sum(a.text != b for a, b in zip(plain[::2], texts)) > 1000  # the texts did get normalised


def test_positions_of_is_a_membership_scan():
    """positions_of gives the ascending indexes whose element is wanted, from any iterable."""
    rnd = random.Random(4)
    for _ in range(500):
        items = [tuple(rnd.choice("ab") for _ in range(2)) for _ in range(rnd.randint(0, 30))]
        wanted = frozenset(rnd.sample([("a", "a"), ("a", "b"), ("b", "a"), ("b", "b")], rnd.randint(0, 3)))
        expected = [i for i, x in enumerate(items) if x in wanted]
        assert positions_of(items, wanted) == expected
        assert positions_of(iter(items), wanted) == expected


def test_grouped_name_pattern_equals_flat_alternation(finder, corpus_texts):
    """Names grouped by first character match where, and what, the flat longest-first list does."""
    rnd = random.Random(8)
    name_sets = [list(finder._by_name)]
    for _ in range(30):  # shared prefixes, one-character names, names inside names
        name_sets.append(list({"".join(rnd.choice("华山路社区") for _ in range(rnd.randint(1, 4))) for _ in range(12)}))
    for names in name_sets:
        flat = re.compile("|".join(map(re.escape, sorted(names, key=len, reverse=True))))
        grouped = _longest_first_pattern(names)
        texts = corpus_texts[:300] + _random_texts(300, "华山路社区 井盖", seed=len(names))
        for t in texts:
            assert ([(m.start(), m.group()) for m in grouped.finditer(t)]
                    == [(m.start(), m.group()) for m in flat.finditer(t)]), (names, t)
    assert _longest_first_pattern([]) is None
