"""A published round with two funded proposals and one that lost, for ledger tests."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from ledgers.services import allocations_for_published_results
from proposals.models import CountingRule, ProposalStatus
from proposals.phases import Phase
from tests.factories import (
    BudgetRoundFactory,
    ProposalFactory,
    ResidentProfileFactory,
    RoundAreaFactory,
)
from voting.models import Ballot, BallotChannel, BallotChoice
from voting.services.ballots import receipt_code_new
from voting.services.results import area_close_count_publish


def published_round(*, area, name="Parks", allocate=True):
    """Greedy, budget 5,000: Trees (2,000, 3 votes) and Benches (1,000, 2 votes) win,
    Lights (3,000, 1 vote) no longer fits."""
    budget_round = BudgetRoundFactory(
        phase=Phase.RESULTS, counting_rule=CountingRule.GREEDY, name=name
    )
    round_area = RoundAreaFactory(budget_round=budget_round, area=area, budget=Decimal(5000))
    proposals = {
        title: ProposalFactory(
            budget_round=budget_round,
            round_area=round_area,
            title=title,
            estimated_cost=Decimal(cost),
            status=ProposalStatus.FEASIBLE,
        )
        for title, cost in (("Trees", 2000), ("Benches", 1000), ("Lights", 3000))
    }
    for titles in (("Trees", "Benches"), ("Trees", "Benches"), ("Trees",), ("Lights",)):
        ballot = Ballot.objects.create(
            round_area=round_area,
            voter=ResidentProfileFactory(area=area).user,
            channel=BallotChannel.ONLINE,
            receipt_code=receipt_code_new(),
        )
        BallotChoice.objects.bulk_create(
            BallotChoice(ballot=ballot, proposal=proposals[t]) for t in titles
        )
    area_close_count_publish(round_area_id=round_area.pk, now=timezone.now())
    if allocate:
        allocations_for_published_results(now=timezone.now())
    return budget_round, proposals


@pytest.fixture
def parks(area_a):
    return published_round(area=area_a)
