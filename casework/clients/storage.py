"""Storing and finding clients: encryption and the UIC blind index in one place."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from casework import codes
from casework.clients import uic as uic_rules
from casework.clients.models import BlindIndexWidth, Client
from casework.crypto import BlindIndexer, FieldCipher
from casework.db import new_id
from casework.errors import ConfigError


def canonical_uic(raw: str, session: Session | None = None) -> str:
    """The stored, indexed and compared form of a UIC however it was typed, under the rules of the
    session's installation (casework.clients.uic)."""
    return (uic_rules.rules_of(session) if session is not None else uic_rules.DEFAULT).canonical(raw)

UIC_INDEX = ("clients", "uic_enc", "uic")
UIC_INDEX_NAME = ".".join(UIC_INDEX)


def built_width(session: Session) -> int | None:
    """The width the stored UIC index was built with (None: not recorded yet)."""
    return session.scalar(select(BlindIndexWidth.bits).where(BlindIndexWidth.name == UIC_INDEX_NAME))


def record_width(session: Session, bits: int) -> None:
    """Note that the UIC index is now built at ``bits`` (first start, ``keys reindex``)."""
    row = session.get(BlindIndexWidth, UIC_INDEX_NAME)
    if row is None:
        session.add(BlindIndexWidth(name=UIC_INDEX_NAME, bits=bits))
    else:
        row.bits = bits


def check_width(session: Session, bits: int) -> None:
    """Refuse to work at another width than the index was built with; record it the first time."""
    built = built_width(session)
    if built is None:
        record_width(session, bits)  # a new database, or one from before widths were recorded
    elif built != bits:
        raise ConfigError(
            f"CASEWORK_BLIND_INDEX_BITS is {bits}, but the UIC index in the database was built with {built} "
            f"bits, so every UIC lookup would find nothing: run `casework keys reindex` to rebuild it at "
            f"{bits} bits, or set CASEWORK_BLIND_INDEX_BITS={built}"
        )


def uic_index(session: Session, canonical: str) -> int:
    indexer: BlindIndexer = session.info["indexer"]
    table, column, name = UIC_INDEX
    return indexer.index(canonical, table=table, column=column, name=name)


def set_uic(session: Session, client: Client, raw: str | None) -> None:
    """Store the UIC in canonical form with its blind index (None: declined)."""
    if raw is None or not canonical_uic(raw, session):
        client.uic = None
        client.uic_bidx = None
        client.uic_declined = True
        return
    canonical = canonical_uic(raw, session)
    client.uic = canonical
    client.uic_bidx = uic_index(session, canonical)
    client.uic_declined = False


def new_client(session: Session, *, owner_id: str, uic: str | None, **fields: Any) -> Client:
    """Create a client with a fresh display code; the caller commits."""
    client = Client(
        id=new_id(), owner_id=owner_id, display_code=_unused_display_code(session), **fields
    )
    session.add(client)
    set_uic(session, client, uic)
    return client


def _unused_display_code(session: Session) -> str:
    while True:
        code = codes.display_code()
        if session.scalar(select(Client.id).where(Client.display_code == code)) is None:
            return code


def find_ids_by_uic(session: Session, raw: str) -> list[str]:
    """Ids of clients whose UIC has the same canonical form.

    Reads only the rows sharing the blind index value and decrypts just those;
    the truncated index makes false candidates, which the comparison drops.
    """
    canonical = canonical_uic(raw, session)
    if not canonical:
        return []
    cipher: FieldCipher = session.info["cipher"]
    clients = Client.__table__  # Core columns: the ORM layer would only add per-row overhead here
    rows = session.execute(
        select(clients.c.id, clients.c.uic_enc).where(clients.c.uic_bidx == uic_index(session, canonical))
    ).all()
    table, column, _ = UIC_INDEX
    matches = []
    for row_id, token in rows:
        if token is None:
            continue
        # A failed candidate raises FieldIntegrityError: tampering is never a silent "no match".
        if cipher.decrypt(token, table=table, column=column, row_id=row_id) == canonical:
            matches.append(row_id)
    return matches
