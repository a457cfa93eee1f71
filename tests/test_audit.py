"""The tamper-evident audit log (docs/DESIGN.md §7) against someone who can write to the database.

The table refuses UPDATE and DELETE through triggers; an attacker with owner
rights can drop those, so the hash chain must still show the first row that
was changed, removed or moved, and `casework audit verify` must name it.
"""

from __future__ import annotations

import re
import secrets
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import BACKEND, run_casework
from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from casework import migrate
from casework.audit import AuditEvent, head, record, verify
from casework.audit.chain import row_hash
from casework.config import Settings
from casework.crypto import BlindIndexer, FieldCipher, Keyring
from casework.db import Database, make_engine

HASHED = ("occurred_at", "actor_id", "actor_role", "action", "object_type", "object_id", "details",
          "prev_hash", "hash")


@pytest.fixture
def own_database_url(database_url: str) -> Iterator[str]:
    """A database this test alone uses, so dropping its triggers harms no other test.

    SQLite: the per-test copy already is one. PostgreSQL: a new database, migrated, then dropped.
    """
    if BACKEND == "sqlite":
        yield database_url
        return
    base = make_url(database_url)
    name = f"casework_audit_{secrets.token_hex(4)}"
    admin = make_engine(base.set(database="postgres").render_as_string(hide_password=False),
                        isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _settings(tmp_path: Path, url: str) -> Settings:
    Keyring.create(tmp_path / "keys")
    return Settings(mode="production", instance_path=tmp_path, database_url=url, keys_dir=tmp_path / "keys")


def _database(settings: Settings) -> Database:
    keyring = Keyring.load(settings.keys_dir, allow_example=False)
    return Database(settings.database_url, FieldCipher(keyring), BlindIndexer(keyring, 10))


def _five_events(tmp_path: Path, url: str) -> Iterator[tuple[Settings, Database]]:
    settings = _settings(tmp_path, url)
    database = _database(settings)
    for n in range(1, 6):
        with database.transaction() as session:
            record(session, "client.viewed", actor_id=f"user-{n}", actor_role="collaborator",
                   object_type="client", object_id=f"client-{n}", details={"fields": ["alias"]})
    yield settings, database
    database.dispose()


@pytest.fixture
def audited(tmp_path: Path, database_url: str) -> Iterator[tuple[Settings, Database]]:
    """Given a log of five events (triggers stay in place)."""
    yield from _five_events(tmp_path, database_url)


@pytest.fixture
def tamperable(tmp_path: Path, own_database_url: str) -> Iterator[tuple[Settings, Database]]:
    """Given a log of five events in a database of this test's own, where triggers may be dropped."""
    yield from _five_events(tmp_path, own_database_url)


def audit_verify(settings: Settings, *extra: str) -> subprocess.CompletedProcess[str]:
    return run_casework(settings, "audit", "verify", *extra)


def _broken_row(result: subprocess.CompletedProcess[str]) -> int:
    assert result.returncode != 0, result.stdout
    match = re.search(r"BROKEN at row (\d+)", result.stdout)
    assert match, result.stdout + result.stderr
    return int(match.group(1))


def _drop_triggers(database: Database) -> None:
    """What an attacker with owner rights does first."""
    with database.transaction() as session:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("DROP TRIGGER audit_events_no_change ON audit_events"))
        else:
            session.execute(text("DROP TRIGGER audit_events_no_update"))
            session.execute(text("DROP TRIGGER audit_events_no_delete"))


def _row(database: Database, row_id: int) -> dict[str, str]:
    with database.transaction() as session:
        event = session.get(AuditEvent, row_id)
        return {c: getattr(event, c) for c in HASHED}


def _overwrite(database: Database, row_id: int, values: dict[str, str]) -> None:
    with database.transaction() as session:
        assignments = ", ".join(f"{c} = :{c}" for c in values)
        session.execute(text(f"UPDATE audit_events SET {assignments} WHERE id = :id"),  # noqa: S608 (column names are ours)
                        {**values, "id": row_id})


def test_an_untouched_log_verifies(audited):
    settings, database = audited
    with database.transaction() as session:
        assert verify(session) is None
        assert head(session)[0] == 5
    result = audit_verify(settings)
    assert result.returncode == 0 and result.stdout.startswith("OK")


