"""The ``casework`` command. Failures print one line that says what to fix, never a traceback."""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

import click
from sqlalchemy.exc import SQLAlchemyError

from casework.config import Settings, load_settings
from casework.errors import CaseworkError, ConfigError


def _settings(ctx: click.Context) -> Settings:
    return ctx.obj["settings"]


def _database(settings: Settings, *, create_keys: bool = False, check_schema: bool = False,
              check_index: bool = False):
    from casework.clients.uic import UicRules
    from casework.crypto import BlindIndexer, FieldCipher, Keyring
    from casework.db import Database, check_database
    from casework.migrate import check_current

    if create_keys and not Path(settings.keys_dir).exists():
        Keyring.create(settings.keys_dir)
        click.echo(f"created a new keyring in {settings.keys_dir} (back it up separately from the database)")
    keyring = Keyring.load(settings.keys_dir, allow_example=settings.allows_example_keys)
    database = Database(settings.database_url, FieldCipher(keyring), BlindIndexer(keyring, settings.blind_index_bits),
                        audit_checkpoint=settings.audit_checkpoint,
                        info={"uic_rules": UicRules.from_settings(settings)})
    check_database(database.engine)
    if check_schema:  # a missing table would otherwise end in a traceback
        check_current(database.engine)
    if check_index:  # commands that write blind indexes: never at another width than the stored one
        from casework.clients.storage import check_width

        with database.transaction() as session:
            check_width(session, settings.blind_index_bits)
    return keyring, database


@click.group()
@click.pass_context
def cli(ctx: click.Context) -> None:
    """casework: confidential case management and closed-loop referrals."""
    ctx.ensure_object(dict)
    ctx.obj["settings"] = load_settings()


# --- database ----------------------------------------------------------------------


@cli.group()
def db() -> None:
    """Database schema (Alembic migrations)."""


@db.command("upgrade")
@click.argument("revision", default="head")
@click.pass_context
def db_upgrade(ctx: click.Context, revision: str) -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    from casework import migrate
    from casework.db import check_database, make_engine

    settings = _settings(ctx)
    _ensure_instance(settings)
    engine = make_engine(settings.database_url)
    check_database(engine)
    before = migrate.current_revision(engine)
    migrate.upgrade(engine, revision)
    click.echo(f"database at revision {migrate.head_revision() if revision == 'head' else revision}")
    if migrate.crossed(before, migrate.SEALS_REVISION, migrate.current_revision(engine)):
        # Rows written before seals existed are sealed now, once; afterwards an unsealed row is refused.
        from casework.keyops import seal_unsealed

        _keyring, database = _database(settings)
        click.echo(f"sealed {seal_unsealed(database)} rows written before seals existed")


@db.command("downgrade")
@click.argument("revision")
@click.pass_context
def db_downgrade(ctx: click.Context, revision: str) -> None:
    """Undo migrations down to REVISION (development only)."""
    from casework import migrate
    from casework.db import check_database, make_engine

    settings = _settings(ctx)
    if settings.mode == "production":
        raise ConfigError("downgrading is refused in production mode; restore a backup instead")
    engine = make_engine(settings.database_url)
    check_database(engine)
    migrate.downgrade(engine, revision)
    click.echo(f"database at revision {revision}")


def _ensure_instance(settings: Settings) -> None:
    Path(settings.instance_path).mkdir(parents=True, exist_ok=True, mode=0o700)


@cli.command()
@click.pass_context
def init(ctx: click.Context) -> None:
    """Create the instance folder, a keyring if there is none, and the schema."""
    from casework import migrate

    settings = _settings(ctx)
    _ensure_instance(settings)
    _keyring, database = _database(settings, create_keys=True)
    migrate.upgrade(database.engine)
    click.echo("casework is initialised")


# --- keys --------------------------------------------------------------------------


@cli.group()
def keys() -> None:
    """The keyring: init, status, rotate, rewrap, retire."""


@keys.command("init")
@click.pass_context
def keys_init(ctx: click.Context) -> None:
    """Create a new keyring in CASEWORK_KEYS_DIR."""
    from casework.crypto import Keyring

    settings = _settings(ctx)
    key_id = Keyring.create(settings.keys_dir)
    click.echo(f"created keyring in {settings.keys_dir}; primary data key {key_id}")
    click.echo("back up this folder now, and keep the backup apart from database backups")


