"""Per-IP rate limit on the sign-in steps (Flask-Limiter), separate from the account lockout."""

import pytest


@pytest.fixture
def settings(settings):
    settings.login_rate_limit = "3 per minute"
    return settings


def test_too_many_sign_in_attempts_from_one_address_get_429(browser):
    # Given three attempts from one address within a minute
    for n in range(3):
        response = browser.post("/login", {"username": f"someone{n}", "password": "whatever it is"},
                                page="/login")
        assert response.status_code == 200
    # When a fourth comes
    response = browser.post("/login", {"username": "someone", "password": "whatever it is"}, page="/login")
    # Then it is refused with the "too many attempts" page, security headers included
    assert response.status_code == 429
    assert "429" in browser.last_html
    assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")
    # And reading the sign-in page is not limited
    assert browser.get("/login").status_code == 200
