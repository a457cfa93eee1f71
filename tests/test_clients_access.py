"""Only the clients' own case workers reach a record; an admin moves caseloads blind."""

from __future__ import annotations

from approvals_support import approve_all
from sqlalchemy import select
from test_clients_support import register

from casework.audit import AuditEvent
from casework.clients.models import Client

CLIENT_PAGES = ("", "/assessment", "/assessments", "/close", "/record", "/correct", "/erase")


def test_nobody_but_the_case_worker_reaches_a_client_record(signed_in, new_browser, make_user, make_organisation):
    # Given a client registered by one collaborator, with an alias
    owner_browser, _owner = signed_in("collaborator")
    client_id = register(owner_browser, alias="Chỉ-người-phụ-trách")
    # When another collaborator, a provider, a supervisor and an admin try every page of the record
    visitors = {
        "collaborator": make_user("collaborator"),
        "provider": make_user("provider", organisation_id=make_organisation()),
        "supervisor": make_user("supervisor"),
        "admin": make_user("admin"),
    }
    for role, account in visitors.items():
        browser = new_browser()
        browser.login(account)
        for page in CLIENT_PAGES:
            response = browser.get(f"/clients/{client_id}{page}")
            # Then the other collaborator is told the page does not exist (404: existence is not revealed),
            # and every other role is refused by role (403); none sees the alias
            assert response.status_code == (404 if role == "collaborator" else 403), (role, page)
            assert "Chỉ-người-phụ-trách" not in browser.last_html
        browser.get("/account")
        response = browser.post(f"/clients/{client_id}/notes", {"body": "x"})
        assert response.status_code == (404 if role == "collaborator" else 403), role
    # And an unknown id answers exactly like someone else's client
    stranger = new_browser()
    stranger.login(visitors["collaborator"])
    missing = stranger.get("/clients/00000000-0000-4000-8000-000000000000")
    other = stranger.get(f"/clients/{client_id}")
    assert missing.status_code == other.status_code == 404
    assert missing.get_data(as_text=True).replace("00000000-0000-4000-8000-000000000000", "ID") \
        == other.get_data(as_text=True).replace(client_id, "ID")


def test_every_view_is_audited_and_shown_in_the_access_history(signed_in, database):
    # Given a client
    browser, account = signed_in("collaborator")
    client_id = register(browser)
    # When the worker opens the page and the access sheet
    browser.get(f"/clients/{client_id}")
    browser.get(f"/clients/{client_id}/record")
    # Then each view is an audit event naming who and which page
    with database.transaction() as session:
        views = session.scalars(select(AuditEvent).where(AuditEvent.action == "client.viewed",
                                                         AuditEvent.object_id == client_id)).all()
    assert {v.actor_id for v in views} == {account.user_id}
    assert {'"page":"client"', '"page":"access_sheet"'} <= {v.details[1:-1].split(",")[0] for v in views}
    # And the owner sees them in the access history panel
    browser.get(f"/clients/{client_id}")
    history = browser.last_html.split('id="history-h"')[1]
    assert "Mở xem" in history and account.display_name in history


def test_admin_moves_a_caseload_and_a_single_client_seeing_only_codes_and_counts(
        signed_in, new_browser, make_user, database):
    # Given two clients of collaborator A (one with an alias) and a collaborator B
    a = make_user("collaborator")
    b = make_user("collaborator")
    a_browser = new_browser()
    a_browser.login(a)
    first = register(a_browser, uic="AAAA1990N", alias="Bí-danh-không-được-lộ")
    second = register(a_browser, uic="BBBB1991N")
    with database.transaction() as session:
        second_code = session.get(Client, second).display_code
    # When an admin opens the reassignment screen
    admin_browser, _admin = signed_in("admin")
    page = admin_browser.get("/clients/admin/reassign")
    # Then they see collaborators and counts, never client contents
    assert page.status_code == 200
    assert a.display_name in admin_browser.last_html
    assert "Bí-danh-không-được-lộ" not in admin_browser.last_html
    # When they move one client to B by display code
    response = admin_browser.post("/clients/admin/reassign/client", {"display_code": second_code.lower(),
                                                                     "client_to": b.user_id,
                                                                     "client_reason": "workload"})
    assert response.status_code == 302
    # Then nothing moves until a second person approves
    b_browser = new_browser()
    b_browser.login(b)
    assert b_browser.get(f"/clients/{second}").status_code == 404
    assert approve_all(new_browser, make_user) == 1
    # Then B has it and A no longer reaches it
    assert b_browser.get(f"/clients/{second}").status_code == 200
    assert a_browser.get(f"/clients/{second}").status_code == 404
    # When they move the whole rest of A's caseload
    admin_browser.get("/clients/admin/reassign")
    response = admin_browser.post("/clients/admin/reassign", {"from_user": a.user_id, "to_user": b.user_id,
                                                              "reason": "left_programme"})
    assert response.status_code == 302
    assert approve_all(new_browser, make_user) == 1
    # Then B has every client and A none; the moves are audited without contents
    assert b_browser.get(f"/clients/{first}").status_code == 200
    assert a_browser.get(f"/clients/{first}").status_code == 404
    with database.transaction() as session:
        owners = set(session.scalars(select(Client.owner_id)))
        moves = session.scalars(select(AuditEvent).where(AuditEvent.action == "client.reassigned")).all()
    assert owners == {b.user_id}
    assert {m.object_id for m in moves} == {first, second}
