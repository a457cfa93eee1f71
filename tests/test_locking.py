"""Locks held only while writing: a page that is still rendering holds up no other request, on
either engine, and SQLite under many users at once answers every request (never a 500)."""

from __future__ import annotations

import http.cookiejar
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from typing import Any

import pytest
from conftest import BACKEND, CSRF_RE, stop_waitress
from flask import before_render_template, request
from test_attacks import make_client, signed_in_as

from casework.audit import verify
from casework.auth import totp

HELD_FOR = 8.0  # seconds the first page stays in its template, at most (the test releases it sooner)


@pytest.fixture
def two_caseloads(make_user, database):
    first, second = make_user("collaborator"), make_user("collaborator")
    first_client, _ = make_client(database, first.user_id, uic="ABCD1990F")
    second_client, _ = make_client(database, second.user_id, uic="EFGH1991F", alias="OTHERALIAS", phone="0912 000 111")
    return first, first_client, second, second_client


def _hold_while_rendering(app: Any, path_end: str) -> tuple[threading.Event, threading.Event, threading.Event]:
    """Keep the request whose path ends with ``path_end`` inside its template until released."""
    entered, release, left = threading.Event(), threading.Event(), threading.Event()

    def hold(_sender: Any, template: Any, **_extra: Any) -> None:
        if request.path.endswith(path_end) and not entered.is_set():
            entered.set()
            release.wait(HELD_FOR)
            left.set()

    before_render_template.connect(hold, app, weak=False)
    return entered, release, left


@pytest.mark.parametrize("second_request", ["read", "write"])
def test_a_page_still_rendering_holds_up_no_other_request(second_request, app, two_caseloads, new_browser,
                                                          database):
    first, first_client, second, second_client = two_caseloads
    slow, other = signed_in_as(new_browser, first), signed_in_as(new_browser, second)
    other.get(f"/clients/{second_client}")  # its CSRF token, for the write
    token = CSRF_RE.search(other.last_html).group(1)
    entered, release, left = _hold_while_rendering(app, first_client)
    answers: list[int] = []
    # Given one person's client page stuck in its template (it has read the record and audited the view)
    worker = threading.Thread(target=lambda: answers.append(slow.client.get(f"/clients/{first_client}").status_code))
    worker.start()
    try:
        assert entered.wait(10), "the first page never reached its template"
        # When someone else opens their own client's page, or writes a note on it
        if second_request == "read":
            response = other.client.get(f"/clients/{second_client}")
        else:
            response = other.client.post(f"/clients/{second_client}/notes",
                                         data={"body": "Ghi chú trong lúc trang kia đang hiện", "csrf_token": token})
        # Then it is answered while the first page is still rendering: nothing waited for it
        finished_first = left.is_set()
    finally:
        release.set()
        worker.join(20)
    assert response.status_code in (200, 302) and not finished_first
    assert answers == [200]
    # And both reads are in the audit log, in one unbroken chain
    with database.snapshot() as session:
        assert verify(session) is None


# --- SQLite under load, through the real server -----------------------------------------------------


class _Person:
    """One signed-in browser speaking HTTP to the real server (cookies, CSRF token)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
                                                  _NoRedirect())
        self.token = ""

    def call(self, method: str, path: str, data: dict[str, str] | None = None) -> tuple[int, str]:
        body = urllib.parse.urlencode({**(data or {}), "csrf_token": self.token}).encode() if data is not None else None
        req = urllib.request.Request(self.base + path, data=body, method=method)  # noqa: S310 (our own http://127.0.0.1 server)
        try:
            with self.opener.open(req, timeout=60) as response:
                status, html = response.status, response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as error:
            status, html = error.code, error.read().decode("utf-8", "replace")
        found = CSRF_RE.search(html)
        if found:
            self.token = found.group(1)
        return status, html


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_args: Any, **_kwargs: Any) -> None:
        return None  # a 302 is an answer like any other here


@pytest.mark.skipif(BACKEND != "sqlite", reason="SQLite's single writer is what this load is about")
def test_sqlite_answers_twenty_people_at_once_without_a_single_500(app, make_user, database, clock):
    from waitress.server import create_server

    people = [make_user("collaborator") for _ in range(20)]
    clients = [make_client(database, p.user_id, uic=f"LOAD{1960 + n}F")[0] for n, p in enumerate(people)]
    server = create_server(app, host="127.0.0.1", port=0, threads=8, ident="casework-test")
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.effective_port}"
    statuses: Counter[int] = Counter()
    lock = threading.Lock()

    def sign_in(account: Any) -> _Person:
        person = _Person(base)
        person.call("GET", "/login")
        assert person.call("POST", "/login", {"username": account.username, "password": account.password})[0] == 302
        person.call("GET", "/login/code")
        code = totp.code_at(account.totp_secret, clock.now)
        assert person.call("POST", "/login/code", {"code": code})[0] == 302
        return person

    clock.advance(seconds=31)
    signed = [sign_in(account) for account in people]

    def work(person: _Person, client_id: str) -> None:
        seen = []
        for n in range(6):
            seen.append(person.call("GET", "/clients/")[0])
            seen.append(person.call("GET", f"/clients/{client_id}")[0])
            seen.append(person.call("POST", f"/clients/{client_id}/notes", {"body": f"Ghi chú số {n}"})[0])
        with lock:
            statuses.update(seen)

    try:
        workers = [threading.Thread(target=work, args=(p, c)) for p, c in zip(signed, clients, strict=True)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(120)
    finally:
        stop_waitress(server, thread)
    # Then every request got an answer, and none of them was a server error
    assert sum(statuses.values()) == 20 * 18
    assert set(statuses) <= {200, 302, 503}, statuses
    assert statuses[503] == 0 or statuses[503] < 20 * 18 // 10, statuses
    with database.snapshot() as session:
        assert verify(session) is None
