"""Field encryption: AES-256-GCM with a per-field key and row-bound associated data.

Stored form: ``cw1.<key id>.<base64url(nonce || ciphertext+tag)>``.

* per-field key = HKDF-SHA256(data key, info = b"<table>.<column>")
* associated data = b"cw1|<table>|<column>|<row id>|<key id>", so a value
  copied to another row or column, or relabelled with another key id, fails
  authentication instead of decrypting.
* a fresh 12-byte random nonce per value: equal plaintexts never look equal.
"""

from __future__ import annotations

import base64
import binascii
import os
import time

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from casework.crypto.keyring import Keyring
from casework.errors import FieldIntegrityError, KeyringError

FORMAT_VERSION = "cw1"
NONCE_BYTES = 12
HKDF_SALT = b"casework/field-encryption/v1"


def derive_key(root: bytes, info: str, salt: bytes) -> bytes:
    """HKDF-SHA256 of a 32-byte key for one purpose."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info.encode()).derive(root)


def key_id_of(token: str) -> str | None:
    """The key id a stored value was encrypted with, or None if it is not ours."""
    parts = token.split(".", 2)
    if len(parts) != 3 or parts[0] != FORMAT_VERSION:
        return None
    return parts[1]


class FieldCipher:
    """Encrypts and decrypts one column value at a time, bound to its row.

    Running processes follow key rotation on their own: at most every
    ``RELOAD_EVERY`` seconds the keyring folder is checked and, if the primary
    key or the set of data keys changed, reloaded. So after ``keys rotate`` no
    process keeps writing under the old key for longer than that (``keys retire``
    waits out the same interval before it checks).
    """

    RELOAD_EVERY = 1.0

    def __init__(self, keyring: Keyring) -> None:
        self._keyring = keyring
        self._stamp = keyring.stamp()
        self._checked_at = time.monotonic()
        self._aead: dict[tuple[str, str, str], AESGCM] = {}

    def _refresh(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._checked_at < self.RELOAD_EVERY:
            return
        self._checked_at = now
        stamp = self._keyring.stamp()
        if stamp == self._stamp:
            return
        try:
            self._keyring = self._keyring.reload()
        except KeyringError:
            return  # a rotation half-way through: keep the keys we have, look again soon
        self._stamp = stamp

    @property
    def primary_key_id(self) -> str:
        self._refresh()
        return self._keyring.primary_id

    def _cipher(self, key_id: str, table: str, column: str) -> AESGCM:
        slot = (key_id, table, column)
        aead = self._aead.get(slot)
        if aead is None:
            data_key = self._keyring.data_keys[key_id]
            aead = AESGCM(derive_key(data_key, f"{table}.{column}", HKDF_SALT))
            self._aead[slot] = aead
        return aead

    @staticmethod
    def _aad(table: str, column: str, row_id: str, key_id: str) -> bytes:
        return f"{FORMAT_VERSION}|{table}|{column}|{row_id}|{key_id}".encode()

    def encrypt(self, plaintext: str, *, table: str, column: str, row_id: str) -> str:
        self._refresh()
        key_id = self._keyring.primary_id
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._cipher(key_id, table, column).encrypt(
            nonce, plaintext.encode("utf-8"), self._aad(table, column, row_id, key_id)
        )
        body = base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=").decode("ascii")
        return f"{FORMAT_VERSION}.{key_id}.{body}"

    def decrypt(self, token: str, *, table: str, column: str, row_id: str) -> str:
        """Return the plaintext or raise FieldIntegrityError; never return a wrong value."""
        key_id = key_id_of(token)
        if key_id is not None and key_id not in self._keyring.data_keys:
            self._refresh(force=True)  # written by a process that already rotated
        if key_id is None or key_id not in self._keyring.data_keys:
            raise FieldIntegrityError(table, column, str(row_id))
        body = token.split(".", 2)[2]
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            plain = self._cipher(key_id, table, column).decrypt(
                raw[:NONCE_BYTES], raw[NONCE_BYTES:], self._aad(table, column, row_id, key_id)
            )
            return plain.decode("utf-8")
        except (InvalidTag, binascii.Error, ValueError):
            raise FieldIntegrityError(table, column, str(row_id)) from None

    def reencrypt(self, token: str, *, table: str, column: str, row_id: str) -> str | None:
        """Re-encrypt under the primary key; None when already there (nothing to write)."""
        if key_id_of(token) == self._keyring.primary_id:
            return None
        plain = self.decrypt(token, table=table, column=column, row_id=row_id)
        return self.encrypt(plain, table=table, column=column, row_id=row_id)
