"""unread feedback as a read mark

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01

Whether a referrer had read a service's feedback was worked out from the audit log (the newest
``referral.feedback_sent`` against their newest ``referral.viewed``), two audit-index seeks per
referral on every caseload page. Now each referral counts its feedback notes
(``referrals.feedback_count``) and ``referral_reads`` keeps, per person, the count they had seen
when they last opened it.

The upgrade derives both from the audit log with the old rule: the count is the number of
feedback events, and a person's mark is the number of feedback events before their last view.
The downgrade drops them; the audit events they were derived from are untouched.
"""

from collections import defaultdict
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 5_000


def upgrade() -> None:
    with op.batch_alter_table("referrals") as batch:
        batch.add_column(sa.Column("feedback_count", sa.Integer(), nullable=False, server_default="0"))
    reads = op.create_table(
        "referral_reads",
        sa.Column("referral_id", sa.String(36), sa.ForeignKey(
            "referrals.id", ondelete="CASCADE", name="fk_referral_reads_referral_id_referrals"), nullable=False),
        sa.Column("user_id", sa.String(36), sa.ForeignKey(
            "users.id", ondelete="CASCADE", name="fk_referral_reads_user_id_users"), nullable=False),
        sa.Column("feedback_seen", sa.Integer(), nullable=False),
        sa.Column("read_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("referral_id", "user_id", name="pk_referral_reads"),
    )
    _carry_over(op.get_bind(), reads)


def _carry_over(conn: sa.Connection, reads: sa.Table) -> None:
    referrals = {row[0] for row in conn.execute(sa.text("SELECT id FROM referrals"))}
    # Marks are kept where the screens keep them: on the referrer's page, which providers never open.
    users = {row[0] for row in conn.execute(sa.text("SELECT id FROM users WHERE role <> 'provider'"))}
    counts: dict[str, int] = defaultdict(int)
    marks: dict[tuple[str, str], tuple[int, str]] = {}
    events = conn.execute(sa.text(
        "SELECT object_id, actor_id, action, occurred_at FROM audit_events WHERE object_type = 'referral' "
        "AND action IN ('referral.feedback_sent', 'referral.viewed') ORDER BY id"))
    for referral_id, actor_id, action, occurred_at in events:
        if referral_id not in referrals:
            continue
        if action == "referral.feedback_sent":
            counts[referral_id] += 1
        elif actor_id in users:
            marks[(referral_id, actor_id)] = (counts[referral_id], occurred_at)
    table = sa.table("referrals", sa.column("id"), sa.column("feedback_count"))
    for referral_id, count in counts.items():
        conn.execute(table.update().where(table.c.id == referral_id).values(feedback_count=count))
    rows = [{"referral_id": r, "user_id": u, "feedback_seen": seen, "read_at": _moment(at)}
            for (r, u), (seen, at) in marks.items()]
    for start in range(0, len(rows), BATCH):
        conn.execute(reads.insert(), rows[start:start + BATCH])


def _moment(text: str):
    from datetime import datetime

    return datetime.strptime(text[:19], "%Y-%m-%dT%H:%M:%S")


def downgrade() -> None:
    op.drop_table("referral_reads")
    with op.batch_alter_table("referrals") as batch:
        batch.drop_column("feedback_count")
