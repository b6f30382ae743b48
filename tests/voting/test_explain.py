"""Why each project won or lost (voting/explain.py): the figures a resident reads are
pabutools' own (effective supports, project losses, the kept add1 run's budget), exactly,
and the payments recomputed from a ballot add up."""

from __future__ import annotations

import json
import time
from collections import Counter
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from pabutools.election import parse_pabulib
from pabutools.rules.mes import mes_rule

from bench.explain_mokotow import pabutools_figures, sorted_by_name_then
from tests.voting.conftest import PROJECT_ROOT, require_pabulib_dir
from tests.voting.elections import elections, pabutools_election
from voting import explain, rules
from voting.pabulib import read_pabulib

SMALL_FILES = [
    "Netherlands_Assen_2024.pb",
    "Poland_Swiecie_2023.pb",
    "Poland_Warszawa_2019_Brodno.pb",
    "Poland_Wieliczka_2023_Green_Budget.pb",
]
# Asked live; for the others the test reads pabutools' figures written by
# bench/explain_mokotow.py (its effective supports rerun MES once per project on every
# ballot: 18 s for Brodno, 80 s for Wieliczka here). The live ones must equal their JSON.
LIVE = {"Netherlands_Assen_2024.pb", "Poland_Swiecie_2023.pb"}
REFERENCE_DIR = Path(__file__).parent / "explain_reference"
MOKOTOW = "Poland_Warszawa_2021_Mokotow.pb"
MOKOTOW_REFERENCE = PROJECT_ROOT / "bench" / "explain_mokotow_reference.json"


def _pabutools_figures_live(instance: Any, profile: Any) -> dict[str, Any]:
    with pytest.MonkeyPatch.context() as patch:
        # pabutools takes projects with equal last prices in set order; pin it to ours.
        patch.setattr(mes_rule, "sorted", sorted_by_name_then, raising=False)
        return pabutools_figures(instance, profile)


def assert_same_figures(ours: explain.MesExplanation, theirs: dict[str, Any]) -> None:
    """Our explanation against pabutools' figures (bench/explain_mokotow.py's JSON shape)."""
    assert list(ours.winners) == theirs["winners"]
    assert [step.project for step in ours.steps] == theirs["mes_winners"]
    assert ours.final_budget == Fraction(theirs["final_budget"])
    funded_by_mes = {step.project for step in ours.steps}
    their_losses = {
        name: (
            Fraction(loss["supporters_budget"]),
            {project: Fraction(amount) for project, amount in loss["budget_lost"].items()},
        )
        for name, loss in theirs["losses"].items()
        if name not in funded_by_mes
    }
    if ours.steps:  # with no step, pabutools has nothing left to report (module docstring)
        assert sorted(their_losses) == sorted(ours.losses)
    for name, (money, lost) in their_losses.items():
        assert (ours.losses[name].supporters_money, ours.losses[name].spent) == (money, lost)
        assert ours.losses[name].cost == ours.costs[name]
    their_supports = theirs["effective_supports"]
    assert their_supports == {p: ours.effective_support_percent[p] for p in their_supports}


def assert_payments_add_up(ours: explain.MesExplanation, ballots: list[frozenset[str]]) -> None:
    """Each Equal Shares step's supporters paid exactly its cost, nobody more than they
    started with (replayed ballot by ballot from the stored steps)."""
    paid = dict.fromkeys((step.project for step in ours.steps), Fraction(0))
    for ballot, count in Counter(ballots).items():
        payments = explain.ballot_payments(ours, ballot)
        assert sum(payments.values(), Fraction(0)) <= ours.start
        assert all(amount >= 0 for amount in payments.values())
        for project, amount in payments.items():
            paid[project] += amount * count
    assert paid == {step.project: ours.costs[step.project] for step in ours.steps}


# --- Real elections ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_files() -> dict[str, tuple[list[rules.Project], list[frozenset[str]], Decimal]]:
    folder = require_pabulib_dir()
    loaded = {}
    for name in SMALL_FILES:
        election = read_pabulib(folder / name)
        loaded[name] = (election.rule_projects(), election.ballots(), election.budget)
    return loaded


