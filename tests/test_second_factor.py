"""The TOTP second factor (docs/DESIGN.md §7): no replay, enrolment confirmed before it counts,
recovery codes that work once, secrets encrypted at rest."""

from __future__ import annotations

import re

from casework.auth import totp


def active_secret(database, user_id: str) -> str | None:
    from casework.auth.models import User

    with database.transaction() as session:
        return session.get(User, user_id).totp_secret


def password_step(browser, account):
    response = browser.post("/login", {"username": account.username, "password": account.password},
                            page="/login")
    assert response.status_code == 302 and response.headers["Location"].endswith("/login/code")


def code_step(browser, code):
    return browser.post("/login/code", {"code": code}, page="/login/code")


def has_session(browser) -> bool:
    return browser.get("/account").status_code == 200


def test_a_code_cannot_be_used_twice(new_browser, make_user, clock):
    # Given a person who signed in with a code
    account = make_user("collaborator")
    first = new_browser()
    password_step(first, account)
    code = totp.code_at(account.totp_secret, clock.now)
    assert code_step(first, code).status_code == 302
    # When someone who saw the code tries it again within its 30 seconds
    clock.advance(seconds=5)
    second = new_browser()
    password_step(second, account)
    response = code_step(second, code)
    # Then it is refused
    assert response.status_code == 200
    assert not has_session(second)


def test_an_older_code_is_refused_after_a_newer_one_was_used(new_browser, make_user, clock):
    # Given a person who signed in with the current code
    account = make_user("collaborator")
    previous = totp.code_at(account.totp_secret, clock.now)
    clock.advance(seconds=30)
    first = new_browser()
    password_step(first, account)
    assert code_step(first, totp.code_at(account.totp_secret, clock.now)).status_code == 302
    # When the previous step's code (still inside the drift window) is tried
    second = new_browser()
    password_step(second, account)
    # Then it is refused
    assert code_step(second, previous).status_code == 200
    assert not has_session(second)


def test_a_code_typed_with_spaces_is_accepted_once(new_browser, make_user, clock):
    # Given a code typed as the app shows it, with spaces around and inside
    account = make_user("collaborator")
    code = totp.code_at(account.totp_secret, clock.now)
    spaced = f"  {code[:3]} {code[3:]}  "
    browser = new_browser()
    password_step(browser, account)
    # When it is sent
    assert code_step(browser, spaced).status_code == 302
    # Then it signs in, and the same code does not work a second time
    assert has_session(browser)
    again = new_browser()
    password_step(again, account)
    assert code_step(again, spaced).status_code == 200
    assert not has_session(again)


def enrolment_secret(browser) -> str:
    browser.get("/account/second-factor")
    return re.search(r'<code class="secret">([A-Z2-7 ]+)</code>', browser.last_html).group(1).replace(" ", "")


def test_an_unconfirmed_enrolment_leaves_the_active_secret_in_place(signed_in, new_browser, clock, database):
    # Given a person with a second factor who starts setting up a new one
    browser, account = signed_in("collaborator")
    new_secret = enrolment_secret(browser)
    # When they send a wrong code and never confirm
    browser.post("/account/second-factor", {"code": "000000", "current_password": account.password})
    # Then the old authenticator still signs in and the new one does not
    assert active_secret(database, account.user_id) == account.totp_secret
    clock.advance(seconds=31)
    other = new_browser()
    password_step(other, account)
    assert code_step(other, totp.code_at(new_secret, clock.now)).status_code == 200
    assert code_step(other, totp.code_at(account.totp_secret, clock.now)).status_code == 302


def test_replacing_an_active_second_factor_needs_the_password(signed_in, clock, database):
    # Given a person with a second factor setting up a new one (an unlocked screen, say)
    browser, account = signed_in("collaborator")
    new_secret = enrolment_secret(browser)
    # When the new code is right but the password is missing
    clock.advance(seconds=31)
    browser.post("/account/second-factor", {"code": totp.code_at(new_secret, clock.now)})
    # Then nothing changes
    assert active_secret(database, account.user_id) == account.totp_secret
    # When the password is given too
    clock.advance(seconds=31)
    response = browser.post("/account/second-factor", {"code": totp.code_at(new_secret, clock.now),
                                                       "current_password": account.password})
    # Then the new secret is active and recovery codes are shown
    assert response.status_code == 200 and 'class="codes"' in browser.last_html
    assert active_secret(database, account.user_id) == new_secret


