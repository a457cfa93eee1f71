"""Disclosure control on its own: examples a statistician would check by hand, and properties
over random linked tables (rows, columns, totals) checked by an independent integer program."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import Bounds, LinearConstraint, milp

from casework.reports.suppression import COMPLEMENT, OFFICIAL, PUBLIC, SMALL, Linear, Space, protect, shown_percent


def table_space(cells: list[list[int]], *, exact_total: bool = True) -> Space:
    """A table with row totals, column totals and a grand total, all linked by sums.
    The grand total plays the headline D (exact in the official profile) when ``exact_total``."""
    values: dict[str, int] = {}
    constraints: list[Linear] = []
    rows, columns = len(cells), len(cells[0])
    for r in range(rows):
        for c in range(columns):
            values[f"c{r}.{c}"] = cells[r][c]
        values[f"r{r}"] = sum(cells[r])
        constraints.append(Linear((*((f"c{r}.{c}", 1) for c in range(columns)), (f"r{r}", -1))))
    for c in range(columns):
        values[f"k{c}"] = sum(cells[r][c] for r in range(rows))
        constraints.append(Linear((*((f"c{r}.{c}", 1) for r in range(rows)), (f"k{c}", -1))))
    values["t"] = sum(map(sum, cells))
    constraints.append(Linear((*((f"r{r}", 1) for r in range(rows)), ("t", -1))))
    constraints.append(Linear((*((f"k{c}", 1) for c in range(columns)), ("t", -1))))
    return Space(values, constraints, {"t": "D"} if exact_total else {})


def shown(space: Space, pattern: dict[str, str], profile) -> dict[str, object]:
    return {name: profile.marker(pattern[name]) if name in pattern else profile.shown_value(v)
            for name, v in space.values.items()}


def ranges(space: Space, views: list[tuple[object, dict[str, object]]], targets: list[str]) -> dict[str, tuple]:
    """An attacker's least and greatest value of each target, from the shown tables alone."""
    names = sorted(space.values)
    index = {n: i for i, n in enumerate(names)}
    low, high = np.zeros(len(names)), np.full(len(names), 1e7)
    for profile, table in views:
        for name, value in table.items():
            if value == f"<{profile.k}":
                lo, hi = 0, profile.k - 1
            elif value == "x":
                lo, hi = profile.k, math.inf
            elif profile.rounding and value:
                lo, hi = max(profile.k, value - 2), value + 2
            else:
                lo, hi = value, value
            low[index[name]] = max(low[index[name]], lo)
            high[index[name]] = min(high[index[name]], hi)
    matrix = np.zeros((len(space.constraints), len(names)))
    for r, constraint in enumerate(space.constraints):
        for name, a in constraint.terms:
            matrix[r, index[name]] = a
    found = {}
    for target in targets:
        extremes = []
        for sign in (1, -1):
            objective = np.zeros(len(names))
            objective[index[target]] = sign
            result = milp(objective, integrality=np.ones(len(names)), bounds=Bounds(low, high),
                          constraints=[LinearConstraint(matrix, 0, 0)])
            assert result.status == 0
            extremes.append(round(result.x[index[target]]))
        found[target] = tuple(extremes)
    return found


# --- examples -------------------------------------------------------------------------------------


def test_one_person_in_a_table_is_hidden_together_with_a_zero_beside_them():
    # Given a table where one person is in one cell and the total (the exact headline) is 1
    space = table_space([[1, 0], [0, 0]])
    patterns = protect(space)
    # Then their cell shows "<5", and so do enough zeros that the total cannot place them
    assert patterns.official["c0.0"] == SMALL
    view = shown(space, patterns.official, OFFICIAL)
    assert view["t"] == 1 and view["c0.0"] == "<5"
    found = ranges(space, [(OFFICIAL, view)], sorted(patterns.official))
    assert all(low < high for low, high in found.values())


def test_large_counts_are_shown_exactly_and_small_ones_as_less_than_k():
    space = table_space([[40, 3, 20], [25, 60, 33]])
    patterns = protect(space)
    view = shown(space, patterns.official, OFFICIAL)
    assert view["c0.1"] == "<5"
    assert view["t"] == 181 and view["k0"] == 65
    # a rectangle of four cells is the least that protects one small cell in a table with totals
    assert len(patterns.official) == 4 and view["c0.0"] == 40 and view["c1.0"] == 25
    # the 3 cannot be worked out from the row and column totals: a complement hides one of them
    assert any(kind == COMPLEMENT for kind in patterns.official.values())
    assert all(low < high for low, high in ranges(space, [(OFFICIAL, view)], sorted(patterns.official)).values())


