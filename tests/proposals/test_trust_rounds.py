"""Trust in a round's rules (issue 10): only officers change rounds, what voters relied on
is frozen once voting opens (service, form and database), addresses never break, names
are unique, bad input gets a message (never a 500) and a double click creates once."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from pb_platform.policies import PolicyDenied
from pb_platform.roles import OFFICER, role_grant
from proposals import policies, services
from proposals.models import BallotType, BudgetRound, CountingRule, RoundArea, RoundChange
from proposals.phases import BOUNDARIES, Phase, Timeline
from tests.conftest import client_for
from tests.factories import (
    AreaFactory,
    BudgetRoundFactory,
    ProposalFactory,
    RoundAreaFactory,
    UserFactory,
    timeline_in,
)


def config(**overrides) -> services.RoundConfig:
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


def config_of(budget_round: BudgetRound, **overrides) -> services.RoundConfig:
    """The round's own settings, with ``overrides`` (timeline fields by name too)."""
    timeline = Timeline.of(budget_round)
    dates = {name: overrides.pop(name) for name, _p in BOUNDARIES if name in overrides}
    base = services.RoundConfig(
        name=budget_round.name,
        description=budget_round.description,
        currency=budget_round.currency,
        total_budget=budget_round.total_budget,
        counting_rule=budget_round.counting_rule,
        ballot_type=budget_round.ballot_type,
        max_choices=budget_round.max_choices,
        timeline=replace(timeline, **dates),
        verification_required=budget_round.verification_required,
        minimum_age=budget_round.minimum_age,
        asks_equality_questions=budget_round.asks_equality_questions,
    )
    return replace(base, **overrides)


def budgets_of(budget_round: BudgetRound) -> dict:
    return {ra.area: ra.budget for ra in budget_round.round_areas.select_related("area")}


def snapshot(budget_round: BudgetRound) -> tuple:
    return (
        BudgetRound.objects.values().get(pk=budget_round.pk),
        list(RoundArea.objects.filter(budget_round=budget_round).values("area_id", "budget")),
        RoundChange.objects.filter(budget_round=budget_round).count(),
    )


@pytest.fixture
def voting_round(area_a):
    """A round whose voting is open by the clock (its stored state still says review)."""
    round_area = RoundAreaFactory(
        area=area_a,
        budget=Decimal("60000.00"),
        budget_round__name="Old Town Fund",
        budget_round__slug="old-town-fund",
        budget_round__phase=Phase.VOTING,
    )
    return round_area.budget_round


def update(budget_round, officer, cfg=None, budgets=None, **kwargs):
    return services.round_update(
        budget_round=budget_round,
        changed_by=officer,
        config=cfg or config_of(budget_round),
        area_budgets=budgets if budgets is not None else budgets_of(budget_round),
        now=kwargs.pop("now", timezone.now()),
        **kwargs,
    )


# --- 1. Policies: the services refuse the wrong role, whoever calls them ---------------


@pytest.mark.parametrize("persona", ["resident_a", "auditor"])
def test_round_create_refuses_anyone_but_an_officer(persona, area_a, request):
    user = request.getfixturevalue(persona)
    with pytest.raises(PolicyDenied, match="Only council officers"):
        services.round_create(
            created_by=user, config=config(), area_budgets={area_a: Decimal("1000")}
        )
    assert not BudgetRound.objects.exists()


def test_round_update_refuses_a_resident_and_changes_nothing(resident_a, voting_round):
    before = snapshot(voting_round)
    with pytest.raises(PolicyDenied):
        update(voting_round, resident_a, config_of(voting_round, name="Mine now"))
    assert snapshot(voting_round) == before


def test_the_policy_answers_with_reasons_from_the_loaded_round(officer, resident_a, voting_round):
    now = timezone.now()
    assert policies.can_create_round(officer)
    assert not policies.can_create_round(resident_a)
    assert policies.can_edit_round(officer, voting_round, now=now)
    frozen = policies.round_frozen_fields(voting_round, now=now)
    assert {"counting_rule", "currency", "total_budget", "area_budgets"} <= set(frozen)
    assert "Voting in “Old Town Fund” opened on" in frozen["counting_rule"]
    assert not policies.round_field_frozen(voting_round, "counting_rule", now=now)
    assert policies.round_field_frozen(voting_round, "name", now=now)
    assert policies.round_field_frozen(voting_round, "delivery_ends", now=now)


