"""Response headers, cookies, CSRF and the request size limit (docs/DESIGN.md §7)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import user_row

from casework import create_app
from casework.config import PROJECT_ROOT

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def assert_security_headers(response, *, https: bool = False) -> None:
    csp = response.headers.get("Content-Security-Policy", "")
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives.get("default-src") == "'self'"
    assert directives.get("frame-ancestors") == "'none'"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, name
    assert ("Strict-Transport-Security" in response.headers) is https


def test_every_kind_of_response_carries_the_headers(signed_in, new_browser, app):
    # Given an anonymous visitor and a signed-in collaborator
    visitor = new_browser()
    browser, _account = signed_in("collaborator")
    responses = {
        "sign-in page": visitor.get("/login"),
        "redirect to sign-in": visitor.get("/account"),
        "not found": visitor.get("/no/such/page"),
        "health": visitor.get("/health"),
        "page behind sign-in": browser.get("/account"),
        "redirect after sign-in": browser.get("/login"),
        "forbidden": browser.get("/admin/users"),
        "method not allowed": browser.get("/logout"),
        "csrf refused": browser.post("/account/sessions/revoke", csrf=False),
        "static file": visitor.get("/static/casework.css"),
    }
    # Then every one carries the §7 headers, and none but the static file may be cached
    expected_codes = {"sign-in page": 200, "redirect to sign-in": 302, "not found": 404, "health": 200,
                      "page behind sign-in": 200, "redirect after sign-in": 302, "forbidden": 403,
                      "method not allowed": 405, "csrf refused": 400, "static file": 200}
    for name, response in responses.items():
        assert response.status_code == expected_codes[name], name
        assert_security_headers(response)
        if name != "static file":
            assert "no-store" in response.headers.get("Cache-Control", ""), name


def test_error_pages_say_what_happened_in_the_readers_language(browser):
    # Given an anonymous visitor reading Vietnamese (the default)
    response = browser.get("/no/such/page")
    # Then the 404 page is a full page of ours, not a bare server message
    assert response.status_code == 404
    assert 'lang="vi"' in browser.last_html and "404" in browser.last_html


def test_session_cookie_is_httponly_and_strict(signed_in):
    # Given a person signing in over plain HTTP (a test server)
    browser, account = signed_in("collaborator")
    browser.post("/logout", page="/account")
    browser.clock.advance(seconds=31)
    response = browser.post("/login", {"username": account.username, "password": account.password},
                            page="/login")
    # Then the session cookie cannot be read by scripts nor sent from other sites
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie


@pytest.fixture
def https_app(settings):
    settings.https = True
    application = create_app(settings)
    application.config["TESTING"] = True
    yield application
    application.extensions["casework"].database.dispose()


def test_under_https_cookies_are_secure_and_hsts_is_sent(https_app, clock):
    # Given the application configured for HTTPS
    client = https_app.test_client()
    # When the sign-in page is served
    response = client.get("/login", base_url="https://localhost")
    # Then HSTS is sent and the session cookie is marked Secure, under the __Host- prefix (host-only, path /)
    assert_security_headers(response, https=True)
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("__Host-casework_session=") and "Secure" in cookie and "Path=/;" in cookie
    assert "Domain=" not in cookie


def test_under_https_a_browser_that_sends_no_referer_can_sign_in(https_app, make_user, clock):
    # Given the application under HTTPS, and a browser obeying Referrer-Policy: no-referrer
    from conftest import CSRF_RE

    account = make_user("collaborator")
    client = https_app.test_client()
    page = client.get("/login", base_url="https://localhost").get_data(as_text=True)
    token = CSRF_RE.search(page).group(1)
    # When it posts the sign-in form (no Referer header, Sec-Fetch-Site as browsers send it)
    response = client.post("/login", base_url="https://localhost",
                           headers={"Sec-Fetch-Site": "same-origin"},
                           data={"csrf_token": token, "username": account.username,
                                 "password": account.password})
    # Then the form is accepted and leads to the second step
    assert response.status_code == 302 and response.headers["Location"].endswith("/login/code")


def test_a_form_posted_from_another_site_is_refused(signed_in):
    # Given a signed-in person whose browser visits a hostile site that posts to casework
    browser, _account = signed_in("collaborator")
    # When the browser marks the request as coming from another site, even with a valid token
    response = browser.post("/account/sessions/revoke", page="/account",
                            headers={"Sec-Fetch-Site": "cross-site"})
    # Then it is refused and the session lives on
    assert response.status_code == 400
    assert browser.get("/account").status_code == 200


def test_a_post_without_csrf_token_is_refused_and_changes_nothing(signed_in, new_browser, make_user, database):
    # Given an administrator and an active collaborator
    person = make_user("collaborator")
    admin, _account = signed_in("admin")
    admin.get(f"/admin/users/{person.user_id}")
    # When a forged form (no token) asks to deactivate the collaborator
    response = admin.post(f"/admin/users/{person.user_id}/deactivate", csrf=False)
    # Then it is refused with 400 and the account is still active
    assert response.status_code == 400
    assert_security_headers(response)
    assert user_row(database, person.user_id).active


def test_a_post_with_a_wrong_csrf_token_is_refused_and_changes_nothing(signed_in, new_browser, database):
    # Given a signed-in person, and a token taken from another person's session
    browser, account = signed_in("collaborator")
    stranger = new_browser()
    foreign_token = stranger.csrf_token("/login")
    before = user_row(database, account.user_id).password_hash
    # When a form with that token asks to change the password
    response = browser.post("/account/password", {
        "csrf_token": foreign_token, "current_password": account.password,
        "new_password": "a brand new sentence here", "confirm": "a brand new sentence here"})
    # Then it is refused and the password is unchanged
    assert response.status_code == 400
    assert user_row(database, account.user_id).password_hash == before


def test_sign_in_without_csrf_token_is_refused(browser, make_user):
    # Given an account
    account = make_user("collaborator")
    # When the sign-in form is posted without its token (login CSRF)
    response = browser.post("/login", {"username": account.username, "password": account.password},
                            csrf=False)
    # Then it is refused
    assert response.status_code == 400
    assert browser.get("/account").status_code == 302


def test_an_oversized_request_gets_the_413_page(browser, app):
    # Given a body larger than the configured limit
    too_big = "x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    # When it is posted
    response = browser.post("/login", {"username": "someone", "password": too_big}, page="/login")
    # Then the 413 page is served, with the headers
    assert response.status_code == 413
    assert "413" in browser.last_html
    assert_security_headers(response)


TEMPLATES = sorted(p for p in (PROJECT_ROOT / "templates").rglob("*.html"))
INLINE = re.compile(r"<script(?![^>]*\bsrc=)|<style|\sstyle=|\son[a-z]+=|javascript:", re.IGNORECASE)
EXTERNAL = re.compile(r"""(?:src|href)=["'](?:https?:)?//""", re.IGNORECASE)


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p.relative_to(PROJECT_ROOT)))
def test_templates_have_no_inline_script_or_style_and_nothing_from_other_hosts(template: Path):
    # Given a template, Then it relies on nothing the CSP forbids and loads nothing from elsewhere
    text = template.read_text(encoding="utf-8")
    assert not INLINE.search(text)
    assert not EXTERNAL.search(text)


