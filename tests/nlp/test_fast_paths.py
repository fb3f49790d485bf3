"""The inference fast paths give exactly what the plain code gives.

`hotline classify` was made faster by computing the same things another way: the TF-IDF vector
straight from a prepared text (no feature names), jieba's HMM-free segmentation in one pass,
sound-alike scans that only stop where a known word can start, a regex for exact place names.
Training and the model file depend on them being *equal*, not close: each test here compares
a fast path with a straightforward reference on ordinary, odd and random texts.
"""
from __future__ import annotations

import random

import numpy as np
import pytest

from nlp.features import Prepared, Vocabulary, feature_counts, feature_list
from nlp.locate import Match, PlaceFinder
from nlp.pinyin import HomophoneCorrector, syllables
from nlp.text import normalise

TEXTS = [
    "市民来电反映：薛冶路与太湖路交叉口有个井盖坏了，晚上很危险，请尽快处理一下谢谢",
    "12345工单：市民来电反映：华山社区门口路灯不亮已经三天了",
    "喂喂 那个 就是 警盖 警盖 没了 在汉江路 一千二百八十号 门口",
    "4s店门口占道经营 站道 阳尘很大 pm2.5 超标 第3次",
    "110转办：报警人称 常州北站 高铁站 出租车 乱停 abc_def <num> 12b",
    "井盖井盖井盖坏了了了了",
    "",
    "   ",
    "a",
    "我要投诉我家楼上的邻居晚上装修噪音太大",
]


def _random_texts(n: int, seed: int = 7) -> list[str]:
    """Random mixes of domain characters, Latin letters, digits, spaces and punctuation."""
    rnd = random.Random(seed)
    alphabet = list("井盖坏了路灯不亮薛冶路太湖汉江华山社区站道占经营阳扬尘abcAZ09 _.-+#&%，。！\t") + [
        chr(rnd.randint(0x4E00, 0x9FD5)) for _ in range(60)]
    return ["".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 50))) for _ in range(n)]


@pytest.fixture(scope="module")
def model(model_path):
    """The trained model of the session."""
    from nlp.classifier import MatterModel
    return MatterModel.load(model_path)


@pytest.fixture(scope="module")
def pipeline(model, nlp_setup):
    """The model's text pipeline with the configured places."""
    return model.pipeline(nlp_setup.places)


def _same_vector(a, b) -> bool:
    return (a[0].dtype == b[0].dtype and a[1].dtype == b[1].dtype
            and np.array_equal(a[0], b[0]) and a[1].tobytes() == b[1].tobytes())


def test_vector_of_prepared_equals_named_features(model, pipeline):
    """The hot-path vector is bit-for-bit the vector of the named features training uses."""
    prepared = [pipeline.prepare(t) for t in TEXTS + _random_texts(400)]
    # Hand-made Prepared objects: numbers, a literal <num>, '_' in text and syllables, syllables
    # that do not belong to the text, Latin tokens, spaces at both ends.
    prepared += [
        Prepared("12 井盖 <num> a_b", ("12", "井盖", "<num>", "a_b", "3a", "12\n"), ()),
        Prepared(" 井盖坏了 ", ("井盖",), (), (), ("x",) * 3),
        Prepared("井 盖", ("井",), (), (), ("jing", "_", "gai")),
        Prepared("井 盖", ("井",), (), (), ("jing", "gai", "gai")),
        Prepared("", (), ()),
    ]
    for p in prepared:
        assert _same_vector(model.vocab.vector_of_prepared(p), model.vocab.vector_of_list(feature_list(p))), p


def test_vector_of_prepared_covers_every_block():
    """A small vocabulary: each block (w, <num>, u, c, p) is found, and nothing else is."""
    p = Prepared("井盖 坏了 12", ("井盖", "坏了", "12"), (), (), tuple(syllables("井盖 坏了 12")))
    names = sorted(feature_counts(p)) + ["c|盖 ", "p|gai_ ", "u|a", "w|99"]
    vocab = Vocabulary({n: i for i, n in enumerate(names)}, np.ones(len(names), dtype=np.float32))
    cols, vals = vocab.vector_of_prepared(p)
    assert _same_vector((cols, vals), vocab.vector_of_list(feature_list(p)))
    found = {names[c] for c in cols.tolist()}
    assert found == set(feature_counts(p))
    assert {"w|<num>", "u|井", "c|井盖", "p|jing_gai", "w|井盖"} <= found


