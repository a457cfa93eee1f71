"""Disclosure control: the one module that decides how each aggregate figure may be shown.

The protection rule (SECURITY.md, "Aggregate reports"):

    For every figure that a profile hides, the set of values that agree with EVERYTHING
    published for the same year — both profiles, every period of the year (year, quarters,
    months, the year-to-date progress line), every table, total, sub-total and headline, and
    the arithmetic between them — contains at least two whole numbers. A hidden figure can
    never be worked out exactly, even by someone solving integer programs over all of it.

How (linked-table suppression, checked by an integer-programming audit):

1. *Primary* suppression: in profile ``official`` every count from 1 to k-1 (k = 5) is hidden,
   except the headline D and N, which are exact; in ``public`` (k = 10) every count from 1 to 9
   is hidden and the others are rounded to the nearest 5. A hidden figure shows as ``<k``
   ("between 0 and k-1") when its value is below k, else as ``x`` ("hidden to protect another
   figure; k or more"). So the marker itself is true and says only what it says.
2. *Complementary* suppression: while any hidden figure can be pinned down, hide another figure
   of a sum it takes part in — first a zero (shown ``<k``, which costs a reader almost nothing),
   then the smallest large count. Everything hidden in ``official`` is hidden in ``public``.
3. The *audit* models an attacker who knows every published figure, what each marker means,
   and the arithmetic of the definition (totals, sub-totals, months that add up to quarters and
   years, N ≤ D, a shorter period inside a longer one with the same end, N ≤ completed
   referrals). Interval propagation finds most pinned figures cheaply; each remaining hidden
   figure is then certified with HiGHS (``scipy.optimize.milp``): an integer solution of all
   those constraints in which the figure has another value. A figure with no such solution is
   exposed and step 2 runs again.
4. A figure that stays exposed even when everything else is hidden is implied by the exact
   headline (for example "completed referrals" equal to N): hiding it would protect nothing,
   so it is published and the rest of its table is protected around it.

Everything is deterministic: the same figures always give the same pattern, whichever period
of the year is being looked at.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import csr_array

SMALL = "small"  # shown as "<k": between 0 and k-1
COMPLEMENT = "complement"  # shown as "x": k or more, hidden so that a small figure cannot be worked out
BIG = 10**7  # a finite stand-in for "no upper bound" in the integer programs
MILP_SECONDS = 20.0


@dataclass(frozen=True)
class Profile:
    name: str
    k: int
    rounding: int  # 0: exact; 5: shown figures are rounded to the nearest 5
    exact_rows: frozenset[str]  # headline rows never hidden (official: D and N)
    indicator_min_denominator: int  # the indicator is shown only from this D on (0: always)
    percent_decimals: int

    def shown_value(self, value: int) -> int:
        if not self.rounding or value == 0:
            return value
        return (value + self.rounding // 2) // self.rounding * self.rounding

    def marker(self, kind: str) -> str:
        return f"<{self.k}" if kind == SMALL else "x"


OFFICIAL = Profile("official", 5, 0, frozenset({"D", "N"}), 0, 1)
PUBLIC = Profile("public", 10, 5, frozenset(), 50, 0)
PROFILES = {p.name: p for p in (OFFICIAL, PUBLIC)}


@dataclass(frozen=True)
class Linear:
    """``Σ coefficient·cell == rhs`` (``equal``) or ``Σ coefficient·cell <= rhs``."""

    terms: tuple[tuple[str, int], ...]
    rhs: int = 0
    equal: bool = True


@dataclass
class Space:
    """Every figure of one year (exact values) and the arithmetic the definition puts between them."""

    values: dict[str, int]
    constraints: list[Linear]
    # Cells whose row is a headline row ("…/headline/D/value"): profiles may keep them exact.
    headline_rows: dict[str, str] = field(default_factory=dict)
    # Figures anyone can tell without the report (a need with no service in the directory can
    # have no referral): always shown, never hidden — hiding them would only pretend to protect.
    structural: frozenset[str] = frozenset()

    def suppressible(self, profile: Profile) -> list[str]:
        return sorted(c for c in self.values
                      if self.headline_rows.get(c) not in profile.exact_rows and c not in self.structural)

    @cached_property
    def levels(self) -> dict[str, int]:
        """How many sums each figure is the total of: hiding a total costs readers most."""
        found: dict[str, int] = defaultdict(int)
        for constraint in self.constraints:
            if constraint.equal:
                for name, a in constraint.terms:
                    if a < 0:
                        found[name] += 1
        return found


Pattern = dict[str, str]  # cell -> SMALL | COMPLEMENT
Interval = tuple[int, float]  # (low, high); high may be math.inf


# --- what an attacker knows --------------------------------------------------------------------------


def knowledge(space: Space, profile: Profile, pattern: Mapping[str, str]) -> dict[str, Interval]:
    """The interval each figure is known to lie in, from what ``profile`` shows."""
    known: dict[str, Interval] = {}
    for name, value in space.values.items():
        kind = pattern.get(name)
        if kind == SMALL:
            known[name] = (0, profile.k - 1)
        elif kind == COMPLEMENT:
            known[name] = (profile.k, math.inf)
        elif profile.rounding and value:
            shown = profile.shown_value(value)
            half = profile.rounding // 2
            known[name] = (max(profile.k, shown - half), shown + half)
        else:
            known[name] = (value, value)
    return known


def intersect(*sources: Mapping[str, Interval]) -> dict[str, Interval]:
    joined: dict[str, Interval] = {}
    for source in sources:
        for name, (low, high) in source.items():
            old_low, old_high = joined.get(name, (0, math.inf))
            joined[name] = (max(old_low, low), min(old_high, high))
    return joined


def percent_constraints(space: Space, profile: Profile, pattern: Mapping[str, str],
                        pairs: Iterable[tuple[str, str]]) -> list[Linear]:
    """What a shown (rounded) percentage N/D adds, for a profile that rounds its counts."""
    if not profile.rounding:
        return []  # exact counts: the percentage adds nothing
    found = []
    for n_cell, d_cell in pairs:
        shown = shown_percent(space.values[n_cell], space.values[d_cell], profile, pattern, n_cell, d_cell)
        if shown is None:
            if n_cell not in pattern and d_cell not in pattern and profile.indicator_min_denominator:
                found.append(Linear(((d_cell, 1),), profile.indicator_min_denominator - 1, equal=False))
            continue
        p2 = round(shown * 2)  # whole percents: (p - 1/2)·D <= 100·N <= (p + 1/2)·D, times 2
        found.append(Linear(((n_cell, 200), (d_cell, -(p2 + 1))), 0, equal=False))
        found.append(Linear(((d_cell, p2 - 1), (n_cell, -200)), 0, equal=False))
        found.append(Linear(((d_cell, -1),), -profile.indicator_min_denominator, equal=False))
    return found


def shown_percent(n: int, d: int, profile: Profile, pattern: Mapping[str, str], n_cell: str,
                  d_cell: str) -> float | None:
    """N/D in percent as the profile shows it, or None (hidden figure, too few, or D = 0)."""
    if n_cell in pattern or d_cell in pattern or d <= 0 or d < max(profile.k, profile.indicator_min_denominator):
        return None
    return round(100 * n / d, profile.percent_decimals)


# --- interval propagation -----------------------------------------------------------------------------


def propagate(bounds: Mapping[str, Interval], constraints: list[Linear]) -> dict[str, Interval]:
    """Tighten every interval with every constraint until nothing changes (sound, not complete).

    A work list: a constraint is looked at again only when one of its figures' bounds moved."""
    low = {k: float(v[0]) for k, v in bounds.items()}
    high = {k: float(v[1]) for k, v in bounds.items()}
    by_cell: dict[str, list[int]] = defaultdict(list)
    for i, constraint in enumerate(constraints):
        for name, _ in constraint.terms:
            by_cell[name].append(i)
    queue, queued = deque(range(len(constraints))), set(range(len(constraints)))
    budget = 200 * max(1, len(constraints))  # bounds may creep one unit at a time around a cycle
    while queue and budget:
        budget -= 1
        i = queue.popleft()
        queued.discard(i)
        for name in _tighten(constraints[i], low, high):
            for j in by_cell[name]:
                if j not in queued:
                    queue.append(j)
                    queued.add(j)
    return {k: (int(low[k]), high[k]) for k in bounds}


