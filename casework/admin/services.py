"""Account and organisation administration: the operations behind the admin screens and the CLI.

Every operation writes its audit entry (ids and codes only, never a password
or a second-factor secret) in the caller's transaction; the caller commits once.
Changes that alter what a person may do end their sessions (docs/DESIGN.md §7).
"""

from __future__ import annotations

import secrets

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from casework.audit import record
from casework.auth import passwords
from casework.auth import services as auth_services
from casework.auth.models import User
from casework.db import new_id
from casework.directory.models import Organisation
from casework.errors import CaseworkError

ROLES = ("collaborator", "provider", "supervisor", "admin")
LOCALES = ("vi", "en")
# Crockford-like alphabet without look-alikes, for passwords read aloud or copied by hand.
ONE_TIME_ALPHABET = "abcdefghjkmnpqrstvwxyz23456789"
ONE_TIME_GROUPS = 4
ONE_TIME_GROUP_LENGTH = 4


class AccountError(CaseworkError):
    """An account change that cannot be made; ``code`` says why (translated by the view)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def one_time_password() -> str:
    """A random password (about 78 bits) the person replaces at first sign-in."""
    groups = ("".join(secrets.choice(ONE_TIME_ALPHABET) for _ in range(ONE_TIME_GROUP_LENGTH))
              for _ in range(ONE_TIME_GROUPS))
    return "-".join(groups)


def _audit(session: Session, action: str, actor: User | None, object_type: str, object_id: str,
           **details: object) -> None:
    record(session, action, actor_id=actor.id if actor else None,
           actor_role=actor.role if actor else "cli", object_type=object_type, object_id=object_id,
           details=details)


def _checked_organisation(session: Session, role: str, organisation_id: str | None) -> str | None:
    """Providers belong to exactly one organisation; nobody else belongs to one."""
    if role != "provider":
        return None
    if not organisation_id or session.get(Organisation, organisation_id) is None:
        raise AccountError("provider_needs_organisation")
    return organisation_id


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
    if locale not in LOCALES:
        raise AccountError("unknown_locale")
    if not username or not username.replace(".", "").replace("_", "").replace("-", "").isalnum():
        raise AccountError("bad_username")
    if session.scalar(select(User.id).where(User.username == username)):
        raise AccountError("username_taken")
    organisation_id = _checked_organisation(session, role, organisation_id)
    user = User(
        id=new_id(), username=username, display_name=display_name.strip(), role=role,
        organisation_id=organisation_id, work_phone=(work_phone or None), locale=locale,
        password_hash=passwords.hash_password(password), must_change_password=True, active=True,
        failed_logins=0,
    )
    session.add(user)
    session.flush()
    _audit(session, "admin.user_created", actor, "user", user.id, role=role)
    return user


def _active_admins(session: Session) -> int:
    return session.scalar(
        select(func.count()).select_from(User).where(User.role == "admin", User.active.is_(True))
    ) or 0


def _refuse_self_lockout(session: Session, actor: User | None, user: User) -> None:
    """An administrator cannot remove their own access, nor the last active administrator."""
    if actor is not None and actor.id == user.id:
        raise AccountError("not_yourself")
    if user.role == "admin" and user.active and _active_admins(session) <= 1:
        raise AccountError("last_admin")


def update_details(session: Session, actor: User, user: User, *, display_name: str,
                   work_phone: str | None, locale: str) -> None:
    """Name, work phone and language: nothing that changes access, so sessions stay."""
    if locale not in LOCALES:
        raise AccountError("unknown_locale")
    changed = sorted(
        name for name, old, new in (
            ("display_name", user.display_name, display_name.strip()),
            ("work_phone", user.work_phone, work_phone or None),
            ("locale", user.locale, locale),
        ) if old != new
    )
    if not changed:
        return
    user.display_name = display_name.strip()
    user.work_phone = work_phone or None
    user.locale = locale
    _audit(session, "admin.user_updated", actor, "user", user.id, fields=",".join(changed))


def change_access(session: Session, actor: User, user: User, *, role: str,
                  organisation_id: str | None) -> bool:
    """Change role and organisation; any change ends the person's sessions. Returns whether changed."""
    if role not in ROLES:
        raise AccountError("unknown_role")
    organisation_id = _checked_organisation(session, role, organisation_id)
    if role == user.role and organisation_id == user.organisation_id:
        return False
    if role != user.role:
        _refuse_self_lockout(session, actor, user)
    old_role = user.role
    user.role = role
    user.organisation_id = organisation_id
    auth_services.revoke_all_sessions(session, user, "role_change")
    _audit(session, "admin.user_access_changed", actor, "user", user.id,
           old_role=old_role, new_role=role, organisation_id=organisation_id)
    return True


def deactivate(session: Session, actor: User, user: User) -> None:
    if not user.active:
        return
    _refuse_self_lockout(session, actor, user)
    user.active = False
    auth_services.revoke_all_sessions(session, user, "deactivation")
    _audit(session, "admin.user_deactivated", actor, "user", user.id)


def reactivate(session: Session, actor: User, user: User) -> None:
    if user.active:
        return
    user.active = True
    user.failed_logins = 0
    user.locked_until = None
    user.lockouts = 0
    _audit(session, "admin.user_reactivated", actor, "user", user.id)


def reset_password(session: Session, actor: User, user: User) -> str:
    """A new one-time password (returned to show once); the person must change it at sign-in."""
    password = one_time_password()
    auth_services.set_password(session, user, password, by=actor)
    user.failed_logins = 0
    user.locked_until = None
    user.lockouts = 0
    _hold_records(session, actor, user)
    return password


def reset_second_factor(session: Session, actor: User, user: User) -> None:
    """Remove the second factor; the person enrols a new one at their next sign-in."""
    auth_services.reset_second_factor(session, user, by=actor)
    _hold_records(session, actor, user)


def _hold_records(session: Session, actor: User, user: User) -> None:
    """Whoever resets a collaborator's sign-in could sign in as them: their records wait for a
    second person to confirm the recovery (see casework.approvals)."""
    from casework.approvals.services import hold_records

    hold_records(session, actor, user)


def revoke_sessions(session: Session, actor: User, user: User) -> None:
    auth_services.revoke_all_sessions(session, user, "admin_request")
    _audit(session, "admin.sessions_revoked", actor, "user", user.id)
