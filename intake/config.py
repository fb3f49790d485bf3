"""Load and validate the deployment's configuration (the files in config/).

`load_config()` reads every file, checks everything (types, required and unknown keys, id formats,
references between files, uniqueness, ownership, routability) and either returns a frozen
`HotlineConfig` or raises `ConfigError` carrying *all* problems found, each naming its file and key:

    config/departments.yaml: departments[3].streets[0]: unknown street 新桥街道

Other modules add their own files through `register_section(filename, parser)`; the parsed value
lands in `HotlineConfig.extra[<filename stem>]`.

Only pyyaml and the pure domain packages are imported here, so `hotline check-config` stays fast.
"""
from __future__ import annotations

import csv
import io
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Iterable, Mapping

import yaml

from nlp.places import PLACE_KINDS, Place
from nlp.taxonomy import KINDS, Taxonomy, TaxonomyEntry
from routing.departments import Department
from routing.district import Community, District, Grid, Street, compute_adjacency
from routing.router import LOCALITY, OWNER, SPECIALIST, RoutingRules, most_specific

__all__ = [
    "Agency", "ClassifierSettings", "ConfigError", "DuplicateSettings", "HotlineConfig", "Problem",
    "RoutingRules", "ServiceSettings", "default_config_dir", "load_config", "register_section",
    "registered_sections", "unregister_section",
]

try:  # libyaml parses the 268 grid polygons several times faster than pure Python
    _BaseLoader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how pyyaml was built
    _BaseLoader = yaml.SafeLoader


class _Loader(_BaseLoader):
    """Safe loader that refuses duplicate keys: pyyaml would silently keep the last one, hiding
    a copy-paste mistake (two `windows_hours` entries for "06042")."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key_node, _ in node.value:
                if isinstance(key_node, yaml.ScalarNode) and key_node.value != "<<":
                    if key_node.value in seen:
                        raise yaml.constructor.ConstructorError(
                            "while constructing a mapping", node.start_mark,
                            f"found duplicate key {key_node.value!r}", key_node.start_mark)
                    seen.add(key_node.value)
        return super().construct_mapping(node, deep)

DEPARTMENT_KINDS = ("owner", "specialist", "locality", "emergency")
POINT_KINDS = tuple(k for k in PLACE_KINDS if k not in ("street", "community", "road", "river"))
LINE_KINDS = ("road", "river")


# ---------------------------------------------------------------------------------------------
# Problems


@dataclass(frozen=True)
class Problem:
    """One thing wrong in the configuration: which file, which key (a path like
    `departments[3].streets[0]`, or `line 12, column 3` for syntax errors) and what."""

    file: str
    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.key}: {self.message}" if self.key else f"{self.file}: {self.message}"


class ConfigError(Exception):
    """The configuration is not usable; `problems` lists every problem found."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = list(problems)
        super().__init__(f"{len(self.problems)} configuration problem(s):\n" + "\n".join(map(str, self.problems)))


# ---------------------------------------------------------------------------------------------
# Typed sections


@dataclass(frozen=True)
class ServiceSettings:
    """hotline.yaml `service`: where the service listens and keeps its data."""

    http_port: int = 8345
    http_interface: str = "127.0.0.1"
    database_url: str = "sqlite:///hotline.sqlite"  # relative paths: relative to the working folder
    timezone: str = "Asia/Shanghai"
    max_text_chars: int = 4000
    recordings_dir: str = "recordings"


@dataclass(frozen=True)
class ClassifierSettings:
    """hotline.yaml `classifier`: model file (None = bundled nlp/model/current.pkl) and thresholds."""

    model_path: str | None = None
    review_threshold: float = 0.5
    audit_sample_rate: float = 0.05


@dataclass(frozen=True)
class DuplicateSettings:
    """hotline.yaml `duplicates`: how long and how similar reports merge; hot-spot thresholds."""

    default_window_hours: float = 72
    windows_hours: Mapping[str, float] = field(default_factory=dict)
    merge_threshold: float = 0.62
    ask_threshold: float = 0.42
    hot_reports: int = 3
    hot_days: float = 3

    def window_hours(self, matter_code: str) -> float:
        """The merge window for a matter: its own entry, else its major class's, else the default."""
        if matter_code in self.windows_hours:
            return self.windows_hours[matter_code]
        return self.windows_hours.get(matter_code[:2], self.default_window_hours)


@dataclass(frozen=True)
class Agency:
    """Who an out-of-scope report belongs to: category is a DB44/T 2479-2024 level-2 code."""

    id: str
    name: str
    category: str
    topics: tuple[str, ...] = ()


@dataclass(frozen=True)
class HotlineConfig:
    """The whole validated configuration."""

    directory: Path
    service: ServiceSettings
    classifier: ClassifierSettings
    duplicates: DuplicateSettings
    taxonomy: Taxonomy
    district: District
    places: tuple[Place, ...]
    departments: Mapping[str, Department]
    routing: RoutingRules
    agencies: Mapping[str, Agency]
    extra: Mapping[str, object] = field(default_factory=dict)
    confusable_notes: tuple[tuple[tuple[str, ...], str], ...] = ()

    def departments_of_kind(self, kind: str) -> tuple[Department, ...]:
        """Departments of one kind ('owner', 'specialist', 'locality', 'emergency'), in file order."""
        return tuple(d for d in self.departments.values() if d.kind == kind)

    def place_named(self, name: str) -> Place | None:
        """The place whose name or alias is exactly `name` (names are unique by validation)."""
        for p in self.places:
            if name == p.name or name in p.aliases:
                return p
        return None


# ---------------------------------------------------------------------------------------------
# Extension registry

SectionParser = Callable[[Any, str], "tuple[Any, list]"]
_SECTIONS: dict[str, tuple[SectionParser, bool]] = {}


