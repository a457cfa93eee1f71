"""Writing and verifying the hash chain.

hash(row) = SHA-256 over the canonical JSON of the row's fields, including its
id and the previous row's hash. Events are queued in the transaction and
appended when it commits, under a lock held from reading the head to commit
(PostgreSQL advisory transaction lock; SQLite's write lock), so concurrent
requests extend one chain instead of forking it, and nobody waits for a page
that is still being rendered.

seal(row) = HMAC-SHA256 of the hash under a key only the application holds
(casework.crypto.seal): anyone can check the chain, but only casework can write
a row whose seal holds. After every commit that added rows the process records
the newest id and hash in a small file outside the database (the checkpoint,
casework.audit.checkpoint); ``verify`` refuses a chain that is shorter than, or
differs from, what was recorded there.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import event, insert, select, text
from sqlalchemy.orm import Session

from casework.audit.checkpoint import Checkpoint
from casework.audit.models import AuditEvent
from casework.crypto.seal import Sealer
from casework.db import begin_writing, utcnow

GENESIS = "0" * 64
ADVISORY_LOCK_ID = 0x6361_7365  # "case"
VERIFY_BATCH = 5_000
_ALLOWED_DETAIL_TYPES = (str, int, bool, type(None))


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def row_hash(fields: Mapping[str, Any]) -> str:
    payload = {k: fields[k] for k in (
        "id", "occurred_at", "actor_id", "actor_role", "action",
        "object_type", "object_id", "details", "prev_hash",
    )}
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()


def _lock(session: Session) -> None:
    """The chain's lock, held from reading the head to commit: PostgreSQL's advisory transaction
    lock, SQLite's write lock (casework.db.begin_writing)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": ADVISORY_LOCK_ID})
    else:
        begin_writing(session)


def record(
    session: Session,
    action: str,
    *,
    actor_id: str | None = None,
    actor_role: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    details: Mapping[str, Any] | None = None,
    at: datetime | None = None,
) -> None:
    """Add one event to the caller's transaction: it is chained and written when the transaction
    commits (``_append_queued``), so the chain's lock is held for the insert only, never while a
    page that was read is rendered. Rolled back with the transaction, like everything else in it.

    ``details`` takes only ids, codes, field names, counts and flags.
    """
    details = dict(details or {})
    for key, value in details.items():
        if isinstance(value, list | tuple):
            if not all(isinstance(v, _ALLOWED_DETAIL_TYPES) for v in value):
                raise TypeError(f"audit detail {key!r} must hold plain codes")
            details[key] = list(value)
        elif not isinstance(value, _ALLOWED_DETAIL_TYPES):
            raise TypeError(f"audit detail {key!r} must be a plain code, id or count")
    _sealer(session)  # fail here, not at commit, in a session that cannot seal
    session.info.setdefault(QUEUE, []).append({
        "occurred_at": (at or utcnow()).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "actor_id": actor_id,
        "actor_role": actor_role,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "details": canonical_json(details),
    })


QUEUE = "audit_queue"


def _append_queued(session: Session) -> None:
    """At commit: write the transaction's other changes, then take the chain's lock, read the head
    and append the queued events after it, in the same transaction."""
    queued = session.info.get(QUEUE)
    if not queued:
        return
    session.flush()
    _lock(session)
    last = session.execute(
        select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
    ).first()
    next_id, prev_hash = ((last.id + 1), last.hash) if last else (1, GENESIS)
    sealer = _sealer(session)
    rows = []
    for queued_event in queued:
        fields = {"id": next_id, **queued_event, "prev_hash": prev_hash}
        fields["hash"] = prev_hash = row_hash(fields)
        fields["seal"] = sealer.audit(fields["hash"])
        rows.append(fields)
        next_id += 1
    session.execute(insert(AuditEvent), rows)
    session.info.pop(QUEUE, None)
    session.info["audit_head"] = (rows[-1]["id"], rows[-1]["hash"])


def _forget_queued(session: Session, *_args: Any) -> None:
    session.info.pop(QUEUE, None)


