"""Aggregates in SQL over plain categorical columns and dates. Nothing here loads a client
object or decrypts anything: every query returns counts grouped by codes.

The indicator's conditions (docs/INDICATOR.md) are written once, in ``population``; the
aggregate counts, the collaborator's worklist and the data-quality panel all build on it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Integer, Select, and_, case, cast, func, or_, select
from sqlalchemy.orm import Session

from casework import vocab
from casework.clients.models import Assessment, Client, Consent
from casework.clients.queries import HARM_REDUCTION, REINTEGRATION, latest_assessments, need_group_of
from casework.directory.models import Organisation
from casework.referrals.models import Referral
from casework.reports.definitions import utc_bound

NO_WITHDRAWAL = date(9999, 12, 31)


# --- the people of the indicator -------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """One period end and the starts of every period that ends then (ascending, local dates)."""

    end: date
    starts: tuple[date, ...]
    zone: ZoneInfo

    @property
    def end_utc(self) -> datetime:  # exclusive
        return utc_bound(self.end + timedelta(days=1), self.zone)

    def starts_utc(self) -> list[datetime]:
        return [utc_bound(s, self.zone) for s in self.starts]


def _bucket(value: ColumnElement[Any], bounds: Sequence[Any], *, null_bucket: int) -> ColumnElement[int]:
    """How many of the ascending ``bounds`` are at or before ``value`` (``null_bucket`` for NULL)."""
    whens = [(value.is_(None), null_bucket)] + [(value < bound, i) for i, bound in enumerate(bounds)]
    return case(*whens, else_=len(bounds))


def population(window: Window, *, within: Select | None = None) -> Select:
    """One row per client in D for at least the longest period ending at ``window.end``.

    Columns: client id, age band, sex/gender, need group, ``urgent`` (an urgent need), and four
    buckets (see ``_bucket``): ``closed`` (when the case was closed; never → last), ``consent``
    (until when registration consent ran; never withdrawn → last), ``hr``/``reint`` (the last
    completed referral of that group in the window; none → 0). For the period starting at
    ``starts[i]`` a client is reached when ``closed > i`` and ``consent > i``, and supported
    when ``hr > i`` / ``reint > i``. ``within`` (a select of client ids) restricts it to those
    clients, such as one collaborator's caseload.
    """
    latest = latest_assessments(as_of=window.end, client_ids=within)
    consent = (select(Consent.client_id,
                      func.max(func.coalesce(Consent.withdrawn_on, NO_WITHDRAWAL)).label("until"))
               .where(Consent.purpose == "registration", Consent.given_on <= window.end)
               .group_by(Consent.client_id).subquery("registration_consent"))
    support = _support(window)
    starts_utc = window.starts_utc()
    n = len(window.starts)
    query = (
        select(Client.id.label("client_id"), Client.age_band, Client.sex_gender,
               need_group_of(latest.c.needs_hr, latest.c.needs_reint).label("need_group"),
               latest.c.needs_urgent.label("urgent"),
               _bucket(Client.closed_at, starts_utc, null_bucket=n).label("closed"),
               _bucket(consent.c.until, window.starts, null_bucket=n).label("consent"),
               _bucket(support.c.last_hr, starts_utc, null_bucket=0).label("hr"),
               _bucket(support.c.last_reint, starts_utc, null_bucket=0).label("reint"))
        .select_from(Client)
        .join(latest, latest.c.client_id == Client.id)
        .join(consent, consent.c.client_id == Client.id)
        .outerjoin(support, support.c.client_id == Client.id)
        .where(Client.registered_at < window.end_utc, latest.c.eligible.is_(True),
               or_(latest.c.needs_hr.is_(True), latest.c.needs_reint.is_(True)))
    )
    if within is not None:
        query = query.where(Client.id.in_(within))
    return query


def _support(window: Window) -> Any:
    """Per client, the last referral of each group completed inside the window's longest period."""
    completed_at = Referral.completed_at

    def last_in(domains: tuple[str, ...]) -> ColumnElement[Any]:
        return func.max(case((Referral.need_domain.in_(domains), completed_at)))

    return (select(Referral.client_id, last_in(HARM_REDUCTION).label("last_hr"),
                   last_in(REINTEGRATION).label("last_reint"))
            .where(Referral.status == "completed", completed_at >= utc_bound(window.starts[0], window.zone),
                   completed_at < window.end_utc)
            .group_by(Referral.client_id).subquery("support"))