def register_section(filename: str, parser: SectionParser, *, required: bool = True) -> None:
    """Add a configuration file handled by another module (lines.yaml, calendar.yaml ...).

    parser(raw, filename) gets the parsed YAML (None for an empty file) and returns (value, problems);
    problems are `Problem`s or (key, message) pairs. The value lands in HotlineConfig.extra[stem].
    A missing file is a problem when `required`, otherwise the section is simply absent.
    """
    if not filename.endswith((".yaml", ".yml")):
        raise ValueError(f"section files are YAML: {filename!r}")
    _SECTIONS[filename] = (parser, required)


def unregister_section(filename: str) -> None:
    """Remove a registered section (tests use this to clean up)."""
    _SECTIONS.pop(filename, None)


def registered_sections() -> Mapping[str, tuple[SectionParser, bool]]:
    """The currently registered extra sections, filename -> (parser, required)."""
    return MappingProxyType(dict(_SECTIONS))


def default_config_dir() -> Path:
    """The repository's config/ next to the packages, else sys.prefix/share/hotline/config."""
    here = Path(__file__).resolve().parent.parent / "config"
    if here.is_dir():
        return here
    return Path(sys.prefix) / "share" / "hotline" / "config"


# ---------------------------------------------------------------------------------------------
# Checking helpers


class _Missing:
    pass


MISSING = _Missing()
_CODE5 = re.compile(r"^\d{5}$")
_CODE2 = re.compile(r"^\d{2}$")
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


class _File:
    """Collects problems for one file and offers typed getters that record what is wrong."""

    def __init__(self, display: str, problems: list[Problem]):
        self.display = display
        self.problems = problems

    def add(self, key: str, message: str) -> None:
        self.problems.append(Problem(self.display, key, message))

    def mapping(self, value: Any, key: str, allowed: Mapping[str, bool]) -> dict | None:
        """A mapping with only `allowed` keys (name -> required); None (and a problem) otherwise."""
        if not isinstance(value, dict):
            self.add(key or "(top level)", f"must be a mapping, got {_type_name(value)}")
            return None
        for k in value:
            if k not in allowed:
                self.add(_join(key, str(k)), f"unknown key (allowed: {', '.join(allowed)})")
        for k, required in allowed.items():
            if required and k not in value:
                self.add(_join(key, k), "required key is missing")
        return value

    def list(self, value: Any, key: str, *, allow_missing: bool = False) -> list:
        """A list; a missing optional list is empty."""
        if value is MISSING or value is None:
            if not allow_missing:
                self.add(key, "required list is missing")
            return []
        if not isinstance(value, list):
            self.add(key, f"must be a list, got {_type_name(value)}")
            return []
        return value

    def string(self, value: Any, key: str, *, pattern: re.Pattern | None = None, what: str = "",
               optional: bool = False) -> str | None:
        """A non-empty string (matching `pattern` if given); codes given as numbers are explained."""
        if value is MISSING or (value is None and optional):
            return None
        if isinstance(value, bool) or not isinstance(value, str):
            hint = ""
            if isinstance(value, int) and pattern is not None:
                hint = " (quote codes: \"06042\", unquoted numbers lose their leading zeros)"
            self.add(key, f"must be a string{' ' + what if what else ''}, got {_type_name(value)} {value!r}{hint}")
            return None
        if not value.strip():
            self.add(key, "must not be empty")
            return None
        if pattern is not None and not pattern.match(value):
            self.add(key, f"{value!r} is not {what or 'well formed'}")
            return None
        return value

    def strings(self, value: Any, key: str, **kw) -> tuple[str, ...]:
        """A list of strings; bad items are reported and dropped."""
        out = []
        for i, item in enumerate(self.list(value, key, allow_missing=True)):
            s = self.string(item, f"{key}[{i}]", **kw)
            if s is not None:
                out.append(s)
        return tuple(out)

    def number(self, value: Any, key: str, default: float, *, low: float | None = None,
               high: float | None = None, integer: bool = False) -> float:
        """A number within [low, high] (an int when `integer`); the default when missing or bad."""
        if value is MISSING:
            return default
        ok = isinstance(value, int) if integer else isinstance(value, (int, float))
        if isinstance(value, bool) or not ok:
            self.add(key, f"must be {'an integer' if integer else 'a number'}, got {_type_name(value)} {value!r}")
            return default
        if (low is not None and value < low) or (high is not None and value > high):
            self.add(key, f"{value!r} is out of range [{low}, {high}]")
            return default
        return value


def _type_name(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", int: "an integer", float: "a number",
            bool: "a boolean", type(None): "null"}.get(type(value), type(value).__name__)


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _get(d: dict | None, key: str) -> Any:
    return d.get(key, MISSING) if isinstance(d, dict) else MISSING


# ---------------------------------------------------------------------------------------------
# Reading files


class _Reader:
    """Reads files of one directory, turning missing files and syntax errors into problems."""

    def __init__(self, directory: Path, problems: list[Problem]):
        self.directory = directory
        self.problems = problems
        try:
            rel = os.path.relpath(directory)
            self.prefix = rel if not rel.startswith("..") else str(directory)
        except ValueError:  # different drive on Windows
            self.prefix = str(directory)

    def display(self, filename: str) -> str:
        return filename if self.prefix == "." else f"{self.prefix}/{filename}"

    def file(self, filename: str) -> _File:
        return _File(self.display(filename), self.problems)

    def text(self, filename: str, *, required: bool = True) -> str | None:
        path = self.directory / filename
        try:
            return path.read_text(encoding="utf-8")
        except FileNotFoundError:
            if required:
                self.problems.append(Problem(self.display(filename), "", f"file is missing (looked for {path})"))
        except UnicodeDecodeError as e:
            self.problems.append(Problem(self.display(filename), f"byte {e.start}", "not UTF-8 text"))
        except OSError as e:
            self.problems.append(Problem(self.display(filename), "", f"cannot read: {e.strerror}"))
        return None

    def yaml(self, filename: str, *, required: bool = True) -> Any:
        """Parsed YAML, or MISSING when the file is missing or broken (a problem is recorded)."""
        text = self.text(filename, required=required)
        if text is None:
            return MISSING
        try:
            return yaml.load(text, Loader=_Loader)
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
            key = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            what = " ".join(str(x) for x in (getattr(e, "context", None), getattr(e, "problem", None)) if x)
            self.problems.append(Problem(self.display(filename), key, f"YAML syntax error: {what or e}"))
            return MISSING
        except (ValueError, TypeError, OverflowError) as e:
            # pyyaml builds dates and numbers itself: 2026-13-01 raises ValueError, not YAMLError
            self.problems.append(Problem(self.display(filename), "", f"YAML value error: {e}"))
            return MISSING