# --- 2. Frozen once voting opens ---------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("counting_rule", CountingRule.GREEDY),
        ("currency", "EUR"),
        ("total_budget", Decimal("90000.00")),
        ("ballot_type", BallotType.K_APPROVAL),
        ("max_choices", 3),
        ("verification_required", "register"),
        ("minimum_age", 16),
    ],
)
def test_rules_voters_relied_on_cannot_change_once_voting_opens(
    officer, voting_round, field, value
):
    before = snapshot(voting_round)
    overrides = {field: value}
    if field in ("max_choices", "ballot_type"):
        overrides |= {"ballot_type": BallotType.K_APPROVAL, "max_choices": 3}
    with pytest.raises(ValidationError) as excinfo:
        update(voting_round, officer, config_of(voting_round, **overrides))
    assert "This can no longer be changed. Voting in" in excinfo.value.message_dict[field][0]
    assert snapshot(voting_round) == before


def test_rules_are_frozen_by_the_stored_state_even_if_the_dates_say_otherwise(officer, area_a):
    budget_round = RoundAreaFactory(area=area_a, budget_round__phase=Phase.REVIEW).budget_round
    BudgetRound.objects.filter(pk=budget_round.pk).update(state=Phase.VOTING)
    budget_round.refresh_from_db()
    with pytest.raises(ValidationError) as excinfo:
        update(budget_round, officer, config_of(budget_round, currency="EUR"))
    assert "currency" in excinfo.value.message_dict


def test_an_imported_round_keeps_its_rules(officer, area_a):
    budget_round = RoundAreaFactory(
        area=area_a, budget_round__phase=Phase.RESULTS, budget_round__is_imported=True
    ).budget_round
    with pytest.raises(ValidationError) as excinfo:
        update(budget_round, officer, config_of(budget_round, counting_rule=CountingRule.GREEDY))
    assert "imported from a Pabulib file" in excinfo.value.message_dict["counting_rule"][0]


@pytest.mark.parametrize("change", ["cut", "add"])
def test_areas_and_their_budgets_cannot_change_once_voting_opens(
    officer, voting_round, area_a, area_b, change
):
    before = snapshot(voting_round)
    budgets = {
        "cut": {area_a: Decimal("1000.00")},
        "add": {area_a: Decimal("60000.00"), area_b: Decimal("100.00")},
    }[change]
    with pytest.raises(ValidationError) as excinfo:
        update(voting_round, officer, budgets=budgets)
    assert "This can no longer be changed" in excinfo.value.message_dict["area_budgets"][0]
    assert snapshot(voting_round) == before


def test_removing_an_area_during_voting_is_refused_with_the_reason(
    officer, voting_round, area_a, area_b
):
    RoundArea.objects.create(budget_round=voting_round, area=area_b, budget=Decimal("100.00"))
    before = snapshot(voting_round)
    with pytest.raises(ValidationError) as excinfo:
        update(voting_round, officer, budgets={area_a: Decimal("60000.00")})
    assert "Voting in “Old Town Fund” opened" in excinfo.value.message_dict["area_budgets"][0]
    assert snapshot(voting_round) == before


def test_a_passed_date_cannot_move_but_a_future_one_can(officer, area_a):
    budget_round = RoundAreaFactory(area=area_a, budget_round__phase=Phase.REVIEW).budget_round
    with pytest.raises(ValidationError) as excinfo:
        update(
            budget_round,
            officer,
            config_of(
                budget_round, submission_starts=budget_round.submission_starts - timedelta(days=1)
            ),
        )
    assert "This date has passed" in excinfo.value.message_dict["submission_starts"][0]

    later = budget_round.delivery_ends + timedelta(days=30)
    update(budget_round, officer, config_of(budget_round, delivery_ends=later))
    budget_round.refresh_from_db()
    assert budget_round.delivery_ends == later


def test_a_future_date_cannot_be_moved_into_the_past(officer, area_a):
    budget_round = RoundAreaFactory(area=area_a, budget_round__phase=Phase.REVIEW).budget_round
    before = snapshot(budget_round)
    with pytest.raises(ValidationError) as excinfo:
        update(
            budget_round,
            officer,
            config_of(budget_round, voting_starts=timezone.now() - timedelta(minutes=5)),
        )
    assert "cannot be moved into the past" in excinfo.value.message_dict["voting_starts"][0]
    assert snapshot(budget_round) == before


