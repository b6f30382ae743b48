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
and voters far above a project's price are only counted, not sorted. add1 reruns MES for
every increment, exactly as pabutools does (the outcome is not monotone in the voters'
money, so skipping increments would not be provably identical); the Warsaw Mokotow file
(12,933 voters, 228 reruns) takes about 6 s where pabutools takes 466 s.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from itertools import accumulate
from math import gcd
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
        while True:
            # Money unit inside the engine: 1 / (scale * voters) currency units, so that
            # every voter's starting money budget / voters + increment is an integer.
            outcome = engine.run(self.budget + increment * self.scale * voters)
            spent = sum(self.costs[i] for i in outcome)
            if spent > self.budget:
                return previous, increment - 1
            chosen = set(outcome)
            if all(i in chosen or spent + self.costs[i] > self.budget for i in considered):
                return outcome, increment
            previous = outcome
            increment += 1


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

    # The run ------------------------------------------------------------------------

    def run(self, start: int) -> list[int]:
        """Projects funded by one MES run where every voter starts with ``start``."""
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
        funded: list[int] = []
        while remaining:
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
                remaining.discard(p)
                continue
            fresh[p] = guide
            if guide.num * den > num * guide.den:
                bound[p] = (guide.num, guide.den)
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
                    remaining.discard(p)
                    continue
                fresh[p] = guide
                if guide.num * bound[p][1] > bound[p][0] * guide.den:
                    bound[p] = (guide.num, guide.den)
                if _ruled_out(bound[p], p, alpha_num, alpha_den, winner, ids):
                    continue
            candidate = self._exact(guide)
            bound[p] = candidate.alpha
            if _before(*candidate.alpha, p, alpha_num, alpha_den, winner, ids):
                winner, exact = p, candidate
                alpha_num, alpha_den = exact.alpha
        remaining.discard(winner)
        self._pay(exact)
        return winner

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
        return _Exact(p, rho, split, None, (rho.numerator, rho.denominator * cost))

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
                return _Exact(p, rho, 0, frozenset(poor), (rho.numerator, rho.denominator * cost))
            paid += money[g] * weight[g]
            rich -= weight[g]
            poor.add(g)
        raise AssertionError("an affordable project always has a price")

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