# ---------------------------------------------------------------------------------------------
# Sections


def _parse_hotline(raw: Any, f: _File):
    top = f.mapping(raw, "", {"service": False, "classifier": False, "duplicates": False}) if raw is not None else {}
    top = top or {}
    # an empty section (`service:` with nothing under it) means "all defaults"
    top = {k: ({} if v is None else v) for k, v in top.items()}
    d = ServiceSettings()
    s = f.mapping(top["service"], "service", {k: False for k in ServiceSettings.__dataclass_fields__}) \
        if "service" in top else {}
    service = ServiceSettings()
    if s is not None:
        tz = f.string(_get(s, "timezone"), "service.timezone") or d.timezone
        try:
            import zoneinfo
            zoneinfo.ZoneInfo(tz)
        except Exception:  # noqa: BLE001 - any failure means the name is unusable
            f.add("service.timezone", f"unknown time zone {tz!r}")
        service = ServiceSettings(
            http_port=int(f.number(_get(s, "http_port"), "service.http_port", d.http_port, low=1, high=65535, integer=True)),
            http_interface=f.string(_get(s, "http_interface"), "service.http_interface") or d.http_interface,
            database_url=f.string(_get(s, "database_url"), "service.database_url") or d.database_url,
            timezone=tz,
            max_text_chars=int(f.number(_get(s, "max_text_chars"), "service.max_text_chars", d.max_text_chars, low=1, integer=True)),
            recordings_dir=f.string(_get(s, "recordings_dir"), "service.recordings_dir") or d.recordings_dir,
        )
        if "://" not in service.database_url:
            f.add("service.database_url", f"{service.database_url!r} is not a database URL (e.g. sqlite:///hotline.sqlite)")
    dc = ClassifierSettings()
    c = f.mapping(top["classifier"], "classifier", {k: False for k in ClassifierSettings.__dataclass_fields__}) \
        if "classifier" in top else {}
    classifier = ClassifierSettings()
    if c is not None:
        classifier = ClassifierSettings(
            model_path=f.string(_get(c, "model_path"), "classifier.model_path", optional=True),
            review_threshold=f.number(_get(c, "review_threshold"), "classifier.review_threshold", dc.review_threshold, low=0, high=1),
            audit_sample_rate=f.number(_get(c, "audit_sample_rate"), "classifier.audit_sample_rate", dc.audit_sample_rate, low=0, high=1),
        )
    dd = DuplicateSettings()
    u = f.mapping(top["duplicates"], "duplicates", {k: False for k in DuplicateSettings.__dataclass_fields__}) \
        if "duplicates" in top else {}
    duplicates = DuplicateSettings()
    windows_raw: dict[str, float] = {}
    if u is not None:
        w = _get(u, "windows_hours")
        if w is not MISSING and w is not None:
            if not isinstance(w, dict):
                f.add("duplicates.windows_hours", f"must be a mapping, got {_type_name(w)}")
            else:
                for k, v in w.items():
                    key = f"duplicates.windows_hours.{k}"
                    if not isinstance(k, str):
                        f.add(key, f"key must be a quoted matter code or major class, got {_type_name(k)} {k!r}")
                        continue
                    hours = f.number(v, key, -1, low=0.0001)
                    if hours > 0:
                        windows_raw[k] = hours
        duplicates = DuplicateSettings(
            default_window_hours=f.number(_get(u, "default_window_hours"), "duplicates.default_window_hours", dd.default_window_hours, low=0.0001),
            windows_hours=MappingProxyType(windows_raw),
            merge_threshold=f.number(_get(u, "merge_threshold"), "duplicates.merge_threshold", dd.merge_threshold, low=0, high=1),
            ask_threshold=f.number(_get(u, "ask_threshold"), "duplicates.ask_threshold", dd.ask_threshold, low=0, high=1),
            hot_reports=int(f.number(_get(u, "hot_reports"), "duplicates.hot_reports", dd.hot_reports, low=2, integer=True)),
            hot_days=f.number(_get(u, "hot_days"), "duplicates.hot_days", dd.hot_days, low=0.0001),
        )
        if duplicates.ask_threshold > duplicates.merge_threshold:
            f.add("duplicates.ask_threshold", f"{duplicates.ask_threshold} is above merge_threshold {duplicates.merge_threshold}")
    return service, classifier, duplicates


def _parse_taxonomy(text: str, f: _File) -> list[TaxonomyEntry]:
    rows: list[TaxonomyEntry] = []
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header != ["kind", "code", "major_class", "name"]:
        f.add("line 1", f"header must be kind,code,major_class,name, got {','.join(header or [])}")
        return rows
    seen: dict[tuple[str, str], int] = {}
    for lineno, row in enumerate(reader, start=2):
        key = f"line {lineno}"
        if not row:
            continue
        if len(row) != 4:
            f.add(key, f"expected 4 columns, got {len(row)}")
            continue
        kind, code, major, name = (x.strip() for x in row)
        bad = False
        if kind not in KINDS:
            f.add(key, f"kind {kind!r} is not one of {', '.join(KINDS)}")
            bad = True
        if not _CODE5.match(code):
            f.add(key, f"code {code!r} is not 5 digits")
            bad = True
        if not major or not name:
            f.add(key, "major_class and name must not be empty")
            bad = True
        if bad:
            continue
        if (kind, code) in seen:
            f.add(key, f"duplicate {kind} code {code} (first on line {seen[(kind, code)]})")
            continue
        seen[(kind, code)] = lineno
        rows.append(TaxonomyEntry(kind, code, major, name))
    return rows


