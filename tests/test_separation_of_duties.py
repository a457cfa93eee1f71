"""An admin alone has no quiet path to client records (second review, High 2).

The attack as reported: the admin creates a collaborator account, signs in as it with a second
factor of their own, moves a caseload to it, reads the records, and moves it back. Each step is
performed here through the web, as the admin would, and each test asserts what they now observe:
the move waits for a second person, who may not be the admin nor an account the admin set up;
an account the admin reset reaches no record until someone else confirms; the collaborator whose
clients are concerned is told on their own page.
"""

from __future__ import annotations

import re

import pytest
from approvals_support import approvable, approve_all
from sqlalchemy import func, select
from test_referrals_support import SENTINELS, make_client

from casework.approvals.models import AccessChange
from casework.audit import AuditEvent
from casework.auth import totp
from casework.auth.models import User
from casework.clients.models import Client, ClientAssignment, CoassignRequest

ONE_TIME = re.compile(r'<code class="secret">([a-z0-9-]+)</code>')
SECRET = re.compile(r'<code class="secret">([A-Z2-7 ]+)</code>')
CHOSEN = "a long sentence only the thief knows"


def _owner_of(database, client_id: str) -> str:
    with database.transaction() as session:
        return session.get(Client, client_id).owner_id


def _changes(database) -> list[AccessChange]:
    with database.transaction() as session:
        rows = session.scalars(select(AccessChange).order_by(AccessChange.requested_at)).all()
        session.expunge_all()
        return list(rows)


def _finish_setup(browser, username: str, password: str):
    """Sign in with a one-time password, choose a password and enrol a second factor, as a person would."""
    browser.clock.advance(seconds=31)
    browser.post("/login", {"username": username, "password": password}, page="/login")
    browser.post("/account/password", {"current_password": password, "new_password": CHOSEN, "confirm": CHOSEN},
                 page="/account/password")
    if "/login" in (browser.get("/account").headers.get("Location") or ""):
        browser.post("/login", {"username": username, "password": CHOSEN}, page="/login")
    browser.get("/account/second-factor")
    found = SECRET.search(browser.last_html)
    if found:
        secret = found.group(1).replace(" ", "")
        browser.post("/account/second-factor", {"code": totp.code_at(secret, browser.clock.now),
                                                "current_password": CHOSEN})
    return browser


def _admin_creates(admin, role: str, username: str) -> tuple[str, str]:
    admin.post("/admin/users/new", {"username": username, "display_name": f"Tài khoản {username}",
                                    "work_phone": "", "role": role, "organisation_id": "", "locale": "vi"},
               page="/admin/users/new")
    password = ONE_TIME.search(admin.last_html).group(1)
    return password, username


@pytest.fixture
def ward(make_user, new_browser, database):
    owner = make_user("collaborator")
    client_id, display_code = make_client(database, owner.user_id, with_history=True)
    admin_account = make_user("admin")
    admin = new_browser()
    admin.login(admin_account)
    return {"owner": owner, "client_id": client_id, "display_code": display_code, "admin": admin,
            "admin_account": admin_account}


# --- the reported attack -----------------------------------------------------------------------------


def test_an_admin_cannot_move_a_caseload_to_an_account_they_just_created(ward, new_browser, database):
    admin = ward["admin"]
    # Given the admin creates a collaborator account and completes its set-up with their own phone
    password, username = _admin_creates(admin, "collaborator", "sockpuppet")
    puppet = _finish_setup(new_browser(), username, password)
    with database.transaction() as session:
        puppet_id = session.scalar(select(User.id).where(User.username == username))
    # When they try to move the victim's caseload, or the one client, to it
    admin.get("/clients/admin/reassign")
    whole = admin.post("/clients/admin/reassign", {"from_user": ward["owner"].user_id, "to_user": puppet_id,
                                                   "reason": "workload"})
    one = admin.post("/clients/admin/reassign/client", {"display_code": ward["display_code"],
                                                       "client_to": puppet_id, "client_reason": "workload"})
    # Then both are refused with the reason, nothing is even proposed, and the record stays out of reach
    for answer in (whole, one):
        assert answer.status_code == 200
        assert "14 ngày" in answer.get_data(as_text=True)
    assert _changes(database) == []
    assert _owner_of(database, ward["client_id"]) == ward["owner"].user_id
    assert puppet.get(f"/clients/{ward['client_id']}").status_code == 404


