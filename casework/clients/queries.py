"""Read queries over the plain columns of client records, shared by the caseload and the
aggregate reports, so that both mean the same thing by "the latest assessment" and "an open need".

Nothing here decrypts: these queries read ids, dates, flags and codes only.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import ColumnElement, Select, Subquery, and_, case, exists, or_, select
from sqlalchemy.orm import aliased

from casework import vocab
from casework.clients.models import Assessment, AssessmentNeed

OPEN_LEVELS = ("some", "urgent")
HARM_REDUCTION = tuple(code for code, (_label, group) in vocab.NEED_DOMAINS.items() if group == "harm_reduction")
REINTEGRATION = tuple(code for code, (_label, group) in vocab.NEED_DOMAINS.items() if group == "reintegration")
# Newest first; on the same date the one recorded last wins. Every "latest assessment" uses this order.
LATEST_FIRST = (Assessment.assessed_on.desc(), Assessment.created_at.desc())


def latest_assessments(*, as_of: date | None = None, client_ids: Iterable[str] | Select | None = None) -> Subquery:
    """One row per client: the id, client id, ``eligible`` flag and need flags (``needs_hr``,
    ``needs_reint``, ``needs_urgent``) of its latest assessment dated on or before ``as_of`` (any
    date when None). Ties on the date go to the one recorded last.

    Written as "no later one exists" rather than a window function: with the covering index
    ``ix_assessments_client_latest`` both engines answer it from the index alone."""
    later = aliased(Assessment, name="later_assessment")
    newer = or_(later.assessed_on > Assessment.assessed_on,
                and_(later.assessed_on == Assessment.assessed_on, later.created_at > Assessment.created_at))
    conditions = [later.client_id == Assessment.client_id, newer]
    if as_of is not None:
        conditions.append(later.assessed_on <= as_of)
    query = select(Assessment.id, Assessment.client_id, Assessment.eligible, Assessment.needs_hr,
                   Assessment.needs_reint, Assessment.needs_urgent).where(~exists().where(*conditions))
    if as_of is not None:
        query = query.where(Assessment.assessed_on <= as_of)
    if client_ids is not None:
        ids = client_ids if isinstance(client_ids, Select) else list(client_ids)
        query = query.where(Assessment.client_id.in_(ids))
    return query.subquery("latest_assessment")


def open_need_rows(latest: Subquery) -> Select:
    """(client id, need domain, level) of every need at level some or urgent in ``latest``."""
    return (select(latest.c.client_id, AssessmentNeed.domain, AssessmentNeed.level)
            .join(AssessmentNeed, AssessmentNeed.assessment_id == latest.c.id)
            .where(AssessmentNeed.level.in_(OPEN_LEVELS)))


def need_group_of(needs_hr: ColumnElement[bool], needs_reint: ColumnElement[bool]) -> ColumnElement[str]:
    """The need-group code from an assessment's two flags: ``harm_reduction``, ``reintegration`` or ``both``
    (only meaningful when at least one is set)."""
    return case((needs_hr.is_(True), case((needs_reint.is_(True), "both"), else_="harm_reduction")),
                else_="reintegration")
