"""Counting rules: turn approval ballots into funded projects. Pure Python, no Django.

Two rules, defined exactly as in ``shared/pabulib/README.md`` and computed so that the
result is identical to pabutools 1.2.3 (https://github.com/COMSOC-Community/pabutools) on
every instance:

``greedy``
    ``greedy_utilitarian_welfare(instance, profile, sat_class=Cost_Sat)``: projects ranked
    by approval count (highest first), each funded if its cost still fits, the others
    skipped. Projects nobody approved are funded too if they fit.

``method_of_equal_shares``
    The Method of Equal Shares with cost utilities (https://equalshares.net/), completed
    by "add1" and then by greedy, i.e. pabutools'
    ``completion_by_rule_combination(instance, profile,
    [method_of_equal_shares, greedy_utilitarian_welfare],
    [{"sat_class": Cost_Sat, "voter_budget_increment": 1}, {"sat_class": Cost_Sat}])``.

Ties go to the project whose id is smallest *as a string* ("11" before "2"), as pabutools'
default ``lexico_tie_breaking`` does.

Sources: pabutools 1.2.3, ``pabutools/rules/mes/mes_rule.py`` (``mes_inner_algo``,
``method_of_equal_shares_scheme``: start money ``budget / num_ballots``, add1 stops at the
first outcome that is infeasible (then the previous one is kept) or exhaustive among the
projects MES considers), ``rules/exhaustion.py`` (``completion_by_rule_combination``),
``rules/greedywelfare/greedywelfare_rule.py`` and ``tiebreaking.py``; the rule's
definition at https://equalshares.net/implementation/computation/.

Exactness: every decision (which project wins a round, ties, whether a project is
affordable, whether an outcome fits the budget or is exhaustive) is proven with integer
or ``Fraction`` arithmetic; no float is used anywhere. To be fast, the MES engine keeps
for each voter an integer *guide* to its money, off by a known, bounded amount: guides
order voters and projects and give rigorous bounds, and wherever a bound cannot settle a
decision the engine computes it exactly. See ``_MesEngine`` for the details and proofs.

Speed: identical ballots are counted once with their multiplicity, money is an integer
count of 1 / (voters * 10**decimals) currency units (so every voter's starting money is
an integer), a project's previous price bounds its new one from below (as in pabutools),
and voters far above a project's price are only counted, not sorted. add1 skips the
increments that a proof shows cannot change the outcome (below): the Warsaw Mokotow file
(12,933 voters, 226 increments) takes about 6 s where pabutools takes 466 s, and the same
election with every amount multiplied by 10,000 (2.26 million increments) needs only a
few hundred runs (bench/tally.py).

Skipping add1's increments, exactly. The outcome is not monotone in the voters' money,
so add1 cannot bisect; but it is piecewise constant, and each run can prove how far its
own piece reaches. Fix the sequence of winners W = (w_1, ..., w_T) of a run, and let s be
every voter's starting money. Round t charges w_t's supporters min(b_i, rho_t), where
rho_t solves sum of min(b_i, rho) = cost. The run at s funds W exactly when, in every
round t, w_t is affordable and every other affordable unfunded project q has rho_q /
cost_q above rho_t / cost_t, or equal with a later id, and at the end none is affordable.

(M) Along W, money only rises and prices only fall as s rises: sum of min(b_i, r) rises
with every b_i, so the r that reaches a cost falls, and what is left, max(b_i - rho, 0),
rises. By induction over rounds this holds for every voter, every winner's price and any
other project's price in any round; a project affordable at s stays affordable above s.

Proof 1, from one run at s0 (``_Proof``). While every round's winner is paid for by the
same split of its supporters (the poor paying all they have, the rich paying rho), every
amount is affine in d = s - s0: money is value + slope * d, and rho_t is (cost - sum of
the poor's money) / (number of rich). Slopes: every voter starts at 1; a price's slope is
minus the poor's slopes over the rich, so at most 0; a rich voter's slope then rises by
as much, so stays at least 1; a voter that paid all it had keeps 0 (one left with
exactly 0 after paying rho does not: it has money at any d > 0). Each decision of the run
rests on an inequality, affine in d, that holds at d = 0:
- a winner's poor supporters have at most rho (its rich keep at least rho: their money
  minus the price has a slope of at least 1);
- a project found unaffordable in round t has supporters' money below its cost (and, money
  only falling within a run, in every later round);
- every other project q is above the winner by a lower bound from some split (P, R) of its
  supporters in some round t' <= t: for ANY split, (cost - money of P) / |R| <= rho_q,
  because sum of min(b_i, rho_q) = cost is at most money of P + |R| * rho_q; and rho_q only
  rises from round to round. A bound that served several rounds is checked, strictly,
  against the last of them, with rho_t / cost_t <= rho_{t+1} / cost_{t+1} for each round
  (true of the real run: round t+1's winner was a candidate in round t, no dearer then).
If all these hold at d, then by induction over the rounds each round's affine rho solves
its equation, so it is the real price, every decision is the same, and the run at
s0 + d funds W. The last increment where all of them hold is found exactly (equality
counts where the rules allow it: a poor voter with exactly rho, a tie won by a later id).

Proof 2, from runs at s0 and s1 > s0 that both fund W (``ceiling``). If in each round t of
the run at s1, every project not found unaffordable has a lower bound on rho_q / cost_q
above w_t's rho / cost at s0 (or equal, with a later id), every s in between funds W: by
induction, at round t, w_t is affordable (it is at s0), a project unaffordable at s1 is
unaffordable at s, and for any other q, by (M), its price at s is at least its price at
s1, at least the bound, above w_t's price at s0, at least w_t's price at s.

Either way the skipped increments fund the same projects in the same order, so none of
them is over budget or exhaustive, and add1 ends at the same increment with the same
outcome as stepping one unit at a time (tests/voting/test_rules_properties.py compares
the two). add1 tries proof 2 with a stretch that doubles while it works, and, where
proofs keep failing (a currency unit large next to the money, where nearly every
increment changes something), steps plainly for a while before trying again.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from itertools import accumulate
from math import ceil, floor, gcd
from operator import itemgetter, mul

__all__ = [
    "PABUTOOLS_VERSION",
    "MesRun",
    "MesRuns",
    "Outcome",
    "Project",
    "greedy",
    "mes_runs",
    "method_of_equal_shares",
]

# The pabutools release whose results these rules reproduce (shown on results pages and
# in the README's "Recount it yourself"; the tests compare with the installed one).
PABUTOOLS_VERSION = "1.2.3"


@dataclass(frozen=True, slots=True)
class Project:
    """A project on the ballot: its id (compared as a string for ties) and its cost."""

    id: str
    cost: Decimal


@dataclass(frozen=True, slots=True)
class Outcome:
    """The funded projects in the order the rule selected them, and their total cost."""

    winners: tuple[str, ...]
    cost: Decimal


def greedy(
    projects: Sequence[Project], ballots: Iterable[Collection[str]], budget: Decimal
) -> Outcome:
    """Greedy by approval count (pabutools' ``greedy_utilitarian_welfare`` with ``Cost_Sat``).

    Walk down the projects by approval count, highest first (ties: smallest id as a
    string), funding each whose cost fits in what is left and skipping the others.
    """
    instance = _Instance(projects, ballots, budget)
    return instance.outcome(instance.greedy_fill([]))


def method_of_equal_shares(
    projects: Sequence[Project], ballots: Iterable[Collection[str]], budget: Decimal
) -> Outcome:
    """Method of Equal Shares with cost utilities, completed by add1 and then by greedy.

    1. Every voter gets ``budget / number of ballots``. Each round funds the affordable
       project with the smallest price per unit of utility rho/cost (the highest
       effective vote count cost/rho), its supporters paying min(their money, rho).
    2. add1: while the outcome is not exhaustive, give every voter one more currency unit
       of starting money and rerun step 1 from scratch; keep the last outcome that fits
       the real budget.
    3. Fund what still fits by ``greedy``.
    """
    instance = _Instance(projects, ballots, budget)
    return instance.outcome(instance.greedy_fill(instance.mes_add1()))


# --- Read-only hooks for the explanations (voting/explain.py) ---------------------------


@dataclass(frozen=True, slots=True)
class MesRun:
    """One MES run without completion: what each voter started with and, per step, the
    project funded and its price cap (each supporter paid min(money left, cap)); amounts in
    currency, exact."""

    start: Fraction
    steps: tuple[tuple[str, Fraction], ...]


@dataclass(frozen=True, slots=True)
class MesRuns:
    """The runs an explanation of ``method_of_equal_shares`` needs: the increment add1
    kept (each voter started with ``budget / ballots + increment``), the run with no
    increment, the kept run, and the kept run with each considered project left out."""

    increment: int
    at_budget: MesRun
    kept: MesRun
    without: dict[str, MesRun]


def mes_runs(
    projects: Sequence[Project], ballots: Iterable[Collection[str]], budget: Decimal
) -> MesRuns:
    """The MES runs behind ``method_of_equal_shares``, from the same engine (so the same
    steps); a project is considered if it costs something and someone approved it."""
    instance = _Instance(projects, ballots, budget)
    voters = len(instance.ballots)
    considered = [
        i for i in range(len(instance.ids)) if instance.costs[i] > 0 and instance.approvals[i] > 0
    ]
    if voters == 0:
        empty = MesRun(Fraction(0), ())
        return MesRuns(0, empty, empty, {instance.ids[i]: empty for i in considered})
    engine = _MesEngine(instance, considered)
    increment = instance.mes_add1_kept(engine)[1]
    unit = instance.scale * voters  # the engine counts money in 1 / unit currency

    def run(increment: int, left_out: int | None = None) -> MesRun:
        # Leaving a project out of ``considered`` is all a run needs: the ballot groups
        # that still mention it only split voters the run treats alike.
        engine.considered = [i for i in considered if i != left_out]
        start = instance.budget + increment * unit
        funded = engine.run(start)
        steps = tuple(
            (instance.ids[p], Fraction(a, engine.L * unit))
            for p, a in zip(funded, engine.A, strict=True)
        )
        return MesRun(Fraction(start, unit), steps)

    kept = run(increment)
    funded = {project for project, _ in kept.steps}
    # A project the kept run never funds never was a round's choice, so leaving it out
    # changes nothing: that run is the kept run.
    return MesRuns(
        increment=increment,
        at_budget=run(0),
        kept=kept,
        without={
            instance.ids[i]: run(increment, i) if instance.ids[i] in funded else kept
            for i in considered
        },
    )


# --- Instance: validated input in integers ---------------------------------------------


class _Instance:
    """The input in exact integers: money is counted in units of 10**-decimals."""

    # add1 skips the increments that a proof shows cannot change its outcome, by either
    # proof (``affine``, ``leaps``); ``jump = False`` steps one unit at a time as pabutools
    # does. The tests compare every combination.
    jump = True
    affine = True
    leaps = True

    def __init__(
        self, projects: Sequence[Project], ballots: Iterable[Collection[str]], budget: Decimal
    ) -> None:
        self.ids: list[str] = [str(project.id) for project in projects]
        index = {project_id: i for i, project_id in enumerate(self.ids)}
        if len(index) != len(self.ids):
            duplicates = sorted({i for i in self.ids if self.ids.count(i) > 1})
            raise ValueError(f"duplicate project ids: {', '.join(duplicates)}")
        amounts = [_exact(project.cost, f"cost of project {project.id}") for project in projects]
        total_budget = _exact(budget, "budget")
        # One scale for every amount, so that costs and budget are integers.
        self.scale = 1
        for amount in [*amounts, total_budget]:
            self.scale = _lcm(self.scale, amount.denominator)
        self.costs: list[int] = [int(amount * self.scale) for amount in amounts]
        self.budget: int = int(total_budget * self.scale)

        self.ballots: list[frozenset[int]] = []
        for ballot in ballots:
            try:
                self.ballots.append(frozenset(index[str(project_id)] for project_id in ballot))
            except KeyError as error:
                raise ValueError(f"a ballot approves unknown project {error.args[0]}") from None
        self.approvals: list[int] = [0] * len(self.ids)
        for approved in self.ballots:
            for project in approved:
                self.approvals[project] += 1

    def outcome(self, chosen: list[int]) -> Outcome:
        total = sum(self.costs[i] for i in chosen)
        return Outcome(
            winners=tuple(self.ids[i] for i in chosen),
            cost=_to_decimal(Fraction(total, self.scale)),
        )

    def greedy_fill(self, chosen: list[int]) -> list[int]:
        """Extend ``chosen`` greedily, as ``greedy_utilitarian_scheme_additive`` does.

        pabutools ranks by satisfaction density, total Cost_Sat / cost, which is the
        approval count for a project with a positive cost and 0 (not +inf) for a free
        project (its total satisfaction is 0). Ties: smallest id as a string.
        """
        taken = set(chosen)
        left = self.budget - sum(self.costs[i] for i in chosen)
        order = sorted(
            (i for i in range(len(self.ids)) if i not in taken),
            key=lambda i: (-self.approvals[i] if self.costs[i] > 0 else 0, self.ids[i]),
        )
        result = list(chosen)
        for i in order:
            if self.costs[i] <= left:
                result.append(i)
                left -= self.costs[i]
        return result

    def mes_add1(self) -> list[int]:
        return self.mes_add1_kept()[0]

    def mes_add1_kept(self, engine: _MesEngine | None = None) -> tuple[list[int], int]:
        """MES with add1, as pabutools' ``method_of_equal_shares_scheme`` with
        ``voter_budget_increment=1``; also the increment of the run that was kept (each
        voter started with ``budget / voters + increment``).

        pabutools starts every voter with ``budget / num_ballots`` (empty ballots count),
        reruns MES from scratch with one more unit per voter until the outcome costs more
        than the budget (then it returns the previous outcome) or is exhaustive among the
        projects MES considers (positive cost, at least one supporter; then it returns this
        outcome). An outcome's cost and exhaustiveness depend only on its set of projects.
        """
        voters = len(self.ballots)
        if voters == 0:
            return [], 0  # pabutools returns the initial (empty) allocation at once
        considered = [
            i for i in range(len(self.ids)) if self.costs[i] > 0 and self.approvals[i] > 0
        ]
        if engine is None:
            engine = _MesEngine(self, considered)
        previous: list[int] = []
        increment = 0
        # Money unit inside the engine: 1 / (scale * voters) currency units, so that every
        # voter's starting money budget / voters + increment is an integer.
        unit = self.scale * voters
        # How far ahead to try a whole stretch at once (doubles while that works).
        leap = 2
        # Where proofs keep failing (a currency unit large next to the money, where nearly
        # every increment changes something), step plainly for a while, longer each time.
        pause, backoff = 0, 0
        outcome = engine.run(self.budget, trail=self.jump)
        while True:
            spent = sum(self.costs[i] for i in outcome)
            if spent > self.budget:
                return previous, increment - 1
            chosen = set(outcome)
            if all(i in chosen or spent + self.costs[i] > self.budget for i in considered):
                return outcome, increment
            previous = outcome
            if not self.jump or pause:
                pause = max(0, pause - 1)
                increment += 1
                outcome = engine.run(self.budget + increment * unit, trail=self.jump and not pause)
                continue
            # The increments a proof covers fund the same projects in the same order, so
            # they are neither over budget nor exhaustive either: skip them. Two proofs:
            # the affine one from this run alone, or this run and one far ahead together.
            stable = engine.stable_increments(unit) if self.affine else 0
            if self.leaps:
                leap = max(leap, 2 * (stable + 1))
                ceiling = engine.prices()
                outcome = engine.run(
                    self.budget + (increment + leap) * unit, trail=True, ceiling=ceiling
                )
                if outcome == previous and engine.trail is not None and engine.trail.above:
                    increment += leap
                    leap *= 2
                    backoff = 0
                    continue
                leap = max(2, leap // 2)
            if stable:
                backoff = 0
            else:
                backoff = min(2 * backoff + 1, 64)
                pause = backoff
            increment += stable + 1
            outcome = engine.run(self.budget + increment * unit, trail=not pause)


def _exact(amount: Decimal | int | Fraction, what: str) -> Fraction:
    if isinstance(amount, Decimal) and not amount.is_finite():
        raise ValueError(f"{what} must be a finite number, not {amount}")
    value = Fraction(amount)
    if value < 0:
        raise ValueError(f"{what} must not be negative, not {amount}")
    return value


def _lcm(a: int, b: int) -> int:
    return a // gcd(a, b) * b


def _to_decimal(value: Fraction) -> Decimal:
    """A Fraction whose denominator divides a power of ten, as an exact Decimal."""
    digits = 0
    denominator = value.denominator
    while denominator % 10 == 0:
        denominator //= 10
        digits += 1
    while denominator % 2 == 0 or denominator % 5 == 0:
        denominator = denominator // 2 if denominator % 2 == 0 else denominator // 5
        digits += 1
    if denominator != 1:
        raise ValueError(f"{value} is not a decimal amount")
    return Decimal(value.numerator * 10**digits // value.denominator).scaleb(-digits)


# --- The Method of Equal Shares engine -------------------------------------------------


class _MesEngine:
    """One MES run with cost utilities, exactly as pabutools' ``mes_inner_algo``.

    pabutools' rule, restated. Voter i holds money b_i. For an unfunded project p with
    cost c whose supporters hold at least c in total, rho_p is the smallest cap such that
    sum over supporters of min(b_i, rho_p) = c. Each round funds the project with the
    smallest rho_p / c (pabutools' "affordability"; cost / rho_p is the effective vote
    count), ties to the smallest id; its supporters pay min(b_i, rho_p). The run stops
    when no project is affordable. Budgets only fall, so a project's rho only rises within
    a run, and a project that is once unaffordable stays so.

    Money. Amounts are integers in a unit chosen by the caller (every voter starts with
    the integer ``start``); each price rho_t is an exact Fraction. A voter that paid its
    whole money is at exactly 0 from then on ("zero"); any other voter's money is
    ``start - sum of rho_t over the rounds t where it paid rho_t``.

    The guide. Per ballot group g (voters with identical ballots, weight w_g) the engine
    keeps ``G[g] = start * U - sum of floor(rho_t * U)`` over the rounds g paid, with
    ``U = 2**unit_bits``: so ``b_g * U <= G[g] < b_g * U + t`` after t rounds, and
    ``G[g] == 0`` exactly for zero groups. Sorting by G orders voters by money up to that
    error; sums of G bound sums of money from above.

    Exact sums. ``spread[g]`` packs, in a field of ``field`` bits per round, a 1 for each
    round g paid rho in. Summing ``spread`` over any multiset of non-zero groups gives,
    field by field, how many of those voters paid in each round, hence their exact money
    ``count * start - sum_t rho_t * paid_t`` with a few integer operations; rho_t are kept
    as integers ``A[t]`` over one common denominator ``L``.

    Lower bounds. For ANY split of p's supporters into P and R (R non-empty),
    (c - sum_{i in P} b_i) / |R| <= rho_p, because sum min(b_i, rho_p) = c is at most
    sum_P b_i + |R| rho_p. With sum_P G / U >= sum_P b_i this gives a rigorous lower bound
    from the guide alone; a stale bound stays valid since rho only rises.
    """

    # Guides stay below 2**GUIDE_BITS where the money allows: one-digit CPython ints sort
    # and sum fastest. Any value is correct; a small one only sends more decisions to the
    # exact fallbacks (the tests use 0 to exercise them).
    GUIDE_BITS = 29

    def __init__(self, instance: _Instance, considered: list[int]) -> None:
        self.instance = instance
        self.considered = considered
        self.voters = len(instance.ballots)
        considered_set = set(considered)
        groups = Counter(ballot & considered_set for ballot in instance.ballots)
        groups.pop(frozenset(), None)
        self.group_count = len(groups)
        # Per project: its supporting groups, and the same with each group repeated by its
        # weight ("slots"), so that sorting and summing slots counts voters.
        self.groups_of: dict[int, list[int]] = {p: [] for p in considered}
        self.slots_of: dict[int, list[int]] = {p: [] for p in considered}
        # Deterministic group order (by sorted project lists), whatever the ballot order.
        ordered = sorted(groups.items(), key=lambda item: sorted(item[0]))
        for g, (ballot, weight) in enumerate(ordered):
            for p in ballot:
                self.groups_of[p].append(g)
                self.slots_of[p].extend([g] * weight)
        self.slots_getter = {p: _getter(slots) for p, slots in self.slots_of.items()}
        self.field = self.voters.bit_length()
        self.mask = (1 << self.field) - 1
        # Costs in the engine's unit (1 / (scale * voters) currency units).
        self.cost = {p: instance.costs[p] * self.voters for p in considered}
        self.ids = instance.ids
        self.trail: _Trail | None = None
        # Per project: its supporting groups and their weights (for the proofs).
        self.weighted: dict[int, tuple[list[int], list[int]]] = {}

    # The run ------------------------------------------------------------------------

    def run(
        self, start: int, *, trail: bool = False, ceiling: list[tuple[int, int]] | None = None
    ) -> list[int]:
        """Projects funded by one MES run where every voter starts with ``start``; with
        ``trail``, also what ``stable_increments`` needs to prove how far it holds; with a
        ``ceiling`` (each round's rho / cost in an earlier run from less money), whether
        every runner-up stayed above it (``trail.above``, see ``_Instance.mes_add1_kept``)."""
        # Guides small enough for CPython's fast paths (sorting one-digit ints, summing
        # in a machine word), as precise as that allows.
        self.unit_bits = max(0, self.GUIDE_BITS - start.bit_length())
        self.start = start
        self.G = [start << self.unit_bits] * self.group_count
        self.spread = [0] * self.group_count
        self.A: list[int] = []  # rho_t * L for each round t
        self.L = 1
        self.rounds = 0
        self.live: dict[int, list[int]] = dict(self.slots_of)
        self.live_groups: dict[int, list[int]] = dict(self.groups_of)
        self.getter = dict(self.slots_getter)
        # Lower bounds on each project's rho / cost, as (numerator, denominator):
        # rho >= cost / supporters.
        self.bound: dict[int, tuple[int, int]] = {
            p: (1, len(self.slots_of[p])) for p in self.considered
        }
        remaining = set(self.considered)
        self.trail = _Trail(self.considered, ceiling, self.bound) if trail else None
        funded: list[int] = []
        while remaining:
            if self.trail is not None:
                self.trail.snapshots.append(self.G[:])
            winner = self._round(remaining)
            if winner is None:
                break
            funded.append(winner)
        return funded

    def _round(self, remaining: set[int]) -> int | None:
        """Select and pay for this round's project; ``None`` when none is affordable."""
        bound = self.bound
        ids = self.ids
        fresh: dict[int, _Guide] = {}
        # Phase 1 (search, guided): evaluate projects in order of their lower bound, like
        # pabutools' loop, until the bound exceeds the best guided estimate. Once there is
        # a best estimate, voters with more money than it are only counted, not sorted.
        best: _Guide | None = None
        for p in sorted(remaining, key=lambda q: (bound[q][0] << 64) // bound[q][1]):
            num, den = bound[p]
            if best is not None and num * best.den > best.num * den:
                break
            # Before any estimate, sort only guides below twice the stale bound: the
            # project's price rarely doubles in a round (if it does, the split is simply
            # redone in full when needed).
            cutoff = (2 * num, den) if best is None else (best.num, best.den)
            guide = self._guide(p, cutoff)
            if guide is None:
                self._unaffordable(p, remaining)
                continue
            fresh[p] = guide
            if guide.num * den > num * guide.den:
                bound[p] = (guide.num, guide.den)
                self._bound_from(p, guide, None)
            if best is None or _before(
                guide.num, guide.den, p, best.num, best.den, best.project, ids
            ):
                best = guide
        if best is None:
            return None
        # Phase 2 (decision, exact): the candidate's exact price, then a proof that no
        # other project comes first; a project the bounds cannot rule out is evaluated
        # exactly, and may take over.
        winner = best.project
        exact = self._exact(best)
        alpha_num, alpha_den = exact.alpha
        for p in sorted(remaining, key=ids.__getitem__):
            num, den = bound[p]
            left, right = num * alpha_den, alpha_num * den
            if left > right or p == winner or (left == right and ids[p] > ids[winner]):
                continue  # proven: p's rho / cost is above the winner's, or equal and p's id after
            guide = fresh.get(p)
            if guide is None:
                guide = self._guide(p, None)
                if guide is None:
                    self._unaffordable(p, remaining)
                    continue
                fresh[p] = guide
                if guide.num * bound[p][1] > bound[p][0] * guide.den:
                    bound[p] = (guide.num, guide.den)
                    self._bound_from(p, guide, None)
                if _ruled_out(bound[p], p, alpha_num, alpha_den, winner, ids):
                    continue
            candidate = self._exact(guide)
            bound[p] = candidate.alpha
            self._bound_from(p, None, candidate)
            if _before(*candidate.alpha, p, alpha_num, alpha_den, winner, ids):
                winner, exact = p, candidate
                alpha_num, alpha_den = exact.alpha
        remaining.discard(winner)
        if self.trail is not None:
            if self.trail.above:
                self.trail.above = self._above(winner, remaining)
            self.trail.round_won(self.rounds, winner, exact.split, exact.poor, remaining)
        self._pay(exact)
        return winner

    def _above(self, winner: int, others: set[int]) -> bool:
        """Is every other project's rho / cost above this round's ceiling (or equal to it,
        with a later id than the winner)? Exact prices where the bounds do not show it."""
        trail = self.trail
        if trail is None or trail.ceiling is None or self.rounds >= len(trail.ceiling):
            return False
        top_num, top_den = trail.ceiling[self.rounds]
        bound, ids = self.bound, self.ids
        for q in sorted(others, key=ids.__getitem__):
            if _ruled_out(bound[q], q, top_num, top_den, winner, ids):
                continue
            guide = self._guide(q, None)
            if guide is None:
                self._unaffordable(q, others)
                continue
            exact = self._exact(guide)
            bound[q] = exact.alpha
            self._bound_from(q, None, exact)
            if not _ruled_out(bound[q], q, top_num, top_den, winner, ids):
                return False
        return True

    def _unaffordable(self, p: int, remaining: set[int]) -> None:
        remaining.discard(p)
        if self.trail is not None:
            self.trail.unaffordable.append((self.rounds, p))

    def _bound_from(self, p: int, guide: _Guide | None, exact: _Exact | None) -> None:
        """Note which split of p's supporters, in this round, gave p's new lower bound
        ``bound[p]``, and how many of them paid rho in it."""
        if self.trail is None:
            return
        num, den = self.bound[p]
        if exact is not None:
            source = (self.rounds, p, exact.split, exact.poor, num, den, exact.rich)
        elif guide is not None:
            source = (self.rounds, p, guide.split, None, num, den, len(guide.values) - guide.k)
        else:
            raise ValueError("a bound comes from a guide or an exact price")
        self.trail.source[p] = source

    # Evaluation ---------------------------------------------------------------------

    def _guide(self, p: int, cutoff: tuple[int, int] | None) -> _Guide | None:
        """Guided evaluation of p: ``None`` if p is proven unaffordable, else a rigorous
        lower bound on rho_p / cost_p and, when it lies below the cutoff, the guided split.

        The split is pabutools' scan run on the guides: with the guides sorted
        (v_0 <= v_1 <= ...), the first k with ``target - (v_0 + ... + v_{k-1}) <=
        (size - k) * v_k``; the difference of the two sides never rises with k (it
        changes by (size - k - 1) * (v_k - v_{k+1}) <= 0), so a bisection finds it.
        With a ``cutoff`` (a rho / cost the round already beats, or a guess), guides at or
        above it are only counted. If even paying min(guide, cutoff) each does not cover
        the cost, p's price is above the cutoff: the bound from that split says so, and
        nothing is sorted.
        """
        G = self.G
        live = self.live[p]
        values = self.getter[p](G)
        size = len(values)
        target = self.cost[p] << self.unit_bits
        rounds = self.rounds
        if cutoff is None:
            threshold = 0
            low = sorted(values)
            found = size
            below = sum(low)
            zeros = bisect_right(low, 0)
            complete = True
        else:
            threshold = cutoff[0] * target // cutoff[1] + 1
            low = [v for v in values if v < threshold]
            found = len(low)
            below = sum(low)
            zeros = low.count(0)
            complete = below + threshold * (size - found) >= target
        if zeros * 2 > size:
            # Zero voters never matter again in this run: drop them from p's list.
            self.live[p] = [g for g in live if G[g]]
            self.live_groups[p] = [g for g in self.live_groups[p] if G[g]]
            self.getter[p] = _getter(self.live[p])
        # Affordable? A non-zero voter's money * U lies in (guide - rounds, guide].
        least = below + threshold * (size - found)  # at most the sum of the guides
        if least - rounds * (size - zeros) < target:
            total = below if found == size else sum(values)
            if total < target:
                return None
            if total - rounds * (size - zeros) < target and not self._affordable(p):
                return None
        if not complete:
            # Split at the cutoff: a rigorous bound above the cutoff, no price.
            return _Guide(
                p,
                live,
                values,
                low,
                False,
                zeros,
                found,
                threshold,
                target - below,
                (size - found) * target,
            )
        if cutoff is not None:
            low.sort()
        prefix = [0, *accumulate(low)]
        k = bisect_left(
            range(found),
            True,
            lo=zeros,
            key=lambda j: target - prefix[j] <= (size - j) * low[j],
        )
        # Guides below ``split`` pay all they have, the others rho. When the scan ran
        # past the sorted part, the split is at the cutoff.
        split = low[k] if k < found else threshold
        return _Guide(
            p, live, values, low, True, zeros, k, split, target - prefix[k], (size - k) * target
        )

    def _affordable(self, p: int) -> bool:
        """Exact: do p's supporters hold at least its cost?"""
        G = self.G
        nonzero = [g for g in self.live[p] if G[g]]
        money_num, money_den = self._exact_sum(nonzero)
        return money_num >= self.cost[p] * money_den

    def _exact_sum(self, slots: list[int]) -> tuple[int, int]:
        """Exact money of the given non-zero slots, as (numerator, denominator)."""
        paid = sum(map(self.spread.__getitem__, slots))
        field, mask = self.field, self.mask
        counts = [(paid >> (field * t)) & mask for t in range(self.rounds)]
        return len(slots) * self.start * self.L - sum(map(mul, self.A, counts)), self.L

    def _exact_money(self, g: int) -> Fraction:
        if self.G[g] == 0:
            return Fraction(0)
        num, den = self._exact_sum([g])
        return Fraction(num, den)

    def _exact(self, guide: _Guide) -> _Exact:
        """Exact rho of a guided project whose split was found, checking the guided split
        wherever the guide's error could matter."""
        if not guide.priced:
            return self._exact(self._guide(guide.project, None) or _unreachable())
        p, low, zeros, k, split = guide.project, guide.low, guide.zeros, guide.k, guide.split
        G = self.G
        poor = [g for g in guide.live if 0 < G[g] < split]
        poor_num, poor_den = self._exact_sum(poor)
        cost = self.cost[p]
        rho = Fraction(cost * poor_den - poor_num, poor_den * (len(guide.values) - k))
        rho_u = rho * (1 << self.unit_bits)
        # Poor side: money * U <= guide, so a guide <= rho * U proves money <= rho.
        for j in range(k - 1, zeros - 1, -1):
            if low[j] <= rho_u:
                break
            if any(self._exact_money(g) > rho for g in self._with_guide(guide, low[j])):
                return self._exact_slow(p)
        # Rich side: money * U > guide - rounds, so guide - rounds >= rho * U proves
        # money > rho.
        for j in range(k, len(low) + 1):
            if j == len(low):
                # Past the sorted part: none left, or every other guide is at least the
                # cutoff; if that proves nothing, redo the split with every guide sorted.
                if len(low) == len(guide.values) or split - self.rounds >= rho_u:
                    break
                return self._exact(self._guide(p, None) or _unreachable())
            if low[j] - self.rounds >= rho_u:
                break
            if any(self._exact_money(g) < rho for g in self._with_guide(guide, low[j])):
                return self._exact_slow(p)
        rich = len(guide.values) - k
        return _Exact(p, rho, split, None, (rho.numerator, rho.denominator * cost), rich)

    @staticmethod
    def _with_guide(guide: _Guide, value: int) -> set[int]:
        return {g for g, v in zip(guide.live, guide.values, strict=True) if v == value}

    def _exact_slow(self, p: int) -> _Exact:
        """Exact rho from exact money for every supporter (only when the guide is too
        coarse to settle the split: a voter whose money is within 1e-9 of rho)."""
        money = {g: self._exact_money(g) for g in self.groups_of[p]}
        weight = Counter(self.slots_of[p])
        cost = self.cost[p]
        paid = Fraction(0)
        rich = len(self.slots_of[p])
        poor: set[int] = set()
        for g in sorted(self.groups_of[p], key=money.__getitem__):
            rho = (cost - paid) / rich
            if rho <= money[g]:
                alpha = (rho.numerator, rho.denominator * cost)
                return _Exact(p, rho, 0, frozenset(poor), alpha, rich)
            paid += money[g] * weight[g]
            rich -= weight[g]
            poor.add(g)
        raise AssertionError("an affordable project always has a price")

    # Jump-ahead ---------------------------------------------------------------------

    def stable_increments(self, unit: int) -> int:
        """The largest J such that runs starting every voter with ``start + j * unit``,
        for every j in 0..J, make exactly the decisions of the last run, which must have
        been traced (``run(..., trail=True)``): the same winners in the same order, each
        paid for by the same supporters in full. 0 when nothing more can be proven.

        Along s = start + delta, while the decisions stay the same, every amount of the
        run is an affine function of delta; the proof that each decision holds is a set of
        affine inequalities, each holding at delta = 0, and J is the last multiple of
        ``unit`` where they all still hold (the argument is in the module docstring)."""
        trail = self.trail
        if trail is None:
            raise ValueError("stable_increments needs a run with trail=True")
        proof = _Proof(self, trail, unit)
        return proof.increments()

    def prices(self) -> list[tuple[int, int]]:
        """Each round's rho / cost in the last run, exactly, as (numerator, denominator)."""
        trail = self.trail
        if trail is None:
            raise ValueError("prices needs a run with trail=True")
        return [
            (a, self.L * self.cost[winner])
            for a, (winner, _split, _poor) in zip(self.A, trail.won, strict=True)
        ]

    # Payment ------------------------------------------------------------------------

    def _pay(self, exact: _Exact) -> None:
        rho = exact.rho
        floor_rho_u = (rho.numerator << self.unit_bits) // rho.denominator
        paid_bit = 1 << (self.field * self.rounds)
        G, spread = self.G, self.spread
        if exact.poor is None:
            split = exact.split
            for g in self.live_groups[exact.project]:
                money = G[g]
                if money >= split:
                    G[g] = money - floor_rho_u
                    spread[g] += paid_bit
                elif money:
                    G[g] = 0
        else:
            poor = exact.poor
            for g in self.groups_of[exact.project]:
                money = G[g]
                if g in poor:
                    G[g] = 0
                elif money:
                    G[g] = money - floor_rho_u
                    spread[g] += paid_bit
        # Keep every rho_t as an integer over one common denominator L.
        numerator, denominator = rho.numerator, rho.denominator
        common = _lcm(self.L, denominator)
        if common != self.L:
            factor = common // self.L
            self.A = [a * factor for a in self.A]
            self.L = common
        self.A.append(numerator * (common // denominator))
        self.rounds += 1


# A lower bound's evidence: in round ``t`` the supporters of ``project`` whose guide was
# below ``split`` (or, from the slow path, the groups in ``poor``) paid all they had.
# Also the bound itself, num / den, and how many supporters paid rho in that split.
_Source = tuple[int, int, int, frozenset[int] | None, int, int, int]


class _Trail:
    """What one run decided, and on which evidence, for ``stable_increments``."""

    def __init__(
        self,
        considered: list[int],
        ceiling: list[tuple[int, int]] | None,
        bound: dict[int, tuple[int, int]],
    ) -> None:
        self.ceiling = ceiling
        # With a ceiling: whether every round so far kept every other project above it.
        self.above = ceiling is not None
        self.snapshots: list[list[int]] = []  # the guides at the start of each round
        self.won: list[tuple[int, int, frozenset[int] | None]] = []  # (project, split, poor)
        # Each project's current lower bound on rho / cost came from this split (at first
        # the empty one: rho >= cost / supporters).
        self.source: dict[int, _Source] = {
            p: (0, p, 0, None, bound[p][0], bound[p][1], bound[p][1]) for p in considered
        }
        # The rounds in which each source was what proved its project did not win.
        self.used: dict[_Source, list[int]] = {}
        self.unaffordable: list[tuple[int, int]] = []  # (round, project) found unaffordable

    def round_won(
        self, t: int, winner: int, split: int, poor: frozenset[int] | None, others: set[int]
    ) -> None:
        self.won.append((winner, split, poor))
        for q in others:
            key = self.source[q]
            span = self.used.get(key)
            if span is None:
                self.used[key] = [t, t]
            else:
                span[1] = t


@dataclass(slots=True)
class _Guide:
    project: int
    live: list[int]  # supporter slots (groups repeated by weight), zero voters maybe dropped
    values: Sequence[int]  # their guides, in the same order
    low: list[int]  # the guides below the cutoff (all without one); sorted if ``priced``
    priced: bool  # whether the split below was found by the scan (else it is the cutoff)
    zeros: int  # how many guides are exactly 0
    k: int  # low[:k] pay all they have
    split: int  # guides below this pay all they have, the others rho
    num: int  # rigorous lower bound on rho / cost: num / den
    den: int


@dataclass(slots=True)
class _Exact:
    project: int
    rho: Fraction
    split: int  # supporters whose guide is below pay all they have, the others rho
    poor: frozenset[int] | None  # or, from the slow path, the groups that pay all
    alpha: tuple[int, int]  # rho / cost, exactly
    rich: int  # how many supporters pay rho


class _Settled(Exception):
    """A proof found its answer early (0: the next increment may already differ)."""


class _Proof:
    """The affine inequalities behind one traced run, and how far they hold.

    Money at start + delta is written value + slope * delta. Every voter's money has a
    slope of 0 (it paid all it had) or at least 1, and every price a slope of at most 0:
    a richer start only lowers prices (module docstring). The checks likeliest to bind
    come first, and the proof stops as soon as nothing can be proven beyond the next run.
    """

    def __init__(self, engine: _MesEngine, trail: _Trail, unit: int) -> None:
        self.engine = engine
        self.trail = trail
        self.unit = unit
        self.rho = [Fraction(a, engine.L) for a in engine.A]  # each round's price, value
        self.slope: list[Fraction] = []  # and slope, filled round by round
        self.B: list[int] = []  # the slopes as integers over one common denominator D
        self.D = 1
        self.limit: int | None = None  # the smallest J proven so far (None: no limit yet)
        # The round in which each group paid all it had (it has nothing from then on). A
        # guide of 0 is not enough: a voter left with exactly 0 after paying a price has
        # money at any richer start.
        self.emptied = [len(trail.won)] * engine.group_count

    def increments(self) -> int:
        try:
            self._prove()
        except _Settled:
            return 0
        return 0 if self.limit is None else self.limit

    def _prove(self) -> None:
        engine, trail = self.engine, self.trail
        # Each round's price: value and slope from the winner's split (its poor supporters
        # pay all they have, the rich ``rho``).
        splits: list[list[int]] = []
        for t, (winner, split, poor) in enumerate(trail.won):
            paying, weights, rich = self._split(t, winner, split, poor)
            value, slope = self._money(paying, weights, t)
            if (engine.cost[winner] - value) / rich != self.rho[t]:
                raise AssertionError("the traced split does not give the round's price")
            self._add_slope(-slope / rich)
            splits.append(paying)
            for g in paying:
                self.emptied[g] = t
        # Each winner's poor supporters stay at or below its price (the rich stay above:
        # their money rises at least as fast as the price falls). The richest poor one of
        # each round first; then the others, with the guide as an upper bound on money,
        # until none can reach the price sooner.
        order = [
            sorted(paying, key=trail.snapshots[t].__getitem__, reverse=True)
            for t, paying in enumerate(splits)
        ]
        for t, paying in enumerate(order):
            if paying:
                self._stays_poor(t, paying[0])
        most = Fraction(1)  # an upper bound on any voter's slope in round t
        ulp = Fraction(1, 1 << engine.unit_bits)
        for t, paying in enumerate(order):
            rho, slope = self.rho[t], self.slope[t]
            guides = trail.snapshots[t]
            for g in paying[1:]:
                if self.limit is not None:
                    soonest = (rho - guides[g] * ulp) / ((most - slope) * self.unit)
                    if soonest >= self.limit:
                        break
                self._stays_poor(t, g)
            most -= slope
        # Projects found unaffordable stay so: their supporters' money stays below the cost.
        for t, q in trail.unaffordable:
            groups, weights = self._nonzero(q, t)
            value, slope = self._money(groups, weights, t)
            self._holds(engine.cost[q] - value, -slope, strict=True)
        # A project that did not win kept a price per unit of cost above the winner's (or
        # equal, with a later id), shown by a lower bound from some split of its supporters.
        needs_order = False
        fastest = [Fraction(1)]  # an upper bound on any voter's slope in each round
        for slope in self.slope:
            fastest.append(fastest[-1] - slope)
        for (t0, q, split, poor, num, den, paid_rho), (first, last) in trail.used.items():
            # First from the bound's own figures: its value at 0, and a slope no steeper
            # than if every other supporter's money rose as fast as any voter's can.
            cost = engine.cost[q]
            others = len(engine.slots_of[q]) - paid_rho
            alpha = self._alpha(last)
            rough_slope = -others * fastest[t0] / (paid_rho * cost)
            if self._clears(Fraction(num, den) - alpha[0], rough_slope - alpha[1]):
                needs_order = needs_order or first < last
                continue
            paying, weights, rich = self._split(t0, q, split, poor)
            value, slope = self._money(paying, weights, t0)
            cost = engine.cost[q]
            bound = ((cost - value) / (rich * cost), -slope / (rich * cost))
            if first < last and self._beats(bound, last, strict=True):
                needs_order = True  # above the last winner, so above the earlier ones
                continue
            for t in range(first, last + 1):
                if not self._beats(bound, t, strict=engine.ids[q] < self._winner_id(t)):
                    raise _Settled
        if needs_order:
            for t in range(len(trail.won) - 1):
                now, later = self._alpha(t), self._alpha(t + 1)
                self._holds(later[0] - now[0], later[1] - now[1], strict=False)

    # The pieces ---------------------------------------------------------------------

    def _stays_poor(self, t: int, g: int) -> None:
        value, slope = self._money([g], [1], t)
        self._holds(self.rho[t] - value, self.slope[t] - slope, strict=False)

    def _add_slope(self, slope: Fraction) -> None:
        self.slope.append(slope)
        common = _lcm(self.D, slope.denominator)
        if common != self.D:
            factor = common // self.D
            self.B = [b * factor for b in self.B]
            self.D = common
        self.B.append(slope.numerator * (common // slope.denominator))

    def _split(
        self, t: int, project: int, split: int, poor: frozenset[int] | None
    ) -> tuple[list[int], list[int], int]:
        """Project's supporters that pay all they have in round t, with their weights
        (those emptied before are left out: they have nothing), and how many pay rho."""
        groups, weights = self._weighted(project)
        guides = self.trail.snapshots[t]
        emptied = self.emptied
        paying: list[int] = []
        paying_weights: list[int] = []
        rich = 0
        for g, weight in zip(groups, weights, strict=True):
            if emptied[g] < t:
                continue
            if g in poor if poor is not None else guides[g] < split:
                paying.append(g)
                paying_weights.append(weight)
            else:
                rich += weight
        return paying, paying_weights, rich

    def _nonzero(self, project: int, t: int) -> tuple[list[int], list[int]]:
        groups, weights = self._weighted(project)
        emptied = self.emptied
        kept = [(g, w) for g, w in zip(groups, weights, strict=True) if emptied[g] >= t]
        return [g for g, _ in kept], [w for _, w in kept]

    def _weighted(self, project: int) -> tuple[list[int], list[int]]:
        engine = self.engine
        weighted = engine.weighted.get(project)
        if weighted is None:
            weight = Counter(engine.slots_of[project])
            groups = engine.groups_of[project]
            weighted = engine.weighted[project] = (groups, [weight[g] for g in groups])
        return weighted

    def _money(self, groups: list[int], weights: list[int], t: int) -> tuple[Fraction, Fraction]:
        """The money at the start of round t of these groups (with weights), none emptied
        before, as value and slope: start - the prices each paid before round t."""
        engine = self.engine
        spread = engine.spread
        paid = sum(map(mul, map(spread.__getitem__, groups), weights))
        paid &= (1 << (engine.field * t)) - 1
        field, mask = engine.field, engine.mask
        times = [(paid >> (field * r)) & mask for r in range(t)]
        count = sum(weights)
        value = count * engine.start * engine.L - sum(map(mul, engine.A, times))
        slope = count * self.D - sum(map(mul, self.B, times))
        return Fraction(value, engine.L), Fraction(slope, self.D)

    def _alpha(self, t: int) -> tuple[Fraction, Fraction]:
        cost = self.engine.cost[self.trail.won[t][0]]
        return self.rho[t] / cost, self.slope[t] / cost

    def _winner_id(self, t: int) -> str:
        return self.engine.ids[self.trail.won[t][0]]

    def _beats(self, bound: tuple[Fraction, Fraction], t: int, *, strict: bool) -> bool:
        """Require ``bound`` (a lower bound on a project's rho / cost) to stay above round
        t's winner's (or equal, where not ``strict``); False if it fails at once."""
        alpha = self._alpha(t)
        return self._holds(bound[0] - alpha[0], bound[1] - alpha[1], strict=strict, soft=True)

    def _clears(self, value: Fraction, slope: Fraction) -> bool:
        """Does value + slope * delta stay above 0 at least as far as the limit already
        proven (so that checking it exactly cannot lower the limit)?"""
        if value <= 0:
            return False
        if slope >= 0:
            return True
        return self.limit is not None and value > -slope * self.unit * self.limit

    def _holds(self, value: Fraction, slope: Fraction, *, strict: bool, soft: bool = False) -> bool:
        """Require value + slope * delta > 0 (>= 0 unless ``strict``) and lower the limit to
        the last increment where it does. If it fails at once: False if ``soft``, else the
        proof is settled at 0."""
        if value < 0 or (strict and value == 0):
            if soft:
                return False
            raise _Settled
        if slope >= 0:
            return True
        reach = value / (-slope * self.unit)  # the increment where it reaches 0
        last = ceil(reach) - 1 if strict else floor(reach)
        if self.limit is None or last < self.limit:
            if last <= 0:
                raise _Settled
            self.limit = last
        return True


def _getter(slots: list[int]) -> Callable[[list[int]], Sequence[int]]:
    """A fast ``lambda G: [G[g] for g in slots]`` (itemgetter runs in C)."""
    if len(slots) > 1:
        return itemgetter(*slots)
    return lambda G: [G[g] for g in slots]


def _unreachable() -> _Guide:
    raise AssertionError("a project found affordable stays affordable within a round")


def _before(
    num: int, den: int, p: int, other_num: int, other_den: int, other: int, ids: list[str]
) -> bool:
    """Does p (with rho/cost = num/den) come before ``other`` in pabutools' order?"""
    left, right = num * other_den, other_num * den
    return left < right or (left == right and ids[p] < ids[other])


def _ruled_out(
    bound: tuple[int, int], p: int, alpha_num: int, alpha_den: int, winner: int, ids: list[str]
) -> bool:
    """Is p proven not to beat the winner, given a lower bound on its rho / cost?"""
    left, right = bound[0] * alpha_den, alpha_num * bound[1]
    return left > right or (left == right and ids[p] > ids[winner])