def _tighten(constraint: Linear, low: dict[str, float], high: dict[str, float]) -> list[str]:
    """Apply one constraint to the bounds of its figures; returns the figures whose bounds moved."""
    terms, rhs, equal = constraint.terms, constraint.rhs, constraint.equal
    inf = math.inf
    mins, maxs = [], []
    min_finite = max_finite = 0.0
    min_inf = max_inf = 0
    for name, a in terms:
        lo, hi = low[name], high[name]
        t_min, t_max = (a * lo, a * hi) if a > 0 else (a * hi, a * lo)
        mins.append(t_min)
        maxs.append(t_max)
        if t_min == -inf:
            min_inf += 1
        else:
            min_finite += t_min
        if t_max == inf:
            max_inf += 1
        else:
            max_finite += t_max
    changed = []
    for (name, a), t_min, t_max in zip(terms, mins, maxs, strict=True):
        # a·x <= rhs - (least the others can be); for an equality also a·x >= rhs - (most they can be)
        if t_min == -inf:
            rest_min = -inf if min_inf > 1 else min_finite
        else:
            rest_min = -inf if min_inf else min_finite - t_min
        upper_ax = rhs - rest_min
        if equal:
            if t_max == inf:
                rest_max = inf if max_inf > 1 else max_finite
            else:
                rest_max = inf if max_inf else max_finite - t_max
            lower_ax = rhs - rest_max
        else:
            lower_ax = -inf
        new_low, new_high = (lower_ax / a, upper_ax / a) if a > 0 else (upper_ax / a, lower_ax / a)
        if new_low != -inf and new_low != inf:
            value = math.ceil(new_low - 1e-9)
            if value > low[name]:
                low[name] = value
                changed.append(name)
        if new_high != inf and new_high != -inf:
            value = math.floor(new_high + 1e-9)
            if value < high[name]:
                high[name] = value
                changed.append(name)
    return changed


