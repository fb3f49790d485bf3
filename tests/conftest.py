"""Fixtures shared by the whole suite: the bundled config, the trained analyser, databases.

Databases: every test that takes `db_url` runs on SQLite (a file in tmp_path) and, when
HOTLINE_TEST_POSTGRES is set to a server URL (.ci/run starts one with scripts/postgres.sh), again
on a fresh PostgreSQL database created for that test and dropped after it.
"""
from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("HOTLINE_TEST_POSTGRES")


@pytest.fixture(scope="session")
def config():
    """The bundled configuration (config/), validated."""
    from intake.config import load_config
    return load_config(ROOT / "config")


@pytest.fixture(scope="session")
def analyser(config):
    """The trained classifier the setup script built (nlp/model/current.pkl)."""
    from intake.app import load_analyser
    return load_analyser(config)


def _pg_database():
    import sqlalchemy as sa
    name = "hotline_test_" + uuid.uuid4().hex[:12]
    admin = sa.create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = PG_URL.rsplit("/", 1)[0] + "/" + name

    def drop():
        with admin.connect() as c:
            c.exec_driver_sql(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")
            c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
        admin.dispose()
    return url, drop


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """A fresh, empty database URL on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'hotline.sqlite'}"
        return
    _require_pg()
    url, drop = _pg_database()
    try:
        yield url
    finally:
        drop()


def _require_pg():
    if not PG_URL:
        if os.environ.get("CI"):
            pytest.fail("CI must run the PostgreSQL half of the suite: HOTLINE_TEST_POSTGRES is not set")
        pytest.skip("HOTLINE_TEST_POSTGRES is not set (scripts/test.sh sets it)")


@pytest.fixture
def pg_url():
    """A fresh PostgreSQL database (for tests that only make sense there, like two nodes)."""
    _require_pg()
    url, drop = _pg_database()
    try:
        yield url
    finally:
        drop()