@pytest.mark.parametrize("statement", [
    "UPDATE audit_events SET action = 'nothing.happened' WHERE id = 3",
    "DELETE FROM audit_events WHERE id = 3",
    "DELETE FROM audit_events",
])
def test_the_database_refuses_to_change_or_delete_audit_rows(audited, statement):
    # Given the triggers in place, When anyone tries to rewrite history
    database = audited[1]
    with pytest.raises(DBAPIError, match="append-only"), database.transaction() as session:
        session.execute(text(statement))
    # Then every row is as it was
    with database.transaction() as session:
        assert session.scalar(select(AuditEvent.action).where(AuditEvent.id == 3)) == "client.viewed"
        assert len(session.scalars(select(AuditEvent.id)).all()) == 5
        assert verify(session) is None


def test_an_edited_row_is_named(tamperable):
    # Given an attacker who drops the triggers and changes who did something in row 3
    settings, database = tamperable
    _drop_triggers(database)
    _overwrite(database, 3, {"actor_id": "someone-else"})
    # When the log is verified, Then row 3 is named
    assert _broken_row(audit_verify(settings)) == 3


def test_an_edited_row_with_a_recomputed_hash_fails_its_seal(tamperable):
    # Given an attacker who edits row 3 and recomputes its hash to hide it (no key: the seal stays)
    settings, database = tamperable
    _drop_triggers(database)
    forged = _row(database, 3) | {"object_id": "client-99"}
    forged["hash"] = row_hash({"id": 3, **forged})
    _overwrite(database, 3, forged)
    # When verified, Then row 3 itself is named: its seal no longer holds
    result = audit_verify(settings)
    assert _broken_row(result) == 3 and "seal" in result.stdout


def test_a_deleted_row_is_named(tamperable):
    settings, database = tamperable
    _drop_triggers(database)
    with database.transaction() as session:
        session.execute(text("DELETE FROM audit_events WHERE id = 3"))
    assert _broken_row(audit_verify(settings)) == 3


def test_two_swapped_rows_are_detected_at_the_first(tamperable):
    # Given an attacker who swaps the contents of rows 2 and 4 (ids stay in place)
    settings, database = tamperable
    _drop_triggers(database)
    second, fourth = _row(database, 2), _row(database, 4)
    _overwrite(database, 2, fourth)
    _overwrite(database, 4, second)
    # When verified, Then row 2 is named
    assert _broken_row(audit_verify(settings)) == 2


def test_a_removed_last_row_is_caught_only_with_the_head_kept_elsewhere(tamperable):
    # Given the head hash kept elsewhere, and then the newest row removed
    settings, database = tamperable
    with database.transaction() as session:
        kept_id, kept_hash = head(session)
    _drop_triggers(database)
    with database.transaction() as session:
        session.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": kept_id})

    # Then the chain alone still looks whole, but --expect-head names the missing row
    assert audit_verify(settings).returncode == 0
    assert _broken_row(audit_verify(settings, "--expect-head", kept_hash)) == kept_id


def test_concurrent_writers_extend_one_unbroken_chain(audited):
    # Given 8 threads, each with its own session, starting together
    database = audited[1]
    threads_count, per_thread = 8, 15
    start = threading.Barrier(threads_count)
    failures: list[BaseException] = []

    def write(worker: int) -> None:
        try:
            start.wait()
            for n in range(per_thread):
                with database.transaction() as session:
                    record(session, "referral.viewed", actor_id=f"worker-{worker}", object_id=f"{worker}:{n}")
        except BaseException as exc:  # collected: a failed writer is a lost row
            failures.append(exc)

    # When they all record events at the same time
    workers = [threading.Thread(target=write, args=(w,)) for w in range(threads_count)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)

    # Then no writer failed, no row is lost, ids are contiguous and the chain verifies
    assert failures == []
    with database.transaction() as session:
        ids = session.scalars(select(AuditEvent.id).order_by(AuditEvent.id)).all()
        written = set(session.scalars(select(AuditEvent.object_id).where(AuditEvent.action == "referral.viewed")))
        assert verify(session) is None
    assert ids == list(range(1, 5 + threads_count * per_thread + 1))
    assert written == {f"{w}:{n}" for w in range(threads_count) for n in range(per_thread)}


def test_details_refuse_anything_but_plain_codes(audited):
    # Client data must never reach the log: nested structures and objects are refused
    database = audited[1]
    with pytest.raises(TypeError), database.transaction() as session:
        record(session, "client.updated", details={"alias": {"old": "x", "new": "y"}})
    with database.transaction() as session:
        assert head(session)[0] == 5
