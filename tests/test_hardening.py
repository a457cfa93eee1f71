"""What a careless or hostile client meets at the edge, through the real server (waitress with the
options `casework serve` uses): a wrong method is 405, an oversized body 413, an unknown host 400,
always without a stack trace."""

from __future__ import annotations

import http.client
import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import replace

import pytest
from conftest import stop_waitress

from casework import create_app
from casework.cli import server_options

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


@pytest.fixture
def serve(settings):
    """``serve(**overrides)`` → the base address of casework served by waitress as in production."""
    from waitress.server import create_server

    running: list[tuple[object, threading.Thread, object]] = []

    def _serve(**overrides: object) -> tuple[str, int]:
        configured = replace(settings, **overrides)
        app = create_app(configured)
        options = server_options(configured) | {"port": 0, "host": "127.0.0.1"}
        server = create_server(app, **options)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        running.append((server, thread, app))
        return "127.0.0.1", server.effective_port

    yield _serve
    for server, thread, app in running:
        stop_waitress(server, thread)
        app.extensions["casework"].database.dispose()


def _request(address: tuple[str, int], method: str, path: str, *, body: bytes | None = None,
             headers: dict[str, str] | None = None) -> tuple[int, str]:
    conn = http.client.HTTPConnection(*address, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        conn.close()


def _concrete(rule: str) -> str:
    path = rule
    while "<" in path:
        start, end = path.index("<"), path.index(">")
        converter = path[start + 1:end]
        path = path[:start] + ("7" if converter.startswith("int:") else str(uuid.uuid4())) + path[end + 1:]
    return path


def _routes(app) -> Iterator[tuple[str, set[str]]]:
    for rule in app.url_map.iter_rules():
        if rule.endpoint != "static":
            yield _concrete(rule.rule), set(rule.methods or ()) - {"HEAD", "OPTIONS"}


def test_every_route_answers_a_method_it_does_not_take_with_405(app, serve):
    # Given casework served as in production, and every route with a method it does not take
    from werkzeug.exceptions import MethodNotAllowed

    address = serve()
    urls = app.url_map.bind("localhost")
    tried = 0
    for path, methods in _routes(app):
        for method in [m for m in ("GET", *WRITE_METHODS) if m not in methods][:2]:
            try:
                urls.match(path, method)
                continue  # another route takes this method here (GET /clients/find is a client page)
            except MethodNotAllowed:
                pass
            # When an anonymous client sends it, Then the answer is 405, before sign-in or CSRF is asked
            status, body = _request(address, method, path, body=b"" if method != "GET" else None)
            assert status == 405, (method, path, status)
            assert "Traceback" not in body
            tried += 1
    assert tried > 60


def test_a_body_over_the_limit_is_refused_with_413_before_it_is_read(serve, settings):
    address = serve(max_content_length=64 * 1024)
    too_big = b"body=" + b"x" * (64 * 1024 + 1)
    # With its length announced
    status, body = _request(address, "POST", "/login", body=too_big,
                            headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 413 and "Traceback" not in body
    # And sent in chunks, with no length announced
    with socket.create_connection(address, timeout=30) as raw:
        raw.sendall(b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
                    b"Content-Type: application/x-www-form-urlencoded\r\n\r\n")
        chunk = b"x" * 8192
        try:
            for _ in range(16):
                raw.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            raw.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server stopped reading: also a refusal
        answer = raw.recv(200)
    assert answer.startswith(b"HTTP/1.1 413"), answer
    # And a body under the limit still reaches casework (400: no CSRF token, not a size refusal)
    status, _body = _request(address, "POST", "/login", body=b"username=a&password=b",
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 400


def test_an_unknown_host_is_refused_with_400_when_trusted_hosts_are_set(serve):
    address = serve(trusted_hosts="casework.example.vn, .phuong.example.vn")
    # A trusted name, or a subdomain of a trusted domain, is served
    assert _request(address, "GET", "/login", headers={"Host": "casework.example.vn"})[0] == 200
    assert _request(address, "GET", "/login", headers={"Host": "ctv.phuong.example.vn"})[0] == 200
    # Any other Host is refused with casework's own 400 page, also on pages behind sign-in
    for path in ("/login", "/clients/", "/account/password"):
        status, body = _request(address, "GET", path, headers={"Host": "evil.example.com"})
        assert status == 400 and "Traceback" not in body, (path, status)
        assert 'lang="vi"' in body
    status, _body = _request(address, "POST", "/login", body=b"username=a&password=b",
                             headers={"Host": "evil.example.com", "Content-Type": "application/x-www-form-urlencoded"})
    assert status == 400


def test_without_trusted_hosts_any_host_is_served(serve):
    address = serve()
    assert _request(address, "GET", "/login", headers={"Host": "anything.example"})[0] == 200


def test_a_nul_or_control_character_in_any_text_field_is_refused_with_a_message(app, settings, make_user,
                                                                               make_organisation, clock):
    """PostgreSQL cannot store NUL: every form refuses control characters before anything is written
    (found by the form fuzzing, on a directory form that had no check of its own)."""
    from conftest import Browser

    from casework.directory.models import Location

    org = make_organisation()
    admin = Browser(app.test_client(), clock)
    admin.login(make_user("admin"))
    db = app.extensions["casework"].database
    with db.transaction() as session:
        location = Location(organisation_id=org, name="Cơ sở", address_1="Số 1", address_locality="Tân Hưng",
                            address_region="Hải Phòng", address_country="VN")
        session.add(location)
        session.flush()
        location_id = location.id
    admin.get(f"/directory/locations/{location_id}/edit")
    response = admin.post(f"/directory/locations/{location_id}/edit",
                          {"name": "Cơ sở", "address_1": "Số 1", "address_locality": "Tân Hưng",
                           "address_region": "Hải\x00Phòng", "address_country": "VN"})
    assert response.status_code == 200 and "ký tự điều khiển" in admin.last_html
    with db.transaction() as session:
        assert session.get(Location, location_id).address_region == "Hải Phòng"


@pytest.mark.parametrize("path", ["/clients/%00", "/referrals/%00", "/inbox/%00", "/admin/users/%01x",
                                  "/clients/x%00y/record"])
def test_a_control_character_in_a_url_is_a_404_not_a_server_error(signed_in, path):
    browser, _account = signed_in("collaborator")
    response = browser.get(path)
    assert response.status_code in (403, 404) and "Traceback" not in browser.last_html
