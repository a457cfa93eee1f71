"""Signing in and out, lockout, sessions and second factor: the operations behind the views.

Every operation writes its audit event in the caller's transaction; the
caller commits once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from casework import clock
from casework.audit import record
from casework.auth import passwords, totp
from casework.auth.models import RecoveryCode, User, UserSession
from casework.crypto.seal import RECOVERY_PREFIX
from casework.db import begin_writing

MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)  # the first lock; each further lock in a row lasts twice as long
MAX_LOCKOUT = timedelta(hours=24)
UNDER_ATTACK_LOCKOUTS = 2  # locks in a row that the admin's user list calls an account under attack
SESSION_TOUCH_EVERY = timedelta(seconds=60)
RECOVERY_CODE_COUNT = 10


class LoginFailed(Exception):
    """Any sign-in failure. Deliberately says nothing about which check failed."""


def audit_user(session: Session, action: str, user: User | None, **details: object) -> None:
    record(session, action, actor_id=user.id if user else None,
           actor_role=user.role if user else None,
           object_type="user" if user else None, object_id=user.id if user else None,
           details=details)


def _is_locked(user: User) -> bool:
    return user.locked_until is not None and user.locked_until > clock.utcnow()


def lockout_for(lockouts_before: int) -> timedelta:
    """15 minutes for the first lock, then 30, 60, 120… up to a day: 5 guesses per lock."""
    return min(LOCKOUT * (2 ** min(lockouts_before, 10)), MAX_LOCKOUT)


def register_failure(session: Session, user: User | None, step: str) -> None:
    """Count a failed attempt; the fifth in a row locks the account, longer at each lock in a row."""
    if user is None:
        record(session, "auth.login_failed", details={"step": step, "known_user": False})
        return
    user.failed_logins += 1
    audit_user(session, "auth.login_failed", user, step=step)
    if user.failed_logins >= MAX_FAILURES:
        duration = lockout_for(user.lockouts or 0)
        user.locked_until = clock.utcnow() + duration
        user.failed_logins = 0
        user.lockouts = (user.lockouts or 0) + 1
        audit_user(session, "auth.locked", user, minutes=int(duration.total_seconds() // 60),
                   in_a_row=user.lockouts)


def lock_account(session: Session, user: User) -> None:
    """Re-read the account row and hold it until commit.

    Every check that counts failures or consumes a code runs under this lock, so
    parallel requests cannot each see "4 failures" or "code unused" (PostgreSQL: the
    row lock; SQLite: the write lock, taken here).
    """
    begin_writing(session)
    session.refresh(user, with_for_update={"of": User})


def check_password(session: Session, username: str, password: str) -> User:
    """First step. Raises LoginFailed for unknown user, wrong password, inactive or locked.

    argon2 (about 0.2 s) runs outside any transaction and lock; the account is then locked and
    read again to count the result, and a hash changed in between counts as a failure.
    """
    name = username.strip().lower()
    stored = session.scalar(select(User.password_hash).where(User.username == name))
    session.rollback()  # end the read: nobody waits while the hash is checked
    ok = passwords.verify_password(stored, password)
    rehashed = passwords.hash_password(password) if ok and passwords.needs_rehash(stored) else None
    begin_writing(session)
    user = session.scalar(
        select(User).where(User.username == name)
        .with_for_update(of=User).execution_options(populate_existing=True)
    )
    ok = ok and user is not None and user.password_hash == stored
    if user is None or not user.active:
        register_failure(session, user, "password")
        raise LoginFailed
    if _is_locked(user):
        audit_user(session, "auth.login_refused_locked", user)
        raise LoginFailed
    if not ok:
        register_failure(session, user, "password")
        raise LoginFailed
    if rehashed is not None:
        user.password_hash = rehashed
        audit_user(session, "auth.password_rehashed", user)
    return user


def reauthenticate(session: Session, user: User, password: str) -> bool:
    """Proof of the password before a sensitive change (password, second factor, recovery codes).

    A wrong password counts towards the same lockout as at sign-in, and the
    lockout ends every session of the account, so a borrowed, unlocked screen
    cannot be used to guess the password.
    """
    stored = user.password_hash
    ok = passwords.verify_password(stored, password)  # before the lock: argon2 holds nobody up
    lock_account(session, user)
    if not _is_locked(user) and ok and user.password_hash == stored:
        return True
    register_failure(session, user, "reauthentication")
    if _is_locked(user):
        revoke_all_sessions(session, user, "lockout")
    return False


def check_second_factor(session: Session, user: User, code: str) -> None:
    """Second step: a fresh TOTP code or an unused recovery code."""
    recovery = matching_recovery_code(session, user, code)  # argon2, before the lock
    lock_account(session, user)
    if _is_locked(user) or not user.active:
        raise LoginFailed
    step = None
    if user.totp_secret:
        step = totp.matching_step(user.totp_secret, code, clock.utcnow(), user.totp_last_counter)
    if step is not None:
        user.totp_last_counter = step
        return
    if recovery is not None and use_recovery_code(session, recovery):
        audit_user(session, "auth.recovery_code_used", user)
        return
    register_failure(session, user, "second_factor")
    raise LoginFailed


def matching_recovery_code(session: Session, user: User, raw: str) -> int | None:
    """The id of the unused recovery code ``raw`` is, if any (argon2 per code: call it unlocked)."""
    code = totp.normalise_code(raw).upper().replace("-", "")
    if len(code) != 10:
        return None
    keyed = session.info["sealer"].recovery_code(user.id, code)
    for candidate_id, code_hash in session.execute(
        select(RecoveryCode.id, RecoveryCode.code_hash).where(RecoveryCode.user_id == user.id,
                                                              RecoveryCode.used_at.is_(None))
    ):
        if code_hash.startswith(RECOVERY_PREFIX):
            if hmac.compare_digest(code_hash, keyed):
                return candidate_id
        elif passwords.verify_password(code_hash, code):  # made before keyed hashes: argon2
            return candidate_id
    return None


def use_recovery_code(session: Session, code_id: int) -> bool:
    """Mark the code used, unless a parallel sign-in already did (under the account's lock)."""
    done = session.execute(update(RecoveryCode).where(RecoveryCode.id == code_id, RecoveryCode.used_at.is_(None))
                           .values(used_at=clock.utcnow()))
    return done.rowcount == 1


def new_recovery_codes(session: Session, user: User) -> list[str]:
    """Replace the user's recovery codes; the plaintext is shown once and never stored."""
    session.execute(RecoveryCode.__table__.delete().where(RecoveryCode.user_id == user.id))
    alphabet = "ABCDEFGHJKMNPQRSTVWXYZ23456789"
    codes = ["".join(secrets.choice(alphabet) for _ in range(10)) for _ in range(RECOVERY_CODE_COUNT)]
    for code in codes:
        session.add(RecoveryCode(user_id=user.id, code_hash=session.info["sealer"].recovery_code(user.id, code)))
    return [f"{c[:5]}-{c[5:]}" for c in codes]


# --- sessions ----------------------------------------------------------------------


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def start_session(session: Session, user: User) -> str:
    """Create a server-side session; returns the token for the cookie."""
    token = secrets.token_urlsafe(32)
    now = clock.utcnow()
    session.add(UserSession(id=_digest(token), user_id=user.id, created_at=now, last_seen_at=now))
    user.failed_logins = 0
    user.locked_until = None
    user.lockouts = 0
    user.last_login_at = now
    audit_user(session, "auth.login", user)
    return token


@dataclass(frozen=True)
class SessionLimits:
    idle: timedelta
    absolute: timedelta


def resume_session(session: Session, token: str | None, limits: SessionLimits) -> User | None:
    """The user of a live session, or None if it is unknown, revoked, idle or too old."""
    if not token:
        return None
    row = session.get(UserSession, _digest(token))
    if row is None or row.revoked_at is not None:
        return None
    now = clock.utcnow()
    if now - row.created_at > limits.absolute:
        row.revoked_at, row.ended_by = now, "absolute"
        return None
    if now - row.last_seen_at > limits.idle:
        row.revoked_at, row.ended_by = now, "idle"
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    if now - row.last_seen_at > SESSION_TOUCH_EVERY:
        row.last_seen_at = now
    return user


def idle_ended_session_user(session: Session, token: str | None, within: timedelta) -> str | None:
    """The user whose session ``token`` ran out of idle time in the last ``within``; None for any
    other end (signed out, revoked, too old), so a cookie copied before a sign-out gains nothing."""
    if not token:
        return None
    row = session.get(UserSession, _digest(token))
    if row is None or row.ended_by != "idle" or row.revoked_at is None:
        return None
    return row.user_id if clock.utcnow() - row.revoked_at <= within else None


def end_session(session: Session, token: str | None) -> None:
    if token:
        row = session.get(UserSession, _digest(token))
        if row is not None and row.revoked_at is None:
            row.revoked_at, row.ended_by = clock.utcnow(), "logout"


def revoke_all_sessions(session: Session, user: User, reason: str) -> None:
    """End every session of the user (password, role or 2FA change, deactivation, request)."""
    session.execute(
        update(UserSession)
        .where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
        .values(revoked_at=clock.utcnow(), ended_by="revoked")
    )
    audit_user(session, "auth.sessions_revoked", user, reason=reason)


# --- changes to the account --------------------------------------------------------


def set_password(session: Session, user: User, new_password: str, *, by: User | None = None) -> None:
    """Set a password and end every session. Set by someone else (``by``), it is one-time:
    the person must choose their own at the next sign-in."""
    user.password_hash = passwords.hash_password(new_password)
    user.must_change_password = by is not None
    revoke_all_sessions(session, user, "password_change")
    if by is None:
        audit_user(session, "auth.password_changed", user)
    else:
        record(session, "auth.password_reset", actor_id=by.id, actor_role=by.role,
               object_type="user", object_id=user.id)


def begin_enrolment(user: User) -> str:
    """A new pending secret; the active one (if any) stays until a code confirms the new one."""
    secret = totp.new_secret()
    user.totp_pending = secret
    return secret


def confirm_enrolment(session: Session, user: User, code: str) -> list[str] | None:
    """Activate the pending secret if the code matches; returns new recovery codes."""
    pending = user.totp_pending
    if not pending:
        return None
    step = totp.matching_step(pending, code, clock.utcnow(), None)
    if step is None:
        audit_user(session, "auth.second_factor_confirm_failed", user)
        return None
    user.totp_secret = pending
    user.totp_pending = None
    user.totp_last_counter = step
    revoke_all_sessions(session, user, "second_factor_change")
    audit_user(session, "auth.second_factor_enrolled", user)
    return new_recovery_codes(session, user)


def reset_second_factor(session: Session, user: User, by: User) -> None:
    user.totp_secret = None
    user.totp_pending = None
    user.totp_last_counter = None
    session.execute(RecoveryCode.__table__.delete().where(RecoveryCode.user_id == user.id))
    revoke_all_sessions(session, user, "second_factor_reset")
    record(session, "auth.second_factor_reset", actor_id=by.id, actor_role=by.role,
           object_type="user", object_id=user.id)
