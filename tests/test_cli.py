"""The `casework` command for an operator: init, db, keys and audit commands, run as a real process."""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

import pytest
from conftest import run_casework
from sqlalchemy import select

from casework.audit import head
from casework.clients.models import Client
from casework.clients.storage import find_ids_by_uic, new_client
from casework.config import Settings
from casework.crypto import BlindIndexer, FieldCipher, Keyring
from casework.db import Database


def one_line_refusal(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert all(word in result.stderr for word in words), result.stderr


@pytest.fixture
def blank(tmp_path: Path) -> Settings:
    """Given an instance folder with nothing in it yet."""
    return Settings(mode="production", instance_path=tmp_path / "instance",
                    database_url=f"sqlite:///{tmp_path / 'instance' / 'casework.sqlite3'}")


def test_init_creates_a_private_keyring_and_the_schema_and_keeps_them_on_rerun(blank):
    # When the operator initialises a new instance
    first = run_casework(blank, "init")
    assert first.returncode == 0, first.stderr

    # Then a keyring exists, private to its owner, and the schema is current
    keys_dir = blank.keys_dir
    assert stat.S_IMODE(keys_dir.stat().st_mode) == 0o700
    assert {p.name for p in keys_dir.iterdir()} >= {"primary", "index-root.key", "session.key"}
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in keys_dir.iterdir())
    primary = (keys_dir / "primary").read_text()
    assert run_casework(blank, "audit", "verify").stdout.startswith("OK")

    # When it is run again, Then the existing keyring is kept, not replaced
    again = run_casework(blank, "init")
    assert again.returncode == 0, again.stderr
    assert (keys_dir / "primary").read_text() == primary
    assert "created a new keyring" not in again.stdout


def test_keys_init_refuses_to_overwrite_a_keyring(blank):
    assert run_casework(blank, "keys", "init").returncode == 0
    before = {p.name: p.read_bytes() for p in blank.keys_dir.iterdir()}
    one_line_refusal(run_casework(blank, "keys", "init"), "not empty")
    assert {p.name: p.read_bytes() for p in blank.keys_dir.iterdir()} == before


@pytest.mark.parametrize("command", [("keys", "status"), ("keys", "rewrap"), ("keys", "retire", "abcd1234"),
                                     ("audit", "verify")])
def test_commands_on_a_database_without_schema_say_to_upgrade(blank, command):
    # Given a keyring but a database that was never migrated
    Keyring.create(blank.keys_dir)
    # When any key or audit command runs, Then it says what to run instead of crashing
    one_line_refusal(run_casework(blank, *command), "casework db upgrade")


def test_db_upgrade_reports_the_revision_and_downgrade_is_refused_in_production(blank):
    upgraded = run_casework(blank, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert "database at revision" in upgraded.stdout
    one_line_refusal(run_casework(blank, "db", "downgrade", "base"), "production")


def test_audit_head_prints_the_newest_row_and_its_hash(settings, database, make_user):
    # Given some audited activity (creating a user writes audit rows)
    make_user("collaborator")
    with database.transaction() as session:
        row_id, digest = head(session)
    assert row_id > 0
    # When the operator asks for the head, Then it matches the chain
    result = run_casework(settings, "audit", "head")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [str(row_id), digest]


def test_status_warns_about_the_index_width_and_reindex_fixes_it(settings, database, make_user):
    # Given 40 clients: for 40 rows CipherSweet's rule allows 3 or 4 bits, the default is 10
    owner = make_user("collaborator", second_factor=False)
    with database.transaction() as session:
        ids = [new_client(session, owner_id=owner.user_id, uic=f"NGTR{1980 + n}F").id for n in range(40)]

    # When the operator asks for the status, Then it warns and says what to do
    status = run_casework(settings, "keys", "status")
    assert status.returncode == 0, status.stderr
    assert "WARNING" in status.stdout and "between 3 and 4 bits" in status.stdout
    assert "casework keys reindex" in status.stdout

    with database.transaction() as session:
        before = set(session.execute(select(Client.id, Client.version, Client.updated_at)).all())

    # When the width is changed and the index recomputed
    reindexed = run_casework(settings, "keys", "reindex", CASEWORK_BLIND_INDEX_BITS="4")
    assert reindexed.returncode == 0, reindexed.stderr
    assert "recomputed 40 blind index values at 4 bits" in reindexed.stdout

    # Then the warning is gone and every client is still found by UIC at the new width
    status = run_casework(settings, "keys", "status", CASEWORK_BLIND_INDEX_BITS="4")
    assert "WARNING" not in status.stdout
    keyring = Keyring.load(settings.keys_dir, allow_example=False)
    narrow = Database(settings.database_url, FieldCipher(keyring), BlindIndexer(keyring, 4))
    try:
        with narrow.transaction() as session:
            assert {find_ids_by_uic(session, f"ngtr {1980 + n} f")[0] for n in range(40)} == set(ids)
            assert max(session.scalars(select(Client.uic_bidx))) < 2**4
            # And the clients themselves are untouched: no version bump to upset an open edit form
            assert set(session.execute(select(Client.id, Client.version, Client.updated_at)).all()) == before
    finally:
        narrow.dispose()
