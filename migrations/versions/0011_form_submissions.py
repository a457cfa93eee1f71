"""forms that take effect once

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01

``form_submissions`` records the random token of each note, follow-up, registration, assessment,
referral and feedback form when it is saved, so that the same form sent again (Back, then Send; a
double tap) saves nothing the second time. Tokens are purged after a week.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "form_submissions",
        sa.Column("token", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id", ondelete="CASCADE",
                                                           name="fk_form_submissions_user_id_users"), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("token", name="pk_form_submissions"),
    )
    op.create_index("ix_form_submissions_used_at", "form_submissions", ["used_at"])


def downgrade() -> None:
    op.drop_index("ix_form_submissions_used_at", table_name="form_submissions")
    op.drop_table("form_submissions")
