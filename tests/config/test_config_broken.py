"""A broken configuration: every fault is reported at once, each with its file and key."""
from __future__ import annotations

import argparse
import io
import shutil
from pathlib import Path

import pytest

from intake.commands import check_config
from intake.config import ConfigError, Problem, load_config, register_section, unregister_section

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def cfg_dir(tmp_path):
    """A private copy of the bundled config/ to break."""
    target = tmp_path / "config"
    shutil.copytree(ROOT / "config", target, ignore=shutil.ignore_patterns("tools"))
    return target


def _edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def _problems(directory) -> list[Problem]:
    with pytest.raises(ConfigError) as info:
        load_config(directory)
    return info.value.problems


def _has(problems, file, key, *words) -> bool:
    return any(p.file.endswith(file) and p.key == key and all(w in p.message for w in words) for p in problems)


def _break_many(d: Path) -> None:
    """Seven faults in seven places."""
    # unknown key
    _edit(d / "hotline.yaml", "  recordings_dir: recordings", "  recordings_dir: recordings\n  colour: red")
    # wrong type
    _edit(d / "hotline.yaml", "review_threshold: 0.5", "review_threshold: high")
    # bad grid id (14 digits)
    _edit(d / "grids.yaml", '{id: "320411101004001"', '{id: "32041110100401"')
    # unknown street in a department (an alias, not the official name)
    _edit(d / "departments.yaml", "streets: [新桥镇]", "streets: [新桥街道]")
    # duplicate code in the taxonomy
    with open(d / "taxonomy.csv", "a", encoding="utf-8") as f:
        f.write("matter,06042,市容环境类,垃圾站（箱）满溢\n")
    # YAML syntax error
    _edit(d / "agencies.yaml", "  - id: labour\n", "  - id: labour\n    name: [unclosed\n")
    # missing file
    (d / "confusable.yaml").unlink()


def test_every_fault_is_reported(cfg_dir):
    """All seven faults come back together, each naming its file and key."""
    _break_many(cfg_dir)
    problems = _problems(cfg_dir)
    text = "\n".join(map(str, problems))
    assert _has(problems, "hotline.yaml", "service.colour", "unknown key"), text
    assert _has(problems, "hotline.yaml", "classifier.review_threshold", "must be a number"), text
    assert _has(problems, "grids.yaml", "grids[0].id", "15-digit"), text
    assert any(p.file.endswith("departments.yaml") and p.key.endswith(".streets[0]")
               and "unknown street 新桥街道" in p.message for p in problems), text
    line = len((cfg_dir / "taxonomy.csv").read_text(encoding="utf-8").splitlines())
    assert _has(problems, "taxonomy.csv", f"line {line}", "duplicate matter code 06042"), text
    assert any(p.file.endswith("agencies.yaml") and p.key.startswith("line ") and "YAML syntax error" in p.message
               for p in problems), text
    assert _has(problems, "confusable.yaml", "", "missing"), text


def test_problem_text_names_file_and_key(cfg_dir):
    """A problem prints as `<dir>/departments.yaml: departments[N].streets[0]: unknown street 新桥街道 ...`."""
    _edit(cfg_dir / "departments.yaml", "streets: [新桥镇]", "streets: [新桥街道]")
    problems = _problems(cfg_dir)
    line = next(str(p) for p in problems if "新桥街道" in p.message)
    assert "departments.yaml: departments[" in line and "].streets[0]: unknown street 新桥街道" in line
    assert "新桥镇" in line  # the message says which official name was meant
    # the street it no longer covers is reported too: every street needs a locality team
    assert any("street 新桥镇 has no locality team" in p.message for p in problems)


def test_check_config_prints_every_problem_and_exits_1(cfg_dir):
    """`hotline check-config --config DIR` prints each problem on its own line and returns 1."""
    _break_many(cfg_dir)
    expected = [str(p) for p in _problems(cfg_dir)]
    out = io.StringIO()
    rc = check_config.run(argparse.Namespace(config=str(cfg_dir), stdout=out))
    assert rc == 1
    lines = out.getvalue().splitlines()
    assert lines[:-1] == expected
    assert lines[-1].startswith(f"{len(expected)} problem(s)")


def test_check_config_summary_on_success():
    """On the bundled config check-config exits 0 with the counts."""
    out = io.StringIO()
    rc = check_config.run(argparse.Namespace(config=str(ROOT / "config"), stdout=out))
    text = out.getvalue()
    assert rc == 0
    assert "250 matters" in text and "268" in text and "communities" in text and "departments  22" in text


def test_ownership_and_routability(cfg_dir):
    """A component owned twice, a component with no owner and a matter with no specialist are caught."""
    _edit(cfg_dir / "departments.yaml", 'components: ["01011",', 'components: ["01005", "01011",')  # gas owns 电力井盖 too
    _edit(cfg_dir / "departments.yaml", '"01001", "01019",', '"01019",')  # nobody owns 供水井盖
    _edit(cfg_dir / "departments.yaml", '"06041", "06042"]', '"06041"]')  # 06042 loses its specialist
    problems = _problems(cfg_dir)
    msgs = [p.message for p in problems]
    assert any("01005" in m and "several departments" in m for m in msgs), msgs
    assert any("01001" in m and "has no owner" in m for m in msgs), msgs
    assert any("06042" in m and "no specialist" in m for m in msgs), msgs


