"""Field encryption as an attacker holding the database (but not the keys) sees it.

docs/DESIGN.md §3: AES-256-GCM per value with a fresh nonce, a per-field key, and
associated data binding version|table|column|row id|key id. What leaves the
process is ciphertext only; a value moved or altered does not decrypt.
"""

from __future__ import annotations

import secrets
import unicodedata
from pathlib import Path

import pytest
from conftest import BACKEND, raw_database_bytes
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from casework.clients.models import Client
from casework.clients.storage import new_client
from casework.crypto import canonical_uic
from casework.errors import FieldIntegrityError


def _sentinels() -> dict[str, str]:
    """Values no other test stores: a random tag makes any hit ours."""
    tag = secrets.token_hex(4).upper()
    return {
        "alias": f"Nguyễn Thị Sentinel-Ánh {tag}",
        "phone": "0912 345 678",
        "uic": f"Đỗ Hương 1994 f {tag}",
        "residence": f"Ngõ {tag} phố Hàng Bạc, Hoàn Kiếm",
        "birth_year": "1994",
    }


def _store(database, owner_id: str, values: dict[str, str]) -> tuple[str, str]:
    with database.transaction() as session:
        client = new_client(
            session, owner_id=owner_id, uic=values["uic"], alias=values["alias"],
            phone=values["phone"], residence=values["residence"], birth_year=values["birth_year"],
        )
        return client.id, client.display_code


def _forbidden_byte_strings(values: dict[str, str]) -> dict[str, bytes]:
    """Every way the sentinels could sit in a file: NFC, NFD, canonical UIC, bare digits."""
    needles: dict[str, bytes] = {}
    for field_name in ("alias", "uic", "residence"):
        value = values[field_name]
        needles[f"{field_name} (NFC)"] = unicodedata.normalize("NFC", value).encode()
        needles[f"{field_name} (NFD)"] = unicodedata.normalize("NFD", value).encode()
    needles["tag"] = values["alias"].rsplit(" ", 1)[1].encode()
    needles["alias ASCII part"] = b"Sentinel-"
    needles["phone"] = values["phone"].encode()
    needles["phone digits"] = values["phone"].replace(" ", "").encode()
    needles["canonical UIC"] = canonical_uic(values["uic"]).encode()
    return needles


def _bytes_at_rest(database_url: str) -> bytes:
    if BACKEND == "sqlite":
        path = Path(make_url(database_url).database)
        wal = path.with_name(path.name + "-wal")
        assert wal.exists(), "WAL mode is expected: the -wal file holds the newest pages"
        return path.read_bytes() + wal.read_bytes()
    return raw_database_bytes(database_url)


def test_no_identifying_value_is_stored_in_plaintext(database, database_url, make_user):
    # Given two clients stored through the storage layer with sentinel values, committed
    owner = make_user("collaborator")
    values = _sentinels()
    client_id, display_code = _store(database, owner.user_id, values)
    _store(database, owner.user_id, _sentinels())

    # When an attacker reads the database files (SQLite + WAL) or a pg_dump of it
    at_rest = _bytes_at_rest(database_url)

    # Then the plain display code is there (the scan sees the data) but no sentinel is
    assert display_code.encode() in at_rest
    found = [name for name, needle in _forbidden_byte_strings(values).items() if needle in at_rest]
    assert found == []
    # And the values come back intact through the model
    with database.transaction() as session:
        client = session.get(Client, client_id)
        assert (client.alias, client.phone, client.residence, client.birth_year) == (
            values["alias"], values["phone"], values["residence"], values["birth_year"])
        assert client.uic == canonical_uic(values["uic"])


def test_equal_values_never_look_equal(database, make_user):
    # Given two clients with the same alias and phone
    owner = make_user("collaborator")
    values = _sentinels()
    first, _ = _store(database, owner.user_id, values)
    second, _ = _store(database, owner.user_id, values)

    # When the stored columns are read raw
    with database.transaction() as session:
        rows = {r.id: r for r in session.execute(
            select(Client.id, Client.alias_enc, Client.phone_enc).where(Client.id.in_([first, second])))}
        again = [database.cipher.encrypt("same", table="clients", column="alias_enc", row_id=first)
                 for _ in range(2)]

    # Then every ciphertext differs, even for the same row and value
    assert rows[first].alias_enc != rows[second].alias_enc
    assert rows[first].phone_enc != rows[second].phone_enc
    assert again[0] != again[1]
    assert all(token.startswith(f"cw1.{database.cipher.primary_key_id}.") for token in again)


