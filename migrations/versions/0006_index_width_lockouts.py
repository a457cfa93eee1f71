"""the width each blind index was built with; lockouts that grow

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01

Changing CASEWORK_BLIND_INDEX_BITS without `casework keys reindex` made every UIC lookup find
nothing, silently. casework now records the width here (at its first start on this database and
at every reindex) and refuses to start at another one, naming the command to run.

users.lockouts counts locks in a row since the last successful sign-in: each lasts twice as long
as the one before (15 minutes, then 30, 60… up to a day), and the admin's user list shows the
accounts locked again and again.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "blind_index_widths",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("bits", sa.Integer(), nullable=False),
        sa.Column("built_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_blind_index_widths")),
    )
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("lockouts", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("lockouts")
    op.drop_table("blind_index_widths")
