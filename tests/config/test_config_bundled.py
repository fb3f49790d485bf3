"""The bundled configuration (config/) loads cleanly and says what the district really has."""
from __future__ import annotations

import csv
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from intake.config import HotlineConfig, load_config

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = ROOT.parent / "shared" / "domain"


def test_loads_without_problems(config):
    """The shipped configuration validates: load_config raises nothing and returns a HotlineConfig."""
    assert isinstance(config, HotlineConfig)


def test_taxonomy_counts(config):
    """All 403 rows of GB/T 47678.5-2026 are there: 250 matters and 153 components."""
    assert len(config.taxonomy.matters) == 250
    assert len(config.taxonomy.components) == 153
    assert config.taxonomy.matter("06042").name == "垃圾站（箱）满溢"


def test_taxonomy_is_an_exact_copy_of_the_standard():
    """config/taxonomy.csv carries the standard's rows over exactly (kind, code, major_class, name)."""
    source = DOMAIN / "gb-t-47678.5-2026-taxonomy.csv"
    if not source.exists():
        pytest.skip("the shared domain folder is not on this machine")
    with open(source, encoding="utf-8", newline="") as a, open(ROOT / "config/taxonomy.csv", encoding="utf-8", newline="") as b:
        assert list(csv.reader(a)) == list(csv.reader(b))


def test_confusable_groups_of_the_readme(config):
    """The README's confusable pairs are known to the taxonomy, unrelated codes are not."""
    t = config.taxonomy
    assert t.is_confusable("06042", "06010") and t.is_confusable("06011", "06042")
    assert t.is_confusable("06012", "06014")
    assert t.is_confusable("09005", "09006") and t.is_confusable("06036", "08006")
    assert not t.is_confusable("06042", "09009")


def test_district_counts(config):
    """9 streets of 2011, at least 60 communities, exactly 268 unit grids."""
    d = config.district
    assert d.admin_code == "320411"
    assert len(d.streets) == 9
    assert len(d.communities) >= 60
    assert len(d.grids) == 268


def test_street_codes_as_in_places_doc(config):
    """Street codes are exactly those of docs/places.md."""
    expected = {"河海街道": "320411001", "三井街道": "320411002", "龙虎塘街道": "320411003", "春江镇": "320411004",
                "新桥镇": "320411006", "孟河镇": "320411101", "薛家镇": "320411103", "罗溪镇": "320411104",
                "西夏墅镇": "320411105"}
    assert {s.name: s.code for s in config.district.streets.values()} == expected


def test_grid_ids(config):
    """Every grid id has 15 digits, starts with its community code and is unique; every community has grids."""
    ids = list(config.district.grids)
    assert len(ids) == len(set(ids))
    for gid, g in config.district.grids.items():
        assert len(gid) == 15 and gid.isdigit()
        assert gid[:12] == g.community_code and gid[:9] == g.street_code
    used = {g.community_code for g in config.district.grids.values()}
    assert used == set(config.district.communities)


def test_communities_use_official_codes(config):
    """Communities outside 河海街道 carry the NBS 2023 code and name; 河海's are re-coded 002 -> 001."""
    source = DOMAIN / "xinbei-divisions.csv"
    if not source.exists():
        pytest.skip("the shared domain folder is not on this machine")
    with open(source, encoding="utf-8", newline="") as f:
        official = {r["village_code"]: r["village_name"] for r in csv.DictReader(f)}
    for code, c in config.district.communities.items():
        lookup = "320411002" + code[9:] if code.startswith("320411001") else code
        assert official.get(lookup) == c.name, code


def test_grids_are_adjacent_lattice(config):
    """Neighbouring cells share vertices, so most grids have several neighbours (not an empty graph)."""
    d = config.district
    degrees = [len(d.neighbours(g)) for g in d.grids]
    assert min(degrees) >= 1
    assert sum(degrees) / len(degrees) > 4
    # a point inside a grid's centroid is found in that grid
    g = next(iter(d.grids.values()))
    assert d.grid_at(g.centroid).id == g.id


def test_places_and_departments_counts(config):
    """At least 120 gazetteer places; 12 owner/specialist departments, one emergency unit, 9 locality teams."""
    gazetteer = [p for p in config.places if p.kind not in ("street", "community")]
    assert len(gazetteer) >= 120
    kinds = [d.kind for d in config.departments.values()]
    assert kinds.count("owner") + kinds.count("specialist") == 12
    assert kinds.count("emergency") == 1
    assert kinds.count("locality") == 9


