"""`hotline user create --user NAME --role ROLE [--department ID] --password-stdin`: a console user.

The password is read from standard input (never from the command line, where `ps` would show it)
and stored as an argon2id hash; running it again for the same user sets a new password.
"""
from __future__ import annotations

import sys

from intake.commands.common import add_config_option, add_db_option, fail, load_config_or_exit


def add_arguments(p) -> None:
    """create --user --role [--department] --password-stdin [--db] [--config]."""
    p.add_argument("action", choices=["create"])
    p.add_argument("--user", required=True, help="user name (created on first use, password set again after)")
    p.add_argument("--role", required=True, help="operator, shift_chief, dispatcher, department, inspector, "
                                                 "auditor or admin")
    p.add_argument("--department", help="department id from config/departments.yaml (role department)")
    p.add_argument("--password-stdin", action="store_true", required=True,
                   help="read the password from the first line of standard input")
    add_db_option(p)
    add_config_option(p)


def run(args) -> int:
    """Create or update the user with the password from stdin; print a confirmation line."""
    from intake.app import StartupError, open_database
    from intake.auth import ROLES, set_password_thd
    config = load_config_or_exit(args.config)
    if args.role not in ROLES:
        fail(f"unknown role {args.role!r}; one of {', '.join(ROLES)}", 2)
    if args.department and args.department not in config.departments:
        fail(f"unknown department {args.department!r}; see config/departments.yaml", 2)
    password = sys.stdin.readline().rstrip("\r\n")
    try:
        engine = open_database(args.db or config.service.database_url)
    except StartupError as e:
        fail(str(e))
    try:
        with engine.begin() as conn:
            set_password_thd(conn, args.user, args.role, password, args.department)
    except ValueError as e:
        fail(str(e), 2)
    finally:
        engine.dispose()
    sys.stdout.write(f"user {args.user} ({args.role}) can sign in to the console\n")
    return 0
