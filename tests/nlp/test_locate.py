"""Finding street, community and grid in report text (nlp.locate) over the bundled gazetteer."""
from nlp.locate import PlaceFinder
from nlp.places import Place


def test_street_short_form(finder):
    """薛家 is the spoken short form of 薛家镇."""
    assert finder.locate("薛家这边有人乱倒垃圾").street == "薛家镇"
    assert finder.street_named("薛家") == "薛家镇"
    assert finder.street_named("新桥街道") == "新桥镇"


def test_landmark_alias(finder):
    """高铁站 is 常州北站 in 龙虎塘街道, with its community and grid."""
    loc = finder.locate("高铁站出口有人拉客")
    assert loc.street == "龙虎塘街道"
    assert "常州北站" in loc.places
    assert loc.grid is not None and loc.community is not None


def test_intersection_gives_shared_grid(finder, nlp_setup):
    """Two roads named together locate the report in the grid both roads cross."""
    loc = finder.locate("太湖路和汉江路交叉口井盖坏了")
    roads = {p.name: p for p in nlp_setup.places if p.kind == "road"}
    assert loc.grid in set(roads["太湖东路"].grids) & set(roads["汉江路"].grids)
    assert loc.street == "河海街道"


def test_community_gives_street(finder):
    """A community name resolves to its street and community code."""
    loc = finder.locate("华山社区里面垃圾没人清")
    assert loc.street == "三井街道"
    assert loc.community and loc.community.startswith("320411002")


def test_specific_place_beats_street_name(finder):
    """Conflicting streets: a compound outranks a bare street name."""
    loc = finder.locate("我是薛家的 现在在天安花园门口")
    assert loc.street == "河海街道"
    assert any("most specific" in r for r in loc.reasons)


def test_sound_alike_place_name(finder):
    """A homophone of a place name (血冶路 for 薛冶路) is still found, and the reason says so."""
    loc = finder.locate("血冶路上路灯不亮")
    assert loc.street == "薛家镇"
    assert any("sounds like" in r for r in loc.reasons)


def test_everyday_words_are_not_places(finder):
    """小河 (a stream) is also a community alias; alone it must not locate a report."""
    assert finder.locate("小河里有死鱼").street is None


def test_nothing_named_and_street_hint(finder):
    """No place words: nothing is guessed, but a street hint is used (official or short name)."""
    assert finder.locate("路灯不亮了").street is None
    assert finder.locate("路灯不亮了", street_hint="孟河").street == "孟河镇"


def test_small_gazetteer_without_config():
    """The finder works on any list of places (here a hand-made one, no config needed)."""
    places = [Place("甲街道", "street", "甲街道", aliases=("甲",)),
              Place("一路", "road", "甲街道", grids=("g1", "g2")),
              Place("二路", "road", "甲街道", grids=("g2", "g3"))]
    loc = PlaceFinder(places).locate("一路和二路路口")
    assert loc.grid == "g2" and loc.street == "甲街道"