def _parse_confusable(raw: Any, f: _File, taxonomy: Taxonomy | None):
    top = f.mapping(raw, "", {"groups": True})
    groups, notes = [], []
    if top is None:
        return groups, ()
    for i, g in enumerate(f.list(_get(top, "groups"), "groups")):
        key = f"groups[{i}]"
        g = f.mapping(g, key, {"codes": True, "note": True})
        if g is None:
            continue
        codes = f.strings(_get(g, "codes"), f"{key}.codes", pattern=_CODE5, what="a 5-digit matter code")
        note = f.string(_get(g, "note"), f"{key}.note") or ""
        if len(codes) < 2:
            f.add(f"{key}.codes", "a group needs at least two codes")
        if len(set(codes)) != len(codes):
            f.add(f"{key}.codes", "a code is listed twice")
        if taxonomy is not None:
            for j, c in enumerate(codes):
                if c not in taxonomy.matters:
                    f.add(f"{key}.codes[{j}]", f"unknown matter code {c}")
        groups.append(codes)
        notes.append((codes, note))
    return groups, tuple(notes)


def _parse_district(raw: Any, f: _File):
    top = f.mapping(raw, "", {"district": True, "streets": True, "communities": True})
    if top is None:
        return "", "", {}, {}
    head = f.mapping(_get(top, "district"), "district", {"admin_code": True, "name": True, "note": False}) \
        if _get(top, "district") is not MISSING else None
    admin = f.string(_get(head, "admin_code"), "district.admin_code", pattern=re.compile(r"^\d{6}$"), what="a 6-digit admin code") or ""
    name = f.string(_get(head, "name"), "district.name") or ""
    if _get(head, "note") is not MISSING:
        f.string(_get(head, "note"), "district.note")
    streets: dict[str, Street] = {}
    by_name: dict[str, Street] = {}
    for i, s in enumerate(f.list(_get(top, "streets"), "streets")):
        key = f"streets[{i}]"
        s = f.mapping(s, key, {"code": True, "name": True, "aliases": False})
        if s is None:
            continue
        code = f.string(_get(s, "code"), f"{key}.code", pattern=re.compile(r"^\d{9}$"), what="a 9-digit street code")
        sname = f.string(_get(s, "name"), f"{key}.name")
        aliases = f.strings(_get(s, "aliases"), f"{key}.aliases")
        if code and admin and not code.startswith(admin):
            f.add(f"{key}.code", f"{code} is not under the district's admin code {admin}")
        if code in streets:
            f.add(f"{key}.code", f"duplicate street code {code}")
            continue
        if sname in by_name:
            f.add(f"{key}.name", f"duplicate street name {sname}")
            continue
        if code and sname:
            streets[code] = by_name[sname] = Street(code, sname, aliases)
    communities: dict[str, Community] = {}
    names: set[str] = set()
    for i, c in enumerate(f.list(_get(top, "communities"), "communities")):
        key = f"communities[{i}]"
        c = f.mapping(c, key, {"code": True, "name": True, "street": True, "aliases": False})
        if c is None:
            continue
        code = f.string(_get(c, "code"), f"{key}.code", pattern=re.compile(r"^\d{12}$"), what="a 12-digit community code")
        cname = f.string(_get(c, "name"), f"{key}.name")
        sname = f.string(_get(c, "street"), f"{key}.street")
        aliases = f.strings(_get(c, "aliases"), f"{key}.aliases")
        street = by_name.get(sname) if sname else None
        if sname and street is None:
            f.add(f"{key}.street", _unknown_street(sname, by_name))
        if code and street and not code.startswith(street.code):
            f.add(f"{key}.code", f"{code} is not under its street {street.name} ({street.code})")
            continue
        if code in communities:
            f.add(f"{key}.code", f"duplicate community code {code}")
            continue
        if cname in names:
            f.add(f"{key}.name", f"duplicate community name {cname}")
            continue
        if code and cname and street:
            communities[code] = Community(code, cname, street.code, aliases)
            names.add(cname)
    return admin, name, streets, communities


def _unknown_street(name: str, by_name: Mapping[str, Street]) -> str:
    for s in by_name.values():
        if name in s.aliases:
            return f"unknown street {name} (an alias: use the official name {s.name})"
    return f"unknown street {name}"


def _parse_grids(raw: Any, f: _File, streets, communities) -> dict[str, Grid]:
    top = f.mapping(raw, "", {"grids": True})
    grids: dict[str, Grid] = {}
    if top is None:
        return grids
    for i, g in enumerate(f.list(_get(top, "grids"), "grids")):
        key = f"grids[{i}]"
        g = f.mapping(g, key, {"id": True, "community": True, "polygon": True})
        if g is None:
            continue
        gid = f.string(_get(g, "id"), f"{key}.id", pattern=re.compile(r"^\d{15}$"), what="a 15-digit grid id")
        ccode = f.string(_get(g, "community"), f"{key}.community", pattern=re.compile(r"^\d{12}$"), what="a 12-digit community code")
        poly = _polygon(_get(g, "polygon"), f"{key}.polygon", f)
        community = communities.get(ccode) if ccode else None
        if ccode and communities and community is None:
            f.add(f"{key}.community", f"unknown community {ccode}")
        if gid and ccode and not gid.startswith(ccode):
            f.add(f"{key}.id", f"{gid} does not start with its community code {ccode}")
            continue
        if gid in grids:
            f.add(f"{key}.id", f"duplicate grid id {gid}")
            continue
        if gid and community and poly:
            grids[gid] = Grid(gid, community.code, community.street_code, poly)
    for code, c in communities.items():
        if not any(g.community_code == code for g in grids.values()):
            f.add("grids", f"community {c.name} ({code}) has no grid")
    return grids


