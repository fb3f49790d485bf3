"""Who gets a case: the seed's disposal principle applied to one report.

常州新北 (2011): a facility fault (matters 01xxx-05xxx, "<component>异常") goes to the owner of that
component first and to the street's locality team when the owner is unknown (部件先属主后属地);
a street or environment matter (06xxx-10xxx) goes to the street's locality team first and the
specialist department second (事件先属地后属主). Emergencies go to the emergency unit at once.
City-level matters (轨道交通, 高压线铁塔, matters on navigable waterways...) are coordinated by the
city command centre; the rest are district-level.

Pure domain code: no I/O; the rules come from config/routing.yaml through intake.config.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping

from routing.departments import Assignment, Department
from routing.district import District

OWNER, LOCALITY, SPECIALIST = "owner", "locality", "specialist"


@dataclass(frozen=True)
class RoutingRules:
    """The disposal principle as data (config/routing.yaml).

    component_order / matter_order: which kind of unit comes first and second, e.g.
    ('owner', 'locality') for 部件先属主后属地 and ('locality', 'specialist') for 事件先属地后属主.
    unowned_components: component codes with no owner among the departments (属地兜底).
    default_department: the last resort when nothing else is known.
    city_level_matters: matter codes coordinated by the city command centre (`city_centre`);
    waterway_matters are city-level too when the report is on one of `waterways`.
    matter_names: code -> name, only used to write reasons an operator can read.
    """

    component_majors: tuple[str, ...] = ("01", "02", "03", "04", "05")
    matter_majors: tuple[str, ...] = ("06", "07", "08", "09", "10")
    component_order: tuple[str, ...] = (OWNER, LOCALITY)
    matter_order: tuple[str, ...] = (LOCALITY, SPECIALIST)
    unowned_components: frozenset = frozenset()
    emergency_department: str = "emergency"
    default_department: str | None = None
    city_centre: str = "市城市管理指挥中心"
    city_level_matters: frozenset = frozenset()
    waterways: frozenset = frozenset()
    waterway_matters: frozenset = frozenset()
    matter_names: Mapping[str, str] = field(default_factory=dict)


def most_specific(code: str, departments: Iterable[Department], attr: str) -> tuple[Department, ...]:
    """Departments listing `code` in `attr` ('components' or 'matters'), most specific entry only.

    An exact 5-digit entry beats a 2-digit major class. More than one result at the same level is
    an ambiguity the configuration check reports.
    """
    exact = tuple(d for d in departments if code in getattr(d, attr))
    if exact:
        return exact
    return tuple(d for d in departments if code[:2] in getattr(d, attr))


class Router:
    """Applies RoutingRules to (matter, street, emergency, owner) and explains the decision."""

    def __init__(self, departments: Mapping[str, Department], rules: RoutingRules, district: District):
        """Index the departments: locality team per street, owners and specialists by code."""
        self.departments = dict(departments)
        self.rules = rules
        self.district = district
        self._locality: dict[str, Department] = {}
        for d in self.departments.values():
            if d.kind == "locality":
                for s in d.streets:
                    self._locality.setdefault(s, d)
        self._handlers = [d for d in self.departments.values() if d.kind in ("owner", "specialist")]

    # -- public API ---------------------------------------------------------------------------

    def route(self, matter_code: str, street: str | None, emergency: bool,
              component_owner: str | None = None, *, places: Iterable[str] = ()) -> Assignment:
        """The first choice for a report.

        street: official name or alias of the street/town, or None when unknown.
        component_owner: a department id when the asset's owner is known from elsewhere (an asset
        register, the operator); otherwise the owner is looked up by component code.
        places: names of places the report mentions (for matters on navigable waterways).
        """
        choices = self._choices(matter_code, street, component_owner, tuple(places))
        level, level_reasons = self._level(matter_code, tuple(places))
        if emergency:
            unit = self.departments.get(self.rules.emergency_department)
            reasons = [f"紧急事项 -> {self._label(unit)} at once (emergency chain)"]
            if choices:
                reasons.append(f"after the emergency: {choices[0][1]}")
            return self._assignment(unit, level, True, reasons + level_reasons)
        if not choices:
            return Assignment(None, None, level, False, tuple([f"no unit found for {matter_code}"] + level_reasons))
        dept, reason = choices[0]
        return self._assignment(dept, level, False, [reason] + level_reasons)

    def fallback(self, matter_code: str, street: str | None, emergency: bool,
                 component_owner: str | None = None, *, places: Iterable[str] = ()) -> Assignment | None:
        """The second choice: the locality for a component with unknown owner (or after the owner),
        the specialist for a matter after the locality; for an emergency, the normal first choice.
        None when there is no second unit."""
        choices = self._choices(matter_code, street, component_owner, tuple(places))
        level, level_reasons = self._level(matter_code, tuple(places))
        index = 0 if emergency else 1
        if len(choices) <= index:
            return None
        dept, reason = choices[index]
        return self._assignment(dept, level, False, [f"second choice: {reason}"] + level_reasons)

    def locality_for(self, street: str | None) -> Department | None:
        """The locality team of a street (official name or alias)."""
        official = self._official_street(street)
        return self._locality.get(official) if official else None

    def owner_of(self, component_code: str) -> Department | None:
        """The department owning assets of this component code, None when unowned or ambiguous."""
        if component_code in self.rules.unowned_components:
            return None
        found = most_specific(component_code, self._handlers, "components")
        return found[0] if len(found) == 1 else None

    def specialist_for(self, matter_code: str) -> Department | None:
        """The specialist department for a matter code, None when none or ambiguous."""
        found = most_specific(matter_code, self._handlers, "matters")
        return found[0] if len(found) == 1 else None

    # -- internals ----------------------------------------------------------------------------

    def _official_street(self, street: str | None) -> str | None:
        if not street:
            return None
        s = self.district.street_by_name(street)
        return s.name if s else None

    def _label(self, dept: Department | None) -> str:
        return f"{dept.name} ({dept.id})" if dept else "(no unit configured)"

    def _code_label(self, code: str) -> str:
        name = self.rules.matter_names.get(code)
        return f"{code} {name}" if name else code

    def _choices(self, code: str, street: str | None, component_owner: str | None,
                 places: tuple[str, ...]) -> list[tuple[Department, str]]:
        """Candidate units in order, each with the reason in words, without repeats."""
        rules = self.rules
        official = self._official_street(street)
        locality = self._locality.get(official) if official else None
        out: list[tuple[Department, str]] = []
        major = code[:2]
        if street and not official:
            street_note = f"street {street} is unknown"
        elif official:
            street_note = f"street {official}"
        else:
            street_note = "no street known"

        if major in rules.component_majors:
            principle = "部件先属主后属地"
            owner, owner_note = None, ""
            if component_owner:
                owner = self.departments.get(component_owner)
                owner_note = "owner given" if owner else f"given owner {component_owner} is not a department"
            if owner is None:
                owner = self.owner_of(code)
                if owner is not None:
                    owner_note = "owner of the component"
                elif code in rules.unowned_components:
                    owner_note = owner_note or "owner unknown, 属地兜底"
            for kind in rules.component_order:
                if kind == OWNER and owner is not None:
                    out.append((owner, f"{principle}: {self._code_label(code)} -> owner {owner.name} ({owner_note})"))
                elif kind == LOCALITY and locality is not None:
                    why = owner_note if owner is None else "after the owner"
                    out.append((locality, f"{principle}: {self._code_label(code)} -> locality {locality.name} "
                                          f"({street_note}; {why})"))
            spec = self.specialist_for(code)
            if spec is not None:
                out.append((spec, f"{self._code_label(code)} -> specialist {spec.name} ({street_note})"))
        elif major in rules.matter_majors:
            principle = "事件先属地后属主"
            spec = self.specialist_for(code)
            for kind in rules.matter_order:
                if kind == LOCALITY and locality is not None:
                    out.append((locality, f"{principle}: {self._code_label(code)} -> locality {locality.name} ({street_note})"))
                elif kind == SPECIALIST and spec is not None:
                    out.append((spec, f"{principle}: {self._code_label(code)} -> specialist {spec.name} ({street_note})"))
        default = self.departments.get(rules.default_department) if rules.default_department else None
        if default is not None:
            if major not in rules.component_majors and major not in rules.matter_majors:
                out.append((default, f"unknown matter code {code!r} -> default unit {default.name}"))
            else:
                out.append((default, f"{self._code_label(code)} -> default unit {default.name} ({street_note}; nobody else known)"))
        seen, unique = set(), []
        for dept, reason in out:
            if dept.id not in seen:
                seen.add(dept.id)
                unique.append((dept, reason))
        return unique

    def _level(self, code: str, places: tuple[str, ...]) -> tuple[str, list[str]]:
        rules = self.rules
        if code in rules.city_level_matters:
            return "city", [f"市级事项: {self._code_label(code)} is coordinated by {rules.city_centre}"]
        if code in rules.waterway_matters:
            hit = [p for p in places if p in rules.waterways]
            if hit:
                return "city", [f"市级事项: {self._code_label(code)} on navigable waterway {hit[0]} (通航河道) "
                                f"is coordinated by {rules.city_centre}"]
        return "district", []

    @staticmethod
    def _assignment(dept: Department | None, level: str, emergency: bool, reasons: list[str]) -> Assignment:
        return Assignment(
            department_id=dept.id if dept else None,
            department_name=dept.name if dept else None,
            level=level,
            emergency=emergency,
            reasons=tuple(reasons),
        )
