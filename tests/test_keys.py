"""Key rotation as an operator runs it: `casework keys rotate`, `rewrap`, `retire` (docs/DESIGN.md §3).

After a rotation and a rewrap no stored value may depend on the old key, so
the old key can be destroyed; until then, retiring it is refused.
"""

from __future__ import annotations

import stat

import pytest
from conftest import run_casework
from sqlalchemy import select, text

from casework.audit.models import AuditEvent
from casework.auth.models import User
from casework.clients.models import Client
from casework.clients.storage import new_client
from casework.config import Settings
from casework.crypto import BlindIndexer, FieldCipher, Keyring
from casework.db import Database
from casework.keyops import RewrapProgress, encrypted_columns, key_usage, rewrap


def _open(settings: Settings) -> Database:
    """A Database on the keyring as it is on disk now (what a restarted app would load)."""
    keyring = Keyring.load(settings.keys_dir, allow_example=False)
    return Database(settings.database_url, FieldCipher(keyring), BlindIndexer(keyring, settings.blind_index_bits))


def _store_clients(database, owner_id: str, count: int) -> dict[str, tuple[str, str, str, str]]:
    stored = {}
    with database.transaction() as session:
        for n in range(count):
            values = (f"Trần Văn Khách {n}", f"09{n:08d}", f"Phường {n}", f"TRHO{1980 + n}M")
            client = new_client(session, owner_id=owner_id, uic=values[3], alias=values[0],
                                phone=values[1], residence=values[2])
            stored[client.id] = values
    return stored


def _raw_tokens(database) -> list[str]:
    """Every ciphertext in every encrypted column, as an attacker would list them."""
    tokens: list[str] = []
    with database.transaction() as session:
        for table, column in encrypted_columns():
            tokens += session.scalars(select(table.c[column]).where(table.c[column].is_not(None))).all()
    return tokens


def _read_back(database, ids) -> dict[str, tuple[str, str, str, str]]:
    with database.transaction() as session:
        return {c.id: (c.alias, c.phone, c.residence, c.uic) for c in
                session.scalars(select(Client).where(Client.id.in_(list(ids))))}


def test_rotate_rewrap_retire_leaves_nothing_under_the_old_key(settings, database, make_user):
    # Given clients and a staff second factor, all encrypted under the first data key
    owner = make_user("collaborator")
    stored = _store_clients(database, owner.user_id, 12)
    old = database.cipher.primary_key_id
    assert {t.split(".")[1] for t in _raw_tokens(database)} == {old}

    # When the operator rotates
    rotated = run_casework(settings, "keys", "rotate")
    assert rotated.returncode == 0, rotated.stderr
    new = Keyring.load(settings.keys_dir, allow_example=False).primary_id
    assert new != old and new in rotated.stdout

    # Then retiring the old key is refused while values still use it, and the key file stays
    refused = run_casework(settings, "keys", "retire", old)
    assert refused.returncode != 0
    assert "rewrap" in refused.stderr and "Traceback" not in refused.stderr
    assert (settings.keys_dir / f"data-{old}.key").exists()

    # When every value is rewrapped
    rewrapped = run_casework(settings, "keys", "rewrap", "--batch-size", "7")
    assert rewrapped.returncode == 0, rewrapped.stderr

    # Then no stored value carries the old key id, and every value still decrypts
    tokens = _raw_tokens(database)
    assert len(tokens) == 12 * 4 + 1  # four fields per client, one TOTP secret
    assert {t.split(".")[1] for t in tokens} == {new}
    fresh = _open(settings)
    try:
        assert _read_back(fresh, stored) == stored
        with fresh.transaction() as session:
            assert session.get(User, owner.user_id).totp_secret == owner.totp_secret
    finally:
        fresh.dispose()

    # And now the old key can be retired: its file is gone and the retirement is audited
    retired = run_casework(settings, "keys", "retire", old)
    assert retired.returncode == 0, retired.stderr
    assert not (settings.keys_dir / f"data-{old}.key").exists()
    with database.transaction() as session:
        actions = session.scalars(select(AuditEvent.action)).all()
    assert "keys.retired" in actions
    # And a keyring without the old key still reads everything
    without_old = _open(settings)
    try:
        assert set(Keyring.load(settings.keys_dir, allow_example=False).data_keys) == {new}
        assert _read_back(without_old, stored)[next(iter(stored))] == stored[next(iter(stored))]
    finally:
        without_old.dispose()


def test_the_primary_key_cannot_be_retired(settings, database):
    # Given a keyring with one key
    primary = database.cipher.primary_key_id
    # When the operator tries to retire it, Then it is refused with a one-line reason
    refused = run_casework(settings, "keys", "retire", primary)
    assert refused.returncode != 0
    assert "primary" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    assert (settings.keys_dir / f"data-{primary}.key").exists()


def test_rotation_keeps_key_files_private(settings, database):
    # When a new key is added
    assert run_casework(settings, "keys", "rotate").returncode == 0
    # Then every key file is readable by its owner only, the directory too
    assert stat.S_IMODE(settings.keys_dir.stat().st_mode) == 0o700
    for path in settings.keys_dir.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
    assert len(list(settings.keys_dir.glob("data-*.key"))) == 2