def _polygon(value: Any, key: str, f: _File):
    pts = f.list(value, key)
    ring = []
    for j, p in enumerate(pts):
        if (not isinstance(p, list) or len(p) != 2
                or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in p)):
            f.add(f"{key}[{j}]", f"must be [lng, lat] numbers, got {p!r}")
            return None
        lng, lat = float(p[0]), float(p[1])
        if not (-180 <= lng <= 180 and -90 <= lat <= 90):
            f.add(f"{key}[{j}]", f"[{lng}, {lat}] is not a longitude/latitude")
            return None
        ring.append((lng, lat))
    if not pts:
        return None
    if len(ring) < 4:
        f.add(key, f"a closed ring needs at least 4 points, got {len(ring)}")
        return None
    if ring[0] != ring[-1]:
        f.add(key, "ring is not closed (first point != last point)")
        return None
    return tuple(ring)


def _parse_gazetteer(raw: Any, f: _File, district: District | None) -> list[Place]:
    top = f.mapping(raw, "", {"places": True})
    places: list[Place] = []
    if top is None:
        return places
    by_name = {s.name: s for s in district.streets.values()} if district else {}
    for i, p in enumerate(f.list(_get(top, "places"), "places")):
        key = f"places[{i}]"
        p = f.mapping(p, key, {"name": True, "kind": True, "aliases": False, "street": True,
                               "community": False, "grids": True})
        if p is None:
            continue
        name = f.string(_get(p, "name"), f"{key}.name")
        kind = f.string(_get(p, "kind"), f"{key}.kind")
        if kind and kind not in PLACE_KINDS:
            f.add(f"{key}.kind", f"unknown kind {kind!r} (one of {', '.join(PLACE_KINDS)})")
            kind = None
        elif kind in ("street", "community"):
            f.add(f"{key}.kind", f"{kind} places come from district.yaml, not the gazetteer")
            kind = None
        aliases = f.strings(_get(p, "aliases"), f"{key}.aliases")
        sname = f.string(_get(p, "street"), f"{key}.street")
        ccode = f.string(_get(p, "community"), f"{key}.community", pattern=re.compile(r"^\d{12}$"),
                         what="a 12-digit community code", optional=True)
        gids = f.strings(_get(p, "grids"), f"{key}.grids")
        if not (name and kind and sname):
            continue
        if district is None:
            places.append(Place(name, kind, sname, ccode, gids, aliases))
            continue
        street = by_name.get(sname)
        if street is None:
            f.add(f"{key}.street", _unknown_street(sname, by_name))
            continue
        if ccode is not None:
            c = district.communities.get(ccode)
            if c is None:
                f.add(f"{key}.community", f"unknown community {ccode}")
                continue
            if c.street_code != street.code:
                f.add(f"{key}.community", f"community {c.name} ({ccode}) is not in {sname}")
        if not gids:
            f.add(f"{key}.grids", "a place needs at least one grid")
            continue
        bad = False
        for j, gid in enumerate(gids):
            g = district.grids.get(gid)
            if g is None:
                f.add(f"{key}.grids[{j}]", f"unknown grid {gid}")
                bad = True
            elif ccode is not None and g.community_code != ccode:
                f.add(f"{key}.grids[{j}]", f"grid {gid} is not in the place's community {ccode}")
                bad = True
        if bad:
            continue
        if not any(district.grids[g].street_code == street.code for g in gids):
            f.add(f"{key}.grids", f"none of the grids lies in the place's street {sname}")
        if kind in POINT_KINDS and len(gids) != 1:
            f.add(f"{key}.grids", f"a {kind} is a point place: exactly one grid, got {len(gids)}")
        if kind in LINE_KINDS and len(gids) > 1 and not _connected(gids, district.adjacency):
            f.add(f"{key}.grids", f"the grids of a {kind} must form a connected line")
        places.append(Place(name, kind, sname, ccode, gids, aliases))
    return places


def _connected(gids: tuple[str, ...], adjacency: Mapping[str, frozenset]) -> bool:
    todo, seen, wanted = [gids[0]], {gids[0]}, set(gids)
    while todo:
        for n in adjacency.get(todo.pop(), ()):
            if n in wanted and n not in seen:
                seen.add(n)
                todo.append(n)
    return seen == wanted


def _district_places(district: District) -> list[Place]:
    """One place per street and per community, with all their grids."""
    out = []
    names = {s.code: s.name for s in district.streets.values()}
    by_street: dict[str, list[str]] = {}
    by_community: dict[str, list[str]] = {}
    for g in district.grids.values():
        by_street.setdefault(g.street_code, []).append(g.id)
        by_community.setdefault(g.community_code, []).append(g.id)
    for s in district.streets.values():
        out.append(Place(s.name, "street", s.name, None, tuple(sorted(by_street.get(s.code, ()))), s.aliases))
    for c in district.communities.values():
        out.append(Place(c.name, "community", names[c.street_code], c.code,
                         tuple(sorted(by_community.get(c.code, ()))), c.aliases))
    return out


def _check_place_names(places: list[Place], reader: _Reader) -> None:
    """A name or alias may resolve to one place only."""
    seen: dict[str, Place] = {}
    for p in places:
        for n in (p.name, *p.aliases):
            other = seen.get(n)
            if other is not None and other is not p:
                fname = "district.yaml" if p.kind in ("street", "community") else "gazetteer.yaml"
                reader.problems.append(Problem(
                    reader.display(fname), p.name,
                    f"name {n!r} also names {other.name} ({other.kind}, {other.street}): it would resolve to two places"))
            else:
                seen[n] = p


