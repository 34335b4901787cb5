"""Alembic environment of the server schema: runs on the engine handed over by `server.db.migrate`."""

from __future__ import annotations

from alembic import context

from server.models import Base

config = context.config
target_metadata = Base.metadata
VERSION_TABLE = "server_alembic_version"


def run_migrations_online() -> None:
    engine = config.attributes.get("engine")
    if engine is None:
        from sqlalchemy import create_engine

        engine = create_engine(config.get_main_option("sqlalchemy.url") or "sqlite://")
    with engine.connect() as connection:
        context.configure(
            connection=connection, target_metadata=target_metadata, version_table=VERSION_TABLE,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations_online()
