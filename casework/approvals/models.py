"""The work queue of access changes waiting for, or decided by, a second person."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from casework.db import Base, new_id, utcnow


class AccessChange(Base):
    """One proposed change of access to client records.

    ``kind``: ``caseload_move`` (every client of ``from_user_id`` to ``to_user_id``),
    ``client_move`` (``client_id`` to ``to_user_id``), ``coassignment`` (``to_user_id`` also reaches
    ``client_id``) or ``records_release`` (``to_user_id``'s records, held after an admin reset their
    sign-in, are released). ``status``: pending, approved, refused, withdrawn or lapsed. It holds ids,
    codes and counts only: nothing about any client.
    """

    __tablename__ = "access_changes"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(24))
    status: Mapped[str] = mapped_column(String(12), default="pending")
    reason: Mapped[str] = mapped_column(String(24))
    # An erased client takes the changes that name it along (erasure leaves no link to the person).
    client_id: Mapped[str | None] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    from_user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    to_user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    client_count: Mapped[int] = mapped_column(Integer, default=0)  # when proposed
    applied_count: Mapped[int | None] = mapped_column(Integer)  # when approved
    # Before migration 0008: the audit event of the co-assignment request (now coassign_requests.change_id).
    source_event_id: Mapped[int | None] = mapped_column(BigInteger)
    requested_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))  # None: CLI
    requested_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime)  # None: waits for a decision
    decided_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    notice_seen_at: Mapped[datetime | None] = mapped_column(DateTime)  # the collaborator told has read it
    version: Mapped[int] = mapped_column(Integer, default=1)

    __table_args__ = (
        Index("ix_access_changes_status", "status", "requested_at"),
        Index("ix_access_changes_from_user", "from_user_id", "requested_at"),
        Index("ix_access_changes_to_user", "to_user_id", "requested_at"),
        Index("ix_access_changes_client", "client_id"),
    )
