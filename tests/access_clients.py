"""Expected access to the clients area (format: see tests/test_permission_matrix.py).

Client pages are for collaborators only. Object URLs point at a real client in
ANOTHER collaborator's caseload: the answer is "notfound", the same as for an id
that does not exist, so a collaborator cannot learn that a record exists
(casework/policy/clients.py). Other roles are refused by role before any lookup.
Anonymous visitors are sent to sign in (GET) or refused (POST).
"""

COLLABORATOR_PAGES = ("clients.caseload", "clients.register", "clients.worklist_view", "clients.follow_ups_overdue")
COLLABORATOR_FORMS = {"clients.find": "ok", "clients.request_coassign": "redirect"}
CLIENT_GETS = ("clients.view", "clients.assess", "clients.assessments", "clients.close",
               "clients.record_sheet", "clients.correct", "clients.erase", "clients.note_correct",
               "clients.follow_up_correct", "clients.assessment_correct", "clients.consent_withdraw_confirm")
CLIENT_POSTS = ("clients.consent_add", "clients.consent_withdraw", "clients.note_add", "clients.follow_up_add",
                "clients.follow_up_done", "clients.reopen", "clients.coassignee_remove")
NOT_COLLABORATORS = ("provider", "supervisor", "admin")
NOT_ADMINS = ("collaborator", "provider", "supervisor")


def _row(collaborator: str, anonymous: str) -> dict[str, str]:
    return {"anonymous": anonymous, "collaborator": collaborator, **dict.fromkeys(NOT_COLLABORATORS, "forbidden")}


def _admin_row(admin: str, anonymous: str) -> dict[str, str]:
    return {"anonymous": anonymous, "admin": admin, **dict.fromkeys(NOT_ADMINS, "forbidden")}


def _someone_elses_client(world, role):
    """A client registered by another collaborator (created once per test)."""
    if "client" not in world.cache:
        from casework.clients import storage

        owner = world.make_user("collaborator", username="other.collaborator")
        with world.database.transaction() as session:
            client = storage.new_client(session, owner_id=owner.user_id, uic="NGHO1990N")
            session.flush()
            world.cache["client"] = client.id
    return world.cache["client"]


EXPECTED = {
    **{endpoint: _row("ok", "login") for endpoint in COLLABORATOR_PAGES},
    **{endpoint: _row(outcome, "forbidden") for endpoint, outcome in COLLABORATOR_FORMS.items()},
    **{endpoint: _row("notfound", "login") for endpoint in CLIENT_GETS},
    **{endpoint: _row("notfound", "forbidden") for endpoint in CLIENT_POSTS},
    "clients.admin_reassign": _admin_row("ok", "login"),
    "clients.admin_reassign_client": _admin_row("ok", "forbidden"),
    "clients.admin_coassign": _admin_row("notfound", "forbidden"),
    "clients.admin_coassignment_remove": _admin_row("notfound", "forbidden"),
}

URL_ARGS = {
    **{endpoint: {"client_id": _someone_elses_client} for endpoint in (*CLIENT_GETS, *CLIENT_POSTS)},
    "clients.admin_coassign": {"request_id": "00000000-0000-4000-8000-000000000000"},
}
