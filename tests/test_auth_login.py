"""Signing in (docs/DESIGN.md §7): one generic failure message, lockout kept in the database,
a fresh session at sign-in, sign-out by POST only, first sign-in sets up the account."""

from __future__ import annotations

import re

from casework.auth import totp

FLASH_ERROR = re.compile(r'class="flash flash-error"[^>]*>([^<]+)<')


def failure_message(html: str) -> str:
    found = FLASH_ERROR.findall(html)
    assert len(found) == 1, "expected exactly one error message"
    return found[0]


def sign_in_password(browser, username, password):
    return browser.post("/login", {"username": username, "password": password}, page="/login")


def test_wrong_user_wrong_password_and_wrong_code_get_the_same_message(browser, make_user, clock):
    # Given an account
    account = make_user("collaborator")
    # When someone tries an unknown user, a wrong password, and the right password with a wrong code
    unknown = sign_in_password(browser, "nobody.here", account.password)
    msg_unknown = failure_message(browser.last_html)
    wrong_password = sign_in_password(browser, account.username, account.password + "x")
    msg_password = failure_message(browser.last_html)
    clock.advance(seconds=31)
    assert sign_in_password(browser, account.username, account.password).status_code == 302
    good = totp.code_at(account.totp_secret, clock.now)
    wrong = f"{(int(good) + 1) % 1_000_000:06d}"
    wrong_code = browser.post("/login/code", {"code": wrong}, page="/login/code")
    msg_code = failure_message(browser.last_html)
    # Then each answer looks the same: same status, same words, nothing about which check failed
    assert unknown.status_code == wrong_password.status_code == wrong_code.status_code == 200
    assert msg_unknown == msg_password == msg_code
    assert account.username not in msg_unknown


def test_five_failures_lock_the_account_for_fifteen_minutes(browser, make_user, clock):
    # Given an account and five wrong passwords in a row
    account = make_user("collaborator")
    for _ in range(5):
        sign_in_password(browser, account.username, "not the password at all")
    # When the right password is given at once
    clock.advance(seconds=31)
    refused = sign_in_password(browser, account.username, account.password)
    # Then it is refused with the same generic message
    assert refused.status_code == 200
    failure_message(browser.last_html)
    # And still refused 14 minutes later
    clock.advance(minutes=14)
    assert sign_in_password(browser, account.username, account.password).status_code == 200
    # When 15 minutes have passed since the lock
    clock.advance(minutes=1, seconds=1)
    # Then the right password and code work again
    assert browser.login(account).status_code == 302
    assert browser.get("/account").status_code == 200


def test_lockout_is_kept_in_the_database_not_in_the_process(browser, make_user, database):
    # Given an account locked by five failures
    account = make_user("collaborator")
    for _ in range(5):
        sign_in_password(browser, account.username, "not the password at all")
    # Then the lock is a row in the database, which every process reads
    from conftest import user_row

    assert user_row(database, account.user_id).locked_until is not None


def test_failures_with_the_second_factor_count_towards_the_lockout(browser, make_user, clock):
    # Given the right password and five wrong codes
    account = make_user("collaborator")
    assert sign_in_password(browser, account.username, account.password).status_code == 302
    for _ in range(5):
        browser.post("/login/code", {"code": "000000"}, page="/login/code")
    # When the right code follows
    good = totp.code_at(account.totp_secret, clock.now)
    response = browser.post("/login/code", {"code": good}, page="/login/code")
    # Then the account is locked: no session
    assert response.status_code == 200
    assert browser.get("/account").status_code == 302


def test_the_session_is_new_after_sign_in(browser, make_user, app):
    # Given a visitor with a session cookie from the sign-in page
    account = make_user("collaborator")
    browser.get("/login")
    before = browser.client.get_cookie("casework_session")
    before_value = before.value if before else None
    # When they sign in
    browser.login(account)
    after = browser.client.get_cookie("casework_session")
    # Then the cookie was replaced and carries a new CSRF token
    assert after is not None and after.value != before_value
    with app.test_request_context():
        serializer = app.session_interface.get_signing_serializer(app)
        data = serializer.loads(after.value)
    assert "pending_login" not in data and "sid" in data