@keys.command("status")
@click.pass_context
def keys_status(ctx: click.Context) -> None:
    """Keys, which one is primary, how many values use each, and the blind-index width."""
    from casework.keyops import key_usage, rows_out_of_bound

    settings = _settings(ctx)
    keyring, database = _database(settings, check_schema=True)
    from casework.clients.storage import built_width

    with database.transaction() as session:
        usage = key_usage(session)
        rows, within = rows_out_of_bound(session, settings.blind_index_bits)
        built = built_width(session)
    click.echo(f"keyring: {keyring.directory}{' (EXAMPLE KEYS: development only)' if keyring.is_example else ''}")
    for key_id in sorted(keyring.data_keys):
        marker = " (primary)" if key_id == keyring.primary_id else ""
        click.echo(f"  data key {key_id}{marker}: {usage.get(key_id, 0)} values")
    for key_id in sorted(set(usage) - set(keyring.data_keys)):
        click.echo(f"  MISSING data key {key_id}: {usage[key_id]} values cannot be decrypted")
    from casework.crypto.blind_index import bits_bounds

    low, high = bits_bounds(rows)
    click.echo(f"blind index: {settings.blind_index_bits} bits over {rows} UICs")
    if built is not None and built != settings.blind_index_bits:
        click.echo(f"  WARNING: the stored index was built with {built} bits: run `casework keys reindex` "
                   "before casework will start")
    if not within and rows >= 16:
        click.echo(
            f"  WARNING: for {rows} rows the width should be between {low} and {high} bits "
            "(2 <= R/2^L < sqrt(R)); set CASEWORK_BLIND_INDEX_BITS and run `casework keys reindex`"
        )


@keys.command("rotate")
@click.pass_context
def keys_rotate(ctx: click.Context) -> None:
    """Add a new primary data key. Run `keys rewrap` afterwards."""
    settings = _settings(ctx)
    keyring, _ = _database(settings)
    key_id = keyring.rotate()
    click.echo(f"new primary data key {key_id}: running casework processes on this machine switch to it within a "
               "second; copy the keys folder to every other machine now, then run `casework keys rewrap`, "
               "then `casework keys retire` the old key")


@keys.command("rewrap")
@click.option("--batch-size", default=2000, show_default=True)
@click.pass_context
def keys_rewrap(ctx: click.Context, batch_size: int) -> None:
    """Re-encrypt every value under the primary key (resumable; safe to interrupt)."""
    import time

    from casework.keyops import rewrap

    settings = _settings(ctx)
    _keyring, database = _database(settings, check_schema=True)
    started = time.perf_counter()

    def report(progress) -> None:
        click.echo(f"  {progress.table}.{progress.column}: {progress.done} rewrapped, "
                   f"{progress.remaining} to go")

    total = rewrap(database, batch_size=batch_size, report=report)
    elapsed = time.perf_counter() - started
    click.echo(f"rewrapped {total} values in {elapsed:.1f} s")


@keys.command("retire")
@click.argument("key_id")
@click.pass_context
def keys_retire(ctx: click.Context, key_id: str) -> None:
    """Delete an old data key, refused while any value still uses it."""
    import time

    from casework.crypto.fields import FieldCipher
    from casework.crypto.keyring import primary_age_seconds
    from casework.errors import KeyInUse
    from casework.keyops import key_usage

    settings = _settings(ctx)
    keyring, database = _database(settings, check_schema=True)
    # Running processes switch to a new primary within FieldCipher.RELOAD_EVERY seconds;
    # wait that out (with a margin) so nothing is still being written under this key.
    settle = 3 * FieldCipher.RELOAD_EVERY - primary_age_seconds(settings.keys_dir)
    if settle > 0:
        time.sleep(settle)
    with database.transaction() as session:
        in_use = key_usage(session).get(key_id, 0)
    if in_use:
        raise KeyInUse(f"key {key_id} still protects {in_use} values: run `casework keys rewrap` first")
    keyring.remove_data_key(key_id)
    from casework.audit import record

    with database.transaction() as session:
        record(session, "keys.retired", details={"key_id": key_id})
    click.echo(f"retired data key {key_id}")


@keys.command("reindex")
@click.pass_context
def keys_reindex(ctx: click.Context) -> None:
    """Recompute every UIC blind index (after changing CASEWORK_BLIND_INDEX_BITS)."""
    from sqlalchemy import bindparam, select, update

    import casework.models  # noqa: F401  (every mapper, so Client's foreign keys resolve)
    from casework.clients.models import Client
    from casework.clients.storage import UIC_INDEX, record_width, uic_index
    from casework.keyops import unchanged_onupdate_columns

    settings = _settings(ctx)
    _keyring, database = _database(settings, check_schema=True)
    table, column, _name = UIC_INDEX
    with database.transaction() as session:
        rows = session.execute(select(Client.id, Client.uic_enc).where(Client.uic_enc.is_not(None))).all()
        # Core update: the index is not a change to the client (no version bump, no updated_at).
        params = [{"rid": row_id, "bidx": uic_index(session, database.cipher.decrypt(
            token, table=table, column=column, row_id=row_id))} for row_id, token in rows]
        if params:
            clients = Client.__table__
            session.execute(update(clients).where(clients.c.id == bindparam("rid"))
                            .values(uic_bidx=bindparam("bidx"), **unchanged_onupdate_columns(clients)), params)
        record_width(session, settings.blind_index_bits)
        count = len(params)
    click.echo(f"recomputed {count} blind index values at {settings.blind_index_bits} bits")


