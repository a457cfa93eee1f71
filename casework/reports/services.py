"""Building, publishing, freezing and verifying reports.

A report is always computed for a whole *family* — one calendar year with its quarters and
months — because disclosure control must hold across everything published for that year
(``suppression``). From the family, ``publish`` takes one period's figures for one profile:
a plain, language-neutral payload of codes, numbers and markers, the same for the screen, every
export and a submitted (frozen) report.
"""

from __future__ import annotations

import hashlib
import json
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from casework import vocab
from casework.audit import AuditEvent, record
from casework.auth.models import User
from casework.reports import definitions as d
from casework.reports import queries
from casework.reports.definitions import Period
from casework.reports.models import ReportSnapshot, SubmittedReport
from casework.reports.suppression import OFFICIAL, PROFILES, Patterns, Profile, Space, protect, shown_percent


@dataclass(frozen=True)
class ReportSettings:
    """What a report needs from the configuration (passed in: services never read the app)."""

    zone: ZoneInfo
    target_percent: int
    max_age_minutes: int = 10  # how long one computation of a year's figures is shown (0: never reused)


# --- the family: every figure of one year ---------------------------------------------------------


@dataclass
class Family:
    year: int
    as_of: date
    space: Space
    medians: dict[str, float | None]  # "<period>/medians/<row>/<measure>" -> days
    quality: dict[str, int] = field(default_factory=dict)  # today's data-quality counts
    computed_at: datetime | None = None
    stored_patterns: Patterns | None = None

    @cached_property
    def patterns(self) -> Patterns:
        """What each profile hides (computed on first use: counting alone does not need it)."""
        return self.stored_patterns or protect(self.space)

    def pattern(self, profile: Profile) -> dict[str, str]:
        return self.patterns.official if profile is OFFICIAL else self.patterns.public


def current_family(database: Any, year: int, *, settings: ReportSettings, today: date, now: datetime,
                   refresh: bool = False) -> Family:
    """The year's figures as reports show them: the newest snapshot computed today within
    ``max_age_minutes``, or a new computation (counted in a read-only snapshot of the database,
    protected with no transaction open, then stored in a short one)."""
    if not refresh and settings.max_age_minutes > 0:
        with database.snapshot() as session:
            stored = _newest(session, year, today, now - timedelta(minutes=settings.max_age_minutes))
            if stored is not None:
                return _family_from(stored)
    with database.snapshot() as session:
        family = build_family(session, year, settings=settings, today=today)
        family.quality = data_quality(session, settings=settings, today=today)
    family.computed_at = now
    family.patterns  # noqa: B018  (disclosure control: slow work, outside every transaction)
    with database.transaction() as session:
        _store(session, family)
    return family


def _newest(session: Session, year: int, today: date, since: datetime) -> ReportSnapshot | None:
    query = (select(ReportSnapshot)
             .where(ReportSnapshot.year == year, ReportSnapshot.definition_version == d.DEFINITION_VERSION,
                    ReportSnapshot.as_of == today, ReportSnapshot.computed_at >= since)
             .order_by(ReportSnapshot.computed_at.desc()).limit(1))
    return session.scalars(query).first()


def _store(session: Session, family: Family) -> None:
    patterns = family.patterns
    session.add(ReportSnapshot(
        year=family.year, definition_version=d.DEFINITION_VERSION, as_of=family.as_of,
        computed_at=family.computed_at,
        figures=canonical_payload({"values": family.space.values, "structural": sorted(family.space.structural),
                                   "medians": family.medians, "quality": family.quality}),
        patterns=canonical_payload({"official": patterns.official, "public": patterns.public,
                                    "determined": sorted(patterns.published_determined)})))
    # Older computations of the year are of no use to anyone: keep a day's worth at most.
    session.execute(delete(ReportSnapshot).where(ReportSnapshot.year == family.year,
                                                 ReportSnapshot.computed_at < family.computed_at - timedelta(days=1)))


def _family_from(stored: ReportSnapshot) -> Family:
    figures, patterns = json.loads(stored.figures), json.loads(stored.patterns)
    space = Space(figures["values"], d.family_constraints(stored.year), d.family_headline_rows(stored.year),
                  structural=frozenset(figures["structural"]))
    return Family(stored.year, stored.as_of, space, figures["medians"], figures["quality"], stored.computed_at,
                  Patterns(patterns["official"], patterns["public"], set(patterns["determined"])))