def _code_ok(code: str, pool: Mapping[str, TaxonomyEntry]) -> bool:
    if _CODE2.match(code):
        return any(c.startswith(code) for c in pool)
    return code in pool


def _parse_departments(raw: Any, f: _File, streets_by_name: Mapping[str, Street] | None,
                       taxonomy: Taxonomy | None) -> dict[str, Department]:
    top = f.mapping(raw, "", {"departments": True})
    out: dict[str, Department] = {}
    if top is None:
        return out
    names: set[str] = set()
    code_pattern = re.compile(r"^(\d{2}|\d{5})$")
    for i, d in enumerate(f.list(_get(top, "departments"), "departments")):
        key = f"departments[{i}]"
        d = f.mapping(d, key, {"id": True, "name": True, "kind": True, "streets": False, "components": False,
                               "matters": False, "phone": False})
        if d is None:
            continue
        did = f.string(_get(d, "id"), f"{key}.id", pattern=_ID, what="an id of lower-case letters, digits, - and _")
        name = f.string(_get(d, "name"), f"{key}.name")
        kind = f.string(_get(d, "kind"), f"{key}.kind")
        if kind and kind not in DEPARTMENT_KINDS:
            f.add(f"{key}.kind", f"unknown kind {kind!r} (one of {', '.join(DEPARTMENT_KINDS)})")
            kind = None
        streets = f.strings(_get(d, "streets"), f"{key}.streets")
        components = f.strings(_get(d, "components"), f"{key}.components", pattern=code_pattern,
                               what="a 5-digit component code or 2-digit major class")
        matters = f.strings(_get(d, "matters"), f"{key}.matters", pattern=code_pattern,
                            what="a 5-digit matter code or 2-digit major class")
        phone = f.string(_get(d, "phone"), f"{key}.phone", optional=True)
        if streets_by_name is not None:
            for j, s in enumerate(streets):
                if s not in streets_by_name:
                    f.add(f"{key}.streets[{j}]", _unknown_street(s, streets_by_name))
        if kind == "locality" and not streets:
            f.add(f"{key}.streets", "a locality team needs at least one street")
        if kind and kind != "locality" and streets:
            f.add(f"{key}.streets", f"only locality teams cover streets, this one is {kind}")
        if taxonomy is not None:
            for j, c in enumerate(components):
                if not _code_ok(c, taxonomy.components):
                    f.add(f"{key}.components[{j}]", f"unknown component code {c}")
            for j, c in enumerate(matters):
                if not _code_ok(c, taxonomy.matters):
                    f.add(f"{key}.matters[{j}]", f"unknown matter code {c}")
        for label, codes in (("components", components), ("matters", matters)):
            dup = sorted({c for c in codes if codes.count(c) > 1})
            if dup:
                f.add(f"{key}.{label}", f"listed twice: {', '.join(dup)}")
        if did in out:
            f.add(f"{key}.id", f"duplicate department id {did}")
            continue
        if name in names:
            f.add(f"{key}.name", f"duplicate department name {name}")
            continue
        if did and name and kind:
            out[did] = Department(did, name, kind, streets, components, matters, phone)
            names.add(name)
    return out


def _parse_routing(raw: Any, f: _File):
    top = f.mapping(raw, "", {"components": True, "matters": True, "emergency_department": True,
                              "default_department": False, "city_level": False})
    comp = f.mapping(_get(top, "components"), "components", {"majors": True, "order": True, "unowned": False}) \
        if _get(top, "components") is not MISSING else None
    mat = f.mapping(_get(top, "matters"), "matters", {"majors": True, "order": True}) \
        if _get(top, "matters") is not MISSING else None
    cmajors = f.strings(_get(comp, "majors"), "components.majors", pattern=_CODE2, what="a 2-digit major class")
    mmajors = f.strings(_get(mat, "majors"), "matters.majors", pattern=_CODE2, what="a 2-digit major class")
    if set(cmajors) & set(mmajors):
        f.add("matters.majors", f"major classes in both components and matters: {', '.join(sorted(set(cmajors) & set(mmajors)))}")
    corder = f.strings(_get(comp, "order"), "components.order")
    morder = f.strings(_get(mat, "order"), "matters.order")
    if comp is not None and sorted(corder) != sorted((OWNER, LOCALITY)):
        f.add("components.order", f"must be [owner, locality] in some order, got {list(corder)}")
    if mat is not None and sorted(morder) != sorted((LOCALITY, SPECIALIST)):
        f.add("matters.order", f"must be [locality, specialist] in some order, got {list(morder)}")
    unowned = f.strings(_get(comp, "unowned"), "components.unowned", pattern=_CODE5, what="a 5-digit component code")
    emergency = f.string(_get(top, "emergency_department"), "emergency_department")
    default = f.string(_get(top, "default_department"), "default_department", optional=True)
    city = _get(top, "city_level")
    centre, cmatters, waterways, wmatters = "市城市管理指挥中心", (), (), ()
    if city is not MISSING:
        city = f.mapping(city, "city_level", {"centre": True, "matters": False, "waterways": False, "waterway_matters": False})
        centre = f.string(_get(city, "centre"), "city_level.centre") or centre
        cmatters = f.strings(_get(city, "matters"), "city_level.matters", pattern=_CODE5, what="a 5-digit matter code")
        waterways = f.strings(_get(city, "waterways"), "city_level.waterways")
        wmatters = f.strings(_get(city, "waterway_matters"), "city_level.waterway_matters", pattern=_CODE5, what="a 5-digit matter code")
    rules = RoutingRules(
        component_majors=cmajors, matter_majors=mmajors,
        component_order=corder or (OWNER, LOCALITY), matter_order=morder or (LOCALITY, SPECIALIST),
        unowned_components=frozenset(unowned), emergency_department=emergency or "",
        default_department=default, city_centre=centre, city_level_matters=frozenset(cmatters),
        waterways=frozenset(waterways), waterway_matters=frozenset(wmatters),
    )
    return rules, {"unowned": unowned, "city": cmatters, "waterway_matters": wmatters, "waterways": waterways}


