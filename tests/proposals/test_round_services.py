"""Rounds are created and changed only through services that reject bad input with a
clear message and save nothing."""

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from proposals import services
from proposals.models import BallotType, BudgetRound, CountingRule, RoundArea, RoundChange
from proposals.phases import Phase
from tests.factories import timeline_in


def config(**overrides):
    base = services.RoundConfig(
        name="Parks 2027",
        description="Money for parks.",
        currency="GBP",
        total_budget=Decimal("100000.00"),
        counting_rule=CountingRule.MES,
        ballot_type=BallotType.APPROVAL_WITHIN_BUDGET,
        max_choices=None,
        timeline=timeline_in(Phase.UPCOMING),
    )
    return replace(base, **overrides)


def errors_of(excinfo) -> dict[str, list[str]]:
    return excinfo.value.message_dict


@pytest.fixture
def budgets(area_a, area_b):
    return {area_a: Decimal("60000.00"), area_b: Decimal("40000.00")}


def test_officer_creates_round_with_area_budgets_and_history(officer, budgets, area_a):
    budget_round = services.round_create(created_by=officer, config=config(), area_budgets=budgets)

    assert budget_round.slug == "parks-2027"
    assert budget_round.state == Phase.UPCOMING
    assert {ra.area.name: ra.budget for ra in budget_round.round_areas.all()} == {
        "Area A": Decimal("60000.00"),
        "Area B": Decimal("40000.00"),
    }
    change = RoundChange.objects.get(budget_round=budget_round)
    assert change.changed_by == officer and change.action == "created"
    assert change.changes["total_budget"] == ["", "100000.00"]


def test_two_rounds_whose_names_make_the_same_address_get_distinct_addresses(officer, budgets):
    first = services.round_create(created_by=officer, config=config(), area_budgets=budgets)
    second = services.round_create(
        created_by=officer, config=config(name="Parks-2027"), area_budgets=budgets
    )
    assert first.slug != second.slug


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"name": "   "}, "name", "Give the round a name."),
        ({"name": "x" * 201}, "name", "200 characters or fewer"),
        ({"description": "y" * 10_001}, "description", "10,000 characters or fewer"),
        ({"currency": "XXX"}, "currency", "Choose a currency"),
        ({"total_budget": Decimal("-5")}, "total_budget", "more than zero"),
        ({"total_budget": Decimal("0")}, "total_budget", "more than zero"),
        ({"total_budget": Decimal("NaN")}, "total_budget", "Enter the amount in figures"),
        ({"total_budget": Decimal("10.001")}, "total_budget", "two decimal places"),
        ({"total_budget": Decimal("1e15")}, "total_budget", "too large"),
        ({"counting_rule": "borda"}, "counting_rule", "Choose a counting rule"),
        ({"ballot_type": "ranked"}, "ballot_type", "Choose a ballot type"),
        ({"ballot_type": BallotType.K_APPROVAL}, "max_choices", "how many proposals"),
    ],
)
def test_bad_round_settings_are_rejected_with_a_message_and_nothing_saved(
    officer, budgets, overrides, field, message
):
    with pytest.raises(ValidationError) as excinfo:
        services.round_create(created_by=officer, config=config(**overrides), area_budgets=budgets)

    assert any(message in text for text in errors_of(excinfo)[field])
    assert BudgetRound.objects.count() == 0
    assert RoundArea.objects.count() == 0


def test_phases_out_of_order_are_rejected_on_the_field_that_is_wrong(officer, budgets):
    timeline = timeline_in(Phase.UPCOMING)
    broken = replace(timeline, voting_ends=timeline.voting_starts - timedelta(hours=1))

    with pytest.raises(ValidationError) as excinfo:
        services.round_create(
            created_by=officer, config=config(timeline=broken), area_budgets=budgets
        )

    assert errors_of(excinfo)["voting_ends"] == ["This must be later than “Voting opens”."]
    assert BudgetRound.objects.count() == 0


