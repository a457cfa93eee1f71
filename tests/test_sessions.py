"""Server-side sessions (docs/DESIGN.md §7): idle and absolute expiry, and revocation that makes a
copied cookie worthless after a password or role change, deactivation or "sign out everywhere"."""

from __future__ import annotations

import pytest

COOKIE = "casework_session"


def copy_of(browser, new_browser):
    """Another browser holding a copy of this browser's session cookie (a stolen or second tab)."""
    twin = new_browser()
    cookie = browser.client.get_cookie(COOKIE)
    assert cookie is not None
    twin.client.set_cookie(COOKIE, cookie.value)
    return twin


def signed_out(browser) -> bool:
    response = browser.get("/account")
    return response.status_code == 302 and response.headers["Location"].endswith("/login")


def test_a_copied_cookie_works_while_the_session_lives(signed_in, new_browser):
    # Given a signed-in person and a copy of their cookie
    browser, _account = signed_in("collaborator")
    twin = copy_of(browser, new_browser)
    # Then the copy is the same session (which is why revocation matters)
    assert twin.get("/account").status_code == 200


def test_fifteen_idle_minutes_end_the_session(signed_in, clock):
    # Given a signed-in person who stays idle
    browser, _account = signed_in("collaborator")
    clock.advance(minutes=14)
    assert browser.get("/account").status_code == 200
    # When more than 15 minutes pass without a request
    clock.advance(minutes=16)
    # Then the next request needs signing in again
    assert signed_out(browser)


def test_twelve_hours_end_even_a_busy_session(signed_in, clock):
    # Given a person who uses the system every 10 minutes
    browser, _account = signed_in("collaborator")
    for _ in range(71):  # 11 h 50 min
        clock.advance(minutes=10)
        assert browser.get("/account").status_code == 200
    # When the session becomes older than 12 hours
    clock.advance(minutes=11)
    # Then it ends all the same
    assert signed_out(browser)


def test_changing_the_password_ends_other_sessions_and_old_cookies(signed_in, new_browser):
    # Given a person signed in on two devices, and a copy of the first device's cookie
    browser, account = signed_in("collaborator")
    other_device = new_browser()
    other_device.login(account)
    old_cookie = copy_of(browser, new_browser)
    # When they change their password on the first device
    response = browser.post("/account/password", {
        "current_password": account.password, "new_password": "lanterns over the old bridge",
        "confirm": "lanterns over the old bridge"}, page="/account/password")
    assert response.status_code == 302
    # Then the first device carries on in a new session, and everything older is refused
    assert browser.get("/account").status_code == 200
    assert signed_out(other_device)
    assert signed_out(old_cookie)


def test_sign_out_everywhere_ends_every_session(signed_in, new_browser):
    # Given a person signed in on two devices
    browser, account = signed_in("collaborator")
    other_device = new_browser()
    other_device.login(account)
    old_cookie = copy_of(other_device, new_browser)
    # When they press "sign out everywhere" on one
    response = browser.post("/account/sessions/revoke", page="/account")
    assert response.status_code == 302
    # Then both devices and the copied cookie are signed out
    assert signed_out(browser)
    assert signed_out(other_device)
    assert signed_out(old_cookie)


def test_a_cookie_kept_after_sign_out_is_refused(signed_in, new_browser):
    # Given a copy of a session cookie taken before the person pressed "Lock now"
    browser, _account = signed_in("collaborator")
    old_cookie = copy_of(browser, new_browser)
    browser.post("/logout", page="/account")
    # Then the copy no longer opens anything
    assert signed_out(old_cookie)


@pytest.mark.parametrize("change", ["role", "deactivation", "password_reset", "second_factor_reset"])
def test_an_administrators_change_ends_the_persons_sessions(change, new_browser, make_user, make_organisation):
    # Given a collaborator signed in, with a copy of their cookie, and an administrator
    person = make_user("collaborator")
    device = new_browser()
    device.login(person)
    old_cookie = copy_of(device, new_browser)
    admin = new_browser()
    admin.login(make_user("admin"))
    page = f"/admin/users/{person.user_id}"
    # When the administrator makes the change through the admin screens
    if change == "role":
        response = admin.post(f"{page}/access", {"role": "supervisor", "organisation_id": ""}, page=page)
    elif change == "deactivation":
        response = admin.post(f"{page}/deactivate", page=page)
    elif change == "password_reset":
        response = admin.post(f"{page}/password", page=page)
    else:
        response = admin.post(f"{page}/second-factor", page=page)
    assert response.status_code in (200, 302)
    # Then neither the device nor the copied cookie gets in any more
    assert signed_out(device)
    assert signed_out(old_cookie)


def test_changing_the_language_does_not_end_the_session(signed_in):
    # Given a signed-in person
    browser, _account = signed_in("collaborator")
    # When they switch to English
    browser.post("/language", {"locale": "en", "next": "/account"}, page="/account")
    # Then they stay signed in and read English
    assert browser.get("/account").status_code == 200
    assert 'lang="en"' in browser.last_html
