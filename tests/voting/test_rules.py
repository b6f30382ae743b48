"""Counting rules on small hand-made elections: ties, decimal money, zero-vote projects,
where MES and greedy part ways, and input validation."""

from __future__ import annotations

from decimal import Decimal

import pytest

from voting.rules import Outcome, Project, greedy, method_of_equal_shares


def projects(**costs: str | int) -> list[Project]:
    return [Project(project_id, Decimal(cost)) for project_id, cost in costs.items()]


def ballots(*groups: tuple[int, str]) -> list[frozenset[str]]:
    """``(3, "a b")`` is three voters approving a and b."""
    return [frozenset(approved.split()) for count, approved in groups for _ in range(count)]


# --- Ties: smallest id as a string -------------------------------------------------------


@pytest.mark.parametrize("rule", [greedy, method_of_equal_shares])
def test_tie_goes_to_the_smallest_id_as_a_string(rule) -> None:
    # Given two projects with the same votes and cost, ids "2" and "11"
    election = {"2": 10, "11": 10}
    votes = ballots((3, "2 11"))

    # When only one fits
    outcome = rule([Project(i, Decimal(c)) for i, c in election.items()], votes, Decimal(10))

    # Then "11" wins: "11" < "2" as strings
    assert outcome.winners == ("11",)


@pytest.mark.parametrize("rule", [greedy, method_of_equal_shares])
def test_ties_are_ordered_by_id_string_not_input_order(rule) -> None:
    votes = ballots((2, "b a B 10 9"))
    costs = projects(b=1, a=1, B=1, **{"10": 1, "9": 1})

    outcome = rule(costs, votes, Decimal(5))

    assert outcome.winners == ("10", "9", "B", "a", "b")


# --- Greedy ------------------------------------------------------------------------------


def test_greedy_skips_what_does_not_fit_and_keeps_going() -> None:
    # Given a popular expensive project and cheaper, less popular ones
    costs = projects(big=80, mid=30, small=20)
    votes = ballots((5, "big mid small"), (3, "mid small"), (1, "small"))

    # When the budget cannot hold big and mid together
    outcome = greedy(costs, votes, Decimal(100))

    # Then greedy takes the most approved that fit, in order: small(9), mid(8) — big(5)
    # no longer fits after them
    assert outcome == Outcome(winners=("small", "mid"), cost=Decimal(50))


def test_greedy_funds_zero_vote_projects_that_still_fit() -> None:
    costs = projects(voted=60, unvoted=30, too_big=50)
    votes = ballots((4, "voted"))

    outcome = greedy(costs, votes, Decimal(100))

    assert outcome.winners == ("voted", "unvoted")
    assert outcome.cost == Decimal(90)


def test_greedy_with_decimal_costs_is_exact() -> None:
    # 0.1 + 0.2 is not 0.3 in floats; the rule must fund all three with a budget of 0.6
    costs = projects(a="0.1", b="0.2", c="0.3")
    votes = ballots((3, "a"), (2, "b"), (1, "c"))

    outcome = greedy(costs, votes, Decimal("0.6"))

    assert outcome.winners == ("a", "b", "c")
    assert outcome.cost == Decimal("0.6")


def test_greedy_with_no_voters_takes_projects_by_id() -> None:
    outcome = greedy(projects(b=10, a=10, c=10), [], Decimal(20))

    assert outcome.winners == ("a", "b")


# --- Method of Equal Shares ----------------------------------------------------------------


def test_mes_gives_a_minority_its_fair_share_where_greedy_does_not() -> None:
    # Given 6 voters who want A1 and A2 and 4 voters who want B, 10 each of 100
    costs = projects(A1=50, A2=50, B=40)
    votes = ballots((6, "A1 A2"), (4, "B"))

    # Then greedy spends it all on the majority
    assert greedy(costs, votes, Decimal(100)).winners == ("A1", "A2")
    # and MES funds A1 from the majority's 60 and B from the minority's 40
    outcome = method_of_equal_shares(costs, votes, Decimal(100))
    assert outcome == Outcome(winners=("A1", "B"), cost=Decimal(90))


