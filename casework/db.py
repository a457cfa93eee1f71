"""Database engine, sessions, the declarative base and encrypted attributes.

One engine per application; one session per request (or per CLI command),
committed once. Sessions carry the field cipher and blind indexer in
``session.info`` so models can encrypt without any global state.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy import MetaData, create_engine, event, inspect, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlalchemy.orm import DeclarativeBase, Session, object_session, sessionmaker

from casework import clock
from casework.crypto import BlindIndexer, FieldCipher, Sealer
from casework.errors import DatabaseUnavailable, FieldIntegrityError, RowIntegrityError

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLITE_BUSY_TIMEOUT_MS = 15_000
SNAPSHOT_OPTION = "casework_snapshot"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def utcnow() -> datetime:
    """Naive UTC now, read through ``casework.clock`` so tests can move time."""
    return clock.utcnow()


def new_id() -> str:
    return str(uuid.uuid4())


# --- encrypted attributes -------------------------------------------------------


class Encrypted:
    """A plaintext attribute stored encrypted in the mapped column ``<name>_enc``.

    Setting it on an object in a session encrypts at once; on a new object it is
    encrypted in ``before_flush``. Reading decrypts on first access and keeps the
    plaintext on the instance for the rest of the request only.
    """

    registry: ClassVar[list[tuple[type, str]]] = []

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
        self.column = f"{name}_enc"
        Encrypted.registry.append((owner, self.column))

    def __get__(self, obj: Any, owner: type) -> Any:
        if obj is None:
            return self
        cache = obj.__dict__.setdefault("_cw_plain", {})
        if self.name in cache:
            return cache[self.name]
        token = getattr(obj, self.column)
        if token is None:
            return None
        try:
            value = _cipher_for(obj).decrypt(
                token, table=obj.__tablename__, column=self.column, row_id=str(obj.id)
            )
        except FieldIntegrityError as exc:
            value = _stand_in(obj, exc)
        cache[self.name] = value
        return value

    def __set__(self, obj: Any, value: str | None) -> None:
        obj.__dict__.setdefault("_cw_plain", {})[self.name] = value
        session = object_session(obj)
        if value is None:
            setattr(obj, self.column, None)
        elif session is not None and getattr(obj, "id", None):
            setattr(obj, self.column, _encrypt(session, obj, self.column, value))
        else:
            obj.__dict__.setdefault("_cw_pending", set()).add(self.name)


UNREADABLE_MARKER = "unreadable_marker"
UNREADABLE_SEEN = "unreadable_seen"


class Unreadable(str):
    """Stands in for a value that failed its integrity check, on a page that only reads: the rest
    of the page still works and the failure is recorded (casework.web). Never written back."""

    __slots__ = ()


def is_unreadable(value: object) -> bool:
    return isinstance(value, Unreadable)


def _stand_in(obj: Any, exc: FieldIntegrityError) -> Unreadable:
    """The session's marker if it reads only (``UNREADABLE_MARKER``); otherwise the error stands,
    so that nothing is ever computed from, or saved next to, a value that could not be checked."""
    session = object_session(obj)
    make_marker = session.info.get(UNREADABLE_MARKER) if session is not None else None
    if make_marker is None:
        raise exc
    seen = session.info.setdefault(UNREADABLE_SEEN, [])
    if (exc.table, exc.column, exc.row_id) not in seen:
        seen.append((exc.table, exc.column, exc.row_id))
    return Unreadable(make_marker())


def _cipher_for(obj: Any) -> FieldCipher:
    session = object_session(obj)
    if session is None or "cipher" not in session.info:
        raise RuntimeError("encrypted attributes need an object attached to a casework session")
    return session.info["cipher"]


def _encrypt(session: Session, obj: Any, column: str, value: str) -> str:
    cipher: FieldCipher = session.info["cipher"]
    return cipher.encrypt(value, table=obj.__tablename__, column=column, row_id=str(obj.id))


def _encrypt_pending(session: Session, _ctx: Any, _instances: Any) -> None:
    for obj in list(session.new) + list(session.dirty):
        pending = obj.__dict__.get("_cw_pending")
        if not pending:
            continue
        if getattr(obj, "id", None) is None:
            obj.id = new_id()  # the row id is part of the associated data: set before encrypting
        plain = obj.__dict__["_cw_plain"]
        for name in pending:
            value = plain[name]
            setattr(obj, f"{name}_enc", None if value is None else _encrypt(session, obj, f"{name}_enc", value))
        pending.clear()


event.listen(Session, "before_flush", _encrypt_pending)


def _forget_plaintext(obj: Any, *_args: Any) -> None:
    """A refreshed or expired row may hold new ciphertexts: drop what was decrypted before."""
    if obj is None:  # expiry of an instance already garbage-collected
        return
    obj.__dict__.pop("_cw_plain", None)
    obj.__dict__.pop("_cw_pending", None)


event.listen(Base, "refresh", _forget_plaintext, propagate=True)
event.listen(Base, "expire", _forget_plaintext, propagate=True)


# --- row seals ---------------------------------------------------------------------
#
# A model lists in ``__sealed__`` the columns that decide access; those, its key columns and every
# ``*_enc`` column it has are covered by the row's ``seal`` (casework.crypto.seal). Seals are
# written on every insert and update through the ORM and checked whenever a row is loaded, so a
# value changed in the database without the keys is refused before any decision reads it.

_SEALED: dict[type, tuple[str, ...]] = {}


def sealed_columns(model: type) -> tuple[str, ...]:
    """The columns ``model``'s seal covers, in a fixed order (empty for an unsealed model)."""
    if model not in _SEALED:
        declared = getattr(model, "__sealed__", None)
        if declared is None:
            _SEALED[model] = ()
        else:
            table = model.__table__  # type: ignore[attr-defined]
            keys = [c.name for c in table.primary_key.columns]
            encrypted = [c.name for c in table.columns if c.name.endswith("_enc")]
            _SEALED[model] = tuple(dict.fromkeys([*keys, *declared, *encrypted]))
    return _SEALED[model]


