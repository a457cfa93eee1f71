"""End-to-end fixtures: the real casework app served by waitress on 127.0.0.1, driven by
Debian's chromium through Playwright, on a 360 x 740 phone-sized viewport.

The app is the one ``tests/conftest.py`` builds (real database, real keyring, CSRF on,
production mode). Its ``clock`` fixture freezes ``casework.clock.utcnow`` for the server
thread too, so a test that types a TOTP code must first move the clock to a fresh
30-second step (``fresh_code``), exactly as the Flask-client tests do.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import stop_waitress

from casework.auth import totp

from .pages import follow

CHROMIUM = shutil.which("chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"width": 360, "height": 740}
TIMEOUT_MS = 15_000


# --- the live server -------------------------------------------------------------------


@dataclass
class LiveServer:
    url: str
    app: object

    def __call__(self, path: str = "/") -> str:
        return self.url + path

    def url_for(self, endpoint: str, **values: object) -> str:
        """The path of an endpoint, built by the app itself (no guessed URLs)."""
        from flask import url_for

        with self.app.test_request_context():  # type: ignore[attr-defined]
            return url_for(endpoint, **values)

    def has(self, *endpoints: str) -> bool:
        return all(e in self.app.view_functions for e in endpoints)  # type: ignore[attr-defined]


@pytest.fixture
def live_server(app) -> Iterator[LiveServer]:
    """``app`` served by waitress in a background thread on a free port of 127.0.0.1."""
    from waitress.server import create_server

    server = create_server(app, host="127.0.0.1", port=0, threads=4, ident="casework-test",
                           clear_untrusted_proxy_headers=True)
    thread = threading.Thread(target=server.run, name="casework-live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{server.effective_port}", app)
    finally:
        stop_waitress(server, thread)


# --- chromium ------------------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium() -> Iterator[object]:
    if CHROMIUM is None:
        pytest.skip("browser tests need Debian's chromium (apt-get install chromium); it is not installed")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("browser tests need Playwright for Python (pip install -e '.[test]')")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class ConsoleLog:
    """What the page said on its console and every uncaught error, for CSP checks."""

    messages: list[str] = field(default_factory=list)

    def errors(self, *, expected_missing: tuple[str, ...] = ()) -> list[str]:
        """Errors and uncaught exceptions, except 404s the test expects.

        base.html declares an empty icon, so Chromium does not ask for /favicon.ico.
        """
        missing = expected_missing
        return [
            m for m in self.messages
            if m.startswith(("error:", "pageerror:"))
            and not ("Failed to load resource" in m and m.rstrip("]").endswith(missing))
        ]


@pytest.fixture
def console() -> ConsoleLog:
    return ConsoleLog()


@pytest.fixture
def new_page(chromium, live_server: LiveServer, console: ConsoleLog) -> Iterator[object]:
    """``new_page()``: another person's phone — a fresh browser profile (no cookies) on a
    360-px-wide screen, reporting to the same console log."""
    contexts = []

    def _open():
        context = chromium.new_context(viewport=PHONE, locale="vi-VN",  # type: ignore[attr-defined]
                                       base_url=live_server.url)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        opened = context.new_page()
        opened.on("console", lambda msg: console.messages.append(
            f"{msg.type}: {msg.text} [{msg.location.get('url')}]"))
        opened.on("pageerror", lambda exc: console.messages.append(f"pageerror: {exc}"))
        return opened

    try:
        yield _open
    finally:
        for context in contexts:
            context.close()


@pytest.fixture
def page(new_page) -> object:
    """The first person's phone."""
    return new_page()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """Where screenshots go: ``CASEWORK_SCREENSHOTS`` when set (for people to look at), else the
    test's temporary folder."""
    folder = Path(os.environ.get("CASEWORK_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# --- people ------------------------------------------------------------------------------


@pytest.fixture
def fresh_code(clock):
    """``fresh_code(secret)``: move the frozen clock to a new TOTP step and return its code."""

    def _code(secret: str) -> str:
        clock.advance(seconds=31)
        return totp.code_at(secret, clock.now)

    return _code


@pytest.fixture
def sign_in(live_server: LiveServer, fresh_code):
    """``sign_in(page, account)``: the real sign-in forms, second factor included."""

    def _sign_in(page, account) -> None:
        page.goto(live_server.url_for("auth.login"))
        page.fill("#username", account.username)
        page.fill("#password", account.password)
        follow(page.locator("main form button.primary"))
        if account.totp_secret:
            page.fill("#code", fresh_code(account.totp_secret))
            follow(page.locator("main form button.primary"))

    return _sign_in
