"""How fair an outcome is (voting/fairness.py): the figures residents compare between
Equal Shares and greedy are pabutools' own, exactly, on the shared real elections and on
random small ones; and where each Equal Shares step's money came from adds up."""

from __future__ import annotations

import json
import time
from collections import Counter
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from pabutools.analysis.votersatisfaction import (
    avg_satisfaction,
    gini_coefficient_of_satisfaction,
    percent_non_empty_handed,
    satisfaction_histogram,
)
from pabutools.election import Relative_Cost_Approx_Normaliser_Sat, parse_pabulib

from tests.voting.conftest import require_pabulib_dir
from tests.voting.elections import elections, pabutools_election
from voting import explain, fairness, rules
from voting.pabulib import read_pabulib

SMALL_FILES = [
    "Netherlands_Assen_2024.pb",
    "Poland_Swiecie_2023.pb",
    "Poland_Warszawa_2019_Brodno.pb",
    "Poland_Wieliczka_2023_Green_Budget.pb",
]
MOKOTOW = "Poland_Warszawa_2021_Mokotow.pb"
SAT = Relative_Cost_Approx_Normaliser_Sat


def exact(value: Any) -> Fraction:
    """A pabutools number (gmpy2's mpq, or an int) as a Fraction, without going through
    text: on Mokotów the exact Gini coefficient has a denominator of 21,000 digits."""
    return Fraction(int(value.numerator), int(value.denominator))


def pabutools_fairness(instance: Any, profile: Any, winners: list[Any]) -> dict[str, Any]:
    """pabutools' four figures for funding ``winners`` (its Project objects)."""
    return {
        "non_empty_handed": exact(percent_non_empty_handed(instance, profile, winners)),
        "average_satisfaction": exact(avg_satisfaction(instance, profile, winners, SAT)),
        "gini": exact(gini_coefficient_of_satisfaction(instance, profile, winners, SAT)),
        "histogram": satisfaction_histogram(instance, profile, winners, SAT, 1, num_bins=11),
    }


def assert_same_fairness(ours: fairness.Fairness, theirs: dict[str, Any]) -> None:
    assert ours.non_empty_handed == theirs["non_empty_handed"]
    assert ours.average_satisfaction == theirs["average_satisfaction"]
    assert ours.gini == theirs["gini"]
    # pabutools reports each band's share of the voters, as a float.
    assert [count / ours.voters for count in ours.histogram] == theirs["histogram"]
    assert sum(ours.histogram) == ours.voters
    assert_stored_rounded(ours)


def assert_stored_rounded(ours: fairness.Fairness) -> None:
    """Stored and read back, each figure is within half a unit of the 12th place."""
    restored = fairness.Fairness.from_dict(json.loads(json.dumps(ours.to_dict())))
    assert (restored.voters, restored.histogram) == (ours.voters, ours.histogram)
    for figure in ("non_empty_handed", "average_satisfaction", "gini"):
        assert abs(getattr(restored, figure) - getattr(ours, figure)) <= Fraction(1, 2 * 10**12)
    assert fairness.Fairness.from_dict(restored.to_dict()) == restored


def _compare_file(name: str, rules_to_check: tuple[str, ...]) -> None:
    folder = require_pabulib_dir()
    reference = json.loads((folder / "reference.json").read_text(encoding="utf-8"))[name]
    election = read_pabulib(folder / name)
    projects, ballots = election.rule_projects(), election.ballots()
    instance, profile = parse_pabulib(str(folder / name))
    by_name = {project.name: project for project in instance}
    for rule in rules_to_check:
        winners = reference[rule]["winners"]
        started = time.perf_counter()
        ours = fairness.outcome_fairness(projects, ballots, winners, election.budget)
        ours_seconds = time.perf_counter() - started
        started = time.perf_counter()
        theirs = pabutools_fairness(instance, profile, [by_name[w] for w in winners])
        print(
            f"{name} {rule}: ours {ours_seconds:.3f} s, "
            f"pabutools {time.perf_counter() - started:.2f} s"
        )
        assert ours.voters == len(profile)
        assert_same_fairness(ours, theirs)


@pytest.mark.parametrize("name", SMALL_FILES)
def test_fairness_matches_pabutools_on_real_elections(name: str) -> None:
    _compare_file(name, ("mes", "greedy"))


@pytest.mark.parametrize("name", SMALL_FILES)
def test_other_rule_is_what_pabutools_funds_with_that_rule(name: str) -> None:
    folder = require_pabulib_dir()
    reference = json.loads((folder / "reference.json").read_text(encoding="utf-8"))[name]
    election = read_pabulib(folder / name)
    projects, ballots, budget = election.rule_projects(), election.ballots(), election.budget
    for used, other in (("mes", "greedy"), ("greedy", "mes")):
        comparison = fairness.other_rule_comparison(used, projects, ballots, budget)
        assert comparison.rule == other
        assert sorted(comparison.winners) == reference[other]["winners"]
        if "selection_order" in reference[other]:  # Brodno's reference has none
            assert list(comparison.winners) == reference[other]["selection_order"]
        cost_of = {p.id: Fraction(p.cost) for p in projects}
        assert comparison.cost == sum(cost_of[w] for w in comparison.winners)
        assert comparison.fairness == fairness.outcome_fairness(
            projects, ballots, reference[other]["winners"], budget
        )
        restored = fairness.RuleComparison.from_dict(json.loads(json.dumps(comparison.to_dict())))
        assert (restored.rule, restored.winners, restored.cost) == (
            other,
            comparison.winners,
            comparison.cost,
        )
        assert restored.fairness == fairness.Fairness.from_dict(comparison.fairness.to_dict())


