"""The schema comes only from Alembic migrations (docs/DESIGN.md §8), and they match the models.

Each test works on a database of its own: a file on SQLite, a freshly created
database on PostgreSQL (made through the `postgres` maintenance database and
dropped afterwards), so walking migrations down never disturbs other tests.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from conftest import BACKEND, PG_URL
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine, make_url

import casework.models
from casework import migrate
from casework.db import make_engine
from casework.errors import ConfigError


@pytest.fixture
def fresh_engine(tmp_path: Path) -> Iterator[Engine]:
    """An empty database nobody else uses."""
    if BACKEND == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'fresh.sqlite3'}")
        yield engine
        engine.dispose()
        return
    base = make_url(PG_URL)
    name = f"casework_migr_{secrets.token_hex(4)}"
    admin = make_engine(base.set(database="postgres").render_as_string(hide_password=False),
                        isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(base.set(database=name).render_as_string(hide_password=False))
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _revisions_base_to_head() -> list[str]:
    script = ScriptDirectory.from_config(migrate.alembic_config("sqlite://"))
    return [rev.revision for rev in reversed(list(script.walk_revisions("base", "heads")))]


def _current(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def _audit_triggers(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            rows = conn.execute(text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal "
                                     "AND tgrelid = 'audit_events'::regclass"))
        else:
            rows = conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger' "
                                     "AND tbl_name = 'audit_events'"))
        return {r[0] for r in rows}


def test_upgrade_head_gives_exactly_the_schema_of_the_models(fresh_engine):
    # Given an empty database, When it is upgraded to the newest revision
    migrate.upgrade(fresh_engine)

    # Then Alembic finds no difference between the database and the models
    with fresh_engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": False})
        diffs = compare_metadata(context, casework.models.Base.metadata)
    assert diffs == []
    assert _tables(fresh_engine) == set(casework.models.Base.metadata.tables)
    assert _current(fresh_engine) == migrate.head_revision()


def test_every_revision_goes_up_and_down_one_step_at_a_time(fresh_engine):
    revisions = _revisions_base_to_head()
    assert revisions[0] == "0001" and revisions[-1] == migrate.head_revision()

    # When each revision is applied in turn, Then the database is at that revision
    for revision in revisions:
        migrate.upgrade(fresh_engine, revision)
        assert _current(fresh_engine) == revision
    assert _audit_triggers(fresh_engine)  # the append-only guard exists at head

    # When each is undone in turn, Then it is at the previous one, and finally empty
    for previous in [*reversed(revisions[:-1]), None]:
        migrate.downgrade(fresh_engine, previous or "base")
        assert _current(fresh_engine) == previous
        if previous == "0001":
            assert _audit_triggers(fresh_engine) == set()
    assert _tables(fresh_engine) == set()

    # And going up again from nothing still works
    migrate.upgrade(fresh_engine)
    assert _current(fresh_engine) == migrate.head_revision()


def test_an_out_of_date_database_is_refused_with_the_command_to_fix_it(fresh_engine):
    # Given a database one revision behind
    revisions = _revisions_base_to_head()
    migrate.upgrade(fresh_engine, revisions[-2] if len(revisions) > 1 else "base")
    # When the app checks it, Then it refuses and says which command to run
    with pytest.raises(ConfigError, match="casework db upgrade"):
        migrate.check_current(fresh_engine)
    migrate.upgrade(fresh_engine)
    migrate.check_current(fresh_engine)
