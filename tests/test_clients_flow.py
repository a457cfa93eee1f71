"""A collaborator's whole day with one client, through the real forms with CSRF on."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from test_clients_support import assessment, register

from casework import clock as casework_clock
from casework.audit import AuditEvent
from casework.clients.models import Assessment, CaseNote, Client, Consent, FollowUp


def test_collaborator_registers_assesses_notes_follows_up_closes_and_reopens(signed_in, database, clock):
    # Given a signed-in collaborator
    browser, account = signed_in("collaborator")

    # When they register a client with verbal consent
    client_id = register(browser, alias="Mai", phone="0912 345 678", residence="Tổ 5")

    # Then the client page shows the random display code, and the consent by this worker
    page = browser.get(f"/clients/{client_id}")
    assert page.status_code == 200
    with database.transaction() as session:
        client = session.get(Client, client_id)
        assert client.display_code.startswith("KH-")
        assert client.age_band == "25-34" and not client.is_minor
        consent = session.scalars(select(Consent).where(Consent.client_id == client_id)).one()
        assert (consent.purpose, consent.method, consent.recorded_by) == ("registration", "verbal", account.user_id)
        code = client.display_code
    assert code in browser.last_html
    assert "Mai" in browser.last_html

    # When they assess needs (one urgent, one some)
    browser.get(f"/clients/{client_id}/assessment")
    week_ago = (casework_clock.local_today() - timedelta(days=7)).isoformat()
    response = browser.post(f"/clients/{client_id}/assessment", assessment(
        {"hiv_sti_testing": "urgent", "vocational_training": "some"}, {"hiv_sti_testing": "chưa từng xét nghiệm"},
        on=week_ago))
    assert response.status_code == 302
    # Then the client page shows the current needs at a glance
    browser.get(f"/clients/{client_id}")
    assert 'data-need="hiv_sti_testing" data-level="urgent"' in browser.last_html
    assert 'data-need="vocational_training" data-level="some"' in browser.last_html
    assert "chưa từng xét nghiệm" in browser.last_html

    # When they reassess today, history is kept and the latest one is current
    browser.get(f"/clients/{client_id}/assessment")
    browser.post(f"/clients/{client_id}/assessment", assessment({"employment": "some"}))
    with database.transaction() as session:
        assert len(session.scalars(select(Assessment).where(Assessment.client_id == client_id)).all()) == 2
    browser.get(f"/clients/{client_id}/assessments")
    assert browser.last_html.count("<section class=\"card\">") == 2
    browser.get("/clients/")
    assert 'data-need="employment"' in browser.last_html
    assert 'data-need="vocational_training"' not in browser.last_html

    # When they write a note and add a follow-up due tomorrow
    browser.get(f"/clients/{client_id}")
    assert browser.post(f"/clients/{client_id}/notes", {"body": "Gặp ở quán, hẹn tuần sau"}).status_code == 302
    due = (casework_clock.local_today() + timedelta(days=1)).isoformat()
    browser.get(f"/clients/{client_id}")
    assert browser.post(f"/clients/{client_id}/follow-ups",
                        {"due_on": due, "description": "Hỏi kết quả"}).status_code == 302
    with database.transaction() as session:
        assert session.scalars(select(CaseNote).where(CaseNote.client_id == client_id)).one().body \
            == "Gặp ở quán, hẹn tuần sau"
        follow_up_id = session.scalars(select(FollowUp).where(FollowUp.client_id == client_id)).one().id

    # Then, three days later (signed in again), the follow-up is overdue on the caseload
    clock.advance(days=3)
    browser.login(account)
    browser.get("/clients/")
    assert 'class="overdue"' in browser.last_html and code in browser.last_html

    # When they mark it done, it is no longer overdue
    browser.get(f"/clients/{client_id}")
    assert browser.post(f"/clients/{client_id}/follow-ups/{follow_up_id}/done").status_code == 302
    browser.get("/clients/")
    assert 'class="overdue"' not in browser.last_html

    # When they close the case with a reason, then reopen it
    browser.get(f"/clients/{client_id}/close")
    assert browser.post(f"/clients/{client_id}/close", {"reason": "moved"}).status_code == 302
    with database.transaction() as session:
        client = session.get(Client, client_id)
        assert (client.status, client.close_reason) == ("closed", "moved")
    browser.get(f"/clients/{client_id}")
    assert browser.post(f"/clients/{client_id}/reopen").status_code == 302
    with database.transaction() as session:
        client = session.get(Client, client_id)
        assert (client.status, client.close_reason, client.closed_at) == ("open", None, None)
        actions = session.scalars(select(AuditEvent.action).where(AuditEvent.object_id == client_id)).all()
    for action in ("client.registered", "client.viewed", "client.assessed", "client.note_added",
                   "client.follow_up_added", "client.follow_up_done", "client.closed", "client.reopened"):
        assert action in actions


def test_client_page_shows_access_history_to_the_owner(signed_in):
    browser, _account = signed_in("collaborator")
    client_id = register(browser)
    browser.get(f"/clients/{client_id}")
    assert 'id="history-h"' in browser.last_html
    assert "Staff collaborator" in browser.last_html.split('id="history-h"')[1]
