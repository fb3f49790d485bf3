#!/usr/bin/env python3
"""Validate a labelled replay stream (JSON Lines + truth JSON) and print its statistics.

Usage: python intake/samples/check_replay.py [STREAM.jsonl [TRUTH.json]] [--config CONFIG_DIR]

Defaults to replay-xinbei.jsonl / replay-xinbei.truth.json next to this script. With --config,
inspector grids (the 15-digit id in the address) and street names are checked against
grids.yaml and district.yaml. Standard library only, so it runs anywhere. Exit status 0 when
the stream is valid, 1 with every problem listed (file:line: field: what is wrong) otherwise.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from pathlib import Path

CHANNELS = ("sms", "web", "12345", "110", "inspector")
REPORT_REQUIRED = ("id", "received_at", "channel", "external_id", "text")
REPORT_OPTIONAL = ("caller", "address", "street", "code", "lng", "lat")
ACTION_FIELDS = ("id", "received_at", "action", "report")
ACTIONS = ("close",)
GRID_IN_ADDRESS = re.compile(r"网格\s*(\d{15})")
HERE = Path(__file__).resolve().parent


def parse_time(value, where, errors):
    """An ISO 8601 time with an offset, or None after recording why not."""
    if not isinstance(value, str):
        errors.append(f"{where}: received_at: not a string")
        return None
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        errors.append(f"{where}: received_at: {value!r} is not ISO 8601")
        return None
    if t.utcoffset() is None:
        errors.append(f"{where}: received_at: {value!r} has no UTC offset")
        return None
    return t


def load_config(config_dir: Path, errors):
    """Grid ids and street names (official and aliases) from the deployment's YAML, read by regex."""
    grids, streets = set(), set()
    try:
        grids = set(re.findall(r'id:\s*"?(\d{15})"?', (config_dir / "grids.yaml").read_text(encoding="utf-8")))
        text = (config_dir / "district.yaml").read_text(encoding="utf-8")
        section = text.split("\ncommunities:")[0]
        streets = set(re.findall(r"name:\s*'?([^'\n]+?)'?\s*$", section, re.M))
        streets |= set(re.findall(r"^\s*-\s+([^\s:'\"]+)\s*$", section, re.M))
    except OSError as e:
        errors.append(f"--config: cannot read {e.filename}: {e.strerror}")
    return grids, streets


