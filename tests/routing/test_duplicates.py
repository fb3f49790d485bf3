"""Duplicate detection rules (routing.duplicates), on a small synthetic district.

The district: street 河海街道 (S1) with community 河海社区 (C1, a 3x3 block of grids) and community
藻江社区 (C2, a 3x1 strip far east); street 三井街道 (S2) with community 华山社区 (C3, one grid far
north). Grid ids follow the 15-character layout; adjacency is computed from shared vertices.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from nlp.places import Place
from nlp.taxonomy import Taxonomy, TaxonomyEntry
from routing.district import Community, District, Grid, Street, compute_adjacency
from routing.duplicates import (
    CaseSnapshot,
    DuplicateDecider,
    DuplicateInputError,
    DuplicateParameters,
    ReportFacts,
    hot_issue,
    pairwise_scores,
    token_similarity,
)

CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 11, 2, 8, 0, tzinfo=CST)
S1, S2 = "320411001", "320411002"
C1, C2, C3 = S1 + "001", S1 + "002", S2 + "001"


def square(x: int, y: int) -> tuple:
    """A unit square ring at integer cell (x, y), scaled to about 100 m."""
    d = 0.001
    x0, y0 = 119.9 + x * d, 31.8 + y * d
    return ((x0, y0), (x0 + d, y0), (x0 + d, y0 + d), (x0, y0 + d), (x0, y0))


def gid(community: str, seq: int) -> str:
    """15-character grid id: community code (12) + 3-digit sequence."""
    return f"{community}{seq:03d}"


def build_district() -> District:
    """C1 holds cells (0..2, 0..2) numbered 1-9; C2 cells (10..12, 0); C3 cell (0, 10)."""
    grids = {}
    for i in range(9):
        g = Grid(gid(C1, i + 1), C1, S1, square(i % 3, i // 3))
        grids[g.id] = g
    for i in range(3):
        g = Grid(gid(C2, i + 1), C2, S1, square(10 + i, 0))
        grids[g.id] = g
    g = Grid(gid(C3, 1), C3, S2, square(0, 10))
    grids[g.id] = g
    return District(
        admin_code="320411", name="新北区",
        streets={S1: Street(S1, "河海街道", ("河海",)), S2: Street(S2, "三井街道", ("三井",))},
        communities={C1: Community(C1, "河海社区", S1), C2: Community(C2, "藻江社区", S1),
                     C3: Community(C3, "华山社区", S2)},
        grids=grids, adjacency=compute_adjacency(grids))


def build_taxonomy() -> Taxonomy:
    """A handful of matters and the confusable groups of the domain notes."""
    names = {"06042": "垃圾站（箱）满溢", "06010": "暴露垃圾", "06011": "积存垃圾渣土",
             "06036": "乱堆杂物", "09006": "占道经营", "01037": "路灯异常", "09009": "机动车乱停放"}
    rows = [TaxonomyEntry("matter", c, c[:2], n) for c, n in names.items()]
    return Taxonomy.from_rows(rows, confusable=[("06042", "06010", "06011"), ("06036", "09006")])


G = {n: gid(C1, n) for n in range(1, 10)}  # C1 grids by sequence: 1 2 3 / 4 5 6 / 7 8 9
FAR = gid(C2, 3)
NORTH = gid(C3, 1)

GAZETTEER = {
    "河海东路": Place("河海东路", "road", "河海街道", None, (G[1], G[2], G[3], gid(C2, 1), gid(C2, 2), FAR)),
    "天安花园": Place("天安花园", "compound", "河海街道", C1, (G[5],)),
    "锦绣东苑": Place("锦绣东苑", "compound", "河海街道", C2, (FAR,)),
    "河海菜场": Place("河海菜场", "market", "河海街道", C1, (G[9],)),
    "河海社区": Place("河海社区", "community", "河海街道", C1, ()),
}

GARBAGE = ("垃圾桶", "满", "溢出来", "臭")
GARBAGE_2 = ("垃圾箱", "满", "溢出来", "没人", "清理")


def report(**kw) -> ReportFacts:
    """A citizen report at T0 + 2 h in grid 5 about an overflowing bin; override any field."""
    base = dict(code="06042", street=S1, community=C1, grid=G[5], places=("天安花园",), tokens=GARBAGE_2,
                received_at=T0 + timedelta(hours=2), caller="13900000002", channel="sms", inspector=False,
                address=None)
    base.update(kw)
    return ReportFacts(**base)


def case(**kw) -> CaseSnapshot:
    """An open case opened at T0 in grid 5 about an overflowing bin; override any field."""
    base = dict(case_id=1, code="06042", street=S1, community=C1, grid=G[5], places=("天安花园",),
                tokens=GARBAGE, opened_at=T0, last_report_at=T0, status="open", closed_at=None,
                callers=("13900000001",), channels=("12345",), report_count=1, inspector_confirmed=False)
    base.update(kw)
    return CaseSnapshot(**base)


@pytest.fixture
def decider() -> DuplicateDecider:
    """The decider with default parameters and the small gazetteer."""
    return DuplicateDecider(build_taxonomy(), build_district(), DuplicateParameters(), gazetteer=GAZETTEER)


def test_same_grid_same_code_similar_text_merges(decider):
    """Two reports of one overflowing bin in one grid two hours apart are one case."""
    d = decider.decide(report(), [case()])
    assert d.outcome == "merge" and d.case_id == 1
    assert d.score >= 0.85


def test_reasons_name_grid_code_hours_and_similarity(decider):
    """The operator reads why: the grid id, the code, the hours apart and the similarity."""
    d = decider.decide(report(), [case()])
    text = " | ".join(d.reasons)
    assert f"same grid {G[5]}" in text
    assert "same code 06042" in text
    assert "2 h apart" in text
    sim = token_similarity(GARBAGE_2, GARBAGE)
    assert f"similar description {sim:.2f}" in text


def test_adjacent_grid_merges(decider):
    """A citizen's grid next to the inspector's (the same corner seen from across the road) merges."""
    r = report(grid=G[6], places=(), tokens=("垃圾", "满", "溢出来"))
    d = decider.decide(r, [case()])
    assert d.outcome == "merge"
    assert any("adjacent grids" in x for x in d.reasons)


def test_same_place_different_code_does_not_merge(decider):
    """Same grid, identical words, but a broken street lamp is not an overflowing bin."""
    r = report(code="01037", tokens=GARBAGE)
    d = decider.decide(r, [case()])
    assert d.outcome == "new" and d.case_id is None
    assert d.candidates[0].code_compatible is False
    assert any("different matter" in x for x in d.reasons)


def test_same_code_at_another_place_does_not_merge(decider):
    """The same problem type in a far grid with other place names is another problem."""
    r = report(community=C2, grid=FAR, places=("锦绣东苑",), tokens=GARBAGE)
    d = decider.decide(r, [case()])
    assert d.outcome == "new"
    assert any("another place" in x for x in d.reasons)


def test_two_compounds_in_one_community_are_two_places(decider):
    """Without grids, place names pinned to far grids mean two places even in one community."""
    r = report(grid=None, community=C1, places=("河海菜场",), tokens=GARBAGE)
    c = case(grid=None, places=("锦绣东苑",))
    assert decider.score(r, c).score == 0.0
    assert decider.decide(r, [c]).outcome == "new"


def test_same_caller_two_problems_do_not_merge(decider):
    """One caller reporting an overflowing bin and then a broken lamp at the same spot: two cases."""
    r = report(code="01037", caller="13900000001", tokens=GARBAGE)
    d = decider.decide(r, [case()])
    assert d.outcome == "new"
    assert any("same caller reports another matter" in x for x in d.reasons)


def test_same_caller_confusable_codes_never_merge_alone(decider):
    """Same caller, same spot, stalls after clutter (a confusable pair): at most ask, never merge."""
    r = report(code="09006", caller="13900000001", tokens=GARBAGE)
    d = decider.decide(r, [case(code="06036")])
    assert d.outcome == "ask" and d.score < DuplicateParameters().merge_threshold
    assert any("same caller, confusable codes" in x for x in d.reasons)


def test_same_caller_calling_again_merges(decider):
    """A caller ringing back about the same matter with less detail joins the case (催办)."""
    r = report(caller="13900000001", grid=None, community=None, places=(), tokens=("垃圾", "还是", "没人", "收"))
    d = decider.decide(r, [case()])
    assert d.outcome == "merge"
    assert any("same caller" in x for x in d.reasons)


def test_closed_case_gives_recurrence(decider):
    """The bin overflows again after its case was closed: a new case linked to the old one."""
    closed = case(status="closed", closed_at=T0 + timedelta(hours=5))
    r = report(received_at=T0 + timedelta(days=2))
    d = decider.decide(r, [closed])
    assert d.outcome == "recurrence"
    assert d.recurrence_of == 1 and d.case_id is None


def test_open_case_beats_closed_one(decider):
    """The second report of a recurrence joins the new open case, not another recurrence."""
    closed = case(case_id=1, status="closed", closed_at=T0 + timedelta(hours=5))
    reopened = case(case_id=2, opened_at=T0 + timedelta(days=2), last_report_at=T0 + timedelta(days=2))
    r = report(received_at=T0 + timedelta(days=2, hours=1))
    d = decider.decide(r, [closed, reopened])
    assert (d.outcome, d.case_id) == ("merge", 2)


def test_recurrence_needs_the_same_spot(decider):
    """A matching report in a far-off grid of the same street after a close is new, not a recurrence."""
    closed = case(grid=None, places=(), status="closed", closed_at=T0 + timedelta(hours=5))
    r = report(grid=None, places=(), received_at=T0 + timedelta(days=2), caller=None)
    d = decider.decide(r, [closed])
    assert d.outcome == "new" and d.recurrence_of is None
    assert any("not a recurrence" in x for x in d.reasons)


def test_adjacent_grids_with_two_named_spots_do_not_merge(decider):
    """Neighbouring grids but each report names its own compound: not merged on the grid alone."""
    r = report(grid=G[6], places=("河海菜场",), tokens=GARBAGE)  # even in the very same words
    s = decider.score(r, case())
    assert s.place_score == pytest.approx(0.55) and s.text_similarity == pytest.approx(1.0)
    d = decider.decide(r, [case()])
    assert d.outcome == "ask"
    assert any("names another place" in x for x in d.reasons)


def test_report_from_before_the_close_is_not_a_recurrence(decider):
    """A report older than the close describes the problem that was closed, not a new one."""
    closed = case(status="closed", closed_at=T0 + timedelta(hours=5))
    d = decider.decide(report(received_at=T0 + timedelta(hours=4)), [closed])
    assert d.outcome == "new"


def test_outside_the_window_is_new(decider):
    """An overflowing bin 30 h later is outside 06042's 24 h window: a new case."""
    r = report(received_at=T0 + timedelta(hours=30))
    d = decider.decide(r, [case()])
    assert d.outcome == "new"
    assert any("outside the 24 h window" in x for x in d.reasons)


