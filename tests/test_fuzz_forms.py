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
from typing import Any

import pytest
from conftest import Account, Browser
from crawl_support import Form, crawl
from crawl_support import world as world  # the fixture, by its name
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from casework.auth import passwords
from casework.auth.models import User
from casework.models import Base

EXAMPLES = int(os.environ.get("CASEWORK_FUZZ_EXAMPLES", "8"))
# Rows that a refused request may still add: its own audit trail and the sign-in bookkeeping.
UNCOUNTED = {"audit_events", "user_sessions"}
ERROR_MARKERS = ('class="error"', "flash-error")


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
