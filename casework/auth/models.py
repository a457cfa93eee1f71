from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casework.db import Base, Encrypted, new_id, utcnow


class User(Base):
    """A staff account. Staff details are not client data and are stored plainly."""

    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    work_phone: Mapped[str | None] = mapped_column(String(32))
    role: Mapped[str] = mapped_column(String(16))
    organisation_id: Mapped[str | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT"), index=True
    )
    locale: Mapped[str] = mapped_column(String(5), default="vi")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=True)
    totp_secret_enc: Mapped[str | None] = mapped_column(Text)
    totp_pending_enc: Mapped[str | None] = mapped_column(Text)
    totp_last_counter: Mapped[int | None] = mapped_column(BigInteger)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime)
    # Locks in a row since the last successful sign-in: each one lasts twice as long (casework.auth.services).
    lockouts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Set when an admin reset this collaborator's password or second factor: the account signs in,
    # but reaches no client record until a second person confirms the recovery (casework.approvals).
    records_held_since: Mapped[datetime | None] = mapped_column(DateTime)
    seal: Mapped[str | None] = mapped_column(String(64))

    # What signs in and what the account may reach (casework.db); names and counters are not sealed.
    __sealed__ = ("username", "role", "organisation_id", "active", "password_hash", "must_change_password",
                  "totp_last_counter", "records_held_since")

    totp_secret = Encrypted()
    totp_pending = Encrypted()

    organisation = relationship("Organisation", lazy="joined")

    @property
    def has_second_factor(self) -> bool:
        return self.totp_secret_enc is not None

    # Flask-Login's user protocol
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        return self.id


class RecoveryCode(Base):
    """A one-time second-factor recovery code, stored only as an argon2 hash."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(255))
    used_at: Mapped[datetime | None] = mapped_column(DateTime)


class UserSession(Base):
    """A signed-in session, kept on the server so it can be ended from anywhere.

    The cookie carries a random token; only its SHA-256 is stored, so a copy
    of the database does not let anyone take over a session.
    """

    __tablename__ = "user_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256(token)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Why it ended: "idle" (no request for the idle limit) is the one case whose last form is kept.
    ended_by: Mapped[str | None] = mapped_column(String(12))


class HeldForm(Base):
    """A form posted just after its session ran out of idle time, kept for its author to send again
    after signing in. The fields are encrypted (they may be a case note); the row lives minutes
    (``expires_at``), and is deleted once sent again or discarded. Never in a cookie or a URL."""

    __tablename__ = "held_forms"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    path: Mapped[str] = mapped_column(String(300))
    fields_enc: Mapped[str | None] = mapped_column(Text)
    held_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime, index=True)

    fields = Encrypted()