def _column_default(model: type, name: str) -> Any:
    default = model.__table__.c[name].default  # type: ignore[attr-defined]
    if default is None:
        return None
    return default.arg(None) if default.is_callable else default.arg


def seal_values(sealer: Sealer, model: type, values: dict[str, Any]) -> dict[str, Any]:
    """``values`` (a Core insert row) with its defaults filled in and its ``seal`` added."""
    columns = sealed_columns(model)
    for name in columns:
        if values.get(name) is None:
            values[name] = _column_default(model, name)
    values["seal"] = sealer.row(model.__tablename__, {c: values[c] for c in columns})  # type: ignore[attr-defined]
    return values


def _sealer_of(obj: Any) -> Sealer:
    session = object_session(obj)
    if session is None or "sealer" not in session.info:
        raise RuntimeError("sealed rows need an object attached to a casework session")
    return session.info["sealer"]


def _row_id(obj: Any, model: type) -> str:
    """The row's id as the audit names it (a co-assignment by its client)."""
    first = next(iter(model.__table__.primary_key.columns))  # type: ignore[attr-defined]
    return str(getattr(obj, first.name))


def _write_seal(_mapper: Any, _conn: Any, obj: Any) -> None:
    model = type(obj)
    columns = sealed_columns(model)
    if not columns:
        return
    for name in columns:
        if getattr(obj, name) is None:
            value = _column_default(model, name)
            if value is not None:
                setattr(obj, name, value)
    obj.seal = _sealer_of(obj).row(model.__tablename__, {c: getattr(obj, c) for c in columns})


def _check_seal(obj: Any, *_args: Any) -> None:
    model = type(obj)
    columns = sealed_columns(model)
    if not columns:
        return
    state = inspect(obj)
    if state.unloaded & {*columns, "seal"}:
        return  # a partial load: checked when the rest arrives
    values = {c: state.dict[c] for c in columns}
    if not _sealer_of(obj).row_holds(model.__tablename__, values, state.dict.get("seal")):
        raise RowIntegrityError(model.__tablename__, _row_id(obj, model))


event.listen(Base, "before_insert", _write_seal, propagate=True)
event.listen(Base, "before_update", _write_seal, propagate=True)
event.listen(Base, "load", _check_seal, propagate=True)
event.listen(Base, "refresh", _check_seal, propagate=True)


# --- engine ----------------------------------------------------------------------


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create the engine; SQLite gets WAL, foreign keys, a busy timeout, and a write lock taken late."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseUnavailable("CASEWORK_DATABASE_URL is not a database URL") from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    try:
        if parsed.get_backend_name() == "sqlite":
            _private_sqlite_file(parsed.database)
            engine = create_engine(parsed, hide_parameters=True, **kwargs)
            _configure_sqlite(engine)
        else:
            engine = create_engine(parsed, pool_pre_ping=True, hide_parameters=True, **kwargs)
    except (NoSuchModuleError, ImportError) as exc:
        raise DatabaseUnavailable(
            f"CASEWORK_DATABASE_URL needs a driver that is not installed ({exc.__class__.__name__}); "
            "for PostgreSQL install casework[postgres]"
        ) from None
    return engine


