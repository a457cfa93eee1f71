"""Submitted reports: frozen aggregate snapshots (DESIGN.md §6)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
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
