"""Benchmark: finding a client by UIC through the blind index (docs/DESIGN.md §8).

Builds a SQLite database of synthetic clients whose UIC, alias and phone are
encrypted exactly as the storage layer does it (FieldCipher, same associated
data and stored format; blind index from the same BlindIndexer), inserted with
Core executemany in large transactions. Then it times, through one session:

* ``find_ids_by_uic`` (blind index → candidates → decrypt and compare),
* the same lookup on a plain indexed column (a separate benchmark table with
  the UIC in clear text; same query shape: ids and values by an indexed key),
* a lookup by decrypting every row (what the blind index exists to avoid),

at the default width (10 bits) and at the widest width CipherSweet's rule
allows for the row count (fewest candidates), and prints the ratios against
the targets: blind index <= 2x plain, and >= 100x faster than decrypt-all.

Run:  .venv/bin/python bench/lookup.py [--rows 100000] [--lookups 500] [--bits 12 13 14]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Column, Index, MetaData, String, Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

import casework.models  # noqa: F401  (every mapper)
from casework import migrate
from casework.auth.models import User
from casework.clients.models import Client
from casework.clients.storage import UIC_INDEX, find_ids_by_uic
from casework.crypto import BlindIndexer, FieldCipher, Keyring, canonical_uic
from casework.crypto.blind_index import bits_bounds
from casework.db import Database, new_id, seal_values

TARGET_VS_PLAIN = 2.0
TARGET_VS_DECRYPT_ALL = 100.0
INSERT_BATCH = 10_000
LETTERS = "ABCDEGHIKLMNOPQRSTUVXY"  # letters that begin Vietnamese given names, marks removed

plain_metadata = MetaData()
plain_uics = Table(
    "bench_plain_uic", plain_metadata,
    Column("id", String(36), primary_key=True),
    Column("uic", String(32), nullable=False),
    Index("ix_bench_plain_uic_uic", "uic"),
)


def random_uic(rng: random.Random) -> str:
    """Mother's and father's initials, birth year, sex code: the default UIC form (docs/DESIGN.md §2)."""
    return (rng.choice(LETTERS) + rng.choice(LETTERS) + rng.choice(LETTERS) + rng.choice(LETTERS)
            + str(rng.randint(1950, 2008)) + rng.choice("FMT"))


def build(database: Database, rows: int, rng: random.Random) -> dict[str, str]:
    """Insert ``rows`` clients (and the plain twin table); returns {client id: canonical UIC}."""
    cipher, indexer = database.cipher, database.indexer
    table, column, name = UIC_INDEX
    # A benchmark-only twin table in a throw-away database: not part of casework's schema,
    # which comes only from migrations.
    plain_metadata.create_all(database.engine)
    with database.transaction() as session:
        owner = new_id()
        session.execute(insert(User.__table__).values(seal_values(database.sealer, User, {
            "id": owner, "username": "bench", "display_name": "Bench", "role": "collaborator",
            "password_hash": "!bench: no password can match"})))
    uics: dict[str, str] = {}
    codes: set[str] = set()
    for start in range(0, rows, INSERT_BATCH):
        clients, plains = [], []
        for _ in range(min(INSERT_BATCH, rows - start)):
            cid, uic = new_id(), canonical_uic(random_uic(rng))
            code = f"KH-{rng.getrandbits(40):010X}"
            while code in codes:
                code = f"KH-{rng.getrandbits(40):010X}"
            codes.add(code)
            clients.append({
                "id": cid, "display_code": code, "owner_id": owner,
                "uic_enc": cipher.encrypt(uic, table=table, column=column, row_id=cid),
                "uic_bidx": indexer.index(uic, table=table, column=column, name=name),
                "alias_enc": cipher.encrypt(f"Khách {start}", table=table, column="alias_enc", row_id=cid),
                "phone_enc": cipher.encrypt(f"09{rng.randint(0, 10**8):08d}", table=table,
                                            column="phone_enc", row_id=cid),
            })
            plains.append({"id": cid, "uic": uic})
            uics[cid] = uic
        with database.transaction() as session:
            session.execute(insert(Client.__table__), [seal_values(database.sealer, Client, c) for c in clients])
            session.execute(insert(plain_uics), plains)
    return uics


def reindex(database: Database, uics: dict[str, str]) -> None:
    """Recompute every blind index at the database's indexer width (as `keys reindex` does)."""
    table, column, name = UIC_INDEX
    clients = Client.__table__
    params = [{"rid": cid, "bidx": database.indexer.index(uic, table=table, column=column, name=name)}
              for cid, uic in uics.items()]
    with database.transaction() as session:
        session.execute(update(clients).where(clients.c.id == bindparam("rid"))
                        .values(uic_bidx=bindparam("bidx"), updated_at=clients.c.updated_at), params)


