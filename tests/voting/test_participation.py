"""Who took part: ballots against population per area and channel, proposals, the
under-represented areas flagged, and small counts hidden so that none can be worked out
from a total."""

from __future__ import annotations

from decimal import Decimal

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from proposals.phases import Phase
from tests.factories import (
    AreaFactory,
    BudgetRoundFactory,
    ProposalFactory,
    ResidentProfileFactory,
    RoundAreaFactory,
    UserFactory,
)
from voting.models import Ballot, BallotChannel
from voting.participation import round_participation
from voting.services.ballots import receipt_code_new


def ballots(round_area, *, online=0, paper=0):
    officer = UserFactory()
    for channel, n in ((BallotChannel.ONLINE, online), (BallotChannel.PAPER, paper)):
        for _ in range(n):
            Ballot.objects.create(
                round_area=round_area,
                voter=ResidentProfileFactory(area=round_area.area).user,
                channel=channel,
                receipt_code=receipt_code_new(),
                recorded_by=officer if channel == BallotChannel.PAPER else None,
            )


def town(db, phase=Phase.VOTING):
    """Hill (1,000 people) votes well; Vale (2,000) barely; Dale has no population and
    only 2 ballots (hidden, with the next-smallest area hidden too)."""
    budget_round = BudgetRoundFactory(phase=phase, slug=f"town-{phase}")
    areas = {}
    for name, population in (("Hill", 1000), ("Vale", 2000), ("Dale", None)):
        area = AreaFactory(name=name, slug=name.lower(), population=population)
        areas[name] = RoundAreaFactory(budget_round=budget_round, area=area, budget=Decimal(9))
    ballots(areas["Hill"], online=40, paper=10)
    ballots(areas["Vale"], online=6, paper=1)
    ballots(areas["Dale"], online=2)
    for _ in range(6):
        ProposalFactory(budget_round=budget_round, round_area=areas["Hill"])
    return budget_round


def test_counts_flags_and_hidden_small_counts(db):
    budget_round = town(db)
    p = round_participation(budget_round=budget_round)
    rows = {a.round_area.area.name: a for a in p.areas}
    hill, vale, dale = rows["Hill"], rows["Vale"], rows["Dale"]
    assert (hill.ballots, hill.turnout, hill.channels["online"], hill.channels["paper"]) == (
        50,
        Decimal("5.0"),
        40,
        10,
    )
    # Dale's 2 are hidden; Vale's 7, the next smallest, too, so Dale's cannot be worked
    # out from the round's total of 59.
    assert (dale.ballots, vale.ballots, p.ballots) == (None, None, 59)
    assert vale.turnout is None and dale.population is None
    # Vale's paper ballot (1) is hidden with the smallest other channel, inside its row.
    assert set(vale.channels.values()) == {None}
    # Vale: 7 per 2,000 against the round's 57 per 3,000: under half, so flagged, even
    # though its count is hidden. Dale has no population: never flagged.
    assert (hill.under_represented, vale.under_represented, dale.under_represented) == (
        False,
        True,
        False,
    )
    assert p.flagged == 1
    assert p.turnout is None  # Dale, without a population, is hidden: no round turnout
    assert (hill.proposals, vale.proposals) == (6, None)


def test_the_page_is_public_from_the_vote_and_makes_constant_queries(db, client):
    before = town(db, phase=Phase.REVIEW)
    page = client.get(reverse("voting:round_participation", args=[before.slug]))
    assert page.status_code == 200 and "from the opening of the vote" in page.text
    counts = []
    for size in (2, 20):
        open_round = BudgetRoundFactory(phase=Phase.VOTING, slug=f"open-{size}")
        round_areas = [
            RoundAreaFactory(
                budget_round=open_round, area=AreaFactory(population=100 + n), budget=Decimal(9)
            )
            for n in range(size)
        ]
        for round_area in round_areas:
            ballots(round_area, online=6)
        url = reverse("voting:round_participation", args=[open_round.slug])
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        counts.append(len(queries))
        assert response.status_code == 200
    assert counts[0] == counts[1]
    # 20 areas of 6 ballots each: every area shown, the round's total too.
    text = response.text
    assert "Who took part" in text and "<dd>120</dd>" in text


def test_the_round_page_links_to_it_once_voting_opened(db, client):
    budget_round = town(db)
    text = client.get(budget_round.get_absolute_url()).text
    assert reverse("voting:round_participation", args=[budget_round.slug]) in text
    shown = client.get(reverse("voting:round_participation", args=[budget_round.slug])).text
    assert "Under-represented" in shown and "unknown" in shown
