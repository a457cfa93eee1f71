"""Blind indexes: searching an encrypted value without decrypting the table.

``blind_index`` = HMAC-SHA256(key derived from the index root for
``table.column.index``, canonical value), truncated to L bits. Many values
share each index value on purpose (CipherSweet's rule 2 <= R/2^L < sqrt(R)),
so the index alone never singles anyone out; callers fetch the candidates and
compare after decrypting them.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata

from casework.crypto.fields import derive_key
from casework.crypto.keyring import Keyring

INDEX_SALT = b"casework/blind-index/v1"
_D_WITH_STROKE = str.maketrans({"đ": "d", "Đ": "D", "Ð": "D", "ð": "d"})


def canonical_uic(raw: str) -> str:
    """The form a UIC is compared and hashed in (docs/DESIGN.md §2).

    NFC, then Vietnamese diacritics removed (đ/Đ, and its look-alike Ð, → D), upper case, and every
    character that is not a letter or digit dropped. ``"Nguyễn "``,
    ``"NGUYEN"`` and ``"nguyen"`` all become ``"NGUYEN"``.
    """
    # Ð (U+00D0, eth) looks the same as Đ and comes out of legacy Vietnamese encodings; ð is its lower case.
    text = unicodedata.normalize("NFC", raw).translate(_D_WITH_STROKE)
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    upper = unicodedata.normalize("NFC", stripped).upper()
    return "".join(ch for ch in upper if ch.isascii() and ch.isalnum())


def bits_bounds(rows: int) -> tuple[int, int]:
    """Smallest and largest L that keep 2 <= rows/2^L < sqrt(rows).

    In integers: rows < 4^L (so L >= ceil(bit_length/2)) and 2^(L+1) <= rows
    (so L <= bit_length - 2); exact for any row count, unlike float logarithms.
    Below 8 rows no width satisfies the rule and (1, 1) is returned.
    """
    if rows < 8:
        return (1, 1)
    length = rows.bit_length()
    return ((length + 1) // 2, length - 2)


class BlindIndexer:
    """Computes truncated keyed hashes; derived keys are made once and kept."""

    def __init__(self, keyring: Keyring, bits: int) -> None:
        self._root = keyring.index_root
        self.root = keyring.index_root  # also the root of the row and audit seals (casework.crypto.seal)
        self.bits = bits
        self._keys: dict[str, bytes] = {}

    def _key(self, name: str) -> bytes:
        key = self._keys.get(name)
        if key is None:
            key = derive_key(self._root, name, INDEX_SALT)
            self._keys[name] = key
        return key

    def index(self, canonical: str, *, table: str, column: str, name: str) -> int:
        digest = hmac.new(
            self._key(f"{table}.{column}.{name}"), canonical.encode("utf-8"), hashlib.sha256
        ).digest()
        return int.from_bytes(digest[:4], "big") >> (32 - self.bits)
