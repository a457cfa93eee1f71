"""Password rules (docs/DESIGN.md §7): at least 12 characters, common passwords refused, argon2id."""

from __future__ import annotations

import pytest
from conftest import user_row

from casework.auth import passwords


def change(browser, account, new: str, confirm: str | None = None):
    return browser.post("/account/password", {"current_password": account.password, "new_password": new,
                                              "confirm": new if confirm is None else confirm},
                        page="/account/password")


@pytest.mark.parametrize("weak", ["short pass1", "password1234", "123456789012", "qwertyuiop123",
                                  "aaaaaaaaaaaaaaaa"])
def test_weak_passwords_are_refused_with_a_message(weak, signed_in, database):
    # Given a signed-in person
    browser, account = signed_in("collaborator")
    before = user_row(database, account.user_id).password_hash
    # When they choose a password that is too short or too common
    response = change(browser, account, weak)
    # Then the form comes back with a message by the field and nothing changes
    assert response.status_code == 200
    assert 'class="error"' in browser.last_html
    assert user_row(database, account.user_id).password_hash == before


def test_the_short_and_common_messages_say_what_is_wrong(signed_in):
    browser, account = signed_in("collaborator")
    browser.post("/language", {"locale": "en", "next": "/account"}, page="/account")
    change(browser, account, "short pass1")
    assert "at least 12 characters" in browser.last_html
    change(browser, account, "password1234")
    assert "too common" in browser.last_html


def test_a_password_containing_the_username_is_refused(signed_in):
    browser, account = signed_in("collaborator")
    response = change(browser, account, f"{account.username} and more words")
    assert response.status_code == 200 and 'class="error"' in browser.last_html


def test_the_two_new_passwords_must_match(signed_in, database):
    browser, account = signed_in("collaborator")
    before = user_row(database, account.user_id).password_hash
    change(browser, account, "a long and fine sentence", "a long and fine sentencE")
    assert user_row(database, account.user_id).password_hash == before


def test_a_wrong_current_password_changes_nothing(signed_in, database):
    browser, account = signed_in("collaborator")
    before = user_row(database, account.user_id).password_hash
    browser.post("/account/password", {"current_password": "not my password", "new_password":
                                       "a long and fine sentence", "confirm": "a long and fine sentence"},
                 page="/account/password")
    assert user_row(database, account.user_id).password_hash == before


def test_a_good_password_is_stored_as_argon2id(signed_in, database):
    # Given a person choosing a long, uncommon password
    browser, account = signed_in("collaborator")
    response = change(browser, account, "tea at the ferry landing at six")
    # Then it is accepted and stored as an argon2id hash
    assert response.status_code == 302
    assert user_row(database, account.user_id).password_hash.startswith("$argon2id$")


def test_production_argon2_parameters_meet_owasp_minimum():
    assert passwords.ARGON2_MEMORY_COST_KIB >= 19 * 1024
    assert passwords.ARGON2_TIME_COST >= 2
    assert passwords.ARGON2_PARALLELISM >= 1
    assert passwords.MIN_PASSWORD_LENGTH >= 12