def test_mes_picks_the_highest_effective_vote_count_not_the_most_votes() -> None:
    # Given voters holding 10 each: "wide" has 5 supporters but costs 50, so each pays 10;
    # "narrow" has 3 supporters and costs 15, so each pays 5. Cost utilities: both have
    # an effective vote count of cost / rho: 50/10 = 5 and 15/5 = 3, so wide goes first.
    costs = projects(wide=50, narrow=15)
    votes = ballots((3, "wide narrow"), (2, "wide"), (5, ""))

    outcome = method_of_equal_shares(costs, votes, Decimal(100))

    assert outcome.winners[0] == "wide"


def test_mes_add1_raises_voters_money_until_the_budget_is_used() -> None:
    # Given 4 voters with 25 each: "team" (cost 60, 2 supporters) is unaffordable at the
    # start (they hold 50), but add1 raises everyone's money until the pair can pay
    costs = projects(team=60, solo=20)
    votes = ballots((2, "team"), (2, "solo"))

    outcome = method_of_equal_shares(costs, votes, Decimal(100))

    # solo first (effective votes 2 at rho 10), then team once each holds 30
    assert outcome.winners == ("solo", "team")
    assert outcome.cost == Decimal(80)


def test_mes_completes_with_greedy_including_zero_vote_projects() -> None:
    costs = projects(voted=50, unvoted=10)
    votes = ballots((5, "voted"))

    outcome = method_of_equal_shares(costs, votes, Decimal(100))

    assert outcome.winners == ("voted", "unvoted")


def test_mes_with_decimal_money() -> None:
    costs = projects(a="33.33", b="33.34", c="0.01")
    votes = ballots((1, "a"), (1, "b"), (1, "c"))

    outcome = method_of_equal_shares(costs, votes, Decimal("66.68"))

    assert set(outcome.winners) == {"a", "b", "c"}
    assert outcome.cost == Decimal("66.68")


def test_mes_never_exceeds_the_budget_even_when_add1_overshoots() -> None:
    costs = projects(x=70, y=40)
    votes = ballots((1, "x"), (1, "y"))

    outcome = method_of_equal_shares(costs, votes, Decimal(100))

    assert outcome.cost <= Decimal(100)


def test_empty_election() -> None:
    assert method_of_equal_shares([], [], Decimal(10)) == Outcome(winners=(), cost=Decimal(0))
    assert greedy([], [], Decimal(10)) == Outcome(winners=(), cost=Decimal(0))


# --- Validation ------------------------------------------------------------------------------


@pytest.mark.parametrize("rule", [greedy, method_of_equal_shares])
def test_a_ballot_naming_an_unknown_project_is_refused(rule) -> None:
    with pytest.raises(ValueError, match="unknown project nope"):
        rule(projects(a=1), [frozenset({"a", "nope"})], Decimal(10))


@pytest.mark.parametrize("rule", [greedy, method_of_equal_shares])
def test_duplicate_project_ids_are_refused(rule) -> None:
    with pytest.raises(ValueError, match="duplicate project ids: a"):
        rule([Project("a", Decimal(1)), Project("a", Decimal(2))], [], Decimal(10))


@pytest.mark.parametrize(
    ("costs", "budget", "message"),
    [
        ({"a": "-1"}, "10", "cost of project a must not be negative"),
        ({"a": "1"}, "-10", "budget must not be negative"),
        ({"a": "NaN"}, "10", "must be a finite number"),
    ],
)
def test_negative_or_non_finite_money_is_refused(costs, budget, message) -> None:
    with pytest.raises(ValueError, match=message):
        method_of_equal_shares(projects(**costs), [], Decimal(budget))
