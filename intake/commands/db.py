"""`hotline db upgrade|current`: manage the database schema with Alembic."""
from __future__ import annotations

from intake.commands.common import add_config_option, add_db_option, load_config_or_exit


def add_arguments(p) -> None:
    """ACTION upgrade|current, --db URL."""
    p.add_argument("action", choices=["upgrade", "current"])
    add_db_option(p)
    add_config_option(p)


def run(args) -> int:
    """Upgrade to the newest schema, or print the current revision."""
    from intake.db import migrate
    from intake.db.pool import make_engine
    url = args.db or load_config_or_exit(args.config).service.database_url
    engine = make_engine(url)
    try:
        if args.action == "upgrade":
            if migrate.is_empty(engine):
                print(f"database is empty: {migrate.ensure_schema(engine)} at {migrate.head_revision(engine)}")
            else:
                migrate.upgrade(engine)
                print(f"database at {migrate.current_revision(engine)}")
        else:
            print(f"current {migrate.current_revision(engine)}, head {migrate.head_revision(engine)}")
    finally:
        engine.dispose()
    return 0
