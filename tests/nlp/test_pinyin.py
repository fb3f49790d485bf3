"""Homophone handling: toneless pinyin and the corrector (nlp.pinyin)."""
import pytest

from nlp.pinyin import HomophoneCorrector, pinyin_of


@pytest.mark.parametrize("wrong,right", [("警盖", "井盖"), ("站道", "占道"), ("阳尘", "扬尘")])
def test_homophones_share_pinyin(wrong, right):
    """ASR errors sound like the word they replace: same toneless pinyin."""
    assert pinyin_of(wrong) == pinyin_of(right)


def test_corrector_fixes_unknown_sound_alikes_only():
    """警盖/站道/阳尘 become 井盖/占道/扬尘; 站到 (a real phrase sharing no character) stays."""
    c = HomophoneCorrector(["井盖", "占道", "扬尘"], known_words={})
    assert c.correct("门口警盖没了")[0] == "门口井盖没了"
    assert c.correct("有人站道卖菜")[0] == "有人占道卖菜"
    assert c.correct("工地阳尘大")[0] == "工地扬尘大"
    assert c.correct("我站到路边")[0] == "我站到路边"


def test_corrector_respects_known_words():
    """A piece that is itself a dictionary word is never replaced."""
    c = HomophoneCorrector(["井盖"], known_words={"警盖": 10})
    assert c.correct("警盖")[0] == "警盖"


def test_everyday_phrases_are_not_corrected():
    """Sound-alikes made of everyday words stay: 到了 is not 倒了, 临时工 is not 临施工."""
    from nlp.segment import Segmenter
    seg = Segmenter(["倒了", "施工", "树叶", "桥梁"])
    c = HomophoneCorrector(["倒了", "施工", "树叶", "桥梁"], known_words=seg.known_words)
    for text in ("我到了路口", "他是临时工", "树也倒了", "桥两边都是车"):
        assert c.correct(text)[0] == text
