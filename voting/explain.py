"""Why each project won or lost: exact explanations of the counting rules. Pure Python.

``mes_explanation`` explains ``rules.method_of_equal_shares`` (MES with cost utilities,
completed by add1 and then by greedy); ``greedy_explanation`` explains ``rules.greedy``.
Every figure is an exact ``Fraction`` in currency; pages round them for display.

The figures are pabutools 1.2.3's (``pabutools/analysis/mesanalytics.py``), computed
without pabutools and checked against it in tests/voting/test_explain.py:

Effective support (``calculate_effective_supports(instance, profile, outcome,
mes_params={"sat_class": Cost_Sat}, final_budget=F)``, F the budget of the kept add1 run,
i.e. voters x the start money of that run). For a project p with cost c > 0 pabutools runs
MES once more, every voter starting with F / voters, with p left out. After each step t
(winner w_t at price per unit rho_t, its supporters having paid), it measures what p's
supporters could pay at that price per unit, ``cover_t = sum over p's supporters of
min(money left after step t, rho_t * c)``, and when no project is affordable any more, all
the money they have left. The effective support is the largest of these, as a share of c
(pabutools truncates it to a whole percentage; a project in the final outcome gets at
least 100). pabutools counts one voter per ballot (with a multiprofile it would count a
group of identical ballots once: do not pass one), and fails for a project nobody
approved or that costs nothing (it is not among the projects MES considers); we give 0
to the first and no figure to the second.

Project loss (``calculate_project_loss`` on the kept run's details). pabutools records,
for each project MES considered, the iteration in which its loop found its supporters
unable to pay its cost (an "iteration" is one search for a winner; a project is looked at
only if the loop reaches it: the loop goes through the projects by their last known price
per unit and stops at the first affordable one whose last known price is above the best
found so far). The loss is then: its supporters' money after that iteration's winner was
paid (or at the end of the run), and how much of their money they had spent on each
funded project by then. pabutools 1.2.3's function fails on every MES run (it reads the
final, winner-less iteration as if it had a winner); we report what it reports with that
iteration left out (the tests do the same), which gives the projects still there at the
end the money at the end. pabutools takes projects with equal last known prices in set
order (their names' hashes, which vary between processes); we take them by id as a
string, as its tie-breaking does, and the tests pin pabutools to that order.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from math import gcd
from typing import Any, Literal

from voting import rules

__all__ = [
    "CompletionStep",
    "GreedyExplanation",
    "GreedyRank",
    "MesExplanation",
    "MesStep",
    "ProjectLoss",
    "StepPayers",
    "ballot_payments",
    "greedy_explanation",
    "mes_explanation",
    "step_payers",
]


@dataclass(frozen=True, slots=True)
class MesStep:
    """One project funded by the kept Equal Shares run.

    ``rho`` is the price per unit of cost: each supporter paid min(money left,
    rho * cost). ``chosen_by`` is "mes" when Equal Shares with the real budget (no add1
    increment) funds the project too, "add1" when only the kept add1 run does.
    """

    project: str
    rho: Fraction
    chosen_by: Literal["mes", "add1"]


@dataclass(frozen=True, slots=True)
class CompletionStep:
    """A project funded by the greedy completion, and the budget left when its turn came."""

    project: str
    money_left: Fraction


@dataclass(frozen=True, slots=True)
class ProjectLoss:
    """Why the kept Equal Shares run did not fund a project (pabutools' ``ProjectLoss``).

    After ``after_steps`` steps of the run, its supporters held ``supporters_money``
    (pabutools' ``supporters_budget``) and it needed ``cost``; ``spent`` says how much of
    their money they had paid by then for each funded project (``budget_lost``).
    """

    project: str
    after_steps: int
    supporters_money: Fraction
    cost: Fraction
    spent: dict[str, Fraction]


@dataclass(frozen=True, slots=True)
class MesExplanation:
    """Everything the pages need to say why each project won or lost under Equal Shares.

    ``start`` is what each voter started with in the kept add1 run and ``final_budget``
    voters x start (pabutools' "final budget"). ``effective_support[p]`` is the exact
    share of p's cost (None when it costs nothing); ``effective_support_percent[p]`` the
    whole percentage pabutools reports. ``cost_to_win[p]``, for a project not funded whose
    effective support is between 0 and 1: effective support x cost, the most its
    supporters could have put towards it at one step of the run without it (each paying
    at most that step's price per unit times its cost), or with all they had left at the
    end. equalshares.net reads an effective support of x % as "it would have needed to
    cost about x % of its cost"; this is that amount. It is an indication, not a promise:
    a count with that lower cost can differ, because the project then changes the run.
    """

    budget: Fraction
    voters: int
    start: Fraction
    final_budget: Fraction
    costs: dict[str, Fraction]
    steps: tuple[MesStep, ...]
    completion: tuple[CompletionStep, ...]
    losses: dict[str, ProjectLoss]
    effective_support: dict[str, Fraction | None]
    effective_support_percent: dict[str, int | None]
    cost_to_win: dict[str, Fraction | None]

    @property
    def winners(self) -> tuple[str, ...]:
        """The funded projects in the order they were chosen (as the rule returns them)."""
        return tuple(step.project for step in self.steps) + tuple(
            step.project for step in self.completion
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: every fraction as a string ("n/d" or "n")."""
        return {
            "budget": str(self.budget),
            "voters": self.voters,
            "start": str(self.start),
            "final_budget": str(self.final_budget),
            "costs": _strings(self.costs),
            "steps": [[s.project, str(s.rho), s.chosen_by] for s in self.steps],
            "completion": [[s.project, str(s.money_left)] for s in self.completion],
            "losses": {
                p: {
                    "after_steps": loss.after_steps,
                    "supporters_money": str(loss.supporters_money),
                    "cost": str(loss.cost),
                    "spent": _strings(loss.spent),
                }
                for p, loss in self.losses.items()
            },
            "effective_support": _strings(self.effective_support),
            "effective_support_percent": dict(self.effective_support_percent),
            "cost_to_win": _strings(self.cost_to_win),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MesExplanation:
        return cls(
            budget=Fraction(data["budget"]),
            voters=int(data["voters"]),
            start=Fraction(data["start"]),
            final_budget=Fraction(data["final_budget"]),
            costs=_fractions(data["costs"]),
            steps=tuple(
                MesStep(project, Fraction(rho), "add1" if how == "add1" else "mes")
                for project, rho, how in data["steps"]
            ),
            completion=tuple(
                CompletionStep(project, Fraction(left)) for project, left in data["completion"]
            ),
            losses={
                p: ProjectLoss(
                    project=p,
                    after_steps=int(loss["after_steps"]),
                    supporters_money=Fraction(loss["supporters_money"]),
                    cost=Fraction(loss["cost"]),
                    spent={q: Fraction(v) for q, v in loss["spent"].items()},
                )
                for p, loss in data["losses"].items()
            },
            effective_support=_fractions(data["effective_support"]),
            effective_support_percent={
                p: None if v is None else int(v)
                for p, v in data["effective_support_percent"].items()
            },
            cost_to_win=_fractions(data["cost_to_win"]),
        )


def _strings(values: Mapping[str, Fraction | None]) -> dict[str, str | None]:
    return {key: None if value is None else str(value) for key, value in values.items()}


def _fractions(values: Mapping[str, str | None]) -> dict[str, Any]:
    return {key: None if value is None else Fraction(value) for key, value in values.items()}


def ballot_payments(explanation: MesExplanation, ballot: Collection[str]) -> dict[str, Fraction]:
    """What one ballot paid for each Equal Shares step it approved, replayed from the steps
    (so no voters x projects table is stored). Projects funded by the greedy completion
    are paid from what is left of the budget, not by particular voters: none appear."""
    approved = {str(project) for project in ballot}
    money = explanation.start
    paid: dict[str, Fraction] = {}
    for step in explanation.steps:
        if step.project in approved:
            amount = min(money, step.rho * explanation.costs[step.project])
            money -= amount
            paid[step.project] = amount
    return paid


@dataclass(frozen=True, slots=True)
class StepPayers:
    """Where one Equal Shares step's money came from: ``payers`` voters paid something
    towards it, ``paid_in_full`` of them the whole price (price per unit x cost), the
    others all they had left."""

    project: str
    payers: int
    paid_in_full: int


def step_payers(
    explanation: MesExplanation, ballots: Iterable[Collection[str]]
) -> tuple[StepPayers, ...]:
    """Each step's payers, replayed from the steps and the ballots as ``ballot_payments``
    does, for identical ballots at once and in integers over one denominator (Mokotów:
    tens of thousands of distinct ballots times tens of steps)."""
    funded = {step.project for step in explanation.steps}
    groups = Counter(frozenset(str(p) for p in ballot) & funded for ballot in ballots)
    caps = {step.project: step.rho * explanation.costs[step.project] for step in explanation.steps}
    denominator = explanation.start.denominator
    for price in caps.values():
        denominator = denominator * price.denominator // gcd(denominator, price.denominator)
    shapes = [ballot for ballot in groups if ballot]
    money = [int(explanation.start * denominator)] * len(shapes)
    supporters: dict[str, list[int]] = {p: [] for p in funded}
    for index, ballot in enumerate(shapes):
        for p in ballot:
            supporters[p].append(index)
    found: list[StepPayers] = []
    for step in explanation.steps:
        cap = int(caps[step.project] * denominator)
        payers = in_full = 0
        for index in supporters[step.project]:
            amount = min(money[index], cap)
            if amount > 0:
                payers += groups[shapes[index]]
                if amount == cap:
                    in_full += groups[shapes[index]]
            money[index] -= amount
        found.append(StepPayers(step.project, payers, in_full))
    return tuple(found)


def mes_explanation(
    projects: Sequence[rules.Project], ballots: Iterable[Collection[str]], budget: Decimal
) -> MesExplanation:
    """Explain ``rules.method_of_equal_shares(projects, ballots, budget)`` exactly."""
    ballots_list = [frozenset(str(p) for p in ballot) for ballot in ballots]
    costs = {str(project.id): Fraction(project.cost) for project in projects}
    ids = list(costs)
    total = Fraction(budget)
    voters = len(ballots_list)
    approvals = Counter(p for ballot in ballots_list for p in ballot)
    considered = [p for p in ids if costs[p] > 0 and approvals[p] > 0]

    runs = rules.mes_runs(projects, ballots_list, budget)
    start = runs.kept.start
    run = _PabutoolsRun(considered, costs, ballots_list, runs.kept)
    if [(p, a * costs[p]) for p, a in run.steps] != list(runs.kept.steps):
        raise AssertionError("the explanation's replay differs from the counting rule")
    funded_at_real_budget = {p for p, _ in runs.at_budget.steps}
    steps = tuple(
        MesStep(p, rho, "mes" if p in funded_at_real_budget else "add1") for p, rho in run.steps
    )

    completion: list[CompletionStep] = []
    left = total - sum((costs[step.project] for step in steps), Fraction(0))
    chosen = {step.project for step in steps}
    for p in _greedy_order(ids, costs, approvals):
        if p not in chosen and costs[p] <= left:
            completion.append(CompletionStep(p, left))
            left -= costs[p]
    funded = chosen | {step.project for step in completion}

    support: dict[str, Fraction | None] = {}
    percent: dict[str, int | None] = {}
    cost_to_win: dict[str, Fraction | None] = {}
    supporters = {p: Counter[frozenset[str]]() for p in considered}
    for ballot in ballots_list:
        for p in ballot:
            if p in supporters:
                supporters[p][ballot] += 1
    for p in ids:
        if costs[p] == 0:
            support[p] = percent[p] = cost_to_win[p] = None
            continue
        if p in runs.without:
            share = _effective_support(supporters[p], costs, p, runs.without[p])
        else:
            share = Fraction(0)  # nobody approved it: its supporters can cover nothing
        support[p] = share
        whole = share.numerator * 100 // share.denominator
        percent[p] = max(whole, 100) if p in funded else whole
        cost_to_win[p] = share * costs[p] if p not in funded and 0 < share < 1 else None

    return MesExplanation(
        budget=total,
        voters=voters,
        start=start,
        final_budget=start * voters,
        costs=costs,
        steps=steps,
        completion=tuple(completion),
        losses={p: loss for p, loss in run.losses.items() if p not in chosen},
        effective_support=support,
        effective_support_percent=percent,
        cost_to_win=cost_to_win,
    )


def _greedy_order(
    ids: Iterable[str], costs: Mapping[str, Fraction], approvals: Mapping[str, int]
) -> list[str]:
    """Greedy's order (rules._Instance.greedy_fill): most approvals first, a free project
    counting 0 (pabutools ranks by satisfaction per cost), ties by id as a string."""
    return sorted(ids, key=lambda p: (-approvals[p] if costs[p] > 0 else 0, p))


def _effective_support(
    groups: Counter[frozenset[str]],
    costs: Mapping[str, Fraction],
    project: str,
    run: rules.MesRun,
) -> Fraction:
    """pabutools' ``skipped_project_eff_support`` as an exact share of the cost: replay
    the run without ``project`` for its supporters only (see the module docstring)."""
    cost = costs[project]
    # Integers over one denominator: this loop runs projects x supporters x steps times.
    denominator = run.start.denominator
    for _, cap in run.steps:
        denominator = denominator * cap.denominator // gcd(denominator, cap.denominator)
    start = int(run.start * denominator)
    money = {ballot: start for ballot in groups}
    best = Fraction(0)
    for winner, cap in run.steps:
        cap_units = int(cap * denominator)
        for ballot in money:
            if winner in ballot:
                money[ballot] -= min(money[ballot], cap_units)
        # What each supporter could pay at this step's price per unit: min(money, x).
        x = cap * cost / costs[winner] * denominator
        x_num, x_den = x.numerator, x.denominator
        poor = rich = 0
        for ballot, weight in groups.items():
            held = money[ballot]
            if held * x_den < x_num:
                poor += held * weight
            else:
                rich += weight
        cover = poor + rich * x
        if cover > best:
            best = cover
    at_end = sum(money[ballot] * weight for ballot, weight in groups.items())
    return max(best, Fraction(at_end)) / denominator / cost


class _PabutoolsRun:
    """The kept MES run replayed as pabutools' ``mes_inner_algo`` walks it, to know in
    which iteration each project is found unaffordable (its loss depends on it).

    Voters with identical ballots (restricted to the projects MES considers) form one
    group with its weight. Money is exact, as integers in units of 1 / ``unit``: a common
    denominator of the start money and of the caps the counting rule's run charged (the
    replay must charge the same, or the caller refuses it).
    """

    def __init__(
        self,
        considered: list[str],
        costs: Mapping[str, Fraction],
        ballots: list[frozenset[str]],
        kept: rules.MesRun,
    ) -> None:
        unit = kept.start.denominator
        for _, cap in kept.steps:
            unit = unit * cap.denominator // gcd(unit, cap.denominator)
        for p in considered:
            unit = unit * costs[p].denominator // gcd(unit, costs[p].denominator)
        self.unit = unit
        wanted = set(considered)
        weights = Counter(ballot & wanted for ballot in ballots)
        weights.pop(frozenset(), None)
        groups = sorted(weights, key=sorted)
        self.weight = [weights[ballot] for ballot in groups]
        self.money = [int(kept.start * unit)] * len(groups)
        self.paid: list[list[tuple[str, int]]] = [[] for _ in groups]
        self.supporters: dict[str, list[int]] = {p: [] for p in considered}
        for g, ballot in enumerate(groups):
            for p in ballot:
                self.supporters[p].append(g)
        self.costs = costs
        self.cost_units = {p: int(costs[p] * unit) for p in considered}
        self.steps: list[tuple[str, Fraction]] = []
        self.losses: dict[str, ProjectLoss] = {}
        # pabutools' "affordability" of each project: its last computed price per unit,
        # at first cost / (supporters * cost).
        last_price = {
            p: Fraction(1, sum(self.weight[g] for g in self.supporters[p])) for p in considered
        }
        remaining = set(considered)
        while True:
            found_unaffordable: list[str] = []
            best: Fraction | None = None
            tied: list[str] = []
            for p in sorted(remaining, key=lambda q: (last_price[q], q)):
                if self._money_of(p) < self.cost_units[p]:
                    found_unaffordable.append(p)
                    continue
                if best is not None and last_price[p] > best:
                    break
                price = self._price(p)
                last_price[p] = price
                if best is None or price < best:
                    best, tied = price, [p]
                elif price == best:
                    tied.append(p)
            remaining.difference_update(found_unaffordable)
            if best is not None:
                winner = min(tied)
                remaining.discard(winner)
                cap = best * costs[winner] * unit
                if cap.denominator != 1:
                    raise AssertionError("the replay charged what the counting rule did not")
                cap_units = cap.numerator
                for g in self.supporters[winner]:
                    amount = min(self.money[g], cap_units)
                    self.money[g] -= amount
                    self.paid[g].append((winner, amount))
                self.steps.append((winner, best))
            for p in found_unaffordable:
                self.losses[p] = self._loss(p)
            if best is None:
                break

    def _money_of(self, p: str) -> int:
        money, weight = self.money, self.weight
        return sum(money[g] * weight[g] for g in self.supporters[p])

    def _price(self, p: str) -> Fraction:
        """The smallest price per unit rho with sum of min(money, rho * cost) = cost:
        pabutools' scan over the supporters by money, in integers."""
        cost = self.cost_units[p]
        money, weight = self.money, self.weight
        groups = sorted(self.supporters[p], key=money.__getitem__)
        rich = sum(weight[g] for g in groups)
        paid = 0
        for g in groups:
            # (cost - paid) / rich <= money[g]: the others pay their share, g can too.
            if cost - paid <= rich * money[g]:
                return Fraction(cost - paid, rich * cost)
            paid += money[g] * weight[g]
            rich -= weight[g]
        raise AssertionError("an affordable project always has a price")

    def _loss(self, p: str) -> ProjectLoss:
        spent: dict[str, int] = {}
        for g in self.supporters[p]:
            for q, amount in self.paid[g]:
                spent[q] = spent.get(q, 0) + amount * self.weight[g]
        return ProjectLoss(
            project=p,
            after_steps=len(self.steps),
            supporters_money=Fraction(self._money_of(p), self.unit),
            cost=self.costs[p],
            spent={q: Fraction(amount, self.unit) for q, amount in spent.items()},
        )


# --- greedy ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GreedyRank:
    """A project's place in greedy's walk: its rank by votes (1 = most; ties by id as a
    string, as the rule breaks them), its votes, whether it was funded, and the budget
    left when its turn came."""

    project: str
    rank: int
    votes: int
    funded: bool
    money_left: Fraction


@dataclass(frozen=True, slots=True)
class GreedyExplanation:
    budget: Fraction
    ranks: tuple[GreedyRank, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "budget": str(self.budget),
            "ranks": [
                [r.project, r.rank, r.votes, r.funded, str(r.money_left)] for r in self.ranks
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GreedyExplanation:
        return cls(
            budget=Fraction(data["budget"]),
            ranks=tuple(
                GreedyRank(p, int(rank), int(votes), bool(funded), Fraction(left))
                for p, rank, votes, funded, left in data["ranks"]
            ),
        )


def greedy_explanation(
    projects: Sequence[rules.Project], ballots: Iterable[Collection[str]], budget: Decimal
) -> GreedyExplanation:
    """Explain ``rules.greedy(projects, ballots, budget)``: every project in the order
    greedy looked at them."""
    costs = {str(project.id): Fraction(project.cost) for project in projects}
    approvals = Counter(str(p) for ballot in ballots for p in set(ballot))
    left = Fraction(budget)
    ranks: list[GreedyRank] = []
    for rank, p in enumerate(_greedy_order(costs, costs, approvals), start=1):
        fits = costs[p] <= left
        ranks.append(GreedyRank(p, rank, approvals[p], fits, left))
        if fits:
            left -= costs[p]
    return GreedyExplanation(Fraction(budget), tuple(ranks))
