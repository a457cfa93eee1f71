"""Keyed seals: what someone who can write to the database, but holds no key, cannot forge.

* A **row seal** is HMAC-SHA256 over the columns of a row that decide who may see what (owner,
  role, organisation, password hash, second factor, share-phone…) and over every ciphertext the
  row holds. A value changed by hand, a row id swapped, or one ciphertext put back from an older
  copy of the row no longer matches; the application refuses the row when it loads it.
* An **audit seal** is HMAC-SHA256 over one audit row's chain hash: the SHA-256 chain shows any
  change to a row, the seal shows that the chain was written by casework and not recomputed.

Both keys are derived (HKDF, their own salt and purpose) from the keyring's index root, the key
that already serves keyed hashes and never leaves the keyring folder.

Not covered: a whole row put back, seal and all, to an earlier state of the same row (an old
password hash after a reset, a co-assignment that was removed). That needs a record kept outside
the database; the audit log (with its recorded head) is where such a change shows.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from casework.crypto.fields import derive_key

SEAL_SALT = b"casework/seal/v1"
RECOVERY_PREFIX = "hm1$"


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return "dt:" + value.isoformat(timespec="microseconds")
    if isinstance(value, date):
        return "d:" + value.isoformat()
    if value is None or isinstance(value, bool | int | str):
        return value
    raise TypeError(f"a sealed column holds {type(value).__name__}, which has no canonical form")


class Sealer:
    """Computes and checks row seals and audit seals; keys are derived once."""

    def __init__(self, root: bytes) -> None:
        self._row_key = derive_key(root, "row-seal", SEAL_SALT)
        self._audit_key = derive_key(root, "audit-seal", SEAL_SALT)
        self._pseudonym_key = derive_key(root, "provider-client-code", SEAL_SALT)
        self._recovery_key = derive_key(root, "recovery-code", SEAL_SALT)

    def row(self, table: str, values: Mapping[str, Any]) -> str:
        payload = json.dumps([table, {k: _plain(v) for k, v in values.items()}],
                             sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hmac.new(self._row_key, payload.encode("utf-8"), hashlib.sha256).hexdigest()

    def row_holds(self, table: str, values: Mapping[str, Any], seal: str | None) -> bool:
        return seal is not None and hmac.compare_digest(self.row(table, values), seal)

    def audit(self, chain_hash: str) -> str:
        return hmac.new(self._audit_key, chain_hash.encode("ascii"), hashlib.sha256).hexdigest()

    def pseudonym(self, organisation_id: str, client_id: str) -> bytes:
        """A keyed digest naming one client to one organisation (casework.codes.provider_client_code)."""
        return hmac.new(self._pseudonym_key, f"{organisation_id}|{client_id}".encode(), hashlib.sha256).digest()

    def recovery_code(self, user_id: str, code: str) -> str:
        """The stored form of one recovery code. The codes are random (49 bits), so a keyed hash is
        enough: guessing needs the key, and whoever holds the keys can read the TOTP secrets anyway.
        It takes microseconds, where ten argon2 hashes took seconds at every sign-in."""
        digest = hmac.new(self._recovery_key, f"{user_id}|{code}".encode("ascii"), hashlib.sha256).hexdigest()
        return RECOVERY_PREFIX + digest

    def audit_holds(self, chain_hash: str, seal: str | None) -> bool:
        return seal is not None and hmac.compare_digest(self.audit(chain_hash), seal)
