"""A UIC match means "possibly the same person": the worker decides; nothing is merged."""

from __future__ import annotations

from approvals_support import approve_all
from sqlalchemy import func, select
from test_clients_support import register, registration

from casework.audit import AuditEvent
from casework.clients.models import Client, ClientAssignment, CoassignRequest


def client_count(database) -> int:
    with database.transaction() as session:
        return session.scalar(select(func.count()).select_from(Client))


def test_the_same_uic_spelled_differently_is_detected_in_my_caseload(signed_in, database):
    # Given a client registered with UIC "HOMI1998N"
    browser, _account = signed_in("collaborator")
    first = register(browser, uic="HOMI1998N")
    with database.transaction() as session:
        code = session.get(Client, first).display_code
    # When I register someone with the same UIC typed with accents, spaces and lower case
    browser.get("/clients/register")
    response = browser.post("/clients/register", registration(uic="hở mì 1998 n"))
    # Then I am told, offered to open the existing record, and nothing is stored
    assert response.status_code == 200
    assert "Có thể đã có thân chủ được đăng ký với cùng mã UIC" in browser.last_html
    assert f"/clients/{first}" in browser.last_html and code in browser.last_html
    assert client_count(database) == 1
    # When I confirm it is a different person
    response = browser.post("/clients/register", registration(uic="hở mì 1998 n", confirm_different="y"))
    # Then a second record is registered, and the audit says a match was overridden (no UIC)
    assert response.status_code == 302
    assert client_count(database) == 2
    with database.transaction() as session:
        details = session.scalars(select(AuditEvent.details).where(AuditEvent.action == "client.registered")
                                  .order_by(AuditEvent.id.desc())).first()
    assert '"uic_match_overridden":true' in details and "HOMI" not in details


def test_a_match_in_another_caseload_leads_to_a_co_assignment_request(signed_in, new_browser, make_user,
                                                                      database):
    # Given a client in collaborator A's caseload
    a = make_user("collaborator")
    a_browser = new_browser()
    a_browser.login(a)
    existing = register(a_browser, uic="LANA1999N", alias="Bí-danh-của-A")
    with database.transaction() as session:
        code = session.get(Client, existing).display_code
    # When collaborator B registers someone with the same UIC
    b_browser, b = signed_in("collaborator")
    b_browser.get("/clients/register")
    b_browser.post("/clients/register", registration(uic="LA NA 1999 N"))
    # Then B learns a match exists elsewhere, without its code or contents, and nothing is stored
    assert "thuộc danh sách của cộng tác viên khác" in b_browser.last_html
    assert code not in b_browser.last_html and "Bí-danh-của-A" not in b_browser.last_html
    assert client_count(database) == 1
    # When B asks an administrator to co-assign them
    response = b_browser.post("/clients/co-assignment-requests", {"uic": "LANA1999N"})
    assert response.status_code == 302
    # Then the request is audited against the existing client (no UIC in it)
    with database.transaction() as session:
        request = session.scalars(select(AuditEvent).where(AuditEvent.action == "client.coassign_requested")).one()
    assert (request.object_id, request.actor_id) == (existing, b.user_id)
    assert "LANA" not in request.details
    # When an admin grants it from the reassignment screen (display code only)
    admin_browser = new_browser()
    admin_browser.login(make_user("admin"))
    admin_browser.get("/clients/admin/reassign")
    assert code in admin_browser.last_html and "Bí-danh-của-A" not in admin_browser.last_html
    with database.transaction() as session:
        request_id = session.scalars(select(CoassignRequest.id)).one()
    assert admin_browser.post(f"/clients/admin/co-assignments/{request_id}").status_code == 302
    # And a supervisor approves it (nothing changes before)
    assert b_browser.get(f"/clients/{existing}").status_code == 404
    assert approve_all(new_browser, make_user) == 1
    # Then B now reaches the record, and the request is no longer pending
    with database.transaction() as session:
        assert session.scalars(select(ClientAssignment.user_id)).all() == [b.user_id]
    assert b_browser.get(f"/clients/{existing}").status_code == 200
    admin_browser.get("/clients/admin/reassign")
    requests = admin_browser.last_html.split('id="req-h"')[1].split('id="coassigned-h"')[0]
    assert code not in requests


def test_a_client_may_decline_to_give_a_uic(signed_in, database):
    # Given a collaborator
    browser, _account = signed_in("collaborator")
    # When they register a client who declines to give a UIC
    client_id = register(browser, uic="", uic_declined="y")
    # Then the client is registered without a UIC or blind index
    with database.transaction() as session:
        client = session.get(Client, client_id)
        assert (client.uic_enc, client.uic_bidx, client.uic_declined) == (None, None, True)
    # And two clients who both declined are never taken for duplicates
    register(browser, uic="", uic_declined="y")
    assert client_count(database) == 2


def test_a_uic_and_the_declined_box_together_are_refused(signed_in, database):
    browser, _account = signed_in("collaborator")
    browser.get("/clients/register")
    response = browser.post("/clients/register", registration(uic="HOMI1998N", uic_declined="y"))
    assert response.status_code == 200
    assert "Hoặc nhập mã UIC, hoặc đánh dấu “từ chối”, không chọn cả hai." in browser.last_html
    assert client_count(database) == 0