def test_vector_of_prepared_falls_back_for_ambiguous_sound_names():
    """A p| name with two '_' cannot be split into one syllable pair: the named path is used."""
    names = ["p|a_b_c", "u|井", "c|井盖"]
    vocab = Vocabulary({n: i for i, n in enumerate(names)}, np.ones(3, dtype=np.float32))
    p = Prepared("井盖", ("井盖",), (), (), ("a_b", "c"))
    cols, _ = vocab.vector_of_prepared(p)
    assert sorted(names[c] for c in cols.tolist()) == ["c|井盖", "p|a_b_c", "u|井"]


def test_score_and_agency_accept_the_precomputed_vector(model, pipeline):
    """Passing the vector changes nothing; it only saves computing it twice."""
    for t in TEXTS[:6]:
        p = pipeline.prepare(t)
        v = model.vector(p)
        assert model.score(p, v) == model.score(p)
        assert model.agency(p, v) == model.agency(p)


def test_segmenter_uses_jiebas_own_block_patterns():
    """The copied block, whitespace and glue patterns are those of the installed jieba."""
    import jieba

    from nlp import segment
    assert segment._RE_HAN.pattern == jieba.re_han_default.pattern
    assert segment._RE_SKIP.pattern == jieba.re_skip_default.pattern
    assert all(jieba.re_eng.match(c) for c in segment._ENG_CHARS)
    assert not any(jieba.re_eng.match(chr(c)) for c in range(0x3000) if chr(c) not in segment._ENG_CHARS)
    assert not segment._RE_HAN.match(chr(segment._HAN_LIMIT)) and segment._RE_HAN.match(chr(segment._HAN_LIMIT - 1))


def test_segmenter_matches_jieba_without_hmm(pipeline):
    """The one-pass segmentation gives jieba's own HMM-free tokens (whitespace dropped)."""
    seg = pipeline.segmenter
    texts = TEXTS + [normalise(t).text for t in TEXTS] + _random_texts(1500, seed=11)
    texts += ["Hello world 2024年 ab12 井盖\r\n坏了", "ｇｂ１２３　全角", "C++ & c# 50% a.b-c"]
    for t in texts:
        assert seg._cut_no_hmm(t) == [w for w in seg._tk.lcut(t, HMM=False) if w.strip()], t


def _reference_correct(c: HomophoneCorrector, text: str):
    """The corrector's scan as first written: every position, longest domain sound first."""
    from nlp.pinyin import _FUNCTION_CHARS
    fixes = []
    for wrong, right in c._explicit.items():
        if wrong in text:
            text = text.replace(wrong, right)
            fixes.append((wrong, right))
    sy = syllables(text)
    out, i, n = [], 0, len(text)
    while i < n:
        hit = None
        for length in c._lengths.get(sy[i], ()):
            if i + length > n:
                continue
            w = c._by_sound.get(tuple(sy[i:i + length]))
            if w is None:
                continue
            piece = text[i:i + length]
            if piece == w:
                hit = (piece, length)
                break
            if piece in c._domain or c._known.get(piece):
                continue
            if length == 2 and not c._plausible_pair(text, i, piece, w):
                continue
            if length == 3 and any(a != b and a in _FUNCTION_CHARS for a, b in zip(piece, w)):
                continue
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


def test_explicit_error_table_shortcut():
    """Known errors are replaced in table order; a text without any is left alone."""
    c = HomophoneCorrector(["井盖", "占道"], {}, {"警盖": "井盖", "井盖坏": "井盖破损", "站道": "占道"})
    assert c.correct("警盖坏了") == ("井盖破损了", (("警盖", "井盖"), ("井盖坏", "井盖破损")))
    assert c.correct("路灯不亮") == ("路灯不亮", ())
    assert _reference_correct(c, "站道经营") == c.correct_with_syllables("站道经营")


