"""Every main page works on a 360-px-wide phone (no sideways scrolling) and runs under the
strict Content-Security-Policy without the browser blocking anything."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .pages import follow

pytestmark = pytest.mark.browser

ROLES = ["collaborator", "provider", "supervisor", "admin"]
PHONE_WIDTH = 360
# Pages every signed-in person has, besides their menu.
ACCOUNT_PAGES = ["auth.account", "auth.change_password", "auth.enrol_second_factor"]
NOT_FOUND = "/no-such-page"

OVERFLOWING = """() => Array.from(document.querySelectorAll('body *'))
    .filter(el => el.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5)
    .slice(0, 5).map(el => el.tagName.toLowerCase() + (el.className ? '.' + el.className : ''))"""


def _tour(page, live_server, account, fresh_code) -> Iterator[str]:
    """Walk the pages a person of this role uses, signing in on the way; yields each page."""
    page.goto(live_server.url_for("auth.login"))
    yield "sign-in"
    page.fill("#username", account.username)
    page.fill("#password", "not the password at all")
    follow(page.locator("main form button.primary"))
    yield "sign-in failed"
    page.fill("#username", account.username)
    page.fill("#password", account.password)
    follow(page.locator("main form button.primary"))
    yield "second factor"
    page.fill("#code", fresh_code(account.totp_secret))
    follow(page.locator("main form button.primary"))
    yield "start page"
    menu = page.locator("nav.mainnav a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    for href in menu:
        response = page.goto(href)
        assert response.status == 200, href
        yield href
    for endpoint in ACCOUNT_PAGES:
        response = page.goto(live_server.url_for(endpoint))
        assert response.status == 200, endpoint
        yield endpoint
    page.goto(NOT_FOUND)
    yield "not found"


@pytest.fixture
def account(request, make_user, make_organisation):
    role = request.param
    organisation = make_organisation() if role == "provider" else None
    return make_user(role, organisation_id=organisation)


@pytest.mark.parametrize("account", ROLES, indirect=True)
def test_main_pages_fit_a_360px_phone_without_sideways_scrolling(page, live_server, account, fresh_code):
    # Given a phone 360 CSS pixels wide
    assert page.viewport_size["width"] == PHONE_WIDTH
    # When the person walks through the pages of their role
    for where in _tour(page, live_server, account, fresh_code):
        # Then no page is wider than the screen
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE_WIDTH, f"{where} is {width}px wide: {page.evaluate(OVERFLOWING)}"
        # and, once signed in, "Lock now" is on screen for a shared or borrowed phone
        if page.locator(".who").count():
            box = page.locator("button.lock").bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE_WIDTH, where


@pytest.mark.parametrize("account", ROLES, indirect=True)
def test_main_pages_run_under_the_csp_without_blocked_scripts_or_styles(
    page, live_server, account, fresh_code, console
):
    responses = []
    page.on("response", lambda r: responses.append(r) if r.request.resource_type == "document" else None)
    # When the person walks through the pages of their role
    for where in _tour(page, live_server, account, fresh_code):
        # Then the browser reports nothing blocked or broken
        assert console.errors(expected_missing=(NOT_FOUND,)) == [], f"on {where}"
    # And every page was served with the strict policy
    assert responses
    for response in responses:
        csp = response.headers.get("content-security-policy", "")
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp, response.url
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, response.url
