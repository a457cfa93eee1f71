"""What a provider, a supervisor, an admin and the slip may and may not reveal (docs/DESIGN.md §1, §5)."""

from __future__ import annotations

import re

import pytest
from test_referrals_support import SENTINELS, make_client, make_referral, make_service

FORBIDDEN_WORDS = ("mại dâm", "bán dâm", "sex work", "prostitut")


@pytest.fixture
def settings(settings):
    settings.programme_public_name = SENTINELS["programme"]
    return settings


@pytest.fixture
def world(make_organisation, make_user, database):
    station = make_organisation("Trạm Y tế phường Tân Hưng", "health_station")
    legal = make_organisation("Trợ giúp pháp lý", "legal_aid")
    place = make_service(database, station)
    legal_place = make_service(database, legal, need="legal_aid", name="Tư vấn pháp lý")
    collaborator = make_user("collaborator")
    client_id, display_code = make_client(database, collaborator.user_id, with_history=True)
    referral_id = make_referral(database, client_id=client_id, place=place, referred_by=collaborator.user_id,
                                note="Ghi chú gửi trạm y tế")
    other_id = make_referral(database, client_id=client_id, place=legal_place, referred_by=collaborator.user_id,
                             note=SENTINELS["other_referral_note"])
    return {"station": station, "legal": legal, "collaborator": collaborator, "client_id": client_id,
            "display_code": display_code, "referral_id": referral_id, "other_id": other_id, "place": place}


def _provider_pages(browser, referral_id):
    pages = []
    for tab in ("new", "accepted", "in-progress", "overdue", "closed"):
        browser.get(f"/inbox?tab={tab}")
        pages.append(browser.last_html)
    browser.get(f"/inbox/{referral_id}")
    pages.append(browser.last_html)
    return pages


FOOTER = re.compile(r'<footer class="footer">.*?</footer>', re.S)


def _assert_clean(html, *, display_code=None):
    """The programme's public name (a neutral name, by its setting's rule) may stand in the page
    footer, which is never printed; nowhere else."""
    lowered = FOOTER.sub("", html).lower()
    for key in ("uic", "alias", "assessment", "case_note", "other_referral_note", "programme"):
        assert SENTINELS[key].lower() not in lowered, key
    for word in FORBIDDEN_WORDS:
        assert word not in lowered, word
    if display_code:
        assert display_code not in html


def test_provider_pages_show_the_minimal_dataset_and_nothing_else(world, make_user, new_browser, database):
    from casework.referrals.services import client_code_for

    # Given a provider of the receiving organisation
    provider = new_browser()
    provider.login(make_user("provider", organisation_id=world["station"]))
    # When they look at the inbox and open the referral
    pages = _provider_pages(provider, world["referral_id"])
    # Then they see the code, the client's code for their organisation and the shared note
    with database.transaction() as session:
        station_code = client_code_for(session, world["client_id"], world["station"])
        legal_code = client_code_for(session, world["client_id"], world["legal"])
    assert station_code in pages[-1] and station_code in pages[0] and "Ghi chú gửi trạm y tế" in pages[-1]
    # And never the case worker's display code, nor the code the client has at another organisation,
    # so two organisations comparing lists cannot link one person's referrals
    assert station_code != legal_code
    for html in pages:
        _assert_clean(html, display_code=world["display_code"])
        assert legal_code not in html
    # And never the UIC, alias, phone (not shared), assessment, case notes, other referrals or programme
    for html in pages:
        assert SENTINELS["phone"] not in html
        assert "Tư vấn pháp lý" not in html  # the client's other referral, to another organisation


def test_provider_sees_the_phone_only_when_shared(world, make_user, new_browser, database):
    # Given a referral for which the client agreed to share the phone
    shared_id = make_referral(database, client_id=world["client_id"], place=world["place"],
                              referred_by=world["collaborator"].user_id, share_phone=True)
    provider = new_browser()
    provider.login(make_user("provider", organisation_id=world["station"]))
    # When the provider opens it, Then the phone is shown, and only there
    provider.get(f"/inbox/{shared_id}")
    assert SENTINELS["phone"] in provider.last_html
    provider.get(f"/inbox/{world['referral_id']}")
    assert SENTINELS["phone"] not in provider.last_html


