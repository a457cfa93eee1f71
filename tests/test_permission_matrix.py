"""Every endpoint × every role, against one expectation table (deny by default, docs/DESIGN.md §1, §7).

How the table is kept
---------------------
The table is split by area so engineers do not edit the same file. Every module
``tests/access_<area>.py`` exports::

    EXPECTED: dict[str, dict[str, str]]
        endpoint name → {role → outcome}, with a row for every role in
        ``ROLES_UNDER_TEST`` ("anonymous", "collaborator", "provider", "supervisor", "admin").

    URL_ARGS: dict[str, dict[str, str | Callable[[World, str], str]]]   (optional)
        endpoint name → {URL argument → value}. A value may be a callable taking
        the test's ``World`` and the role under test, so an object URL can point at
        an object the role does NOT own (another collaborator's client, a referral
        to another organisation). Arguments not given get a random UUID, which
        must answer "notfound" (or "forbidden" before the object is looked up).

Outcomes (what the role observes):
    "ok"          200 (or 204: an answer without a body)
    "login"       302/303 to the sign-in page
    "redirect"    302/303 anywhere else
    "forbidden"   403
    "notfound"    404
    "badrequest"  400
Alternatives are written "ok|redirect" where the answer legitimately depends on
which other areas are installed (e.g. the start page forwards to an area's home).

How it is walked
----------------
For every rule in ``app.url_map`` except ``static``: a rule that answers GET is
requested with GET; a POST-only rule is requested with POST carrying a valid
CSRF token and no other data (so CSRF never hides what the policy decides).
GETs share one signed-in browser per role; each POST gets a fresh sign-in,
since a POST may end the session (sign out) or change the account.

The test FAILS for any endpoint in ``url_map`` missing from the merged table,
for table rows naming endpoints that do not exist, for an endpoint listed by
two modules, and for any answer that differs from the table.
"""

from __future__ import annotations

import importlib.util
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

ROLES_UNDER_TEST = ("anonymous", "collaborator", "provider", "supervisor", "admin")
OUTCOMES = {"ok", "login", "redirect", "forbidden", "notfound", "badrequest"}
TESTS_DIR = Path(__file__).parent