def build_family(session: Session, year: int, *, settings: ReportSettings, today: date) -> Family:
    """Count everything the year's reports show, in SQL, and protect it."""
    values = dict.fromkeys(_all_cells(year), 0)
    for window, periods in _windows(year, today, settings.zone):
        _count_people(values, queries.person_counts(session, window), periods)
    _count_referrals(values, queries.referral_counts(session, year, settings.zone), year)
    for month, n in queries.registered_counts(session, year, settings.zone).items():
        values[d.headline(Period("month", year, month).key, "registered")] += n
    _add_up_periods(values, year)
    medians = _medians(queries.duration_histogram(session, year, settings.zone), values, year)
    space = Space(values, d.family_constraints(year), d.family_headline_rows(year),
                  structural=frozenset(_structural_zeros(session, year)))
    return Family(year, today, space, medians)


def _structural_zeros(session: Session, year: int) -> list[str]:
    """Referral figures that must be zero for anyone who reads the service directory: needs no
    service answers and kinds of organisation the directory has none of."""
    domains, kinds = queries.directory_codes(session)
    found = []
    for period in d.family_periods(year):
        for measure in d.MEASURES:
            found += [d.cell(period.key, "referrals_need", n, measure) for n in vocab.NEED_DOMAINS if n not in domains]
            found += [d.cell(period.key, "referrals_org", k, measure) for k in vocab.ORGANISATION_KINDS
                      if k not in kinds]
    return found


def _all_cells(year: int) -> list[str]:
    names = [c for p in d.family_periods(year) for c in d.period_cells(p.key)]
    return names + [d.cumulative(year, m, r) for m, _ in d.cumulative_months(year) for r in ("D", "N")]


def _windows(year: int, today: date, zone: ZoneInfo) -> Iterable[tuple[queries.Window, list[tuple[int, list[str]]]]]:
    """Per month end so far: the query window and, for each of its starts, the period keys it
    counts (a year-to-date point of the progress line is written ``<year>C<month>``)."""
    for month, end in d.cumulative_months(year):
        start = date(year, month, 1)
        if start > today:
            break  # nothing can be dated in the future: these periods are all zero
        quarter = (month - 1) // 3 + 1
        by_start: dict[date, list[str]] = defaultdict(list)
        by_start[start].append(Period("month", year, month).key)
        if month % 3 == 0:
            by_start[date(year, 3 * quarter - 2, 1)].append(Period("quarter", year, quarter).key)
        if month == 12:
            by_start[date(year, 1, 1)].append(str(year))
        by_start[date(year, 1, 1)].append(f"{year}C{month:02d}")
        starts = tuple(sorted(by_start))
        yield queries.Window(end, starts, zone), [(i, by_start[s]) for i, s in enumerate(starts)]


def _count_people(values: dict[str, int], rows: list[tuple[Any, ...]], periods: list[tuple[int, list[str]]]) -> None:
    for age, sex, need_group, closed, consent, hr, reint, n in rows:
        for i, keys in periods:
            if closed <= i or consent <= i:
                continue  # closed, or registration consent withdrawn, before this period began
            supported_hr, supported_reint = hr > i, reint > i
            for key in keys:
                if _is_progress_point(key):  # the progress line carries the headline only
                    _add_cumulative(values, key, n, supported_hr or supported_reint)
                else:
                    _add_person(values, key, (age, sex, need_group), n, supported_hr, supported_reint)


def _is_progress_point(key: str) -> bool:
    return key[4:5] == "C"


def _add_cumulative(values: dict[str, int], key: str, n: int, supported: bool) -> None:
    values[d.cell(key, "headline", "D", "value")] += n
    if supported:
        values[d.cell(key, "headline", "N", "value")] += n


def _add_person(values: dict[str, int], key: str, rows: tuple[str, str, str], n: int, hr: bool,
                reint: bool) -> None:
    in_n = hr or reint
    values[d.headline(key, "D")] += n
    for table, row in zip(d.PERSON_TABLES, rows, strict=True):
        values[d.cell(key, table.id, row if row in table.rows else _fallback(table), "D")] += n
        if in_n:
            values[d.cell(key, table.id, row if row in table.rows else _fallback(table), "N")] += n
    if in_n:
        values[d.headline(key, "N")] += n
        values[d.headline(key, "N_hr")] += n * hr
        values[d.headline(key, "N_reint")] += n * reint
        values[d.headline(key, "N_both")] += n * (hr and reint)


