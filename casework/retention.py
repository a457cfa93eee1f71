"""Retention: erase client records closed for longer than the retention period, and
keep the age bands of the others current.

Run by ``casework retention run`` (e.g. daily from cron). Erasure is the same
hard delete as a client's own erasure request, audited with reason
``retention``; output and audit hold counts only. A band moves with time (a
17-year-old turns 18) even when nobody opens the record, so the run refreshes
it too, audited like ``services.refresh_age_band`` (no year, no band).
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
from casework.clients.services import erase_client, refresh_age_band

BATCH = 500


@dataclass(frozen=True)
class RetentionResult:
    erased: int
    cutoff: datetime
    age_bands_updated: int = 0


def cutoff_for(now: datetime, years: int) -> datetime:
    """The same calendar day ``years`` earlier (28 February for a 29 February)."""
    try:
        return now.replace(year=now.year - years)
    except ValueError:
        return now.replace(year=now.year - years, day=28)


def erase_expired(session: Session, *, years: int) -> RetentionResult:
    """Erase every client closed before the cutoff, then refresh the age bands of the rest,
    in the caller's transaction."""
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
    moved = refresh_age_bands(session)
    record(session, "retention.run", actor_role="system",
           details={"years": years, "erased": erased, "age_bands_updated": moved})
    return RetentionResult(erased, cutoff, moved)


def refresh_age_bands(session: Session) -> int:
    """Move every record whose birth year now falls in another band; returns how many moved.

    Birth years are encrypted, so each known one is decrypted to compare; the
    rows are read in batches to keep memory flat on a large register.
    """
    moved = 0
    rows = session.scalars(
        select(Client).where(Client.birth_year_enc.is_not(None)).order_by(Client.id)
        .execution_options(yield_per=BATCH)
    )
    for client in rows:
        moved += refresh_age_band(session, None, client)
    return moved
