"""Accounts, sign-in with a second factor, and server-side sessions."""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import Flask, g, session

from casework.auth.models import User
from casework.errors import RowIntegrityError

log = logging.getLogger(__name__)


def register(app: Flask) -> None:
    from casework.audit import record
    from casework.auth import held, services
    from casework.auth.views import bp, ended_session, forget_resent_form
    from casework.extensions import login_manager
    from casework.policy import ENDED_SESSION_HANDLER
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
            idle_user = services.idle_ended_session_user(db, session.get("sid"), held.ENDED_WITHIN)
            if idle_user == user_id:
                # Kept, so that a form sent from another tab later is still recognised as this
                # person's and held for them (casework.auth.views.ended_session).
                g._cw_idle_user = idle_user
            else:
                session.pop("sid", None)
            return None
        return user

    login_manager.login_view = "auth.login"
    app.extensions[ENDED_SESSION_HANDLER] = ended_session
    app.after_request(forget_resent_form)
    app.register_blueprint(bp)


__all__ = ["User", "register"]