def _fallback(table: d.Table) -> str:
    """A stored code the table does not know (an old or hand-edited value) counts as unknown/other."""
    return "unknown" if "unknown" in table.rows else "undisclosed" if "undisclosed" in table.rows else table.rows[-1]


def _count_referrals(values: dict[str, int], rows: list[tuple[str, int, str, str, int]], year: int) -> None:
    for measure, month, domain, kind, n in rows:
        if domain not in vocab.NEED_DOMAINS:
            continue  # not a code of the definition: counted nowhere, so every sum still adds up
        key = Period("month", year, month).key
        values[d.cell(key, "referrals_need", domain, measure)] += n
        values[d.cell(key, "referrals_need", f"group:{vocab.NEED_DOMAINS[domain][1]}", measure)] += n
        values[d.cell(key, "referrals_org", kind if kind in vocab.ORGANISATION_KINDS else "other", measure)] += n
        values[d.canonical(key, "referrals_need", "total", measure)] += n


def _add_up_periods(values: dict[str, int], year: int) -> None:
    """Quarters and the year of every additive figure are the sums of their months."""
    for q in range(1, 5):
        quarter = Period("quarter", year, q).key
        for name in d.additive_cells(quarter):
            suffix = name[len(quarter):]
            values[name] = sum(values[Period("month", year, m).key + suffix] for m in range(3 * q - 2, 3 * q + 1))
    for name in d.additive_cells(str(year)):
        suffix = name[len(str(year)):]
        values[name] = sum(values[Period("quarter", year, q).key + suffix] for q in range(1, 5))


