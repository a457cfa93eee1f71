"""Benchmark: the indicator report at city scale, and the memory of every export (docs/DESIGN.md §8).

Builds a throw-away database with `casework demo-data` (100,000 fictional clients and about
300,000 referrals by default, encrypted exactly like real data) and measures, on SQLite or on
the PostgreSQL server given with --postgres:

* the indicator for one year — N, D, its components and the three disaggregations, as
  ``casework.reports.queries.person_counts`` computes them — against ONE hand-written SQL query
  that computes the same N and D (target: <= 1.5 s on SQLite and <= 2x the hand query);
* everything a year's reports need: every period's people (twelve month ends), the referral
  counts, registrations and medians, then disclosure control over the whole year — the work of
  "Count again now" / `casework report refresh`;
* a dashboard view that reuses that count (what a supervisor waits for most of the time);
* the peak traced memory of every export format at two sizes (target: flat in the number of
  clients: the exports hold aggregates, never a row per client).

Run:  .venv/bin/python bench/indicator.py [--clients 100000] [--small 10000] [--postgres URL]
      [--keep DIR]   (keep the generated SQLite database in DIR and reuse it next time)
"""

from __future__ import annotations

import argparse
import os
import platform
import secrets
import sys
import tempfile
import time
import tracemalloc
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import text

import casework.models  # noqa: F401  (every mapper)
from casework import clock, create_app, migrate
from casework.config import Settings
from casework.crypto import Keyring
from casework.db import make_engine
from casework.reports import exports, queries, services
from casework.reports.definitions import Period, utc_bound
from casework.reports.suppression import OFFICIAL

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
TARGET_SECONDS, TARGET_RATIO = 1.5, 2.0

HAND_SQL = """
WITH latest AS (
  SELECT a.client_id, a.eligible, a.needs_hr, a.needs_reint FROM assessments a
  WHERE a.assessed_on <= :end AND NOT EXISTS (
    SELECT 1 FROM assessments b WHERE b.client_id = a.client_id AND b.assessed_on <= :end
      AND (b.assessed_on > a.assessed_on OR (b.assessed_on = a.assessed_on AND b.created_at > a.created_at)))
), d AS (
  SELECT c.id FROM clients c JOIN latest l ON l.client_id = c.id
  WHERE c.registered_at < :end_utc AND (c.closed_at IS NULL OR c.closed_at >= :start_utc)
    AND l.eligible AND (l.needs_hr OR l.needs_reint)
    AND EXISTS (SELECT 1 FROM consents k WHERE k.client_id = c.id AND k.purpose = 'registration'
                AND k.given_on <= :end AND (k.withdrawn_on IS NULL OR k.withdrawn_on >= :start))
)
SELECT count(*) AS d,
       sum(CASE WHEN d.id IN (SELECT r.client_id FROM referrals r WHERE r.status = 'completed'
                              AND r.completed_at >= :start_utc AND r.completed_at < :end_utc) THEN 1 ELSE 0 END) AS n
FROM d
"""


def _settings(root: Path, url: str | None) -> Settings:
    instance = root / "instance"
    instance.mkdir(parents=True, exist_ok=True)
    keys = instance / "keys"
    if not keys.exists():
        Keyring.create(keys)
    return Settings(mode="development", instance_path=instance, keys_dir=keys,
                    database_url=url or f"sqlite:///{instance / 'casework.sqlite3'}")


def _build(settings: Settings, clients: int, seed: int) -> None:
    from casework.demo_data import generate

    engine = make_engine(settings.database_url)
    migrate.upgrade(engine)
    engine.dispose()
    app = create_app(settings)
    database = app.extensions["casework"].database
    with database.snapshot() as session:
        have = session.execute(text("SELECT count(*) FROM clients")).scalar()
    if have >= clients:
        print(f"reusing {have:,} clients")
        return
    started = time.perf_counter()
    with app.app_context():
        summary = generate(database, clients=clients - have, seed=seed, progress=lambda line: None)
    print(f"generated {clients - have:,} clients in {time.perf_counter() - started:.0f} s "
          f"({getattr(summary, 'rows', {}).get('referrals', '?')} referrals)")
    database.dispose()


