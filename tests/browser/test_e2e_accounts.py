"""A new staff member signs in for the first time on a phone: enrols the second factor,
keeps the recovery codes, and then sees the menu of their own role and nothing else."""

from __future__ import annotations

import pytest

from casework import vocab

from .pages import follow

pytestmark = pytest.mark.browser

# What each role's menu must offer (docs/DESIGN.md §1); entries whose pages do not exist yet are skipped.
# A menu may offer more, but only pages its role is allowed to open.
ROLE_MENU = {
    "collaborator": {"clients.caseload", "clients.register", "referrals.sent"},
    "provider": {"referrals.inbox"},
    "supervisor": {"reports.index"},
    "admin": {"admin.users", "admin.organisations", "directory.index", "admin.audit", "admin.keys"},
}


def _menu_endpoints(page, live_server) -> list[str]:
    adapter = live_server.app.url_map.bind("127.0.0.1")
    hrefs = page.locator("nav.mainnav a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    return [adapter.match(href)[0] for href in hrefs]


@pytest.mark.parametrize("role", ["collaborator", "provider", "supervisor", "admin"])
def test_new_account_enrols_second_factor_then_sees_only_its_roles_menu(
    role, page, live_server, make_user, make_organisation, fresh_code
):
    # Given an account made for a new staff member, with no second factor yet
    organisation = make_organisation() if role == "provider" else None
    account = make_user(role, organisation_id=organisation, second_factor=False)

    # When they sign in with their password
    page.goto(live_server.url_for("auth.login"))
    page.fill("#username", account.username)
    page.fill("#password", account.password)
    follow(page.locator("main form button.primary"))

    # Then they are sent to set up the second factor, with a QR code and the key written out
    assert page.url.endswith(live_server.url_for("auth.enrol_second_factor"))
    assert page.locator(".qr svg").count() == 1
    secret = page.locator("code.secret").inner_text().replace(" ", "")
    assert len(secret) == 32

    # When they type the code their authenticator app shows for that key
    page.fill("#code", fresh_code(secret))
    follow(page.locator("main form button.primary"))

    # Then they see ten one-time recovery codes, once
    codes = page.locator("ul.codes code").all_inner_texts()
    assert len(codes) == 10 and len(set(codes)) == 10
    assert all(len(code) == 11 and code[5] == "-" for code in codes)

    # When they confirm they wrote them down
    follow(page.locator("main a.button.primary"))

    # Then they are signed in as their role, and the menu holds their role's pages only
    assert page.locator(".who .role").inner_text().strip() == _label(live_server, role)
    menu = _menu_endpoints(page, live_server)
    assert len(menu) == len(set(menu)), "an entry appears twice"
    assert {e for e in ROLE_MENU[role] if e in live_server.app.view_functions} <= set(menu)
    for endpoint in menu:  # and every page in it is meant for their role (not only another's), and opens
        assert role in live_server.app.view_functions[endpoint].allowed_roles, endpoint
        response = page.goto(live_server.url_for(endpoint))
        assert response.status == 200, endpoint

    # And from now on the second factor is asked for at every sign-in, and then they are in
    follow(page.locator("button.lock"))
    page.fill("#username", account.username)
    page.fill("#password", account.password)
    follow(page.locator("main form button.primary"))
    assert page.url.endswith(live_server.url_for("auth.login_second_factor"))
    page.fill("#code", fresh_code(secret))
    follow(page.locator("main form button.primary"))
    assert page.locator(".who .role").count() == 1
    assert not page.url.endswith(live_server.url_for("auth.enrol_second_factor"))


def _label(live_server, role: str) -> str:
    from flask_babel import force_locale

    with live_server.app.test_request_context(), force_locale("vi"):
        return str(vocab.ROLES[role])
