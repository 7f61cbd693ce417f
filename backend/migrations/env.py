"""Alembic environment: runs migrations on a connection given by :func:`backend.core.db.migrate`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from backend.core.db import make_engine
from backend.core.orm import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Use the caller's connection when given (one transaction), else connect to ``url``."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(str(config.attributes["url"]))
    try:
        with engine.begin() as conn:
            _run(conn)
    finally:
        engine.dispose()


run_migrations_online()
