"""Under real concurrency on PostgreSQL: one ballot per person per area, whatever arrives
at once, and a count never misses a ballot that was being written as voting closed."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, connections
from django.test import Client
from django.urls import reverse

from pb_platform.roles import RESIDENT, role_grant
from proposals.models import ProposalStatus
from proposals.phases import Phase
from tests.factories import (
    AreaFactory,
    BudgetRoundFactory,
    ProposalFactory,
    ResidentProfileFactory,
    RoundAreaFactory,
)
from voting.models import Ballot, BallotChoice
from voting.services import ballots as ballot_services
from voting.services.results import area_close_count_publish

pytestmark = [
    pytest.mark.postgresql,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

SUBMISSIONS = 16


@pytest.fixture
def election():
    """A voting round, one area with six feasible proposals, one verified resident."""
    budget_round = BudgetRoundFactory(phase=Phase.VOTING)
    area = AreaFactory()
    round_area = RoundAreaFactory(budget_round=budget_round, area=area, budget=Decimal(100_000))
    proposals = [
        ProposalFactory(
            budget_round=budget_round,
            round_area=round_area,
            estimated_cost=Decimal(1000 * (i + 1)),
            status=ProposalStatus.FEASIBLE,
        )
        for i in range(6)
    ]
    profile = ResidentProfileFactory(area=area)
    role_grant(user=profile.user, role=RESIDENT)
    return round_area, proposals, profile.user


def run_together(count: int, work) -> list[object]:
    """Run ``work(i)`` in ``count`` threads released at the same instant."""
    barrier = threading.Barrier(count)
    results: list[object] = [None] * count

    def thread(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        except Exception as error:  # reported to the test, which fails on it
            results[i] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=thread, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def test_simultaneous_votes_by_one_person_leave_exactly_one_of_the_ballots(election):
    round_area, proposals, voter = election
    url = reverse("voting:ballot", args=[round_area.budget_round.slug, round_area.area.slug])
    # Every submission is a different set of proposals.
    submitted = [
        {proposals[i % 6].pk, proposals[(i // 6 + i + 1) % 6].pk} for i in range(SUBMISSIONS)
    ]

    def submit(i: int) -> int:
        client = Client()
        client.force_login(voter)
        response = client.post(
            url, {"proposals": sorted(submitted[i]), "action": "save"}, follow=False
        )
        return response.status_code

    statuses = run_together(SUBMISSIONS, submit)

    assert statuses == [302] * SUBMISSIONS, statuses  # every request saved; no server error
    ballot = Ballot.objects.get(round_area=round_area, voter=voter)
    assert Ballot.objects.count() == 1
    stored = set(BallotChoice.objects.filter(ballot=ballot).values_list("proposal_id", flat=True))
    assert stored in submitted


def test_a_ballot_being_written_when_voting_closes_is_counted(election, monkeypatch):
    """The ballot's transaction holds a shared lock on the area; the count's claim waits
    for it, then counts it. (Without the lock the count would read the area before the
    ballot committed and publish a result without it.)"""
    round_area, proposals, voter = election
    inside_ballot = threading.Event()
    release_ballot = threading.Event()
    original = ballot_services._choices_replace

    def slow_choices_replace(ballot, chosen):
        original(ballot, chosen)
        inside_ballot.set()
        release_ballot.wait(timeout=30)

    monkeypatch.setattr(ballot_services, "_choices_replace", slow_choices_replace)
    voting_ends = round_area.budget_round.voting_ends

    def vote() -> object:
        return ballot_services.ballot_submit(
            voter=voter,
            round_area=round_area,
            proposal_ids=[proposals[0].pk],
            now=voting_ends - timedelta(seconds=1),
        )

    def count() -> object:
        inside_ballot.wait(timeout=30)
        # Let the ballot commit a moment after the count has started waiting.
        threading.Timer(0.5, release_ballot.set).start()
        return area_close_count_publish(round_area_id=round_area.pk, now=voting_ends)

    ballot, result = run_together(2, lambda i: vote() if i == 0 else count())

    assert isinstance(ballot, Ballot), ballot
    assert result.ballots_counted == 1
    line = result.lines.get(proposal=proposals[0])
    assert line.votes == 1
    assert connection.vendor == "postgresql"
