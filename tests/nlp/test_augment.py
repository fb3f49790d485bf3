"""Training-time augmentation (nlp.augment): styles, paraphrases, homophone noise; all seeded."""
import random

from nlp.augment import augment, homophone_noise, paraphrase, render
from nlp.pinyin import char_pinyin, homophone_pools
from nlp.text import normalise


def test_same_seed_same_variants():
    """A seed reproduces the augmented training set exactly."""
    pools = homophone_pools("井盖警告景区占道站台扬尘阳光")
    a = augment("华山路井盖没了，很危险。", "sms", pools, random.Random(3), copies=4, paraphrase_rate=0.5)
    b = augment("华山路井盖没了，很危险。", "sms", pools, random.Random(3), copies=4, paraphrase_rate=0.5)
    assert a == b and len(a) == 4


def test_work_order_wrappers_are_stripped_again():
    """A rendered 12345/110 variant normalises back to the report plus channel signal."""
    rng = random.Random(1)
    for style, signal in (("12345", "12345"), ("110", "110")):
        n = normalise(render("龙锦路有人占道经营", style, rng))
        assert signal in n.signals and n.text.startswith("龙锦路有人占道经营")


def test_homophone_noise_keeps_the_sound():
    """Noise replaces characters only by others with the same toneless pinyin."""
    text = "井盖占道扬尘"
    pools = homophone_pools("井警景盖概占站战道到扬阳洋尘陈晨")
    noisy = homophone_noise(text, 1.0, pools, random.Random(5))
    assert noisy != text
    assert [char_pinyin(c) for c in noisy] == [char_pinyin(c) for c in text]


def test_paraphrase_swaps_within_a_group():
    """A paraphrase replaces a word by another of its group, never by an unrelated word."""
    out = paraphrase("门口的垃圾桶满了", random.Random(0), rate=1.0)
    assert "垃圾桶" not in out and any(w in out for w in ("垃圾箱", "果皮箱", "垃圾筒"))