# --- the audit ----------------------------------------------------------------------------------------


class Audit:
    """Finds the hidden figures an attacker can pin down, remembering those it has proved safe.

    A proof is an integer solution of everything the attacker knows in which the figure has
    another value. Hiding one more figure only ever widens what the attacker knows (a shown
    value becomes an interval around it), so a proof stays valid while the pattern grows:
    each figure needs proving once.
    """

    def __init__(self, space: Space) -> None:
        self.space = space
        self.certified: set[str] = set()

    def exposed(self, known: dict[str, Interval], constraints: list[Linear], targets: Iterable[str], *,
                solve: bool = True) -> set[str]:
        """Pinned figures among ``targets`` (interval propagation only when ``solve`` is False)."""
        targets = set(targets) - self.certified
        if not targets:
            return set()
        bounds = propagate(known, constraints)
        pinned = {t for t in targets if bounds[t][0] == bounds[t][1]}
        if not solve:
            return pinned
        for component, rows in _components(bounds, constraints, targets - pinned):
            pinned |= _milp_pinned(self.space, bounds, rows, component, (targets - pinned) & component,
                                   self.certified)
        return pinned


def exposed(space: Space, known: dict[str, Interval], constraints: list[Linear], targets: Iterable[str]) -> set[str]:
    """The hidden figures in ``targets`` whose value an attacker knowing ``known`` can pin down."""
    return Audit(space).exposed(known, constraints, targets)