def test_window_by_code_then_major_class_then_default(decider):
    """Windows: exact code first, then the 2-digit class, then the default."""
    assert decider.window_hours("06042") == 24
    assert decider.window_hours("01037") == 168
    assert decider.window_hours("07003") == 72


def test_ask_band_goes_to_the_operator(decider):
    """Same community and code but no grid and other words: the operator decides (ask)."""
    r = report(grid=None, places=(), tokens=("路边", "一堆", "东西"))
    d = decider.decide(r, [case()])
    assert d.outcome == "ask" and d.case_id == 1
    assert 0.42 <= d.score < 0.62


def test_same_street_only_is_too_weak(decider):
    """Sharing only the street with a case is not enough to merge or ask."""
    r = report(grid=None, community=None, places=(), tokens=("垃圾", "满"), caller=None)
    c = case(community=C2, grid=FAR, places=())
    d = decider.decide(r, [c])
    assert d.outcome == "new"
    assert decider.score(r, c).place_score == pytest.approx(0.2)


def test_inspector_code_is_authoritative_over_a_confusable_citizen_code(decider):
    """An inspector coding 06010 where citizens' case says 06042 confirms it, saying so."""
    r = report(code="06010", inspector=True, caller=None, channel="inspector")
    d = decider.decide(r, [case()])
    assert d.outcome == "merge"
    assert any("inspector's code 06010 is authoritative" in x for x in d.reasons)
    assert any("confirms" in x for x in d.reasons)


