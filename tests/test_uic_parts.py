"""The UIC as a form of its parts: the same person typed "Hương Đức 1994 N" in parts and
"HU DU 1994 N" whole gets the same code, the duplicate check sees it, and search finds it."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from test_clients_support import registration

from casework.clients.models import Client
from casework.clients.uic import canonical, compose


@pytest.mark.parametrize(("typed", "kept"), [
    ("Hương Đức 1994 N", "HUDU1994N"), ("HU DU 1994 N", "HUDU1994N"), ("hu du 1994 n", "HUDU1994N"),
    ("HUDU1994N", "HUDU1994N"), ("Đào Minh 2001 K", "DAMI2001K"), ("LA NA 1999 N", "LANA1999N"),
])
def test_the_kept_code_is_the_parts_however_typed(typed, kept):
    assert canonical(typed) == kept


def test_a_part_missing_makes_no_code():
    assert compose("Hương", "", "1994", "N") == "" and compose("H", "Đức", "1994", "N") == ""
    assert compose("Hương", "Đức", "94", "N") == ""


def _parts(mother: str, father: str, year: str, sex: str) -> dict[str, str]:
    return {"uic": "", "uic_mother": mother, "uic_father": father, "uic_year": year, "uic_sex": sex}


def test_two_spellings_of_one_person_are_caught_as_a_duplicate_and_found_by_search(signed_in, database):
    browser, _account = signed_in("collaborator")
    # Given a client registered with the parts written out in full
    browser.get("/clients/register")
    first = browser.post("/clients/register", registration(**_parts("Hương", "Đức", "1994", "N")))
    assert first.status_code == 302
    with database.transaction() as session:
        assert session.scalars(select(Client)).one().uic == "HUDU1994N"
    # When the same person is registered again with two letters only
    browser.get("/clients/register")
    again = browser.post("/clients/register", registration(**_parts("HU", "DU", "1994", "N")))
    # Then the duplicate check stops and says so; nothing is stored twice
    assert again.status_code == 200 and "HUDU1994N" in browser.last_html
    with database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Client)) == 1
    # And a whole UIC typed into the search, in either spelling, finds the record
    for typed in ("HU DU 1994 N", "Hương Đức 1994 N", "HUDU1994N"):
        browser.get("/clients/")
        found = browser.post("/clients/find", {"query": typed})
        assert found.status_code == 302, typed


def test_an_incomplete_set_of_parts_is_refused_with_a_message(signed_in):
    browser, _account = signed_in("collaborator")
    browser.get("/clients/register")
    response = browser.post("/clients/register", registration(**_parts("Hương", "", "1994", "N")))
    assert response.status_code == 200 and "điền đủ bốn phần" in browser.last_html


def test_the_parts_follow_the_installations_settings(app, settings, make_user, clock):
    """Three letters of each name and the codes F/M: the form offers those codes, and the code kept
    has three letters of each name."""
    from dataclasses import replace

    from conftest import Account, Browser

    from casework import create_app
    from casework.admin.services import create_account
    from casework.auth import totp

    configured = replace(settings, uic_name_letters=3, uic_sex_codes="F,M")
    other = create_app(configured)
    try:
        db = other.extensions["casework"].database
        with db.transaction() as session:
            user = create_account(session, None, username="ctv.ba", display_name="Ba", role="collaborator",
                                  password="correct horse battery staple nine", work_phone="0225 111 2222")
            user.must_change_password = False
            secret = totp.new_secret()
            user.totp_secret = secret
        browser = Browser(other.test_client(), clock)
        browser.login(Account(user.id, "ctv.ba", "correct horse battery staple nine", "collaborator", secret))
        page = browser.get("/clients/register").get_data(as_text=True)
        assert 'value="F"' in page and 'value="M"' in page and 'value="N"' not in page
        assert "lấy 3 chữ cái đầu" in page
        response = browser.post("/clients/register", registration(**_parts("Hương", "Đức", "1994", "F")))
        assert response.status_code == 302
        with db.transaction() as session:
            assert session.scalars(select(Client)).one().uic == "HUODUC1994F"
    finally:
        other.extensions["casework"].database.dispose()
