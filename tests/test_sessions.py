"""Server-side sessions (docs/DESIGN.md §7): idle and absolute expiry, and revocation that makes a
copied cookie worthless after a password or role change, deactivation or "sign out everywhere"."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from casework.auth.models import HeldForm
from casework.clients.models import CaseNote

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
    return response.status_code in (302, 303) and response.headers["Location"].endswith("/login")


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


# --- a timeout without losing typed work ---------------------------------------------------------


def _note_past_the_idle_limit(browser, clock, client_id, body):
    """The worker opens the record, types for 16 minutes, and presses Save."""
    browser.get(f"/clients/{client_id}")
    clock.advance(minutes=16)
    return browser.post(f"/clients/{client_id}/notes", {"body": body})


def _client_of(browser):
    from test_clients_support import register

    return register(browser, uic="HETH1990N")


def test_a_note_sent_after_the_idle_timeout_is_kept_and_sent_again_after_signing_in(signed_in, clock, database):
    # Given a worker who opened a client record, then typed a note for 16 minutes
    browser, account = signed_in("collaborator")
    client_id = _client_of(browser)
    browser.get(f"/clients/{client_id}")
    clock.advance(minutes=16)
    # When they press Save
    response = browser.post(f"/clients/{client_id}/notes", {"body": "Đã gặp chị tại quán, hẹn đi xét nghiệm."})
    # Then they are told the session ended (not "403"), and asked to sign in
    assert response.status_code == 303 and response.headers["Location"].endswith("/login")
    page = browser.get("/login").get_data(as_text=True)
    assert "Phiên đã hết hạn" in page and "được giữ lại" in page and "403" not in page
    # And the note is kept encrypted on the server, not saved, not in any cookie
    with database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(CaseNote)) == 0
        held = session.scalars(select(HeldForm)).one()
        assert "Đã gặp chị" not in (held.fields_enc or "")
    assert "Đã gặp chị" not in str(browser.client.get_cookie(COOKIE).value)

    # When they sign in again, Then they are offered what they typed, and can send it
    clock.advance(seconds=31)
    browser.login(account)
    offered = browser.get("/account/held").get_data(as_text=True)
    assert "Đã gặp chị tại quán, hẹn đi xét nghiệm." in offered and "Gửi lại" in offered
    sent = browser.post(f"/clients/{client_id}/notes", {"body": "Đã gặp chị tại quán, hẹn đi xét nghiệm.",
                                                       "_held_form": held.id}, page="/account/held")
    assert sent.status_code == 302
    with database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(CaseNote)) == 1
        assert session.scalar(select(func.count()).select_from(HeldForm)) == 0


def test_after_signing_in_the_person_lands_on_the_kept_work(signed_in, clock, new_browser):
    browser, account = signed_in("collaborator")
    client_id = _client_of(browser)
    _note_past_the_idle_limit(browser, clock, client_id, "Ghi chú dài đang viết dở.")
    clock.advance(seconds=31)
    response = browser.login(account)
    assert response.headers["Location"].endswith("/account/held")


def test_a_form_sent_with_a_cookie_kept_after_sign_out_is_not_kept(signed_in, new_browser, clock, database):
    # Given a copy of a cookie taken before the person signed out
    browser, _account = signed_in("collaborator")
    client_id = _client_of(browser)
    browser.get(f"/clients/{client_id}")
    old_cookie = copy_of(browser, new_browser)
    old_cookie.last_html = browser.last_html
    browser.post("/logout", page="/account")
    clock.advance(minutes=16)
    # When someone posts a note with it, Then it is refused and nothing is held for the person
    response = old_cookie.post(f"/clients/{client_id}/notes", {"body": "Nội dung giả mạo"})
    assert response.status_code in (400, 403)
    with database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(HeldForm)) == 0


def test_a_kept_form_expires_and_can_be_discarded(signed_in, clock, database):
    browser, account = signed_in("collaborator")
    client_id = _client_of(browser)
    _note_past_the_idle_limit(browser, clock, client_id, "Một")
    clock.advance(seconds=31)
    browser.login(account)
    browser.get("/account/held")
    with database.transaction() as session:
        held_id = session.scalars(select(HeldForm.id)).one()
    assert browser.post(f"/account/held/{held_id}/discard", {}).status_code == 302
    with database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(HeldForm)) == 0
    # A later one, left alone, is gone from the offer after its 20 minutes
    _note_past_the_idle_limit(browser, clock, client_id, "Hai hai hai")
    clock.advance(minutes=21)
    browser.login(account)
    assert "Hai hai hai" not in browser.get("/account/held").get_data(as_text=True)


def test_every_signed_in_page_carries_the_timeout_warning_script(signed_in):
    browser, _account = signed_in("collaborator")
    page = browser.get("/clients/").get_data(as_text=True)
    assert 'data-idle-seconds="900"' in page and "/static/session.js" in page
    assert browser.get("/account/keepalive").status_code == 204
