"""The fixed report definitions: periods, the indicator (definition version 1), its tables and cells.

There is no ad-hoc query anywhere in casework: a report is one of the tables below for one
period, and every figure is a *cell* named ``<period>/<table>/<row>/<column>``. The cells, and
the arithmetic that links them (totals, sub-totals, periods that add up, nested periods), are
what disclosure control (``suppression``) reasons about. docs/INDICATOR.md explains the
definition in words, with its edge cases.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l

from casework import vocab
from casework.reports.suppression import Linear

DEFINITION_VERSION = 1
REPORT_ID = "casework-indicator"

# --- periods -------------------------------------------------------------------------------

PERIOD_KINDS = {"year": _l("Year"), "quarter": _l("Quarter"), "month": _l("Month"),
                "ytd": _l("Year to date")}
_CODE = re.compile(r"^(?P<year>\d{4})(?:Q(?P<quarter>[1-4])|-?(?P<month>0[1-9]|1[0-2])|(?P<ytd>YTD))?$")


class PeriodError(ValueError):
    """A period code that casework does not know."""


@dataclass(frozen=True, order=True)
class Period:
    """A reporting period: whole local calendar days ``start``..``end`` (inclusive).

    ``ytd`` is the current year up to today; because no date in casework can lie in the
    future (forms refuse it, and events are stamped by the clock), its figures are those
    of the whole year computed today, and it belongs to that year's family.
    """

    kind: str
    year: int
    number: int = 0  # quarter 1-4, month 1-12; 0 for a year

    @classmethod
    def parse(cls, code: str) -> Period:
        match = _CODE.match(code.strip().upper())
        if not match or not 2000 <= int(match["year"]) <= 2100:
            raise PeriodError(code)
        year = int(match["year"])
        if match["quarter"]:
            return cls("quarter", year, int(match["quarter"]))
        if match["month"]:
            return cls("month", year, int(match["month"]))
        return cls("ytd" if match["ytd"] else "year", year)

    @property
    def code(self) -> str:
        """The DHIS2 period code: ``2026``, ``2026Q1``, ``202601`` (a year to date: its year)."""
        if self.kind == "quarter":
            return f"{self.year}Q{self.number}"
        if self.kind == "month":
            return f"{self.year}{self.number:02d}"
        return str(self.year)

    @property
    def key(self) -> str:
        """The code as casework's URLs and cells use it (``2026YTD`` for a year to date)."""
        return f"{self.year}YTD" if self.kind == "ytd" else self.code

    @property
    def start(self) -> date:
        if self.kind == "quarter":
            return date(self.year, 3 * self.number - 2, 1)
        if self.kind == "month":
            return date(self.year, self.number, 1)
        return date(self.year, 1, 1)

    @property
    def end(self) -> date:
        if self.kind == "quarter":
            return _month_end(self.year, 3 * self.number)
        if self.kind == "month":
            return _month_end(self.year, self.number)
        return date(self.year, 12, 31)

    @property
    def family(self) -> Period:
        """The year whose figures are published together with this period's."""
        return Period("year", self.year)

    @property
    def computed_as(self) -> Period:
        """The period whose figures this one shows (a year to date shows its year)."""
        return Period("year", self.year) if self.kind == "ytd" else self

    @property
    def months(self) -> range:
        return range(self.start.month, self.end.month + 1)

    @property
    def adx_period(self) -> str:
        """ISO 8601 start/duration, as IHE ADX writes periods: ``2026-01-01/P3M``."""
        duration = {"quarter": "P3M", "month": "P1M"}.get(self.kind, "P1Y")
        return f"{self.start.isoformat()}/{duration}"

    def label(self) -> str:
        """Human label in the current language: ``Quý 1/2026``, ``Tháng 3/2026``, ``Năm 2026``."""
        if self.kind == "quarter":
            return str(_l("Quarter %(n)s/%(year)s", n=self.number, year=self.year))
        if self.kind == "month":
            return str(_l("Month %(n)s/%(year)s", n=self.number, year=self.year))
        if self.kind == "ytd":
            return str(_l("Year %(year)s to date", year=self.year))
        return str(_l("Year %(year)s", year=self.year))

    def is_finished(self, today: date) -> bool:
        return self.kind != "ytd" and self.end < today


