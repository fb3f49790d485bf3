"""Duplicate detection: is a new report one more voice on an open case, a recurrence, or new?

One problem must be one case. 15-30 % of civic reports repeat a problem already reported: an
inspector (监督员) files it with a matter code and a grid, citizens call hours later in their own
words and name the place differently (a landmark, a road, a compound, a market). FixMyStreet
matches by category and a 250 m radius only; here four signals are combined:

- place: same unit grid > adjacent grid > the same named place / a grid on the named road >
  same community > same street only (weak). Two grids that are known, different and not
  adjacent, with no place name in common, are another place: a hard negative.
- matter: the same code, or a pair the taxonomy notes as confusable (GB/T 47678.5-2026 section
  notes, e.g. 06042 vs 06010). An inspector's code is authoritative: two inspectors who coded
  different matters saw different problems, while a citizen's classified code that is merely
  confusable with an inspector's still matches.
- time: inside the matter's window (a code, else its 2-digit major class, else the default).
- text: similarity of the descriptions (an injected callable; Jaccard/cosine by default).

The module is pure: frozen dataclasses in, a decision out. The store supplies the candidates
(see `DuplicateDecider.decide`); the decider re-checks every rule itself.
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable, Mapping, Sequence

OUTCOMES = ("merge", "new", "ask", "recurrence")
CASE_STATUSES = ("open", "closed")

# Weights of the four signals in the combined score; they sum to 1. Place dominates because two
# citizens rarely describe one problem in the same words, while the place is what they share.
PLACE_WEIGHT = 0.45
CODE_WEIGHT = 0.20
TIME_WEIGHT = 0.15
TEXT_WEIGHT = 0.20
# A confusable code pair counts for this fraction of an exact code match.
CONFUSABLE_CODE_CREDIT = 0.6

# Place scores, strongest first (see `_place_match`).
SAME_GRID = 1.0
SAME_PLACE_NO_GRID = 0.85
PLACE_GRID_MATCH = 0.8
ADJACENT_GRID = 0.8
# Adjacent grids, but each side names its own spot (two compounds, a market and a school): the
# grids only say "within a kilometre or two"; the names say two places. Across a street border
# the two places also belong to different localities.
ADJACENT_OTHER_SPOT = 0.55
ADJACENT_OTHER_SPOT_OTHER_STREET = 0.4
# A closed case recurs only at the same spot: a matching report farther away is a new problem.
RECURRENCE_MIN_PLACE = 0.65
SAME_PLACE_FAR_GRIDS = 0.7
PLACE_GRID_NEAR = 0.65
SAME_ROAD = 0.55
SAME_COMMUNITY = 0.45
SAME_CALLER_SAME_CODE = 0.8
SAME_STREET = 0.2

# Place kinds (nlp.places.PLACE_KINDS) that name an area, not a spot: sharing one says little.
AREA_KINDS = frozenset({"street", "community"})
# Long places: sharing one says "somewhere along it".
LINEAR_KINDS = frozenset({"road", "river"})

# Words that carry no meaning about the problem (spoken fillers, particles, work-order boilerplate).
STOPWORDS = frozenset(
    "喂 那个 这个 就是 嗯 啊 呃 哦 然后 的 了 在 是 我 我们 你 你们 有 也 都 就 还 很 和 跟 吧 呢 吗 "
    "一下 一个 这边 那边 这里 那里 现在 已经 没有 请 麻烦 市民 来电 反映 来电人 诉求人 称 处理 核实 "
    "相关 部门 尽快 谢谢 您好 你好 报警人 转办".split()
)


class DuplicateInputError(ValueError):
    """A report, case or setting that cannot be judged; the message says which field and why."""


@dataclass(frozen=True)
class ReportFacts:
    """What the pipeline knows about one incoming report.

    code: the matter code (an inspector's own, or the classifier's); None when out of scope.
    places: canonical gazetteer names found in the text/address; tokens: description tokens.
    received_at must be timezone-aware. inspector: filed by a field inspector (监督员).
    alternative_codes: the classifier's runner-up codes for a citizen's report (its top
    candidates after `code`); a case whose code is among them is treated like a confusable pair.
    """

    code: str | None
    street: str | None
    community: str | None
    grid: str | None
    places: tuple[str, ...]
    tokens: tuple[str, ...]
    received_at: datetime
    caller: str | None
    channel: str
    inspector: bool
    address: str | None = None
    alternative_codes: tuple[str, ...] = ()


@dataclass(frozen=True)
class CaseSnapshot:
    """An existing case as the store sees it when a report arrives.

    places and tokens are the union over the case's reports; callers and channels likewise.
    inspector_confirmed: an inspector filed or confirmed it, so its code is an inspector's.
    """

    case_id: int
    code: str
    street: str | None
    community: str | None
    grid: str | None
    places: tuple[str, ...]
    tokens: tuple[str, ...]
    opened_at: datetime
    last_report_at: datetime
    status: str
    closed_at: datetime | None
    callers: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    report_count: int = 1
    inspector_confirmed: bool = False
    # The classifier's runner-up codes for the case's citizen reports (its code may be the wrong one).
    alternative_codes: tuple[str, ...] = ()


@dataclass(frozen=True)
class CandidateScore:
    """How well one case matches a report.

    score is 0 when a hard rule excludes the case (incompatible code, another place, outside the
    window, a closed case without recurrence); `reasons` then say which rule.
    hours_apart: from the case's last report (open case) or its close (closed case) to the report.
    """

    case_id: int
    score: float
    place_score: float
    code_compatible: bool
    hours_apart: float
    text_similarity: float
    reasons: tuple[str, ...]
    excluded: bool = False


@dataclass(frozen=True)
class DuplicateDecision:
    """The decider's answer for one report.

    merge: add the report to case_id. ask: an operator decides; case_id is the best candidate.
    new: open a new case. recurrence: open a new case linked to the closed case recurrence_of.
    """

    outcome: str
    case_id: int | None
    score: float
    reasons: tuple[str, ...]
    recurrence_of: int | None = None
    candidates: tuple[CandidateScore, ...] = field(default=(), compare=False)


@dataclass(frozen=True)
class DuplicateParameters:
    """Default thresholds and windows; the config loader's DuplicateSettings has the same names.

    windows_hours maps a matter code or a 2-digit major class to hours; the exact code wins.
    """

    merge_threshold: float = 0.62
    ask_threshold: float = 0.42
    default_window_hours: float = 72.0
    windows_hours: Mapping[str, float] = field(default_factory=lambda: {
        "06010": 24.0,  # loose garbage is usually cleared within a working day
        "06012": 24.0,
        "06014": 24.0,
        "06042": 24.0,
        "09001": 12.0,  # hawkers move on: the next day is another stall
        "09006": 24.0,
        "09009": 12.0,  # a parked car is gone in hours
        "01": 168.0,  # broken assets stay broken until repaired
        "02": 168.0,
        "04": 168.0,
        "06013": 168.0,
    })


def check_settings(settings: Any) -> None:
    """Raise DuplicateInputError naming the attribute when settings are missing or inconsistent."""
    problems = []
    for name in ("merge_threshold", "ask_threshold", "default_window_hours", "windows_hours"):
        if not hasattr(settings, name):
            problems.append(f"settings.{name}: missing")
    if problems:
        raise DuplicateInputError("; ".join(problems))
    for name in ("merge_threshold", "ask_threshold"):
        value = getattr(settings, name)
        if not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
            problems.append(f"settings.{name}: {value!r} is not a number in [0, 1]")
    if not problems and settings.ask_threshold > settings.merge_threshold:
        problems.append(f"settings.ask_threshold: {settings.ask_threshold} is above merge_threshold "
                        f"{settings.merge_threshold}")
    if not isinstance(settings.default_window_hours, (int, float)) or settings.default_window_hours <= 0:
        problems.append(f"settings.default_window_hours: {settings.default_window_hours!r} is not a positive number")
    windows = settings.windows_hours
    if not isinstance(windows, Mapping):
        problems.append("settings.windows_hours: not a mapping of code or 2-digit class to hours")
    else:
        for key, hours in windows.items():
            if not isinstance(key, str) or not key.isdigit() or len(key) not in (2, 5):
                problems.append(f"settings.windows_hours[{key!r}]: key is not a 5-digit code or 2-digit class")
            if not isinstance(hours, (int, float)) or hours <= 0:
                problems.append(f"settings.windows_hours[{key!r}]: {hours!r} is not a positive number of hours")
    if problems:
        raise DuplicateInputError("; ".join(problems))


def _content_tokens(tokens: Sequence[str]) -> Counter:
    """Tokens that say something about the problem: no blanks, punctuation or fillers."""
    return Counter(t for t in (tok.strip() for tok in tokens)
                   if t and t not in STOPWORDS and any(ch.isalnum() for ch in t))


def token_similarity(tokens_a: Sequence[str], tokens_b: Sequence[str]) -> float:
    """Default description similarity in [0, 1]: the larger of token-set Jaccard and count cosine.

    Cosine rewards repeated key words in long texts, Jaccard short messages; taking the larger
    keeps either from hiding a real match. Empty descriptions are similar to nothing.
    """
    a, b = _content_tokens(tokens_a), _content_tokens(tokens_b)
    if not a or not b:
        return 0.0
    sa, sb = set(a), set(b)
    jaccard = len(sa & sb) / len(sa | sb)
    dot = sum(a[t] * b[t] for t in sa & sb)
    cosine = dot / (math.sqrt(sum(v * v for v in a.values())) * math.sqrt(sum(v * v for v in b.values())))
    return max(0.0, min(1.0, max(jaccard, cosine)))


def _aware(value: datetime | None, what: str) -> None:
    """Refuse naive datetimes: comparing them with aware ones would crash or lie by hours."""
    if value is not None and (not isinstance(value, datetime) or value.utcoffset() is None):
        raise DuplicateInputError(f"{what}: {value!r} is not a timezone-aware datetime")


def _hours(delta: timedelta) -> float:
    return delta.total_seconds() / 3600.0


def _fmt_hours(hours: float) -> str:
    """Hours as an operator reads them: '35 min', '2 h', '1.5 d'."""
    if hours < 1:
        return f"{max(0, round(hours * 60))} min"
    if hours < 48:
        return f"{hours:.0f} h" if hours >= 10 or abs(hours - round(hours)) < 0.05 else f"{hours:.1f} h"
    return f"{hours / 24:.1f} d"


class DuplicateDecider:
    """Decides whether a report joins an open case, recurs a closed one, or is new.

    taxonomy: has is_confusable(a, b) (nlp.taxonomy.Taxonomy).
    district: has neighbours(grid_id), streets and communities (routing.district.District).
    settings: any object with merge_threshold, ask_threshold, default_window_hours, windows_hours.
    similarity: callable(tokens_a, tokens_b) -> float in [0, 1]; defaults to token_similarity.
    gazetteer: optional mapping canonical place name -> place with .kind and .grids
      (nlp.places.Place); with it a road is told from a spot and a place's grids are compared
      with a case's grid. Without it every shared non-area name counts as the same spot.
    recurrence_days: how long after a close a matching report is a recurrence.
    """

    def __init__(self, taxonomy: Any, district: Any, settings: Any,
                 similarity: Callable[[Sequence[str], Sequence[str]], float] | None = None,
                 gazetteer: Mapping[str, Any] | None = None,
                 recurrence_days: float = 30.0) -> None:
        check_settings(settings)
        if recurrence_days <= 0:
            raise DuplicateInputError(f"recurrence_days: {recurrence_days!r} is not positive")
        self.taxonomy = taxonomy
        self.district = district
        self.settings = settings
        self.similarity = similarity or token_similarity
        self.gazetteer = gazetteer or {}
        self.recurrence_hours = recurrence_days * 24.0
        # Names of streets and communities (official and aliases): naming one is not a spot.
        area: set[str] = set()
        for collection in (getattr(district, "streets", {}), getattr(district, "communities", {})):
            for unit in collection.values():
                area.add(unit.name)
                area.update(getattr(unit, "aliases", ()))
        self._area_names = frozenset(area)

    # -- windows -----------------------------------------------------------------------------
    def window_hours(self, code: str) -> float:
        """The duplicate window of a matter: its own, else its major class's, else the default."""
        windows = self.settings.windows_hours
        if code in windows:
            return float(windows[code])
        if code[:2] in windows:
            return float(windows[code[:2]])
        return float(self.settings.default_window_hours)

    # -- place -------------------------------------------------------------------------------
    def _kind(self, name: str) -> str:
        if name in self._area_names:
            return "area"
        place = self.gazetteer.get(name)
        kind = getattr(place, "kind", None)
        if kind in AREA_KINDS:
            return "area"
        if kind in LINEAR_KINDS:
            return "linear"
        return "spot"

    def _place_grids(self, names: Sequence[str]) -> tuple[set[str], bool]:
        """Grids of named places (spots and roads, not areas) and whether any is a long place."""
        grids: set[str] = set()
        linear = False
        for name in names:
            kind = self._kind(name)
            if kind == "area":
                continue
            place = self.gazetteer.get(name)
            place_grids = tuple(getattr(place, "grids", ()) or ())
            grids.update(place_grids)
            linear = linear or kind == "linear" or len(place_grids) > 2
        return grids, linear

    def _spots(self, names: Sequence[str]) -> list[str]:
        return [n for n in names if self._kind(n) == "spot"]

    @staticmethod
    def _other_spot(report: ReportFacts, case: CaseSnapshot, own_spots, near: str) -> tuple[float, list[str], bool]:
        mine, theirs = own_spots
        other_street = bool(report.street and case.street and report.street != case.street)
        score = ADJACENT_OTHER_SPOT_OTHER_STREET if other_street else ADJACENT_OTHER_SPOT
        return score, [f"{near} but different places: {'、'.join(mine)} vs {'、'.join(theirs)}"
                       + (f" in {report.street} and {case.street}" if other_street else "")], False

    @staticmethod
    def _where(places: Sequence[str], grid: str | None) -> str:
        return "、".join(places) or (f"grid {grid}" if grid else "?")

    def _near(self, a: set[str], b: set[str]) -> bool:
        return any(self.district.neighbours(g) & b for g in a)

    def _place_match(self, report: ReportFacts, case: CaseSnapshot) -> tuple[float, list[str], bool]:
        """(place score, reasons, conflict). conflict: known to be another place (hard negative)."""
        shared = sorted(set(report.places) & set(case.places))
        spots = [n for n in shared if self._kind(n) == "spot"]
        roads = [n for n in shared if self._kind(n) == "linear"]
        rg, cg = report.grid, case.grid
        own_spots = self._spots(report.places), self._spots(case.places)
        other_spots = all(own_spots) and not spots
        if rg and cg:
            if rg == cg:
                return SAME_GRID, [f"same grid {rg}"], False
            if cg in self.district.neighbours(rg) or rg in self.district.neighbours(cg):
                if other_spots:
                    return self._other_spot(report, case, own_spots, f"adjacent grids {rg} and {cg}")
                return ADJACENT_GRID, [f"adjacent grids {rg} and {cg}"], False
            if spots:
                # A large landmark (a stadium, a station) spans grids; its name outweighs the grid.
                return SAME_PLACE_FAR_GRIDS, [f"same place {'、'.join(spots)} (grids {rg} and {cg} not adjacent)"], False
            return 0.0, [f"another place: grids {rg} and {cg} are not adjacent"
                         + (f" (only the road {'、'.join(roads)} in common)" if roads else "")], True

        best, why = 0.0, []

        def offer(score: float, reason: str) -> None:
            nonlocal best, why
            if score > best:
                best, why = score, [reason]

        if spots:
            offer(SAME_PLACE_NO_GRID, f"same place {'、'.join(spots)}")
        rset, rlinear = ({rg}, False) if rg else self._place_grids(report.places)
        cset, clinear = ({cg}, False) if cg else self._place_grids(case.places)
        if rset and cset:
            linear = rlinear or clinear
            if rset & cset:
                where = f"grid {sorted(rset & cset)[0]}"
                offer(SAME_PLACE_FAR_GRIDS if linear else PLACE_GRID_MATCH,
                      f"{'along the same road, ' if linear else ''}places meet in {where}")
            elif self._near(rset, cset):
                if other_spots:
                    score, why, _ = self._other_spot(report, case, own_spots, "places in adjacent grids")
                    offer(score, why[0])
                else:
                    offer(SAME_ROAD if linear else PLACE_GRID_NEAR, "places in adjacent grids")
            elif not shared:
                # Both sides are pinned to grids far apart: another place, whatever the community.
                return 0.0, [f"another place: {self._where(report.places, rg)} vs {self._where(case.places, cg)}"], True
        if roads:
            offer(SAME_ROAD, f"same road {'、'.join(roads)}")
        if report.community and report.community == case.community:
            offer(SAME_COMMUNITY, f"same community {report.community}")
        elif report.street and report.street == case.street:
            offer(SAME_STREET, f"same street {report.street} only")
        elif report.street and case.street and not shared and best == 0.0:
            return 0.0, [f"another place: street {report.street} vs {case.street}"], True
        return best, why, False

    # -- code --------------------------------------------------------------------------------
    def _code_match(self, report: ReportFacts, case: CaseSnapshot) -> tuple[float, list[str], bool]:
        """(credit in [0, 1], reasons, compatible)."""
        if report.code == case.code:
            return 1.0, [f"same code {case.code}"], True
        same_caller = bool(report.caller) and report.caller in case.callers
        confusable = self.taxonomy.is_confusable(report.code, case.code)
        if same_caller and not confusable:
            # One person calling twice with two matters is reporting two problems.
            return 0.0, [f"same caller reports another matter ({report.code} vs {case.code})"], False
        if not confusable and not report.inspector and case.code in report.alternative_codes:
            # The classifier hesitated between the two: as good as a confusable pair, if the
            # place agrees (credit is partial, so the place must carry the score).
            if same_caller:
                return CONFUSABLE_CODE_CREDIT, [f"same caller; case code {case.code} was the classifier's runner-up "
                                                f"for this report ({report.code}): another problem or the same one?"], True
            return CONFUSABLE_CODE_CREDIT, [f"case code {case.code} was the classifier's runner-up for this report "
                                            f"({report.code})"], True
        if (not confusable and report.inspector and not case.inspector_confirmed
                and report.code in case.alternative_codes):
            # Citizens' case, classified by the machine; the inspector's code was its runner-up.
            return CONFUSABLE_CODE_CREDIT, [f"inspector's code {report.code} is authoritative; it was the "
                                            f"classifier's runner-up for this case ({case.code})"], True
        if not confusable:
            return 0.0, [f"different matter: {report.code} vs {case.code}"], False
        if same_caller:
            # A confusable pair from one caller: a second problem or the classifier's noise on a
            # call-back. Only a person can tell: score() caps it below the merge threshold.
            return CONFUSABLE_CODE_CREDIT, [f"same caller, confusable codes {report.code} and {case.code}: "
                                            f"another problem or the same one?"], True
        if report.inspector and case.inspector_confirmed:
            # Inspectors code on site; two inspectors' different codes are two problems.
            return 0.0, [f"two inspectors coded different matters ({report.code} vs {case.code})"], False
        if report.inspector:
            return CONFUSABLE_CODE_CREDIT, [f"inspector's code {report.code} is authoritative "
                                            f"(case had {case.code}, a confusable pair)"], True
        if case.inspector_confirmed:
            return CONFUSABLE_CODE_CREDIT, [f"code {report.code} confusable with the inspector's {case.code}"], True
        return CONFUSABLE_CODE_CREDIT, [f"confusable codes {report.code} and {case.code}"], True

    # -- scoring -----------------------------------------------------------------------------
    def _check_report(self, report: ReportFacts) -> None:
        _aware(report.received_at, "report.received_at")

    def _check_case(self, case: CaseSnapshot) -> None:
        if case.status not in CASE_STATUSES:
            raise DuplicateInputError(f"case {case.case_id}: status {case.status!r} is not one of {CASE_STATUSES}")
        _aware(case.last_report_at, f"case {case.case_id}: last_report_at")
        _aware(case.opened_at, f"case {case.case_id}: opened_at")
        if case.status == "closed":
            if case.closed_at is None:
                raise DuplicateInputError(f"case {case.case_id}: closed but closed_at is missing")
            _aware(case.closed_at, f"case {case.case_id}: closed_at")

    def score(self, report: ReportFacts, case: CaseSnapshot) -> CandidateScore:
        """How well `case` matches `report`, with reasons an operator can read.

        Hard rules give score 0 (excluded): no or incompatible code, another place, outside the
        matter's window (open case), more than recurrence_days after the close (closed case).
        """
        self._check_report(report)
        self._check_case(case)
        closed = case.status == "closed"
        since = case.closed_at if closed else case.last_report_at
        hours = _hours(report.received_at - since)
        text = float(self.similarity(report.tokens, case.tokens))
        text = max(0.0, min(1.0, text))
        if report.code is None:
            return CandidateScore(case.case_id, 0.0, 0.0, False, hours, text,
                                  ("report has no matter code",), True)
        credit, code_why, compatible = self._code_match(report, case)
        place, place_why, conflict = self._place_match(report, case)
        same_caller = bool(report.caller) and report.caller in case.callers
        if compatible and credit == 1.0 and same_caller and place < SAME_CALLER_SAME_CODE and not conflict:
            # A caller ringing back about the same matter (催办) often gives less detail the second time.
            place, place_why = SAME_CALLER_SAME_CODE, [f"same caller {report.caller} again"]
        reasons = place_why + code_why
        if closed and hours < 0:
            # A report from before the close belongs to the closed case: neither merge nor recurrence.
            return CandidateScore(case.case_id, 0.0, place, compatible, hours, text,
                                  tuple(reasons + ["received before the case was closed"]), True)
        window = max(self.window_hours(case.code), self.window_hours(report.code))
        apart = abs(hours)
        too_far = False
        if closed:
            time_credit = 1.0
            reasons.append(f"{_fmt_hours(apart)} after case {case.case_id} was closed")
            outside = apart > self.recurrence_hours
            too_far = place < RECURRENCE_MIN_PLACE
        else:
            time_credit = 1.0 - 0.5 * min(apart / window, 1.0)
            reasons.append(f"{_fmt_hours(apart)} apart")
            outside = apart > window
        reasons.append(f"similar description {text:.2f}")
        if not compatible or conflict:
            return CandidateScore(case.case_id, 0.0, place, compatible, hours, text, tuple(reasons), True)
        runner_up = (report.code != case.code and not self.taxonomy.is_confusable(report.code, case.code))
        if runner_up and place < ADJACENT_GRID:
            # A runner-up code is weak evidence: only at the very spot may it stand for the code.
            reasons.append(f"runner-up code needs the same spot (place {place:.2f} < {ADJACENT_GRID:.2f})")
            return CandidateScore(case.case_id, 0.0, place, False, hours, text, tuple(reasons), True)
        if too_far and not conflict:
            reasons.append(f"not the same spot as closed case {case.case_id} (place {place:.2f} < "
                           f"{RECURRENCE_MIN_PLACE:.2f}): not a recurrence")
            return CandidateScore(case.case_id, 0.0, place, compatible, hours, text, tuple(reasons), True)
        if outside:
            limit = f"{self.recurrence_hours / 24:.0f}-day recurrence limit" if closed else f"{_fmt_hours(window)} window"
            reasons.append(f"outside the {limit}")
            return CandidateScore(case.case_id, 0.0, place, compatible, hours, text, tuple(reasons), True)
        # Closeness in time and words only means something where the place could be the same:
        # below a shared community they count in proportion to the place evidence.
        support = min(1.0, place / SAME_COMMUNITY)
        total = (PLACE_WEIGHT * place + CODE_WEIGHT * credit
                 + support * (TIME_WEIGHT * time_credit + TEXT_WEIGHT * text))
        if report.inspector and not case.inspector_confirmed and not closed:
            reasons.append("inspector report confirms the citizens' case")
        mine, theirs = set(self._spots(report.places)), set(self._spots(case.places))
        other_spots = bool(mine and theirs and not mine & theirs and not (report.grid and report.grid == case.grid))
        if (same_caller and report.code != case.code) or other_spots:
            # Contradicting evidence (one caller, two matters; two different named spots): problems
            # of one kind are described in the same words, so similar text cannot settle it.
            # Never merge on our own: the operator decides (ask band at most).
            total = min(total, self.settings.merge_threshold - 0.01)
            if other_spots:
                reasons.append(f"names another place ({'、'.join(sorted(mine))} vs {'、'.join(sorted(theirs))}): "
                               f"an operator decides")
        return CandidateScore(case.case_id, round(total, 4), place, compatible, hours, text, tuple(reasons))

    def decide(self, report: ReportFacts, candidates: Sequence[CaseSnapshot]) -> DuplicateDecision:
        """Merge, ask, recurrence or new for `report` among the store's candidate cases.

        The store passes open cases in the report's grid or its neighbours, in the same
        community, or sharing a gazetteer place, inside the largest window; plus cases closed
        within recurrence_days. An open case at or above merge_threshold wins over a closed one
        (a second report of a recurrence joins the new case); ties go to the most recent case.
        """
        self._check_report(report)
        if report.code is None:
            return DuplicateDecision("new", None, 0.0, ("report has no matter code: nothing to match",))
        scored = [(self.score(report, c), c) for c in candidates]

        def rank(item: tuple[CandidateScore, CaseSnapshot]):
            s, c = item
            return (-s.score, -(c.last_report_at.timestamp()), c.case_id)

        open_ = sorted((x for x in scored if x[1].status == "open" and not x[0].excluded), key=rank)
        closed = sorted((x for x in scored if x[1].status == "closed" and not x[0].excluded), key=rank)
        all_scores = tuple(s for s, _ in sorted(scored, key=rank))
        merge, ask = self.settings.merge_threshold, self.settings.ask_threshold
        if open_ and open_[0][0].score >= merge:
            best = open_[0][0]
            return DuplicateDecision("merge", best.case_id, best.score,
                                     best.reasons + (f"score {best.score:.2f} >= merge threshold {merge:.2f}",),
                                     None, all_scores)
        if closed and closed[0][0].score >= merge:
            best = closed[0][0]
            return DuplicateDecision("recurrence", None, best.score,
                                     best.reasons + (f"recurs closed case {best.case_id} "
                                                     f"(score {best.score:.2f} >= {merge:.2f})",),
                                     best.case_id, all_scores)
        if open_ and open_[0][0].score >= ask:
            best = open_[0][0]
            return DuplicateDecision("ask", best.case_id, best.score,
                                     best.reasons + (f"score {best.score:.2f} between ask {ask:.2f} "
                                                     f"and merge {merge:.2f}: operator decides",),
                                     None, all_scores)
        reasons: list[str] = []
        if scored:
            # Explain with the candidate an operator would look at first: the best score, else
            # the nearest in place, then in time.
            top = max(scored, key=lambda x: (x[0].score, x[0].place_score, x[0].code_compatible,
                                            -abs(x[0].hours_apart)))[0]
            reasons.append(f"no case close enough (best: case {top.case_id}, score {top.score:.2f})")
            if top.excluded:
                reasons.extend(top.reasons)
            if closed and closed[0][0].score >= ask:
                reasons.append(f"may recur closed case {closed[0][0].case_id} (score {closed[0][0].score:.2f})")
        else:
            reasons.append("no candidate case")
        return DuplicateDecision("new", None, open_[0][0].score if open_ else 0.0,
                                 tuple(reasons), None, all_scores)