def test_corrector_scan_equals_full_scan(pipeline):
    """Skipping positions where no domain word's sound starts changes no correction."""
    c = pipeline.corrector
    texts = [normalise(t).text for t in TEXTS] + ["警盖坏了 站道经营 阳尘 一出来 到了 树也", "警盖警盖"]
    texts += _random_texts(800, seed=3)
    fixed = 0
    for t in texts:
        got = c.correct_with_syllables(t)
        assert got == _reference_correct(c, t), t
        fixed += bool(got[1])
    assert fixed > 0  # the texts do exercise replacements


def _reference_find(f: PlaceFinder, text: str) -> list[Match]:
    """The place scan as first written: every position, longest name (then sound) first."""
    matches, covered = [], [False] * len(text)
    i, n = 0, len(text)
    while i < n:
        for length in f._lengths.get(text[i], ()):
            if i + length > n:
                continue
            ps = f._by_name.get(text[i:i + length])
            if ps:
                matches += [Match(p, text[i:i + length], i) for p in ps]
                covered[i:i + length] = [True] * length
                i += length
                break
        else:
            i += 1
    sy = syllables(text)
    i = 0
    while i < n:
        hit = False
        for length in f._sound_lengths.get(sy[i], ()):
            if i + length > n or any(covered[i:i + length]):
                continue
            name = f._by_sound.get(tuple(sy[i:i + length]))
            if name:
                matches += [Match(p, text[i:i + length], i, by_sound=True) for p in f._by_name[name]]
                i += length
                hit = True
                break
        if not hit:
            i += 1
    matches.sort(key=lambda m: m.start)
    return matches


def test_place_scan_equals_full_scan(finder):
    """The regex exact pass and the filtered sound pass find what a full scan finds."""
    names = sorted(finder._by_name)
    rnd = random.Random(5)
    texts = ["血冶路和太湖路交叉口", "薛家镇华山社区门口", "高铁站旁边 血冶路 常州北站", ""]
    for _ in range(600):
        parts = [rnd.choice(names) if rnd.random() < 0.4 else rnd.choice(["井盖", "坏了", " ", "血冶", "路口", "的"])
                 for _ in range(rnd.randint(1, 6))]
        texts.append("".join(parts))
    texts += _random_texts(300, seed=9)
    by_sound = 0
    for t in texts:
        got = finder.find(t)
        assert got == _reference_find(finder, t), t
        by_sound += any(m.by_sound for m in got)
    assert by_sound > 0  # sound-alikes were exercised too


def test_normalise_prefix_and_stammer_shortcuts():
    """The prefix pre-check and the skipped second stammer pass change no result."""
    assert normalise("12345工单：市民来电反映：路灯不亮") == normalise("路灯不亮", "12345")
    assert normalise("市民反映：110转办：井盖").signals == ("12345", "110")  # two prefixes, in order
    assert normalise("路灯不亮").signals == ()
    assert normalise("那个井盖那个井盖井盖坏了").text == "井盖 井盖坏了"
    assert normalise("井盖井盖井盖坏了").text == "井盖坏了"
    assert normalise("天天有人乱扔垃圾").text == "天天有人乱扔垃圾"


def test_emergency_rule_shortcut_changes_nothing():
    """Skipping rules whose first characters are absent gives the same cues as running all."""
    import nlp.emergency as em

    def reference(text):
        reasons = []
        for reason, rx in em._RULES:
            for m in rx.finditer(text):
                if not em._FEAR.search(text[max(0, m.start() - 10):m.start()]):
                    reasons.append(reason)
                    break
        if reasons and em._NEGATED.search(text) and len(reasons) == 1:
            return ()
        return tuple(reasons)

    texts = [normalise(t).text for t in TEXTS] + [
        "闻到一股煤气味", "路面塌陷了一个大坑", "有人掉进井里了", "水管爆了水喷出来老高", "电线断了掉在地上",
        "大树倒了横在马路上", "楼道里着火了", "电梯困人了", "广告牌倒了横在路中间", "楼上掉下来花盆差点砸到人",
        "担心起火", "没有漏气"] + _random_texts(500, seed=13)
    fired = 0
    for t in texts:
        assert em.emergency_cues(t) == reference(t), t
        fired += bool(reference(t))
    assert fired >= 8
    assert all(s is not None for s in em._RULE_STARTS)  # every rule has a usable first-character set
