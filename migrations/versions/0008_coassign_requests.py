"""co-assignment requests in a table of their own

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01

Until now an open co-assignment request was worked out from the newest 1,000 audit events, so
older requests silently dropped off the administrator's list. They now live in
``coassign_requests`` with a state. The upgrade carries over every request that was still open,
read from the whole audit log with the same rules as before (not granted or removed since, the
requester still active and not the owner or a co-assignee); a request already sent for approval
keeps its link to that access change. The downgrade drops the table: the audit events it was built
from are untouched, so nothing is lost.
"""

import json
import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HANDLED = ("client.coassigned", "client.coassignment_removed")


def upgrade() -> None:
    table = op.create_table(
        "coassign_requests",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("client_id", sa.String(36), sa.ForeignKey("clients.id", ondelete="CASCADE",
                                                             name="fk_coassign_requests_client_id_clients"),
                  nullable=False),
        sa.Column("requester_id", sa.String(36), sa.ForeignKey("users.id", ondelete="RESTRICT",
                                                                name="fk_coassign_requests_requester_id_users"),
                  nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("change_id", sa.String(36), sa.ForeignKey("access_changes.id", ondelete="SET NULL",
                                                             name="fk_coassign_requests_change_id_access_changes"),
                  nullable=True),
        sa.Column("requested_at", sa.DateTime(), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_coassign_requests"),
    )
    op.create_index("ix_coassign_requests_open", "coassign_requests", ["status", "requested_at", "id"])
    op.create_index("ix_coassign_requests_pair", "coassign_requests", ["client_id", "requester_id", "status"])
    op.bulk_insert(table, list(_open_requests(op.get_bind())))


def _open_requests(conn: sa.Connection):
    events = conn.execute(sa.text(
        "SELECT id, occurred_at, object_id, actor_id, action, details FROM audit_events "
        "WHERE action IN ('client.coassign_requested', 'client.coassigned', 'client.coassignment_removed') "
        "ORDER BY id DESC")).all()
    owners = dict(conn.execute(sa.text("SELECT id, owner_id FROM clients")).all())
    active = {row[0] for row in conn.execute(sa.text("SELECT id FROM users WHERE active"))}
    assigned = {tuple(row) for row in conn.execute(sa.text("SELECT client_id, user_id FROM client_assignments"))}
    changes = {row[0]: row[1] for row in conn.execute(sa.text(
        "SELECT source_event_id, id FROM access_changes WHERE source_event_id IS NOT NULL ORDER BY requested_at"))}
    seen: set[tuple[str, str]] = set()
    for event_id, occurred_at, client_id, actor_id, action, details in events:
        if action in HANDLED:
            seen.add((client_id, json.loads(details or "{}").get("user", "")))
            continue
        pair = (client_id, actor_id)
        if pair in seen:
            continue
        seen.add(pair)
        if client_id not in owners or actor_id not in active or owners[client_id] == actor_id or pair in assigned:
            continue
        yield {"id": str(uuid.uuid4()), "client_id": client_id, "requester_id": actor_id, "status": "open",
               "change_id": changes.get(event_id), "requested_at": _moment(occurred_at), "closed_at": None}


def _moment(text: str):
    from datetime import datetime

    return datetime.strptime(text[:19], "%Y-%m-%dT%H:%M:%S")


def downgrade() -> None:
    op.drop_index("ix_coassign_requests_pair", table_name="coassign_requests")
    op.drop_index("ix_coassign_requests_open", table_name="coassign_requests")
    op.drop_table("coassign_requests")