def _month_end(year: int, month: int) -> date:
    first_next = date(year + (month == 12), month % 12 + 1, 1)
    return first_next - timedelta(days=1)


def family_periods(year: int) -> list[Period]:
    """Everything published for one year together: the year, its quarters and its months."""
    return ([Period("year", year)] + [Period("quarter", year, q) for q in range(1, 5)]
            + [Period("month", year, m) for m in range(1, 13)])


def cumulative_months(year: int) -> list[tuple[int, date]]:
    """(month, end) of the year-to-date periods the progress chart draws: 1 January to each month's end."""
    return [(m, _month_end(year, m)) for m in range(1, 13)]


def utc_bound(day: date, zone: ZoneInfo) -> datetime:
    """The naive-UTC instant at which local ``day`` begins (stored timestamps are naive UTC)."""
    return datetime.combine(day, time(0), zone).astimezone(UTC).replace(tzinfo=None)


# --- the tables of definition version 1 -----------------------------------------------------

PERSON_COLUMNS = ("D", "N")
HEADLINE_ROWS = ("D", "N", "N_hr", "N_reint", "N_both", "registered")
NEED_GROUPS = {"harm_reduction": _l("Harm-reduction needs only"),
               "reintegration": _l("Reintegration needs only"),
               "both": _l("Both kinds of need")}
SUPPORT_GROUPS = {"harm_reduction": _l("Harm reduction (health, psychological)"),
                  "reintegration": _l("Community reintegration")}
MEASURES = {
    "made": _l("Made"),
    "accepted": _l("Accepted"),
    "completed": _l("Completed"),
    "rejected": _l("Rejected"),
    "failed": _l("Failed"),
    "expired": _l("Expired"),
}
MEDIANS = {"accepted": _l("Median days to acceptance"), "completed": _l("Median days to completion")}


@dataclass(frozen=True)
class Table:
    id: str
    title: object
    rows: tuple[str, ...]
    columns: tuple[str, ...]
    kind: str  # "persons" (rows partition D and N), "referrals" (rows partition each measure)


def _need_domain_rows() -> tuple[str, ...]:
    rows: list[str] = []
    for group in SUPPORT_GROUPS:
        rows.append(f"group:{group}")
        rows += [code for code, (_label, g) in vocab.NEED_DOMAINS.items() if g == group]
    return (*rows, "total")


PERSON_TABLES = (
    Table("age_band", _l("By age band"), tuple(vocab.AGE_BANDS), PERSON_COLUMNS, "persons"),
    Table("sex_gender", _l("By sex / gender"), tuple(vocab.SEX_GENDER), PERSON_COLUMNS, "persons"),
    Table("need_group", _l("By kind of need"), tuple(NEED_GROUPS), PERSON_COLUMNS, "persons"),
)
REFERRAL_TABLES = (
    Table("referrals_need", _l("Referrals by need"), _need_domain_rows(), tuple(MEASURES), "referrals"),
    Table("referrals_org", _l("Referrals by kind of organisation"), (*vocab.ORGANISATION_KINDS, "total"),
          tuple(MEASURES), "referrals"),
)
TABLES = {t.id: t for t in (*PERSON_TABLES, *REFERRAL_TABLES)}


def cell(period: str, table: str, row: str, column: str) -> str:
    """The name of one figure. Totals shared by two tables have one name (see ``canonical``)."""
    return f"{period}/{table}/{row}/{column}"


def canonical(period: str, table: str, row: str, column: str) -> str:
    """The one name of a figure that appears in several places: a person table's total is the
    headline D or N; both referral tables share their total row."""
    if TABLES.get(table) is not None and TABLES[table].kind == "persons" and row == "total":
        return cell(period, "headline", column, "value")
    if table in ("referrals_need", "referrals_org") and row == "total":
        return cell(period, "referrals", "total", column)
    return cell(period, table, row, column)


