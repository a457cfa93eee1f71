"""Key operations that touch the database: status, rewrap and retirement checks."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.orm import Session

import casework.models  # noqa: F401  (registers every encrypted column)
from casework.crypto.blind_index import bits_bounds
from casework.crypto.fields import FORMAT_VERSION, FieldCipher
from casework.db import Database, Encrypted

REWRAP_BATCH = 2_000


def encrypted_columns() -> Iterator[tuple[Table, str]]:
    """Every (table, column) that holds field ciphertexts."""
    seen: set[tuple[str, str]] = set()
    for model, column in Encrypted.registry:
        table: Table = model.__table__  # type: ignore[attr-defined]
        if (table.name, column) not in seen:
            seen.add((table.name, column))
            yield table, column


def key_usage(session: Session) -> Counter[str]:
    """How many stored values use each key id."""
    usage: Counter[str] = Counter()
    for table, column in encrypted_columns():
        col = table.c[column]
        # "cw1.<key id>.<body>": the key id sits between the first two dots.
        key_id = func.substr(col, len(FORMAT_VERSION) + 2, 8)
        for kid, count in session.execute(
            select(key_id, func.count()).where(col.is_not(None)).group_by(key_id)
        ):
            usage[kid] += count
    return usage


def rows_out_of_bound(session: Session, bits: int) -> tuple[int, bool]:
    """Client rows with a UIC and whether the blind-index width suits that count."""
    from casework.clients.models import Client

    rows = session.scalar(select(func.count()).where(Client.uic_bidx.is_not(None))) or 0
    low, high = bits_bounds(rows)
    return rows, low <= bits <= high


def unchanged_onupdate_columns(table: Table) -> dict[str, Any]:
    """``{name: column}`` for columns with an ``onupdate`` default (e.g. ``updated_at``).

    Core UPDATEs fire those defaults; re-encrypting or re-indexing a value is
    not a change to the record, so key operations set them to themselves.
    """
    return {c.name: c for c in table.c if c.onupdate is not None}


@dataclass
class RewrapProgress:
    table: str
    column: str
    done: int
    remaining: int


def rewrap(
    database: Database,
    batch_size: int = REWRAP_BATCH,
    report: Callable[[RewrapProgress], None] | None = None,
) -> int:
    """Re-encrypt every value not under the primary key, one committed batch at a time.

    Safe to interrupt: each batch commits on its own and the next run picks up
    whatever still carries an old key id. Safe online: rows are updated only
    where the ciphertext is still the one read (compare-and-set).
    """
    cipher: FieldCipher = database.cipher
    prefix = f"{FORMAT_VERSION}.{cipher.primary_key_id}."
    total = 0
    for table, column in encrypted_columns():
        col, id_col = table.c[column], table.c.id
        stale = col.is_not(None) & ~col.startswith(prefix, autoescape=True)
        done, last_id = 0, ""
        with database.transaction() as session:
            initial = session.scalar(select(func.count()).where(stale)) or 0
        while True:
            with database.transaction() as session:
                rows = session.execute(
                    select(id_col, col).where(stale, id_col > last_id).order_by(id_col).limit(batch_size)
                ).all()
                if not rows:
                    break
                params = []
                for row_id, token in rows:
                    fresh = cipher.reencrypt(token, table=table.name, column=column, row_id=str(row_id))
                    if fresh is not None:
                        params.append({"rid": row_id, "old": token, "new": fresh})
                if params:
                    session.execute(
                        update(table)
                        .where(id_col == bindparam("rid"), col == bindparam("old"))
                        .values({column: bindparam("new"), **unchanged_onupdate_columns(table)}),
                        params,
                    )
                last_id = rows[-1][0]
                done += len(params)
            if report:
                report(RewrapProgress(table.name, column, done, max(initial - done, 0)))
        total += done
    return total
