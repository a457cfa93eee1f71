"""`casework check`: what in this installation's configuration would weaken it, each with its fix.

Every finding is a PROBLEM (the command exits 1) or a NOTE (allowed in this mode, said anyway).
Nothing here changes anything, and nothing it prints names a client.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from casework.config import Settings
from casework.errors import CaseworkError

CHECKPOINT_STALE_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Finding:
    problem: bool
    text: str


def run(settings: Settings) -> list[Finding]:
    from casework.audit import checkpoint
    from casework.audit.chain import head
    from casework.clients.storage import built_width
    from casework.crypto import BlindIndexer, FieldCipher, Keyring
    from casework.db import Database, check_database
    from casework.keyops import rows_out_of_bound
    from casework.migrate import check_current

    found: list[Finding] = []
    production = settings.mode == "production"
    try:
        keyring = Keyring.load(settings.keys_dir, allow_example=settings.allows_example_keys)
    except CaseworkError as exc:
        return [Finding(True, f"keyring: {exc}")]
    if keyring.is_example:
        found.append(Finding(production, "the keyring is the published example: anyone can decrypt this database; "
                                         "run `casework keys init` with CASEWORK_KEYS_DIR set to a new folder"))
    if production and not settings.https:
        found.append(Finding(True, "CASEWORK_HTTPS is false in production: passwords and pages cross the network "
                                   "in clear; put casework behind TLS (README, reverse proxy) and set it to true"))
    if production and settings.proxy_count == 0:
        found.append(Finding(True, "CASEWORK_PROXY_COUNT is 0 in production: behind the reverse proxy every request "
                                   "looks like it comes from the proxy, so the sign-in limit counts everyone "
                                   "together; set it to the number of proxies (1 behind one nginx)"))
    if production and not settings.trusted_host_list:
        found.append(Finding(False, "CASEWORK_TRUSTED_HOSTS is empty: casework answers to any Host header; set it "
                                    "to the server's name (for example casework.phuong.gov.vn)"))
    if settings.workers > 1 and settings.ratelimit_storage_uri.startswith("memory://"):
        found.append(Finding(True, f"CASEWORK_WORKERS is {settings.workers} with rate limits in memory: each "
                                   "process counts alone, so the sign-in and UIC limits are multiplied; set "
                                   "CASEWORK_RATELIMIT_STORAGE_URI=redis://…"))
    try:
        indexer = BlindIndexer(keyring, settings.blind_index_bits)
        database = Database(settings.database_url, FieldCipher(keyring), indexer)
        check_database(database.engine)
        check_current(database.engine)
    except CaseworkError as exc:
        return [*found, Finding(True, f"database: {exc}")]
    try:
        with database.snapshot() as session:
            rows, within = rows_out_of_bound(session, settings.blind_index_bits)
            built = built_width(session)
            head_id, _head_hash = head(session)
    finally:
        database.dispose()
    if built is not None and built != settings.blind_index_bits:
        found.append(Finding(True, f"the UIC index was built with {built} bits but CASEWORK_BLIND_INDEX_BITS is "
                                   f"{settings.blind_index_bits}: run `casework keys reindex`"))
    if rows >= 16 and not within:
        found.append(Finding(True, f"CASEWORK_BLIND_INDEX_BITS={settings.blind_index_bits} does not suit {rows} UICs "
                                   "(keep 2 <= R/2^L < sqrt(R)): see `casework keys status`, then `keys reindex`"))
    try:
        recorded = checkpoint.read(settings.audit_checkpoint)
    except ValueError as exc:
        found.append(Finding(True, str(exc)))
        recorded = None
    if head_id and (recorded is None or recorded.head_id < head_id):
        age = time.time() - settings.audit_checkpoint.stat().st_mtime if settings.audit_checkpoint.exists() else None
        if age is None or age > CHECKPOINT_STALE_SECONDS:
            found.append(Finding(True, f"the audit head is not recorded in {settings.audit_checkpoint} (or is more "
                                       "than a day behind): casework cannot write there; give the account running it "
                                       "write access to the instance folder, or set CASEWORK_AUDIT_CHECKPOINT"))
    return found
