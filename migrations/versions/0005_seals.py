"""keyed seals on access-deciding rows and on the audit chain; the audit refuses REPLACE and TRUNCATE

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

users, clients, client_assignments and referrals get a ``seal`` column: an HMAC, under a key
only the application holds, over the columns that decide who sees what and over every
ciphertext in the row. audit_events gets a ``seal`` per row over its chain hash. Rows that exist
when this runs have no seal yet: ``casework db upgrade`` seals them right after migrating, with
the keyring, and the application refuses a row whose seal is missing or wrong.

The audit table also refuses, in the database itself, what the append-only triggers of 0002 did
not see: SQLite's ``INSERT OR REPLACE`` (a delete the delete trigger never hears of) and
PostgreSQL's ``TRUNCATE``. Someone with owner rights can still drop triggers; the seals and the
recorded head (``casework audit verify``) are what show that.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEALED_TABLES = ("users", "clients", "client_assignments", "referrals", "audit_events")


def upgrade() -> None:
    for table in SEALED_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("seal", sa.String(length=64), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()"
        )
    else:
        # BEFORE INSERT runs before conflict resolution, so it also sees INSERT OR REPLACE.
        op.execute(
            "CREATE TRIGGER audit_events_no_replace BEFORE INSERT ON audit_events "
            "WHEN EXISTS (SELECT 1 FROM audit_events WHERE id = NEW.id) "
            "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END"
        )


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name != "postgresql"
    if not sqlite:
        op.execute("DROP TRIGGER audit_events_no_truncate ON audit_events")
    else:
        op.execute("DROP TRIGGER audit_events_no_replace")
        # SQLite drops a column by copying the table, which would lose 0002's triggers: put them back.
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"DROP TRIGGER audit_events_no_{verb.lower()}")
    for table in reversed(SEALED_TABLES):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("seal")
    if sqlite:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_events_no_{verb.lower()} BEFORE {verb} ON audit_events "
                "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END"
            )
