"""Random public codes in Crockford base32 (no I, L, O, U; nothing meaningful inside)."""

from __future__ import annotations

import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CHECK_ALPHABET = ALPHABET + "*~$=U"  # Crockford check symbols, value mod 37
_DECODE = {ch: i for i, ch in enumerate(ALPHABET)} | {"O": 0, "I": 1, "L": 1}


def _random_group(length: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def display_code() -> str:
    """A client's display code, e.g. ``KH-7Q2K-9XDM`` (40 random bits)."""
    return f"KH-{_random_group(4)}-{_random_group(4)}"


def provider_client_code(digest: bytes) -> str:
    """How one organisation's staff see a client, e.g. ``DV-3M8Q-XK2T``: 40 bits of a keyed digest
    of (organisation, client), so the same person has another code at every organisation."""
    value = int.from_bytes(digest[:5], "big")
    chars = "".join(ALPHABET[(value >> shift) & 31] for shift in range(35, -1, -5))
    return f"DV-{chars[:4]}-{chars[4:]}"


def check_symbol(body: str) -> str:
    value = 0
    for ch in body:
        value = value * 32 + _DECODE[ch]
    return CHECK_ALPHABET[value % 37]


def referral_code() -> str:
    """A referral code, e.g. ``RF-7K3M-Q2XP`` with the last character a mod-37 check."""
    body = _random_group(7)
    full = body + check_symbol(body)
    return f"RF-{full[:4]}-{full[4:]}"


def normalise_referral_code(raw: str) -> str | None:
    """Read a typed code leniently (case, spaces, O/0, I/L/1); None if the check fails."""
    text = "".join(ch for ch in raw.upper() if ch.isalnum() or ch in "*~$=")
    if text.startswith("RF"):
        text = text[2:]
    if len(text) != 8:
        return None
    body = "".join(ALPHABET[_DECODE[ch]] if ch in _DECODE else "?" for ch in text[:7])
    check = text[7]
    if "?" in body or (check not in CHECK_ALPHABET and check not in _DECODE):
        return None
    if check in ("O", "I", "L"):
        check = ALPHABET[_DECODE[check]]
    if check_symbol(body) != check:
        return None
    return f"RF-{body[:4]}-{body[4:]}{check}"
