"""Schema management: Alembic from the first table, fresh databases created, stale ones refused."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from intake.db import migrate
from intake.db.pool import make_engine
from intake.db.schema import metadata


def test_migrating_an_empty_database_gives_exactly_the_schema(db_url):
    """`alembic upgrade head` from empty produces what schema.py declares (no differences)."""
    engine = make_engine(db_url)
    try:
        migrate.upgrade(engine)
        assert migrate.current_revision(engine) == migrate.head_revision(engine)
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
        assert diff == []
    finally:
        engine.dispose()


def test_fresh_database_is_created_and_stamped_then_current(db_url):
    """An empty database gets create_all + stamp head; the next start finds it current."""
    engine = make_engine(db_url)
    try:
        assert migrate.ensure_schema(engine) == "created"
        assert migrate.current_revision(engine) == migrate.head_revision(engine)
        assert migrate.ensure_schema(engine) == "current"
    finally:
        engine.dispose()


def test_a_stale_schema_is_refused_with_the_upgrade_command(db_url):
    """Tables from an unknown or older revision: the service refuses and names `hotline db upgrade`."""
    engine = make_engine(db_url)
    try:
        with engine.begin() as c:
            c.execute(sa.text("CREATE TABLE reports (id INTEGER PRIMARY KEY)"))
        with pytest.raises(migrate.SchemaOutOfDate) as e:
            migrate.ensure_schema(engine)
        assert "hotline db upgrade" in str(e.value)
    finally:
        engine.dispose()


def test_the_service_refuses_to_start_on_a_stale_schema(db_url):
    """open_database turns a stale schema into a StartupError (a failed start is loud)."""
    from intake.app import StartupError, open_database
    engine = make_engine(db_url)
    with engine.begin() as c:
        c.execute(sa.text("CREATE TABLE cases (id INTEGER PRIMARY KEY)"))
    engine.dispose()
    with pytest.raises(StartupError, match="db upgrade"):
        open_database(db_url)