def test_a_phase_may_start_now_as_typed_to_the_minute(officer, area_a):
    """Closing submission early: the officer types the current time, which the minute
    field rounds down to a few seconds ago."""
    budget_round = RoundAreaFactory(area=area_a, budget_round__phase=Phase.SUBMISSION).budget_round
    typed = timezone.now().replace(second=0, microsecond=0)
    update(budget_round, officer, config_of(budget_round, review_starts=typed))
    budget_round.refresh_from_db()
    assert budget_round.review_starts == typed
    assert budget_round.phase_at(timezone.now()) == Phase.REVIEW


def test_voting_can_be_extended_with_a_reason_kept_in_the_history(officer, voting_round):
    later = voting_round.voting_ends + timedelta(hours=12)

    with pytest.raises(ValidationError) as excinfo:
        update(voting_round, officer, config_of(voting_round, voting_ends=later))
    assert "Say why voting is extended" in excinfo.value.message_dict["reason"][0]

    update(
        voting_round,
        officer,
        config_of(voting_round, voting_ends=later),
        reason="The polling station flooded on Saturday.",
    )
    voting_round.refresh_from_db()
    assert voting_round.voting_ends == later
    change = RoundChange.objects.get(budget_round=voting_round, action="updated")
    assert change.reason == "The polling station flooded on Saturday."
    assert "voting_ends" in change.changes


def test_voting_cannot_close_earlier_than_announced_once_it_opened(officer, voting_round):
    before = snapshot(voting_round)
    sooner = timezone.now() + timedelta(minutes=30)
    with pytest.raises(ValidationError) as excinfo:
        update(voting_round, officer, config_of(voting_round, voting_ends=sooner), reason="Why not")
    assert "cannot close earlier than announced" in excinfo.value.message_dict["voting_ends"][0]
    assert snapshot(voting_round) == before


def test_after_results_nothing_that_changes_them_can_be_edited_but_the_name_can(officer, area_a):
    budget_round = RoundAreaFactory(
        area=area_a, budget_round__phase=Phase.RESULTS, budget_round__name="Done"
    ).budget_round
    with pytest.raises(ValidationError) as excinfo:
        update(
            budget_round,
            officer,
            config_of(
                budget_round,
                counting_rule=CountingRule.GREEDY,
                voting_ends=budget_round.voting_ends + timedelta(hours=1),
            ),
            reason="Late post",
        )
    errors = excinfo.value.message_dict
    assert "closed on" in errors["counting_rule"][0]
    assert "This date has passed" in errors["voting_ends"][0]

    update(budget_round, officer, config_of(budget_round, name="Done and dusted", description="X"))
    budget_round.refresh_from_db()
    assert (budget_round.name, budget_round.description) == ("Done and dusted", "X")
    change = RoundChange.objects.get(budget_round=budget_round, action="updated")
    assert change.changes["name"] == ["Done", "Done and dusted"]


def round_post(budget_round, area, **overrides) -> dict[str, str]:
    data = {
        "name": budget_round.name,
        "description": budget_round.description,
        "currency": budget_round.currency,
        "total_budget": str(budget_round.total_budget),
        "counting_rule": budget_round.counting_rule,
        "ballot_type": budget_round.ballot_type,
        "max_choices": "",
        "reason": "",
        f"area_{area.pk}": str(budgets_of(budget_round).get(area, "")),
    }
    for name, _phase, at in budget_round.timeline.boundaries():
        data[name] = timezone.localtime(at).strftime("%Y-%m-%dT%H:%M")
    data.update(overrides)
    return data


def test_the_edit_page_shows_frozen_settings_as_text_with_the_reason(officer, voting_round):
    page = client_for(officer).get(
        reverse("proposals:officer_round_edit", args=[voting_round.slug])
    )
    body = page.content.decode()
    assert page.status_code == 200
    assert 'name="counting_rule"' not in body
    assert 'name="currency"' not in body
    assert 'name="total_budget"' not in body
    assert 'name="voting_starts"' not in body
    assert 'name="name"' in body and 'name="delivery_ends"' in body
    assert "Method of Equal Shares" in body and "£100,000.00" in body
    assert "Voting in “Old Town Fund” opened on" in body
    assert "This date has passed" in body