def test_a_move_waits_for_a_second_person_and_the_admin_cannot_be_that_person(ward, make_user, new_browser,
                                                                              database):
    admin = ward["admin"]
    colleague = make_user("collaborator")
    # When the admin proposes moving the client to an existing colleague
    admin.get("/clients/admin/reassign")
    response = admin.post("/clients/admin/reassign/client", {"display_code": ward["display_code"],
                                                            "client_to": colleague.user_id,
                                                            "client_reason": "long_absence"})
    assert response.status_code == 302
    # Then nothing has moved yet: the colleague cannot open it, the owner still can
    other = new_browser()
    other.login(colleague)
    assert other.get(f"/clients/{ward['client_id']}").status_code == 404
    assert _owner_of(database, ward["client_id"]) == ward["owner"].user_id
    # And the admin sees the change on the queue but may not approve it, even by posting the form
    assert approvable(admin) == []
    assert "bạn đề xuất" in admin.last_html.lower() or "bạn đã đề xuất" in admin.last_html.lower()
    (change,) = _changes(database)
    refused = admin.post(f"/approvals/{change.id}/decide", {"decision": "approve", "version": change.version},
                         page="/approvals/")
    assert refused.status_code == 302
    assert _changes(database)[0].status == "pending"
    assert _owner_of(database, ward["client_id"]) == ward["owner"].user_id
    # When a supervisor approves it
    assert approve_all(new_browser, make_user) == 1
    # Then it takes effect, and the audit names the approver and links the change
    assert other.get(f"/clients/{ward['client_id']}").status_code == 200
    with database.transaction() as session:
        moved = session.scalars(select(AuditEvent).where(AuditEvent.action == "client.reassigned")).one()
        assert moved.actor_role == "supervisor" and change.id in moved.details


def test_a_supervisor_account_the_admin_created_cannot_approve_the_admins_proposals(ward, make_user,
                                                                                    new_browser, database):
    admin = ward["admin"]
    colleague = make_user("collaborator")
    # Given the admin makes a supervisor account of their own and proposes a move
    password, username = _admin_creates(admin, "supervisor", "fakeboss")
    fake = _finish_setup(new_browser(), username, password)
    admin.get("/clients/admin/reassign")
    admin.post("/clients/admin/reassign/client", {"display_code": ward["display_code"],
                                                 "client_to": colleague.user_id, "client_reason": "workload"})
    (change,) = _changes(database)
    # When the made-up supervisor tries to approve it
    assert approvable(fake) == []
    fake.post(f"/approvals/{change.id}/decide", {"decision": "approve", "version": change.version},
              page="/approvals/")
    # Then it is refused: still pending, the client where it was
    assert _changes(database)[0].status == "pending"
    assert _owner_of(database, ward["client_id"]) == ward["owner"].user_id
    # And the real supervisor sees the new approver account in the list of who can approve
    real = new_browser()
    real.login(make_user("supervisor"))
    real.get("/approvals/")
    assert "fakeboss" in real.last_html.split('id="approvers-h"')[1]


