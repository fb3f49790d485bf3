"""Alembic migrations for intake.db.schema."""
