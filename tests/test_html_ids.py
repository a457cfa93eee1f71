"""Every page a role reaches has unique HTML ids.

Pages hold several forms at once (the header's "Lock now" and language forms, a note form
beside a follow-up form, one form per referral action...). Duplicate ids are invalid HTML
and make screen readers announce the wrong label, so no id may appear twice, and hidden
inputs (the CSRF token above all) carry none: nothing labels or points at them.
"""

from __future__ import annotations

import re
from collections import Counter
from html.parser import HTMLParser

import pytest
from conftest import CSRF_RE
from test_clients_support import register
from test_referrals_support import make_client, make_referral, make_service


class _Ids(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: Counter[str] = Counter()
        self.hidden_with_id: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if attributes.get("id") is not None:
            self.ids[attributes["id"]] += 1
        if tag == "input" and attributes.get("type") == "hidden" and "id" in attributes:
            self.hidden_with_id.append(f'{attributes.get("name")} (id="{attributes["id"]}")')


def _check(browser, url: str) -> str:
    response = browser.get(url, follow_redirects=True)
    assert response.status_code == 200, f"{url} → {response.status_code}"
    html = browser.last_html
    parser = _Ids()
    parser.feed(html)
    parser.close()
    duplicates = sorted(name for name, count in parser.ids.items() if count > 1)
    assert not duplicates, f"{url}: ids used more than once: {duplicates}"
    assert not parser.hidden_with_id, f"{url}: hidden inputs with an id: {parser.hidden_with_id}"
    assert 'id="csrf_token"' not in html
    assert CSRF_RE.search(html), f"{url}: the CSRF token can no longer be read from the page"
    return html


def test_the_sign_in_pages_have_unique_ids(browser, make_user):
    _check(browser, "/login")
    account = make_user("collaborator")
    browser.post("/login", {"username": account.username, "password": account.password}, page="/login")
    _check(browser, "/login/code")


def test_collaborator_pages_have_unique_ids(signed_in, make_organisation, database):
    browser, account = signed_in("collaborator")
    place = make_service(database, make_organisation())
    for url in ["/", "/account", "/account/password", "/clients/", "/clients/register", "/directory/",
                f"/directory/services/{place.service_id}", "/referrals/sent"]:
        _check(browser, url)

    registered = register(browser)  # through the real form
    stored, _code = make_client(database, account.user_id, with_history=True)  # through the storage layer
    for client_id in (registered, stored):
        for url in [f"/clients/{client_id}", f"/clients/{client_id}/assessment",
                    f"/clients/{client_id}/assessments", f"/clients/{client_id}/correct",
                    f"/clients/{client_id}/close", f"/clients/{client_id}/record", f"/clients/{client_id}/erase",
                    f"/clients/{client_id}/referrals/new"]:
            _check(browser, url)

    referral_id = make_referral(database, client_id=stored, place=place, referred_by=account.user_id)
    _check(browser, "/referrals/sent")
    _check(browser, f"/referrals/{referral_id}")  # one form per allowed status change


def test_provider_pages_have_unique_ids(signed_in, make_user, make_organisation, database):
    organisation_id = make_organisation()
    place = make_service(database, organisation_id)
    collaborator = make_user("collaborator")
    client_id, _code = make_client(database, collaborator.user_id)
    referral_id = make_referral(database, client_id=client_id, place=place, referred_by=collaborator.user_id)
    browser, _account = signed_in("provider", organisation_id=organisation_id)
    for url in ["/", "/account", "/inbox", f"/inbox/{referral_id}"]:  # the referral: one form per action
        _check(browser, url)


def test_supervisor_pages_have_unique_ids(signed_in):
    browser, _account = signed_in("supervisor")
    for url in ["/", "/account"]:
        _check(browser, url)


def test_admin_pages_have_unique_ids(signed_in, make_user, make_organisation, database):
    organisation_id = make_organisation()
    place = make_service(database, organisation_id)
    collaborator = make_user("collaborator")
    make_client(database, collaborator.user_id)
    browser, account = signed_in("admin")
    for url in ["/", "/account", "/admin/users", "/admin/users/new", f"/admin/users/{collaborator.user_id}",
                f"/admin/users/{account.user_id}", "/admin/audit", "/admin/organisations", "/admin/keys",
                "/clients/admin/reassign", "/referrals/correct", "/directory/", "/directory/organisations/new",
                f"/directory/organisations/{organisation_id}/edit",
                f"/directory/organisations/{organisation_id}/locations/new",
                f"/directory/locations/{place.location_id}/edit",
                f"/directory/organisations/{organisation_id}/services/new",
                f"/directory/services/{place.service_id}/edit", "/directory/import"]:
        _check(browser, url)


@pytest.mark.parametrize("url", ["/clients/register", "/clients/"])
def test_a_hidden_field_beside_a_visible_one_of_the_same_name_does_not_collide(signed_in, url):
    """The co-assignment request form carries the UIC hidden; the page's own form shows it."""
    browser, _account = signed_in("collaborator")
    html = _check(browser, url)
    assert len(re.findall(r'\bid="uic"', html)) <= 1
