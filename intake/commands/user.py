"""`hotline user create --user NAME --role ROLE [--department ID] --password-stdin`: a console user.

The password is read from standard input (never from the command line, where `ps` would show it)
and stored as an argon2id hash; running it again for the same user sets a new password.
"""
from __future__ import annotations

import sys

from intake.commands.common import add_user_options, write_user


def add_arguments(p) -> None:
    """create --user --role [--department] --password-stdin [--db] [--config]."""
    add_user_options(p, "operator, shift_chief, dispatcher, department, inspector, auditor or admin")
    p.add_argument("--password-stdin", action="store_true", required=True,
                   help="read the password from the first line of standard input")


def run(args) -> int:
    """Create or update the user with the password from stdin; print a confirmation line."""
    from intake.auth import set_password_thd
    password = sys.stdin.readline().rstrip("\r\n")
    write_user(args, set_password_thd, password)
    sys.stdout.write(f"user {args.user} ({args.role}) can sign in to the console\n")
    return 0