def test_stylesheets_load_nothing_from_other_hosts():
    for sheet in (PROJECT_ROOT / "casework" / "static").glob("*.css"):
        text = sheet.read_text(encoding="utf-8")
        assert "@import" not in text and "http" not in text and "//" not in text.replace("/*", "").replace("*/", "")


def test_an_unexpected_error_shows_our_500_page_and_saves_nothing(app, signed_in, database, caplog):
    # Given a page that changes something and then fails half-way
    from casework import policy
    from casework.auth.models import User
    from casework.runtime import db_session

    @policy.allow(*policy.ANY_ROLE)
    def half_done():
        user = db_session().get(User, signed_user["id"])
        user.display_name = "half written"
        db_session().flush()
        raise RuntimeError("a secret value quoted in the message")

    app.add_url_rule("/half-done", "half_done", half_done)
    browser, account = signed_in("collaborator")
    signed_user = {"id": account.user_id}
    # When the signed-in person opens it
    response = browser.get("/half-done")
    # Then they get our full 500 page (with their menu and the headers), nothing is saved,
    # and the log names the error class and place, not its message
    assert response.status_code == 500
    assert account.display_name in browser.last_html and "Traceback" not in browser.last_html
    assert_security_headers(response)
    assert user_row(database, account.user_id).display_name == account.display_name
    assert "RuntimeError" in caplog.text and "a secret value" not in caplog.text
