"""Shared fixtures: a real database (SQLite file, or PostgreSQL when configured),
a real keyring, real crypto, CSRF on, and a controllable clock.

Backend: ``CASEWORK_TEST_DATABASE_URL`` unset → SQLite files in a temp folder;
set to a PostgreSQL URL → that server (tables truncated between tests).
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from argon2.low_level import Type
from sqlalchemy import text
from sqlalchemy.engine import make_url

from casework import clock as clock_module
from casework import create_app, migrate
from casework.auth import passwords, totp
from casework.auth.models import User
from casework.config import Settings
from casework.crypto import Keyring
from casework.db import make_engine

PG_URL = os.environ.get("CASEWORK_TEST_DATABASE_URL", "")
BACKEND = "postgresql" if PG_URL.startswith("postgres") else "sqlite"
CSRF_RE = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def pytest_report_header(config: pytest.Config) -> str:
    return f"casework test database: {BACKEND}{' ' + PG_URL if PG_URL else ''}"


# --- fast password hashing, only here ------------------------------------------------


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2id with tiny parameters so tests run fast; production constants are untouched."""
    monkeypatch.setattr(passwords, "hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1,
                                                             type=Type.ID))
    monkeypatch.setattr(passwords, "_DUMMY_HASH", [])


# --- clock ---------------------------------------------------------------------------


@dataclass
class FakeClock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock(clock_module.utcnow())
    monkeypatch.setattr(clock_module, "utcnow", fake)
    return fake


# --- database ------------------------------------------------------------------------


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()
    return path


