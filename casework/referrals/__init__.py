"""Closed-loop referrals: make, slip, inbox, lifecycle (docs/DESIGN.md §4, §5)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import Flask
from flask_login import current_user


@dataclass(frozen=True)
class WaitingReferral:
    """A row of the caseload panel: a referral waiting on someone past its due date."""

    referral_id: str
    code: str
    client_id: str
    display_code: str
    service_name: str
    status: str
    why: str
    due_on: date


def register(app: Flask) -> None:
    from casework.referrals.views import bp

    app.register_blueprint(bp)
    app.context_processor(_referral_context)


def _referral_context() -> dict[str, object]:
    """Badges for the menu, and functions the clients area's templates call."""
    from sqlalchemy import inspect

    if not getattr(current_user, "is_authenticated", False) or inspect(current_user).detached:
        return {}  # signed out, or an error page after the request's session was closed
    context: dict[str, object] = {"referrals_waiting": _waiting, "client_referrals": _client_referrals,
                                  "referrals_with_feedback": _with_feedback}
    from casework.referrals import services
    from casework.runtime import db_session

    if current_user.role == "provider" and current_user.organisation_id:
        context["badges"] = {"inbox": services.inbox_badge(db_session(), current_user.organisation_id)}
    elif current_user.role == "collaborator":
        context["badges"] = {"sent": services.sent_badge(db_session(), current_user.id)}
    return context


PANEL_ROWS = 10  # the caseload page shows this many; the rest are one click away in the sent list


@dataclass(frozen=True)
class WaitingPanel:
    rows: list[WaitingReferral]
    more: bool  # more than PANEL_ROWS: the panel links to every overdue referral


def _waiting() -> WaitingPanel:
    """The signed-in collaborator's caseload referrals that are overdue (not accepted / not completed)."""
    from casework import clock
    from casework.directory.models import Service
    from casework.referrals import services
    from casework.runtime import db_session

    if getattr(current_user, "role", None) != "collaborator":
        return WaitingPanel([], False)
    db = db_session()
    today = clock.local_today()
    rows, more = services.sent(db, current_user.id, overdue_only=True, per_page=PANEL_ROWS)
    names = {s.id: s.name for s in db.query(Service).filter(Service.id.in_({r.service_id for r, _ in rows}))}
    result = []
    for referral, client in rows:
        why = services.is_overdue(referral, today) or ""
        due = referral.accept_due_on if why == "not_accepted" else referral.complete_due_on
        result.append(WaitingReferral(referral.id, referral.code, client.id, client.display_code,
                                      names.get(referral.service_id, ""), referral.status, why, due))
    return WaitingPanel(result, more)


@dataclass(frozen=True)
class FeedbackWaiting:
    """A row of the caseload panel: the service wrote feedback the collaborator has not opened yet."""

    referral_id: str
    code: str
    display_code: str
    service_name: str


@dataclass(frozen=True)
class FeedbackPanel:
    rows: list[FeedbackWaiting]
    more: bool  # more than PANEL_ROWS: the panel links to all of them in the sent list


def _with_feedback() -> FeedbackPanel:
    """The signed-in collaborator's caseload referrals with feedback written since they last opened them."""
    from casework.directory.models import Service
    from casework.referrals import services
    from casework.runtime import db_session

    if getattr(current_user, "role", None) != "collaborator":
        return FeedbackPanel([], False)
    db = db_session()
    rows, more = services.with_unread_feedback(db, current_user.id, per_page=PANEL_ROWS)
    names = {s.id: s.name for s in db.query(Service).filter(Service.id.in_({service for _i, _c, service, _d in rows}))}
    return FeedbackPanel([FeedbackWaiting(rid, code, display, names.get(service, ""))
                          for rid, code, service, display in rows], more)


def _client_referrals(client: object) -> list[tuple[object, str, str | None]]:
    """(referral, service name, overdue reason) for the client page; empty unless the user may see the client."""
    from casework import clock
    from casework.directory.models import Service
    from casework.policy.referrals import is_referrer
    from casework.referrals import services
    from casework.runtime import db_session

    if client is None or not is_referrer(current_user, client):
        return []
    db = db_session()
    referrals = services.for_client(db, client.id)  # type: ignore[attr-defined]
    names = {s.id: s.name for s in db.query(Service).filter(Service.id.in_({r.service_id for r in referrals}))}
    today = clock.local_today()
    return [(r, names.get(r.service_id, ""), services.is_overdue(r, today)) for r in referrals]


__all__ = ["FeedbackWaiting", "WaitingReferral", "register"]