def test_two_inspectors_with_different_codes_are_two_problems(decider):
    """Inspectors code on site: 06010 and 06042 from two inspectors are two problems."""
    r = report(code="06010", inspector=True, caller=None, channel="inspector")
    d = decider.decide(r, [case(inspector_confirmed=True)])
    assert d.outcome == "new"


def test_inspector_report_after_citizens_merges(decider):
    """The inspector arriving hours after two citizens joins their case."""
    c = case(callers=("13900000001", "13900000003"), report_count=2, last_report_at=T0 + timedelta(hours=3))
    r = report(inspector=True, caller=None, channel="inspector", tokens=("垃圾箱", "满溢"),
               received_at=T0 + timedelta(hours=6))
    d = decider.decide(r, [c])
    assert (d.outcome, d.case_id) == ("merge", 1)


def test_road_through_the_case_grid_with_similar_text(decider):
    """A citizen naming only the road that runs through the case's grid merges when the words agree."""
    c = case(grid=G[2], places=())
    r = report(grid=None, places=("河海东路",), tokens=GARBAGE)
    s = decider.score(r, c)
    assert s.place_score == pytest.approx(0.7)
    assert decider.decide(r, [c]).outcome == "merge"


def test_shared_landmark_without_grid_merges(decider):
    """Two reports naming the same market, one without a grid, are the same spot."""
    c = case(grid=None, places=("河海菜场",))
    r = report(grid=None, places=("河海菜场",), tokens=("垃圾", "满", "溢出来"))
    assert decider.decide(r, [c]).outcome == "merge"