@pytest.mark.slow
def test_fairness_matches_pabutools_on_mokotow() -> None:
    _compare_file(MOKOTOW, ("mes",))  # greedy too would add 13 s of pabutools


@settings(
    max_examples=150,
    deadline=None,
    database=None,  # no .hypothesis folder in the checkout
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(elections(min_ballots=1))
def test_fairness_matches_pabutools_on_small_elections(election) -> None:
    projects, ballots, budget = election
    instance, profile, by_id = pabutools_election(*election)
    for count in (rules.greedy, rules.method_of_equal_shares):
        winners = count(projects, ballots, budget).winners
        ours = fairness.outcome_fairness(projects, ballots, winners, budget)
        assert_same_fairness(
            ours, pabutools_fairness(instance, profile, [by_id[w] for w in winners])
        )
        assert Fraction(0) <= ours.gini <= 1
        assert Fraction(0) <= ours.average_satisfaction <= ours.non_empty_handed <= 1


def test_nobody_voted_gives_no_figures() -> None:
    projects = [rules.Project("a", Decimal(5))]
    nobody = fairness.outcome_fairness(projects, [], ["a"], Decimal(10))
    assert nobody == fairness.Fairness(0, None, None, None, (0,) * 11)
    assert fairness.Fairness.from_dict(nobody.to_dict()) == nobody


def test_four_voters_by_hand() -> None:
    # Budget 100. a (60) and b (40) are funded, c (50) is not.
    # Ann chose a and c: 60 of 110, capped at the budget: 60/100 -> band 6.
    # Bob chose b: all of it -> band 10. Cat chose c: nothing -> band 0.
    # Dan chose a and b: 100 of 100 -> band 10.
    projects = [rules.Project("a", Decimal(60)), rules.Project("b", Decimal(40))]
    projects.append(rules.Project("c", Decimal(50)))
    ballots = [{"a", "c"}, {"b"}, {"c"}, {"a", "b"}]

    figures = fairness.outcome_fairness(projects, ballots, ["a", "b"], Decimal(100))

    assert figures.voters == 4
    assert figures.non_empty_handed == Fraction(3, 4)
    assert figures.average_satisfaction == (Fraction(3, 5) + 1 + 0 + 1) / 4
    # Sorted 0, 3/5, 1, 1 (sum 13/5); weighted 0*4 + 3/5*3 + 1*2 + 1*1 = 24/5;
    # (5 - 2 * (24/5) / (13/5)) / 4 = (5 - 48/13) / 4 = 17/52.
    assert figures.gini == Fraction(17, 52)
    assert figures.histogram == (1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2)
    assert figures.to_dict()["gini"] == "0.326923076923"  # 17/52, to 12 places


@pytest.mark.parametrize(
    ("satisfaction", "band"),
    [
        (Fraction(0), 0),
        (Fraction(1, 1000), 1),
        (Fraction(1, 10), 1),
        (Fraction(11, 100), 2),
        (Fraction(9, 10), 9),
        (Fraction(91, 100), 10),
        (Fraction(1), 10),
    ],
)
def test_bands_are_pabutools_ceilings(satisfaction: Fraction, band: int) -> None:
    assert fairness.histogram_band(satisfaction) == band


# --- Where each Equal Shares step's money came from -------------------------------------


def assert_payers_match_ballots(
    ours: explain.MesExplanation, ballots: list[frozenset[str]]
) -> tuple[explain.StepPayers, ...]:
    payers = explain.step_payers(ours, ballots)
    assert [p.project for p in payers] == [step.project for step in ours.steps]
    expected = {step.project: [0, 0] for step in ours.steps}
    full_price = {step.project: step.rho * ours.costs[step.project] for step in ours.steps}
    for ballot, count in Counter(ballots).items():
        for project, amount in explain.ballot_payments(ours, ballot).items():
            if amount > 0:
                expected[project][0] += count
            if amount == full_price[project]:
                expected[project][1] += count
    assert {p.project: [p.payers, p.paid_in_full] for p in payers} == expected
    return payers


@pytest.mark.parametrize("name", SMALL_FILES[:2])
def test_step_payers_on_real_elections(name: str) -> None:
    election = read_pabulib(require_pabulib_dir() / name)
    projects, ballots = election.rule_projects(), election.ballots()
    ours = explain.mes_explanation(projects, ballots, election.budget)
    payers = assert_payers_match_ballots(ours, ballots)
    assert all(0 < p.paid_in_full <= p.payers <= len(ballots) for p in payers)


@settings(max_examples=80, deadline=None, database=None, derandomize=True)
@given(elections(min_ballots=1))
def test_step_payers_on_small_elections(election) -> None:
    projects, ballots, budget = election
    assert_payers_match_ballots(explain.mes_explanation(projects, ballots, budget), ballots)


def test_step_payers_by_hand() -> None:
    # Budget 30, 3 voters with 10 each. a (18) is Ann's and Bob's, b (10) Ann's and Cat's:
    # both cost each supporter half their cost, so a goes first (smaller id): Ann and Bob
    # pay 9 each, in full. Ann has 1 left for b, so Cat pays the other 9: b had 2 payers,
    # only Cat at the full price (9/10 of its cost).
    projects = [rules.Project("a", Decimal(18)), rules.Project("b", Decimal(10))]
    ballots = [frozenset({"a", "b"}), frozenset({"a"}), frozenset({"b"})]
    ours = explain.mes_explanation(projects, ballots, Decimal(30))
    assert [(step.project, step.rho) for step in ours.steps] == [
        ("a", Fraction(1, 2)),
        ("b", Fraction(9, 10)),
    ]
    assert explain.step_payers(ours, ballots) == (
        explain.StepPayers("a", payers=2, paid_in_full=2),
        explain.StepPayers("b", payers=2, paid_in_full=1),
    )
