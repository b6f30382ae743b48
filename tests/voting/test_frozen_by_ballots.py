"""On PostgreSQL a round is frozen as soon as it has a ballot, even if its stored state
has not yet caught up with the clock (the beat task records it within a tick)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from proposals.models import BudgetRound
from proposals.phases import Phase
from tests.factories import BudgetRoundFactory, ResidentProfileFactory, RoundAreaFactory
from voting.models import Ballot, BallotChannel
from voting.services.ballots import receipt_code_new

pytestmark = pytest.mark.postgresql


def raw(sql: str, params: list) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.fixture
def round_area_with_a_ballot(db):
    """Voting has opened by the clock; the stored state still says review."""
    round_area = RoundAreaFactory(
        budget=Decimal("5000.00"), budget_round=BudgetRoundFactory(phase=Phase.VOTING)
    )
    BudgetRound.objects.filter(pk=round_area.budget_round_id).update(state=Phase.REVIEW)
    Ballot.objects.create(
        round_area=round_area,
        voter=ResidentProfileFactory(area=round_area.area).user,
        channel=BallotChannel.ONLINE,
        receipt_code=receipt_code_new(),
    )
    return round_area


def test_a_round_with_a_ballot_keeps_its_rules_whatever_its_stored_state(
    round_area_with_a_ballot,
):
    round_id = round_area_with_a_ballot.budget_round_id
    with pytest.raises(IntegrityError, match="voting has opened"):
        raw("UPDATE proposals_budgetround SET counting_rule = 'greedy' WHERE id = %s", [round_id])
    with pytest.raises(IntegrityError, match="areas and their budgets"):
        raw(
            "UPDATE proposals_roundarea SET budget = 1 WHERE id = %s", [round_area_with_a_ballot.pk]
        )
    round_area_with_a_ballot.refresh_from_db()
    assert round_area_with_a_ballot.budget == Decimal("5000.00")
    assert BudgetRound.objects.get(pk=round_id).counting_rule == "mes"


def test_a_round_without_ballots_in_review_may_still_change(db):
    round_area = RoundAreaFactory(budget_round=BudgetRoundFactory(phase=Phase.REVIEW))
    raw(
        "UPDATE proposals_budgetround SET counting_rule = 'greedy' WHERE id = %s",
        [round_area.budget_round_id],
    )
    assert BudgetRound.objects.get(pk=round_area.budget_round_id).counting_rule == "greedy"
