"""Aggregate reports for supervisors: the 80% indicator, disclosure control, exports,
submitted (frozen) reports."""

from __future__ import annotations

from datetime import date, datetime

from flask import Flask
from flask_babel import format_date, format_datetime

from casework.reports.definitions import Period, PeriodError


def register(app: Flask) -> None:
    from casework.reports.views import bp

    app.register_blueprint(bp)
    app.add_template_filter(_isoday, "isoday")
    app.add_template_filter(_isomoment, "isomoment")
    app.add_template_global(_period_label, "period_label")


def _isoday(value: str) -> str:
    """An ISO date from a report payload, shown as dd/mm/yyyy."""
    return format_date(date.fromisoformat(value), "dd/MM/yyyy")


def _isomoment(value: str) -> str:
    """A UTC timestamp from a report payload (``2026-12-01T03:10:00Z``), shown in local time."""
    return format_datetime(datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ"), "dd/MM/yyyy HH:mm")


def _period_label(code: str) -> str:
    try:
        return Period.parse(code).label()
    except PeriodError:
        return code
