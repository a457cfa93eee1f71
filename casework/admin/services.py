"""Account administration: the operations behind the admin screens and the CLI."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from casework.audit import record
from casework.auth import passwords
from casework.auth.models import User
from casework.db import new_id
from casework.directory.models import Organisation
from casework.errors import CaseworkError

ROLES = ("collaborator", "provider", "supervisor", "admin")


class AccountError(CaseworkError):
    """An account change that cannot be made; ``code`` says why (translated by the view)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def create_account(
    session: Session,
    actor: User | None,
    *,
    username: str,
    display_name: str,
    role: str,
    password: str,
    organisation_id: str | None = None,
    work_phone: str | None = None,
    locale: str = "vi",
) -> User:
    """Create an account that must set its own password at first sign-in."""
    username = username.strip().lower()
    if role not in ROLES:
        raise AccountError("unknown_role")
    if not username or not username.replace(".", "").replace("_", "").replace("-", "").isalnum():
        raise AccountError("bad_username")
    if session.scalar(select(User.id).where(User.username == username)):
        raise AccountError("username_taken")
    if role == "provider":
        if not organisation_id or session.get(Organisation, organisation_id) is None:
            raise AccountError("provider_needs_organisation")
    else:
        organisation_id = None
    user = User(
        id=new_id(), username=username, display_name=display_name.strip(), role=role,
        organisation_id=organisation_id, work_phone=(work_phone or None), locale=locale,
        password_hash=passwords.hash_password(password), must_change_password=True, active=True,
        failed_logins=0,
    )
    session.add(user)
    session.flush()
    record(session, "admin.user_created", actor_id=actor.id if actor else None,
           actor_role=actor.role if actor else "cli", object_type="user", object_id=user.id,
           details={"role": role})
    return user
