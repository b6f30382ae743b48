"""The demo has a round whose results are published and one whose voting closes minutes
after seeding, with neighbours' ballots in both and the demo resident free to vote."""

from __future__ import annotations

import io

from django.core.management import call_command

from proposals.models import BudgetRound
from voting.models import AreaResult, Ballot, BallotChannel


def seed() -> None:
    call_command("seed_demo", allow_without_debug=True, stdout=io.StringIO())


def test_the_finished_round_is_published_with_the_demo_residents_receipt(db):
    seed()
    parks = BudgetRound.objects.get(name="Parks 2026")
    results = AreaResult.objects.filter(round_area__budget_round=parks)
    assert results.count() == 2
    assert all(result.published_at and result.lines.filter(funded=True) for result in results)
    sams = Ballot.objects.get(voter__email="resident@example.org", round_area__budget_round=parks)
    assert sams.round_area.voting_closed_at is not None
    assert Ballot.objects.filter(
        round_area__budget_round=parks, channel=BallotChannel.PAPER
    ).exists()


def test_the_open_round_has_neighbours_ballots_but_not_the_demo_residents(db):
    seed()
    fund = BudgetRound.objects.get(name="Neighbourhood Fund 2026")
    ballots = Ballot.objects.filter(round_area__budget_round=fund)
    assert ballots.count() > 20
    assert not ballots.filter(voter__email="resident@example.org").exists()
    assert ballots.filter(round_area__area__is_city_wide=True).exists()
    assert not AreaResult.objects.filter(round_area__budget_round=fund).exists()


def test_seeding_twice_adds_no_ballots(db):
    seed()
    count = Ballot.objects.count()
    seed()
    assert Ballot.objects.count() == count