def pairwise_scores(truth: Mapping[Any, Any], predicted: Mapping[Any, Any]) -> tuple[float, float, float, dict]:
    """Pairwise precision, recall and F1 of a clustering against the truth.

    Two reports form a pair when they are in the same cluster (truth) or case (predicted); only
    reports present in both maps count. With no predicted pairs precision is 1.0, with no true
    pairs recall is 1.0 (nothing to find). counts: reports, true_pairs, predicted_pairs,
    true_positive, false_positive, false_negative.
    """
    common = [r for r in truth if r in predicted]
    cells: Counter = Counter((truth[r], predicted[r]) for r in common)
    by_truth: Counter = Counter(truth[r] for r in common)
    by_pred: Counter = Counter(predicted[r] for r in common)

    def pairs(n: int) -> int:
        return n * (n - 1) // 2

    tp = sum(pairs(n) for n in cells.values())
    true_pairs = sum(pairs(n) for n in by_truth.values())
    pred_pairs = sum(pairs(n) for n in by_pred.values())
    precision = tp / pred_pairs if pred_pairs else 1.0
    recall = tp / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    counts = {"reports": len(common), "true_pairs": true_pairs, "predicted_pairs": pred_pairs,
              "true_positive": tp, "false_positive": pred_pairs - tp, "false_negative": true_pairs - tp}
    return precision, recall, f1, counts


def hot_issue(report_times: Sequence[datetime], now: datetime, reports: int = 3, days: float = 3) -> bool:
    """True when at least `reports` reports arrived in the `days` days up to `now` (a hot issue, 热点).

    Reports after `now` are ignored (a replay may hand over future ones).
    """
    if reports < 1:
        raise DuplicateInputError(f"reports: {reports!r} must be at least 1")
    if days <= 0:
        raise DuplicateInputError(f"days: {days!r} must be positive")
    _aware(now, "now")
    start = now - timedelta(days=days)
    count = 0
    for i, t in enumerate(report_times):
        _aware(t, f"report_times[{i}]")
        if start < t <= now:
            count += 1
    return count >= reports