def test_best_of_several_candidates(decider):
    """Among candidates the highest score wins; excluded ones never do."""
    far = case(case_id=7, grid=FAR, community=C2, places=())
    near = case(case_id=8, grid=G[4], places=())
    here = case(case_id=9)
    d = decider.decide(report(), [far, near, here])
    assert d.case_id == 9
    assert [c.case_id for c in d.candidates][:2] == [9, 8]


def test_classifier_runner_up_code_counts_only_at_the_same_spot(decider):
    """A misclassified citizen report joins the case at the same grid when the case's code was
    the classifier's runner-up; elsewhere in the community the runner-up is not enough."""
    here = report(code="09009", alternative_codes=("06042",), tokens=GARBAGE)
    d = decider.decide(here, [case()])
    assert d.outcome == "merge"
    assert any("runner-up" in x for x in d.reasons)
    elsewhere = report(code="09009", alternative_codes=("06042",), grid=None, places=(), tokens=GARBAGE, caller=None)
    assert decider.decide(elsewhere, [case()]).outcome == "new"
    without = report(code="09009", tokens=GARBAGE)
    assert decider.decide(without, [case()]).outcome == "new"


def test_report_without_code_is_new(decider):
    """An out-of-scope report (no code) never joins a case."""
    assert decider.decide(report(code=None), [case()]).outcome == "new"


def test_naive_datetime_is_a_clear_error(decider):
    """A naive time is refused with the field named, not compared wrongly."""
    with pytest.raises(DuplicateInputError, match="received_at"):
        decider.decide(report(received_at=datetime(2026, 11, 2, 8)), [case()])


def test_closed_case_without_close_time_is_a_clear_error(decider):
    """A closed case must say when it closed."""
    with pytest.raises(DuplicateInputError, match="closed_at"):
        decider.decide(report(), [case(status="closed")])


def test_bad_settings_are_refused():
    """Thresholds out of order or windows with bad keys are named in the error."""
    with pytest.raises(DuplicateInputError, match="ask_threshold"):
        DuplicateDecider(build_taxonomy(), build_district(), DuplicateParameters(merge_threshold=0.4))
    with pytest.raises(DuplicateInputError, match=r"windows_hours\['6'\]"):
        DuplicateDecider(build_taxonomy(), build_district(), DuplicateParameters(windows_hours={"6": 3}))


def test_settings_may_be_any_object_with_the_names(decider):
    """The config loader's DuplicateSettings is a different class with the same attributes."""
    class Other:
        merge_threshold = 0.95
        ask_threshold = 0.9
        default_window_hours = 10
        windows_hours = {}

    strict = DuplicateDecider(build_taxonomy(), build_district(), Other())
    r = report(grid=G[6], places=(), tokens=("垃圾",))
    assert strict.decide(r, [case()]).outcome == "new"
    assert decider.decide(r, [case()]).outcome == "merge"


