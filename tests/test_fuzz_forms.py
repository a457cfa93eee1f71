"""Every form, fuzzed through the real app as each role meets it.

The forms are not listed by hand: each role's pages are crawled from its start page, and every
``<form method="post">`` found there is fuzzed with hypothesis — random Unicode, control
characters, huge values, missing, duplicated, wrong-typed and unknown fields — always with a valid
CSRF token, so that the input reaches validation. For every request:

- never a 500, never a stack trace;
- a refused request (an error status, an error message on the page, or an error flashed after a
  redirect) changes no table's row count: nothing is half-saved.

Examples are derandomised so CI runs the same cases every time; ``CASEWORK_FUZZ_EXAMPLES`` raises
their number for a longer local run.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from conftest import Account, Browser
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from test_referrals_support import make_client, make_referral, make_service
from werkzeug.datastructures import MultiDict

from casework import clock
from casework.approvals.services import propose_caseload_move
from casework.auth import passwords
from casework.auth.models import User
from casework.clients.models import Client, FollowUp
from casework.models import Base

EXAMPLES = int(os.environ.get("CASEWORK_FUZZ_EXAMPLES", "8"))
MAX_PAGES = 80
SKIP_LINKS = re.compile(r"/static/|/export|\.csv|\.xlsx|\.json|\.xml|/logout|/print|/slip\.|download")
# Rows that a refused request may still add: its own audit trail and the sign-in bookkeeping.
UNCOUNTED = {"audit_events", "user_sessions"}
ERROR_MARKERS = ('class="error"', "flash-error")


@dataclass
class Form:
    action: str
    fields: dict[str, list[str]] = field(default_factory=dict)  # name -> the values the page offers


class _FormParser(HTMLParser):
    def __init__(self, page: str) -> None:
        super().__init__()
        self.page = page
        self.forms: list[Form] = []
        self.links: list[str] = []
        self._form: Form | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "a" and a.get("href"):
            self.links.append(urljoin(self.page, a["href"]))
        elif tag == "form" and a.get("method", "get").lower() == "post":
            self._form = Form(urlsplit(urljoin(self.page, a.get("action") or self.page)).path)
            self.forms.append(self._form)
        elif self._form is not None and tag in ("input", "textarea", "select") and a.get("name"):
            name = a["name"]
            if name == "csrf_token" or (a.get("type") == "submit" and not a.get("value")):
                return
            values = self._form.fields.setdefault(name, [])
            if tag == "input" and a.get("value"):
                values.append(a["value"])
            if tag == "select":
                self._select = name
        elif tag == "option" and self._form is not None and self._select:
            self._form.fields[self._select].append(a.get("value", ""))
        elif tag == "button" and self._form is not None and a.get("name"):
            self._form.fields.setdefault(a["name"], []).append(a.get("value", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


def crawl(browser: Browser, start: str = "/") -> dict[str, Form]:
    """Every POST form reachable by links from ``start`` (one visit per path)."""
    seen: set[str] = set()
    queue = [start]
    forms: dict[str, Form] = {}
    while queue and len(seen) < MAX_PAGES:
        url = queue.pop(0)
        path = urlsplit(url).path
        if path in seen:
            continue
        seen.add(path)
        response = browser.get(url, follow_redirects=True)
        if response.status_code != 200 or "text/html" not in response.content_type:
            continue
        parser = _FormParser(url)
        parser.feed(browser.last_html)
        for form in parser.forms:
            forms.setdefault(form.action, form)
        for link in parser.links:
            parts = urlsplit(link)
            if not parts.netloc or parts.netloc == "localhost":
                if parts.path.startswith("/") and not SKIP_LINKS.search(parts.path) and parts.path not in seen:
                    queue.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return forms


# --- what is sent ----------------------------------------------------------------------------

WRONG_TYPES = ["-1", "0", "1e309", "NaN", "99999999999999999999999", "null", "[]", "{}", "true",
               "2026-02-30", "0000-00-00", "9999-12-31", "31/12/2026", "<script>alert(1)</script>",
               "' OR 1=1 --", "../../etc/passwd", "%00", "\u202e\u200b", "😀" * 40]
any_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60)
controls = st.text(alphabet=st.characters(max_codepoint=0x1F), min_size=1, max_size=20)
huge = st.sampled_from([300, 2_001, 20_000, 200_000]).map(lambda n: "Ư" * n)


def value_for(offered: list[str]) -> st.SearchStrategy[str]:
    options = [st.sampled_from(offered)] if offered else []
    return st.one_of(*options, any_text, controls, huge, st.sampled_from(WRONG_TYPES))


@st.composite
def payloads(draw: Any, form: Form) -> MultiDict:
    data = MultiDict()
    for name, offered in form.fields.items():
        shape = draw(st.sampled_from(["value", "value", "value", "missing", "twice"]))
        if shape == "missing":
            continue
        for _ in range(2 if shape == "twice" else 1):
            data.add(name, draw(value_for(offered)))
    for _ in range(draw(st.integers(0, 2))):
        data.add(draw(st.text(min_size=1, max_size=12)), draw(any_text))
    return data


# --- the world and its people ----------------------------------------------------------------


@pytest.fixture
def world(database, make_user, make_organisation):
    org = make_organisation()
    place = make_service(database, org)
    owner = make_user("collaborator")
    colleague = make_user("collaborator")
    client_id, _code = make_client(database, owner.user_id, with_history=True)
    closed_id, _code = make_client(database, owner.user_id)
    make_client(database, colleague.user_id)
    make_referral(database, client_id=client_id, place=place, referred_by=owner.user_id)
    make_referral(database, client_id=client_id, place=place, referred_by=owner.user_id, status="accepted")
    people = {
        "anonymous": None,
        "collaborator": owner,
        "provider": make_user("provider", organisation_id=org),
        "supervisor": make_user("supervisor"),
        "admin": make_user("admin"),
        "second_admin": make_user("admin"),
        "colleague": colleague,
        "former": make_user("collaborator"),
    }
    with database.transaction() as session:
        session.add(FollowUp(client_id=client_id, created_by=owner.user_id, due_on=clock.local_today()))
        session.get(Client, closed_id).status = "closed"
        session.get(User, people["former"].user_id).active = False
        # Changes waiting for a second administrator: one for each admin to decide, or withdraw.
        for by, to in (("second_admin", "collaborator"), ("admin", "colleague")):
            actor = session.get(User, people[by].user_id)
            source = people["colleague" if to == "collaborator" else "collaborator"].user_id
            propose_caseload_move(session, actor, source, people[to].user_id, "long_absence")
    return people


def repair(database, account: Account) -> None:
    """Put an account back as the fixture made it (a fuzzed admin form may have changed it, a fuzzed
    password check may have locked it): the harness's step, not casework's."""
    with database.transaction() as session:
        user = session.get(User, account.user_id)
        user.active, user.failed_logins, user.locked_until, user.lockouts = True, 0, None, 0
        user.role, user.organisation_id = account.role, account.organisation_id
        user.password_hash = passwords.hash_password(account.password)
        user.must_change_password = False
        user.totp_secret = account.totp_secret


def ensure_signed_in(browser: Browser, database, account: Account | None) -> None:
    if account is None:
        return
    response = browser.client.get("/account")
    if response.status_code == 200:
        return
    repair(database, account)
    browser.login(account)


def table_counts(database) -> dict[str, int]:
    with database.transaction() as session:
        return {t.name: session.scalar(select(func.count()).select_from(t))
                for t in Base.metadata.sorted_tables if t.name not in UNCOUNTED}


def refused(browser: Browser, response: Any) -> bool:
    if response.status_code >= 400:
        return True
    if response.status_code in (301, 302, 303):
        browser.get(response.headers["Location"])
    return any(marker in browser.last_html for marker in ERROR_MARKERS)


# --- the test --------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["anonymous", "collaborator", "provider", "supervisor", "admin"])
def test_every_form_survives_fuzzing_without_a_500_or_a_partial_write(role, world, app, database, clock):
    account = world[role]
    browser = Browser(app.test_client(), clock)
    if account is not None:
        browser.login(account)
    forms = crawl(browser, "/" if account is not None else "/login")
    assert forms, f"no form found on {role}'s pages"
    print(f"{role}: {len(forms)} forms: {sorted(forms)}")
    failures: list[str] = []

    for form in forms.values():
        try:
            fuzz_form(browser, database, account, role, form)
        except AssertionError as exc:
            failures.append(str(exc).splitlines()[0])
    assert not failures, "\n".join(failures)


def fuzz_form(browser: Browser, database, account: Account | None, role: str, form: Form) -> None:
    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(data=payloads(form))
    def fuzz(data: MultiDict) -> None:
        ensure_signed_in(browser, database, account)
        page = browser.get("/account" if account is not None else "/login")
        token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page.get_data(as_text=True))
        data.setlist("csrf_token", [token.group(1)])
        before = table_counts(database)
        response = browser.client.post(form.action, data=data)
        browser.last_html = response.get_data(as_text=True)
        assert response.status_code != 500, (
            f"{role} POST {form.action} answered 500 for {dict(data.lists())!r:.300}")
        assert "Traceback" not in browser.last_html
        if refused(browser, response):
            after = table_counts(database)
            changed = {t: (before[t], after[t]) for t in before if before[t] != after[t]}
            assert not changed, f"{role} POST {form.action} was refused but changed {changed}"

    fuzz()