def _components(bounds: dict[str, Interval], constraints: list[Linear],
                targets: set[str]) -> list[tuple[set[str], list[Linear]]]:
    """Connected groups of still-uncertain figures, with the constraints among them."""
    uncertain = {name for name, (low, high) in bounds.items() if low != high}
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    live = []
    for constraint in constraints:
        names = [n for n, _ in constraint.terms if n in uncertain]
        if not names:
            continue
        live.append((constraint, names))
        for other in names[1:]:
            parent[find(other)] = find(names[0])
    groups: dict[str, set[str]] = defaultdict(set)
    for name in targets:
        groups[find(name)].add(name)
    rows_by_root: dict[str, list[Linear]] = defaultdict(list)
    members: dict[str, set[str]] = defaultdict(set)
    for constraint, names in live:
        root = find(names[0])
        rows_by_root[root].append(constraint)
        members[root].update(names)
    return [(members[root] | names, rows_by_root[root]) for root, names in sorted(groups.items())]


def _milp_pinned(space: Space, bounds: dict[str, Interval], rows: list[Linear], component: set[str],
                 targets: set[str], certified: set[str]) -> set[str]:
    variables = sorted(n for n in component if bounds[n][0] != bounds[n][1])
    if not variables:
        return set(targets)
    index = {n: i for i, n in enumerate(variables)}
    matrix, row_low, row_high = _matrix(rows, index, bounds)
    low = np.array([bounds[n][0] for n in variables], dtype=float)
    high = np.array([min(bounds[n][1], BIG) for n in variables], dtype=float)
    truth = np.array([space.values[n] for n in variables], dtype=float)
    # Not for secrecy: a fixed seed, so the same problem always gets the same search directions.
    rng = random.Random(len(variables))  # noqa: S311  # a fixed seed for search directions, not a secret  # nosec B311
    pinned: set[str] = set()
    for target in sorted(targets):
        if target in certified:
            continue
        open_targets = targets - certified
        if not _alternative(matrix, row_low, row_high, low, high, truth, index[target], open_targets, index, rng,
                            certified):
            pinned.add(target)
    return pinned


def _matrix(rows: list[Linear], index: dict[str, int],
            bounds: dict[str, Interval]) -> tuple[csr_array, np.ndarray, np.ndarray]:
    data, row_ids, col_ids, row_low, row_high = [], [], [], [], []
    for r, constraint in enumerate(rows):
        constant = 0.0
        for name, a in constraint.terms:
            if name in index:
                data.append(a)
                row_ids.append(r)
                col_ids.append(index[name])
            else:
                constant += a * bounds[name][0]  # a figure known exactly
        rhs = constraint.rhs - constant
        row_high.append(rhs)
        row_low.append(rhs if constraint.equal else -np.inf)
    shape = (len(rows), len(index))
    return csr_array((data, (row_ids, col_ids)), shape=shape), np.array(row_low), np.array(row_high)


def _alternative(matrix: csr_array, row_low: np.ndarray, row_high: np.ndarray, low: np.ndarray,
                 high: np.ndarray, truth: np.ndarray, i: int, uncertified: set[str], index: dict[str, int],
                 rng: random.Random, certified: set[str]) -> bool:
    """Look for an integer solution where figure ``i`` differs from its true value; on success,
    every target that differs in that solution is certified as not pinned."""
    for direction in (-1, 1):
        lo, hi = low.copy(), high.copy()
        if direction < 0:
            hi[i] = truth[i] - 1
        else:
            lo[i] = truth[i] + 1
        if lo[i] > hi[i]:
            continue
        objective = np.zeros(len(truth))
        for name in uncertified:
            objective[index[name]] = rng.choice((-1.0, 1.0))
        result = milp(objective, integrality=np.ones(len(truth)), bounds=Bounds(lo, hi),
                      constraints=[LinearConstraint(matrix, row_low, row_high)] if matrix.shape[0] else [],
                      options={"time_limit": MILP_SECONDS, "presolve": True})
        if result.x is None:
            continue  # infeasible (or no solution in time: counted as pinned, the safe side)
        for name in uncertified:
            if abs(result.x[index[name]] - truth[index[name]]) > 0.5:
                certified.add(name)
        return True
    return False


# --- choosing what to hide ---------------------------------------------------------------------------


