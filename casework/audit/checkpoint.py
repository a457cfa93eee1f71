"""The audit head recorded outside the database.

After each commit that added audit rows, the process writes the newest row's id and hash to
``<instance folder>/audit-head.json`` (only ever forward: a file naming a later row is kept).
The first sealed id is kept from the first write on. ``casework audit verify`` reads the file, so
a chain cut short, emptied, or recomputed from scratch without the keys no longer verifies.

Someone who can write to the database but not to the application server's disk cannot move this
record back. The file holds ids and hashes only. Each application server keeps its own; any of
them is a lower bound on the chain.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)
FILE_NAME = "audit-head.json"


@dataclass(frozen=True)
class Checkpoint:
    head_id: int
    head_hash: str
    sealed_from: int


def read(path: Path) -> Checkpoint | None:
    """The recorded head, or None when nothing was recorded yet. A damaged file is an error."""
    try:
        raw = json.loads(Path(path).read_text(encoding="ascii"))
        return Checkpoint(int(raw["head_id"]), str(raw["head_hash"]), int(raw["sealed_from"]))
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise ValueError(f"{path} is damaged: it should hold the recorded audit head") from None


def advance(path: Path, head_id: int, head_hash: str) -> None:
    """Record ``head_id`` unless a later head is already recorded (several processes write)."""
    path = Path(path)
    lock_fd = os.open(path.with_name(f".{path.name}.lock"), os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX)
        current = read(path)
        if current is not None and current.head_id >= head_id:
            return
        sealed_from = current.sealed_from if current is not None else head_id
        tmp = path.with_name(f".{path.name}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            json.dump({"head_id": head_id, "head_hash": head_hash, "sealed_from": sealed_from}, handle)
        os.replace(tmp, path)
    finally:
        os.close(lock_fd)


def _after_commit(session: Session) -> None:
    written = session.info.pop("audit_head", None)
    path = session.info.get("audit_checkpoint")
    if written is None or path is None:
        return
    try:
        advance(path, *written)
    except (OSError, ValueError) as exc:  # the commit stands; verify will say the record lags
        log.warning("could not record the audit head in %s: %s", path, exc.__class__.__name__)


def _after_rollback(session: Session, *_args: Any) -> None:
    session.info.pop("audit_head", None)


event.listen(Session, "after_commit", _after_commit)
event.listen(Session, "after_rollback", _after_rollback)
