"""Schema versions: create a fresh database, upgrade an old one, refuse to run on a stale one.

A fresh (empty) database gets `create_all` and is stamped at the head revision; an existing one
must be at the head, or the service refuses to start and says which command upgrades it.
"""
from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from intake.db.schema import intake_lock, metadata

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


class SchemaOutOfDate(Exception):
    """The database's schema is not the one this code expects."""


def alembic_config(engine: sa.Engine) -> Config:
    """An Alembic config pointing at the project's migrations and this engine's URL."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    return cfg


def head_revision(engine: sa.Engine) -> str:
    """The newest revision in the migrations folder."""
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def current_revision(engine: sa.Engine) -> str | None:
    """The revision the database is stamped with (None: never stamped)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def is_empty(engine: sa.Engine) -> bool:
    """True when the database has none of our tables."""
    names = set(sa.inspect(engine).get_table_names())
    return not (names & set(metadata.tables))


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    """Run migrations up to `revision`."""
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def ensure_schema(engine: sa.Engine) -> str:
    """Prepare the database for the service; returns what was done.

    empty -> create all tables and stamp head ('created'); at head -> 'current';
    otherwise raise SchemaOutOfDate naming the upgrade command.
    """
    head = head_revision(engine)
    if is_empty(engine):
        metadata.create_all(engine)
        cfg = alembic_config(engine)
        with engine.begin() as conn:
            conn.execute(intake_lock.insert().values(id=1, generation=0))
            cfg.attributes["connection"] = conn
            command.stamp(cfg, head)
        return "created"
    current = current_revision(engine)
    if current == head:
        return "current"
    url = engine.url.render_as_string(hide_password=True)
    raise SchemaOutOfDate(
        f"database schema is at revision {current or 'none (unknown tables present)'}, this version of the "
        f"service needs {head}: run `hotline db upgrade --db {url}` first")