def _check_routing(rules: RoutingRules, lists: dict, departments: Mapping[str, Department], taxonomy: Taxonomy,
                   streets: Mapping[str, Street] | None, places: list[Place] | None, reader: _Reader) -> None:
    """Cross-file checks: referenced units exist, ownership is exactly-once, every matter is routable."""
    f = reader.file("routing.yaml")
    fd = reader.file("departments.yaml")
    e = departments.get(rules.emergency_department)
    if rules.emergency_department and e is None:
        f.add("emergency_department", f"unknown department {rules.emergency_department}")
    elif e is not None and e.kind != "emergency":
        f.add("emergency_department", f"{e.id} is a {e.kind} unit, not an emergency unit")
    if rules.default_department and rules.default_department not in departments:
        f.add("default_department", f"unknown department {rules.default_department}")
    for j, c in enumerate(lists["unowned"]):
        if c not in taxonomy.components:
            f.add(f"components.unowned[{j}]", f"unknown component code {c}")
    for label, codes in (("city_level.matters", lists["city"]), ("city_level.waterway_matters", lists["waterway_matters"])):
        for j, c in enumerate(codes):
            if c not in taxonomy.matters:
                f.add(f"{label}[{j}]", f"unknown matter code {c}")
    if places is not None:
        rivers = {n for p in places for n in (p.name, *p.aliases)}
        for j, w in enumerate(lists["waterways"]):
            if w not in rivers:
                f.add(f"city_level.waterways[{j}]", f"{w} is not a place in gazetteer.yaml")
    for code in taxonomy.matters:
        major = code[:2]
        if major not in rules.component_majors and major not in rules.matter_majors:
            f.add("matters.majors", f"matter {code} is in neither components.majors nor matters.majors")
            break
    handlers = [d for d in departments.values() if d.kind in ("owner", "specialist")]
    # Exactly-once ownership: each component has one owner or is listed as unowned, never both.
    for code, entry in taxonomy.components.items():
        if entry.major_code not in rules.component_majors:
            continue
        owners = most_specific(code, handlers, "components")
        if code in rules.unowned_components:
            if owners:
                f.add("components.unowned", f"{code} {entry.name} is listed as unowned but {owners[0].id} owns it")
        elif not owners:
            fd.add("departments", f"component {code} {entry.name} has no owner (give it to one department "
                                  f"or list it in routing.yaml components.unowned)")
        elif len(owners) > 1:
            fd.add("departments", f"component {code} {entry.name} is owned by several departments: "
                                  f"{', '.join(d.id for d in owners)}")
    # Every matter routable: facility faults need their component, street matters one specialist.
    for code, entry in taxonomy.matters.items():
        if entry.major_code in rules.component_majors:
            if code not in taxonomy.components:
                f.add("components", f"matter {code} {entry.name} has no component of the same code to find its owner")
        elif entry.major_code in rules.matter_majors:
            specs = most_specific(code, handlers, "matters")
            if not specs:
                fd.add("departments", f"matter {code} {entry.name} has no specialist department")
            elif len(specs) > 1:
                fd.add("departments", f"matter {code} {entry.name} has several specialists at the same level: "
                                      f"{', '.join(d.id for d in specs)}")
    # One locality team per street.
    if streets is not None:
        for s in streets.values():
            teams = [d.id for d in departments.values() if d.kind == "locality" and s.name in d.streets]
            if not teams:
                fd.add("departments", f"street {s.name} has no locality team")
            elif len(teams) > 1:
                fd.add("departments", f"street {s.name} has several locality teams: {', '.join(teams)}")
    if not any(d.kind == "emergency" for d in departments.values()):
        fd.add("departments", "no emergency unit (kind: emergency)")


def _parse_agencies(raw: Any, f: _File) -> dict[str, Agency]:
    top = f.mapping(raw, "", {"categories": True, "agencies": True})
    if top is None:
        return {}
    cats_raw = _get(top, "categories")
    categories: dict[str, str] = {}
    if cats_raw is not MISSING:
        if not isinstance(cats_raw, dict):
            f.add("categories", f"must be a mapping of level-2 code to name, got {_type_name(cats_raw)}")
        else:
            for k, v in cats_raw.items():
                code = f.string(k, f"categories.{k}", pattern=re.compile(r"^\d{4}$"), what="a 4-digit level-2 code")
                name = f.string(v, f"categories.{k}")
                if code and name:
                    categories[code] = name
    out: dict[str, Agency] = {}
    for i, a in enumerate(f.list(_get(top, "agencies"), "agencies")):
        key = f"agencies[{i}]"
        a = f.mapping(a, key, {"id": True, "name": True, "category": True, "topics": True})
        if a is None:
            continue
        aid = f.string(_get(a, "id"), f"{key}.id", pattern=_ID, what="an id of lower-case letters, digits, - and _")
        name = f.string(_get(a, "name"), f"{key}.name")
        cat = f.string(_get(a, "category"), f"{key}.category", pattern=re.compile(r"^\d{4}$"), what="a 4-digit level-2 code")
        topics = f.strings(_get(a, "topics"), f"{key}.topics")
        if not topics:
            f.add(f"{key}.topics", "an agency needs at least one topic")
        if cat and cat not in categories:
            f.add(f"{key}.category", f"category {cat} is not listed under categories")
        if aid in out:
            f.add(f"{key}.id", f"duplicate agency id {aid}")
            continue
        if aid and name and cat:
            out[aid] = Agency(aid, name, cat, topics)
    return out