def _raw_update(database, sql: str, **params: str) -> None:
    with database.transaction() as session:
        assert session.execute(text(sql), params).rowcount == 1


def _read_alias(database, client_id: str, attribute: str = "alias") -> str:
    with database.transaction() as session:
        return getattr(session.get(Client, client_id), attribute)


def test_ciphertext_copied_to_another_row_does_not_decrypt(database, make_user):
    # Given two clients; the attacker copies the victim's alias ciphertext onto the other row
    owner = make_user("collaborator")
    victim, _ = _store(database, owner.user_id, _sentinels())
    other, _ = _store(database, owner.user_id, _sentinels())
    with database.transaction() as session:
        token = session.scalar(select(Client.alias_enc).where(Client.id == victim))
    _raw_update(database, "UPDATE clients SET alias_enc = :t WHERE id = :i", t=token, i=other)

    # When the other client's alias is read, Then it is an integrity error naming only the place: the
    # row's seal refuses it first, and the ciphertext itself, bound to its row, would not decrypt either
    with pytest.raises(FieldIntegrityError) as caught:
        _read_alias(database, other)
    assert (caught.value.table, caught.value.column, caught.value.row_id) == ("clients", "seal", other)
    with pytest.raises(FieldIntegrityError) as caught:
        database.cipher.decrypt(token, table="clients", column="alias_enc", row_id=other)
    assert (caught.value.table, caught.value.column, caught.value.row_id) == ("clients", "alias_enc", other)
    assert "Sentinel" not in str(caught.value) and token not in str(caught.value)
    # And the victim's own value still reads
    assert _read_alias(database, victim).startswith("Nguyễn Thị Sentinel-Ánh")


def test_ciphertext_copied_to_another_column_does_not_decrypt(database, make_user):
    # Given a client whose alias ciphertext is copied into its own phone column
    owner = make_user("collaborator")
    client_id, _ = _store(database, owner.user_id, _sentinels())
    _raw_update(database, "UPDATE clients SET phone_enc = alias_enc WHERE id = :i", i=client_id)

    # When the phone is read, Then it fails its integrity check instead of showing the alias
    with pytest.raises(FieldIntegrityError):
        _read_alias(database, client_id, "phone")


@pytest.mark.parametrize("where", ["body", "key id", "format version"])
def test_tampered_ciphertext_does_not_decrypt(database, make_user, where):
    # Given a client whose stored alias has one character changed
    owner = make_user("collaborator")
    client_id, _ = _store(database, owner.user_id, _sentinels())
    with database.transaction() as session:
        token = session.scalar(select(Client.alias_enc).where(Client.id == client_id))
    version, key_id, body = token.split(".")
    if where == "body":
        middle = len(body) // 2  # a middle character: all six of its bits are significant
        body = body[:middle] + ("A" if body[middle] != "A" else "B") + body[middle + 1:]
    elif where == "key id":
        key_id = key_id[:-1] + ("0" if key_id[-1] != "0" else "1")
    else:
        version = "cw2"
    _raw_update(database, "UPDATE clients SET alias_enc = :t WHERE id = :i",
                t=f"{version}.{key_id}.{body}", i=client_id)

    # When it is read, Then decryption refuses rather than returning anything
    with pytest.raises(FieldIntegrityError):
        _read_alias(database, client_id)


def test_value_under_another_keyring_does_not_decrypt(database, make_user, tmp_path):
    # Given a ciphertext made for this very row and column but with a stranger's keyring
    from casework.crypto import FieldCipher, Keyring

    owner = make_user("collaborator")
    client_id, _ = _store(database, owner.user_id, _sentinels())
    Keyring.create(tmp_path / "stranger")
    stranger = FieldCipher(Keyring.load(tmp_path / "stranger", allow_example=False))
    forged = stranger.encrypt("Kẻ mạo danh", table="clients", column="alias_enc", row_id=client_id)
    forged = forged.replace(f".{stranger.primary_key_id}.", f".{database.cipher.primary_key_id}.")
    _raw_update(database, "UPDATE clients SET alias_enc = :t WHERE id = :i", t=forged, i=client_id)

    # When it is read, Then it fails: only our keys make values we accept
    with pytest.raises(FieldIntegrityError):
        _read_alias(database, client_id)
