"""aggregate reports: submitted reports are frozen; assessments carry their need groups

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01

A submitted report is the figures as they were on the day a supervisor sent them: triggers
refuse UPDATE and DELETE on submitted_reports, as for the audit log. Re-submission adds a
new version row. (Someone with owner rights over the database can drop the triggers; each
report's SHA-256 is also in the audit chain, which `casework report verify` compares.)

Each assessment now carries what its needs add up to (an open need of each indicator group,
an urgent one), so that the indicator never has to scan every need row of every assessment.
Existing assessments are filled in from their needs. Covering indexes let the indicator's
queries read indexes instead of the wide, ciphertext-carrying rows.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

HARM_REDUCTION = ("hiv_sti_testing", "hiv_treatment", "prevention", "reproductive_health", "drug_dependency",
                  "mental_health", "gbv", "child_protection")
REINTEGRATION = ("legal_aid", "vocational_training", "employment", "livelihood", "social_assistance")
FLAGS = ("needs_hr", "needs_reint", "needs_urgent")

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "report_snapshots",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("definition_version", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("computed_at", sa.DateTime(), nullable=False),
        sa.Column("figures", sa.Text(), nullable=False),
        sa.Column("patterns", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_snapshots")),
    )
    op.create_index("ix_report_snapshots_year", "report_snapshots", ["year", "definition_version", "computed_at"])
    with op.batch_alter_table("assessments", schema=None) as batch_op:
        for flag in FLAGS:
            batch_op.add_column(sa.Column(flag, sa.Boolean(), server_default=sa.false(), nullable=False))
    _backfill()
    op.drop_index("ix_assessments_client_date", table_name="assessments")
    op.create_index("ix_assessments_client_latest", "assessments",
                    ["client_id", "assessed_on", "created_at", "eligible", *FLAGS])
    op.create_index("ix_consents_purpose_client", "consents", ["purpose", "client_id", "given_on", "withdrawn_on"])
    op.drop_index("ix_referrals_status_completed", table_name="referrals")
    op.create_index("ix_referrals_status_completed", "referrals", ["status", "completed_at", "client_id", "need_domain"])
    op.create_index("ix_referrals_report", "referrals", ["need_domain", "organisation_id", "status", "reason_code",
                                                         "created_at", "accepted_at", "completed_at", "closed_at"])
    op.create_index("ix_clients_report", "clients", ["id", "registered_at", "closed_at", "age_band", "sex_gender"])
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


def _backfill() -> None:
    def exists(extra: str) -> str:
        return ("EXISTS (SELECT 1 FROM assessment_needs n WHERE n.assessment_id = assessments.id "
                f"AND {extra})")

    def among(domains: tuple[str, ...]) -> str:
        return "n.level IN ('some', 'urgent') AND n.domain IN (" + ", ".join(f"'{d}'" for d in domains) + ")"

    urgent = exists("n.level = 'urgent'")
    op.execute(f"UPDATE assessments SET needs_hr = {exists(among(HARM_REDUCTION))}, "
               f"needs_reint = {exists(among(REINTEGRATION))}, needs_urgent = {urgent}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER submitted_reports_no_change ON submitted_reports")
        op.execute("DROP FUNCTION submitted_reports_frozen()")
    else:
        op.execute("DROP TRIGGER submitted_reports_no_update")
        op.execute("DROP TRIGGER submitted_reports_no_delete")
    op.drop_index("ix_clients_report", table_name="clients")
    op.drop_index("ix_report_snapshots_year", table_name="report_snapshots")
    op.drop_table("report_snapshots")
    op.drop_index("ix_referrals_report", table_name="referrals")
    op.drop_index("ix_referrals_status_completed", table_name="referrals")
    op.create_index("ix_referrals_status_completed", "referrals", ["status", "completed_at"])
    op.drop_index("ix_consents_purpose_client", table_name="consents")
    op.drop_index("ix_assessments_client_latest", table_name="assessments")
    op.create_index("ix_assessments_client_date", "assessments", ["client_id", "assessed_on"])
    with op.batch_alter_table("assessments", schema=None) as batch_op:
        for flag in reversed(FLAGS):
            batch_op.drop_column(flag)
