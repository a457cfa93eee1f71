"""Per-application state: settings, keyring and database (kept on ``app.extensions``)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, g
from sqlalchemy.orm import Session

from casework.config import Settings
from casework.crypto import Keyring
from casework.db import Database


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
        g._cw_session = session
    return session


def close_db_session(_exc: BaseException | None = None) -> None:
    session = g.pop("_cw_session", None)
    if session is not None:
        session.rollback()  # anything the view did not commit is discarded
        session.close()