def test_the_slip_names_nobody_and_no_programme(world, new_browser):
    # Given the referring collaborator
    browser = new_browser()
    browser.login(world["collaborator"])
    # When they open the slip
    response = browser.get(f"/referrals/{world['referral_id']}/slip")
    # Then it has the code (text and QR), the service, address, hours, phone and valid-until date
    html = browser.last_html
    assert response.status_code == 200
    assert re.search(r"RF-[0-9A-Z]{4}-[0-9A-Z*~$=]{4}", html) and "<svg" in html
    assert "Xét nghiệm HIV" in html and "Số 1 đường Minh Hoạ" in html and "0225 000 0101" in html
    assert "7:30–11:30" in html
    # And no name, no display code, no phone, no programme label
    _assert_clean(html, display_code=world["display_code"])
    assert SENTINELS["phone"] not in html


@pytest.mark.parametrize("role", ["other_provider", "supervisor", "admin", "other_collaborator"])
def test_people_outside_the_referral_cannot_open_it(role, world, make_user, make_organisation, new_browser):
    # Given someone who is neither the receiving provider nor in the client's caseload
    if role == "other_provider":
        account = make_user("provider", organisation_id=world["legal"])
    else:
        account = make_user({"other_collaborator": "collaborator"}.get(role, role))
    browser = new_browser()
    browser.login(account)
    referral_id = world["referral_id"]
    # When they try the referral's pages
    answers = [browser.get(url).status_code for url in
               (f"/inbox/{referral_id}", f"/referrals/{referral_id}", f"/referrals/{referral_id}/slip")]
    # Then every one is refused and shows nothing of it
    assert all(code in (403, 404) for code in answers), answers
    assert world["display_code"] not in browser.last_html


def test_provider_of_another_organisation_cannot_find_it_by_code(world, make_user, new_browser, database):
    # Given a provider of another organisation who knows the code
    from casework.referrals.models import Referral

    with database.transaction() as session:
        code = session.get(Referral, world["referral_id"]).code
    browser = new_browser()
    browser.login(make_user("provider", organisation_id=world["legal"]))
    browser.get("/inbox")
    # When they search for it
    response = browser.post("/inbox/find", {"code": code})
    # Then they are sent back to their inbox with the same answer as for a wrong code
    assert response.status_code == 302 and response.headers["Location"].endswith("/inbox")
    browser.get("/inbox")
    assert code not in browser.last_html


def test_provider_cannot_open_the_clients_pages(world, make_user, new_browser, app):
    # Given a provider of the receiving organisation
    browser = new_browser()
    browser.login(make_user("provider", organisation_id=world["station"]))
    # When they try every page of the clients area for this client (record, notes, assessments, ...)
    rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("clients.") and "client_id" in r.arguments]
    if not rules:
        pytest.skip("the clients area is not installed")
    answers = {}
    for rule in rules:
        values = {name: world["client_id"] if name == "client_id" else "00000000-0000-0000-0000-000000000000"
                  for name in rule.arguments}
        url = app.url_map.bind("localhost").build(rule.endpoint, values)
        response = browser.get(url) if "GET" in rule.methods else browser.post(url, {}, page="/inbox")
        answers[rule.endpoint] = response.status_code
        # Then nothing of the client is shown
        _assert_clean(browser.last_html)
        assert world["display_code"] not in browser.last_html
    assert set(answers.values()) <= {403, 404}, answers


def test_the_public_name_is_on_the_sign_in_page_and_in_the_footer_only(world, new_browser):
    anonymous = new_browser()
    login = anonymous.get("/login").get_data(as_text=True)
    assert SENTINELS["programme"] in FOOTER.sub("", login)
    browser = new_browser()
    browser.login(world["collaborator"])
    page = browser.get(f"/referrals/{world['referral_id']}/slip").get_data(as_text=True)
    assert SENTINELS["programme"] in FOOTER.search(page).group(0)
    assert SENTINELS["programme"] not in FOOTER.sub("", page)