def test_a_forged_post_changing_the_counting_rule_is_refused_on_the_page(
    officer, voting_round, area_a
):
    before = snapshot(voting_round)
    response = client_for(officer).post(
        reverse("proposals:officer_round_edit", args=[voting_round.slug]),
        round_post(voting_round, area_a, counting_rule="greedy", currency="EUR"),
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "There is a problem" in body
    assert "This can no longer be changed. Voting in “Old Town Fund” opened" in body
    assert snapshot(voting_round) == before


def test_a_forged_post_cutting_an_area_budget_is_refused_on_the_page(officer, voting_round, area_a):
    before = snapshot(voting_round)
    response = client_for(officer).post(
        reverse("proposals:officer_round_edit", args=[voting_round.slug]),
        round_post(voting_round, area_a, **{f"area_{area_a.pk}": "10"}),
    )
    assert response.status_code == 200
    assert "This can no longer be changed" in response.content.decode()
    assert snapshot(voting_round) == before


def test_the_edit_page_still_renames_a_round_in_voting(officer, voting_round, area_a):
    response = client_for(officer).post(
        reverse("proposals:officer_round_edit", args=[voting_round.slug]),
        round_post(voting_round, area_a, name="Old Town Fund 2027"),
    )
    assert response.status_code == 302
    voting_round.refresh_from_db()
    assert voting_round.name == "Old Town Fund 2027"
    assert voting_round.counting_rule == CountingRule.MES


# --- 3. The database refuses it too (PostgreSQL) -----------------------------------------


def raw(sql: str, params: list) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.fixture
def stored_voting_round(voting_round):
    BudgetRound.objects.filter(pk=voting_round.pk).update(state=Phase.VOTING)
    voting_round.refresh_from_db()
    return voting_round


@pytest.mark.postgresql
@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("counting_rule", "greedy"),
        ("currency", "EUR"),
        ("total_budget", Decimal("1.00")),
        ("ballot_type", "k_approval"),
        ("voting_starts", "2020-01-01T00:00:00Z"),
        ("verification_required", "register"),
        ("minimum_age", 16),
    ],
)
def test_the_database_refuses_changing_a_voting_rounds_rules(stored_voting_round, column, value):
    with pytest.raises(IntegrityError, match="voting has opened"):
        raw(
            f"UPDATE proposals_budgetround SET {column} = %s WHERE id = %s",  # noqa: S608
            [value, stored_voting_round.pk],
        )
    fresh = BudgetRound.objects.values().get(pk=stored_voting_round.pk)
    assert fresh["counting_rule"] == "mes" and fresh["currency"] == "GBP"


@pytest.mark.postgresql
def test_the_database_lets_voting_be_extended_but_not_shortened(stored_voting_round):
    pk = stored_voting_round.pk
    with pytest.raises(IntegrityError):
        raw(
            "UPDATE proposals_budgetround SET voting_ends = voting_ends - interval '1 hour' "
            "WHERE id = %s",
            [pk],
        )
    raw(
        "UPDATE proposals_budgetround SET voting_ends = voting_ends + interval '1 hour', "
        "name = 'Renamed' WHERE id = %s",
        [pk],
    )
    assert BudgetRound.objects.get(pk=pk).name == "Renamed"


@pytest.mark.postgresql
def test_the_database_refuses_changing_a_voting_rounds_areas(stored_voting_round, area_a):
    round_area = stored_voting_round.round_areas.get()
    other = AreaFactory()
    with pytest.raises(IntegrityError, match="areas and their budgets"):
        raw("UPDATE proposals_roundarea SET budget = 1 WHERE id = %s", [round_area.pk])
    with pytest.raises(IntegrityError, match="areas and their budgets"):
        raw("DELETE FROM proposals_roundarea WHERE id = %s", [round_area.pk])
    with pytest.raises(IntegrityError, match="areas and their budgets"):
        raw(
            "INSERT INTO proposals_roundarea (budget_round_id, area_id, budget) VALUES (%s, %s, 5)",
            [stored_voting_round.pk, other.pk],
        )
    # The close job's claim still works.
    raw("UPDATE proposals_roundarea SET voting_closed_at = now() WHERE id = %s", [round_area.pk])
    round_area.refresh_from_db()
    assert round_area.budget == Decimal("60000.00") and round_area.voting_closed_at


@pytest.mark.postgresql
def test_the_database_lets_a_round_before_voting_change(officer, area_a):
    budget_round = RoundAreaFactory(area=area_a, budget_round__phase=Phase.REVIEW).budget_round
    raw(
        "UPDATE proposals_budgetround SET counting_rule = 'greedy' WHERE id = %s",
        [budget_round.pk],
    )
    raw("UPDATE proposals_roundarea SET budget = 10 WHERE budget_round_id = %s", [budget_round.pk])
    budget_round.refresh_from_db()
    assert budget_round.counting_rule == "greedy"