def _medians(rows: Iterable[queries.DurationRow], values: dict[str, int], year: int) -> dict[str, float | None]:
    """Median days to acceptance / completion per period and organisation kind (and overall).

    ``rows`` come in increasing duration within each measure, and the number of referrals of
    every (period, kind) is already counted in ``values``; so one pass finds, for every group at
    once, the durations at its middle ranks — memory does not grow with the number of referrals."""
    periods = d.family_periods(year)
    of_month = {m: [p.key for p in periods if m in p.months] for m in range(1, 13)}
    middle: dict[tuple[str, str, str], tuple[int, int]] = {}
    for period in periods:
        for measure in d.MEDIANS:
            for kind in (*vocab.ORGANISATION_KINDS, "total"):
                n = values[d.canonical(period.key, "referrals_org", kind, measure)]
                if n:
                    middle[(period.key, kind, measure)] = ((n - 1) // 2, n // 2)
    seen: dict[tuple[str, str, str], int] = defaultdict(int)
    found: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    for measure, month, kind, tenths, n in rows:
        kind = kind if kind in vocab.ORGANISATION_KINDS else "other"
        for key in of_month[month]:
            for group in ((key, kind, measure), (key, "total", measure)):
                ranks = middle.get(group)
                if ranks is None:
                    continue
                before, picked = seen[group], found[group]
                while len(picked) < 2 and ranks[len(picked)] < before + n:
                    picked.append(tenths)
                seen[group] = before + n
    return {d.cell(p.key, "medians", kind, measure): (round(statistics.fmean(found[(p.key, kind, measure)]) / 10, 1)
                                                      if len(found[(p.key, kind, measure)]) == 2 else None)
            for p in periods for measure in d.MEDIANS for kind in (*vocab.ORGANISATION_KINDS, "total")}


# --- publishing one period -------------------------------------------------------------------------


def publish(family: Family, period: Period, profile: Profile, *, settings: ReportSettings) -> dict[str, Any]:
    """The figures of one period as ``profile`` shows them: language-neutral codes, numbers and markers."""
    key = period.computed_as.key
    pattern = family.pattern(profile)

    def shown(name: str) -> int | str:
        kind = pattern.get(name)
        if kind is not None:
            return profile.marker(kind)
        return profile.shown_value(family.space.values[name])

    return {
        "report": d.REPORT_ID,
        "definition_version": d.DEFINITION_VERSION,
        "profile": profile.name,
        "k": profile.k,
        "rounding": profile.rounding,
        "period": {"key": period.key, "code": period.code, "kind": period.kind,
                   "start": period.start.isoformat(), "end": min(period.end, family.as_of).isoformat()},
        "as_of": family.as_of.isoformat(),
        "computed_at": (family.computed_at or datetime.min).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "finished": period.is_finished(family.as_of),
        "target_percent": settings.target_percent,
        "headline": _headline(family, key, profile, pattern, shown),
        "tables": {t.id: _table(family, key, t, profile, pattern, shown) for t in d.TABLES.values()},
        "medians": _published_medians(family, key, profile, pattern),
        "progress": _progress(family, period, profile, pattern, shown),
        "completed_by_group": _completed_by_group(family, period, shown),
    }


def _headline(family: Family, key: str, profile: Profile, pattern: dict[str, str], shown: Any) -> dict[str, Any]:
    found: dict[str, Any] = {row: shown(d.headline(key, row)) for row in d.HEADLINE_ROWS}
    n_cell, d_cell = d.headline(key, "N"), d.headline(key, "D")
    values = family.space.values
    percent = shown_percent(values[n_cell], values[d_cell], profile, pattern, n_cell, d_cell)
    found["indicator_percent"] = percent
    if percent is None:
        found["indicator_status"] = "hidden" if n_cell in pattern or d_cell in pattern else "insufficient"
    else:
        found["indicator_status"] = "shown"
    return found


def _table(family: Family, key: str, table: d.Table, profile: Profile, pattern: dict[str, str],
           shown: Any) -> list[dict[str, Any]]:
    rows = []
    values = family.space.values
    for row in table.rows:
        cells = {c: shown(d.canonical(key, table.id, row, c)) for c in table.columns}
        entry: dict[str, Any] = {"row": row, "values": cells}
        if table.kind == "persons" and not profile.rounding:
            n_cell, d_cell = (d.canonical(key, table.id, row, c) for c in ("N", "D"))
            entry["percent"] = shown_percent(values[n_cell], values[d_cell], profile, pattern, n_cell, d_cell)
        rows.append(entry)
    if table.kind == "persons":
        total = {c: shown(d.canonical(key, table.id, "total", c)) for c in table.columns}
        rows.append({"row": "total", "values": total})
    return rows


def _published_medians(family: Family, key: str, profile: Profile, pattern: dict[str, str]) -> dict[str, Any]:
    """A median is shown only where the count it is taken over is shown and at least k."""
    found: dict[str, Any] = {}
    for measure in d.MEDIANS:
        rows = {}
        for kind in (*vocab.ORGANISATION_KINDS, "total"):
            count_cell = d.canonical(key, "referrals_org", kind, measure)
            count = family.space.values[count_cell]
            visible = count_cell not in pattern and count >= profile.k
            rows[kind] = family.medians.get(d.cell(key, "medians", kind, measure)) if visible else None
        found[measure] = rows
    return found


def _progress(family: Family, period: Period, profile: Profile, pattern: dict[str, str],
              shown: Any) -> list[dict[str, Any]]:
    """Year to date at each month's end, up to the period's end: the progress line."""
    found = []
    for month, _end in d.cumulative_months(period.year):
        if date(period.year, month, 1) > min(period.end, family.as_of):
            break
        n_cell, d_cell = (d.cumulative(period.year, month, r) for r in ("N", "D"))
        values = family.space.values
        found.append({"month": month, "D": shown(d_cell), "N": shown(n_cell),
                      "percent": shown_percent(values[n_cell], values[d_cell], profile, pattern, n_cell, d_cell)})
    return found


def _completed_by_group(family: Family, period: Period, shown: Any) -> list[dict[str, Any]]:
    found = []
    for month in period.months:
        if date(period.year, month, 1) > family.as_of:
            break
        key = Period("month", period.year, month).key
        found.append({"month": month} | {g: shown(d.cell(key, "referrals_need", f"group:{g}", "completed"))
                                         for g in d.SUPPORT_GROUPS})
    return found


def live_report(database: Any, period: Period, profile: Profile, *, settings: ReportSettings, today: date,
                now: datetime, refresh: bool = False) -> dict[str, Any]:
    family = current_family(database, period.year, settings=settings, today=today, now=now, refresh=refresh)
    return publish(family, period, profile, settings=settings)


# --- what the supervisor's data-quality panel shows ------------------------------------------------


def data_quality(session: Session, *, settings: ReportSettings, today: date) -> dict[str, int]:
    window = queries.Window(today, (date(today.year, 1, 1),), settings.zone)
    overdue = queries.overdue_referrals(session, today)
    return {"stale_assessments": queries.stale_assessments(session, window, today),
            "not_accepted": overdue["not_accepted"], "not_completed": overdue["not_completed"],
            "without_uic": queries.open_clients_without_uic(session)}


# --- audit -------------------------------------------------------------------------------------------


def audit(session: Session, actor: User, action: str, **details: Any) -> None:
    """Who looked at or took which report: period, profile, format — never a figure."""
    record(session, action, actor_id=actor.id, actor_role=actor.role, object_type="report",
           object_id=details.pop("report_id", None), details=details)


# --- submitted reports ---------------------------------------------------------------------------------


def canonical_payload(payload: dict[str, Any]) -> str:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class SubmissionRefused(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def submit(session: Session, actor: User, payload: dict[str, Any], *, reason: str | None) -> SubmittedReport:
    """Freeze one period's published figures as a new version; earlier versions stay."""
    period, profile = payload["period"]["code"], payload["profile"]
    latest = session.scalar(select(func.max(SubmittedReport.version))
                            .where(SubmittedReport.period == period, SubmittedReport.profile == profile))
    if latest and not (reason and reason.strip()):
        raise SubmissionRefused("reason_required")
    frozen = dict(payload, submitted_version=(latest or 0) + 1)
    text = canonical_payload(frozen)
    report = SubmittedReport(period=period, profile=profile, version=(latest or 0) + 1,
                             definition_version=payload["definition_version"], payload=text,
                             payload_sha256=sha256(text), submitted_by=actor.id,
                             resubmission_reason=(reason or "").strip() or None)
    session.add(report)
    session.flush()
    audit(session, actor, "report.submitted", report_id=report.id, period=period, profile=profile,
          version=report.version, sha256=report.payload_sha256, definition_version=report.definition_version)
    return report


@dataclass(frozen=True)
class VerifyProblem:
    report_id: str
    period: str
    profile: str
    version: int
    reason: str


def verify_submitted(session: Session) -> tuple[int, list[VerifyProblem]]:
    """Re-check every submitted report: its payload hashes to the stored SHA-256, which is the one
    the audit chain recorded when it was submitted."""
    recorded = _recorded_hashes(session)
    problems, checked = [], 0
    for report in session.scalars(select(SubmittedReport).order_by(SubmittedReport.submitted_at)):
        checked += 1
        reason = _problem(report, recorded.get(report.id))
        if reason:
            problems.append(VerifyProblem(report.id, report.period, report.profile, report.version, reason))
        session.expunge(report)
    return checked, problems


def check_submitted(session: Session, report: SubmittedReport) -> str | None:
    """Why one submitted report does not verify, or None when it does."""
    return _problem(report, _recorded_hashes(session, report.id).get(report.id))


def _recorded_hashes(session: Session, report_id: str | None = None) -> dict[str | None, str | None]:
    query = select(AuditEvent.object_id, AuditEvent.details).where(AuditEvent.action == "report.submitted",
                                                                   AuditEvent.object_type == "report")
    if report_id is not None:
        query = query.where(AuditEvent.object_id == report_id)
    return {object_id: json.loads(details or "{}").get("sha256") for object_id, details in session.execute(query)}


def _problem(report: SubmittedReport, recorded: str | None) -> str | None:
    if sha256(report.payload) != report.payload_sha256:
        return "payload does not match its SHA-256"
    if recorded != report.payload_sha256:
        return "SHA-256 differs from the one the audit log recorded at submission"
    return None


def frozen_payload(report: SubmittedReport) -> dict[str, Any]:
    return json.loads(report.payload)


def submitted_list(session: Session, *, page: int, per_page: int) -> tuple[list[tuple[SubmittedReport, str]], int]:
    total = session.scalar(select(func.count()).select_from(SubmittedReport)) or 0
    rows = session.execute(select(SubmittedReport, User.display_name)
                           .join(User, User.id == SubmittedReport.submitted_by)
                           .order_by(SubmittedReport.submitted_at.desc(), SubmittedReport.id)
                           .limit(per_page).offset((page - 1) * per_page)).all()
    return [(r, name) for r, name in rows], total


def profile_named(name: str | None) -> Profile:
    return PROFILES.get(name or "official", OFFICIAL)


def submitted_at_local(report: SubmittedReport, zone: ZoneInfo) -> datetime:
    from datetime import UTC

    return report.submitted_at.replace(tzinfo=UTC).astimezone(zone)