def test_an_admin_who_resets_a_collaborators_sign_in_reaches_none_of_their_records(ward, make_user, new_browser,
                                                                                    database):
    admin, owner = ward["admin"], ward["owner"]
    # Given the admin resets the owner's second factor and password and signs in as them
    page = f"/admin/users/{owner.user_id}"
    admin.post(f"{page}/second-factor", page=page)
    admin.post(f"{page}/password", page=page)
    password = ONE_TIME.search(admin.last_html).group(1)
    thief = _finish_setup(new_browser(), owner.username, password)
    # Then the account is signed in but every client page leads to the hold page, without content
    for url in ("/clients/", f"/clients/{ward['client_id']}", f"/clients/{ward['client_id']}/record",
                "/referrals/sent", "/clients/worklist"):
        response = thief.get(url)
        assert response.status_code == 302 and response.headers["Location"].endswith("/approvals/held"), url
    held = thief.get("/approvals/held").get_data(as_text=True)
    assert "tạm khóa" in held.lower() or "tạm giữ" in held.lower()
    for sentinel in (*SENTINELS.values(), ward["display_code"]):
        assert sentinel not in held
    assert thief.post(f"/clients/{ward['client_id']}/notes", {"body": "x"}, page="/account").status_code == 403
    # And the admin cannot release the hold themselves
    assert approvable(admin) == []
    # When a supervisor confirms the recovery
    assert approve_all(new_browser, make_user) == 1
    # Then the account reaches its records again
    assert thief.get(f"/clients/{ward['client_id']}").status_code == 200


def test_a_co_assignment_waits_for_a_second_person(ward, make_user, new_browser, database):
    # Given another collaborator asks to be co-assigned to the client (found by UIC)
    asker = make_user("collaborator")
    browser = new_browser()
    browser.login(asker)
    browser.get("/clients/")
    browser.post("/clients/co-assignment-requests", {"uic": SENTINELS["uic"]})
    with database.transaction() as session:
        event_id = session.scalar(select(CoassignRequest.id))
    # When the admin handles the request
    admin = ward["admin"]
    admin.get("/clients/admin/reassign")
    assert admin.post(f"/clients/admin/co-assignments/{event_id}").status_code == 302
    # Then the asker has no access yet, and the request has left the admin's list
    assert browser.get(f"/clients/{ward['client_id']}").status_code == 404
    admin.get("/clients/admin/reassign")
    assert ward["display_code"] not in admin.last_html.split('id="req-h"')[1].split('id="coassigned-h"')[0]
    # When a supervisor approves, the asker reaches the record
    assert approve_all(new_browser, make_user) == 1
    assert browser.get(f"/clients/{ward['client_id']}").status_code == 200
    with database.transaction() as session:
        assert session.scalars(select(ClientAssignment.user_id)).all() == [asker.user_id]


# --- what the people involved see -----------------------------------------------------------------


def test_the_previous_owner_is_told_on_their_caseload_page(ward, make_user, new_browser, database):
    admin, owner = ward["admin"], ward["owner"]
    colleague = make_user("collaborator")
    admin.get("/clients/admin/reassign")
    admin.post("/clients/admin/reassign", {"from_user": owner.user_id, "to_user": colleague.user_id,
                                           "reason": "left_programme"})
    # Then the owner sees the pending proposal, by whom, on their caseload page
    browser = new_browser()
    browser.login(owner)
    page = browser.get("/clients/").get_data(as_text=True)
    notices = page.split('id="access-notices-h"')[1]
    assert colleague.display_name in notices and ward["admin_account"].display_name in notices
    assert "Chờ phê duyệt" in notices
    # When a supervisor approves it, the owner (now without clients) sees who approved it
    supervisor = make_user("supervisor")
    approve_all(new_browser, make_user, approver=supervisor)
    notices = browser.get("/clients/").get_data(as_text=True).split('id="access-notices-h"')[1]
    assert supervisor.display_name in notices
    # And may dismiss it
    (change,) = _changes(database)
    browser.post(f"/approvals/notices/{change.id}/seen", page="/clients/")
    assert 'id="access-notices-h"' not in browser.get("/clients/").get_data(as_text=True)


