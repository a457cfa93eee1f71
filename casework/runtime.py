"""Per-application state: settings, keyring and database (kept on ``app.extensions``)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, g, has_request_context, request
from sqlalchemy.orm import Session

from casework.config import Settings
from casework.crypto import Keyring
from casework.db import UNREADABLE_MARKER, Database


@dataclass
class Runtime:
    settings: Settings
    keyring: Keyring
    database: Database


def runtime() -> Runtime:
    return current_app.extensions["casework"]


def settings() -> Settings:
    return runtime().settings


def db_session() -> Session:
    """The request's session: one per request, committed once by the view."""
    session = g.get("_cw_session")
    if session is None:
        session = runtime().database.session()
        if has_request_context() and request.method in ("GET", "HEAD"):
            # A page that only reads shows a damaged value as a marker and keeps working; the
            # failure is audited after the response (casework.web). A write never gets this.
            session.info[UNREADABLE_MARKER] = _unreadable_text
        g._cw_session = session
    return session


def _unreadable_text() -> str:
    from flask_babel import gettext as _

    return _("[not shown: this value failed its integrity check; the event was recorded, "
             "tell your administrator]")


def close_db_session(_exc: BaseException | None = None) -> None:
    session = g.pop("_cw_session", None)
    if session is not None:
        session.rollback()  # anything the view did not commit is discarded
        session.close()
