"""Officer pages for voting: paper ballots, walk-in voters, turnout. Each person votes once
per area whatever the channel; the wrong role gets 403 (or is sent to sign in) and
nothing is stored; no page shows what a voter chose."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from pb_platform.models import OutboxEmail
from pb_platform.policies import PolicyDenied
from pb_platform.roles import OFFICER, RESIDENT, role_grant
from proposals.models import ProposalStatus, ResidentProfile
from proposals.phases import Phase
from tests.conftest import client_for
from tests.factories import (
    AreaFactory,
    BudgetRoundFactory,
    ProposalFactory,
    ResidentProfileFactory,
    RoundAreaFactory,
    UserFactory,
)
from voting.models import Ballot, BallotChannel
from voting.services.ballots import ballot_submit, paper_ballot_record


def make_round(area, *, phase=Phase.VOTING, slug="vote-now"):
    round_area = RoundAreaFactory(
        area=area,
        budget=Decimal("5000.00"),
        budget_round=BudgetRoundFactory(phase=phase, slug=slug, name="Parks 2027"),
    )
    for title in ("Benches by the pond", "Swings for the park"):
        ProposalFactory(
            budget_round=round_area.budget_round,
            round_area=round_area,
            status=ProposalStatus.FEASIBLE,
            title=title,
            estimated_cost=Decimal("1000.00"),
        )
    return round_area


@pytest.fixture
def round_area(area_a):
    return make_round(area_a)


def proposals_of(round_area):
    return list(round_area.proposals.order_by("title"))


def ballot_url(round_area, profile):
    return reverse(
        "voting:paper_ballot",
        args=[round_area.budget_round.slug, profile.pk, round_area.area.slug],
    )


def profile_of(user):
    return ResidentProfile.objects.get(user=user)


def stored_ballots():
    """Every ballot with its channel and choices, to check that nothing changed."""
    return sorted(
        (
            ballot.voter_id,
            ballot.channel,
            tuple(sorted(c.proposal_id for c in ballot.choices.all())),
        )
        for ballot in Ballot.objects.prefetch_related("choices")
    )


# --- Recording paper ballots ------------------------------------------------------------


def test_officer_finds_a_resident_and_records_their_paper_ballot(officer, resident_a, round_area):
    benches, swings = proposals_of(round_area)
    client = client_for(officer)

    # Given the officer searches for the resident
    listing = client.get(reverse("voting:paper_voters", args=["vote-now"]), {"q": "alex"})
    body = listing.content.decode()
    assert "Alex of A" in body
    assert "no ballot yet" in body
    assert ballot_url(round_area, profile_of(resident_a)) in body

    # When they record the ballot
    response = client.post(
        ballot_url(round_area, profile_of(resident_a)), {"proposals": [benches.pk]}, follow=True
    )

    # Then it is stored as a paper ballot taken by this officer
    ballot = Ballot.objects.get()
    assert (ballot.voter, ballot.channel, ballot.recorded_by) == (
        resident_a,
        BallotChannel.PAPER,
        officer,
    )
    assert list(ballot.choices.values_list("proposal_id", flat=True)) == [benches.pk]
    # and the confirmation names the voter and the receipt code, not the choices
    done_url = reverse("voting:paper_ballot_done", args=["vote-now", ballot.pk])
    assert response.redirect_chain[-1][0] == done_url
    body = response.content.decode()
    assert "Alex of A" in body
    assert ballot.receipt_code in body
    assert benches.title not in body
    assert swings.title not in body
    # and the list now says they have a ballot, with no link to record another
    listing = client.get(reverse("voting:paper_voters", args=["vote-now"]), {"q": "alex"})
    assert "has a ballot" in listing.content.decode()
    assert ballot_url(round_area, profile_of(resident_a)) not in listing.content.decode()


def test_a_second_paper_ballot_for_the_same_person_is_refused(officer, resident_a, round_area):
    benches, swings = proposals_of(round_area)
    paper_ballot_record(
        officer=officer,
        voter=resident_a,
        round_area=round_area,
        proposal_ids=[benches.pk],
        now=timezone.now(),
    )
    before = stored_ballots()
    url = ballot_url(round_area, profile_of(resident_a))

    page = client_for(officer).get(url).content.decode()
    assert "Already voted" in page
    assert swings.title not in page  # no ballot form to fill in again

    response = client_for(officer).post(url, {"proposals": [swings.pk]})
    body = response.content.decode()
    assert response.status_code == 200
    assert "There is a problem" in body
    assert "A paper ballot for Alex of A in Area A was already recorded" in body
    assert stored_ballots() == before


def test_a_resident_who_voted_online_is_refused_a_paper_ballot(officer, resident_a, round_area):
    benches, swings = proposals_of(round_area)
    ballot_submit(
        voter=resident_a, round_area=round_area, proposal_ids=[benches.pk], now=timezone.now()
    )
    before = stored_ballots()

    response = client_for(officer).post(
        ballot_url(round_area, profile_of(resident_a)), {"proposals": [swings.pk]}
    )

    assert "Alex of A already voted online for Area A" in response.content.decode()
    assert stored_ballots() == before
    assert Ballot.objects.get().channel == BallotChannel.ONLINE


def test_a_resident_with_a_paper_ballot_cannot_then_vote_online(officer, resident_a, round_area):
    benches, swings = proposals_of(round_area)
    client_for(officer).post(
        ballot_url(round_area, profile_of(resident_a)), {"proposals": [benches.pk]}
    )
    before = stored_ballots()

    with pytest.raises(PolicyDenied, match="recorded your paper ballot"):
        ballot_submit(
            voter=resident_a, round_area=round_area, proposal_ids=[swings.pk], now=timezone.now()
        )

    assert stored_ballots() == before


def test_a_forged_proposal_id_is_refused(officer, resident_a, round_area, area_b):
    elsewhere = ProposalFactory(status=ProposalStatus.FEASIBLE, round_area__area=area_b)
    response = client_for(officer).post(
        ballot_url(round_area, profile_of(resident_a)), {"proposals": [elsewhere.pk]}
    )
    assert "not on this ballot" in response.content.decode()
    assert Ballot.objects.count() == 0


def test_a_resident_cannot_vote_in_another_area(officer, resident_b, round_area):
    benches, _swings = proposals_of(round_area)
    response = client_for(officer).post(
        ballot_url(round_area, profile_of(resident_b)), {"proposals": [benches.pk]}
    )
    assert "Bea of B lives in Area B, so cannot vote on proposals for Area A" in (
        response.content.decode()
    )
    assert Ballot.objects.count() == 0


@pytest.mark.parametrize(
    ("phase", "message"), [(Phase.REVIEW, "opens on"), (Phase.RESULTS, "closed on")]
)
def test_paper_ballots_are_refused_outside_the_voting_phase(
    phase, message, officer, resident_a, area_a
):
    round_area = make_round(area_a, phase=phase)
    benches, _swings = proposals_of(round_area)
    client = client_for(officer)

    page = client.get(ballot_url(round_area, profile_of(resident_a))).content.decode()
    assert message in page and "This ballot cannot be recorded now." in page
    response = client.post(
        ballot_url(round_area, profile_of(resident_a)), {"proposals": [benches.pk]}
    )

    assert message in response.content.decode()
    assert Ballot.objects.count() == 0


# --- Walk-in voters ---------------------------------------------------------------------


def walk_in_data(area, **overrides):
    return {"name": "Morwenna Trelawney", "area": area.pk, "date_of_birth": "1961-04-02"} | (
        overrides
    )


def test_officer_registers_a_walk_in_voter_then_records_their_ballot(officer, round_area):
    benches, _swings = proposals_of(round_area)
    client = client_for(officer)

    # When the officer registers a person without an account
    response = client.post(
        reverse("voting:walk_in", args=["vote-now"]), walk_in_data(round_area.area)
    )

    # Then they have a profile but no login, and the officer goes straight to their ballot
    profile = ResidentProfile.objects.get(display_name="Morwenna Trelawney")
    assert (profile.area, profile.date_of_birth, profile.registered_by) == (
        round_area.area,
        date(1961, 4, 2),
        officer,
    )
    assert profile.user.email == ""
    assert not profile.user.has_usable_password()
    assert response.status_code == 302
    assert response.url == ballot_url(round_area, profile)

    # and the ballot is recorded, with the receipt handed over rather than emailed
    page = client.get(response.url).content.decode()
    assert "Morwenna Trelawney" in page
    assert "2 April 1961" in page
    done = client.post(response.url, {"proposals": [benches.pk]}, follow=True)
    ballot = Ballot.objects.get(voter=profile.user)
    assert ballot.channel == BallotChannel.PAPER
    assert not OutboxEmail.objects.filter(recipient=profile.user).exists()
    assert ballot.receipt_code in done.content.decode()


def test_a_walk_in_voter_already_registered_is_refused(officer, round_area):
    client = client_for(officer)
    url = reverse("voting:walk_in", args=["vote-now"])
    client.post(url, walk_in_data(round_area.area))

    response = client.post(url, walk_in_data(round_area.area, name="  morwenna   TRELAWNEY "))

    body = response.content.decode()
    assert response.status_code == 200
    assert "is already registered in Area A" in body
    assert ResidentProfile.objects.filter(display_name__iexact="Morwenna Trelawney").count() == 1


def test_a_walk_in_voter_cannot_be_born_in_the_future(officer, round_area):
    response = client_for(officer).post(
        reverse("voting:walk_in", args=["vote-now"]),
        walk_in_data(round_area.area, date_of_birth=f"{timezone.localdate().year + 1}-01-01"),
    )
    assert "cannot be in the future" in response.content.decode()
    assert not ResidentProfile.objects.filter(display_name="Morwenna Trelawney").exists()


# --- Who may do what --------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["anonymous", "resident_a", "auditor"])
def test_only_officers_record_ballots_or_register_voters(
    persona, request, officer, resident_a, round_area
):
    benches, _swings = proposals_of(round_area)
    client = Client() if persona == "anonymous" else client_for(request.getfixturevalue(persona))
    profiles_before = ResidentProfile.objects.count()

    responses = [
        client.get(reverse("voting:paper_voters", args=["vote-now"])),
        client.get(ballot_url(round_area, profile_of(resident_a))),
        client.post(ballot_url(round_area, profile_of(resident_a)), {"proposals": [benches.pk]}),
        client.get(reverse("voting:walk_in", args=["vote-now"])),
        client.post(reverse("voting:walk_in", args=["vote-now"]), walk_in_data(round_area.area)),
    ]

    for response in responses:
        if persona == "anonymous":
            assert response.status_code == 302
            assert response.url.startswith(reverse("account_login"))
        else:
            assert response.status_code == 403
    assert Ballot.objects.count() == 0
    assert ResidentProfile.objects.count() == profiles_before


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("anonymous", "login"), ("resident_a", 403), ("auditor", 403), ("other_officer", 404)],
)
def test_only_the_officer_who_recorded_a_ballot_sees_its_receipt(
    persona, expected, request, officer, resident_a, round_area
):
    benches, _swings = proposals_of(round_area)
    ballot = paper_ballot_record(
        officer=officer,
        voter=resident_a,
        round_area=round_area,
        proposal_ids=[benches.pk],
        now=timezone.now(),
    )
    if persona == "other_officer":
        user = UserFactory()
        role_grant(user=user, role=OFFICER)
        client = client_for(user)
    else:
        client = (
            Client() if persona == "anonymous" else client_for(request.getfixturevalue(persona))
        )

    url = reverse("voting:paper_ballot_done", args=["vote-now", ballot.pk])
    response = client.get(url)

    if expected == "login":
        assert response.url.startswith(reverse("account_login"))
    else:
        assert response.status_code == expected
    assert ballot.receipt_code not in response.content.decode()
    assert client_for(officer).get(url).status_code == 200


def test_an_online_ballot_has_no_officer_receipt_page(officer, resident_a, round_area):
    benches, _swings = proposals_of(round_area)
    ballot = ballot_submit(
        voter=resident_a, round_area=round_area, proposal_ids=[benches.pk], now=timezone.now()
    )
    url = reverse("voting:paper_ballot_done", args=["vote-now", ballot.pk])
    assert client_for(officer).get(url).status_code == 404


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("anonymous", "login"), ("resident_a", 403), ("officer", 200), ("auditor", 200)],
)
def test_officers_and_auditors_see_turnout(persona, expected, request, round_area):
    client = Client() if persona == "anonymous" else client_for(request.getfixturevalue(persona))
    response = client.get(reverse("voting:turnout", args=["vote-now"]))
    if expected == "login":
        assert response.url.startswith(reverse("account_login"))
    else:
        assert response.status_code == expected


def test_ballot_forms_reject_posts_without_a_csrf_token(officer, resident_a, round_area):
    benches, _swings = proposals_of(round_area)
    client = Client(enforce_csrf_checks=True)
    client.force_login(officer)

    ballot = client.post(
        ballot_url(round_area, profile_of(resident_a)), {"proposals": [benches.pk]}
    )
    walk_in = client.post(
        reverse("voting:walk_in", args=["vote-now"]), walk_in_data(round_area.area)
    )

    assert (ballot.status_code, walk_in.status_code) == (403, 403)
    assert Ballot.objects.count() == 0
    assert not ResidentProfile.objects.filter(display_name="Morwenna Trelawney").exists()


def test_the_dashboard_links_to_paper_ballots_and_turnout_in_voting_only(officer, area_a):
    make_round(area_a, phase=Phase.VOTING, slug="vote-now")
    make_round(area_a, phase=Phase.REVIEW, slug="later")
    body = client_for(officer).get(reverse("proposals:officer_dashboard")).content.decode()
    assert reverse("voting:paper_voters", args=["vote-now"]) in body
    assert reverse("voting:turnout", args=["vote-now"]) in body
    assert reverse("voting:paper_voters", args=["later"]) not in body


# --- Turnout ----------------------------------------------------------------------------


def test_turnout_counts_both_channels_per_area(officer, auditor, resident_a, round_area):
    # Given three residents of Area A, one voting online and one on paper
    benches, swings = proposals_of(round_area)
    on_paper = ResidentProfileFactory(area=round_area.area, display_name="Pat Paper").user
    ResidentProfileFactory(area=round_area.area)
    ResidentProfileFactory(area=AreaFactory())  # lives elsewhere: not eligible here
    ballot_submit(
        voter=resident_a, round_area=round_area, proposal_ids=[benches.pk], now=timezone.now()
    )
    client_for(officer).post(
        ballot_url(round_area, profile_of(on_paper)), {"proposals": [swings.pk]}
    )

    # When the auditor looks at turnout
    body = client_for(auditor).get(reverse("voting:turnout", args=["vote-now"])).content.decode()

    # Then the area shows one of each, two in all, of three eligible
    row = body[body.index("Area A") :].split("</tr>")[0]
    cells = [cell.split(">")[-1] for cell in row.split("</td>")[:-1]]
    assert cells == ["1", "1", "0", "2", "3", "66.7%"]


def test_turnout_includes_everyone_for_a_city_wide_area(officer, resident_a, resident_b):
    city = AreaFactory(name="Whole council", slug="whole", is_city_wide=True)
    round_area = RoundAreaFactory(
        area=city, budget_round=BudgetRoundFactory(phase=Phase.VOTING, slug="city")
    )
    ProposalFactory(
        budget_round=round_area.budget_round, round_area=round_area, status=ProposalStatus.FEASIBLE
    )
    body = client_for(officer).get(reverse("voting:turnout", args=["city"])).content.decode()
    row = body[body.index("Whole council") :].split("</tr>")[0]
    cells = [cell.split(">")[-1] for cell in row.split("</td>")[:-1]]
    assert cells == ["0", "0", "0", "0", "2", "0.0%"]


# --- Query counts -----------------------------------------------------------------------


def make_voters(size: int, round_area, officer) -> None:
    """``size`` residents of the area, a third voting online and a third on paper, and
    ``size`` more areas in the round."""
    benches, _swings = proposals_of(round_area)
    for n, profile in enumerate(ResidentProfileFactory.create_batch(size, area=round_area.area)):
        role_grant(user=profile.user, role=RESIDENT)
        if n % 3 == 0:
            ballot_submit(
                voter=profile.user,
                round_area=round_area,
                proposal_ids=[benches.pk],
                now=timezone.now(),
            )
        elif n % 3 == 1:
            paper_ballot_record(
                officer=officer,
                voter=profile.user,
                round_area=round_area,
                proposal_ids=[benches.pk],
                now=timezone.now(),
            )
    for area in AreaFactory.create_batch(size):
        # Small budgets: the areas' budgets must fit the round's total (a PostgreSQL
        # constraint trigger checks it at commit).
        RoundAreaFactory(budget_round=round_area.budget_round, area=area, budget=Decimal("1.00"))


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(queries)


@pytest.mark.parametrize(
    ("name", "persona"), [("voting:paper_voters", "officer"), ("voting:turnout", "auditor")]
)
def test_page_query_count_does_not_grow_with_data(name, persona, request, officer, area_a):
    client = client_for(request.getfixturevalue(persona))
    small_area = make_round(area_a, slug="small")
    big_area = make_round(AreaFactory(), slug="big")

    make_voters(3, small_area, officer)
    small = count_queries(client, reverse(name, args=["small"]))
    make_voters(40, big_area, officer)
    large = count_queries(client, reverse(name, args=["big"]))

    assert small == large, f"{name}: {small} queries with little data, {large} with more"
