"""Forms that take effect once (casework.forms.OnceForm): a submission's token is recorded in the
same transaction as what it saves; a second submission with the same token saves nothing."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import DateTime, ForeignKey, String, delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from casework import clock
from casework.db import Base, begin_writing, utcnow

KEEP_FOR = timedelta(days=7)  # a page left open longer than this gets a new token when reloaded


class FormSubmission(Base):
    """A used form token: random, tied to no content. Kept a week, then purged."""

    __tablename__ = "form_submissions"

    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    used_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)


def first_use(session: Session, user_id: str, token: str | None) -> bool:
    """Record ``token`` as used; False if it was used before (the same form sent again). A request
    without a token (not one of casework's pages) is let through: the form's own checks apply."""
    if not token:
        return True
    begin_writing(session)  # SQLite: the write lock before the savepoint, never taken inside it
    try:
        with session.begin_nested():
            session.add(FormSubmission(token=token[:64], user_id=user_id))
        return True
    except IntegrityError:
        return False


def used(session: Session, token: str | None) -> bool:
    """Whether ``token`` was already used (to answer "already saved" before any other check)."""
    return bool(token) and session.get(FormSubmission, token[:64]) is not None


def purge(session: Session) -> int:
    return session.execute(delete(FormSubmission).where(FormSubmission.used_at < clock.utcnow() - KEEP_FOR)).rowcount
