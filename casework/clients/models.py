"""Clients and what hangs off them. Identifying text is encrypted (``*_enc``);
only coarse categories needed for aggregates are stored plainly."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.expression import false

from casework import vocab
from casework.db import Base, Encrypted, new_id, utcnow


class Client(Base):
    __tablename__ = "clients"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    display_code: Mapped[str] = mapped_column(String(16), unique=True)
    uic_enc: Mapped[str | None] = mapped_column(Text)
    uic_bidx: Mapped[int | None] = mapped_column(Integer, index=True)
    uic_declined: Mapped[bool] = mapped_column(Boolean, default=False)
    alias_enc: Mapped[str | None] = mapped_column(Text)
    phone_enc: Mapped[str | None] = mapped_column(Text)
    birth_year_enc: Mapped[str | None] = mapped_column(Text)
    residence_enc: Mapped[str | None] = mapped_column(Text)
    sex_gender: Mapped[str] = mapped_column(String(16), default="undisclosed")
    age_band: Mapped[str] = mapped_column(String(8), default="unknown")
    outreach_source: Mapped[str] = mapped_column(String(16), default="other")
    contact_preference: Mapped[str] = mapped_column(String(16), default="do_not_contact")
    is_minor: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(8), default="open")
    close_reason: Mapped[str | None] = mapped_column(String(24))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)
    registered_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)
    seal: Mapped[str | None] = mapped_column(String(64))

    # Who may open the record, what may be shown to whom, and every ciphertext (casework.db).
    __sealed__ = ("owner_id", "display_code", "status", "contact_preference", "is_minor", "uic_declined")

    uic = Encrypted()
    alias = Encrypted()
    phone = Encrypted()
    birth_year = Encrypted()
    residence = Encrypted()

    co_assignees: Mapped[list[ClientAssignment]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True
    )

    __table_args__ = (
        Index("ix_clients_owner_status", "owner_id", "status"),
        Index("ix_clients_registered_at", "registered_at"),
        # Covering what the indicator reads of every client, so it never reads the ciphertexts' rows.
        Index("ix_clients_report", "id", "registered_at", "closed_at", "age_band", "sex_gender"),
    )
    __mapper_args__ = {"version_id_col": version}


class BlindIndexWidth(Base):
    """The width (bits) a blind index was built with: lookups at another width would find nothing."""

    __tablename__ = "blind_index_widths"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)  # "table.column.index"
    bits: Mapped[int] = mapped_column(Integer)
    built_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ClientAssignment(Base):
    """A collaborator co-assigned to a client besides its owner."""

    __tablename__ = "client_assignments"

    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    seal: Mapped[str | None] = mapped_column(String(64))

    __sealed__ = ()  # its key (client, collaborator) is what it grants


class CoassignRequest(Base):
    """A collaborator's request to be co-assigned to a client found by UIC in another caseload.

    ``status``: ``open`` until the co-assignment is granted (``granted``). While open, ``change_id``
    names the access change proposed for it, if any: an open request whose change is pending or was
    decided has left the administrator's list; one whose change was withdrawn or lapsed is back.
    Ids only. It grants nothing: only an approved access change does (casework.approvals).
    """

    __tablename__ = "coassign_requests"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    requester_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    status: Mapped[str] = mapped_column(String(12), default="open")
    change_id: Mapped[str | None] = mapped_column(ForeignKey("access_changes.id", ondelete="SET NULL"))
    requested_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)

    __table_args__ = (
        Index("ix_coassign_requests_open", "status", "requested_at", "id"),
        Index("ix_coassign_requests_pair", "client_id", "requester_id", "status"),
    )


class Consent(Base):
    __tablename__ = "consents"
    # Covering the registration-consent spans the indicator reads (casework.reports.queries).
    __table_args__ = (Index("ix_consents_purpose_client", "purpose", "client_id", "given_on", "withdrawn_on"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(24))
    method: Mapped[str] = mapped_column(String(8))
    given_on: Mapped[date] = mapped_column(Date)
    recorded_by: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    withdrawn_on: Mapped[date | None] = mapped_column(Date)
    withdrawn_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Assessment(Base):
    """A dated needs assessment; reassessments add rows, history is kept."""

    __tablename__ = "assessments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    assessed_on: Mapped[date] = mapped_column(Date)
    assessed_by: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    eligible: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # What the needs below add up to, kept with the assessment for the aggregate reports: an open
    # need (some/urgent) of each indicator group, and any urgent one. Set when the assessment is
    # recorded (``summarise_needs``); levels are never changed afterwards, only notes.
    needs_hr: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    needs_reint: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    needs_urgent: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    needs: Mapped[list[AssessmentNeed]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="AssessmentNeed.domain"
    )

    # Covering the "latest assessment on or before a date" of every client (casework.clients.queries).
    __table_args__ = (Index("ix_assessments_client_latest", "client_id", "assessed_on", "created_at", "eligible",
                            "needs_hr", "needs_reint", "needs_urgent"),)

    def summarise_needs(self, levels: dict[str, str]) -> None:
        """Set the need flags from ``{domain: level}``."""
        for name, value in need_flags(levels).items():
            setattr(self, name, value)


def need_flags(levels: dict[str, str]) -> dict[str, bool]:
    """What an assessment's need levels add up to, as the indicator reads them (docs/INDICATOR.md):
    an open need (some or urgent) of each indicator group, and whether any need is urgent."""
    groups = {vocab.NEED_DOMAINS[d][1] for d, level in levels.items()
              if level in ("some", "urgent") and d in vocab.NEED_DOMAINS}
    return {"needs_hr": "harm_reduction" in groups, "needs_reint": "reintegration" in groups,
            "needs_urgent": "urgent" in levels.values()}


class AssessmentNeed(Base):
    __tablename__ = "assessment_needs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    assessment_id: Mapped[str] = mapped_column(ForeignKey("assessments.id", ondelete="CASCADE"), index=True)
    domain: Mapped[str] = mapped_column(String(32))
    level: Mapped[str] = mapped_column(String(8))
    note_enc: Mapped[str | None] = mapped_column(Text)

    note = Encrypted()

    __table_args__ = (UniqueConstraint("assessment_id", "domain"),)


class CaseNote(Base):
    __tablename__ = "case_notes"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    body_enc: Mapped[str] = mapped_column(Text)

    body = Encrypted()


class FollowUp(Base):
    __tablename__ = "follow_ups"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    created_by: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    due_on: Mapped[date] = mapped_column(Date, index=True)
    description_enc: Mapped[str | None] = mapped_column(Text)
    done_at: Mapped[datetime | None] = mapped_column(DateTime)
    done_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    description = Encrypted()
