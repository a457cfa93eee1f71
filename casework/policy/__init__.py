"""Access control, decided in one place (docs/DESIGN.md §1, §7).

Deny by default: an endpoint is reachable only if it is on ``PUBLIC_ENDPOINTS``
or its view declares the roles allowed with ``@allow(...)``. Object-level
rules (caseload, organisation) live in the submodules of this package and
every view calls them after loading the object.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import abort, current_app, redirect, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

ROLES = ("collaborator", "provider", "supervisor", "admin")
ANY_ROLE = ROLES

# Reachable without signing in: the sign-in steps, static files, health, language choice.
# The auth area's answer to a request whose session ran out of idle time (None: not such a request).
ENDED_SESSION_HANDLER = "casework_ended_session"

PUBLIC_ENDPOINTS = frozenset(
    {"static", "core.health", "auth.login", "auth.login_second_factor", "auth.set_language"}
)

# Reachable by a signed-in user who still has to set a password or enrol a second factor.
SETUP_ENDPOINTS = frozenset(
    {"auth.change_password", "auth.enrol_second_factor", "auth.new_enrolment_key", "auth.logout",
     "auth.set_language"}
)

# Reachable by a collaborator whose records are on hold after an admin reset their sign-in.
HELD_ENDPOINTS = SETUP_ENDPOINTS | frozenset(
    {"core.home", "auth.account", "auth.new_recovery_codes", "auth.logout_everywhere", "approvals.held"}
)

F = TypeVar("F", bound=Callable[..., Any])


def allow(*roles: str) -> Callable[[F], F]:
    """Declare which roles may reach a view. A view without it is reachable by nobody."""
    unknown = set(roles) - set(ROLES)
    if unknown or not roles:
        raise ValueError(f"unknown roles {unknown}")

    def mark(view: F) -> F:
        view.allowed_roles = frozenset(roles)  # type: ignore[attr-defined]
        return view

    return mark


def allowed_roles(endpoint: str) -> frozenset[str]:
    if endpoint in PUBLIC_ENDPOINTS:
        return frozenset({"anonymous", *ROLES})
    view = current_app.view_functions.get(endpoint)
    return getattr(view, "allowed_roles", frozenset())


def setup_step(user: Any) -> str | None:
    """The endpoint a user must finish first, or None when the account is ready."""
    from casework.runtime import settings

    if user.must_change_password:
        return "auth.change_password"
    if settings().require_2fa and not user.has_second_factor:
        return "auth.enrol_second_factor"
    return None


def enforce_access() -> Response | None:
    """``before_request``: sign-in, account setup, then role; anything else is refused."""
    endpoint = request.endpoint
    if endpoint is None or endpoint in PUBLIC_ENDPOINTS:
        return None  # unknown URLs become 404/405 without revealing anything
    if not current_user.is_authenticated:
        ended = current_app.extensions.get(ENDED_SESSION_HANDLER)
        answer = ended() if ended is not None else None
        if answer is not None:
            return answer  # "your session ended", and a form sent just then kept for its author
        if request.method == "GET":
            return redirect(url_for("auth.login"))
        abort(403)
    step = setup_step(current_user)
    if step is not None and endpoint not in SETUP_ENDPOINTS:
        if request.method == "GET":
            return redirect(url_for(step))
        abort(403)
    if current_user.role not in allowed_roles(endpoint):
        abort(403)
    if getattr(current_user, "records_held_since", None) is not None and endpoint not in HELD_ENDPOINTS:
        # An admin reset this collaborator's sign-in: no client record until a second person confirms.
        if request.method == "GET":
            return redirect(url_for("approvals.held"))
        abort(403)
    return None