def person_counts(session: Session, window: Window) -> list[tuple[Any, ...]]:
    """``population`` counted by (age band, sex/gender, need group, closed, consent, hr, reint)."""
    people = population(window).subquery("people")
    keys = [people.c.age_band, people.c.sex_gender, people.c.need_group, people.c.closed, people.c.consent,
            people.c.hr, people.c.reint]
    return [tuple(row) for row in session.execute(select(*keys, func.count()).group_by(*keys))]


def worklist(window: Window, within: Select) -> Select:
    """Clients of ``within`` in D for the period starting at ``window.starts[0]`` but not (yet) in N:
    eligible, with an open need, reached, and no referral completed in the period."""
    people = population(window, within=within).subquery("people")
    return (select(people.c.client_id, people.c.need_group, people.c.urgent)
            .where(people.c.closed > 0, people.c.consent > 0, people.c.hr == 0, people.c.reint == 0))


# --- referrals and registrations -------------------------------------------------------------------


def month_of(column: ColumnElement[Any], year: int, zone: ZoneInfo) -> ColumnElement[int]:
    """The local calendar month (1-12) of a naive-UTC timestamp inside ``year``."""
    bounds = [utc_bound(date(year, m, 1), zone) for m in range(2, 13)]
    return case(*((column < bound, m) for m, bound in enumerate(bounds, start=1)), else_=12)


def _in_year(column: ColumnElement[Any], year: int, zone: ZoneInfo) -> ColumnElement[bool]:
    return and_(column >= utc_bound(date(year, 1, 1), zone), column < utc_bound(date(year + 1, 1, 1), zone))


MeasureRow = tuple[str, int, str, str, int]  # (measure, month, need domain, organisation kind, count)


def referral_counts(session: Session, year: int, zone: ZoneInfo) -> list[MeasureRow]:
    """(measure, month, need domain, organisation kind, count) for one year.

    One pass over the covering index ``ix_referrals_report``: each referral touched in the year
    is counted by the local month of each of its dates, then sorted into the measures of
    docs/INDICATOR.md (made, accepted, completed, rejected, failed, expired)."""
    stamps = (Referral.created_at, Referral.accepted_at, Referral.completed_at, Referral.closed_at)
    months = [_month_or_zero(stamp, year, zone) for stamp in stamps]
    expired = case((Referral.reason_code == "expired", 1), else_=0)
    keys = [Referral.need_domain, Referral.organisation_id, Referral.status, expired, *months]
    rows = session.execute(select(*keys, func.count()).where(or_(*(_in_year(s, year, zone) for s in stamps)))
                           .group_by(*keys))
    kinds = dict(session.execute(select(Organisation.id, Organisation.kind)).all())
    counts: dict[tuple[str, int, str, str], int] = defaultdict(int)
    for domain, org, status, is_expired, made, accepted, completed, closed, n in rows:
        kind = kinds.get(org, "other")
        for measure, month in _measures_of(status, bool(is_expired), made, accepted, completed, closed):
            counts[(measure, month, domain, kind)] += n
    return [(measure, month, domain, kind, n) for (measure, month, domain, kind), n in counts.items()]


def _measures_of(status: str, expired: bool, made: int, accepted: int, completed: int,
                 closed: int) -> Iterator[tuple[str, int]]:
    """The measures a referral counts in, with the month of each (0: not in the year)."""
    if status == "entered-in-error":
        return  # never counted: it was never meant to be
    if made:
        yield "made", made
    if accepted:
        yield "accepted", accepted
    if completed and status == "completed":
        yield "completed", completed
    if closed and status in ("rejected", "failed"):
        yield status, closed
    if closed and status == "cancelled" and expired:
        yield "expired", closed