# --- audit -------------------------------------------------------------------------


@cli.group()
def audit() -> None:
    """The tamper-evident audit log."""


@audit.command("verify")
@click.option("--expect-head", help="a head kept elsewhere ('ID HASH' as `audit head` prints it, or the hash): "
              "the chain must still pass through it")
@click.pass_context
def audit_verify(ctx: click.Context, expect_head: str | None) -> None:
    """Check the whole chain; print OK or the id of the first broken row (exit 1)."""
    from casework.audit import checkpoint, verify
    from casework.audit.chain import parse_head

    settings = _settings(ctx)
    _keyring, database = _database(settings, check_schema=True)
    try:
        recorded = checkpoint.read(settings.audit_checkpoint)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    if expect_head is not None:
        try:
            parse_head(expect_head)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
    with database.snapshot() as session:
        broken = verify(session, expect_head=expect_head, recorded=recorded)
    if broken is None:
        where = (f"reaches the head recorded in {settings.audit_checkpoint} (row {recorded.head_id})"
                 if recorded else f"no head recorded yet in {settings.audit_checkpoint}")
        click.echo(f"OK: every row follows the previous one and its seal holds; {where}")
        return
    click.echo(f"BROKEN at row {broken.row_id}: {broken.reason}")
    sys.exit(1)


@audit.command("head")
@click.pass_context
def audit_head(ctx: click.Context) -> None:
    """Print the id and hash of the newest row, to keep somewhere else."""
    from casework.audit import head

    _keyring, database = _database(_settings(ctx), check_schema=True)
    with database.transaction() as session:
        row_id, digest = head(session)
    click.echo(f"{row_id} {digest}")


# --- backups -----------------------------------------------------------------------


@cli.command("backup")
@click.argument("dest", type=click.Path(path_type=Path))
@click.pass_context
def backup_command(ctx: click.Context, dest: Path) -> None:
    """Copy the database (never the keys) into the new folder DEST, with its audit head; safe while serving."""
    from casework.backup import backup

    _keyring, database = _database(_settings(ctx), check_schema=True)
    manifest = backup(database, dest)
    click.echo(f"backed up the {manifest.engine} database to {dest / manifest.file} "
               f"({manifest.size} bytes, sha256 {manifest.sha256})")
    click.echo(f"audit head of this backup: {manifest.head_id} {manifest.head_hash}")
    click.echo("keep that line apart from the backup; the keyring is NOT in it: back up "
               f"{_settings(ctx).keys_dir} separately")


