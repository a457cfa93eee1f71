"""Every page each role can reach, at 360 px in Chromium: no sideways scrolling, and nothing the
strict CSP had to block. The pages are found by crawling the role's links (tests/crawl_support.py)
over a world with a client, referrals, notes, follow-ups and pending approvals."""

from __future__ import annotations

import pytest
from conftest import Browser
from crawl_support import crawl
from crawl_support import world as world  # the fixture, by its name

from .test_e2e_phone_and_csp import OVERFLOWING

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("role", ["collaborator", "provider", "supervisor", "admin"])
def test_no_page_scrolls_sideways_on_a_phone(role, world, app, clock, page, live_server, sign_in, console):
    account = world[role]
    finder = Browser(app.test_client(), clock)
    finder.login(account)
    pages: dict[str, str] = {}
    crawl(finder, "/", pages)
    sign_in(page, account)
    too_wide = []
    for url in sorted(pages):
        response = page.goto(live_server(url))
        if response is None or response.status != 200:
            continue
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > 360:
            too_wide.append((url, width, page.evaluate(OVERFLOWING)))
    assert len(pages) >= 5, sorted(pages)
    assert not too_wide, too_wide
    assert not console.errors(expected_missing=("/no-such-page",))
