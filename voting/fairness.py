"""How fair an outcome is for the people who voted, and what the other rule would have
funded on the same ballots. Pure Python, exact fractions.

The figures are pabutools 1.2.3's (``pabutools/analysis/votersatisfaction.py``), computed
without pabutools and checked against it in tests/voting/test_fairness.py. A voter's
satisfaction is pabutools' ``Relative_Cost_Approx_Normaliser_Sat``: the cost of the
funded projects they approved divided by the cost of all they approved, or by the
budget when that is smaller (nobody can get more than the whole budget). In plain words:
the share of the money they asked for that was funded. A ballot that approves nothing
that costs anything has satisfaction 0.

- ``non_empty_handed``: the share of voters with at least one funded project among those
  they approved (``percent_non_empty_handed``);
- ``average_satisfaction``: the mean satisfaction (``avg_satisfaction``);
- ``gini``: the Gini coefficient of the satisfactions (``gini_coefficient_of_satisfaction``):
  0 when everyone is equally satisfied, towards 1 when a few get everything; 0 when
  nobody gets anything, as pabutools has it;
- ``histogram``: voters per band of satisfaction, ``HISTOGRAM_BANDS`` bands: nothing,
  then more than 0 up to 10 %, more than 10 % up to 20 %, ..., more than 90 % up to all
  (``satisfaction_histogram`` with ``max_satisfaction=1, num_bins=11``, as counts; it
  reports each count divided by the number of voters).

Identical ballots are counted once with their number: on the largest shared area
(Mokotów, 12,933 ballots) the figures take about a second (bench/fairness.py). They are
exact in memory (the tests compare them with pabutools' as fractions) and stored rounded
to ``STORED_PLACES`` decimal places: on Mokotów the exact Gini coefficient's denominator
has 21,000 digits, and pages show percentages to one place.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any, Literal

from voting import rules

__all__ = [
    "HISTOGRAM_BANDS",
    "Fairness",
    "RuleComparison",
    "histogram_band",
    "other_rule_comparison",
    "outcome_fairness",
]

HISTOGRAM_BANDS = 11
STORED_PLACES = 12

RuleName = Literal["mes", "greedy"]


@dataclass(frozen=True, slots=True)
class Fairness:
    """The fairness figures of one outcome (see the module docstring); ``None`` each
    when nobody voted."""

    voters: int
    non_empty_handed: Fraction | None
    average_satisfaction: Fraction | None
    gini: Fraction | None
    histogram: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: each figure as a decimal string of ``STORED_PLACES`` places."""
        return {
            "voters": self.voters,
            "non_empty_handed": _string(self.non_empty_handed),
            "average_satisfaction": _string(self.average_satisfaction),
            "gini": _string(self.gini),
            "histogram": list(self.histogram),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Fairness:
        return cls(
            voters=int(data["voters"]),
            non_empty_handed=_fraction(data["non_empty_handed"]),
            average_satisfaction=_fraction(data["average_satisfaction"]),
            gini=_fraction(data["gini"]),
            histogram=tuple(int(count) for count in data["histogram"]),
        )


@dataclass(frozen=True, slots=True)
class RuleComparison:
    """What ``rule`` funds on the same ballots and budget, in its order, what that costs,
    and how fair it is."""

    rule: RuleName
    winners: tuple[str, ...]
    cost: Fraction
    fairness: Fairness

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "winners": list(self.winners),
            "cost": str(self.cost),
            "fairness": self.fairness.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RuleComparison:
        return cls(
            rule="mes" if data["rule"] == "mes" else "greedy",
            winners=tuple(data["winners"]),
            cost=Fraction(data["cost"]),
            fairness=Fairness.from_dict(data["fairness"]),
        )


def _string(value: Fraction | None) -> str | None:
    if value is None:
        return None
    scaled = value * 10**STORED_PLACES
    whole = round(scaled)  # half to even, in integers: no float ever sees the figure
    return str(Decimal(whole).scaleb(-STORED_PLACES))


def _fraction(value: str | None) -> Fraction | None:
    return None if value is None else Fraction(Decimal(value))


def histogram_band(satisfaction: Fraction) -> int:
    """The band a satisfaction falls in: 0 for nothing, k for more than (k-1)/10 and at
    most k/10 (pabutools' ``ceil(satisfaction * 10)``), the last band from 90 % up."""
    if satisfaction >= 1:
        return HISTOGRAM_BANDS - 1
    scaled = satisfaction * (HISTOGRAM_BANDS - 1)
    return -(-scaled.numerator // scaled.denominator)  # ceiling, exactly


def outcome_fairness(
    projects: Sequence[rules.Project],
    ballots: Iterable[Collection[str]],
    winners: Collection[str],
    budget: Decimal | Fraction,
) -> Fairness:
    """The fairness figures of funding ``winners`` (ids) with these ballots and budget."""
    costs = {str(project.id): Fraction(project.cost) for project in projects}
    funded = {str(p) for p in winners}
    limit = Fraction(budget)
    groups = Counter(frozenset(str(p) for p in ballot if str(p) in costs) for ballot in ballots)
    voters = sum(groups.values())
    if voters == 0:
        return Fairness(0, None, None, None, (0,) * HISTOGRAM_BANDS)

    non_empty = 0
    satisfactions: list[tuple[Fraction, int]] = []
    for ballot, count in groups.items():
        if ballot & funded:
            non_empty += count
        asked = min(sum((costs[p] for p in ballot), Fraction(0)), limit)
        got = sum((costs[p] for p in ballot & funded), Fraction(0))
        satisfactions.append((got / asked if asked else Fraction(0), count))

    histogram = [0] * HISTOGRAM_BANDS
    for satisfaction, count in satisfactions:
        histogram[histogram_band(satisfaction)] += count
    total = sum((s * count for s, count in satisfactions), Fraction(0))
    return Fairness(
        voters=voters,
        non_empty_handed=Fraction(non_empty, voters),
        average_satisfaction=total / voters,
        gini=_gini(satisfactions, voters, total),
        histogram=tuple(histogram),
    )


def _gini(satisfactions: list[tuple[Fraction, int]], voters: int, total: Fraction) -> Fraction:
    """pabutools' ``gini_coefficient``: with the values sorted ascending (v_0, v_1, ...),
    (n + 1 - 2 * sum of v_i * (n - i) / sum of v_i) / n; 0 when every value is 0.
    Identical values are summed in one go: sum over i from a to a+k-1 of (n - i)."""
    if total == 0:
        return Fraction(0)
    weighted = Fraction(0)
    position = 0
    for value, count in sorted(satisfactions):
        # (n - a) + (n - a - 1) + ... + (n - a - count + 1)
        first, last = voters - position, voters - position - count + 1
        weighted += value * Fraction((first + last) * count, 2)
        position += count
    return (voters + 1 - 2 * weighted / total) / voters


def other_rule_comparison(
    rule: RuleName,
    projects: Sequence[rules.Project],
    ballots: Sequence[Collection[str]],
    budget: Decimal,
) -> RuleComparison:
    """What the rule the round did not use would have funded: greedy for an Equal Shares
    round, Equal Shares for a greedy one."""
    other: RuleName = "greedy" if rule == "mes" else "mes"
    count = rules.greedy if other == "greedy" else rules.method_of_equal_shares
    outcome = count(projects, ballots, budget)
    return RuleComparison(
        rule=other,
        winners=outcome.winners,
        cost=Fraction(outcome.cost),
        fairness=outcome_fairness(projects, ballots, outcome.winners, budget),
    )
