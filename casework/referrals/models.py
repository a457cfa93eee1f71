"""Referrals (FHIR Task-like lifecycle, docs/DESIGN.md §4) and their event history."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casework.db import Base, Encrypted, new_id, utcnow


class Referral(Base):
    __tablename__ = "referrals"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    service_id: Mapped[str] = mapped_column(ForeignKey("services.id", ondelete="RESTRICT"), index=True)
    # Copied from the service at creation so aggregates and inboxes need no join.
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id", ondelete="RESTRICT"))
    need_domain: Mapped[str] = mapped_column(String(32))
    referred_by: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    previous_referral_id: Mapped[str | None] = mapped_column(ForeignKey("referrals.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(20), default="requested")
    business_status: Mapped[str | None] = mapped_column(String(40))
    urgency: Mapped[str] = mapped_column(String(8), default="routine")
    reason_code: Mapped[str | None] = mapped_column(String(40))
    reason_enc: Mapped[str | None] = mapped_column(Text)
    outcome_enc: Mapped[str | None] = mapped_column(Text)
    note_to_receiver_enc: Mapped[str | None] = mapped_column(Text)
    feedback_enc: Mapped[str | None] = mapped_column(Text)
    # How many feedback notes the service wrote: compared with each reader's mark (ReferralRead).
    feedback_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    share_phone: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_confirmed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    outcome_recorded_by_referrer: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    accept_due_on: Mapped[date] = mapped_column(Date)
    complete_due_on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date] = mapped_column(Date)
    received_at: Mapped[datetime | None] = mapped_column(DateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)
    seal: Mapped[str | None] = mapped_column(String(64))

    # Whose referral, to whom, and whether they see the phone; every ciphertext (casework.db).
    __sealed__ = ("code", "client_id", "service_id", "organisation_id", "referred_by", "status", "share_phone")

    reason = Encrypted()
    outcome = Encrypted()
    note_to_receiver = Encrypted()
    feedback = Encrypted()

    events: Mapped[list[ReferralEvent]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="ReferralEvent.at"
    )

    __table_args__ = (
        Index("ix_referrals_org_status", "organisation_id", "status"),
        # Covering: who had a referral of which need completed when (the indicator's N).
        Index("ix_referrals_status_completed", "status", "completed_at", "client_id", "need_domain"),
        # Covering the aggregate counts by need, organisation and date (casework.reports.queries).
        Index("ix_referrals_report", "need_domain", "organisation_id", "status", "reason_code", "created_at",
              "accepted_at", "completed_at", "closed_at"),
        Index("ix_referrals_created_at", "created_at"),
    )
    __mapper_args__ = {"version_id_col": version}


class ReferralRead(Base):
    """How much of a referral's feedback a person has seen: ``feedback_seen`` is the referral's
    ``feedback_count`` when they last opened it. Feedback is unread while the count is higher, with
    no clock to compare and no ties. Ids and a count only."""

    __tablename__ = "referral_reads"

    referral_id: Mapped[str] = mapped_column(ForeignKey("referrals.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    feedback_seen: Mapped[int] = mapped_column(Integer, default=0)
    read_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ReferralEvent(Base):
    """One status change: who, when, from, to, reason code (no free text)."""

    __tablename__ = "referral_events"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    referral_id: Mapped[str] = mapped_column(ForeignKey("referrals.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    actor_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    reason_code: Mapped[str | None] = mapped_column(String(40))
