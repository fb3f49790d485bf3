"""Options and start-up checks shared by the sub-commands."""
from __future__ import annotations

import sys


def add_config_option(p) -> None:
    """--config DIR (default: the bundled config/)."""
    p.add_argument("--config", metavar="DIR", help="configuration folder (default: the bundled config/)")


def add_db_option(p, required: bool = False) -> None:
    """--db URL (default: the config's database_url)."""
    p.add_argument("--db", metavar="URL", required=required,
                   help="database URL, e.g. sqlite:///hotline.sqlite or postgresql://user@host/db")


def load_config_or_exit(directory):
    """The validated config; on problems print every one and exit 2."""
    from intake.config import ConfigError, load_config
    try:
        return load_config(directory)
    except ConfigError as e:
        print(f"configuration has {len(e.problems)} problem(s):", file=sys.stderr)
        for p in e.problems:
            print(f"  {p}", file=sys.stderr)
        raise SystemExit(2)


def fail(message: str, code: int = 1):
    """Print a start-up failure and exit (never swallow a failed start)."""
    print(f"hotline: {message}", file=sys.stderr)
    raise SystemExit(code)