def _private_sqlite_file(database: str | None) -> None:
    """The SQLite file holds everything a database thief wants: it is created readable by its
    owner only, and an existing one that other accounts can read is refused, as for the keys."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if not path.exists():
        if path.parent.is_dir():
            # SQLite gives its -wal and -shm files the same permissions as the database file.
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        return  # a missing folder: connecting fails with the usual one-line message
    if path.stat().st_mode & 0o077:
        raise DatabaseUnavailable(f"the SQLite database {path} can be read by other accounts on this machine: "
                                  f"run `chmod 600 {path}*`")


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Deleted rows (erasure, retention) are overwritten, not left in free pages.
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Every transaction starts as a reader: WAL gives it one consistent state and takes no lock,
        # so no page view waits for another's rendering. The write lock is taken by the first
        # statement that writes (below) or by begin_writing, and held only until commit.
        conn.info.pop(WRITING, None)
        conn.exec_driver_sql("BEGIN DEFERRED")

    @event.listens_for(engine, "before_cursor_execute")
    def _before_write(conn: Any, cursor: Any, statement: str, *_args: Any) -> None:
        if not conn.info.get(WRITING) and statement.lstrip()[:7].upper().startswith(_WRITE_VERBS):
            _take_write_lock(conn, cursor)

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _on_end(conn: Any) -> None:
        conn.info.pop(WRITING, None)


WRITING = "casework_writing"
_WRITE_VERBS = ("INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER")


def _take_write_lock(conn: Any, cursor: Any) -> None:
    """Turn this SQLite transaction into a writer: end its read-only part (nothing was written, so
    nothing is lost) and begin again holding the write lock. Waiting for the lock is SQLite's busy
    timeout; upgrading a reader in place instead would fail at once whenever someone else had
    committed since it began (SQLITE_BUSY_SNAPSHOT). Reads after this see the newest state."""
    if conn.connection.dbapi_connection.in_transaction:
        cursor.execute("COMMIT")
    cursor.execute("BEGIN IMMEDIATE")
    conn.info[WRITING] = True


def begin_writing(session: Session) -> None:
    """Hold the database's write lock (SQLite) before a read whose answer decides a write, such as
    the audit chain's head or a failure counter; on PostgreSQL row locks and the chain's advisory
    lock do that, and this does nothing."""
    conn = session.connection()
    if conn.dialect.name != "sqlite" or conn.info.get(WRITING):
        return
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        _take_write_lock(conn, cursor)
    finally:
        cursor.close()


def check_database(engine: Engine) -> None:
    """Fail with one line naming the setting if the database cannot be reached."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except DBAPIError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else exc.__class__.__name__
        where = engine.url.render_as_string(hide_password=True)
        raise DatabaseUnavailable(
            f"CASEWORK_DATABASE_URL ({where}) cannot be reached: {reason}"
        ) from None


class Database:
    """The engine plus a session factory whose sessions can encrypt and index."""

    def __init__(self, url: str, cipher: FieldCipher, indexer: BlindIndexer, *,
                 audit_checkpoint: Path | None = None, info: dict[str, Any] | None = None, **engine_kwargs: Any):
        self.engine = make_engine(url, **engine_kwargs)
        self.cipher = cipher
        self.indexer = indexer
        self.sealer = Sealer(indexer.root)
        info = {"cipher": cipher, "indexer": indexer, "sealer": self.sealer, **(info or {})}
        if audit_checkpoint is not None:
            info["audit_checkpoint"] = audit_checkpoint
        self._factory = sessionmaker(self.engine, expire_on_commit=False, info=info)

    def session(self) -> Session:
        return self._factory()

    @contextmanager
    def snapshot(self) -> Iterator[Session]:
        """A read-only session over one consistent state of the database that holds up no writer:
        for long reads such as reports and exports. Nothing it does is ever committed."""
        if self.engine.dialect.name == "postgresql":
            bind = self.engine.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        else:
            bind = self.engine.execution_options(**{SNAPSHOT_OPTION: True})
        session = self._factory(bind=bind)
        try:
            yield session
        finally:
            session.rollback()
            session.close()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: commit on success, roll back on any error."""
        session = self._factory()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()
