"""Alembic environment: the URL comes from casework's settings, the target from its models."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

import casework.models
from casework.config import load_settings
from casework.db import make_engine

config = context.config
target_metadata = casework.models.Base.metadata


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
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url") or load_settings().database_url
    engine = make_engine(url)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("casework migrations run online only: use `casework db upgrade`")
run_migrations_online()
