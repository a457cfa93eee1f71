"""The one clock casework reads. Tests move time by replacing ``clock.utcnow``."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

LOCAL_ZONE = ZoneInfo("Asia/Ho_Chi_Minh")


def utcnow() -> datetime:
    """Naive UTC: every timestamp is stored in UTC and shown in Asia/Ho_Chi_Minh."""
    return datetime.now(UTC).replace(tzinfo=None)


def local_today() -> date:
    """Today's date in the ward (dates such as due dates are local calendar days)."""
    from casework import clock

    return clock.utcnow().replace(tzinfo=UTC).astimezone(LOCAL_ZONE).date()


def local_day(moment: datetime) -> date:
    """The ward's calendar day of a stored (naive UTC) timestamp."""
    return moment.replace(tzinfo=UTC).astimezone(LOCAL_ZONE).date()