@cli.command("restore")
@click.argument("src", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.pass_context
def restore_command(ctx: click.Context, src: Path) -> None:
    """Restore the backup folder SRC into this instance's empty database and prove it decrypts."""
    from casework.backup import restore

    settings = _settings(ctx)
    _ensure_instance(settings)
    keyring, database = _database(settings)
    result = restore(database, keyring, src, settings.audit_checkpoint)
    manifest = result.manifest
    click.echo(f"restored {src / manifest.file} into {database.engine.url.render_as_string(hide_password=True)}")
    click.echo(f"OK: the audit log verifies up to row {manifest.head_id} {manifest.head_hash}; "
               f"{result.decrypted_columns} encrypted column(s) decrypt with this keyring")


# --- users -------------------------------------------------------------------------


@cli.command("create-user")
@click.argument("username")
@click.option("--role", type=click.Choice(["collaborator", "provider", "supervisor", "admin"]), required=True)
@click.option("--name", "display_name", required=True, help="display name shown to colleagues")
@click.option("--organisation", "organisation_id", help="organisation id (required for providers)")
@click.option("--phone", "work_phone", help="work phone shown on referrals")
@click.option("--locale", type=click.Choice(["vi", "en"]), default="vi")
@click.pass_context
def create_user(ctx: click.Context, username: str, role: str, display_name: str,
                organisation_id: str | None, work_phone: str | None, locale: str) -> None:
    """Create a staff account with a one-time password it must change at first sign-in."""
    from casework.admin.services import create_account

    _keyring, database = _database(_settings(ctx))
    password = "-".join(secrets.token_urlsafe(6) for _ in range(3))
    with database.transaction() as session:
        create_account(session, None, username=username, display_name=display_name, role=role,
                       organisation_id=organisation_id, work_phone=work_phone, locale=locale,
                       password=password)
    click.echo(f"created {username} ({role}); one-time password: {password}")
    click.echo("give it to the person in private; they must choose their own at first sign-in")


# --- running -----------------------------------------------------------------------


def _serve(settings: Settings) -> None:
    from waitress import serve as waitress_serve

    from casework import create_app

    app = create_app(settings)
    workers = settings.worker_count
    click.echo(f"casework ({settings.mode}) on http://{settings.host}:{settings.port}/  "
               f"({workers} process{'es' if workers > 1 else ''} of {settings.threads} threads; Ctrl+C stops)")
    if workers == 1:
        waitress_serve(app, **server_options(settings))
        return
    app.extensions["casework"].database.dispose()  # checked; each process opens its own connections
    _serve_forked(settings, workers)


RESPAWN_PAUSE_SECONDS = 1.0


def _serve_forked(settings: Settings, workers: int) -> None:
    """Several waitress processes on one listening socket, so every core serves (one Python process
    runs on one core at a time). The parent only keeps ``workers`` children alive and stops them."""
    import os
    import signal
    import socket
    import time

    listener = socket.create_server((settings.host, settings.port), backlog=1024)
    listener.set_inheritable(True)
    options = {k: v for k, v in server_options(settings).items() if k not in ("host", "port")}
    children: set[int] = set()
    stopping = False

    def spawn() -> None:
        pid = os.fork()
        if pid == 0:  # the worker: its own application, database connections and waitress
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            from waitress import serve as waitress_serve

            from casework import create_app

            try:
                waitress_serve(create_app(settings), sockets=[listener], **options)
            finally:
                os._exit(0)
        children.add(pid)

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(children):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                children.discard(pid)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for _ in range(workers):
        spawn()
    while children:
        try:
            pid, _status = os.wait()
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        children.discard(pid)
        if not stopping:  # a worker died: replace it, without spinning if it cannot start
            time.sleep(RESPAWN_PAUSE_SECONDS)
            spawn()
    listener.close()


# waitress refuses these itself, before a byte of the body is read or spooled to disk.
MAX_HEADER_BYTES = 32 * 1024
CONNECTION_LIMIT = 100
IDLE_CONNECTION_SECONDS = 60


def server_options(settings: Settings) -> dict[str, object]:
    """waitress options. Forwarded headers reach the app only when CASEWORK_PROXY_COUNT trusts a
    proxy; the app's ProxyFix then reads exactly that many hops. Otherwise waitress drops them.

    A body larger than CASEWORK_MAX_CONTENT_LENGTH is refused by waitress from its Content-Length
    (413) instead of being spooled in full for the app to refuse; headers, connections and idle
    connections are bounded too, so that nobody can fill the disk or memory without signing in."""
    return {"host": settings.host, "port": settings.port, "threads": settings.threads, "ident": "casework",
            "clear_untrusted_proxy_headers": settings.proxy_count == 0,
            "max_request_body_size": settings.max_content_length, "max_request_header_size": MAX_HEADER_BYTES,
            "connection_limit": CONNECTION_LIMIT, "channel_timeout": IDLE_CONNECTION_SECONDS}


@cli.command()
@click.option("--host", help="address to listen on (default CASEWORK_HOST or 127.0.0.1)")
@click.option("--port", type=int, help="port (default CASEWORK_PORT or 8080)")
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None) -> None:
    """Serve casework with waitress, a production WSGI server."""
    settings = _settings(ctx)
    if host:
        settings.host = host
    if port:
        settings.port = port
    _serve(settings)


@cli.command()
@click.option("--port", type=int, default=None)
@click.option("--no-serve", is_flag=True, help="prepare everything but do not start the server")
@click.pass_context
def quickstart(ctx: click.Context, port: int | None, no_serve: bool) -> None:
    """Development: initialise, create demo keys and demo data, then serve on 127.0.0.1."""
    from casework import demo, migrate

    settings = _settings(ctx)
    if settings.mode == "production":
        raise ConfigError("quickstart is for development and demo mode; set CASEWORK_MODE=development")
    _ensure_instance(settings)
    _keyring, database = _database(settings, create_keys=True)
    migrate.upgrade(database.engine)
    from casework.clients.storage import check_width

    with database.transaction() as session:
        check_width(session, settings.blind_index_bits)
        accounts = demo.load(session)
    if accounts:
        click.echo("demo accounts (development only):")
        for username, role, password in accounts:
            click.echo(f"  {username:<16} {role:<13} {password}")
    settings.host = "127.0.0.1"
    if port:
        settings.port = port
    if not no_serve:
        _serve(settings)


