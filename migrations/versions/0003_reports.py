"""submitted reports are frozen in the database itself

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01

A submitted report is the figures as they were on the day a supervisor sent them: triggers
refuse UPDATE and DELETE on submitted_reports, as for the audit log. Re-submission adds a
new version row. (Someone with owner rights over the database can drop the triggers; each
report's SHA-256 is also in the audit chain, which `casework report verify` compares.)
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION submitted_reports_frozen() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION 'submitted_reports are frozen';
            END;
            $$ LANGUAGE plpgsql
            """
        )
        op.execute(
            "CREATE TRIGGER submitted_reports_no_change BEFORE UPDATE OR DELETE ON submitted_reports "
            "FOR EACH ROW EXECUTE FUNCTION submitted_reports_frozen()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER submitted_reports_no_{verb.lower()} BEFORE {verb} ON submitted_reports "
                "BEGIN SELECT RAISE(ABORT, 'submitted_reports are frozen'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER submitted_reports_no_change ON submitted_reports")
        op.execute("DROP FUNCTION submitted_reports_frozen()")
    else:
        op.execute("DROP TRIGGER submitted_reports_no_update")
        op.execute("DROP TRIGGER submitted_reports_no_delete")