def test_approvers_see_names_and_counts_never_client_contents(ward, make_user, new_browser, database):
    admin = ward["admin"]
    colleague = make_user("collaborator")
    admin.get("/clients/admin/reassign")
    admin.post("/clients/admin/reassign/client", {"display_code": ward["display_code"],
                                                 "client_to": colleague.user_id, "client_reason": "workload"})
    supervisor = new_browser()
    supervisor.login(make_user("supervisor"))
    page = supervisor.get("/approvals/").get_data(as_text=True)
    assert colleague.display_name in page and ward["owner"].display_name in page
    for sentinel in (*SENTINELS.values(), ward["display_code"]):
        assert sentinel not in page


def test_a_change_is_decided_once_even_by_two_approvers_at_the_same_moment(ward, make_user, new_browser,
                                                                           database):
    admin = ward["admin"]
    colleague = make_user("collaborator")
    admin.get("/clients/admin/reassign")
    admin.post("/clients/admin/reassign/client", {"display_code": ward["display_code"],
                                                 "client_to": colleague.user_id, "client_reason": "workload"})
    first, second = new_browser(), new_browser()
    first.login(make_user("supervisor"))
    second.login(make_user("admin"))
    (seen_first,), (seen_second,) = approvable(first), approvable(second)
    assert seen_first == seen_second
    change_id, version = seen_first
    first.post(f"/approvals/{change_id}/decide", {"decision": "refuse", "version": version}, page="/approvals/")
    second.post(f"/approvals/{change_id}/decide", {"decision": "approve", "version": version}, page="/approvals/")
    # Then the first decision stands and the second is told it came too late
    (change,) = _changes(database)
    assert change.status == "refused"
    assert "đã được quyết định" in second.get("/approvals/").get_data(as_text=True)
    assert _owner_of(database, ward["client_id"]) == ward["owner"].user_id


def test_an_undecided_change_lapses_after_seven_days(ward, make_user, new_browser, database, clock):
    admin = ward["admin"]
    colleague = make_user("collaborator")
    admin.get("/clients/admin/reassign")
    admin.post("/clients/admin/reassign/client", {"display_code": ward["display_code"],
                                                 "client_to": colleague.user_id, "client_reason": "workload"})
    (change,) = _changes(database)
    clock.advance(days=8)
    supervisor = new_browser()
    supervisor.login(make_user("supervisor"))
    supervisor.get("/approvals/")
    supervisor.post(f"/approvals/{change.id}/decide", {"decision": "approve", "version": change.version},
                    page="/approvals/")
    assert _owner_of(database, ward["client_id"]) == ward["owner"].user_id
    assert approvable(supervisor) == []
    assert _changes(database)[0].status == "lapsed"
    with database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(AccessChange)
                              .where(AccessChange.status == "pending")) == 0


def test_erasing_a_client_removes_the_changes_that_name_it(ward, make_user, new_browser, database):
    from casework.clients import services

    admin = ward["admin"]
    admin.get("/clients/admin/reassign")
    admin.post("/clients/admin/reassign/client", {"display_code": ward["display_code"],
                                                 "client_to": make_user("collaborator").user_id,
                                                 "client_reason": "workload"})
    with database.transaction() as session:
        services.erase_client(session, ward["client_id"], actor=None, reason="client_request")
    assert _changes(database) == []


def test_an_incomplete_decision_says_so_and_changes_nothing(signed_in, database):
    # Given a supervisor who sends the decision form without its fields (a stale or hand-made form)
    browser, _supervisor = signed_in("supervisor")
    browser.get("/approvals/")
    response = browser.post("/approvals/00000000-0000-0000-0000-000000000000/decide", {})
    # Then the queue comes back with a message in Vietnamese, and nothing was decided
    assert response.status_code == 302
    assert "Biểu mẫu chưa đầy đủ" in browser.get("/approvals/").get_data(as_text=True)
    with database.snapshot() as session:
        assert session.scalar(select(func.count()).select_from(AccessChange)
                              .where(AccessChange.decided_at.is_not(None))) == 0
