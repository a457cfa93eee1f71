"""Benchmark: `keys rewrap` throughput in fields per second (docs/DESIGN.md §8 target: >= 20,000/s).

Builds a SQLite database of synthetic clients with four encrypted fields each
(UIC, alias, phone, residence), encrypted exactly as the storage layer does it,
rotates the keyring, and times ``casework.keyops.rewrap`` re-encrypting every
field under the new primary key. Afterwards it checks that no value still uses
the old key and that a sample decrypts to what was stored.

Run:  .venv/bin/python bench/rewrap.py [--fields 100000] [--batch-size 2000]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert, select

import casework.models  # noqa: F401  (every mapper)
from casework import migrate
from casework.auth.models import User
from casework.clients.models import Client
from casework.crypto import BlindIndexer, FieldCipher, Keyring
from casework.db import Database, new_id, seal_values
from casework.keyops import REWRAP_BATCH, key_usage, rewrap

TARGET_FIELDS_PER_SECOND = 20_000
FIELDS_PER_CLIENT = 4
INSERT_BATCH = 10_000


def build(database: Database, clients: int, rng: random.Random) -> dict[str, str]:
    """Insert clients with four encrypted fields each; returns {client id: alias} for checking."""
    cipher = database.cipher
    with database.transaction() as session:
        owner = new_id()
        session.execute(insert(User.__table__).values(seal_values(database.sealer, User, {
            "id": owner, "username": "bench", "display_name": "Bench", "role": "collaborator",
            "password_hash": "!bench: no password can match"})))
    aliases: dict[str, str] = {}
    for start in range(0, clients, INSERT_BATCH):
        rows = []
        for n in range(start, min(start + INSERT_BATCH, clients)):
            cid = new_id()
            values = {"uic_enc": f"NGTR{rng.randint(1950, 2008)}F", "alias_enc": f"Khách số {n}",
                      "phone_enc": f"09{rng.randint(0, 10**8):08d}", "residence_enc": f"Tổ {n % 40}, phường"}
            rows.append({"id": cid, "display_code": f"KH-{n:010d}", "owner_id": owner} | {
                column: cipher.encrypt(value, table="clients", column=column, row_id=cid)
                for column, value in values.items()})
            aliases[cid] = values["alias_enc"]
        with database.transaction() as session:
            session.execute(insert(Client.__table__), [seal_values(database.sealer, Client, r) for r in rows])
    return aliases


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fields", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=REWRAP_BATCH)
    args = parser.parse_args()
    clients = args.fields // FIELDS_PER_CLIENT
    with tempfile.TemporaryDirectory(prefix="casework-bench-") as tmp:
        keys = Path(tmp) / "keys"
        Keyring.create(keys)
        keyring = Keyring.load(keys, allow_example=False)
        url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        database = Database(url, FieldCipher(keyring), BlindIndexer(keyring, 10))
        migrate.upgrade(database.engine)
        aliases = build(database, clients, random.Random(2026))
        database.dispose()

        old = keyring.primary_id
        keyring.rotate()
        rotated = Keyring.load(keys, allow_example=False)
        database = Database(url, FieldCipher(rotated), BlindIndexer(rotated, 10))
        started, cpu_started = time.perf_counter(), time.process_time()
        done = rewrap(database, batch_size=args.batch_size)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started

        with database.transaction() as session:
            usage = key_usage(session)
            sample = random.Random(1).sample(sorted(aliases), 200)
            read = {c.id: c.alias for c in session.scalars(select(Client).where(Client.id.in_(sample)))}
        database.dispose()
    assert usage == {rotated.primary_id: clients * FIELDS_PER_CLIENT} and old not in usage
    assert read == {cid: aliases[cid] for cid in sample}

    rate = done / elapsed
    print(f"rewrapped {done} fields ({clients} clients x {FIELDS_PER_CLIENT}) in {elapsed:.2f} s, "
          f"batch size {args.batch_size} (CPU time of this process {cpu:.2f} s)")
    print(f"  {rate:,.0f} fields/s  (target >= {TARGET_FIELDS_PER_SECOND:,}/s: "
          f"{'met' if rate >= TARGET_FIELDS_PER_SECOND else 'MISSED'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