def _check_windows(dup: DuplicateSettings, taxonomy: Taxonomy, f: _File) -> None:
    for k in dup.windows_hours:
        if not (_CODE2.match(k) or _CODE5.match(k)) or not _code_ok(k, taxonomy.matters):
            f.add(f"duplicates.windows_hours.{k}", f"{k!r} is not a matter code or major class of the taxonomy")


# ---------------------------------------------------------------------------------------------
# Entry point


def load_config(directory: Path | str | None = None, *, sections: Mapping[str, tuple[SectionParser, bool]] | None = None) -> HotlineConfig:
    """Read and validate the configuration in `directory` (None = default_config_dir()).

    Raises ConfigError listing every problem; returns a frozen HotlineConfig otherwise.
    `sections` overrides the registry of extra sections (tests).
    """
    directory = Path(directory) if directory is not None else default_config_dir()
    problems: list[Problem] = []
    reader = _Reader(directory, problems)
    if not directory.is_dir():
        raise ConfigError([Problem(str(directory), "", "configuration folder does not exist")])

    raw_hotline = reader.yaml("hotline.yaml")
    service, classifier, duplicates = ServiceSettings(), ClassifierSettings(), DuplicateSettings()
    if raw_hotline is not MISSING:
        service, classifier, duplicates = _parse_hotline(raw_hotline, reader.file("hotline.yaml"))

    taxonomy: Taxonomy | None = None
    text = reader.text("taxonomy.csv")
    if text is not None:
        rows = _parse_taxonomy(text, reader.file("taxonomy.csv"))
        taxonomy = Taxonomy.from_rows(rows)
    raw = reader.yaml("confusable.yaml")
    confusable_notes: tuple = ()
    if raw is not MISSING:
        groups, confusable_notes = _parse_confusable(raw, reader.file("confusable.yaml"), taxonomy)
        if taxonomy is not None:
            taxonomy = Taxonomy.from_rows([*taxonomy.matters.values(), *taxonomy.components.values()], groups)
    if taxonomy is not None and raw_hotline is not MISSING:
        _check_windows(duplicates, taxonomy, reader.file("hotline.yaml"))

    district: District | None = None
    streets_by_name: dict[str, Street] | None = None
    raw = reader.yaml("district.yaml")
    if raw is not MISSING:
        admin, dname, streets, communities = _parse_district(raw, reader.file("district.yaml"))
        streets_by_name = {s.name: s for s in streets.values()}
        raw_grids = reader.yaml("grids.yaml")
        grids: dict[str, Grid] = {}
        if raw_grids is not MISSING:
            grids = _parse_grids(raw_grids, reader.file("grids.yaml"), streets, communities)
        district = District(admin, dname, MappingProxyType(streets), MappingProxyType(communities),
                            MappingProxyType(grids), MappingProxyType(compute_adjacency(grids)))
    else:
        reader.yaml("grids.yaml")  # still report its own syntax errors

    places: list[Place] | None = None
    raw = reader.yaml("gazetteer.yaml")
    if raw is not MISSING:
        places = _parse_gazetteer(raw, reader.file("gazetteer.yaml"), district)
        if district is not None:
            places = _district_places(district) + places
            _check_place_names(places, reader)

    departments: dict[str, Department] = {}
    raw = reader.yaml("departments.yaml")
    departments_ok = raw is not MISSING
    if departments_ok:
        departments = _parse_departments(raw, reader.file("departments.yaml"), streets_by_name, taxonomy)

    rules = RoutingRules()
    raw = reader.yaml("routing.yaml")
    if raw is not MISSING:
        rules, lists = _parse_routing(raw, reader.file("routing.yaml"))
        if taxonomy is not None:
            rules = RoutingRules(**{**rules.__dict__, "matter_names": MappingProxyType(
                {c: e.name for c, e in taxonomy.matters.items()})})
            if departments_ok:
                _check_routing(rules, lists, departments, taxonomy,
                               district.streets if district else None, places, reader)

    agencies: dict[str, Agency] = {}
    raw = reader.yaml("agencies.yaml")
    if raw is not MISSING:
        agencies = _parse_agencies(raw, reader.file("agencies.yaml"))

    extra: dict[str, object] = {}
    for filename, (parser, required) in (sections if sections is not None else _SECTIONS).items():
        raw = reader.yaml(filename, required=required)
        if raw is MISSING:
            continue
        try:
            value, found = parser(raw, filename)
        except Exception as exc:  # noqa: BLE001 - a broken parser must not hide the other problems
            problems.append(Problem(reader.display(filename), "", f"section parser failed: {exc!r}"))
            continue
        for p in found or ():
            problems.append(Problem(reader.display(filename), p.key, p.message) if isinstance(p, Problem)
                            else Problem(reader.display(filename), str(p[0]), str(p[1])))
        extra[Path(filename).stem] = value

    if problems:
        raise ConfigError(problems)
    assert taxonomy is not None and district is not None and places is not None
    return HotlineConfig(
        directory=directory,
        service=service,
        classifier=classifier,
        duplicates=duplicates,
        taxonomy=taxonomy,
        district=district,
        places=tuple(places),
        departments=MappingProxyType(departments),
        routing=rules,
        agencies=MappingProxyType(agencies),
        extra=MappingProxyType(extra),
        confusable_notes=confusable_notes,
    )


# The closed loop's files (calendar.yaml, time_limits.yaml) register themselves here, so every
# loader of the configuration (service, commands, check-config) validates them.
from intake import loop_config as _loop_config  # noqa: E402,F401
# The telephony lines (lines.yaml, optional) register themselves the same way.
from intake import phone_config as _phone_config  # noqa: E402,F401
# SMS over SMPP (sms.yaml, optional) registers itself the same way.
from intake import sms_config as _sms_config  # noqa: E402,F401
