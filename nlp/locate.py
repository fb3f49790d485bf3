"""Finding where a report is: street/town, community and unit grid, from the words of the text.

`PlaceFinder` knows every gazetteer name, its aliases (薛家 = 薛家镇, 高铁站 = 常州北站) and some
derived short forms (华山社区居委会 -> 华山社区 -> 华山, 新桥街道 for 新桥镇). It scans a text for the
longest names (a dictionary scan: at each position the longest name that starts there), then, on
what is left, for names of three or more characters that *sound* the same (血冶路 heard for
薛冶路). It resolves what it found:

- two roads named together (太湖路和汉江路交叉口) -> the unit grid they share;
- a community -> its street;
- places in different streets -> the most specific wins (compound/landmark > community > road >
  street name), ties go to the street most names agree on, then to the first named.

The result is a `nlp.places.Location` whose `reasons` say which words decided.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from nlp.pinyin import positions_of, syllables
from nlp.places import Location, Place

__all__ = ["PlaceFinder", "Match", "SPECIFICITY"]

# How precisely a kind of place pins a report down (the brief's rule: compound/landmark > road
# > street name). A community is an area inside one street, finer than a road that crosses it.
SPECIFICITY = {
    "compound": 5, "landmark": 5, "market": 5, "school": 5, "station": 5, "park": 5, "hospital": 5,
    "community": 4, "road": 3, "river": 3, "street": 1,
}
_MAX_NAME = 16
_STREET_SUFFIX = re.compile(r"(街道|镇|乡)$")
_COMMUNITY_SUFFIX = re.compile(r"(社区居民委员会|社区居委会|居民委员会|居委会|村民委员会|村委会)$")


@dataclass(frozen=True)
class Match:
    """A place name found in a text."""

    place: Place
    text: str        # the words as written in the text
    start: int
    by_sound: bool = False


def _derived_forms(p: Place) -> set[str]:
    forms = {p.name, *p.aliases}
    if p.kind == "street":
        base = _STREET_SUFFIX.sub("", p.name)
        if len(base) >= 2:
            forms.update({base, base + "街道", base + "镇"})
    if p.kind == "community":
        base = _COMMUNITY_SUFFIX.sub("", p.name)
        if base.endswith("社区"):
            forms.update({base, base + "居委会"})
        elif base.endswith("村"):
            forms.update({base, base + "委会"})
        elif len(base) >= 2:
            forms.update({base + "社区", base + "村"})
        if len(base) >= 2:
            forms.add(base)
    return {f for f in forms if f}


def _longest_first_pattern(names) -> re.Pattern | None:
    """A regex whose match at each position is the longest of `names` starting there.

    The names are grouped by first character (华(?:山社区|山路|山)|...), each group's rests
    longest first. At a given position only the group of that character can match, and within
    it the first rest that matches is the longest: the same matches as one flat alternation of
    all names sorted longest first. Why grouped: the engine tried the flat alternation's ~500
    names one by one at every candidate position (3.0 us per text, 1.1 us grouped).
    """
    groups: dict[str, list[str]] = {}
    for name in sorted(names, key=len, reverse=True):
        if name:
            groups.setdefault(name[0], []).append(name[1:])
    if not groups:
        return None
    return re.compile("|".join(re.escape(first) + "(?:" + "|".join(map(re.escape, rests)) + ")"
                               for first, rests in groups.items()))


class PlaceFinder:
    """Looks up gazetteer names in text. Read-only after construction (thread-safe)."""

    def __init__(self, places):
        self.places = tuple(places)
        from nlp.segment import DATA_DIR, read_word_list

        ambiguous = frozenset(read_word_list(DATA_DIR / "place_stopwords.txt"))
        by_name: dict[str, list[Place]] = {}
        for p in self.places:
            for form in _derived_forms(p):
                if form in ambiguous and form != p.name:
                    continue
                by_name.setdefault(form, []).append(p)
        # A name that means several places keeps the most specific ones only (华山 the
        # community, not 华山路 the road).
        self._by_name: dict[str, tuple[Place, ...]] = {}
        for name, ps in by_name.items():
            top = max(SPECIFICITY.get(p.kind, 2) for p in ps)
            exact = [p for p in ps if p.name == name]
            self._by_name[name] = tuple(exact or [p for p in ps if SPECIFICITY.get(p.kind, 2) == top])
        # Sound-alike lookup only for names of 3+ characters: shorter ones collide too often.
        self._by_sound: dict[tuple[str, ...], str] = {}
        for name in self._by_name:
            if 3 <= len(name) <= _MAX_NAME and all("\u4e00" <= c <= "\u9fff" for c in name):
                self._by_sound.setdefault(tuple(syllables(name)), name)
        lengths: dict[str, set[int]] = {}
        for name in self._by_name:
            lengths.setdefault(name[0], set()).add(len(name))
        self._lengths = {c: tuple(sorted(ls, reverse=True)) for c, ls in lengths.items()}
        sound_lengths: dict[str, set[int]] = {}
        for key in self._by_sound:
            sound_lengths.setdefault(key[0], set()).add(len(key))
        self._sound_lengths = {c: tuple(sorted(ls, reverse=True)) for c, ls in sound_lengths.items()}
        # The exact pass as one regex: alternatives longest first, so at each position the
        # engine takes the longest name starting there, exactly like a longest-first dictionary
        # scan, but in C (empty names cannot occur: _derived_forms drops them).
        self._names_re = _longest_first_pattern(self._by_name)
        # First three syllables of every sound-alike name (all have 3+ characters): a text none
        # of whose syllable triples is among them cannot contain a sound-alike, and the scan
        # only needs to stop where one starts.
        self._sound_heads = frozenset(key[:3] for key in self._by_sound)
        self._streets = {p.name: p for p in self.places if p.kind == "street"}
        self._communities = {p.community: p for p in self.places if p.kind == "community" and p.community}

    # -- lookups -----------------------------------------------------------------------------
    def street_named(self, name: str | None) -> str | None:
        """The official street for a street name or short form (薛家 -> 薛家镇); None if unknown."""
        if not name:
            return None
        name = name.strip()
        for p in self._by_name.get(name, ()):
            if p.kind == "street":
                return p.name
        base = _STREET_SUFFIX.sub("", name)
        for p in self._by_name.get(base, ()):
            if p.kind == "street":
                return p.name
        return None

    def find(self, text: str, sounds=None) -> list[Match]:
        """Place names in `text`, left to right, longest first, then sound-alikes of the rest.

        `sounds`: the syllables of `text` when the caller has them already (saves a lookup).
        """
        if not text:
            return []
        matches: list[Match] = []
        n = len(text)
        covered = [False] * n
        by_name = self._by_name
        if self._names_re is not None:
            for m in self._names_re.finditer(text):
                i, j = m.start(), m.end()
                name = m.group()
                for p in by_name[name]:
                    matches.append(Match(p, name, i))
                covered[i:j] = [True] * (j - i)
        if self._by_sound and not all(covered):
            sy = sounds if sounds is not None and len(sounds) == len(text) else syllables(text)
            starts = positions_of(zip(sy, sy[1:], sy[2:]), self._sound_heads)
            if starts:
                self._find_by_sound(text, sy, covered, matches, starts)
        matches.sort(key=lambda m: m.start)
        return matches

    def _find_by_sound(self, text: str, sy, covered: list, matches: list, starts: list[int]) -> None:
        """Append the sound-alike names of what the exact pass left uncovered, left to right.

        Only `starts`, the positions whose syllable triple starts some name, are tried (the
        others cannot match); past a hit the scan resumes after it, as a scan of every
        position would.
        """
        sound_lengths, by_sound = self._sound_lengths, self._by_sound
        n = len(text)
        resume = 0
        for i in starts:
            if i < resume:
                continue
            for length in sound_lengths.get(sy[i], ()):
                if i + length > n or any(covered[i:i + length]):
                    continue
                name = by_sound.get(tuple(sy[i:i + length]))
                if name:
                    for p in self._by_name[name]:
                        matches.append(Match(p, text[i:i + length], i, by_sound=True))
                    resume = i + length
                    break
        matches.sort(key=lambda m: m.start)
        return matches

    # -- resolution --------------------------------------------------------------------------
    def locate(self, text: str, street_hint: str | None = None, sounds=None, *, detail: bool = True) -> Location:
        """Where `text` says the report is; `street_hint` (a street name) is used when the text is silent.

        `detail=False` leaves `reasons` empty (the same street, community, grid and places):
        callers that never show them need not pay for building the strings.
        """
        matches = self.find(text, sounds)
        reasons: list[str] = []
        hint = self.street_named(street_hint)
        if not matches:
            if hint:
                return Location(street=hint, reasons=(f"street hint {street_hint}",) if detail else ())
            return Location()
        for m in (matches if detail else ()):
            how = f"sounds like {m.place.name}" if m.by_sound else ("=" + m.place.name if m.text != m.place.name else "")
            reasons.append(f"{m.text}{(' ' + how) if how else ''} ({m.place.kind}, {m.place.street})")

        # Two roads named together: the grid they share (an intersection).
        grid = None
        roads = [m.place for m in matches if m.place.kind in ("road", "river") and m.place.grids]
        for a_i, a in enumerate(roads):
            for b in roads[a_i + 1:]:
                if a.name == b.name:
                    continue
                shared = sorted(set(a.grids) & set(b.grids))
                if shared:
                    grid = shared[0]
                    if detail:
                        reasons.append(f"{a.name} x {b.name} -> grid {grid}")
                    break
            if grid:
                break

        votes: dict[str, int] = {}
        for m in matches:
            votes[m.place.street] = votes.get(m.place.street, 0) + 1
        best = max(matches, key=lambda m: (SPECIFICITY.get(m.place.kind, 2), votes[m.place.street], -m.start))
        street = best.place.street
        if grid is not None:
            inter_street = next(p.street for p in roads if grid in p.grids)
            if SPECIFICITY.get(best.place.kind, 2) <= SPECIFICITY["road"]:
                street = inter_street
        if detail and len(votes) > 1:
            reasons.append(f"streets {sorted(votes)} -> {street} (most specific: {best.place.name})")

        community = None
        if best.place.community and best.place.street == street:
            community = best.place.community
        else:
            for m in matches:
                if m.place.kind == "community" and m.place.street == street and m.place.community:
                    community = m.place.community
                    break
        if grid is None and best.place.street == street and len(best.place.grids) == 1:
            grid = best.place.grids[0]
        return Location(
            street=street, community=community, grid=grid,
            places=tuple(dict.fromkeys(m.place.name for m in matches)), reasons=tuple(reasons),
        )