def headline(period: str, row: str) -> str:
    return cell(period, "headline", row, "value")


def cumulative(year: int, month: int, row: str) -> str:
    """A year-to-date headline figure at the end of ``month`` (the progress chart)."""
    return cell(f"{year}C{month:02d}", "headline", row, "value")


def period_cells(period: str) -> Iterator[str]:
    """Every distinct figure of one period, each once."""
    for row in HEADLINE_ROWS:
        yield headline(period, row)
    for table in PERSON_TABLES:
        for row in table.rows:
            for column in table.columns:
                yield cell(period, table.id, row, column)
    for measure in MEASURES:
        yield canonical(period, "referrals_need", "total", measure)
        for table in REFERRAL_TABLES:
            for row in table.rows:
                if row != "total":
                    yield cell(period, table.id, row, measure)


# --- the arithmetic between the figures of one year ---------------------------------------------------

QUARTER_OF_MONTH_END = {3: 1, 6: 2, 9: 3, 12: 4}


def family_constraints(year: int) -> list[Linear]:
    """Every relation between the figures of one year that follows from the definition.

    An attacker who read docs/INDICATOR.md knows all of these, so disclosure control must too.
    """
    found: list[Linear] = []
    periods = [p.key for p in family_periods(year)]
    for period in periods:
        found += _person_relations(period)
        found += _referral_relations(period)
    found += _additive_relations(year)
    found += _nested_relations(year)
    return found


def _sum(parts: list[str], total: str) -> Linear:
    return Linear((*((p, 1) for p in parts), (total, -1)))


def _at_most(small: str, large: str) -> Linear:
    return Linear(((small, 1), (large, -1)), 0, equal=False)


def _person_relations(period: str) -> list[Linear]:
    found = []
    for table in PERSON_TABLES:
        for column in PERSON_COLUMNS:
            found.append(_sum([cell(period, table.id, r, column) for r in table.rows], headline(period, column)))
        found += [_at_most(cell(period, table.id, r, "N"), cell(period, table.id, r, "D")) for r in table.rows]
    hr, reint, both, n = (headline(period, r) for r in ("N_hr", "N_reint", "N_both", "N"))
    found.append(Linear(((hr, 1), (reint, 1), (both, -1), (n, -1))))  # N_hr + N_reint - N_both = N
    found += [_at_most(both, hr), _at_most(both, reint), _at_most(hr, n), _at_most(reint, n),
              _at_most(n, headline(period, "D"))]
    # Each client counted in N_hr (N_reint) had a completed referral of that group in the period.
    completed = {group: cell(period, "referrals_need", f"group:{group}", "completed") for group in SUPPORT_GROUPS}
    found += [_at_most(hr, completed["harm_reduction"]), _at_most(reint, completed["reintegration"]),
              _at_most(n, canonical(period, "referrals_need", "total", "completed"))]
    return found


def _referral_relations(period: str) -> list[Linear]:
    found = []
    for measure in MEASURES:
        total = canonical(period, "referrals_need", "total", measure)
        groups = []
        for group in SUPPORT_GROUPS:
            subtotal = cell(period, "referrals_need", f"group:{group}", measure)
            domains = [code for code, (_label, g) in vocab.NEED_DOMAINS.items() if g == group]
            found.append(_sum([cell(period, "referrals_need", d, measure) for d in domains], subtotal))
            groups.append(subtotal)
        found.append(_sum(groups, total))
        found.append(_sum([cell(period, "referrals_org", k, measure) for k in vocab.ORGANISATION_KINDS], total))
    return found


def additive_cells(period: str) -> list[str]:
    """The figures of a period that add up across periods (referral counts, registrations)."""
    names = [headline(period, "registered")]
    for measure in MEASURES:
        names.append(canonical(period, "referrals_need", "total", measure))
        for table in REFERRAL_TABLES:
            names += [cell(period, table.id, r, measure) for r in table.rows if r != "total"]
    return names