@dataclass
class Patterns:
    official: Pattern
    public: Pattern
    published_determined: set[str]  # primary figures implied by the exact headline, shown as they are


def protect(space: Space) -> Patterns:
    """Primary and complementary suppression for both profiles, audited together.

    Rounds of cheap interval propagation add complements until it finds nothing pinned; then
    the integer-programming audit looks at every hidden figure not yet proved safe. Anything it
    finds sends the loop back to propagation."""
    official: Pattern = {c: SMALL for c in space.suppressible(OFFICIAL) if 0 < space.values[c] < OFFICIAL.k}
    determined = _determined(space, official)
    for name in determined:
        official.pop(name)
    public_extra: Pattern = {}
    equations = _equations_by_cell(space.constraints)
    joint_audit, public_audit = Audit(space), Audit(space)
    solve = False
    for _round in range(10_000):
        public = _public_pattern(space, official, public_extra)
        constraints = space.constraints + percent_constraints(space, PUBLIC, public, _indicator_pairs(space))
        public_known = knowledge(space, PUBLIC, public)
        joint = intersect(knowledge(space, OFFICIAL, official), public_known)
        ex_official = joint_audit.exposed(joint, constraints, official, solve=solve)
        # What the public profile alone shows is less than both together: a figure proved safe
        # against both is safe against the public profile alone.
        public_audit.certified |= joint_audit.certified
        ex_public = public_audit.exposed(public_known, constraints, set(public) - ex_official, solve=solve)
        if not ex_official and not ex_public:
            if solve:
                return Patterns(official, public, determined)
            solve = True
            continue
        solve = False
        added = _add_complements(space, official, ex_official, OFFICIAL, equations, official, determined)
        added |= _add_complements(space, public_extra, ex_public, PUBLIC, equations, public, set())
        if not added:
            # Nothing left to hide around them: they are implied by what must stay exact.
            if not ex_official:
                raise RuntimeError("public figures cannot be protected")  # pragma: no cover
            determined |= ex_official
            for name in ex_official:
                official.pop(name, None)
            # Publishing them tells the attacker more: earlier proofs may no longer hold.
            joint_audit.certified.clear()
            public_audit.certified.clear()
    raise RuntimeError("suppression did not converge")  # pragma: no cover


def _public_pattern(space: Space, official: Pattern, extra: Pattern) -> Pattern:
    """Everything official hides, public hides too; plus its own small figures and complements."""
    pattern = {c: (SMALL if space.values[c] < PUBLIC.k else COMPLEMENT) for c in official}
    for c in space.suppressible(PUBLIC):
        if 0 < space.values[c] < PUBLIC.k:
            pattern[c] = SMALL
    for c, kind in extra.items():
        pattern.setdefault(c, kind)
    return pattern


def _indicator_pairs(space: Space) -> list[tuple[str, str]]:
    pairs = []
    for name, row in space.headline_rows.items():
        if row == "D":
            n_cell = name[: -len("/D/value")] + "/N/value"
            if n_cell in space.values:
                pairs.append((n_cell, name))
    return sorted(pairs)


def _determined(space: Space, official: Pattern) -> set[str]:
    """Primary figures pinned even when every other suppressible figure is hidden too."""
    determined: set[str] = set()
    while True:
        everything = {c: (SMALL if space.values[c] < OFFICIAL.k else COMPLEMENT)
                      for c in space.suppressible(OFFICIAL) if c not in determined}
        known = knowledge(space, OFFICIAL, everything)
        found = exposed(space, known, space.constraints, set(official) - determined)
        if not found:
            return determined
        determined |= found


def _equations_by_cell(constraints: list[Linear]) -> dict[str, list[Linear]]:
    found: dict[str, list[Linear]] = defaultdict(list)
    for constraint in constraints:
        for name, _ in constraint.terms:
            found[name].append(constraint)
    return found


