"""Duplicate candidate lookup at scale, and replay throughput.

    .venv/bin/python bench/bench_dedup.py [--small 10000] [--large 1000000] [--db-dir DIR]

Fills two SQLite databases with N historical cases across the district's grids, communities and
named places at the same daily rate (--per-day, default 275 cases a day: 10,000 cases are five
weeks of history, 1,000,000 are ten years), so both hold the same recent weeks and differ in how
much history lies behind them, as a city's database grows. Then times the store's real
candidate lookup (intake.db.store._candidates, the query the intake transaction runs) for the same
2,000 report queries on both; prints the median and p95 per lookup and the large/small ratio. Then
replays the bundled labelled stream through the full pipeline and prints events per second.
Not a test: nothing here asserts a time.
"""
from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from intake.config import load_config  # noqa: E402
from intake.db import schema as t  # noqa: E402
from intake.db.migrate import ensure_schema  # noqa: E402
from intake.db.pool import make_engine  # noqa: E402
from intake.db.store import _candidates  # noqa: E402

NOW = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.timezone.utc)


def fill(url: str, n: int, config, per_day: float, seed: int = 7) -> float:
    """Insert n cases (and their place rows); returns seconds taken."""
    rng = random.Random(seed)
    grids = list(config.district.grids.values())
    codes = list(config.taxonomy.matters)
    spots = [p for p in config.places if p.kind not in ("street", "community") and p.grids]
    engine = make_engine(url)
    ensure_schema(engine)
    t0 = time.perf_counter()
    batch, places = [], []
    case_id = 0
    with engine.begin() as conn:
        for i in range(n):
            case_id += 1
            opened = NOW - dt.timedelta(days=rng.uniform(0, n / per_day))
            g = rng.choice(grids)
            spot = rng.choice(spots) if rng.random() < 0.6 else None
            closed = opened + dt.timedelta(hours=rng.uniform(2, 200))
            is_closed = closed < NOW
            batch.append(dict(id=case_id, number=f"H{case_id:09d}", status="closed" if is_closed else "open",
                              code=rng.choice(codes), alternative_codes=[], street=config.district.streets[g.street_code].name,
                              community=g.community_code, grid=g.id, places=[spot.name] if spot else [], tokens="",
                              department_id=None, level="district", emergency=False, hot=False,
                              inspector_confirmed=False, report_count=1, callers=[], channels=["sms"],
                              recurrence_of=None, opened_at=opened, last_report_at=opened,
                              closed_at=closed if is_closed else None))
            if spot:
                places.append(dict(case_id=case_id, place=spot.name, last_report_at=opened))
            if len(batch) == 20000:
                conn.execute(t.cases.insert(), batch)
                if places:
                    conn.execute(t.case_places.insert(), places)
                batch, places = [], []
        if batch:
            conn.execute(t.cases.insert(), batch)
        if places:
            conn.execute(t.case_places.insert(), places)
    engine.dispose()
    return time.perf_counter() - t0


def queries(config, k: int, seed: int = 11) -> list[dict]:
    """k report-shaped candidate queries like the pipeline builds (grid + neighbours, community, places)."""
    rng = random.Random(seed)
    grids = list(config.district.grids.values())
    spots = [p for p in config.places if p.kind not in ("street", "community") and p.grids]
    codes = list(config.taxonomy.matters)
    widest = max([config.duplicates.default_window_hours, *config.duplicates.windows_hours.values()])
    out = []
    for i in range(k):
        g = rng.choice(grids)
        # 40 % inspectors (widest window), the rest citizens with their code's window
        hours = widest if i % 5 < 2 else config.duplicates.window_hours(rng.choice(codes))
        out.append({"grids": [g.id, *sorted(config.district.neighbours(g.id))], "community": g.community_code,
                    "street": None, "places": [rng.choice(spots).name] if rng.random() < 0.6 else [],
                    "since": NOW - dt.timedelta(hours=hours), "closed_since": NOW - dt.timedelta(days=30)})
    return out


def time_lookups(url: str, qs: list[dict]) -> tuple[list[float], int]:
    """Seconds per lookup (each its own transaction, as in intake) and candidates found in all."""
    engine = make_engine(url)
    times, found = [], 0
    with engine.connect() as conn:
        for q in qs[:50]:
            _candidates(conn, q)  # warm the page cache the same way for both sizes
        for q in qs:
            t0 = time.perf_counter()
            found += len(_candidates(conn, q))
            times.append(time.perf_counter() - t0)
    engine.dispose()
    return times, found


def replay_rate(config, url: str) -> tuple[int, float]:
    """Events per second replaying the bundled labelled stream through the whole pipeline."""
    from intake.app import build_sync_app
    from intake.commands.replay import Replayer
    app = build_sync_app(config, url)
    lines = (ROOT / "intake" / "samples" / "replay-xinbei.jsonl").read_text(encoding="utf-8").splitlines()
    r = Replayer(config, app)
    r.line(lines[0])  # first call loads lazy parts; not part of the rate
    t0 = time.perf_counter()
    for line in lines[1:]:
        r.line(line)
    dt_s = time.perf_counter() - t0
    app.close()
    return len(lines) - 1, dt_s


def main() -> int:
    """Fill, time, print."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--small", type=int, default=10_000)
    ap.add_argument("--large", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=2000)
    ap.add_argument("--per-day", type=float, default=275.0)
    ap.add_argument("--db-dir", default=None)
    args = ap.parse_args()
    config = load_config()
    qs = queries(config, args.queries)
    with tempfile.TemporaryDirectory(dir=args.db_dir) as tmp:
        rows = []
        for n in (args.small, args.large):
            url = f"sqlite:///{tmp}/cases-{n}.sqlite"
            fill_s = fill(url, n, config, args.per_day)
            times, found = time_lookups(url, qs)
            rows.append((n, fill_s, statistics.median(times) * 1e3, sorted(times)[int(len(times) * 0.95)] * 1e3,
                         found / len(qs)))
        events, secs = replay_rate(config, f"sqlite:///{tmp}/replay.sqlite")
    print(f"{'cases':>10} {'fill s':>8} {'median ms':>10} {'p95 ms':>8} {'candidates/lookup':>18}")
    for n, fill_s, med, p95, cand in rows:
        print(f"{n:>10} {fill_s:8.1f} {med:10.3f} {p95:8.3f} {cand:18.1f}")
    print(f"lookup cost ratio {args.large}/{args.small}: median {rows[1][2] / rows[0][2]:.2f}x, "
          f"p95 {rows[1][3] / rows[0][3]:.2f}x")
    print(f"replay: {events} events in {secs:.2f} s = {events / secs:.1f} events/s (full pipeline, SQLite)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