def test_each_sign_in_gets_its_own_session_token(new_browser, make_user, app):
    # Given one person signing in twice, on two browsers
    account = make_user("collaborator")
    first, second = new_browser(), new_browser()
    first.login(account)
    second.login(account)
    # Then the two sessions are distinct and both live
    with app.test_request_context():
        serializer = app.session_interface.get_signing_serializer(app)
        sid1 = serializer.loads(first.client.get_cookie("casework_session").value)["sid"]
        sid2 = serializer.loads(second.client.get_cookie("casework_session").value)["sid"]
    assert sid1 != sid2
    assert first.get("/account").status_code == 200
    assert second.get("/account").status_code == 200


def test_sign_out_by_get_is_refused(signed_in):
    # Given a signed-in collaborator
    browser, _account = signed_in("collaborator")
    # When a link (GET) points at sign-out
    response = browser.get("/logout")
    # Then it is refused and the session lives on
    assert response.status_code == 405
    assert browser.get("/account").status_code == 200


def test_sign_out_by_post_ends_the_session(signed_in):
    # Given a signed-in collaborator
    browser, _account = signed_in("collaborator")
    # When they press "Lock now"
    response = browser.post("/logout", page="/account")
    # Then they are back at the sign-in page and the account page needs signing in again
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    assert browser.get("/account").status_code == 302


def test_a_new_account_sets_its_password_then_enrols_before_anything_else(browser, make_user, database, clock):
    # Given a new account with a one-time password and no second factor
    account = make_user("collaborator", second_factor=False)
    with database.transaction() as session:
        from casework.auth.models import User

        session.get(User, account.user_id).must_change_password = True
    # When they sign in
    response = sign_in_password(browser, account.username, account.password)
    # Then they must choose a password first; other pages send them there
    assert response.headers["Location"].endswith("/account/password")
    assert browser.get("/account").headers["Location"].endswith("/account/password")
    assert browser.post("/account/recovery-codes", page="/account/password").status_code == 403
    # When they choose one
    response = browser.post("/account/password", {
        "current_password": account.password, "new_password": "a quiet river at dawn 2024",
        "confirm": "a quiet river at dawn 2024"}, page="/account/password")
    # Then they must enrol the second factor next
    assert response.headers["Location"].endswith("/account/second-factor")
    assert browser.get("/account").headers["Location"].endswith("/account/second-factor")
    browser.get("/account/second-factor")
    secret = re.search(r'<code class="secret">([A-Z2-7 ]+)</code>', browser.last_html).group(1).replace(" ", "")
    response = browser.post("/account/second-factor", {"code": totp.code_at(secret, clock.now)})
    assert response.status_code == 200 and "<ul class=\"codes\">" in browser.last_html
    # And then the account page opens
    assert browser.get("/account").status_code == 200


def test_each_lock_in_a_row_lasts_twice_as_long_and_the_admin_sees_the_attack(browser, new_browser, make_user,
                                                                              clock, database):
    from sqlalchemy import select

    from casework.audit import AuditEvent

    account = make_user("collaborator")

    def five_guesses():
        for _ in range(5):
            sign_in_password(browser, account.username, "not the password at all")

    # Given an account locked once (15 minutes) and guessed at again as soon as it opens
    five_guesses()
    clock.advance(minutes=15, seconds=1)
    five_guesses()
    # Then the second lock lasts 30 minutes: still refused after 29, open after 30
    clock.advance(minutes=29)
    clock.advance(seconds=31)
    assert sign_in_password(browser, account.username, account.password).status_code == 200
    with database.transaction() as session:
        locks = [e.details for e in session.scalars(select(AuditEvent).where(AuditEvent.action == "auth.locked")
                                                    .order_by(AuditEvent.id))]
    assert locks == ['{"in_a_row":1,"minutes":15}', '{"in_a_row":2,"minutes":30}']
    # And the admin's user list names the account as under attack
    admin = new_browser()
    admin.login(make_user("admin"))
    page = admin.get("/admin/users").get_data(as_text=True)
    assert "Tài khoản đang bị tấn công" in page and account.username in page.split("Tài khoản đang bị tấn công")[1]
    # When the person finally signs in, the count starts again
    clock.advance(minutes=2)
    assert browser.login(account).status_code == 302
    assert "Tài khoản đang bị tấn công" not in admin.get("/admin/users").get_data(as_text=True)
