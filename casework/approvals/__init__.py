"""Changes of who may read a client's record, decided by two people (separation of duties).

An admin proposes a caseload move (whole or one client) or a co-assignment; it takes effect only
when a second person, a supervisor or another admin, approves it. An admin's reset of a
collaborator's password or second factor holds that account's records until a second person
confirms the recovery. Both sides see collaborators' names and counts, never client contents,
and the collaborator who loses or regains access is told on their own page.
"""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    from casework.approvals.views import bp

    app.register_blueprint(bp)
    app.context_processor(_approvals_context)


def _approvals_context() -> dict[str, object]:
    """The menu badge for approvers, and the notices function the caseload page calls."""
    from flask_login import current_user
    from sqlalchemy import inspect

    if not getattr(current_user, "is_authenticated", False) or inspect(current_user).detached:
        return {}
    from casework.approvals import services
    from casework.runtime import db_session

    if current_user.role in services.APPROVERS:
        return {"badges": {"approvals": services.pending_count(db_session())}}
    if current_user.role == "collaborator":
        from casework.approvals import labels

        return {"access_notices": lambda: services.notices_for(db_session(), current_user._get_current_object()),
                "access_labels": labels}
    return {}
