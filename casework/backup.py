"""Database backups and restores, with the audit head recorded beside each backup.

A backup is a folder holding one database copy and ``casework-backup.json``: the engine, the
copy's SHA-256, the schema revision, the audit head *of that copy* and the ids of the data keys
its ciphertexts use. Keys are never written there: a database backup holds ciphertexts only, and
the keyring is backed up apart by different people (README, "Backups and restores").

- SQLite: the online backup API copies one consistent state while casework keeps serving
  (readers and writers go on; WAL keeps the copy's read transaction from blocking them).
- PostgreSQL: ``pg_dump --format=custom`` from a snapshot exported by the transaction that also
  reads the head, so the recorded head is exactly the dump's.

A restore goes only into an empty instance. It checks the copy's hash before anything else and
afterwards proves the result: the audit chain reaches the recorded head, every data key the
copy needs is in the keyring, and a value of every encrypted column decrypts.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess  # only pg_dump and pg_restore, with a fixed argument list  # nosec B404
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session

from casework.audit import checkpoint
from casework.audit.chain import head as audit_head
from casework.audit.chain import record, verify
from casework.crypto import Keyring
from casework.db import Database
from casework.errors import CaseworkError
from casework.keyops import encrypted_columns, key_usage

MANIFEST = "casework-backup.json"
FORMAT = 1
SQLITE_FILE = "casework.sqlite3"
PG_FILE = "casework.dump"
# Custom format (compressed, restorable table by table); no owners or grants, so the dump restores
# into a database owned by another role; --snapshot makes it match the head read beside it.
PG_DUMP_OPTIONS = ("--format=custom", "--no-owner", "--no-privileges")
PG_RESTORE_OPTIONS = ("--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction")
_HASH_CHUNK = 1 << 20


class BackupError(CaseworkError):
    """A backup or restore that cannot go ahead; the message says what to do."""


@dataclass(frozen=True)
class Manifest:
    engine: str
    file: str
    sha256: str
    size: int
    schema_revision: str | None
    head_id: int
    head_hash: str
    data_keys: tuple[str, ...]
    created_at: str

    def to_json(self) -> str:
        return json.dumps({
            "format": FORMAT, "engine": self.engine, "file": self.file, "sha256": self.sha256,
            "size": self.size, "schema_revision": self.schema_revision,
            "audit_head": {"id": self.head_id, "hash": self.head_hash},
            "data_keys": list(self.data_keys), "created_at": self.created_at,
        }, indent=2) + "\n"

    @classmethod
    def read(cls, folder: Path) -> Manifest:
        path = folder / MANIFEST
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            if raw["format"] != FORMAT:
                raise BackupError(f"{path} is a backup of format {raw['format']}, this casework reads {FORMAT}")
            return cls(str(raw["engine"]), str(raw["file"]), str(raw["sha256"]), int(raw["size"]),
                       raw["schema_revision"], int(raw["audit_head"]["id"]), str(raw["audit_head"]["hash"]),
                       tuple(raw["data_keys"]), str(raw["created_at"]))
        except FileNotFoundError:
            raise BackupError(f"{folder} is not a casework backup: {MANIFEST} is missing") from None
        except (ValueError, KeyError, TypeError):
            raise BackupError(f"{path} is damaged") from None


@dataclass(frozen=True)
class RestoreResult:
    manifest: Manifest
    decrypted_columns: int


# --- backup --------------------------------------------------------------------------


def backup(database: Database, dest: Path) -> Manifest:
    """Copy the database into the new folder ``dest`` and write its manifest there."""
    dest = Path(dest)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise BackupError(f"{dest} already exists and is not an empty folder: choose a new one")
    dest.mkdir(mode=0o700, parents=True, exist_ok=True)
    dest.chmod(0o700)
    if database.engine.dialect.name == "sqlite":
        manifest = _backup_sqlite(database, dest)
    else:
        manifest = _backup_postgresql(database, dest)
    _write_private(dest / MANIFEST, manifest.to_json().encode("utf-8"))
    with database.transaction() as session:  # who took a copy, and of which state: no content
        record(session, "system.backup_made", actor_role="system",
               details={"engine": manifest.engine, "head_id": manifest.head_id})
    return manifest


def _backup_sqlite(database: Database, dest: Path) -> Manifest:
    target = dest / SQLITE_FILE
    os.close(os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    raw = database.engine.raw_connection()
    try:
        copy = sqlite3.connect(target)
        try:
            raw.driver_connection.backup(copy)  # one step: one consistent state, writers go on
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        finally:
            copy.close()
    finally:
        raw.close()
    engine = _plain_engine(f"sqlite:///{target}")
    try:
        with Session(engine) as session:
            facts = _facts(session)
    finally:
        engine.dispose()
    return _manifest("sqlite", target, facts)


def _backup_postgresql(database: Database, dest: Path) -> Manifest:
    target = dest / PG_FILE
    url = database.engine.url
    with database.engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
        with conn.begin():
            snapshot_id = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            with Session(bind=conn) as session:
                facts = _facts(session)
            # The transaction stays open while pg_dump reads the same snapshot.
            _run(["pg_dump", *PG_DUMP_OPTIONS, f"--snapshot={snapshot_id}", f"--file={target}",
                  f"--dbname={_libpq_url(url)}"], url)
    target.chmod(0o600)
    return _manifest("postgresql", target, facts)


def _facts(session: Session) -> dict[str, Any]:
    head_id, head_hash = audit_head(session)
    revision = MigrationContext.configure(session.connection()).get_current_revision()
    return {"head": (head_id, head_hash), "revision": revision,
            "keys": tuple(sorted(key_usage(session)))}


def _manifest(engine: str, target: Path, facts: dict[str, Any]) -> Manifest:
    return Manifest(
        engine=engine, file=target.name, sha256=_sha256(target), size=target.stat().st_size,
        schema_revision=facts["revision"], head_id=facts["head"][0], head_hash=facts["head"][1],
        data_keys=facts["keys"], created_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )


# --- restore -------------------------------------------------------------------------


def restore(database: Database, keyring: Keyring, src: Path, audit_record: Path | None) -> RestoreResult:
    """Restore the backup folder ``src`` into this instance's empty database, then prove it."""
    src = Path(src)
    manifest = Manifest.read(src)
    copy = src / manifest.file
    engine_name = database.engine.dialect.name
    if manifest.engine != engine_name:
        raise BackupError(f"{src} is a {manifest.engine} backup; this instance uses {engine_name}")
    if not copy.is_file() or _sha256(copy) != manifest.sha256:
        raise BackupError(f"{copy} does not match the SHA-256 in {MANIFEST}: the backup is damaged or altered")
    missing = sorted(set(manifest.data_keys) - set(keyring.data_keys))
    if missing:
        raise BackupError(f"the keyring lacks data key(s) {', '.join(missing)} that this backup uses: "
                          "set CASEWORK_KEYS_DIR to the keyring backed up for it")
    _refuse_if_not_empty(database.engine, audit_record)
    if engine_name == "sqlite":
        _restore_sqlite(database, copy, manifest)
    else:
        _restore_postgresql(database, copy)
    columns = _prove(database, manifest)
    if audit_record is not None and manifest.head_id:
        checkpoint.advance(audit_record, manifest.head_id, manifest.head_hash)
    with database.transaction() as session:
        record(session, "system.restored", actor_role="system",
               details={"engine": engine_name, "head_id": manifest.head_id})
    return RestoreResult(manifest, columns)