@pytest.mark.parametrize("name", SMALL_FILES)
def test_explanation_matches_pabutools_on_real_election(name: str, small_files) -> None:
    projects, ballots, budget = small_files[name]
    started = time.perf_counter()
    ours = explain.mes_explanation(projects, ballots, budget)
    print(f"{name}: explanation {time.perf_counter() - started:.2f} s")

    reference = REFERENCE_DIR / name.replace(".pb", ".json")
    if name in LIVE:
        theirs = _pabutools_figures_live(*parse_pabulib(str(require_pabulib_dir() / name)))
        assert theirs == {
            key: value
            for key, value in json.loads(reference.read_text()).items()
            if key not in ("file", "pabutools_seconds")
        }
    else:
        theirs = json.loads(reference.read_text(encoding="utf-8"))
    assert_same_figures(ours, theirs)
    assert list(ours.winners) == list(rules.method_of_equal_shares(*small_files[name]).winners)
    assert_payments_add_up(ours, ballots)
    assert explain.MesExplanation.from_dict(json.loads(json.dumps(ours.to_dict()))) == ours


@pytest.mark.slow
def test_mokotow_explanation_time_and_reference() -> None:
    folder = require_pabulib_dir()
    election = read_pabulib(folder / MOKOTOW)
    projects, ballots = election.rule_projects(), election.ballots()
    started = time.perf_counter()
    ours = explain.mes_explanation(projects, ballots, election.budget)
    print(f"\n{MOKOTOW}: explanation {time.perf_counter() - started:.1f} s")

    # The explanation checks its own replay against the rule's engine; the winners are
    # pabutools' (shared/pabulib/reference.json).
    reference = json.loads((folder / "reference.json").read_text(encoding="utf-8"))
    assert sorted(ours.winners) == reference[MOKOTOW]["mes"]["winners"]
    assert_payments_add_up(ours, ballots)
    if MOKOTOW_REFERENCE.is_file():
        assert_same_figures(ours, json.loads(MOKOTOW_REFERENCE.read_text(encoding="utf-8")))


# --- Random small elections against pabutools, live -------------------------------------


