"""Residents voting through the pages, without JavaScript: the form, the running total,
the receipt, and every kind of bad input refused with a message and nothing stored."""

from __future__ import annotations

from decimal import Decimal

import pytest
from allauth.account.models import EmailAddress
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from proposals.models import ProposalStatus
from proposals.phases import Phase
from tests.conftest import client_for
from tests.factories import BudgetRoundFactory, ProposalFactory, RoundAreaFactory
from voting.models import Ballot, BallotChoice
from voting.services.ballots import paper_ballot_record


@pytest.fixture
def voting_round(db):
    return BudgetRoundFactory(phase=Phase.VOTING, name="Spring vote", slug="spring")


@pytest.fixture
def area_a_ballot(voting_round, area_a):
    round_area = RoundAreaFactory(budget_round=voting_round, area=area_a, budget=Decimal(5000))
    for title, cost in (("Benches", 1000), ("Trees", 2000), ("Lights", 3000)):
        ProposalFactory(
            budget_round=voting_round,
            round_area=round_area,
            title=title,
            estimated_cost=Decimal(cost),
            status=ProposalStatus.FEASIBLE,
        )
    return round_area


def ballot_url(round_area):
    return reverse("voting:ballot", args=[round_area.budget_round.slug, round_area.area.slug])


def ids(round_area, *titles):
    return [round_area.proposals.get(title=title).pk for title in titles]


def test_a_resident_votes_changes_the_vote_and_sees_the_receipt(resident_a, area_a_ballot):
    client = client_for(resident_a)
    start = client.get(reverse("voting:vote", args=["spring"]))
    assert start.status_code == 200
    assert "Not voted yet" in start.text and ballot_url(area_a_ballot) in start.text

    page = client.get(ballot_url(area_a_ballot))
    assert "Benches" in page.text and "£1,000.00" in page.text and "Save my vote" in page.text

    response = client.post(
        ballot_url(area_a_ballot),
        {"proposals": ids(area_a_ballot, "Benches", "Trees"), "action": "save"},
        follow=True,
    )
    ballot = Ballot.objects.get(voter=resident_a)
    assert response.redirect_chain[-1][0].endswith("/receipt/")
    assert "Your vote was saved" in response.text and ballot.receipt_code in response.text

    # Changing: the form comes back with the saved choices ticked.
    page = client.get(ballot_url(area_a_ballot))
    assert page.text.count(" checked>") == 2
    response = client.post(
        ballot_url(area_a_ballot),
        {"proposals": ids(area_a_ballot, "Lights"), "action": "save"},
        follow=True,
    )
    assert "Your vote was changed. Only your latest vote counts." in response.text
    assert Ballot.objects.count() == 1
    assert list(BallotChoice.objects.values_list("proposal__title", flat=True)) == ["Lights"]

    mine = client.get(reverse("voting:my_ballots"))
    assert ballot.receipt_code in mine.text and "Spring vote" in mine.text


def test_check_my_total_shows_the_running_total_and_saves_nothing(resident_a, area_a_ballot):
    response = client_for(resident_a).post(
        ballot_url(area_a_ballot),
        {"proposals": ids(area_a_ballot, "Benches", "Trees"), "action": "check"},
    )
    assert response.status_code == 200
    assert "£3,000.00" in response.text and "Left: £2,000.00" in response.text
    assert "Nothing has been saved yet." in response.text
    assert response.text.count(" checked>") == 2
    assert not Ballot.objects.exists()


@pytest.mark.parametrize(
    ("choices", "message"),
    [
        (["Benches", "Trees", "Lights"], "which is £1,000.00 more than the £5,000.00"),
        ([], "Choose at least one proposal."),
        (["999999"], "Some of your choices are not on this ballot"),
        (["not-a-number"], "Some of your choices are not on this ballot"),
    ],
)
def test_bad_ballots_get_a_clear_message_and_store_nothing(
    resident_a, area_a_ballot, choices, message
):
    values = [
        str(area_a_ballot.proposals.get(title=c).pk)
        if area_a_ballot.proposals.filter(title=c).exists()
        else c
        for c in choices
    ]
    response = client_for(resident_a).post(
        ballot_url(area_a_ballot), {"proposals": values, "action": "save"}
    )
    assert response.status_code == 200
    assert message in response.text
    assert "There is a problem" in response.text
    assert not Ballot.objects.exists()