# --- 4. Bad input: a message, never a 500 ------------------------------------------------


def create_post(area, **overrides) -> dict[str, str]:
    timeline = timeline_in(Phase.UPCOMING)
    data = {
        "name": "Play areas 2027",
        "description": "Swings.",
        "currency": "GBP",
        "total_budget": "50000",
        "counting_rule": "mes",
        "ballot_type": "approval_budget",
        "max_choices": "",
        f"area_{area.pk}": "50000",
    }
    for name, _phase, at in timeline.boundaries():
        data[name] = timezone.localtime(at).strftime("%Y-%m-%dT%H:%M")
    data.update(overrides)
    return data


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"total_budget": "1e30"}, "Enter the amount in figures"),
        ({"total_budget": "NaN"}, "Enter the amount in figures"),
        ({"total_budget": "1,000"}, "without thousands separators"),
        ({"total_budget": "99999999999999999"}, "too large"),
        ({"area_AREA": "1e400"}, "Enter the amount in figures"),
        ({"voting_starts": "0001-01-01T00:00"}, "Check the year"),
        ({"voting_ends": "9999-12-31T23:59"}, "Check the year"),
        ({"name": "Parks\u202e7202"}, "U+202E"),
        ({"name": "Parks\x00"}, "Null characters are not allowed"),
        ({"description": "Bad\x07bell"}, "U+0007"),
    ],
)
def test_hostile_round_input_gets_a_message_on_the_field(officer, area_a, overrides, message):
    overrides = {k.replace("AREA", str(area_a.pk)): v for k, v in overrides.items()}
    response = client_for(officer).post(
        reverse("proposals:officer_round_create"), create_post(area_a, **overrides)
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not BudgetRound.objects.exists()


def test_amounts_with_a_polish_decimal_comma_are_read_in_polish(officer, area_a):
    with translation.override("pl"):
        from proposals.forms import RoundForm

        form = RoundForm(
            create_post(area_a, total_budget="1250,50", **{f"area_{area_a.pk}": "1000,25"}),
            areas=[area_a],
        )
        assert form.is_valid(), form.errors
    assert form.cleaned_data["total_budget"] == Decimal("1250.50")
    assert form.to_area_budgets() == {area_a: Decimal("1000.25")}


@pytest.mark.parametrize(
    ("shift", "message"),
    [
        (-timedelta(days=800), "Choose a time between"),
        (timedelta(days=4000), "Choose a time between"),
    ],
)
def test_round_dates_on_creation_must_be_plausible(officer, area_a, shift, message):
    timeline = timeline_in(Phase.UPCOMING, now=timezone.now() + shift)
    with pytest.raises(ValidationError) as excinfo:
        services.round_create(
            created_by=officer,
            config=config(timeline=timeline),
            area_budgets={area_a: Decimal("1000")},
        )
    assert message in excinfo.value.message_dict["submission_starts"][0]
    assert not BudgetRound.objects.exists()


def test_names_are_trimmed_and_stated_limits_apply(officer, area_a):
    budget_round = services.round_create(
        created_by=officer,
        config=config(name="  Parks 2027  "),
        area_budgets={area_a: Decimal("1000")},
    )
    assert budget_round.name == "Parks 2027"
    with pytest.raises(ValidationError) as excinfo:
        services.round_create(
            created_by=officer, config=config(name="x" * 201), area_budgets={area_a: Decimal("1")}
        )
    assert (
        "Keep it to 200 characters or fewer (this has 201)" in excinfo.value.message_dict["name"][0]
    )


def test_removing_an_area_that_has_proposals_says_so_on_its_field(officer, area_a, area_b):
    budget_round = BudgetRoundFactory(name="Parks", slug="parks", phase=Phase.SUBMISSION)
    RoundAreaFactory(budget_round=budget_round, area=area_a)
    round_area_b = RoundAreaFactory(budget_round=budget_round, area=area_b)
    ProposalFactory(budget_round=budget_round, round_area=round_area_b)
    data = round_post(budget_round, area_a)
    data[f"area_{area_b.pk}"] = ""
    before = snapshot(budget_round)

    response = client_for(officer).post(
        reverse("proposals:officer_round_edit", args=[budget_round.slug]), data
    )

    body = response.content.decode()
    assert response.status_code == 200
    assert "Area B has proposals in this round, so it cannot leave it." in body
    assert f'id="id_area_{area_b.pk}_error"' in body
    assert snapshot(budget_round) == before


def test_a_nul_in_the_residents_search_gets_a_message_not_an_error(officer, resident_a):
    response = client_for(officer).get(reverse("proposals:officer_residents") + "?q=%00")
    assert response.status_code == 200
    assert "U+0000" in response.content.decode()


# --- 5. Unique names and permanent addresses --------------------------------------------


def test_round_names_are_unique_ignoring_case(officer, area_a):
    services.round_create(
        created_by=officer, config=config(), area_budgets={area_a: Decimal("1000")}
    )
    with pytest.raises(ValidationError) as excinfo:
        services.round_create(
            created_by=officer,
            config=config(name="PARKS 2027"),
            area_budgets={area_a: Decimal("1000")},
        )
    assert "There is already a round called “PARKS 2027”" in excinfo.value.message_dict["name"][0]
    assert BudgetRound.objects.count() == 1


def test_the_database_refuses_two_rounds_with_the_same_name(db):
    BudgetRoundFactory(name="Parks")
    with pytest.raises(IntegrityError), transaction.atomic():
        BudgetRoundFactory(name="parks")


def test_renaming_a_round_keeps_its_address(officer, voting_round):
    old_url = voting_round.get_absolute_url()
    update(voting_round, officer, config_of(voting_round, name="Eastgate Fund"))
    voting_round.refresh_from_db()
    assert voting_round.slug == "old-town-fund"
    response = Client().get(old_url)
    assert response.status_code == 200
    assert "Eastgate Fund" in response.content.decode()


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", allow_without_debug=True, stdout=out)
    return out.getvalue()


def demo_counts() -> tuple[int, ...]:
    from ledgers.models import LedgerEntry
    from proposals.models import Area, Proposal
    from voting.models import Ballot

    return (
        Area.objects.count(),
        BudgetRound.objects.count(),
        Proposal.objects.count(),
        Ballot.objects.count(),
        LedgerEntry.objects.count(),
    )


def test_seed_demo_runs_again_after_officers_renamed_edited_and_reused_names(db):
    seed()
    officer = BudgetRound.objects.get(slug="parks-2026").created_by
    parks = BudgetRound.objects.get(slug="parks-2026")
    green = BudgetRound.objects.get(slug="green-streets-2027")
    update(parks, officer, config_of(parks, name="Parks (first go)", description="Edited."))
    update(green, officer, config_of(green, description="Edited by an officer."))
    area = green.round_areas.first().area
    services.round_create(
        created_by=officer,
        config=config(name="Parks 2026"),
        area_budgets={area: Decimal("1000")},
    )
    counts = demo_counts()

    seed()

    assert demo_counts() == counts
    assert BudgetRound.objects.get(slug="parks-2026").name == "Parks (first go)"
    assert not BudgetRound.objects.get(name="Parks 2026").proposals.exists()


def test_seed_demo_leaves_alone_a_round_an_officer_named_like_a_demo_round(db, area_a):
    officer = UserFactory(email="council.officer@example.org")
    role_grant(user=officer, role=OFFICER)
    services.round_create(
        created_by=officer,
        config=config(name="Youth Spaces 2027"),
        area_budgets={area_a: Decimal("1000")},
    )

    seed()
    seed()

    mine = BudgetRound.objects.get(name="Youth Spaces 2027")
    assert mine.created_by == officer and not mine.proposals.exists()
    assert BudgetRound.objects.filter(name__iexact="youth spaces 2027").count() == 1


# --- 6. One-time tokens ----------------------------------------------------------------


def test_a_double_submitted_round_form_creates_one_round(officer, area_a):
    client = client_for(officer)
    data = create_post(area_a, submission_token="0b7f3c1e-2f7a-4b59-9a51-5b8f1a0e6d11")

    first = client.post(reverse("proposals:officer_round_create"), data)
    second = client.post(reverse("proposals:officer_round_create"), data)

    budget_round = BudgetRound.objects.get()
    assert first.status_code == second.status_code == 302
    assert second.url == first.url == budget_round.get_absolute_url()


def test_the_round_form_carries_a_one_time_token(officer):
    page = client_for(officer).get(reverse("proposals:officer_round_create"))
    assert 'name="submission_token"' in page.content.decode()