def test_interrupted_rewrap_resumes_and_completes(settings, database, make_user, clock):
    # Given 10 clients (40 values) encrypted under the first key, then a rotation
    owner = make_user("collaborator", second_factor=False)
    stored = _store_clients(database, owner.user_id, 10)
    old = database.cipher.primary_key_id
    with database.transaction() as session:
        records = set(session.execute(select(Client.id, Client.version, Client.updated_at)).all())
    Keyring.load(settings.keys_dir, allow_example=False).rotate()
    rotated = _open(settings)
    new = rotated.cipher.primary_key_id
    clock.advance(hours=1)

    def crash_after_first_batch(progress: RewrapProgress) -> None:
        raise KeyboardInterrupt("operator pressed Ctrl+C")

    try:
        # When a rewrap in batches of 6 rows is interrupted after its first batch
        with pytest.raises(KeyboardInterrupt):
            rewrap(rotated, batch_size=6, report=crash_after_first_batch)

        # Then that batch (6 clients, 4 fields each) is committed and the rest still uses the old key
        with rotated.transaction() as session:
            assert key_usage(session) == {new: 24, old: 16}

        # When it is run again, Then it finishes the remaining values only
        assert rewrap(rotated, batch_size=6) == 16
        with rotated.transaction() as session:
            assert key_usage(session) == {new: 40}
        # And running it once more has nothing left to do
        assert rewrap(rotated, batch_size=6) == 0
        assert _read_back(rotated, stored) == stored
        # And re-encryption is not an edit: no version bump, no new "updated at"
        with rotated.transaction() as session:
            assert set(session.execute(select(Client.id, Client.version, Client.updated_at)).all()) == records
    finally:
        rotated.dispose()


def test_rewrap_stops_at_a_value_it_cannot_authenticate(settings, database, make_user):
    # Given a rotation and one tampered value among good ones
    owner = make_user("collaborator", second_factor=False)
    stored = _store_clients(database, owner.user_id, 3)
    victim = sorted(stored)[1]
    with database.transaction() as session:
        session.execute(text("UPDATE clients SET phone_enc = alias_enc WHERE id = :i"), {"i": victim})
    Keyring.load(settings.keys_dir, allow_example=False).rotate()

    # When the operator rewraps, Then it fails loudly naming the row, without a traceback
    result = run_casework(settings, "keys", "rewrap")
    assert result.returncode != 0
    assert victim in result.stderr and "Traceback" not in result.stderr
    # And the tampered value was not laundered into a valid ciphertext under the new key
    rotated = _open(settings)
    try:
        with rotated.transaction() as session:
            token = session.scalar(select(Client.phone_enc).where(Client.id == victim))
        assert token.split(".")[1] != rotated.cipher.primary_key_id
    finally:
        rotated.dispose()


def test_keys_status_counts_values_per_key_without_showing_keys(settings, database, make_user):
    # Given 5 clients (20 values) and a staff second factor, then a rotation
    owner = make_user("collaborator")
    _store_clients(database, owner.user_id, 5)
    old = database.cipher.primary_key_id
    assert run_casework(settings, "keys", "rotate").returncode == 0
    new = Keyring.load(settings.keys_dir, allow_example=False).primary_id

    # When the operator asks for the status
    status = run_casework(settings, "keys", "status")

    # Then each key is listed with how many values use it, the primary marked
    assert status.returncode == 0, status.stderr
    assert f"data key {old}: 21 values" in status.stdout
    assert f"data key {new} (primary): 0 values" in status.stdout
    # And no key material is printed
    for path in settings.keys_dir.glob("*.key"):
        assert path.read_text().strip() not in status.stdout + status.stderr


def test_a_running_process_follows_a_rotation_without_restart(settings, database, monkeypatch):
    # Given a running process's cipher, loaded before the rotation
    from casework.crypto import Keyring
    from casework.crypto.fields import FieldCipher, key_id_of

    cipher = database.cipher
    old = cipher.primary_key_id
    monkeypatch.setattr(FieldCipher, "RELOAD_EVERY", 0.0)
    # When an operator rotates the keys on disk (another process)
    new = Keyring.load(settings.keys_dir, allow_example=False).rotate()
    # Then this process writes new values under the new primary key, no restart needed
    token = cipher.encrypt("giá trị", table="clients", column="alias_enc", row_id="r1")
    assert key_id_of(token) == new != old
    assert cipher.decrypt(token, table="clients", column="alias_enc", row_id="r1") == "giá trị"


def test_a_process_reads_values_written_under_a_key_it_has_not_loaded_yet(settings, database):
    # Given a process that loaded the keyring before a rotation (and would not re-check for a while)
    from casework.crypto import FieldCipher, Keyring

    stale = FieldCipher(Keyring.load(settings.keys_dir, allow_example=False))
    # When another process rotates and writes a value under the new key
    Keyring.load(settings.keys_dir, allow_example=False).rotate()
    fresh = FieldCipher(Keyring.load(settings.keys_dir, allow_example=False))
    token = fresh.encrypt("0912 345 678", table="clients", column="phone_enc", row_id="r2")
    # Then the stale process still reads it: an unknown key id makes it reload at once
    assert stale.decrypt(token, table="clients", column="phone_enc", row_id="r2") == "0912 345 678"
