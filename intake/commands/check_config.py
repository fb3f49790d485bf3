"""`hotline check-config`: validate the configuration and print every problem.

Exit status 0 with a one-screen summary when the configuration is usable, 1 with one problem per
line otherwise. Imports stay inside `run` so building the CLI parser costs nothing.
"""
from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options: --config DIR (default: the bundled config/ folder)."""
    parser.add_argument("--config", metavar="DIR", default=None,
                        help="configuration folder (default: the bundled config/)")


def run(args: argparse.Namespace) -> int:
    """Load the configuration; print a summary (exit 0) or every problem (exit 1)."""
    from intake.config import ConfigError, default_config_dir, load_config

    out = getattr(args, "stdout", None) or sys.stdout
    directory = args.config or default_config_dir()
    try:
        cfg = load_config(directory)
    except ConfigError as e:
        for p in e.problems:
            print(p, file=out)
        print(f"{len(e.problems)} problem(s) in {directory}", file=out)
        return 1
    kinds = {}
    for d in cfg.departments.values():
        kinds[d.kind] = kinds.get(d.kind, 0) + 1
    place_kinds = {}
    for p in cfg.places:
        place_kinds[p.kind] = place_kinds.get(p.kind, 0) + 1
    t = cfg.taxonomy
    lines = [
        f"configuration OK: {cfg.directory}",
        f"  district     {cfg.district.name} ({cfg.district.admin_code})",
        f"  taxonomy     {len(t.matters)} matters, {len(t.components)} components, "
        f"{len(t.confusable)} confusable pairs",
        f"  streets      {len(cfg.district.streets)}",
        f"  communities  {len(cfg.district.communities)}",
        f"  grids        {len(cfg.district.grids)}",
        f"  places       {len(cfg.places)} (" + ", ".join(f"{k} {v}" for k, v in sorted(place_kinds.items())) + ")",
        f"  departments  {len(cfg.departments)} (" + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())) + ")",
        f"  agencies     {len(cfg.agencies)}",
        f"  routing      components {'->'.join(cfg.routing.component_order)}, "
        f"matters {'->'.join(cfg.routing.matter_order)}, {len(cfg.routing.city_level_matters)} city-level matters",
        f"  service      http://{cfg.service.http_interface}:{cfg.service.http_port}/, {cfg.service.database_url}",
    ]
    phones = cfg.extra.get("lines")
    if phones is not None:
        servers = sorted({f"{ln.server.host}:{ln.server.port}" for ln in phones.lines})
        lines.append(f"  phones       {len(phones.lines)} lines ({', '.join(ln.hotline for ln in phones.lines)}) "
                     f"registering to {', '.join(servers)}, ASR engine {phones.asr.engine}")
    if cfg.extra:
        lines.append(f"  extra        {', '.join(sorted(cfg.extra))}")
    print("\n".join(lines), file=out)
    return 0