def plain_lookup(session: Session, raw: str) -> list[str]:
    canonical = canonical_uic(raw)
    rows = session.execute(select(plain_uics.c.id, plain_uics.c.uic).where(plain_uics.c.uic == canonical)).all()
    return [row_id for row_id, value in rows if value == canonical]


def decrypt_all_lookup(session: Session, raw: str) -> list[str]:
    canonical = canonical_uic(raw)
    cipher: FieldCipher = session.info["cipher"]
    table, column, _ = UIC_INDEX
    clients = Client.__table__
    rows = session.execute(select(clients.c.id, clients.c.uic_enc).where(clients.c.uic_enc.is_not(None)))
    return [row_id for row_id, token in rows
            if cipher.decrypt(token, table=table, column=column, row_id=row_id) == canonical]


def median_seconds(session: Session, lookup: Callable[[Session, str], list[str]], probes: list[str],
                   expected: dict[str, set[str]]) -> float:
    times = []
    for raw in probes:
        started = time.perf_counter()
        found = lookup(session, raw)
        times.append(time.perf_counter() - started)
        assert set(found) == expected[canonical_uic(raw)], "a lookup returned the wrong clients"
    return statistics.median(times)


def measure(database: Database, uics: dict[str, str], lookups: int, rng: random.Random) -> dict[str, float]:
    by_uic: dict[str, set[str]] = {}
    for cid, uic in uics.items():
        by_uic.setdefault(uic, set()).add(cid)
    stored = list(by_uic)
    # Probes as a worker types them: lower case, spaced; a tenth of them are UICs nobody has.
    probes = []
    for _ in range(lookups):
        uic = rng.choice(stored) if rng.random() < 0.9 else random_uic(rng)
        by_uic.setdefault(uic, set())
        probes.append(f"{uic[:2]} {uic[2:4]} {uic[4:8]} {uic[8:]}".lower())
    with database.transaction() as session:
        median_seconds(session, find_ids_by_uic, probes[:20], by_uic)  # warm caches and the page cache
        median_seconds(session, plain_lookup, probes[:20], by_uic)
        blind = median_seconds(session, find_ids_by_uic, probes, by_uic)
        plain = median_seconds(session, plain_lookup, probes, by_uic)
        decrypt_all = median_seconds(session, decrypt_all_lookup, probes[:5], by_uic)
    return {"blind": blind, "plain": plain, "decrypt_all": decrypt_all}


def report(bits: int, rows: int, result: dict[str, float]) -> None:
    vs_plain = result["blind"] / result["plain"]
    vs_all = result["decrypt_all"] / result["blind"]
    print(f"\n{bits} bits: about {rows / 2**bits:.1f} candidates per lookup")
    print(f"  blind index (find_ids_by_uic) median {result['blind'] * 1e3:8.3f} ms")
    print(f"  plain indexed column          median {result['plain'] * 1e3:8.3f} ms")
    print(f"  decrypt every row             median {result['decrypt_all'] * 1e3:8.1f} ms")
    print(f"  blind / plain       = {vs_plain:6.2f}x  (target <= {TARGET_VS_PLAIN:g}x: "
          f"{'met' if vs_plain <= TARGET_VS_PLAIN else 'MISSED'})")
    print(f"  decrypt-all / blind = {vs_all:6.0f}x  (target >= {TARGET_VS_DECRYPT_ALL:g}x: "
          f"{'met' if vs_all >= TARGET_VS_DECRYPT_ALL else 'MISSED'})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--lookups", type=int, default=500)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--bits", type=int, nargs="*", default=[],
                        help="more index widths to measure besides 10 and the widest the rule allows")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    low, high = bits_bounds(args.rows)
    widths = [10, *sorted({high, *args.bits} - {10})]
    with tempfile.TemporaryDirectory(prefix="casework-bench-") as tmp:
        keys = Path(tmp) / "keys"
        Keyring.create(keys)
        keyring = Keyring.load(keys, allow_example=False)
        url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        started = time.perf_counter()
        first = Database(url, FieldCipher(keyring), BlindIndexer(keyring, widths[0]))
        migrate.upgrade(first.engine)
        uics = build(first, args.rows, rng)
        first.dispose()
        print(f"stored {args.rows} clients (3 encrypted fields each) in {time.perf_counter() - started:.1f} s; "
              f"CipherSweet's rule allows {low}..{high} bits for {args.rows} rows")
        for bits in widths:
            database = Database(url, FieldCipher(keyring), BlindIndexer(keyring, bits))
            if bits != widths[0]:
                reindex(database, uics)
            report(bits, args.rows, measure(database, uics, args.lookups, rng))
            database.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
