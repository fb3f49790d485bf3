"""Alembic environment: runs on the connection intake.db.migrate hands over."""
from alembic import context

from intake.db.schema import metadata

config = context.config


def run_migrations_online() -> None:
    """Migrate on the connection in config.attributes['connection'] (or a new engine)."""
    connection = config.attributes.get("connection")
    if connection is None:
        from intake.db.pool import make_engine
        engine = make_engine(config.get_main_option("sqlalchemy.url"))
        with engine.begin() as connection:
            context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
            with context.begin_transaction():
                context.run_migrations()
        return
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
