"""Key operations that touch the database: status, rewrap and retirement checks."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, bindparam, func, or_, select, update
from sqlalchemy.orm import Session

import casework.models  # noqa: F401  (registers every encrypted column)
from casework.crypto.blind_index import bits_bounds
from casework.crypto.fields import FORMAT_VERSION, FieldCipher
from casework.db import Base, Database, Encrypted, sealed_columns
from casework.errors import RowIntegrityError

REWRAP_BATCH = 2_000


def sealed_models() -> list[type]:
    """Every model whose rows carry a seal (casework.db)."""
    return [m.class_ for m in Base.registry.mappers if sealed_columns(m.class_)]


def _model_of(table: Table) -> type | None:
    return next((m for m in sealed_models() if m.__table__ is table), None)  # type: ignore[attr-defined]


def seal_unsealed(database: Database, batch_size: int = REWRAP_BATCH) -> int:
    """Seal the rows that predate seals (run once, by ``db upgrade``, when it adds them)."""
    total = 0
    for model in sealed_models():
        table: Table = model.__table__  # type: ignore[attr-defined]
        columns = sealed_columns(model)
        keys = [c.name for c in table.primary_key.columns]
        while True:
            with database.transaction() as session:
                rows = session.execute(
                    select(*[table.c[c] for c in columns]).where(table.c.seal.is_(None)).limit(batch_size)
                ).mappings().all()
                if not rows:
                    break
                condition = [table.c[k] == bindparam(f"k_{k}") for k in keys]
                session.execute(
                    update(table).where(*condition, table.c.seal.is_(None))
                    .values(seal=bindparam("new_seal"), **unchanged_onupdate_columns(table)),
                    [{**{f"k_{k}": row[k] for k in keys},
                      "new_seal": database.sealer.row(table.name, dict(row))} for row in rows],
                )
                total += len(rows)
    return total


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
        # "cw1.<key id>.<body>": the key id is whatever sits between the first two dots.
        rest = func.substr(col, len(FORMAT_VERSION) + 2)
        if session.get_bind().dialect.name == "postgresql":
            key_id = func.split_part(rest, ".", 1)
        else:
            key_id = func.substr(rest, 1, func.instr(rest, ".") - 1)
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
    """Re-encrypt every value not under the primary key, a committed batch of rows at a time;
    returns how many values were re-encrypted.

    Row by row: every stale field of a row is re-encrypted together, so a sealed row's seal is
    checked once and written once (casework.db). A row whose seal does not hold stops the run:
    re-sealing it would launder a forgery. Safe to interrupt: each batch commits on its own and
    the next run picks up whatever still carries an old key id. Safe online: a row is updated only
    if it is still as it was read (its seal, or every ciphertext, compared and set).
    """
    cipher: FieldCipher = database.cipher
    prefix = f"{FORMAT_VERSION}.{cipher.primary_key_id}."
    by_table: dict[str, tuple[Table, list[str]]] = {}
    for table, column in encrypted_columns():
        by_table.setdefault(table.name, (table, []))[1].append(column)
    total = 0
    for table, columns in by_table.values():
        id_col, model = table.c.id, _model_of(table)
        covered = sealed_columns(model) if model is not None else ("id", *columns)
        stale_of = {c: table.c[c].is_not(None) & ~table.c[c].startswith(prefix, autoescape=True) for c in columns}
        stale = or_(*stale_of.values())
        with database.transaction() as session:
            initial = sum(session.scalar(select(func.count()).where(cond)) or 0 for cond in stale_of.values())
        picked = [table.c[c] for c in covered] + ([table.c.seal] if model is not None else [])
        statement = update(table).where(id_col == bindparam("rid"))
        if model is not None:
            statement = statement.where(table.c.seal == bindparam("old_seal"))
        else:
            statement = statement.where(*[table.c[c].is_not_distinct_from(bindparam(f"old_{c}")) for c in columns])
        changes = {**{c: bindparam(f"new_{c}") for c in columns}, **unchanged_onupdate_columns(table)}
        if model is not None:
            changes["seal"] = bindparam("new_seal")
        statement = statement.values(changes)
        done, last_id = 0, ""
        while True:
            with database.transaction() as session:
                rows = session.execute(
                    select(*picked).where(stale, id_col > last_id).order_by(id_col).limit(batch_size)
                ).mappings().all()
                if not rows:
                    break
                params = []
                for row in rows:
                    values = {c: row[c] for c in covered}
                    if model is not None and not database.sealer.row_holds(table.name, values, row["seal"]):
                        raise RowIntegrityError(table.name, str(row["id"]))
                    fresh = {c: cipher.reencrypt(row[c], table=table.name, column=c, row_id=str(row["id"]))
                             for c in columns if row[c] is not None}
                    fresh = {c: token for c, token in fresh.items() if token is not None}
                    if not fresh:
                        continue
                    after = {**values, **fresh}
                    param = {"rid": row["id"], **{f"new_{c}": after[c] for c in columns}}
                    if model is not None:
                        param |= {"old_seal": row["seal"], "new_seal": database.sealer.row(table.name, after)}
                    else:
                        param |= {f"old_{c}": row[c] for c in columns}
                    params.append(param)
                    done += len(fresh)
                if params:
                    session.execute(statement, params)
                last_id = rows[-1]["id"]
            if report:
                report(RewrapProgress(table.name, ",".join(columns), done, max(initial - done, 0)))
        total += done
    return total
