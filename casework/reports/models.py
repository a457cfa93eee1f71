"""Submitted reports (frozen aggregate figures) and the short-lived snapshots reports are shown from."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from casework.db import Base, new_id, utcnow


class SubmittedReport(Base):
    __tablename__ = "submitted_reports"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    period: Mapped[str] = mapped_column(String(8))  # 2026, 2026Q1, 202601
    version: Mapped[int] = mapped_column(Integer, default=1)
    definition_version: Mapped[int] = mapped_column(Integer, default=1)
    profile: Mapped[str] = mapped_column(String(16), default="official")
    payload: Mapped[str] = mapped_column(Text)  # canonical JSON of the suppressed figures
    payload_sha256: Mapped[str] = mapped_column(String(64))
    submitted_by: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    submitted_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    resubmission_reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (UniqueConstraint("period", "profile", "version"),)


class ReportSnapshot(Base):
    """One computation of a year's figures and what each profile hides, kept for a few minutes
    (``CASEWORK_REPORT_MAX_AGE_MINUTES``) so that every page, export and submission a supervisor
    makes meanwhile shows the same figures, and counting and disclosure control run once.

    It holds counts of the plain columns only — nothing a copy of the database does not already
    give away — and no row of it names or stands for a person.
    """

    __tablename__ = "report_snapshots"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    year: Mapped[int] = mapped_column(Integer)
    definition_version: Mapped[int] = mapped_column(Integer)
    as_of: Mapped[date] = mapped_column(Date)
    computed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    figures: Mapped[str] = mapped_column(Text)  # JSON: values, structural zeros, medians, data quality
    patterns: Mapped[str] = mapped_column(Text)  # JSON: what official and public hide

    __table_args__ = (Index("ix_report_snapshots_year", "year", "definition_version", "computed_at"),)
