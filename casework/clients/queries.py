"""Read queries over the plain columns of client records, shared by the caseload and the
aggregate reports, so that both mean the same thing by "the latest assessment" and "an open need".

Nothing here decrypts: these queries read ids, dates, flags and codes only.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import ColumnElement, Select, Subquery, case, func, select

from casework import vocab
from casework.clients.models import Assessment, AssessmentNeed

OPEN_LEVELS = ("some", "urgent")
HARM_REDUCTION = tuple(code for code, (_label, group) in vocab.NEED_DOMAINS.items() if group == "harm_reduction")
REINTEGRATION = tuple(code for code, (_label, group) in vocab.NEED_DOMAINS.items() if group == "reintegration")
# Newest first; on the same date the one recorded last wins. Every "latest assessment" uses this order.
LATEST_FIRST = (Assessment.assessed_on.desc(), Assessment.created_at.desc())


def latest_assessments(*, as_of: date | None = None, client_ids: Iterable[str] | Select | None = None) -> Subquery:
    """One row per client: the id, client id and ``eligible`` flag of its latest assessment
    dated on or before ``as_of`` (any date when None). Ties on the date go to the one recorded last."""
    query = select(
        Assessment.id, Assessment.client_id, Assessment.eligible,
        func.row_number().over(partition_by=Assessment.client_id, order_by=LATEST_FIRST).label("n"),
    )
    if as_of is not None:
        query = query.where(Assessment.assessed_on <= as_of)
    if client_ids is not None:
        ids = client_ids if isinstance(client_ids, Select) else list(client_ids)
        query = query.where(Assessment.client_id.in_(ids))
    ranked = query.subquery("ranked_assessments")
    return (select(ranked.c.id, ranked.c.client_id, ranked.c.eligible)
            .where(ranked.c.n == 1).subquery("latest_assessment"))


def open_need_rows(latest: Subquery) -> Select:
    """(client id, need domain, level) of every need at level some or urgent in ``latest``."""
    return (select(latest.c.client_id, AssessmentNeed.domain, AssessmentNeed.level)
            .join(AssessmentNeed, AssessmentNeed.assessment_id == latest.c.id)
            .where(AssessmentNeed.level.in_(OPEN_LEVELS)))


def need_groups_per_assessment() -> Subquery:
    """Per assessment with at least one open need: whether it has one in each indicator group,
    and whether any is urgent."""
    def in_group(domains: tuple[str, ...]):
        return func.max(case((AssessmentNeed.domain.in_(domains), 1), else_=0))

    return (select(AssessmentNeed.assessment_id,
                   in_group(HARM_REDUCTION).label("needs_hr"),
                   in_group(REINTEGRATION).label("needs_reint"),
                   func.max(case((AssessmentNeed.level == "urgent", 1), else_=0)).label("urgent"))
            .where(AssessmentNeed.level.in_(OPEN_LEVELS))
            .group_by(AssessmentNeed.assessment_id).subquery("need_groups"))


def need_group_of(needs_hr: ColumnElement[int], needs_reint: ColumnElement[int]) -> ColumnElement[str]:
    """The need-group code of a client from the two flags: ``harm_reduction``, ``reintegration`` or ``both``."""
    return case((needs_hr == 1, case((needs_reint == 1, "both"), else_="harm_reduction")), else_="reintegration")
