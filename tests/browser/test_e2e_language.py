"""The sign-in page speaks Vietnamese first, and a person can switch to English and back."""

from __future__ import annotations

import pytest
from flask_babel import force_locale, gettext

from .pages import follow

pytestmark = pytest.mark.browser


def _vietnamese(live_server, text: str) -> str:
    with live_server.app.test_request_context(), force_locale("vi"):
        return gettext(text)


def test_sign_in_page_is_vietnamese_by_default_and_switches_to_english_and_back(page, live_server):
    sign_in_vi = _vietnamese(live_server, "Sign in")
    assert sign_in_vi != "Sign in" and not sign_in_vi.isascii(), "no Vietnamese translation of 'Sign in'"

    # Given a person who has never used casework on this phone
    # When they open the sign-in page
    page.goto(live_server.url_for("auth.login"))
    # Then the page is in Vietnamese and says so to the browser and screen readers
    assert page.locator("html").get_attribute("lang") == "vi"
    assert page.locator("main h1").inner_text().strip() == sign_in_vi

    # When they choose English
    follow(page.get_by_role("button", name="English"))
    # Then the same page is in English
    assert page.url.endswith(live_server.url_for("auth.login"))
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("main h1").inner_text().strip() == "Sign in"
    # and the choice holds on the next page load
    page.reload()
    assert page.locator("html").get_attribute("lang") == "en"

    # When they switch back to Vietnamese
    follow(page.get_by_role("button", name="Tiếng Việt"))
    # Then it is Vietnamese again
    assert page.locator("html").get_attribute("lang") == "vi"
    assert page.locator("main h1").inner_text().strip() == sign_in_vi