def test_a_recovery_code_works_once(signed_in, new_browser, database):
    # Given a person who made recovery codes and wrote them down
    browser, account = signed_in("collaborator")
    browser.post("/account/recovery-codes", {"current_password": account.password}, page="/account/recovery-codes")
    codes = re.findall(r"<li><code>([A-Z0-9]{5}-[A-Z0-9]{5})</code></li>", browser.last_html)
    assert len(codes) == 10
    # When they lost their phone and sign in with one
    lost_phone = new_browser()
    password_step(lost_phone, account)
    assert code_step(lost_phone, codes[0].lower()).status_code == 302
    assert has_session(lost_phone)
    # Then the same code does not work again, while another one does
    again = new_browser()
    password_step(again, account)
    assert code_step(again, codes[0]).status_code == 200
    assert code_step(again, codes[1]).status_code == 302
    # And the codes are stored only as hashes
    from casework.auth.models import RecoveryCode

    with database.transaction() as session:
        stored = [row.code_hash for row in session.query(RecoveryCode).all()]
    assert stored and all(code.replace("-", "") not in h for h in stored for code in codes)


def test_the_secret_is_stored_encrypted(make_user, database):
    # Given a person with a second factor
    account = make_user("collaborator")
    # Then the column holds ciphertext, not the base32 secret
    from casework.auth.models import User

    with database.transaction() as session:
        stored = session.get(User, account.user_id).totp_secret_enc
    assert stored and account.totp_secret not in stored


def test_the_enrolment_page_draws_the_qr_code_itself(signed_in):
    # Given a person setting up a second factor
    browser, _account = signed_in("collaborator")
    browser.get("/account/second-factor")
    # Then the QR code is inline SVG made on the server: nothing loaded from another host
    assert "<svg" in browser.last_html
    assert "http://" not in browser.last_html.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in browser.last_html


def test_new_recovery_codes_need_the_password(signed_in, database):
    # Given a signed-in person whose screen someone else is using
    browser, account = signed_in("collaborator")
    # When new recovery codes are asked for without the password, or with a wrong one
    browser.post("/account/recovery-codes", {}, page="/account/recovery-codes")
    browser.post("/account/recovery-codes", {"current_password": "not the password at all"},
                 page="/account/recovery-codes")
    # Then no codes are shown and none were made
    assert 'class="codes"' not in browser.last_html
    from sqlalchemy import func, select

    from casework.auth.models import RecoveryCode

    with database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(RecoveryCode)
                              .where(RecoveryCode.user_id == account.user_id)) == 0


def test_guessing_the_current_password_on_an_open_screen_locks_the_account_and_ends_it(signed_in, database):
    # Given a signed-in person's unlocked screen in someone else's hands
    browser, account = signed_in("collaborator")
    # When the current password is guessed wrong five times on the change-password form
    for attempt in range(5):
        browser.post("/account/password", {"current_password": f"guess number {attempt} wrong",
                                           "new_password": "a brand new sentence of words",
                                           "confirm": "a brand new sentence of words"},
                     page="/account/password")
    # Then the account is locked and this session is over
    with database.transaction() as session:
        from casework.auth.models import User

        assert session.get(User, account.user_id).locked_until is not None
    assert browser.get("/account").status_code == 302


# --- set-up on a phone ------------------------------------------------------------------------


def _key_on_page(browser) -> str:
    return re.search(r'<code class="secret">([A-Z2-7 ]+)</code>', browser.last_html).group(1).replace(" ", "")


def test_reloading_the_enrolment_page_keeps_the_key_the_app_scanned(new_browser, make_user, clock, database):
    # Given a new account at its first sign-in, shown the QR code
    account = make_user("collaborator", second_factor=False)
    browser = new_browser()
    password_step_only = browser.post("/login", {"username": account.username, "password": account.password},
                                      page="/login")
    assert password_step_only.status_code == 302
    browser.get("/account/second-factor")
    scanned = _key_on_page(browser)
    # When the phone reloads the tab (twice) while the person switches to the authenticator app
    browser.get("/account/second-factor")
    browser.get("/account/second-factor")
    # Then the key is the same, and the code from the scanned key switches the second factor on
    assert _key_on_page(browser) == scanned
    response = browser.post("/account/second-factor", {"code": totp.code_at(scanned, clock.now)})
    assert response.status_code == 200 and 'class="codes"' in browser.last_html
    assert active_secret(database, account.user_id) == scanned