def _additive_relations(year: int) -> list[Linear]:
    found = []
    quarters = [Period("quarter", year, q).key for q in range(1, 5)]
    for q, quarter in enumerate(quarters, start=1):
        months = [Period("month", year, m).key for m in range(3 * q - 2, 3 * q + 1)]
        for name in additive_cells(quarter):
            suffix = name[len(quarter):]
            found.append(_sum([m + suffix for m in months], name))
    for name in additive_cells(str(year)):
        suffix = name[len(str(year)):]
        found.append(_sum([q + suffix for q in quarters], name))
    return found


def _nested_relations(year: int) -> list[Linear]:
    """A period inside a longer one that ends on the same day counts a subset of its people."""
    found = []
    pairs = [(Period("month", year, m).key, Period("quarter", year, q).key) for m, q in QUARTER_OF_MONTH_END.items()]
    pairs += [(Period("quarter", year, 4).key, str(year)), (Period("month", year, 12).key, str(year))]
    for month, quarter in pairs:
        for table in PERSON_TABLES:
            for row in table.rows:
                for column in PERSON_COLUMNS:
                    found.append(_at_most(cell(month, table.id, row, column), cell(quarter, table.id, row, column)))
        for row in HEADLINE_ROWS[:5]:
            found.append(_at_most(headline(month, row), headline(quarter, row)))
    for month, end in cumulative_months(year):
        del end
        for row in ("D", "N"):
            shorter = [Period("month", year, month).key]
            if month in QUARTER_OF_MONTH_END:
                shorter.append(Period("quarter", year, QUARTER_OF_MONTH_END[month]).key)
            found += [_at_most(headline(s, row), cumulative(year, month, row)) for s in shorter]
    # The same period under two names: January, the first quarter and the whole year.
    for month, same in ((1, Period("month", year, 1).key), (3, Period("quarter", year, 1).key), (12, str(year))):
        for row in ("D", "N"):
            found.append(Linear(((cumulative(year, month, row), 1), (headline(same, row), -1))))
    return found


def family_headline_rows(year: int) -> dict[str, str]:
    """Headline cells of the year (periods and the progress line) with their row names."""
    rows = {headline(p.key, r): r for p in family_periods(year) for r in HEADLINE_ROWS}
    rows |= {cumulative(year, m, r): r for m, _end in cumulative_months(year) for r in ("D", "N")}
    return rows


# --- labels (translated when shown) -------------------------------------------------------------------

HEADLINE_LABELS = {
    "D": _l("Found, in need and eligible (D)"),
    "N": _l("Supported to a completed service (N)"),
    "N_hr": _l("of whom with harm-reduction support"),
    "N_reint": _l("of whom with reintegration support"),
    "N_both": _l("of whom with both"),
    "registered": _l("Clients registered in the period"),
    "indicator_percent": _l("Indicator N / D (%)"),
}
COLUMN_LABELS = {"D": _l("In need and eligible (D)"), "N": _l("Supported (N)"), "percent": _l("N / D (%)"),
                 **MEASURES}
TOTAL_LABEL = _l("Total")


def row_label(table: str, row: str) -> object:
    """The label of a row in the current language (codes the definition does not know: the code)."""
    if row == "total":
        return TOTAL_LABEL
    if table == "headline":
        return HEADLINE_LABELS.get(row, row)
    if table == "age_band":
        return vocab.AGE_BANDS.get(row, row)
    if table == "sex_gender":
        return vocab.SEX_GENDER.get(row, row)
    if table == "need_group":
        return NEED_GROUPS.get(row, row)
    if table == "referrals_need":
        if row.startswith("group:"):
            return SUPPORT_GROUPS.get(row[6:], row)
        return vocab.NEED_DOMAINS[row][0] if row in vocab.NEED_DOMAINS else row
    if table in ("referrals_org", "median_days"):
        return vocab.ORGANISATION_KINDS.get(row, row)
    return row


def column_label(table: str, column: str) -> object:
    if table == "median_days":
        return MEDIANS.get(column, column)
    if table == "headline":
        return _l("Value")
    return COLUMN_LABELS.get(column, column)