def _month_or_zero(column: ColumnElement[Any], year: int, zone: ZoneInfo) -> ColumnElement[int]:
    """The local month (1-12) of a timestamp inside ``year``; 0 when it is outside or missing."""
    start, end = utc_bound(date(year, 1, 1), zone), utc_bound(date(year + 1, 1, 1), zone)
    bounds = [utc_bound(date(year, m, 1), zone) for m in range(2, 13)]
    return case((column.is_(None), 0), (column < start, 0), (column >= end, 0),
                *((column < bound, m) for m, bound in enumerate(bounds, start=1)), else_=12)


def registered_counts(session: Session, year: int, zone: ZoneInfo) -> dict[int, int]:
    month = month_of(Client.registered_at, year, zone)
    rows = session.execute(select(month, func.count()).where(_in_year(Client.registered_at, year, zone))
                           .group_by(month))
    return {m: n for m, n in rows}


DurationRow = tuple[str, int, str, int, int]  # (measure, month, organisation kind, tenths of a day, count)


def duration_histogram(session: Session, year: int, zone: ZoneInfo) -> Iterator[DurationRow]:
    """How long referrals accepted / completed in ``year`` took from being made, as
    (measure, month, organisation kind, whole tenths of a day, count), streamed in increasing
    order of the duration within each measure: medians for every period are read off in one pass
    (``services._medians``), without holding the histogram."""
    dialect = session.get_bind().dialect.name
    kinds = dict(session.execute(select(Organisation.id, Organisation.kind)).all())
    measures = {"accepted": (Referral.accepted_at, Referral.status != "entered-in-error"),
                "completed": (Referral.completed_at, Referral.status == "completed")}
    for measure, (stamp, condition) in measures.items():
        month, tenths = month_of(stamp, year, zone), _tenths(stamp, Referral.created_at, dialect)
        query = (select(month, Referral.organisation_id, tenths, func.count())
                 .where(_in_year(stamp, year, zone), condition, Referral.need_domain.in_(list(vocab.NEED_DOMAINS)))
                 .group_by(month, Referral.organisation_id, tenths).order_by(tenths))
        for m, org, t, n in session.execute(query.execution_options(yield_per=2000)):
            yield measure, m, kinds.get(org, "other"), t, n


def _tenths(later: ColumnElement[Any], earlier: ColumnElement[Any], dialect: str) -> ColumnElement[int]:
    """Whole tenths of a day between two naive timestamps, on either engine."""
    if dialect == "postgresql":
        return cast(func.floor(func.extract("epoch", later - earlier) / 8640), Integer)
    return cast((func.julianday(later) - func.julianday(earlier)) * 10, Integer)


def directory_codes(session: Session) -> tuple[set[str], set[str]]:
    """The need domains of every service and the kinds of every organisation ever in the directory
    (services and organisations with referrals cannot be deleted, only made inactive)."""
    from casework.directory.models import Service

    domains = set(session.scalars(select(Service.need_domain).distinct()))
    kinds = set(session.scalars(select(Organisation.kind).distinct()))
    return domains, kinds


# --- the data-quality panel (counts only, as of today) ----------------------------------------------


STALE_ASSESSMENT_DAYS = 183


def stale_assessments(session: Session, window: Window, today: date) -> int:
    """Clients in D (the year so far) whose latest assessment is more than six months old."""
    people = population(window).subquery("people")
    latest = latest_assessments(as_of=window.end)
    query = (select(func.count()).select_from(people)
             .join(latest, latest.c.client_id == people.c.client_id)
             .join(Assessment, Assessment.id == latest.c.id)
             .where(people.c.closed > 0, people.c.consent > 0,
                    Assessment.assessed_on < today - timedelta(days=STALE_ASSESSMENT_DAYS)))
    return session.scalar(query) or 0


def overdue_referrals(session: Session, today: date) -> dict[str, int]:
    """Referrals past their acceptance or completion date, now."""
    early = and_(Referral.status.in_(("requested", "received")), Referral.accept_due_on < today)
    under_way = and_(Referral.status.in_(("accepted", "in-progress", "on-hold")), Referral.complete_due_on < today)
    row = session.execute(select(func.count().filter(early), func.count().filter(under_way))
                          .where(or_(early, under_way))).one()
    return {"not_accepted": row[0] or 0, "not_completed": row[1] or 0}


def open_clients_without_uic(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Client)
                          .where(Client.status == "open", Client.uic_enc.is_(None))) or 0