def _refuse_if_not_empty(engine: Engine, audit_record: Path | None) -> None:
    """Empty means: no casework tables, or casework tables without a single row."""
    from casework.models import Base

    with engine.connect() as conn:
        present = set(conn.dialect.get_table_names(conn))
        for table in Base.metadata.sorted_tables:
            if table.name in present and conn.execute(select(func.count()).select_from(table)).scalar():
                raise BackupError(
                    f"this instance's database is not empty (table {table.name} has rows): a restore goes "
                    "only into a new, empty database; point CASEWORK_DATABASE_URL at one")
    recorded = checkpoint.read(audit_record) if audit_record is not None else None
    if recorded is not None and recorded.head_id:
        raise BackupError(
            f"{audit_record} records audit row {recorded.head_id}, so this instance once held data: move that "
            "file away on purpose if this really is a new instance")


def _restore_sqlite(database: Database, copy: Path, manifest: Manifest) -> None:
    target = Path(database.engine.url.database or "")
    database.engine.dispose()
    staging = target.with_name(f".{target.name}.restoring")
    staging.unlink(missing_ok=True)
    os.close(os.open(staging, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    try:
        source = sqlite3.connect(f"file:{copy}?mode=ro", uri=True)
        try:
            if source.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise BackupError(f"{copy} fails SQLite's integrity check")
            into = sqlite3.connect(staging)
            try:
                source.backup(into)
            finally:
                into.close()
        finally:
            source.close()
        for suffix in ("-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        os.replace(staging, target)
    finally:
        staging.unlink(missing_ok=True)


def _restore_postgresql(database: Database, copy: Path) -> None:
    url = database.engine.url
    database.engine.dispose()
    with database.engine.connect() as conn:
        existing = conn.dialect.get_table_names(conn)
    clean = ("--clean", "--if-exists") if existing else ()
    _run(["pg_restore", *PG_RESTORE_OPTIONS, *clean, f"--dbname={_libpq_url(url)}", str(copy)], url)


def _prove(database: Database, manifest: Manifest) -> int:
    """The restored database is the one backed up, and the keyring opens it."""
    from casework.migrate import current_revision

    if current_revision(database.engine) != manifest.schema_revision:
        raise BackupError("the restored schema revision differs from the backup's manifest")
    with database.snapshot() as session:
        if audit_head(session) != (manifest.head_id, manifest.head_hash):
            raise BackupError("the restored audit log does not end at the head recorded in the manifest")
        broken = verify(session, expect_head=f"{manifest.head_id} {manifest.head_hash}")
        if broken is not None:
            raise BackupError(f"the restored audit log is broken at row {broken.row_id} ({broken.reason}); "
                              "is CASEWORK_KEYS_DIR the keyring of this backup?")
        return _decrypt_samples(session, database)


def _decrypt_samples(session: Session, database: Database) -> int:
    checked = 0
    for table, column in encrypted_columns():
        row = session.execute(
            select(table.c.id, table.c[column]).where(table.c[column].is_not(None)).limit(1)
        ).first()
        if row is None:
            continue
        database.cipher.decrypt(row[1], table=table.name, column=column, row_id=str(row[0]))
        checked += 1
    return checked


# --- helpers -------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _plain_engine(url: str) -> Engine:
    from sqlalchemy import create_engine

    return create_engine(url)


def _libpq_url(url: Any) -> str:
    """The URL as libpq reads it, without the password (that goes in PGPASSWORD, never argv)."""
    plain = make_url(str(url.render_as_string(hide_password=False))).set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False)


def _run(argv: list[str], url: Any) -> None:
    if shutil.which(argv[0]) is None:
        raise BackupError(f"{argv[0]} is not installed: install the PostgreSQL client of the server's version")
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)  # noqa: S603  # fixed argv, no shell  # nosec B603
    if done.returncode != 0:
        first = (done.stderr.strip().splitlines() or ["no message"])[0]
        raise BackupError(f"{argv[0]} failed: {first}")
