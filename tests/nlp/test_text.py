"""Normalisation of spoken, typed and work-order text (nlp.text)."""
from nlp.text import normalise, spoken_numbers_to_digits, strip_fillers


def test_spoken_house_number_becomes_digits():
    """一千二百八十号 is an address: it must read 1280号 so places and numbers match."""
    assert "1280号" in normalise("薛冶路一千二百八十号门口").text


def test_digit_by_digit_numbers_and_units():
    """Numbers read digit by digit (幺三九) and numbers before a measure word become digits."""
    assert spoken_numbers_to_digits("幺三九号") == "139号"
    assert spoken_numbers_to_digits("三楼") == "3楼"
    assert spoken_numbers_to_digits("二零二三年") == "2023年"


def test_ordinary_words_with_numerals_stay():
    """一下, 一些, 一直 and 五六个 (five or six) are words, not numbers."""
    out = normalise("你们来看一下 一些人一直在 五六个人").text
    assert "一下" in out and "一些" in out and "一直" in out and "56" not in out


def test_fillers_and_stammers_removed():
    """喂, 那个, 就是, 嗯 and a word said twice carry no meaning and are dropped."""
    out = normalise("喂 你好 那个 就是 井盖井盖没了 嗯").text
    assert out == "井盖没了"


def test_feeding_is_not_a_filler():
    """喂 is a filler but 喂养 (keeping animals, a matter) must survive."""
    assert "喂养" in strip_fillers("有人在楼下喂养鸡鸭")


def test_work_order_prefixes_are_signals_not_words():
    """12345 and 110 prefixes are recorded as signals and removed from the topic text."""
    a = normalise("市民来电反映：龙锦路有人占道经营。")
    assert a.signals == ("12345",) and a.text.startswith("龙锦路")
    b = normalise("110转办：报警人称太湖东路有燃气味")
    assert b.signals == ("110",) and b.text == "太湖东路有燃气味"
    c = normalise("接110指挥中心转：西夏墅大街井盖错位")
    assert c.signals == ("110",) and c.text.startswith("西夏墅大街")


def test_full_width_and_odd_input():
    """Full-width characters become half-width; None gives an empty result instead of an error."""
    assert normalise("ＧＢ１２３，全角！").text == "gb123 全角"
    assert normalise(None).text == ""
