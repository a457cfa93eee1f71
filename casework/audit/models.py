from __future__ import annotations

from sqlalchemy import BigInteger, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from casework.db import Base


class AuditEvent(Base):
    """One audited action. Holds ids, codes and field names only, never client data.

    ``id`` is assigned by the writer (head id + 1) under a lock, so ids are
    contiguous and part of the hash: a deleted or reordered row breaks the chain.
    """

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    occurred_at: Mapped[str] = mapped_column(String(32))  # ISO 8601 UTC, hashed as stored
    actor_id: Mapped[str | None] = mapped_column(String(36))
    actor_role: Mapped[str | None] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str | None] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[str] = mapped_column(Text, default="{}")  # canonical JSON
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # HMAC of ``hash`` under a key the database never sees (casework.crypto.seal): a chain
    # recomputed by someone without the keys has hashes that hold and seals that do not.
    seal: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_audit_events_object", "object_type", "object_id"),
        # "the newest event of this kind on this record" (unread feedback on the caseload) in one seek
        Index("ix_audit_events_object_action", "object_type", "object_id", "action", "id"),
    )