def _load_tables() -> tuple[dict[str, dict[str, str]], dict[str, dict[str, Any]], list[str]]:
    expected: dict[str, dict[str, str]] = {}
    url_args: dict[str, dict[str, Any]] = {}
    clashes: list[str] = []
    owner: dict[str, str] = {}
    for path in sorted(TESTS_DIR.glob("access_*.py")):
        spec = importlib.util.spec_from_file_location(f"_matrix_{path.stem}", path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for endpoint, row in module.EXPECTED.items():
            if endpoint in owner:
                clashes.append(f"{endpoint} is in both {owner[endpoint]} and {path.name}")
            owner[endpoint] = path.name
            expected[endpoint] = row
        url_args.update(getattr(module, "URL_ARGS", {}))
    return expected, url_args, clashes


EXPECTED, URL_ARGS, CLASHES = _load_tables()


@dataclass
class World:
    """What an access module may use to point a URL at an object the role does not own."""

    make_user: Callable[..., Any]
    make_organisation: Callable[..., str]
    database: Any
    accounts: dict[str, Any] = field(default_factory=dict)
    cache: dict[str, Any] = field(default_factory=dict)


@pytest.fixture
def settings(settings):
    # Every POST signs in afresh; the per-IP sign-in limit is tested in test_auth_login.py.
    settings.login_rate_limit = "100000 per minute"
    return settings


def outcome_of(response: Any) -> str:
    code = response.status_code
    if code in (301, 302, 303, 307, 308):
        return "login" if urlsplit(response.headers["Location"]).path == "/login" else "redirect"
    return {200: "ok", 204: "ok", 400: "badrequest", 403: "forbidden", 404: "notfound"}.get(code, str(code))


def _rules(app: Any) -> list[Any]:
    return sorted((r for r in app.url_map.iter_rules() if r.endpoint != "static"), key=lambda r: r.rule)


def _url(app: Any, rule: Any, world: World, role: str) -> str:
    given = URL_ARGS.get(rule.endpoint, {})
    values = {}
    for name in rule.arguments:
        value = given.get(name, str(uuid.uuid4()))
        values[name] = value(world, role) if callable(value) else value
    adapter = app.url_map.bind("localhost")
    return adapter.build(rule.endpoint, values, method=_method(rule))


def _method(rule: Any) -> str:
    return "GET" if "GET" in rule.methods else "POST"


def test_the_table_covers_every_endpoint_and_nothing_else(app):
    # Given the application with every area installed
    endpoints = {r.endpoint for r in app.url_map.iter_rules()} - {"static"}
    # Then every endpoint has a row, no row is stale, and no endpoint is claimed twice
    assert not CLASHES
    assert sorted(endpoints - EXPECTED.keys()) == [], "endpoints missing from tests/access_*.py"
    assert sorted(EXPECTED.keys() - endpoints) == [], "rows for endpoints that do not exist"
    for endpoint, row in EXPECTED.items():
        assert set(row) == set(ROLES_UNDER_TEST), f"{endpoint}: a row needs every role"
        for outcome in row.values():
            assert set(outcome.split("|")) <= OUTCOMES, f"{endpoint}: unknown outcome {outcome!r}"


def test_nothing_but_the_public_allowlist_answers_anonymous_visitors():
    # Given the merged table, Then an anonymous visitor is sent to sign in or refused everywhere
    # except on the short public allowlist (docs/DESIGN.md §7)
    from casework.policy import PUBLIC_ENDPOINTS

    open_to_anonymous = {e for e, row in EXPECTED.items()
                         if set(row["anonymous"].split("|")) - {"login", "forbidden"}}
    assert open_to_anonymous <= PUBLIC_ENDPOINTS


@pytest.mark.parametrize("role", ROLES_UNDER_TEST)
def test_every_endpoint_answers_the_role_as_the_table_says(role, app, new_browser, make_user,
                                                          make_organisation, database):
    # Given a person of the role (a provider belongs to an organisation of their own)
    world = World(make_user, make_organisation, database)
    account = None
    if role != "anonymous":
        organisation = make_organisation("Own organisation") if role == "provider" else None
        account = make_user(role, organisation_id=organisation)
        world.accounts[role] = account

    def browser_for_role():
        browser = new_browser()
        if account is not None:
            browser.login(account)
        return browser

    token_page = "/login" if account is None else "/account"
    rules = [r for r in _rules(app) if r.endpoint in EXPECTED]
    gets = [r for r in rules if _method(r) == "GET"]
    posts = [r for r in rules if _method(r) == "POST"]
    wrong = []
    # When they request every GET endpoint in one session, then every POST-only endpoint afresh
    shared = browser_for_role()
    for rule in gets:
        url = _url(app, rule, world, role)
        got = outcome_of(shared.client.get(url))
        if got not in EXPECTED[rule.endpoint][role].split("|"):
            wrong.append(f"GET {url} ({rule.endpoint}): expected {EXPECTED[rule.endpoint][role]}, got {got}")
    for rule in posts:
        browser = browser_for_role()
        url = _url(app, rule, world, role)
        got = outcome_of(browser.post(url, {}, page=token_page))
        if got not in EXPECTED[rule.endpoint][role].split("|"):
            wrong.append(f"POST {url} ({rule.endpoint}): expected {EXPECTED[rule.endpoint][role]}, got {got}")
    # Then every answer is the one in the table
    assert wrong == [], "\n".join(wrong)


def test_a_view_that_forgets_to_declare_its_roles_is_refused_to_everyone(app, signed_in):
    # Given a view added without @allow (a mistake the policy must catch)
    app.add_url_rule("/forgotten", "forgotten", lambda: "secret")
    # When an administrator (the widest role) asks for it
    browser, _account = signed_in("admin")
    # Then it is refused, as it is to an anonymous visitor
    assert browser.get("/forgotten").status_code == 403
    assert outcome_of(app.test_client().get("/forgotten")) == "login"