def test_area_budgets_over_the_total_are_rejected(officer, area_a, area_b):
    too_much = {area_a: Decimal("60000.00"), area_b: Decimal("40000.01")}

    with pytest.raises(ValidationError) as excinfo:
        services.round_create(created_by=officer, config=config(), area_budgets=too_much)

    assert errors_of(excinfo)["area_budgets"] == [
        "The area budgets add up to £100,000.01, more than the total budget of £100,000.00."
    ]
    assert BudgetRound.objects.count() == 0


@pytest.mark.parametrize("amount", [Decimal("0"), Decimal("-1.00")])
def test_non_positive_area_budgets_are_rejected(officer, area_a, amount):
    with pytest.raises(ValidationError) as excinfo:
        services.round_create(created_by=officer, config=config(), area_budgets={area_a: amount})
    assert errors_of(excinfo)["area_budgets"] == ["Area A: The amount must be more than zero."]


def test_a_round_needs_at_least_one_area(officer):
    with pytest.raises(ValidationError) as excinfo:
        services.round_create(created_by=officer, config=config(), area_budgets={})
    assert "Give at least one area a budget." in errors_of(excinfo)["area_budgets"]


def test_update_changes_budgets_and_records_only_what_changed(officer, budgets, area_a, area_b):
    original = config()
    budget_round = services.round_create(created_by=officer, config=original, area_budgets=budgets)

    services.round_update(
        budget_round=budget_round,
        changed_by=officer,
        config=replace(original, total_budget=Decimal("120000.00")),
        area_budgets={area_a: Decimal("80000.00")},
        now=timezone.now(),
    )

    budget_round.refresh_from_db()
    assert budget_round.total_budget == Decimal("120000.00")
    assert list(budget_round.round_areas.values_list("area__name", "budget")) == [
        ("Area A", Decimal("80000.00"))
    ]
    change = RoundChange.objects.filter(action="updated").get()
    assert change.changes == {
        "total_budget": ["100000.00", "120000.00"],
        "area:Area A": ["60000.00", "80000.00"],
        "area:Area B": ["40000.00", ""],
    }


def test_update_cannot_reopen_a_phase_that_has_ended(officer, budgets):
    in_voting = timeline_in(Phase.VOTING)
    budget_round = services.round_create(
        created_by=officer, config=config(timeline=in_voting), area_budgets=budgets
    )
    back_to_submission = timeline_in(Phase.SUBMISSION)

    with pytest.raises(ValidationError) as excinfo:
        services.round_update(
            budget_round=budget_round,
            changed_by=officer,
            config=config(timeline=back_to_submission),
            area_budgets=budgets,
            now=timezone.now(),
        )

    assert "This date has passed" in errors_of(excinfo)["voting_starts"][0]
    budget_round.refresh_from_db()
    assert budget_round.voting_starts == in_voting.voting_starts


def test_a_round_may_have_a_priorities_stage_before_submission(officer, budgets):
    timeline = timeline_in(Phase.UPCOMING)
    with_stage = replace(timeline, priorities_starts=timeline.submission_starts - timedelta(days=7))

    budget_round = services.round_create(
        created_by=officer, config=config(timeline=with_stage), area_budgets=budgets
    )

    assert budget_round.priorities_starts == with_stage.priorities_starts
    assert budget_round.phase_at(with_stage.priorities_starts) == Phase.PRIORITIES


def test_a_priorities_stage_after_submission_opens_is_rejected_on_submission(officer, budgets):
    timeline = timeline_in(Phase.UPCOMING)
    broken = replace(timeline, priorities_starts=timeline.submission_starts + timedelta(hours=1))

    with pytest.raises(ValidationError) as excinfo:
        services.round_create(
            created_by=officer, config=config(timeline=broken), area_budgets=budgets
        )

    assert errors_of(excinfo)["submission_starts"] == [
        "This must be later than “Residents' priorities open”."
    ]
    assert BudgetRound.objects.count() == 0
