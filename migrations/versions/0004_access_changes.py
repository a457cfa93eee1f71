"""two-person control over access to client records

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01

A caseload move, a single-client move or a co-assignment is now proposed by one person and takes
effect when a second person approves it: access_changes is that work queue (ids, codes and counts,
never client content). users.records_held_since marks a collaborator whose sign-in an admin reset:
their records wait for a second person to confirm the recovery.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("records_held_since", sa.DateTime(), nullable=True))
    op.create_table(
        "access_changes",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("reason", sa.String(length=24), nullable=False),
        sa.Column("client_id", sa.String(length=36), nullable=True),
        sa.Column("from_user_id", sa.String(length=36), nullable=True),
        sa.Column("to_user_id", sa.String(length=36), nullable=False),
        sa.Column("client_count", sa.Integer(), nullable=False),
        sa.Column("applied_count", sa.Integer(), nullable=True),
        sa.Column("source_event_id", sa.BigInteger(), nullable=True),
        sa.Column("requested_by", sa.String(length=36), nullable=True),
        sa.Column("requested_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
        sa.Column("decided_by", sa.String(length=36), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("notice_seen_at", sa.DateTime(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["from_user_id"], ["users.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["to_user_id"], ["users.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["requested_by"], ["users.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["decided_by"], ["users.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_access_changes_status", "access_changes", ["status", "requested_at"])
    op.create_index("ix_access_changes_from_user", "access_changes", ["from_user_id", "requested_at"])
    op.create_index("ix_access_changes_to_user", "access_changes", ["to_user_id", "requested_at"])
    op.create_index("ix_access_changes_client", "access_changes", ["client_id"])


def downgrade() -> None:
    op.drop_table("access_changes")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("records_held_since")
