"""Accounts, sign-in with a second factor, and server-side sessions."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, session

from casework.auth.models import User


def register(app: Flask) -> None:
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
        user = services.resume_session(db, session.get("sid"), limits)
        if db.dirty:
            db.commit()  # last-seen stamp or expiry
        if user is None or user.id != user_id:
            session.pop("sid", None)
            return None
        return user

    login_manager.login_view = "auth.login"
    app.register_blueprint(bp)


__all__ = ["User", "register"]
