"""A form sent twice (Back and Send again, a double tap) takes effect once: no second note,
follow-up, client, assessment or referral."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from test_clients_support import assessment, register, registration
from test_referrals_support import make_client, make_service

from casework import clock
from casework.clients.models import Assessment, CaseNote, Client, FollowUp
from casework.referrals.models import Referral

TOKEN = re.compile(r'name="form_token" type="hidden" value="([^"]+)"')


def _count(database, model) -> int:
    with database.transaction() as session:
        return session.scalar(select(func.count()).select_from(model))


def _token_in(html: str, action: str) -> str:
    form = html[html.index(f'action="{action}'):]
    return TOKEN.search(form[:form.index("</form>")]).group(1)


def test_a_note_and_a_follow_up_sent_twice_are_saved_once(signed_in, database):
    browser, _account = signed_in("collaborator")
    client_id = register(browser, uic="ONCE1990N")
    page = browser.get(f"/clients/{client_id}").get_data(as_text=True)
    note = {"body": "Đã gặp chị.", "form_token": _token_in(page, f"/clients/{client_id}/notes")}
    due = clock.local_today().isoformat()
    follow_up = {"due_on": due, "description": "Gọi lại",
                 "form_token": _token_in(page, f"/clients/{client_id}/follow-ups")}
    for _ in range(2):  # the page's form, sent, then sent again after Back
        assert browser.post(f"/clients/{client_id}/notes", note, page=f"/clients/{client_id}").status_code == 302
        assert browser.post(f"/clients/{client_id}/follow-ups", follow_up,
                            page=f"/clients/{client_id}").status_code == 302
    assert _count(database, CaseNote) == 1 and _count(database, FollowUp) == 1
    assert "đã được lưu rồi" in browser.get(f"/clients/{client_id}").get_data(as_text=True)
    # A new page gives a new token: the next note is saved
    page = browser.get(f"/clients/{client_id}").get_data(as_text=True)
    browser.post(f"/clients/{client_id}/notes", {"body": "Lần sau.", "form_token": _token_in(
        page, f"/clients/{client_id}/notes")}, page=f"/clients/{client_id}")
    assert _count(database, CaseNote) == 2


def test_a_registration_and_an_assessment_sent_twice_are_saved_once(signed_in, database):
    browser, _account = signed_in("collaborator")
    page = browser.get("/clients/register").get_data(as_text=True)
    data = registration(uic="HAIL1991N") | {"form_token": _token_in(page, "/clients/register")}
    for _ in range(2):
        assert browser.post("/clients/register", data, page="/clients/register").status_code == 302
    assert _count(database, Client) == 1
    with database.transaction() as session:
        client_id = session.scalars(select(Client.id)).one()
    page = browser.get(f"/clients/{client_id}/assessment").get_data(as_text=True)
    filled = assessment({"legal_aid": "urgent"}) | {"form_token": _token_in(page, f"/clients/{client_id}/assessment")}
    for _ in range(2):
        browser.post(f"/clients/{client_id}/assessment", filled, page=f"/clients/{client_id}/assessment")
    assert _count(database, Assessment) == 1


def test_a_referral_sent_twice_is_made_once(signed_in, database, make_organisation):
    browser, account = signed_in("collaborator")
    client_id, _code = make_client(database, account.user_id)
    place = make_service(database, make_organisation())
    page = browser.get(f"/clients/{client_id}/referrals/new").get_data(as_text=True)
    token = TOKEN.search(page).group(1)
    data = {"service_id": place.service_id, "urgency": "routine", "consent": "y", "action": "send",
            "need": "", "form_token": token}
    for _ in range(2):
        assert browser.post(f"/clients/{client_id}/referrals/new", data,
                            page=f"/clients/{client_id}/referrals/new").status_code == 302
    assert _count(database, Referral) == 1