def _add_complements(space: Space, add_to: Pattern, exposed_cells: set[str], profile: Profile,
                     equations: dict[str, list[Linear]], hidden: Pattern, published: set[str]) -> bool:
    """Hide the cheapest figures next to exposed ones (never one already ``published`` as implied
    by the headline); True if anything was added.

    First, for every exposed figure that is the only hidden one of a sum, hide another figure of
    that sum. Only when no exposed figure is alone anywhere is one more figure hidden near each."""
    suppressible = set(space.suppressible(profile)) - published
    ordered = sorted(exposed_cells)
    added = False
    for name in ordered:
        for candidate in _candidates(space, name, profile, equations, hidden, suppressible, alone_only=True):
            _hide(space, candidate, profile, add_to, hidden)
            added = True
    if added:
        return True
    # One more figure near each exposed one, but never twice in the same neighbourhood in a
    # round: one addition can free every exposed figure around it.
    touched: set[str] = set()
    for name in ordered:
        if name in touched:
            continue
        for candidate in _candidates(space, name, profile, equations, hidden, suppressible, alone_only=False):
            _hide(space, candidate, profile, add_to, hidden)
            added = True
            for around in (name, candidate):
                for constraint in equations.get(around, ()):
                    touched.update(n for n, _ in constraint.terms)
    return added


def _hide(space: Space, name: str, profile: Profile, add_to: Pattern, hidden: Pattern) -> None:
    add_to[name] = SMALL if space.values[name] < profile.k else COMPLEMENT
    hidden[name] = add_to[name]


def _candidates(space: Space, name: str, profile: Profile, equations: dict[str, list[Linear]],
                hidden: Pattern, suppressible: set[str], *, alone_only: bool) -> list[str]:
    """What to hide so that ``name`` is no longer alone: in every sum where it is the only hidden
    figure, the cheapest other one (a part before the total). Without ``alone_only``, when no sum
    leaves it alone: the cheapest figure of the sum with the fewest hidden ones (or further out)."""
    sums = [e for e in equations.get(name, ()) if e.equal]

    def hidden_in(e: Linear) -> int:
        return sum(1 for n, _ in e.terms if n in hidden)

    alone = [e for e in sums if hidden_in(e) == 1]
    if alone_only and not alone:
        return []
    chosen: list[str] = []
    for constraint in alone or sorted(sums, key=lambda e: (hidden_in(e), len(e.terms))):
        members = [(n, a) for n, a in constraint.terms if n not in hidden and n in suppressible and n not in chosen]
        if not members:
            continue
        best = min(members, key=lambda m: (_cost(space.values[m[0]], profile, space.levels.get(m[0], 0))
                                           * (100 if m[1] < 0 else 1), m[0]))
        chosen.append(best[0])
        if not alone:
            break
    if chosen or alone_only:
        return chosen
    fallback = _candidate(space, name, profile, equations, hidden, suppressible)
    return [fallback] if fallback else []


def _candidate(space: Space, name: str, profile: Profile, equations: dict[str, list[Linear]],
               hidden: Pattern, suppressible: set[str]) -> str | None:
    """The cheapest shown figure in sums of sums around ``name`` (when its own sums have none)."""
    frontier, seen = {name}, {name}
    for _depth in range(4):
        pool = set()
        for cell_name in frontier:
            for constraint in equations.get(cell_name, ()):
                if constraint.equal:
                    pool.update(n for n, _ in constraint.terms)
        choices = [c for c in pool - seen if c not in hidden and c in suppressible]
        if choices:
            return min(choices, key=lambda c: (_cost(space.values[c], profile, space.levels.get(c, 0)), c))
        seen |= pool
        frontier = pool
    return None


def _cost(value: int, profile: Profile, level: int) -> float:
    """What hiding a figure costs a reader. Zeros first (``<k`` over a zero hides almost nothing),
    then detail before totals (a month's figure for one need before a quarter, a sub-total or a
    year), then smaller before larger. In ``official`` a count from k up to the public k costs
    as much as a total, because the public profile shows it as ``<10`` and so narrows it down."""
    if value == 0:
        return 0.5 * (1 + level)
    cost = float(value) * 20 ** level
    if profile is OFFICIAL and value < PUBLIC.k:
        cost *= 20
    return cost
