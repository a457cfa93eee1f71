"""forms kept across an idle timeout

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01

``user_sessions.ended_by`` says why a session ended ("idle", "absolute", "logout", "revoked");
``held_forms`` keeps, for a few minutes and encrypted, a form posted just after its session ran
out of idle time, so that its author can send it again after signing in.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("user_sessions") as batch:
        batch.add_column(sa.Column("ended_by", sa.String(12), nullable=True))
    op.create_table(
        "held_forms",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id", ondelete="CASCADE",
                                                           name="fk_held_forms_user_id_users"), nullable=False),
        sa.Column("path", sa.String(300), nullable=False),
        sa.Column("fields_enc", sa.Text(), nullable=True),
        sa.Column("held_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_held_forms"),
    )
    op.create_index("ix_held_forms_user_id", "held_forms", ["user_id"])
    op.create_index("ix_held_forms_expires_at", "held_forms", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_held_forms_expires_at", table_name="held_forms")
    op.drop_index("ix_held_forms_user_id", table_name="held_forms")
    op.drop_table("held_forms")
    with op.batch_alter_table("user_sessions") as batch:
        batch.drop_column("ended_by")