def test_a_new_key_is_made_only_on_purpose_and_the_old_one_then_fails(new_browser, make_user, clock, database):
    account = make_user("collaborator", second_factor=False)
    browser = new_browser()
    browser.post("/login", {"username": account.username, "password": account.password}, page="/login")
    browser.get("/account/second-factor")
    old = _key_on_page(browser)
    assert browser.post("/account/second-factor/new-key", {}).status_code == 302
    browser.get("/account/second-factor")
    new = _key_on_page(browser)
    assert new != old
    assert browser.post("/account/second-factor", {"code": totp.code_at(old, clock.now)}).status_code == 200
    assert active_secret(database, account.user_id) is None
    from sqlalchemy import select

    from casework.audit import AuditEvent

    with database.transaction() as session:
        actions = list(session.scalars(select(AuditEvent.action).where(AuditEvent.object_id == account.user_id)))
    assert "auth.second_factor_key_replaced" in actions


def test_lock_and_language_work_from_the_recovery_codes_page(new_browser, make_user, clock):
    # Given a person who just switched the second factor on and sees the recovery codes
    account = make_user("collaborator", second_factor=False)
    browser = new_browser()
    browser.post("/login", {"username": account.username, "password": account.password}, page="/login")
    browser.get("/account/second-factor")
    browser.post("/account/second-factor", {"code": totp.code_at(_key_on_page(browser), clock.now)})
    codes_page = browser.last_html
    assert 'class="codes"' in codes_page
    # When they change the language with the form on that page, Then it works (no 400)
    token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', codes_page).group(1)
    changed = browser.client.post("/language", data={"csrf_token": token, "locale": "en", "next": "/account"})
    assert changed.status_code == 302
    # And "Lock now" (sign out) from that same page signs them out
    locked = browser.client.post("/logout", data={"csrf_token": token})
    assert locked.status_code == 302 and locked.headers["Location"].endswith("/login")
    assert browser.client.get("/account").status_code == 302


def test_the_sign_in_code_asks_for_digits_and_offers_a_recovery_code(new_browser, make_user):
    account = make_user("collaborator")
    browser = new_browser()
    password_step(browser, account)
    page = browser.get("/login/code").get_data(as_text=True)
    assert 'inputmode="numeric"' in page and 'autocomplete="one-time-code"' in page
    assert "/login/code?recovery=1" in page
    recovery = browser.get("/login/code?recovery=1").get_data(as_text=True)
    assert 'inputmode="text"' in recovery and "Mã khôi phục" in recovery


def test_recovery_codes_are_kept_as_keyed_hashes_and_an_older_argon2_one_still_works(signed_in, new_browser,
                                                                                    database):
    from casework.auth import passwords
    from casework.auth.models import RecoveryCode

    browser, account = signed_in("collaborator")
    browser.post("/account/recovery-codes", {"current_password": account.password}, page="/account/recovery-codes")
    with database.transaction() as session:
        stored = [row.code_hash for row in session.query(RecoveryCode).all()]
        assert len(stored) == 10 and all(h.startswith("hm1$") and len(h) == 68 for h in stored)
        # One code made before keyed hashes existed (argon2)
        session.add(RecoveryCode(user_id=account.user_id, code_hash=passwords.hash_password("QQQQQ22222")))
    lost_phone = new_browser()
    password_step(lost_phone, account)
    assert code_step(lost_phone, "QQQQQ-22222").status_code == 302


def test_the_first_password_change_asks_for_the_temporary_password(new_browser, make_user, database):
    from casework.auth.models import User

    account = make_user("collaborator")
    with database.transaction() as session:
        session.get(User, account.user_id).must_change_password = True
    browser = new_browser()
    browser.login(account)
    page = browser.get("/account/password").get_data(as_text=True)
    assert "Mật khẩu tạm thời" in page and "Mật khẩu hiện tại" not in page