@settings(
    max_examples=80,
    deadline=None,
    database=None,  # no .hypothesis folder in the checkout
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(elections(min_ballots=1))
def test_explanation_matches_pabutools_on_small_elections(election) -> None:
    projects, ballots, budget = election
    ours = explain.mes_explanation(projects, ballots, budget)
    instance, profile, _ = pabutools_election(*election)

    assert_same_figures(ours, _pabutools_figures_live(instance, profile))
    assert ours.winners == rules.method_of_equal_shares(projects, ballots, budget).winners
    assert_payments_add_up(ours, ballots)
    approvals = {p.id: sum(p.id in b for b in ballots) for p in projects}
    for project in projects:
        if project.cost == 0:
            assert ours.effective_support[project.id] is None
        elif approvals[project.id] == 0:
            assert ours.effective_support[project.id] == 0
    assert explain.MesExplanation.from_dict(json.loads(json.dumps(ours.to_dict()))) == ours


# --- Small elections a resident can check by hand ---------------------------------------

X, Y, Z = "x", "y", "z"


def test_three_voters_three_projects_by_hand() -> None:
    # Budget 30, so each of the 3 voters starts with 10. Ann approves x and y, Bob x,
    # Cat z. x (12) is shared by Ann and Bob at 6 each; z (9) is paid by Cat alone; y (10)
    # is then out of reach: Ann, its only supporter, has 4 left.
    projects = [rules.Project(X, Decimal(12)), rules.Project(Y, Decimal(10))]
    projects.append(rules.Project(Z, Decimal(9)))
    ann, bob, cat = frozenset({X, Y}), frozenset({X}), frozenset({Z})

    ours = explain.mes_explanation(projects, [ann, bob, cat], Decimal(30))

    assert ours.start == 10 and ours.final_budget == 30
    assert [(s.project, s.rho, s.chosen_by) for s in ours.steps] == [
        (X, Fraction(1, 2), "mes"),  # each supporter pays at most half of 12
        (Z, Fraction(1), "mes"),
    ]
    assert ours.completion == ()  # 9 left, y costs 10
    assert explain.ballot_payments(ours, ann) == {X: 6}
    assert explain.ballot_payments(ours, bob) == {X: 6}
    assert explain.ballot_payments(ours, cat) == {Z: 9}
    assert ours.losses == {
        Y: explain.ProjectLoss(Y, after_steps=2, supporters_money=4, cost=10, spent={X: 6})
    }
    # Without y, Ann has 4 left after x: she could cover 4 of y's 10.
    assert ours.effective_support[Y] == Fraction(2, 5)
    assert ours.effective_support_percent[Y] == 40
    assert ours.cost_to_win[Y] == 4
    # Without x, y goes first (ties by id) and empties Ann: Bob alone covers 10 of 12;
    # x was funded, so pabutools reports at least 100.
    assert ours.effective_support[X] == Fraction(5, 6)
    assert ours.effective_support_percent[X] == 100
    # Without z, Cat keeps her 10 for a 9 project: 111 %.
    assert ours.effective_support[Z] == Fraction(10, 9)
    assert ours.effective_support_percent[Z] == 111
    assert ours.cost_to_win[X] is None and ours.cost_to_win[Z] is None


def test_add1_and_greedy_completion_by_hand() -> None:
    # Budget 11 for 2 voters: 5.50 each. Ann wants p (6), Bob q (4); nobody wants r (1).
    # With 5.50 Ann cannot pay p; add1 raises everyone to 6.50, then both are funded
    # (p first: same price per unit, smaller id). r fits in the 1 left: greedy takes it.
    projects = [
        rules.Project("p", Decimal(6)),
        rules.Project("q", Decimal(4)),
        rules.Project("r", Decimal(1)),
    ]
    ballots = [frozenset({"p"}), frozenset({"q"})]

    ours = explain.mes_explanation(projects, ballots, Decimal(11))

    assert ours.start == Fraction(13, 2) and ours.final_budget == 13
    assert [(s.project, s.rho, s.chosen_by) for s in ours.steps] == [
        ("p", 1, "add1"),
        ("q", 1, "mes"),
    ]
    assert ours.completion == (explain.CompletionStep("r", money_left=Fraction(1)),)
    assert ours.winners == ("p", "q", "r")
    assert explain.ballot_payments(ours, ballots[0]) == {"p": 6}
    assert ours.losses == {}
    assert ours.effective_support["r"] == 0  # nobody approved it
    assert ours.effective_support_percent["r"] == 100  # funded: pabutools says 100 at least


def test_greedy_explanation_by_hand() -> None:
    # Votes: x 2, y 1, z 1 (y before z: same votes, smaller id). Budget 30: x (12) and
    # y (10) fit, then 8 is left and z costs 9.
    projects = [
        rules.Project(X, Decimal(12)),
        rules.Project(Y, Decimal(10)),
        rules.Project(Z, Decimal(9)),
    ]
    ballots = [frozenset({X, Y}), frozenset({X}), frozenset({Z})]

    ours = explain.greedy_explanation(projects, ballots, Decimal(30))

    assert [(r.project, r.rank, r.votes, r.funded, r.money_left) for r in ours.ranks] == [
        (X, 1, 2, True, 30),
        (Y, 2, 1, True, 18),
        (Z, 3, 1, False, 8),
    ]
    funded = tuple(r.project for r in ours.ranks if r.funded)
    assert funded == rules.greedy(projects, ballots, Decimal(30)).winners
    assert explain.GreedyExplanation.from_dict(json.loads(json.dumps(ours.to_dict()))) == ours


def test_no_ballots_explains_a_greedy_fill() -> None:
    # Nobody voted: Equal Shares funds nothing itself, the greedy completion funds what
    # fits (in id order, every project at 0 votes), and no project has any support.
    projects = [rules.Project("a", Decimal(5)), rules.Project("b", Decimal(7))]

    ours = explain.mes_explanation(projects, [], Decimal(10))

    assert ours.steps == () and ours.final_budget == 0
    assert ours.completion == (explain.CompletionStep("a", money_left=Fraction(10)),)
    assert ours.winners == rules.method_of_equal_shares(projects, [], Decimal(10)).winners
    assert ours.effective_support == {"a": 0, "b": 0}
    assert ours.cost_to_win == {"a": None, "b": None}
