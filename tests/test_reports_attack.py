"""The attacker's test of disclosure control (SECURITY.md, "Aggregate reports").

An attacker collects EVERYTHING a supervisor can see or export for one year — every period
(year, quarters, months, the year so far) in both profiles, with the progress line and the
charts' figures — and knows the definition's arithmetic as docs/INDICATOR.md states it. For
every hidden figure they solve two integer programs (the least and the greatest value that
agrees with all of it). The test fails if any hidden figure comes out with one possible value.

The attacker's model is written here from the documentation, independently of
casework.reports.definitions, so a relation the code forgot to protect against is caught.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date

import numpy as np
import pytest
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import lil_array
from test_reports_support import SETTINGS

from casework import vocab
from casework.reports import services
from casework.reports.definitions import Period
from casework.reports.suppression import OFFICIAL, PUBLIC

AGE = list(vocab.AGE_BANDS)
SEX = list(vocab.SEX_GENDER)
NEED_GROUPS = ["harm_reduction", "reintegration", "both"]
HR = [c for c, (_l, g) in vocab.NEED_DOMAINS.items() if g == "harm_reduction"]
REINT = [c for c, (_l, g) in vocab.NEED_DOMAINS.items() if g == "reintegration"]
KINDS = list(vocab.ORGANISATION_KINDS)
MEASURES = ["made", "accepted", "completed", "rejected", "failed", "expired"]


# --- what the attacker reads ---------------------------------------------------------------------


def published(database, year: int, today: date) -> dict[str, dict[str, dict]]:
    """profile -> period key -> payload, for every period of the year, as the screens and exports get them."""
    with database.snapshot() as session:
        family = services.build_family(session, year, settings=SETTINGS, today=today)
    periods = [Period("year", year)] + [Period("quarter", year, q) for q in range(1, 5)]
    periods += [Period("month", year, m) for m in range(1, 13)]
    if today.year == year:
        periods.append(Period("ytd", year))
    return {profile.name: {p.key: services.publish(family, p, profile, settings=SETTINGS) for p in periods
                           if p.start <= today} for profile in (OFFICIAL, PUBLIC)}


def interval(value, profile: str) -> tuple[float, float]:
    """What a shown figure tells: a number, a rounded number, or a marker."""
    k, rounding = (5, 0) if profile == "official" else (10, 5)
    if value == f"<{k}":
        return 0, k - 1
    if value == "x":
        return k, math.inf
    if rounding and value:
        return max(k, value - rounding // 2), value + rounding // 2
    return value, value


# --- the attacker's model -----------------------------------------------------------------------


class Model:
    def __init__(self) -> None:
        self.low: dict[str, float] = defaultdict(float)
        self.high: dict[str, float] = defaultdict(lambda: math.inf)
        self.rows: list[tuple[dict[str, float], float, float]] = []  # (terms, low, high)

    def var(self, name: str) -> str:
        self.low[name]
        self.high[name]
        return name

    def know(self, name: str, low: float, high: float) -> None:
        self.var(name)
        self.low[name] = max(self.low[name], low)
        self.high[name] = min(self.high[name], high)

    def add(self, terms: dict[str, float], low: float, high: float) -> None:
        for name in terms:
            self.var(name)
        self.rows.append((terms, low, high))

    def equal(self, parts: list[str], total: str) -> None:
        self.add({**{p: 1 for p in parts}, total: -1}, 0, 0)

    def at_most(self, small: str, large: str) -> None:
        self.add({small: 1, large: -1}, -math.inf, 0)


def _name(period: str, table: str, row: str, column: str) -> str:
    return f"{period}|{table}|{row}|{column}"


def read_payload(model: Model, payload: dict, hidden: dict[str, str]) -> None:
    """Every figure of one payload becomes knowledge about the true counts."""
    profile, period = payload["profile"], payload["period"]["key"]
    if payload["period"]["kind"] == "ytd":
        period = payload["period"]["code"]  # the year so far is the year's figures (docs/INDICATOR.md)

    def seen(name: str, value) -> None:
        if value is None:
            return
        model.know(name, *interval(value, profile))
        if isinstance(value, str):
            hidden[name] = profile if hidden.get(name) in (None, profile) else "both"

    for row in ("D", "N", "N_hr", "N_reint", "N_both", "registered"):
        seen(_name(period, "head", row, "v"), payload["headline"][row])
    for table in ("age_band", "sex_gender", "need_group"):
        for entry in payload["tables"][table]:
            for column in ("D", "N"):
                row = entry["row"]
                name = _name(period, "head", column, "v") if row == "total" else _name(period, table, row, column)
                seen(name, entry["values"][column])
    for table in ("referrals_need", "referrals_org"):
        for entry in payload["tables"][table]:
            for measure in MEASURES:
                row = entry["row"]
                name = _name(period, "ref", "total", measure) if row == "total" else _name(period, table, row, measure)
                seen(name, entry["values"][measure])
    year = payload["period"]["start"][:4]
    for point in payload["progress"]:
        for column in ("D", "N"):
            seen(_name(f"{year}C{point['month']:02d}", "head", column, "v"), point[column])
        _percent(model, profile, _name(f"{year}C{point['month']:02d}", "head", "N", "v"),
                 _name(f"{year}C{point['month']:02d}", "head", "D", "v"), point["percent"])
    for row in payload["completed_by_group"]:
        for group in ("harm_reduction", "reintegration"):
            seen(_name(f"{year}{row['month']:02d}", "referrals_need", f"group:{group}", "completed"), row[group])
    _percent(model, profile, _name(period, "head", "N", "v"), _name(period, "head", "D", "v"),
             payload["headline"]["indicator_percent"])


def _percent(model: Model, profile: str, n: str, d: str, shown) -> None:
    """A percentage shown with whole percents (public) says 100·N lies within half a percent of p·D."""
    if shown is None or profile == "official":
        return  # official shows N and D themselves
    model.add({n: 100, d: -(shown + 0.5)}, -math.inf, 0)
    model.add({n: 100, d: -(shown - 0.5)}, 0, math.inf)


def definition(model: Model, year: int) -> None:
    """The arithmetic of docs/INDICATOR.md, as an attacker would write it down."""
    months = [f"{year}{m:02d}" for m in range(1, 13)]
    quarters = [f"{year}Q{q}" for q in range(1, 5)]
    periods = [str(year), *quarters, *months]
    for p in periods:
        for table, rows in (("age_band", AGE), ("sex_gender", SEX), ("need_group", NEED_GROUPS)):
            for column in ("D", "N"):
                model.equal([_name(p, table, r, column) for r in rows], _name(p, "head", column, "v"))
            for r in rows:
                model.at_most(_name(p, table, r, "N"), _name(p, table, r, "D"))
        head = {r: _name(p, "head", r, "v") for r in ("D", "N", "N_hr", "N_reint", "N_both")}
        model.add({head["N_hr"]: 1, head["N_reint"]: 1, head["N_both"]: -1, head["N"]: -1}, 0, 0)
        for small, large in (("N_both", "N_hr"), ("N_both", "N_reint"), ("N_hr", "N"), ("N_reint", "N"),
                             ("N", "D")):
            model.at_most(head[small], head[large])
        model.at_most(head["N_hr"], _name(p, "referrals_need", "group:harm_reduction", "completed"))
        model.at_most(head["N_reint"], _name(p, "referrals_need", "group:reintegration", "completed"))
        model.at_most(head["N"], _name(p, "ref", "total", "completed"))
        for m in MEASURES:
            groups = []
            for group, domains in (("harm_reduction", HR), ("reintegration", REINT)):
                groups.append(_name(p, "referrals_need", f"group:{group}", m))
                model.equal([_name(p, "referrals_need", d, m) for d in domains], groups[-1])
            model.equal(groups, _name(p, "ref", "total", m))
            model.equal([_name(p, "referrals_org", k, m) for k in KINDS], _name(p, "ref", "total", m))
    additive = [("head", "registered", "v")] + [("ref", "total", m) for m in MEASURES]
    additive += [("referrals_need", r, m) for r in [*HR, *REINT, "group:harm_reduction", "group:reintegration"]
                 for m in MEASURES]
    additive += [("referrals_org", k, m) for k in KINDS for m in MEASURES]
    for table, row, column in additive:
        for q, quarter in enumerate(quarters):
            model.equal([_name(months[3 * q + i], table, row, column) for i in range(3)],
                        _name(quarter, table, row, column))
        model.equal([_name(q, table, row, column) for q in quarters], _name(str(year), table, row, column))
    same_end = [(months[2], quarters[0]), (months[5], quarters[1]), (months[8], quarters[2]),
                (months[11], quarters[3]), (quarters[3], str(year))]
    for short, long in same_end:
        for table, rows in (("age_band", AGE), ("sex_gender", SEX), ("need_group", NEED_GROUPS)):
            for r in rows:
                for column in ("D", "N"):
                    model.at_most(_name(short, table, r, column), _name(long, table, r, column))
        for r in ("D", "N", "N_hr", "N_reint", "N_both"):
            model.at_most(_name(short, "head", r, "v"), _name(long, "head", r, "v"))
    for m in range(1, 13):
        cumulative = f"{year}C{m:02d}"
        for column in ("D", "N"):
            model.at_most(_name(months[m - 1], "head", column, "v"), _name(cumulative, "head", column, "v"))
            if m % 3 == 0:
                model.at_most(_name(quarters[m // 3 - 1], "head", column, "v"), _name(cumulative, "head", column, "v"))
    for m, same in ((1, months[0]), (3, quarters[0]), (12, str(year))):
        for column in ("D", "N"):
            model.equal([_name(f"{year}C{m:02d}", "head", column, "v")], _name(same, "head", column, "v"))


def directory_knowledge(model: Model, database, year: int) -> None:
    """Anyone can read the service directory: a need no service answers has no referral."""
    from sqlalchemy import select

    from casework.directory.models import Organisation, Service

    with database.snapshot() as session:
        domains = set(session.scalars(select(Service.need_domain)))
        kinds = set(session.scalars(select(Organisation.kind)))
    periods = [str(year)] + [f"{year}Q{q}" for q in range(1, 5)] + [f"{year}{m:02d}" for m in range(1, 13)]
    for p in periods:
        for m in MEASURES:
            for d in (x for x in [*HR, *REINT] if x not in domains):
                model.know(_name(p, "referrals_need", d, m), 0, 0)
            for k in (x for x in KINDS if x not in kinds):
                model.know(_name(p, "referrals_org", k, m), 0, 0)


# --- solving -------------------------------------------------------------------------------------


def pinned(model: Model, targets: list[str]) -> dict[str, tuple[float, float]]:
    """Least and greatest integer value of each target, over connected parts of the model."""
    names = sorted(model.low)
    parent = {n: n for n in names}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for terms, _lo, _hi in model.rows:
        first, *rest = terms
        for other in rest:
            parent[find(other)] = find(first)
    groups: dict[str, list[str]] = defaultdict(list)
    for n in names:
        groups[find(n)].append(n)
    rows_of: dict[str, list[int]] = defaultdict(list)
    for i, (terms, _lo, _hi) in enumerate(model.rows):
        rows_of[find(next(iter(terms)))].append(i)
    ranges = {}
    for root in {find(t) for t in targets}:
        members = groups[root]
        index = {n: i for i, n in enumerate(members)}
        matrix = lil_array((len(rows_of[root]), len(members)))
        lows, highs = [], []
        for r, i in enumerate(rows_of[root]):
            terms, lo, hi = model.rows[i]
            for name, a in terms.items():
                matrix[r, index[name]] = a
            lows.append(lo)
            highs.append(hi)
        bounds = Bounds([model.low[n] for n in members], [min(model.high[n], 1e7) for n in members])
        constraints = [LinearConstraint(matrix.tocsr(), lows, highs)] if lows else []
        for target in (t for t in targets if find(t) == root):
            found = []
            for sign in (1, -1):
                c = np.zeros(len(members))
                c[index[target]] = sign
                result = milp(c, integrality=np.ones(len(members)), bounds=bounds, constraints=constraints)
                assert result.status == 0, f"the published figures contradict each other around {target}"
                found.append(result.x[index[target]])
            ranges[target] = (round(found[0]), round(found[1]))
    return ranges


def attack(database, year: int, today: date) -> tuple[dict[str, tuple[float, float]], dict[str, str]]:
    reports = published(database, year, today)
    joint, public_only = Model(), Model()
    hidden: dict[str, str] = {}
    for model, profiles in ((joint, ("official", "public")), (public_only, ("public",))):
        definition(model, year)
        directory_knowledge(model, database, year)
        for profile in profiles:
            for payload in reports[profile].values():
                read_payload(model, payload, hidden if model is joint else {})
    official_hidden = sorted(n for n, where in hidden.items() if where in ("official", "both"))
    public_hidden = sorted(n for n, where in hidden.items() if where in ("public", "both"))
    ranges = pinned(joint, official_hidden)
    ranges |= {f"public:{n}": r for n, r in pinned(public_only, public_hidden).items()}
    return ranges, hidden


@pytest.fixture
def attacked_story(story, database):
    return attack(database, 2025, date(2026, 2, 1))


def test_no_hidden_figure_of_the_story_year_can_be_pinned_down(attacked_story):
    # Given everything published about 2025 for a ward where almost every figure is small
    ranges, hidden = attacked_story
    # Then many figures are hidden, and not one of them has a single possible value
    assert len(hidden) > 100
    exposed = sorted(name for name, (low, high) in ranges.items() if low == high)
    assert exposed == []


def test_the_attackers_model_is_true_of_the_real_figures(story, database):
    # Given the real counts, When they are put into the attacker's model as exact values
    # Then the model is satisfiable: the test attacks the published figures, not a broken model
    with database.snapshot() as session:
        family = services.build_family(session, 2025, settings=SETTINGS, today=date(2026, 2, 1))
    truth = Model()
    definition(truth, 2025)
    directory_knowledge(truth, database, 2025)
    for name, value in family.space.values.items():
        period, table, row, column = name.split("/")
        if table == "headline":
            key = _name(period, "head", row, "v")
        elif table == "referrals":
            key = _name(period, "ref", row, column)
        else:
            key = _name(period, table, row, column)
        truth.know(key, value, value)
    target = _name("2025", "head", "D", "v")
    assert pinned(truth, [target]) == {target: (13, 13)}
