"""Time-based one-time passwords on ``cryptography``'s two-factor module.

A code is accepted only for a time step later than the last one used, so a
code seen over someone's shoulder cannot be replayed.
"""

from __future__ import annotations

import base64
import secrets
from datetime import UTC, datetime

from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor import InvalidToken
from cryptography.hazmat.primitives.twofactor.totp import TOTP

DIGITS = 6
STEP_SECONDS = 30
DRIFT_STEPS = 1  # accept the previous and next step for clock drift
ISSUER = "casework"


def new_secret() -> str:
    """A base32 secret (160 bits), the form authenticator apps expect."""
    return base64.b32encode(secrets.token_bytes(20)).decode("ascii")


def _totp(secret: str) -> TOTP:
    # SHA-1 is what every authenticator app implements for TOTP (RFC 6238); it is an HMAC here.
    return TOTP(base64.b32decode(secret), DIGITS, SHA1(), STEP_SECONDS, enforce_key_length=False)  # noqa: S303  # RFC 6238 TOTP is HMAC-SHA1, as every authenticator app expects  # nosec B303


def provisioning_uri(secret: str, account: str) -> str:
    return _totp(secret).get_provisioning_uri(account, ISSUER)


def normalise_code(raw: str) -> str:
    return "".join(ch for ch in raw if not ch.isspace())


def matching_step(secret: str, raw_code: str, now: datetime, last_step: int | None) -> int | None:
    """The time step the code belongs to, if valid and newer than ``last_step``; else None."""
    code = normalise_code(raw_code)
    if len(code) != DIGITS or not code.isdigit():
        return None
    totp = _totp(secret)
    current = _epoch(now) // STEP_SECONDS
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if last_step is not None and step <= last_step:
            continue
        try:
            totp.verify(code.encode("ascii"), step * STEP_SECONDS)
        except InvalidToken:
            continue
        return step
    return None


def code_at(secret: str, when: datetime) -> str:
    """The code for a moment (used by tests and the enrolment preview)."""
    return _totp(secret).generate(_epoch(when)).decode("ascii")


def _epoch(moment: datetime) -> int:
    """Seconds since the epoch; naive datetimes are UTC, as everywhere in casework."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())