def check_stream(path: Path, errors, config=None):
    """Validate each line; return reports {id: obj} and actions [obj] in file order."""
    reports, actions, seen_ids, seen_ext = {}, [], set(), set()
    previous = None
    grids, streets = config or (None, None)
    try:
        raw = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        errors.append(f"{path}: cannot read: {e.strerror}")
        return reports, actions
    for n, line in enumerate(raw, 1):
        where = f"{path.name}:{n}"
        if not line.strip():
            errors.append(f"{where}: empty line")
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            errors.append(f"{where}: not JSON: {e.msg}")
            continue
        if not isinstance(obj, dict):
            errors.append(f"{where}: not a JSON object")
            continue
        oid = obj.get("id")
        if not isinstance(oid, str) or not oid:
            errors.append(f"{where}: id: missing")
            continue
        where = f"{where} ({oid})"
        if oid in seen_ids:
            errors.append(f"{where}: id: duplicate")
        seen_ids.add(oid)
        t = parse_time(obj.get("received_at"), where, errors)
        if t is not None:
            if previous is not None and t < previous:
                errors.append(f"{where}: received_at: {obj['received_at']} is earlier than the line before")
            previous = t
            obj["_t"] = t
        if "action" in obj:
            unknown = set(obj) - set(ACTION_FIELDS) - {"_t"}
            if unknown:
                errors.append(f"{where}: unknown fields {sorted(unknown)}")
            if obj["action"] not in ACTIONS:
                errors.append(f"{where}: action: {obj['action']!r} is not one of {ACTIONS}")
            if obj.get("report") not in reports:
                errors.append(f"{where}: report: {obj.get('report')!r} is not an earlier report id")
            actions.append(obj)
            continue
        for f in REPORT_REQUIRED:
            if f not in obj or obj[f] in (None, ""):
                errors.append(f"{where}: {f}: missing")
        unknown = set(obj) - set(REPORT_REQUIRED) - set(REPORT_OPTIONAL) - {"_t"}
        if unknown:
            errors.append(f"{where}: unknown fields {sorted(unknown)}")
        ch = obj.get("channel")
        if ch not in CHANNELS:
            errors.append(f"{where}: channel: {ch!r} is not one of {CHANNELS}")
        key = (ch, obj.get("external_id"))
        if key in seen_ext:
            errors.append(f"{where}: external_id: {key[1]!r} repeats on channel {ch}")
        seen_ext.add(key)
        text = obj.get("text")
        if isinstance(text, str) and not 4 <= len(text) <= 4000:
            errors.append(f"{where}: text: length {len(text)} outside 4-4000")
        caller = obj.get("caller")
        if caller is not None and not re.fullmatch(r"1\d{10}", str(caller)):
            errors.append(f"{where}: caller: {caller!r} is not an 11-digit mobile number")
        code = obj.get("code")
        if ch == "inspector":
            if not (isinstance(code, str) and re.fullmatch(r"\d{5}", code)):
                errors.append(f"{where}: code: inspectors send a 5-digit matter code, got {code!r}")
            addr = obj.get("address") or ""
            m = GRID_IN_ADDRESS.search(addr)
            if not addr.startswith("事发位置："):
                errors.append(f"{where}: address: an inspector's address starts with 事发位置：")
            if not m:
                errors.append(f"{where}: address: no 15-digit grid (网格...) in {addr!r}")
            elif grids and m.group(1) not in grids:
                errors.append(f"{where}: address: grid {m.group(1)} is not in grids.yaml")
        elif code is not None:
            errors.append(f"{where}: code: only inspectors send a code")
        if ("lng" in obj) != ("lat" in obj):
            errors.append(f"{where}: lng/lat: give both or neither")
        for f in ("lng", "lat"):
            if f in obj and not isinstance(obj[f], (int, float)):
                errors.append(f"{where}: {f}: not a number")
        st = obj.get("street")
        if st is not None and streets and st not in streets:
            errors.append(f"{where}: street: {st!r} is not a street name or alias in district.yaml")
        reports[oid] = obj
    return reports, actions


def check_truth(path: Path, reports, actions, errors):
    """Validate the truth file against the stream; return it (or None)."""
    try:
        truth = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        errors.append(f"{path}: cannot read truth: {e}")
        return None
    for key in ("clusters", "recurrence_of", "notes"):
        if not isinstance(truth.get(key), dict):
            errors.append(f"{path.name}: {key}: missing or not an object")
            return None
    clusters, rec, notes = truth["clusters"], truth["recurrence_of"], truth["notes"]
    for rid in reports:
        if rid not in clusters:
            errors.append(f"{path.name}: clusters: report {rid} has no problem id")
    for rid in clusters:
        if rid not in reports:
            errors.append(f"{path.name}: clusters: {rid} is not a report in the stream")
    problems = set(clusters.values())
    for pid in problems:
        if pid not in notes:
            errors.append(f"{path.name}: notes: problem {pid} has no note")
    closed_at = {}  # problem -> time of its close action
    for a in actions:
        pid = clusters.get(a.get("report"))
        if pid is not None and "_t" in a:
            closed_at.setdefault(pid, a["_t"])
    first = {}
    for rid, obj in reports.items():
        pid = clusters.get(rid)
        if pid is not None and "_t" in obj:
            first[pid] = min(first.get(pid, obj["_t"]), obj["_t"])
            if pid in closed_at and obj["_t"] > closed_at[pid]:
                errors.append(f"{path.name}: clusters: {rid} is after problem {pid} was closed "
                              f"(a report after a close is a recurrence: give it a new problem id)")
    for new, old in rec.items():
        if new not in problems or old not in problems:
            errors.append(f"{path.name}: recurrence_of: {new} -> {old}: unknown problem id")
            continue
        if old not in closed_at:
            errors.append(f"{path.name}: recurrence_of: {old} is never closed in the stream")
        elif first.get(new) and first[new] <= closed_at[old]:
            errors.append(f"{path.name}: recurrence_of: {new} starts before {old} was closed")
    return truth