def test_a_resident_of_another_area_is_turned_away(resident_b, area_a_ballot):
    response = client_for(resident_b).post(
        ballot_url(area_a_ballot),
        {"proposals": ids(area_a_ballot, "Benches"), "action": "save"},
        follow=True,
    )
    assert "You live in Area B, so you cannot vote on proposals for Area A." in response.text
    assert not Ballot.objects.exists()


@pytest.mark.parametrize(
    ("phase", "message"), [(Phase.REVIEW, "opens on"), (Phase.RESULTS, "closed on")]
)
def test_no_voting_outside_the_voting_phase(resident_a, area_a, phase, message):
    budget_round = BudgetRoundFactory(phase=phase, slug="other")
    round_area = RoundAreaFactory(budget_round=budget_round, area=area_a)
    proposal = ProposalFactory(
        budget_round=budget_round, round_area=round_area, status=ProposalStatus.FEASIBLE
    )
    response = client_for(resident_a).post(
        ballot_url(round_area), {"proposals": [proposal.pk], "action": "save"}, follow=True
    )
    # The reason comes from voting.policies, naming the round.
    assert f"Voting in “{budget_round.name}” {message}" in response.text
    assert not Ballot.objects.exists()


def test_an_unverified_resident_is_asked_to_confirm_their_email(resident_a, area_a_ballot):
    EmailAddress.objects.filter(user=resident_a).update(verified=False)
    response = client_for(resident_a).post(
        ballot_url(area_a_ballot),
        {"proposals": ids(area_a_ballot, "Benches"), "action": "save"},
        follow=True,
    )
    assert "confirm your email address" in response.text
    assert not Ballot.objects.exists()


def test_visitors_are_asked_to_sign_in(client, area_a_ballot):
    response = client.get(ballot_url(area_a_ballot))
    assert response.status_code == 302 and "/accounts/login/" in response.url


def test_a_forged_post_without_the_csrf_token_is_refused(resident_a, area_a_ballot):

    client = Client(enforce_csrf_checks=True)
    client.force_login(resident_a)
    response = client.post(
        ballot_url(area_a_ballot), {"proposals": ids(area_a_ballot, "Benches"), "action": "save"}
    )
    assert response.status_code == 403
    assert not Ballot.objects.exists()


def test_the_ballot_page_makes_the_same_queries_whatever_the_number_of_proposals(
    resident_a, area_a_ballot
):
    client = client_for(resident_a)
    client.post(
        ballot_url(area_a_ballot),
        {"proposals": ids(area_a_ballot, "Benches"), "action": "save"},
    )

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(ballot_url(area_a_ballot)).status_code == 200
        return len(captured)

    few = queries()
    for _ in range(40):
        ProposalFactory(
            budget_round=area_a_ballot.budget_round,
            round_area=area_a_ballot,
            estimated_cost=Decimal(10),
            status=ProposalStatus.FEASIBLE,
        )
    assert queries() == few


def test_a_resident_whose_paper_ballot_was_recorded_cannot_open_the_online_form(
    resident_a, officer, area_a_ballot
):
    paper_ballot_record(
        officer=officer,
        voter=resident_a,
        round_area=area_a_ballot,
        proposal_ids=ids(area_a_ballot, "Trees"),
        now=timezone.now(),
    )
    response = client_for(resident_a).get(ballot_url(area_a_ballot), follow=True)
    assert "recorded your paper ballot for Area A. It counts as it is." in response.text
    assert "Save my vote" not in response.text


def test_a_resident_whose_area_has_no_pot_is_told_so_and_offered_the_whole_council(
    resident_b, area_a_ballot
):
    """Area B has no budget in this round; a whole-council pot does."""
    council = RoundAreaFactory(
        budget_round=area_a_ballot.budget_round,
        area__name="Whole borough",
        area__slug="whole-borough",
        area__is_city_wide=True,
        budget=Decimal("1000.00"),
    )
    page = client_for(resident_b).get(
        reverse("voting:vote", args=[area_a_ballot.budget_round.slug])
    )
    text = page.content.decode()
    assert "which has no budget of its own in this round" in text
    assert "You can vote on the proposals for your area" not in text
    assert f'Vote<span class="visually-hidden"> for {council.area.name}' in text