@contextmanager
def pg_database(purpose: str, *, migrated: bool = True) -> Iterator[str]:
    """A new database on the configured PostgreSQL server (migrated to head unless told not),
    dropped afterwards, named by ``purpose``, the process and a random suffix so that several runs
    (or engineers) can share one server."""
    base = make_url(PG_URL).set(drivername="postgresql+psycopg")
    name = f"{base.database}_{purpose}_{os.getpid()}_{secrets.token_hex(3)}"
    admin = make_engine(base.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    try:
        if migrated:
            engine = make_engine(url)
            migrate.upgrade(engine)
            engine.dispose()
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def _pg_ready() -> Iterator[str]:
    """A database of this test run's own on the configured server, dropped at the end."""
    with pg_database("run") as url:
        yield url


def _truncate_pg(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        tables = [r[0] for r in conn.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname='public' AND tablename <> 'alembic_version'"))]
        if tables:
            # As the database's owner, past the audit log's refusal of TRUNCATE (migration 0005).
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " CASCADE"))
    engine.dispose()


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if BACKEND == "postgresql":
        url = request.getfixturevalue("_pg_ready")
        _truncate_pg(url)
        yield url
        return
    template = request.getfixturevalue("_sqlite_template")
    target = tmp_path / "casework.sqlite3"
    shutil.copyfile(template, target)
    target.chmod(0o600)  # as casework creates it; a file others can read is refused
    yield f"sqlite:///{target}"


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    instance = tmp_path / "instance"
    instance.mkdir(exist_ok=True)
    keys_dir = instance / "keys"
    Keyring.create(keys_dir)
    return Settings(mode="production", instance_path=instance, database_url=database_url,
                    keys_dir=keys_dir, login_rate_limit="1000 per minute")


@pytest.fixture
def app(settings: Settings):
    application = create_app(settings)
    application.config["TESTING"] = True  # CSRF stays on: WTF_CSRF_ENABLED is untouched
    yield application
    application.extensions["casework"].database.dispose()


@pytest.fixture
def database(app):
    """The app's Database, for Given steps and for inspecting what was stored."""
    return app.extensions["casework"].database


# --- people and browsers ---------------------------------------------------------------


@dataclass
class Account:
    user_id: str
    username: str
    password: str
    role: str
    totp_secret: str | None
    organisation_id: str | None = None
    display_name: str = ""


@pytest.fixture
def make_user(database):
    """Create a ready account (own password set, second factor enrolled)."""
    from casework.admin.services import create_account

    counter = {"n": 0}

    def _make(role: str = "collaborator", *, organisation_id: str | None = None,
              username: str | None = None, second_factor: bool = True) -> Account:
        counter["n"] += 1
        name = username or f"{role}{counter['n']}"
        password = f"correct horse battery {counter['n']} staple"
        secret = totp.new_secret() if second_factor else None
        with database.transaction() as session:
            user = create_account(session, None, username=name, display_name=f"Staff {name}",
                                  role=role, password=password, organisation_id=organisation_id,
                                  work_phone="0225 111 2222")
            user.must_change_password = False
            if secret:
                user.totp_secret = secret
            user_id = user.id
        return Account(user_id, name, password, role, secret, organisation_id, f"Staff {name}")

    return _make


@pytest.fixture
def make_organisation(database):
    from casework.db import new_id
    from casework.directory.models import Organisation

    def _make(name: str = "Trạm Y tế phường", kind: str = "health_station") -> str:
        with database.transaction() as session:
            org = Organisation(id=new_id(), name=name, kind=kind)
            session.add(org)
            return org.id

    return _make


@dataclass
class Browser:
    """A Flask test client that behaves like a person with a browser: it reads the
    CSRF token from the page it is on and sends it with every form."""

    client: object
    clock: FakeClock
    last_html: str = ""
    history: list[str] = field(default_factory=list)

    def get(self, url: str, **kwargs: object):
        response = self.client.get(url, **kwargs)
        self.last_html = response.get_data(as_text=True)
        return response

    def csrf_token(self, page: str | None = None) -> str:
        html = self.last_html
        if page is not None or not CSRF_RE.search(html or ""):
            html = self.client.get(page or "/login").get_data(as_text=True)
        match = CSRF_RE.search(html)
        assert match, "no CSRF token on the page"
        return match.group(1)

    def post(self, url: str, data: dict | None = None, *, page: str | None = None,
             csrf: bool = True, **kwargs: object):
        payload = dict(data or {})
        if csrf and "csrf_token" not in payload:
            payload["csrf_token"] = self.csrf_token(page)
        response = self.client.post(url, data=payload, **kwargs)
        self.last_html = response.get_data(as_text=True)
        return response

    def login(self, account: Account):
        """Sign in through the real forms, second factor included."""
        self.clock.advance(seconds=31)  # a new TOTP step: codes cannot be replayed
        response = self.post("/login", {"username": account.username, "password": account.password},
                             page="/login")
        assert response.status_code == 302, f"password step failed for {account.username}"
        if account.totp_secret:
            code = totp.code_at(account.totp_secret, self.clock.now)
            response = self.post("/login/code", {"code": code}, page="/login/code")
            assert response.status_code == 302, f"second factor failed for {account.username}"
        return response


@pytest.fixture
def browser(app, clock: FakeClock) -> Browser:
    return Browser(app.test_client(), clock)


@pytest.fixture
def new_browser(app, clock: FakeClock):
    """A second, independent browser (another person or device)."""
    return lambda: Browser(app.test_client(), clock)


@pytest.fixture
def signed_in(browser: Browser, make_user):
    """``signed_in("collaborator")`` → (browser, account) for a fresh account of that role."""

    def _sign_in(role: str = "collaborator", **kwargs: object) -> tuple[Browser, Account]:
        account = make_user(role, **kwargs)
        browser.login(account)
        return browser, account

    return _sign_in


def user_row(database, user_id: str) -> User:
    with database.transaction() as session:
        return session.get(User, user_id)


# --- what an operator or an attacker with the files sees -----------------------------------


def run_casework(settings: Settings, *args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
    """`casework ARGS` in a fresh process, configured only through CASEWORK_* variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASEWORK_")}
    env |= {"CASEWORK_MODE": settings.mode, "CASEWORK_INSTANCE_PATH": str(settings.instance_path),
            "CASEWORK_KEYS_DIR": str(settings.keys_dir), "CASEWORK_DATABASE_URL": settings.database_url,
            **extra_env}
    return subprocess.run([sys.executable, "-m", "casework.cli", *args], env=env, capture_output=True,
                          text=True, timeout=120)


def raw_database_bytes(database_url: str) -> bytes:
    """Every byte the database holds: the SQLite file and its WAL, or a PostgreSQL dump."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        path = Path(url.database)
        return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        pytest.skip("pg_dump is not installed: cannot inspect the raw PostgreSQL data")
    plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
    return subprocess.run([pg_dump, "--dbname", plain], capture_output=True, timeout=120, check=True).stdout


def stop_waitress(server, thread) -> None:
    """Stop a waitress server run in a thread: every socket is closed from inside its own loop
    (closing them from here races with select() and ends in EBADF), then the loop ends."""

    def close_everything() -> None:
        for channel in list(server._map.values()):
            channel.close()

    try:
        server.trigger.pull_trigger(close_everything)
    except OSError:
        # The trigger's pipe is already gone (seen rarely on a busy machine, after the test itself
        # had its answer): the loop can no longer be woken, so close what is left from here.
        close_everything()
    thread.join(timeout=5)
    server.task_dispatcher.shutdown()


# --- the report tests' ward and its year (tests/test_reports_support.py) -----------------------------

from test_reports_support import story, ward  # noqa: E402, F401  (fixtures shared by the report tests)