def test_unquoted_codes_polygons_and_references(cfg_dir):
    """Unquoted codes, open rings, unknown grids and ambiguous names are reported with their keys."""
    _edit(cfg_dir / "routing.yaml", 'emergency_department: emergency', 'emergency_department: fire-brigade')
    _edit(cfg_dir / "departments.yaml", 'matters: ["10002"]', 'matters: [10002]')
    grids = cfg_dir / "grids.yaml"
    _edit(grids, "[119.85, 32.05]]}", "[119.85, 32.04]]}")  # first ring no longer closed
    _edit(cfg_dir / "gazetteer.yaml", "- name: 河海东路", "- name: 河海东路\n  colour: blue")
    _edit(cfg_dir / "gazetteer.yaml", "  - 恐龙园\n", "  - 恐龙园\n  - 华山\n")  # 华山 is a community's short form
    problems = _problems(cfg_dir)
    text = "\n".join(map(str, problems))
    assert _has(problems, "routing.yaml", "emergency_department", "unknown department fire-brigade"), text
    assert any(p.key.endswith(".matters[0]") and "quote codes" in p.message for p in problems), text
    assert _has(problems, "grids.yaml", "grids[0].polygon", "not closed"), text
    assert _has(problems, "gazetteer.yaml", "places[0].colour", "unknown key"), text
    assert any("'华山'" in p.message and "two places" in p.message for p in problems), text


def test_community_code_must_be_under_its_street(cfg_dir):
    """A 12-digit community code that does not start with its street's code is rejected."""
    _edit(cfg_dir / "district.yaml", "- code: '320411002001'", "- code: '320411003901'")
    problems = _problems(cfg_dir)
    assert any(p.file.endswith("district.yaml") and p.key.endswith(".code") and "not under its street" in p.message
               for p in problems), "\n".join(map(str, problems))


def test_registered_section_lands_in_extra(cfg_dir):
    """A section registered by another module is parsed and its value appears in extra[stem]."""
    # A name no real module registers: unregistering it must not remove a real section.
    (cfg_dir / "trunks.yaml").write_text("lines:\n  - number: '12345'\n", encoding="utf-8")

    def parse(raw, filename):
        return tuple(x["number"] for x in raw["lines"]), []

    register_section("trunks.yaml", parse)
    try:
        cfg = load_config(cfg_dir)
    finally:
        unregister_section("trunks.yaml")
    assert cfg.extra["trunks"] == ("12345",)


def test_registered_section_problems_and_missing_file(cfg_dir):
    """Problems of an extra section are reported with its file; a missing required one is a problem."""
    (cfg_dir / "calendar.yaml").write_text("holidays: ['2026-13-01']\n", encoding="utf-8")
    (cfg_dir / "time_limits.yaml").unlink(missing_ok=True)  # the bundled config has one: make it missing
    sections = {
        "calendar.yaml": (lambda raw, fn: (None, [("holidays[0]", "not a date")]), True),
        "time_limits.yaml": (lambda raw, fn: (None, []), True),
        "optional.yaml": (lambda raw, fn: (None, []), False),
    }
    with pytest.raises(ConfigError) as info:
        load_config(cfg_dir, sections=sections)
    problems = info.value.problems
    assert _has(problems, "calendar.yaml", "holidays[0]", "not a date")
    assert _has(problems, "time_limits.yaml", "", "missing")
    assert not any(p.file.endswith("optional.yaml") for p in problems)


def test_impossible_yaml_date_is_a_problem(cfg_dir):
    """pyyaml raises ValueError (not YAMLError) for 2026-13-01: still reported, never a traceback."""
    (cfg_dir / "calendar.yaml").write_text("holidays: [2026-13-01]\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(cfg_dir, sections={"calendar.yaml": (lambda raw, fn: (raw, []), True)})
    assert _has(info.value.problems, "calendar.yaml", "", "month must be in 1..12")


def test_duplicate_yaml_key_is_a_problem(cfg_dir):
    """A key given twice in one mapping is reported with its line instead of silently keeping the last."""
    _edit(cfg_dir / "hotline.yaml", '    "06010": 24 ', '    "06042": 48 ')
    problems = _problems(cfg_dir)
    assert any(p.file.endswith("hotline.yaml") and p.key.startswith("line ") and "duplicate key '06042'" in p.message
               for p in problems), "\n".join(map(str, problems))


def test_empty_sections_mean_defaults(cfg_dir):
    """hotline.yaml with empty sections loads with every default."""
    (cfg_dir / "hotline.yaml").write_text("service:\nclassifier:\nduplicates:\n", encoding="utf-8")
    cfg = load_config(cfg_dir)
    assert cfg.service.http_port == 8345 and cfg.duplicates.window_hours("06042") == 72


def test_missing_directory():
    """A folder that does not exist is one clear problem, not a traceback."""
    with pytest.raises(ConfigError) as info:
        load_config("/nonexistent/hotline-config")
    assert "does not exist" in info.value.problems[0].message
