"""Accounts, sign-in with a second factor, and server-side sessions."""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import Flask, session

from casework.auth.models import User
from casework.errors import RowIntegrityError

log = logging.getLogger(__name__)


def register(app: Flask) -> None:
    from casework.audit import record
    from casework.auth import services
    from casework.auth.views import bp
    from casework.extensions import login_manager
    from casework.runtime import db_session, settings

    @login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        cfg = settings()
        limits = services.SessionLimits(
            idle=timedelta(minutes=cfg.session_idle_minutes),
            absolute=timedelta(hours=cfg.session_absolute_hours),
        )
        db = db_session()
        try:
            user = services.resume_session(db, session.get("sid"), limits)
        except RowIntegrityError as exc:
            # The account's row was changed without the keys: nobody is signed in on it.
            db.rollback()
            record(db, "integrity.failure", object_type=exc.table, object_id=exc.row_id,
                   details={"column": exc.column})
            db.commit()
            log.error("row integrity failure: %s row %s (session refused)", exc.table, exc.row_id)
            session.pop("sid", None)
            return None
        if db.dirty:
            db.commit()  # last-seen stamp or expiry
        if user is None or user.id != user_id:
            session.pop("sid", None)
            return None
        return user

    login_manager.login_view = "auth.login"
    app.register_blueprint(bp)


__all__ = ["User", "register"]