@cli.command()
@click.pass_context
def check(ctx: click.Context) -> None:
    """Report what in this installation's configuration weakens it; exit 1 if anything must be fixed."""
    from casework.check import run

    findings = run(_settings(ctx))
    for finding in findings:
        click.echo(f"{'PROBLEM' if finding.problem else 'NOTE'}: {finding.text}")
    if any(f.problem for f in findings):
        sys.exit(1)
    click.echo("OK: nothing to fix" + (" (see the notes above)" if findings else ""))


# --- translations ------------------------------------------------------------------


@cli.group()
def i18n() -> None:
    """Translation catalogs (Vietnamese first, English second)."""


@i18n.command("update")
@click.argument("area", required=False)
def i18n_update(area: str | None) -> None:
    """Extract strings into each area's catalogs; print how many still need translating."""
    from casework import i18n as catalogs

    for item in catalogs.areas():
        if area and item.name != area:
            continue
        missing = catalogs.update(item)
        click.echo(f"{item.name}: " + ", ".join(f"{loc} {n} untranslated" for loc, n in missing.items()))


@i18n.command("compile")
def i18n_compile() -> None:
    """Compile .po catalogs to .mo."""
    from casework import i18n as catalogs

    for path in catalogs.compile_all():
        click.echo(f"wrote {path}")


@i18n.command("check")
def i18n_check() -> None:
    """Fail if any string is untranslated, fuzzy, not extracted, or any .mo is stale."""
    from casework import i18n as catalogs

    problems = catalogs.problems()
    for problem in problems:
        click.echo(problem)
    if problems:
        sys.exit(1)
    click.echo("OK")


# --- referrals ---------------------------------------------------------------------


@cli.group()
def referrals() -> None:
    """Referral housekeeping."""


@referrals.command("expire")
@click.pass_context
def referrals_expire(ctx: click.Context) -> None:
    """Cancel (reason expired) referrals still requested/received after their valid-until date (for cron)."""
    from sqlalchemy import func, select

    from casework.referrals.models import Referral
    from casework.referrals.services import expire_due

    _keyring, database = _database(_settings(ctx))
    with database.transaction() as session:
        count = expire_due(session)
        waiting = session.scalar(select(func.count()).select_from(Referral)
                                 .where(Referral.status.in_(("requested", "received")))) or 0
    click.echo(f"expired {count} referrals; {waiting} still waiting to be accepted")


# --- retention ---------------------------------------------------------------------


@cli.group()
def retention() -> None:
    """Erasing client records closed for longer than the retention period."""


@retention.command("run")
@click.option("--years", type=click.IntRange(min=1), default=None,
              help="erase clients closed more than N years ago (default: the retention_years setting)")
@click.pass_context
def retention_run(ctx: click.Context, years: int | None) -> None:
    """Erase closed clients past retention; prints counts only."""
    from casework import submissions
    from casework.auth import held
    from casework.clients.services import compact_after_erasure
    from casework.retention import erase_expired

    settings = _settings(ctx)
    years = years or settings.retention_years
    _keyring, database = _database(settings, check_schema=True)
    with database.transaction() as session:
        result = erase_expired(session, years=years)
        tokens = submissions.purge(session)  # used once-only form tokens, older than a week
        kept = held.purge_expired(session)  # forms kept across an idle timeout, past their minutes
    compact_after_erasure(database.engine)
    click.echo(f"erased {result.erased} client record(s) closed before {result.cutoff:%Y-%m-%d} "
               f"(retention {years} years)")
    click.echo(f"age band updated on {result.age_bands_updated} client record(s)")
    click.echo(f"purged {tokens} used form token(s) and {kept} expired kept form(s)")


# --- reports -----------------------------------------------------------------------

from casework.reports.cli import report  # noqa: E402  (the command group lives with its area)

cli.add_command(report)


# --- demo data ---------------------------------------------------------------------

from casework.demo_data import demo_data_command  # noqa: E402  (kept in its own module)

cli.add_command(demo_data_command)


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except CaseworkError as exc:
        click.echo(f"casework: {exc}", err=True)
        sys.exit(2)
    except SQLAlchemyError as exc:
        # The driver's first line only: statements and parameters stay out of the terminal.
        orig = getattr(exc, "orig", None)
        reason = str(orig).strip().splitlines()[0] if orig else exc.__class__.__name__
        click.echo(f"casework: the database refused the operation: {reason}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