def test_the_public_profile_hides_up_to_nine_and_rounds_the_rest_to_five():
    space = table_space([[12, 13], [7, 30]], exact_total=False)
    view = shown(space, protect(space).public, PUBLIC)
    assert view["c1.0"] == "<10"
    assert view["c1.1"] == 30
    for name in ("c0.0", "c0.1"):  # 12 and 13: rounded to 10 and 15, unless hidden to protect the 7
        assert view[name] in (10, 15, "x")
    assert PUBLIC.shown_value(12) == 10 and PUBLIC.shown_value(13) == 15 and PUBLIC.shown_value(10) == 10


def test_what_official_hides_public_hides_too():
    space = table_space([[1, 9, 30], [14, 2, 6], [40, 8, 3]])
    patterns = protect(space)
    assert set(patterns.official) <= set(patterns.public)


def test_a_figure_implied_by_the_exact_headline_is_shown_as_it_is():
    def space(n: int, completed: int) -> Space:
        return Space({"N": n, "completed": completed}, [Linear((("N", 1), ("completed", -1)), 0, equal=False)],
                     {"N": "N"})

    # Given N = 4 (exact) and "completed referrals" = 4, with N <= completed:
    # "<5" would say 0..4 of a figure known to be at least 4, so hiding it protects nothing
    implied = protect(space(4, 4))
    assert "completed" not in implied.official and "completed" in implied.published_determined
    # With N = 3 the same 3 completed referrals could be 3 or 4: it is hidden as usual
    assert protect(space(3, 3)).official == {"completed": SMALL}


def test_percentages_only_where_the_denominator_is_large_enough():
    assert shown_percent(3, 4, OFFICIAL, {}, "n", "d") is None
    assert shown_percent(4, 5, OFFICIAL, {}, "n", "d") == 80.0
    assert shown_percent(40, 49, PUBLIC, {}, "n", "d") is None  # the public indicator needs D >= 50
    assert shown_percent(40, 50, PUBLIC, {}, "n", "d") == 80
    assert shown_percent(4, 5, OFFICIAL, {"n": SMALL}, "n", "d") is None  # never beside a hidden N


def test_the_same_figures_always_give_the_same_pattern():
    cells = [[1, 9, 30, 0], [14, 2, 6, 4], [40, 8, 3, 1]]
    first, second = protect(table_space(cells)), protect(table_space(cells))
    assert first.official == second.official and first.public == second.public


# --- properties -------------------------------------------------------------------------------------

small_counts = st.one_of(st.integers(0, 4), st.integers(0, 12), st.integers(0, 60))
tables = st.integers(2, 3).flatmap(
    lambda rows: st.integers(2, 3).flatmap(
        lambda cols: st.lists(st.lists(small_counts, min_size=cols, max_size=cols), min_size=rows, max_size=rows)))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables, st.booleans())
def test_no_hidden_cell_of_any_table_can_be_pinned_down(cells, exact_total):
    space = table_space(cells, exact_total=exact_total)
    patterns = protect(space)
    official, public = shown(space, patterns.official, OFFICIAL), shown(space, patterns.public, PUBLIC)
    # every count from 1 to k-1 is hidden (or implied by the exact headline)
    for name, value in space.values.items():
        if 0 < value < OFFICIAL.k and name not in space.headline_rows:
            assert name in patterns.official or name in patterns.published_determined
        if 0 < value < PUBLIC.k:
            assert name in patterns.public
    # a shown figure is the truth (official) or the truth rounded (public)
    for name, value in space.values.items():
        if name not in patterns.official:
            assert official[name] == value
        if name not in patterns.public:
            assert abs(public[name] - value) <= 2
    # and no hidden figure has a single possible value, for either audience
    both = ranges(space, [(OFFICIAL, official), (PUBLIC, public)], sorted(patterns.official))
    alone = ranges(space, [(PUBLIC, public)], sorted(patterns.public))
    for name, (low, high) in {**both, **alone}.items():
        assert low < high, name
        assert low <= space.values[name] <= high
