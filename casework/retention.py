"""Retention: erase client records closed for longer than the retention period.

Run by ``casework retention run`` (e.g. daily from cron). Erasure is the same
hard delete as a client's own erasure request, audited with reason
``retention``; output and audit hold counts only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from casework import clock
from casework import models as _every_model  # noqa: F401  (all mappers configured outside the web app)
from casework.audit import record
from casework.clients.models import Client
from casework.clients.services import erase_client

BATCH = 500


@dataclass(frozen=True)
class RetentionResult:
    erased: int
    cutoff: datetime


def cutoff_for(now: datetime, years: int) -> datetime:
    """The same calendar day ``years`` earlier (28 February for a 29 February)."""
    try:
        return now.replace(year=now.year - years)
    except ValueError:
        return now.replace(year=now.year - years, day=28)


def erase_expired(session: Session, *, years: int) -> RetentionResult:
    """Erase every client closed before the cutoff, in the caller's transaction."""
    if years < 1:
        raise ValueError("the retention period must be at least one year")
    cutoff = cutoff_for(clock.utcnow(), years)
    erased = 0
    while True:
        ids = session.scalars(
            select(Client.id).where(Client.status == "closed", Client.closed_at < cutoff).limit(BATCH)
        ).all()
        if not ids:
            break
        for client_id in ids:
            erase_client(session, client_id, actor=None, reason="retention")
        erased += len(ids)
    record(session, "retention.run", actor_role="system", details={"years": years, "erased": erased})
    return RetentionResult(erased, cutoff)
