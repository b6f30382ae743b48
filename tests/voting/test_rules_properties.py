"""Property tests on random small elections: our rules give exactly pabutools' outcome
(the README's rule calls), never spend more than the budget, and do not depend on the
order of the ballots or on how precise the engine's internal guide is."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pabutools.election import ApprovalBallot, ApprovalProfile, Cost_Sat, Instance
from pabutools.election import Project as PabuProject
from pabutools.rules import (
    completion_by_rule_combination,
    greedy_utilitarian_welfare,
    method_of_equal_shares,
)

from tests.voting.elections import IDS, Election, elections
from voting import rules

PROPERTY_SETTINGS = settings(
    max_examples=200,
    deadline=None,
    database=None,  # no .hypothesis folder in the checkout
    suppress_health_check=[HealthCheck.too_slow],
)


def pabutools_outcomes(
    costs: list[rules.Project], ballots: list[frozenset[str]], budget: Decimal
) -> tuple[list[str], list[str]]:
    """greedy and MES as shared/pabulib/README.md defines them, computed by pabutools."""
    instance = Instance(budget_limit=Fraction(budget))
    by_id = {project.id: PabuProject(project.id, Fraction(project.cost)) for project in costs}
    for project in by_id.values():
        instance.add(project)
    profile = ApprovalProfile([ApprovalBallot([by_id[i] for i in sorted(b)]) for b in ballots])
    greedy_outcome = greedy_utilitarian_welfare(instance, profile, sat_class=Cost_Sat)
    mes_outcome = completion_by_rule_combination(
        instance,
        profile,
        [method_of_equal_shares, greedy_utilitarian_welfare],
        [{"sat_class": Cost_Sat, "voter_budget_increment": 1}, {"sat_class": Cost_Sat}],
    )
    return [p.name for p in greedy_outcome], [p.name for p in mes_outcome]


@PROPERTY_SETTINGS
@given(elections(max_projects=6, free_projects=False))
def test_rules_match_pabutools_exactly(election) -> None:
    costs, ballots, budget = election
    expected_greedy, expected_mes = pabutools_outcomes(costs, ballots, budget)

    assert list(rules.greedy(costs, ballots, budget).winners) == expected_greedy
    assert list(rules.method_of_equal_shares(costs, ballots, budget).winners) == expected_mes


@PROPERTY_SETTINGS
@given(elections(max_projects=6, free_projects=False))
def test_outcome_fits_the_budget_and_reports_its_cost(election) -> None:
    costs, ballots, budget = election
    cost_of = {project.id: project.cost for project in costs}
    for rule in (rules.greedy, rules.method_of_equal_shares):
        outcome = rule(costs, ballots, budget)
        assert outcome.cost == sum((cost_of[i] for i in outcome.winners), Decimal(0))
        assert outcome.cost <= budget
        assert len(set(outcome.winners)) == len(outcome.winners)


@PROPERTY_SETTINGS
@given(elections(max_projects=6, free_projects=False), st.randoms(use_true_random=False))
def test_outcome_does_not_depend_on_ballot_or_project_order(election, random) -> None:
    costs, ballots, budget = election
    shuffled_ballots, shuffled_costs = list(ballots), list(costs)
    random.shuffle(shuffled_ballots)
    random.shuffle(shuffled_costs)
    for rule in (rules.greedy, rules.method_of_equal_shares):
        assert rule(shuffled_costs, shuffled_ballots, budget) == rule(costs, ballots, budget)


@PROPERTY_SETTINGS
@given(elections(max_projects=6, free_projects=False))
def test_coarse_guides_only_move_work_to_the_exact_fallbacks(election) -> None:
    # With no precision at all in the engine's integer guide, nearly every decision goes
    # through the exact Fraction fallbacks; the outcome must not change.
    costs, ballots, budget = election
    expected = rules.method_of_equal_shares(costs, ballots, budget)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(rules._MesEngine, "GUIDE_BITS", 0)
        assert rules.method_of_equal_shares(costs, ballots, budget) == expected


@st.composite
def elections_in_small_units(draw: st.DrawFn) -> Election:
    """An election of at most 8 projects where add1 has work to do (a budget between the
    dearest project and the sum of all, up to 40 ballots), its costs and budget scaled as
    if counted in a currency with a smaller unit: add1 then needs many more increments
    between changes, which is where skipping them matters."""
    ids = draw(st.lists(st.sampled_from(IDS), min_size=2, max_size=8, unique=True))
    costs = [draw(st.integers(1, 40)) for _ in ids]
    shapes = draw(st.lists(st.frozensets(st.sampled_from(ids), min_size=1), min_size=1, max_size=5))
    ballot = st.one_of(st.sampled_from(shapes), st.frozensets(st.sampled_from(ids)))
    ballots = draw(st.lists(ballot, min_size=2, max_size=40))
    budget = draw(st.integers(max(costs), sum(costs)))
    factor = draw(st.sampled_from([1, 7, 10, 100]))
    projects = [
        rules.Project(i, Decimal(cost * factor)) for i, cost in zip(ids, costs, strict=True)
    ]
    return projects, ballots, Decimal(budget * factor)


@PROPERTY_SETTINGS
@given(
    elections_in_small_units(),
    st.sampled_from([(True, True), (True, False), (False, True)]),
    st.sampled_from([rules._MesEngine.GUIDE_BITS, 0]),
)
def test_add1_skipping_increments_keeps_every_outcome_of_stepping(
    election, proofs, guide_bits
) -> None:
    # pabutools gives every voter one more unit and reruns; skipping the increments a
    # proof covers must end at the same increment with the same projects in the same order,
    # whichever proof does the skipping and however coarse the engine's guides are.
    projects, ballots, budget = election
    stepping = rules._Instance(projects, ballots, budget)
    stepping.jump = False
    expected = stepping.mes_add1_kept()
    affine, leaps = proofs
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(rules._MesEngine, "GUIDE_BITS", guide_bits)
        skipping = rules._Instance(projects, ballots, budget)
        skipping.affine, skipping.leaps = affine, leaps
        assert skipping.mes_add1_kept() == expected
