"""The 80% indicator and the operational figures, computed from a ward whose year is known
case by case (docs/INDICATOR.md). Every edge case of the definition has its client below;
the expected figures were worked out by hand from the story, not from the code."""

from __future__ import annotations

from datetime import date

import pytest
from test_reports_support import SETTINGS

from casework.reports import definitions as d
from casework.reports import services
from casework.reports.definitions import Period, PeriodError

Y = 2025


@pytest.fixture
def family(story, database):
    with database.snapshot() as session:
        return services.build_family(session, Y, settings=SETTINGS, today=date(Y + 1, 2, 1))


def figures(family, period: str, *rows: str) -> list[int]:
    return [family.space.values[d.headline(period, r)] for r in rows]


def test_the_year_counts_exactly_the_clients_the_definition_names(family):
    # Given the story, When the year is counted
    # Then D holds a, b, dd, f, j, k, l, n, p, q, r, s, t and N holds a, l, n (l with both kinds)
    assert figures(family, "2025", "D", "N", "N_hr", "N_reint", "N_both") == [13, 3, 3, 1, 1]
    # and 16 clients still on record were registered in the year (m was erased; c, e, r are older)
    assert figures(family, "2025", "registered") == [16]


@pytest.mark.parametrize(("period", "expected"), [
    ("202501", [3, 0]),  # a, dd, o; nobody supported yet
    ("202502", [5, 1]),  # + f, p; a completed (m's completion was erased)
    ("202503", [8, 1]),  # + b, l, r (consent again); l completed, p's completion was an error
    ("2025Q1", [8, 2]),  # a and l supported within the quarter
    ("202507", [9, 0]),  # dd closed on 1 July still counts in July; f withdrew in June
    ("202508", [7, 0]),  # dd gone; o reassessed with no need
    ("202509", [8, 1]),  # + q; l's legal aid completed on 1 September
    ("2025Q3", [9, 1]),
    ("202512", [11, 0]),  # + j, s, t; t's completion fell on New Year's Day, local time
    ("2025Q4", [11, 0]),
])
def test_each_period_applies_the_edge_cases_at_its_own_start_and_end(family, period, expected):
    assert figures(family, period, "D", "N") == expected


def test_disaggregations_add_up_to_the_headline_and_put_the_child_apart(family):
    cells = family.space.values
    by = {t: {r: (cells[d.cell("2025", t, r, "D")], cells[d.cell("2025", t, r, "N")]) for r in table.rows}
          for table in d.PERSON_TABLES for t in [table.id]}
    assert by["age_band"]["lt18"] == (1, 1)
    assert by["age_band"]["25-34"] == (12, 2)
    assert by["sex_gender"]["female"] == (10, 3)
    assert by["sex_gender"]["male"] == (2, 0)
    assert by["sex_gender"]["trans_woman"] == (1, 0)
    assert by["need_group"] == {"harm_reduction": (9, 2), "reintegration": (2, 0), "both": (2, 1)}
    for table in by.values():
        assert sum(v[0] for v in table.values()) == 13 and sum(v[1] for v in table.values()) == 3


def test_referral_counts_by_need_and_organisation_kind(family):
    cells = family.space.values

    def year(table: str, row: str) -> list[int]:
        return [cells[d.canonical("2025", table, row, m)] for m in d.MEASURES]

    # made, accepted, completed, rejected, failed, expired; entered-in-error and erased never count
    assert year("referrals_need", "hiv_sti_testing") == [7, 6, 4, 0, 1, 1]
    assert year("referrals_need", "legal_aid") == [3, 2, 1, 1, 0, 0]
    assert year("referrals_need", "group:harm_reduction") == [7, 6, 4, 0, 1, 1]
    assert year("referrals_need", "total") == [10, 8, 5, 1, 1, 1]
    assert year("referrals_org", "health_station") == [7, 6, 4, 0, 1, 1]
    assert year("referrals_org", "legal_aid") == [3, 2, 1, 1, 0, 0]
    # months add up to quarters and the year; December holds j and t made, nothing completed
    assert [cells[d.canonical("202512", "referrals_need", "total", m)] for m in d.MEASURES] == [2, 2, 0, 0, 0, 0]
    assert [cells[d.canonical("202505", "referrals_need", "total", m)] for m in ("made", "rejected")] == [3, 1]


def test_median_days_to_completion_and_acceptance(family):
    # health station completions took 24, 9, 14 and 8 days; legal aid's one 123
    assert family.medians[d.cell("2025", "medians", "health_station", "completed")] == 11.5
    assert family.medians[d.cell("2025", "medians", "total", "completed")] == 14.0
    assert family.medians[d.cell("2025", "medians", "legal_aid", "completed")] == 123.0
    # k's health referral waited one day to be accepted; the others were accepted the day they were made
    assert family.medians[d.cell("2025", "medians", "health_station", "accepted")] == 0.0
    assert family.medians[d.cell("202505", "medians", "health_station", "accepted")] == 1.0


def test_the_progress_line_is_the_year_so_far_at_each_months_end(family):
    cells = family.space.values
    points = [(cells[d.cumulative(2025, m, "D")], cells[d.cumulative(2025, m, "N")]) for m in (1, 2, 3, 12)]
    # January and March equal the month and the quarter; December is the whole year
    assert points == [(3, 0), (5, 1), (8, 2), (13, 3)]


def test_every_relation_the_definition_states_holds_for_the_computed_figures(family):
    # An attacker may rely on these relations: they must be true of what casework publishes.
    values = family.space.values
    for constraint in family.space.constraints:
        total = sum(a * values[name] for name, a in constraint.terms)
        assert (total == constraint.rhs) if constraint.equal else (total <= constraint.rhs), constraint


def test_period_codes_parse_as_dhis2_writes_them():
    assert Period.parse("2026").code == "2026"
    assert Period.parse("2026q3") == Period("quarter", 2026, 3)
    assert Period.parse("202601") == Period.parse("2026-01") == Period("month", 2026, 1)
    assert Period.parse("2026YTD").computed_as == Period("year", 2026)
    assert Period("quarter", 2026, 1).adx_period == "2026-01-01/P3M"
    for bad in ("26", "2026Q5", "202613", "1999", "x"):
        with pytest.raises(PeriodError):
            Period.parse(bad)
