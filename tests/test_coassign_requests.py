"""Co-assignment requests as an administrator works through them: every open request is listed,
a page at a time, however many other events the audit log has since; handled ones leave the list;
and migration 0008 carries the open ones over from the audit log."""

from __future__ import annotations

import re

from sqlalchemy import select
from test_referrals_support import make_client

from casework import migrate
from casework.approvals import services as approvals
from casework.approvals.models import AccessChange
from casework.audit import AuditEvent, record
from casework.auth.models import User
from casework.clients import services
from casework.clients.models import Client, CoassignRequest


def _request_for_many(database, make_user, count: int, clock=None) -> list[str]:
    """``count`` collaborators each ask for another's client; returns the requesters' ids in order."""
    owner = make_user("collaborator", second_factor=False)
    client_id, _code = make_client(database, owner.user_id)
    askers = []
    for _ in range(count):
        asker = make_user("collaborator", second_factor=False)
        with database.transaction() as session:
            services.request_coassignment(session, session.get(User, asker.user_id), [client_id])
        askers.append(asker.user_id)
        if clock is not None and len(askers) % 2 == 0:
            clock.advance(minutes=1)  # pairs made in the same minute: ties in the sort key
    return askers


def _names_on_pages(admin) -> list[str]:
    names, page = [], 1
    while True:
        admin.get(f"/clients/admin/reassign?page={page}")
        section = admin.last_html.split('id="req-h"')[1].split('id="coassigned-h"')[0]
        names += re.findall(r"<td>(Staff collaborator\d+)</td>", section)
        if 'rel="next"' not in section:
            return names
        page += 1


def test_every_open_request_is_listed_a_page_at_a_time_however_old(database, make_user, signed_in, clock):
    # Given 60 requests, then more than a thousand later events in the audit log
    askers = _request_for_many(database, make_user, 60, clock)
    with database.transaction() as session:
        for _ in range(1_200):
            record(session, "test.noise", actor_role="system")
    admin, _account = signed_in("admin")

    # When the administrator pages through the requests
    names = _names_on_pages(admin)

    # Then each of the 60 is there exactly once, oldest first (ties in any fixed order), 25 to a page
    with database.transaction() as session:
        expected = [session.get(User, uid).display_name for uid in askers]
    assert len(names) == 60 and set(names) == set(expected)
    assert [sorted(names[i:i + 2]) for i in range(0, 60, 2)] == [sorted(expected[i:i + 2]) for i in range(0, 60, 2)]


def test_a_request_leaves_the_list_when_sent_for_approval_and_returns_if_that_is_withdrawn(
        database, make_user, signed_in):
    askers = _request_for_many(database, make_user, 2)
    admin, account = signed_in("admin")
    with database.transaction() as session:
        first = session.scalars(select(CoassignRequest).where(CoassignRequest.requester_id == askers[0])).one()
        request_id = first.id
    admin.get("/clients/admin/reassign")
    assert admin.post(f"/clients/admin/co-assignments/{request_id}").status_code == 302
    assert len(_names_on_pages(admin)) == 1
    # Sending it twice is refused: it is no longer open for the administrator
    admin.get("/clients/admin/reassign")
    assert admin.post(f"/clients/admin/co-assignments/{request_id}").status_code == 404

    with database.transaction() as session:
        change_id = session.get(CoassignRequest, request_id).change_id
        version = session.get(AccessChange, change_id).version
        change = approvals.withdraw(session, session.get(User, account.user_id), change_id, version)
    assert change.status == "withdrawn"
    assert len(_names_on_pages(admin)) == 2


def test_an_approved_request_is_granted_and_does_not_come_back_after_removal(database, make_user, signed_in,
                                                                              new_browser):
    askers = _request_for_many(database, make_user, 1)
    admin, _account = signed_in("admin")
    with database.transaction() as session:
        request_id = session.scalars(select(CoassignRequest.id)).one()
    admin.get("/clients/admin/reassign")
    admin.post(f"/clients/admin/co-assignments/{request_id}")
    supervisor = new_browser()
    supervisor.login(make_user("supervisor"))
    with database.transaction() as session:
        change_id = session.get(CoassignRequest, request_id).change_id
    supervisor.get("/approvals/")
    assert supervisor.post(f"/approvals/{change_id}/decide", {"decision": "approve", "version": "1"}).status_code == 302

    with database.transaction() as session:
        request = session.get(CoassignRequest, request_id)
        assert request.status == "granted" and request.closed_at is not None
        client_id = request.client_id
    admin.get("/clients/admin/reassign")
    admin.post(f"/clients/admin/co-assignments/{client_id}/{askers[0]}/remove")
    assert _names_on_pages(admin) == []


def test_migration_0008_carries_over_the_open_requests_from_the_audit_log(database, make_user, signed_in):
    # Given open requests, one of them sent for approval, and one already granted
    askers = _request_for_many(database, make_user, 3)
    admin, _account = signed_in("admin")
    with database.transaction() as session:
        rows = {r.requester_id: r.id for r in session.scalars(select(CoassignRequest))}
    admin.get("/clients/admin/reassign")
    admin.post(f"/clients/admin/co-assignments/{rows[askers[1]]}")
    with database.transaction() as session:
        granted = session.get(CoassignRequest, rows[askers[2]])
        client = granted.client_id
        services.co_assign(session, session.get(User, _account.user_id), session.get(Client, client),
                           session.get(User, askers[2]), change="manual")
    with database.transaction() as session:
        before = {(r.client_id, r.requester_id, r.change_id) for r in session.scalars(
            select(CoassignRequest).where(CoassignRequest.status == "open"))}
        # The change ids the old scheme kept on the access change, as before migration 0008
        for request in session.scalars(select(CoassignRequest).where(CoassignRequest.change_id.is_not(None))):
            change = session.get(AccessChange, request.change_id)
            change.source_event_id = session.scalar(select(AuditEvent.id).where(
                AuditEvent.action == "client.coassign_requested",
                AuditEvent.actor_id == request.requester_id))
    database.engine.dispose()

    # When the schema goes back to 0007 (the table is dropped) and up again
    migrate.downgrade(database.engine, "0007")
    migrate.upgrade(database.engine)

    # Then the same requests are open, the one sent for approval still linked to its change
    with database.transaction() as session:
        after = {(r.client_id, r.requester_id, r.change_id) for r in session.scalars(select(CoassignRequest))}
    assert after == before and len(after) == 2
    assert any(change_id for _c, _r, change_id in after)
