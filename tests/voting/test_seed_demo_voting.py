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


def test_riverside_compares_equal_shares_with_what_greedy_would_have_funded(db, client):
    # 42 ballots: 36 neighbours cycle over 6 ballots (6 each), Sam chose the toilets and
    # the lawn, and 5 voted on paper. Greedy by votes would fund the toilets, the gym and
    # the pond, leaving the 6 neighbours and 1 paper voter who chose only the lawn with
    # nothing (35 of 42 = 83.3%); Equal Shares funds the lawn instead of the gym, so
    # everyone has something.
    seed()
    page = " ".join(client.get("/rounds/parks-2026/results/riverside/").content.decode().split())
    assert "How fair is the outcome?" in page
    row = "Voters with at least one of their choices funded"
    assert (
        f'{row}</th><td class="num" data-label="Equal Shares (used)">100.0%</td>'
        '<td class="num" data-label="Greedy by votes (not used)">83.3%</td>'
    ) in page
    other = page[page.index('id="other-rule"') :]
    assert "Greedy by votes would have funded 3 proposals, in this order:" in other
    gym = other.index("Outdoor gym in Riverside Park")
    assert other[gym:].index("not funded by the rule used") < other[gym:].index("</li>")
    used_only = other[other.index("Funded by the rule used, but not by the other:") :]
    assert "Dog-free picnic lawn" in used_only.split("</ul>")[0]
    # Where the money came from: the toilets' 28 supporters (66.7% of 42) paid alike.
    sources = page[page.index('id="money-sources"') : page.index('id="fairness"')]
    assert "28 voters, each paying the same" in sources and "66.7%" in sources


def test_northfield_says_both_rules_fund_the_same(db, client):
    seed()
    page = " ".join(client.get("/rounds/parks-2026/results/northfield/").content.decode().split())
    assert "Both rules fund the same proposals." in page


def test_the_demo_resident_sees_their_whole_share_went_to_their_choices(db):
    from django.contrib.auth import get_user_model

    from tests.conftest import client_for

    seed()
    sam = get_user_model().objects.get(email="resident@example.org")
    page = " ".join(client_for(sam).get("/my/ballots/").content.decode().split())
    # Sam chose the toilets and the lawn, both funded; their share is 100,000 / 42.
    assert "Under Equal Shares you started with a share of £2,380.95." in page
    assert "All of your share went to the proposals you chose." in page
    assert "was not needed" not in page
