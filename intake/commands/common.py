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


def add_user_options(p, roles_help: str) -> None:
    """`create --user --role [--department] [--db] [--config]`, shared by `token` and `user`."""
    p.add_argument("action", choices=["create"])
    p.add_argument("--user", required=True, help="user name (created on first use)")
    p.add_argument("--role", required=True, help=roles_help)
    p.add_argument("--department", help="department id from config/departments.yaml (role department)")
    add_db_option(p)
    add_config_option(p)


def write_user(args, thd, *extra):
    """Check --role and --department, then run thd(conn, user, role, *extra, department) in one
    transaction on the configured database; its ValueError is a clear exit 2. Returns its result."""
    from intake.app import StartupError, open_database
    from intake.auth import ROLES
    config = load_config_or_exit(args.config)
    if args.role not in ROLES:
        fail(f"unknown role {args.role!r}; one of {', '.join(ROLES)}", 2)
    if args.department and args.department not in config.departments:
        fail(f"unknown department {args.department!r}; see config/departments.yaml", 2)
    try:
        engine = open_database(args.db or config.service.database_url)
    except StartupError as e:
        fail(str(e))
    try:
        with engine.begin() as conn:
            return thd(conn, args.user, args.role, *extra, args.department)
    except ValueError as e:
        fail(str(e), 2)
    finally:
        engine.dispose()
