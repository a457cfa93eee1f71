"""Password hashing (argon2id) and the password rules (docs/DESIGN.md §7)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from argon2.low_level import Type

# At or above OWASP's minimum for argon2id (19 MiB, t=2, p=1).
ARGON2_TIME_COST = 3
ARGON2_MEMORY_COST_KIB = 64 * 1024
ARGON2_PARALLELISM = 1
MIN_PASSWORD_LENGTH = 12
COMMON_PASSWORDS_FILE = Path(__file__).with_name("common-passwords.txt")
# Runs along the alphabet or a keyboard row, which guessers try right after the word lists.
KEYBOARD_RUNS = ("abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz",
                 "qwertyuiopasdfghjklzxcvbnmqwertyuiopasdfghjklzxcvbnm",
                 "zyxwvutsrqponmlkjihgfedcbazyxwvutsrqponmlkjihgfedcba")

hasher = PasswordHasher(
    time_cost=ARGON2_TIME_COST,
    memory_cost=ARGON2_MEMORY_COST_KIB,
    parallelism=ARGON2_PARALLELISM,
    type=Type.ID,
)

# Verified against when the username is unknown, so both cases take the same time.
_DUMMY_HASH: list[str] = []


def hash_password(password: str) -> str:
    return hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    if stored is None:
        if not _DUMMY_HASH:
            _DUMMY_HASH.append(hasher.hash("casework-timing-equaliser"))
        stored = _DUMMY_HASH[0]
        try:
            hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            pass
        return False
    try:
        return hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return hasher.check_needs_rehash(stored)


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def password_problem(password: str, *, username: str = "") -> str | None:
    """A code for what is wrong with a new password, or None if it is acceptable."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return "too_short"
    lowered = password.lower()
    core = lowered.strip("0123456789!@#$%^&*()-_=+.,?~ ")
    if not core or lowered in common_passwords() or core in common_passwords():
        return "too_common"  # digits and symbols alone (dates, phone numbers) are guessed first
    if any(lowered in run for run in KEYBOARD_RUNS):
        return "too_common"
    if username and username.lower() in lowered:
        return "too_common"
    if len(set(password)) < 4:
        return "too_common"
    return None
