"""Backup and restore as an operator runs them (`casework backup`, `casework restore`), on the
configured engine: the copy holds ciphertexts and no key, restores only into an empty instance,
and the restored database decrypts and verifies against the head recorded beside the backup."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import BACKEND, pg_database, run_casework
from sqlalchemy import func, select

from casework.audit import AuditEvent, record
from casework.backup import MANIFEST, BackupError, backup
from casework.clients.models import Client
from casework.clients.storage import new_client
from casework.config import Settings
from casework.crypto import BlindIndexer, FieldCipher, Keyring
from casework.db import Database

SENTINEL = "Bí-danh-SENTINEL-7Q4"


@pytest.fixture
def empty_target(tmp_path: Path, settings: Settings) -> Iterator[Settings]:
    """Another instance with the same keyring copied over and a database that holds nothing."""
    instance = tmp_path / "restored"
    instance.mkdir(mode=0o700)
    keys = instance / "keys"
    keys.mkdir(mode=0o700)
    for item in Path(settings.keys_dir).iterdir():
        (keys / item.name).write_bytes(item.read_bytes())
        (keys / item.name).chmod(0o600)
    if BACKEND == "sqlite":
        yield replace(settings, instance_path=instance, keys_dir=keys, audit_checkpoint=None,
                      database_url=f"sqlite:///{instance / 'casework.sqlite3'}")
        return
    with pg_database("restore", migrated=False) as url:  # a restore goes into an empty database
        yield replace(settings, instance_path=instance, keys_dir=keys, audit_checkpoint=None, database_url=url)


def _given_a_client(database, make_user) -> str:
    owner = make_user("collaborator", second_factor=False)
    with database.transaction() as session:
        client = new_client(session, owner_id=owner.user_id, uic="HUDU1994F", alias=SENTINEL, phone="0912 345 678")
        record(session, "client.registered", actor_id=owner.user_id, object_type="client", object_id=client.id)
        return client.id


def _open(target: Settings) -> Database:
    keyring = Keyring.load(target.keys_dir, allow_example=False)
    return Database(target.database_url, FieldCipher(keyring), BlindIndexer(keyring, target.blind_index_bits))


def _backup_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in folder.iterdir())


def test_backup_then_restore_into_an_empty_instance_decrypts_and_verifies(settings, database, make_user,
                                                                         empty_target, tmp_path):
    client_id = _given_a_client(database, make_user)
    dest = tmp_path / "backup-1"

    # When the operator backs up
    made = run_casework(settings, "backup", str(dest))
    assert made.returncode == 0, made.stderr
    manifest = json.loads((dest / MANIFEST).read_text())
    head_line = made.stdout.split("audit head of this backup: ")[1].split()[:2]

    # Then the folder and its files are private, it holds ciphertexts only and no key at all
    assert oct(dest.stat().st_mode & 0o777) == "0o700"
    assert all(p.stat().st_mode & 0o077 == 0 for p in dest.iterdir())
    raw = _backup_bytes(dest)
    assert SENTINEL.encode() not in raw and b"0912 345 678" not in raw
    for key_file in Path(settings.keys_dir).rglob("*"):
        if key_file.is_file() and key_file.stat().st_size >= 16:
            encoded = key_file.read_bytes().strip()
            assert encoded not in raw and base64.b64decode(encoded) not in raw, f"{key_file.name} is in the backup"
    assert [str(manifest["audit_head"]["id"]), manifest["audit_head"]["hash"]] == head_line
    assert manifest["engine"] == BACKEND and manifest["data_keys"]

    # When it is restored into an empty instance
    restored = run_casework(empty_target, "restore", str(dest))
    assert restored.returncode == 0, restored.stderr
    assert "OK: the audit log verifies" in restored.stdout

    # Then the data decrypts with the keyring and the chain verifies against the recorded head
    copy = _open(empty_target)
    try:
        with copy.transaction() as session:
            assert session.get(Client, client_id).alias == SENTINEL
            assert session.scalar(select(func.count()).select_from(AuditEvent)) == manifest["audit_head"]["id"] + 1
    finally:
        copy.dispose()
    kept = f'{manifest["audit_head"]["id"]} {manifest["audit_head"]["hash"]}'
    for expect in (kept, manifest["audit_head"]["hash"]):
        verified = run_casework(empty_target, "audit", "verify", "--expect-head", expect)
        assert verified.returncode == 0 and "reaches the head recorded" in verified.stdout, verified.stdout
    # And a head the backup never reached is not taken for it
    wrong = run_casework(empty_target, "audit", "verify", "--expect-head", f'{manifest["audit_head"]["id"]} {"0" * 64}')
    assert wrong.returncode == 1 and "no longer reaches" in wrong.stdout

def test_the_restored_chain_ends_at_the_backups_head_before_the_restore_event(settings, database, make_user,
                                                                            empty_target, tmp_path):
    _given_a_client(database, make_user)
    dest = tmp_path / "backup-2"
    assert run_casework(settings, "backup", str(dest)).returncode == 0
    manifest = json.loads((dest / MANIFEST).read_text())
    assert run_casework(empty_target, "restore", str(dest)).returncode == 0

    copy = _open(empty_target)
    try:
        with copy.transaction() as session:
            rows = session.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars().all()
    finally:
        copy.dispose()
    at_head = rows[manifest["audit_head"]["id"] - 1]
    assert (at_head.id, at_head.hash) == (manifest["audit_head"]["id"], manifest["audit_head"]["hash"])
    assert [r.action for r in rows[manifest["audit_head"]["id"]:]] == ["system.restored"]


def test_restore_refuses_an_instance_that_holds_data_and_changes_nothing(settings, database, make_user, tmp_path):
    _given_a_client(database, make_user)
    dest = tmp_path / "backup-3"
    assert run_casework(settings, "backup", str(dest)).returncode == 0
    with database.transaction() as session:
        before = session.scalar(select(func.count()).select_from(AuditEvent))

    refused = run_casework(settings, "restore", str(dest))

    assert refused.returncode == 2 and "not empty" in refused.stderr and "Traceback" not in refused.stderr
    with database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == before


def test_restore_refuses_an_altered_backup(settings, database, make_user, empty_target, tmp_path):
    _given_a_client(database, make_user)
    dest = tmp_path / "backup-4"
    assert run_casework(settings, "backup", str(dest)).returncode == 0
    manifest = json.loads((dest / MANIFEST).read_text())
    copy = dest / manifest["file"]
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0x01
    copy.write_bytes(bytes(data))

    refused = run_casework(empty_target, "restore", str(dest))

    assert refused.returncode == 2 and "SHA-256" in refused.stderr
    fresh = _open(empty_target)
    try:
        with fresh.engine.connect() as conn:
            assert "clients" not in conn.dialect.get_table_names(conn)
    finally:
        fresh.dispose()


def test_restore_with_another_keyring_is_refused(settings, database, make_user, empty_target, tmp_path):
    _given_a_client(database, make_user)
    dest = tmp_path / "backup-5"
    assert run_casework(settings, "backup", str(dest)).returncode == 0
    other_keys = tmp_path / "other-keys"
    Keyring.create(other_keys)

    refused = run_casework(replace(empty_target, keys_dir=other_keys), "restore", str(dest))

    assert refused.returncode == 2 and "lacks data key" in refused.stderr


def test_restore_refuses_an_instance_that_recorded_an_audit_head(settings, database, make_user, empty_target,
                                                                 tmp_path):
    """An emptied database whose server still records a later audit row is not a new instance."""
    _given_a_client(database, make_user)
    dest = tmp_path / "backup-6"
    assert run_casework(settings, "backup", str(dest)).returncode == 0
    record_file = Path(empty_target.instance_path) / "audit-head.json"
    record_file.write_text(json.dumps({"head_id": 500, "head_hash": "ab" * 32, "sealed_from": 1}))

    refused = run_casework(empty_target, "restore", str(dest))

    assert refused.returncode == 2 and "once held data" in refused.stderr


def test_backup_refuses_a_folder_that_holds_files(settings, database, tmp_path):
    dest = tmp_path / "used"
    dest.mkdir()
    (dest / "other").write_text("x")
    refused = run_casework(settings, "backup", str(dest))
    assert refused.returncode == 2 and "not an empty folder" in refused.stderr
    assert [p.name for p in dest.iterdir()] == ["other"]


def test_backup_while_writers_append_is_one_consistent_state(settings, database, make_user, empty_target, tmp_path):
    """Writers keep committing during the backup; the copy is one state, its head is the copy's head."""
    _given_a_client(database, make_user)
    stop = threading.Event()
    errors: list[BaseException] = []

    def write() -> None:
        try:
            while not stop.is_set():
                with database.transaction() as session:
                    record(session, "test.write", actor_role="system")
        except BaseException as exc:
            errors.append(exc)

    writers = [threading.Thread(target=write) for _ in range(2)]
    for writer in writers:
        writer.start()
    try:
        manifest = backup(database, tmp_path / "backup-7")
    finally:
        stop.set()
        for writer in writers:
            writer.join()
    assert not errors

    restored = run_casework(empty_target, "restore", str(tmp_path / "backup-7"))
    assert restored.returncode == 0, restored.stderr
    assert f"up to row {manifest.head_id} " in restored.stdout


def test_backup_into_a_used_folder_raises_a_plain_error(database, tmp_path):
    (tmp_path / "x").write_text("y")
    with pytest.raises(BackupError):
        backup(database, tmp_path)


def test_restore_into_an_instance_that_was_only_initialised(settings, database, make_user, empty_target, tmp_path):
    """`casework init` made the schema but no row: that instance is still empty, and takes the restore."""
    client_id = _given_a_client(database, make_user)
    assert run_casework(settings, "backup", str(tmp_path / "backup-8")).returncode == 0
    assert run_casework(empty_target, "init").returncode == 0

    restored = run_casework(empty_target, "restore", str(tmp_path / "backup-8"))

    assert restored.returncode == 0, restored.stderr
    copy = _open(empty_target)
    try:
        with copy.transaction() as session:
            assert session.get(Client, client_id).alias == SENTINEL
    finally:
        copy.dispose()
