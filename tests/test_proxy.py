"""Behind a reverse proxy (CASEWORK_PROXY_COUNT), rate limits key on the real client address."""

import dataclasses
import re

import pytest
from conftest import stop_waitress

from casework import create_app

CSRF_RE = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


@pytest.fixture
def proxied_app(settings):
    proxied = dataclasses.replace(settings, proxy_count=1, login_rate_limit="3 per minute")
    app = create_app(proxied)
    yield app
    app.extensions["casework"].database.dispose()


def _failed_logins(client, forwarded_for: str, times: int) -> list[int]:
    codes = []
    for _ in range(times):
        page = client.get("/login", headers={"X-Forwarded-For": forwarded_for}).get_data(as_text=True)
        token = CSRF_RE.search(page).group(1)
        response = client.post("/login", data={"username": "nobody", "password": "wrong password!!",
                                               "csrf_token": token},
                               headers={"X-Forwarded-For": forwarded_for})
        codes.append(response.status_code)
    return codes


def test_each_client_behind_the_proxy_has_its_own_rate_limit(proxied_app):
    # Given two people behind the same proxy
    first, second = proxied_app.test_client(), proxied_app.test_client()
    # When the first one fails to sign in more often than the limit allows
    assert _failed_logins(first, "203.0.113.7", 4)[-1] == 429
    # Then the second one, at another address, is not locked out with them
    assert _failed_logins(second, "198.51.100.9", 1) == [200]


@pytest.mark.parametrize(("proxy_count", "https_seen"), [(0, False), (1, True)])
def test_the_production_server_passes_forwarded_headers_only_when_a_proxy_is_trusted(settings, proxy_count,
                                                                                     https_seen):
    # Given casework served by waitress as `casework serve` does, behind a TLS proxy or not
    import http.client
    import socket
    import threading

    from waitress.server import create_server

    from casework.cli import server_options

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    configured = dataclasses.replace(settings, proxy_count=proxy_count, port=port)
    app = create_app(configured)
    server = create_server(app, **server_options(configured))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        # When a request arrives saying it came over HTTPS
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/login", headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.5"})
        response = conn.getresponse()
        response.read()
        # Then casework believes it (and sends HSTS) only when it trusts one proxy
        assert response.status == 200
        assert (response.getheader("Strict-Transport-Security") is not None) is https_seen
        conn.close()
    finally:
        stop_waitress(server, thread)
        app.extensions["casework"].database.dispose()


def test_a_huge_body_is_refused_by_the_server_before_it_is_read(settings):
    # Given casework served by waitress as `casework serve` does
    import socket
    import threading
    import time

    from waitress.server import create_server

    from casework.cli import server_options

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    configured = dataclasses.replace(settings, port=port)
    app = create_app(configured)
    server = create_server(app, **server_options(configured))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        # When someone who is not signed in announces a 400 MB sign-in form and sends none of it
        with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
            started = time.monotonic()
            conn.sendall(b"POST /login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded"
                         b"\r\nContent-Length: 400000000\r\n\r\nusername=x")
            answer = conn.recv(4096).decode("latin-1")
        # Then the server answers 413 at once, without waiting for (or storing) the body
        assert answer.startswith("HTTP/1.1 413"), answer[:80]
        assert time.monotonic() - started < 5
    finally:
        stop_waitress(server, thread)
        app.extensions["casework"].database.dispose()