def stats(reports, actions, truth):
    """Counts a reader wants before trusting a replay: sizes, channels, hard cases."""
    times = [o["_t"] for o in list(reports.values()) + actions if "_t" in o]
    clusters = truth["clusters"]
    members = defaultdict(list)
    for rid, pid in clusters.items():
        if rid in reports:
            members[pid].append(reports[rid])
    sizes = Counter(len(v) for v in members.values())
    notes = truth["notes"]
    out_of_scope = [p for p in members if "OUT OF SCOPE" in notes.get(p, "")]
    emergencies = [p for p in members if "EMERGENCY" in notes.get(p, "")]
    hard = [p for p in members if "HARD NEGATIVE" in notes.get(p, "")]
    codes = Counter(notes[p].split()[0] for p in members if re.match(r"\d{5} ", notes.get(p, "")))
    hot = []
    for pid, objs in members.items():
        ts = sorted(o["_t"] for o in objs if "_t" in o)
        if any(sum(1 for u in ts if t <= u < t + timedelta(days=3)) >= 3 for t in ts):
            hot.append(pid)
    pairs = sum(n * (n - 1) // 2 * k for n, k in sizes.items())
    in_scope_reports = sum(len(v) for p, v in members.items() if p not in out_of_scope)
    in_scope_problems = len(members) - len(out_of_scope)
    streets = Counter(o.get("street") for o in reports.values() if o.get("channel") == "inspector")
    lines = [
        f"events {len(reports) + len(actions)}: {len(reports)} reports, {len(actions)} actions",
        f"span {min(times).isoformat()} .. {max(times).isoformat()} "
        f"({(max(times) - min(times)).total_seconds() / 86400:.1f} days)" if times else "span: none",
        "channels " + ", ".join(f"{k} {v}" for k, v in sorted(Counter(o.get('channel') for o in reports.values()).items())),
        f"problems {len(members)} ({in_scope_problems} in scope, {len(out_of_scope)} out of scope, "
        f"{len(emergencies)} emergencies); matter codes {len(codes)}",
        "reports per problem " + ", ".join(f"{n}x{k}" for n, k in sorted(sizes.items())),
        f"duplicates {in_scope_reports - in_scope_problems} of {in_scope_reports} in-scope reports "
        f"({(in_scope_reports - in_scope_problems) / max(1, in_scope_reports):.0%}); same-problem pairs {pairs}",
        f"recurrences {len(truth['recurrence_of'])}: " + ", ".join(f"{a}<-{b}" for a, b in sorted(truth['recurrence_of'].items())),
        f"problems hot by the default rule (>=3 reports in 3 days) {len(hot)}: {', '.join(sorted(hot))}",
        f"problems noted as hard negatives {len(hard)}",
        f"inspector reports {sum(streets.values())} in {len([s for s in streets if s])} streets; "
        f"citizen reports with caller {sum(1 for o in reports.values() if o.get('caller'))}",
    ]
    return lines


def main(argv=None) -> int:
    """Validate, print statistics, return the exit status."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("stream", nargs="?", default=str(HERE / "replay-xinbei.jsonl"))
    ap.add_argument("truth", nargs="?")
    ap.add_argument("--config", help="config directory with grids.yaml and district.yaml")
    args = ap.parse_args(argv)
    stream = Path(args.stream)
    truth_path = Path(args.truth) if args.truth else stream.with_name(stream.name.replace(".jsonl", ".truth.json"))
    errors: list[str] = []
    config = load_config(Path(args.config), errors) if args.config else None
    reports, actions = check_stream(stream, errors, config)
    if not reports and not any(str(stream) in e for e in errors):
        errors.append(f"{stream}: no report lines")
    truth = check_truth(truth_path, reports, actions, errors) if reports else None
    if truth is not None:
        print("\n".join(stats(reports, actions, truth)))
    for e in errors:
        print("ERROR " + e, file=sys.stderr)
    print(f"{'INVALID' if errors else 'OK'}: {len(errors)} problem(s)", file=sys.stderr if errors else sys.stdout)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
