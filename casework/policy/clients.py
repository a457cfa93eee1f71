"""Who may reach a client record (docs/DESIGN.md §1).

A collaborator reaches a client only when they own it or are co-assigned to
it. Every other signed-in role is refused by the role check (``@allow``)
before this rule runs; an admin moves caseloads without ever opening a record.

Views answer 404, not 403, when this rule says no: a collaborator must not be
able to learn that a client id exists in someone else's caseload.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from casework.clients.models import Client, ClientAssignment


def can_access_client(user: Any, client: Client) -> bool:
    """True when ``user`` is an active collaborator who owns or is co-assigned to ``client``."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if getattr(user, "role", None) != "collaborator" or not getattr(user, "active", False):
        return False
    if getattr(user, "records_held_since", None) is not None:
        return False  # held after an admin reset the account's sign-in (casework.approvals)
    if client.owner_id == user.id:
        return True
    return any(assignment.user_id == user.id for assignment in client.co_assignees)


def can_remove_coassignment(user: Any, client: Client) -> bool:
    """Only the owner ends a co-assignment from the client page (admins do it from the
    reassignment screen, which shows display codes only)."""
    return can_access_client(user, client) and is_owner(user, client)


def caseload_filter(user_id: str) -> Any:
    """A SQL condition selecting the clients in ``user_id``'s caseload (owner or co-assigned)."""
    co_assigned = select(ClientAssignment.client_id).where(ClientAssignment.user_id == user_id)
    return (Client.owner_id == user_id) | Client.id.in_(co_assigned)


def is_owner(user: Any, client: Client) -> bool:
    return getattr(user, "id", None) == client.owner_id


def in_caseload(session: Session, user: Any, client_ids: list[str]) -> set[str]:
    """Which of ``client_ids`` the user may open (for duplicate checks; no contents read)."""
    if not client_ids:
        return set()
    rows = session.scalars(select(Client.id).where(Client.id.in_(client_ids), caseload_filter(user.id)))
    return set(rows)