def test_injected_similarity_is_used():
    """The NLP helper's similarity replaces the default."""
    calls = []

    def sim(a, b):
        calls.append((tuple(a), tuple(b)))
        return 0.5

    d = DuplicateDecider(build_taxonomy(), build_district(), DuplicateParameters(), similarity=sim)
    s = d.score(report(), case())
    assert s.text_similarity == 0.5 and calls == [(GARBAGE_2, GARBAGE)]


def test_token_similarity_ignores_fillers():
    """Fillers and punctuation do not make two different complaints similar."""
    assert token_similarity(("喂", "那个", "就是", "，"), ("喂", "那个", "就是")) == 0.0
    assert token_similarity(("井盖", "没了"), ("井盖", "没了")) == pytest.approx(1.0)
    assert token_similarity((), ("井盖",)) == 0.0


def test_pairwise_scores_hand_computed():
    """Truth {a,b,c}{d}{e,f}; predicted {a,b}{c,d}{e,f}; g only in truth (ignored).

    True pairs: ab ac bc ef = 4. Predicted pairs: ab cd ef = 3. Correct: ab ef = 2.
    Precision 2/3, recall 2/4, F1 = 2*(2/3)(1/2)/(2/3+1/2) = 4/7.
    """
    truth = {"a": 1, "b": 1, "c": 1, "d": 2, "e": 3, "f": 3, "g": 4}
    pred = {"a": 10, "b": 10, "c": 11, "d": 11, "e": 12, "f": 12}
    p, r, f1, counts = pairwise_scores(truth, pred)
    assert p == pytest.approx(2 / 3) and r == pytest.approx(0.5) and f1 == pytest.approx(4 / 7)
    assert counts == {"reports": 6, "true_pairs": 4, "predicted_pairs": 3, "true_positive": 2,
                      "false_positive": 1, "false_negative": 2}


def test_pairwise_scores_all_singletons():
    """No pairs anywhere: nothing wrong, nothing missed."""
    p, r, f1, counts = pairwise_scores({"a": 1, "b": 2}, {"a": 1, "b": 2})
    assert (p, r, f1) == (1.0, 1.0, 1.0) and counts["true_pairs"] == 0


def test_hot_issue_counts_the_last_days():
    """Three reports within three days is hot; the third one outside the window is not."""
    now = T0 + timedelta(days=3)
    times = [T0 + timedelta(days=1), T0 + timedelta(days=2), T0 + timedelta(days=2, hours=5)]
    assert hot_issue(times, now)
    assert not hot_issue(times[:2] + [T0 - timedelta(hours=1)], now)
    assert not hot_issue(times, now, reports=4)
    assert not hot_issue([now + timedelta(hours=1)] * 3, now)  # future reports do not count
    with pytest.raises(DuplicateInputError, match="days"):
        hot_issue(times, now, days=0)


def test_decision_is_frozen():
    """Decisions are values: they cannot be changed after the fact."""
    d = DuplicateDecider(build_taxonomy(), build_district(), DuplicateParameters()).decide(report(), [case()])
    with pytest.raises(Exception):
        d.outcome = "new"  # type: ignore[misc]
    assert replace(d, outcome="new").outcome == "new"


REPO = __import__("pathlib").Path(__file__).resolve().parents[2]
SAMPLES = REPO / "intake" / "samples"


@pytest.mark.skipif(not (SAMPLES / "replay-xinbei.jsonl").exists(), reason="replay sample not present")
def test_bundled_replay_stream_is_valid(capsys):
    """The labelled replay keeps its invariants (order, ids, fields, truth, grids in config)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("check_replay", SAMPLES / "check_replay.py")
    checker = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(checker)
    args = [str(SAMPLES / "replay-xinbei.jsonl")]
    if (REPO / "config" / "grids.yaml").exists():
        args += ["--config", str(REPO / "config")]
    assert checker.main(args) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "recurrences 4" in out and "OK: 0 problem(s)" in out