def _best(fn, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return min(times), result


def measure_year(settings: Settings, year: int, repeat: int) -> dict[str, float]:
    app = create_app(settings)
    database = app.extensions["casework"].database
    window = queries.Window(date(year, 12, 31), (date(year, 1, 1),), ZONE)
    params = {"start": date(year, 1, 1), "end": date(year, 12, 31), "start_utc": utc_bound(date(year, 1, 1), ZONE),
              "end_utc": utc_bound(date(year + 1, 1, 1), ZONE)}

    def ours():
        with database.snapshot() as session:
            rows = queries.person_counts(session, window)
        d = sum(r[-1] for r in rows if r[3] > 0 and r[4] > 0)
        n = sum(r[-1] for r in rows if r[3] > 0 and r[4] > 0 and (r[5] > 0 or r[6] > 0))
        return d, n

    def hand():
        with database.snapshot() as session:
            row = session.execute(text(HAND_SQL), params).one()
        return int(row.d), int(row.n or 0)

    ours_s, ours_dn = _best(ours, repeat)
    hand_s, hand_dn = _best(hand, repeat)
    assert ours_dn == hand_dn, (ours_dn, hand_dn)
    today = clock.local_today()
    report = services.ReportSettings(ZONE, 80, max_age_minutes=10)
    family_s, family = _best(lambda: services.current_family(database, year, settings=report, today=today,
                                                             now=clock.utcnow(), refresh=True), 1)
    view_s, _ = _best(lambda: services.publish(services.current_family(database, year, settings=report, today=today,
                                                                       now=clock.utcnow()),
                                               Period("year", year), OFFICIAL, settings=report), repeat)
    database.dispose()
    return {"D": ours_dn[0], "N": ours_dn[1], "ours": ours_s, "hand": hand_s, "family": family_s,
            "hidden": len(family.patterns.official), "view": view_s}


def export_memory(settings: Settings, year: int) -> dict[str, int]:
    app = create_app(settings)
    database = app.extensions["casework"].database
    report = services.ReportSettings(ZONE, 80, max_age_minutes=0)
    peaks = {}
    with app.test_request_context():
        for fmt in exports.FORMATS:
            tracemalloc.start()
            payload = services.live_report(database, Period("year", year), OFFICIAL, settings=report,
                                           today=clock.local_today(), now=clock.utcnow(), refresh=True)
            for piece in exports.write(payload, fmt, mapping=exports.load_mapping(None), org_unit="BENCH"):
                del piece
            peaks[fmt] = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
    database.dispose()
    return peaks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=10_000, help="the smaller size for the memory comparison")
    parser.add_argument("--postgres", help="a PostgreSQL server URL; a scratch database is made and dropped")
    parser.add_argument("--keep", type=Path, help="keep (and reuse) the SQLite databases in this folder")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    year = clock.local_today().year
    print(f"casework indicator benchmark — {platform.python_version()}, {os.cpu_count()} CPUs, "
          f"{'PostgreSQL' if args.postgres else 'SQLite'}; year {year}")
    results, memory = {}, {}
    with tempfile.TemporaryDirectory(prefix="casework-bench-") as scratch:
        for size in (args.small, args.clients):
            root = (args.keep or Path(scratch)) / f"n{size}"
            url = _pg_database(args.postgres, size) if args.postgres else None
            try:
                settings = _settings(root, url)
                _build(settings, size, seed=size)
                results[size] = measure_year(settings, year, args.repeat)
                memory[size] = export_memory(settings, year)
            finally:
                if url:
                    _drop(args.postgres, url)
    _report(results, memory, args)
    return 0


def _pg_database(server: str, size: int) -> str:
    from sqlalchemy.engine import make_url

    base = make_url(server).set(drivername="postgresql+psycopg")
    name = f"casework_bench_{size}_{secrets.token_hex(3)}"
    admin = make_engine(base.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def _drop(server: str, url: str) -> None:
    from sqlalchemy.engine import make_url

    name = make_url(url).database
    admin = make_engine(make_url(server).set(drivername="postgresql+psycopg").render_as_string(hide_password=False),
                        isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _report(results: dict, memory: dict, args: argparse.Namespace) -> None:
    engine = "PostgreSQL" if args.postgres else "SQLite"
    print()
    print("| clients | D | N | indicator, one year | hand SQL | ratio (target <= 2x) | whole year's count + "
          "protection | figures hidden (official) | dashboard view from the count |")
    print("|---|---|---|---|---|---|---|---|---|")
    for size, r in results.items():
        target = f"{'met' if r['ours'] <= TARGET_SECONDS or args.postgres else 'missed'}"
        print(f"| {size:,} | {r['D']:,} | {r['N']:,} | {r['ours']:.3f} s ({engine}; target {TARGET_SECONDS} s: "
              f"{target}) | {r['hand']:.3f} s | {r['ours'] / r['hand']:.2f}x | {r['family']:.1f} s | "
              f"{r['hidden']:,} | {r['view'] * 1000:.0f} ms |")
    print()
    small, large = args.small, args.clients
    print(f"| export | peak traced memory at {small:,} clients | at {large:,} | ratio |")
    print("|---|---|---|---|")
    for fmt in exports.FORMATS:
        a, b = memory[small][fmt], memory[large][fmt]
        print(f"| {fmt} | {a / 1e6:.2f} MB | {b / 1e6:.2f} MB | {b / a:.2f}x |")


if __name__ == "__main__":
    sys.exit(main())