event.listen(Session, "before_commit", _append_queued)
event.listen(Session, "after_rollback", _forget_queued)


def _sealer(session: Session) -> Sealer:
    sealer = session.info.get("sealer")
    if sealer is None:
        raise RuntimeError("audit rows are written through a casework session (it carries the sealer)")
    return sealer


@dataclass(frozen=True)
class ChainBreak:
    """Where verification failed: the first row id that does not hold."""

    row_id: int
    reason: str


def verify(
    session: Session, expect_head: str | None = None, recorded: Checkpoint | None = None
) -> ChainBreak | None:
    """Walk the chain in id order; None if every row holds.

    Rows written before seals existed (an upgraded database) may have none, but only at the start:
    once a sealed row is seen, every later row must carry a seal that holds. ``recorded`` is the
    checkpoint kept outside the database: the chain must reach its head, with the same hash there,
    and every row from its first sealed id on must be sealed. ``expect_head`` is a head kept
    elsewhere ("ID HASH" or the hash alone): the chain must still pass through it, so rows cut off
    after it are caught however much was appended since.
    """
    sealer = _sealer(session)
    kept_id, kept_hash = parse_head(expect_head) if expect_head is not None else (None, "")
    reached = kept_id == 0 and kept_hash == GENESIS  # "0 <genesis>": kept while the log was empty
    sealed_from = recorded.sealed_from if recorded else None
    seen_sealed = False
    prev_hash, expected_id, last_id = GENESIS, 1, 0
    while True:
        rows = session.execute(
            select(AuditEvent).where(AuditEvent.id > last_id).order_by(AuditEvent.id).limit(VERIFY_BATCH)
        ).scalars().all()
        if not rows:
            break
        for row in rows:
            if row.id != expected_id:
                return ChainBreak(expected_id, "row missing")
            fields = {c: getattr(row, c) for c in (
                "id", "occurred_at", "actor_id", "actor_role", "action",
                "object_type", "object_id", "details", "prev_hash",
            )}
            if row.prev_hash != prev_hash:
                return ChainBreak(row.id, "does not follow the previous row")
            if row_hash(fields) != row.hash:
                return ChainBreak(row.id, "content does not match its hash")
            if row.seal is not None or seen_sealed or (sealed_from is not None and row.id >= sealed_from):
                if not sealer.audit_holds(row.hash, row.seal):
                    return ChainBreak(row.id, "its seal does not hold (written without casework's keys)")
                seen_sealed = True
            if recorded is not None and row.id == recorded.head_id and row.hash != recorded.head_hash:
                return ChainBreak(row.id, "differs from the head recorded outside the database")
            if expect_head is not None and row.hash == kept_hash and kept_id in (None, row.id):
                reached = True
            prev_hash, expected_id, last_id = row.hash, row.id + 1, row.id
        session.expunge_all()
    if recorded is not None and last_id < recorded.head_id:
        return ChainBreak(last_id + 1, f"the chain ends before row {recorded.head_id}, which was recorded "
                                       "outside the database (rows removed at the end, or the table emptied)")
    if expect_head is not None and not reached:
        return ChainBreak(expected_id, "the chain no longer reaches the head kept elsewhere (rows removed at the "
                                       "end, or that head was never part of this chain)")
    return None


def parse_head(kept: str) -> tuple[int | None, str]:
    """A kept head as ``casework audit head`` prints it ("ID HASH", or "ID:HASH"), or the hash alone."""
    parts = kept.replace(":", " ").split()
    if len(parts) == 2 and parts[0].isdigit():
        return int(parts[0]), parts[1].lower()
    if len(parts) == 1:
        return None, parts[0].lower()
    raise ValueError("a kept audit head is 'ID HASH' as `casework audit head` prints it, or the hash alone")


def head(session: Session) -> tuple[int, str]:
    """The id and hash of the last row (0 and the genesis hash when empty)."""
    last = session.execute(
        select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
    ).first()
    return (last.id, last.hash) if last else (0, GENESIS)