def _places_doc():
    """(street, name, short forms) for every place of docs/places.md's table."""
    text = (ROOT / "docs/places.md").read_text(encoding="utf-8")
    out = []
    for line in text.splitlines():
        m = re.match(r"^\|\s*(\S+(?:街道|镇))\s*\|\s*(.+?)\s*\|$", line)
        if not m:
            continue
        for name, short in re.findall(r"\s*([^,(]+?)\s*(?:\(([^)]*)\))?\s*(?:,|$)", m.group(2)):
            if name:
                out.append((m.group(1), name, [s.strip() for s in short.split(",") if s.strip()]))
    return out


def test_every_name_of_places_doc_resolves_to_its_street(config):
    """Each name in docs/places.md, and each short form given there, names one place in the right street."""
    entries = _places_doc()
    assert len(entries) >= 88
    for street, name, shorts in entries:
        for n in [name, *shorts]:
            place = config.place_named(n)
            assert place is not None, n
            assert place.street == street, (n, place.street, street)


def test_street_short_forms_resolve(config):
    """Short and later street names (春江街道, 新桥街道) resolve to the 2011 street; communities too."""
    cases = {"河海": "河海街道", "三井": "三井街道", "龙虎塘": "龙虎塘街道", "春江": "春江镇", "春江街道": "春江镇",
             "新桥": "新桥镇", "新桥街道": "新桥镇", "孟河": "孟河镇", "薛家": "薛家镇", "罗溪": "罗溪镇",
             "西夏墅": "西夏墅镇", "华山社区": "三井街道", "飞龙社区": "三井街道", "河海社区": "河海街道",
             "藻江社区": "河海街道", "巢湖社区": "三井街道", "华山": "三井街道"}
    for name, street in cases.items():
        place = config.place_named(name)
        assert place is not None and place.street == street, name


def test_crossing_roads_share_exactly_one_grid(config):
    """"X路和Y路交叉口" resolves: two roads that cross share exactly one grid, others none or one."""
    roads = {p.name: set(p.grids) for p in config.places if p.kind == "road"}
    assert len(roads["通江中路"] & roads["太湖东路"]) == 1
    assert len(roads["长江北路"] & roads["衡山路"]) == 1
    assert not roads["龙锦路"] & roads["巢湖路"]  # parallel roads
    names = sorted(roads)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert len(roads[a] & roads[b]) <= 1, (a, b)


def test_point_places_have_one_grid_in_their_community(config):
    """Landmarks, markets, schools and compounds lie in one grid of their own community."""
    for p in config.places:
        if p.kind in ("landmark", "market", "school", "compound", "park", "hospital", "station"):
            assert len(p.grids) == 1, p.name
            assert config.district.grids[p.grids[0]].community_code == p.community, p.name


def test_agency_categories_exist_in_the_12345_standard(config):
    """Every agency's category is a level-2 code of DB44/T 2479-2024, with the standard's name."""
    source = DOMAIN / "db44t2479-2024-12345-categories.csv"
    if not source.exists():
        pytest.skip("the shared domain folder is not on this machine")
    with open(source, encoding="utf-8", newline="") as f:
        level2 = {r["level_2_code"]: r["level_2_name"] for r in csv.DictReader(f)}
    assert len(config.agencies) >= 12
    import yaml
    categories = yaml.safe_load((ROOT / "config/agencies.yaml").read_text(encoding="utf-8"))["categories"]
    for code, name in categories.items():
        assert level2.get(code) == name, code
    for a in config.agencies.values():
        assert a.category in level2, a.id


def test_duplicate_windows(config):
    """Per-matter windows: overflowing bins 24 h, broken roads and covers a week, illegal building 30 days."""
    dup = config.duplicates
    assert dup.window_hours("06042") == 24
    assert dup.window_hours("06013") == 168
    assert dup.window_hours("01023") == 168  # via major class 01
    assert dup.window_hours("06001") == 720
    assert dup.window_hours("06025") == dup.default_window_hours


def test_service_defaults(config):
    """The service settings of the brief: port 8345 on localhost, SQLite file, Shanghai time."""
    s = config.service
    assert (s.http_port, s.http_interface, s.timezone, s.max_text_chars) == (8345, "127.0.0.1", "Asia/Shanghai", 4000)
    assert config.classifier.model_path is None


def test_loading_is_fast():
    """Loading the whole configuration takes well under a second (budget 0.5 s; margin for slow CI)."""
    start = time.perf_counter()
    load_config(ROOT / "config")
    assert time.perf_counter() - start < 1.5


def test_generator_is_deterministic(tmp_path):
    """config/tools/make_grids.py regenerates exactly the shipped district, grids and gazetteer files."""
    subprocess.run([sys.executable, str(ROOT / "config/tools/make_grids.py"), "--out", str(tmp_path)],
                   check=True, capture_output=True)
    for name in ("district.yaml", "grids.yaml", "gazetteer.yaml"):
        assert (tmp_path / name).read_bytes() == (ROOT / "config" / name).read_bytes(), name
