"""Casting ballots through the services: who may vote where and when, what a ballot may
hold, one ballot per person per area, paper ballots and walk-in voters."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from pb_platform.models import OutboxEmail
from pb_platform.policies import PolicyDenied
from pb_platform.tasks import send_outbox_email
from proposals.models import BallotType, ProposalStatus, ResidentProfile
from proposals.phases import Phase
from tests.factories import (
    AreaFactory,
    BudgetRoundFactory,
    ProposalFactory,
    ResidentProfileFactory,
    RoundAreaFactory,
)
from voting.models import Ballot, BallotChannel, BallotChoice
from voting.services.ballots import (
    ballot_submit,
    paper_ballot_record,
    receipt_code_new,
    walk_in_voter_register,
)


@pytest.fixture(autouse=True)
def worker(monkeypatch):
    """Stands in for broker + worker: each queued email is sent here, at once."""
    monkeypatch.setattr(
        send_outbox_email, "delay", lambda item_id: send_outbox_email.apply(args=[item_id])
    )


@pytest.fixture
def voting_round(db):
    return BudgetRoundFactory(phase=Phase.VOTING, name="Spring vote")


@pytest.fixture
def area_a_ballot(voting_round, area_a):
    """Area A's ballot: three feasible proposals (1,000 + 2,000 + 3,000) in a 5,000 budget,
    plus one not feasible and one submitted, which are not on the ballot."""
    round_area = RoundAreaFactory(budget_round=voting_round, area=area_a, budget=Decimal(5000))
    for title, cost in (("Benches", 1000), ("Trees", 2000), ("Lights", 3000)):
        ProposalFactory(
            budget_round=voting_round,
            round_area=round_area,
            title=title,
            estimated_cost=Decimal(cost),
            status=ProposalStatus.FEASIBLE,
        )
    ProposalFactory(
        budget_round=voting_round,
        round_area=round_area,
        title="Not feasible",
        status=ProposalStatus.NOT_FEASIBLE,
    )
    ProposalFactory(budget_round=voting_round, round_area=round_area, title="Never reviewed")
    return round_area


def ids(round_area, *titles):
    return [round_area.proposals.get(title=title).pk for title in titles]


def stored_choices(ballot):
    return set(BallotChoice.objects.filter(ballot=ballot).values_list("proposal__title", flat=True))


def test_a_resident_votes_and_gets_a_receipt_by_email(
    resident_a, area_a_ballot, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        ballot = ballot_submit(
            voter=resident_a,
            round_area=area_a_ballot,
            proposal_ids=ids(area_a_ballot, "Benches", "Trees"),
            now=timezone.now(),
        )

    assert ballot.channel == BallotChannel.ONLINE
    assert stored_choices(ballot) == {"Benches", "Trees"}
    assert len(ballot.receipt_code) == 19  # XXXX-XXXX-XXXX-XXXX
    # The email (sent by the task after commit; eager in tests) has the code, not the choices.
    assert len(mail.outbox) == 1
    assert ballot.receipt_code in mail.outbox[0].body
    assert "Benches" not in mail.outbox[0].body
    assert OutboxEmail.objects.get(params__ballot_id=ballot.pk).sent_at is not None


def test_changing_the_vote_replaces_the_choices_and_keeps_one_ballot(
    resident_a, area_a_ballot, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = ballot_submit(
            voter=resident_a,
            round_area=area_a_ballot,
            proposal_ids=ids(area_a_ballot, "Benches", "Trees"),
            now=timezone.now(),
        )
    with django_capture_on_commit_callbacks(execute=True):
        second = ballot_submit(
            voter=resident_a,
            round_area=area_a_ballot,
            proposal_ids=ids(area_a_ballot, "Lights"),
            now=timezone.now(),
        )

    assert Ballot.objects.filter(voter=resident_a).count() == 1
    assert second.pk == first.pk and second.receipt_code == first.receipt_code
    assert stored_choices(second) == {"Lights"}
    assert len(mail.outbox) == 2
    assert "changed vote" in mail.outbox[-1].body


@pytest.mark.parametrize(
    ("titles", "message"),
    [
        (("Benches", "Trees", "Lights"), "which is £1,000.00 more than the £5,000.00 available"),
        ((), "Choose at least one proposal"),
        (("Not feasible",), "not on the ballot"),
        (("Never reviewed",), "not on the ballot"),
    ],
)
def test_a_bad_ballot_is_refused_and_nothing_is_stored(resident_a, area_a_ballot, titles, message):
    with pytest.raises(ValidationError, match=message):
        ballot_submit(
            voter=resident_a,
            round_area=area_a_ballot,
            proposal_ids=ids(area_a_ballot, *titles),
            now=timezone.now(),
        )
    assert not Ballot.objects.exists()


def test_unknown_and_other_areas_proposals_are_refused(resident_a, area_a_ballot, voting_round):
    elsewhere = ProposalFactory(budget_round=voting_round, status=ProposalStatus.FEASIBLE)
    for proposal_ids in ([elsewhere.pk], [999_999]):
        with pytest.raises(ValidationError, match="not on the ballot"):
            ballot_submit(
                voter=resident_a,
                round_area=area_a_ballot,
                proposal_ids=proposal_ids,
                now=timezone.now(),
            )
    assert not Ballot.objects.exists()


def test_k_approval_allows_up_to_k(resident_a, area_a_ballot, voting_round):
    voting_round.ballot_type = BallotType.K_APPROVAL
    voting_round.max_choices = 2
    voting_round.save()
    area_a_ballot.refresh_from_db()

    with pytest.raises(ValidationError, match="You chose 3 proposals; you may choose up to 2"):
        ballot_submit(
            voter=resident_a,
            round_area=area_a_ballot,
            proposal_ids=ids(area_a_ballot, "Benches", "Trees", "Lights"),
            now=timezone.now(),
        )
    ballot = ballot_submit(
        voter=resident_a,
        round_area=area_a_ballot,
        proposal_ids=ids(area_a_ballot, "Trees", "Lights"),
        now=timezone.now(),
    )
    assert stored_choices(ballot) == {"Trees", "Lights"}


def test_a_resident_cannot_vote_for_an_area_they_do_not_live_in(resident_b, area_a_ballot):
    with pytest.raises(PolicyDenied, match="You live in Area B, so you cannot vote"):
        ballot_submit(
            voter=resident_b,
            round_area=area_a_ballot,
            proposal_ids=ids(area_a_ballot, "Benches"),
            now=timezone.now(),
        )
    assert not Ballot.objects.exists()


def test_everyone_may_vote_in_a_city_wide_area(resident_a, resident_b, voting_round):
    city = RoundAreaFactory(
        budget_round=voting_round, area=AreaFactory(name="Whole town", is_city_wide=True)
    )
    park = ProposalFactory(
        budget_round=voting_round, round_area=city, status=ProposalStatus.FEASIBLE
    )
    for voter in (resident_a, resident_b):
        ballot_submit(voter=voter, round_area=city, proposal_ids=[park.pk], now=timezone.now())
    assert city.ballots.count() == 2


@pytest.mark.parametrize("moment", ["before", "after"])
def test_no_ballot_outside_the_voting_phase(resident_a, area_a_ballot, voting_round, moment):
    # The clock decides, even though no job has moved the round's stored state.
    now = (
        voting_round.voting_starts - timedelta(seconds=1)
        if moment == "before"
        else voting_round.voting_ends
    )
    expected = "opens on" if moment == "before" else "closed on"
    with pytest.raises(PolicyDenied, match=expected):
        ballot_submit(
            voter=resident_a,
            round_area=area_a_ballot,
            proposal_ids=ids(area_a_ballot, "Benches"),
            now=now,
        )
    assert not Ballot.objects.exists()


def test_no_ballot_once_the_area_is_counted(resident_a, area_a_ballot):
    area_a_ballot.voting_closed_at = timezone.now()
    area_a_ballot.save()
    with pytest.raises(PolicyDenied, match="has closed and the votes have been counted"):
        ballot_submit(
            voter=resident_a,
            round_area=area_a_ballot,
            proposal_ids=ids(area_a_ballot, "Benches"),
            now=timezone.now(),
        )


def test_staff_without_a_resident_profile_cannot_vote(officer, area_a_ballot):
    with pytest.raises(PolicyDenied, match="Only registered residents can vote"):
        ballot_submit(
            voter=officer,
            round_area=area_a_ballot,
            proposal_ids=ids(area_a_ballot, "Benches"),
            now=timezone.now(),
        )


def test_the_database_refuses_a_second_ballot_for_the_same_person(resident_a, area_a_ballot):
    Ballot.objects.create(
        round_area=area_a_ballot,
        voter=resident_a,
        channel=BallotChannel.ONLINE,
        receipt_code=receipt_code_new(),
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Ballot.objects.create(
            round_area=area_a_ballot,
            voter=resident_a,
            channel=BallotChannel.PAPER,
            recorded_by=resident_a,
            receipt_code=receipt_code_new(),
        )


# --- Paper ballots and walk-in voters ----------------------------------------------------


def test_an_officer_records_a_paper_ballot_once(officer, resident_a, area_a_ballot):
    ballot = paper_ballot_record(
        officer=officer,
        voter=resident_a,
        round_area=area_a_ballot,
        proposal_ids=ids(area_a_ballot, "Trees"),
        now=timezone.now(),
    )
    assert ballot.channel == BallotChannel.PAPER and ballot.recorded_by == officer
    assert stored_choices(ballot) == {"Trees"}

    with pytest.raises(PolicyDenied, match=r"A paper ballot for Alex of A .* already recorded"):
        paper_ballot_record(
            officer=officer,
            voter=resident_a,
            round_area=area_a_ballot,
            proposal_ids=ids(area_a_ballot, "Lights"),
            now=timezone.now(),
        )
    # Nor can the resident then vote online: the paper ballot counts.
    with pytest.raises(PolicyDenied, match="recorded your paper ballot"):
        ballot_submit(
            voter=resident_a,
            round_area=area_a_ballot,
            proposal_ids=ids(area_a_ballot, "Lights"),
            now=timezone.now(),
        )
    assert Ballot.objects.count() == 1
    assert stored_choices(ballot) == {"Trees"}


def test_no_paper_ballot_for_someone_who_voted_online(officer, resident_a, area_a_ballot):
    online = ballot_submit(
        voter=resident_a,
        round_area=area_a_ballot,
        proposal_ids=ids(area_a_ballot, "Benches"),
        now=timezone.now(),
    )
    with pytest.raises(PolicyDenied, match=r"already voted online .* Their online vote counts"):
        paper_ballot_record(
            officer=officer,
            voter=resident_a,
            round_area=area_a_ballot,
            proposal_ids=ids(area_a_ballot, "Lights"),
            now=timezone.now(),
        )
    assert list(Ballot.objects.all()) == [online]
    assert stored_choices(online) == {"Benches"}


def test_a_walk_in_voter_is_registered_then_votes_on_paper(officer, area_a, area_a_ballot):
    profile = walk_in_voter_register(
        officer=officer,
        name="  Pat   Walker ",
        area=area_a,
        date_of_birth=date(1950, 3, 27),
        today=date.today(),
    )
    assert profile.display_name == "Pat Walker"
    assert profile.registered_by == officer
    assert not profile.user.has_usable_password() and profile.user.email == ""

    ballot = paper_ballot_record(
        officer=officer,
        voter=profile.user,
        round_area=area_a_ballot,
        proposal_ids=ids(area_a_ballot, "Benches"),
        now=timezone.now(),
    )
    assert ballot.voter == profile.user
    assert mail.outbox == []  # nobody to email; the officer hands over the receipt


def test_a_walk_in_voter_cannot_be_registered_twice(officer, area_a):
    walk_in_voter_register(
        officer=officer, name="Pat Walker", area=area_a, date_of_birth=date(1950, 3, 27),
        today=date.today(),
    )  # fmt: skip
    with pytest.raises(ValidationError, match="already registered"):
        walk_in_voter_register(
            officer=officer, name="pat walker", area=area_a, date_of_birth=date(1950, 3, 27),
            today=date.today(),
        )  # fmt: skip
    assert ResidentProfile.objects.filter(display_name__iexact="pat walker").count() == 1


@pytest.mark.parametrize(
    ("name", "born", "city_wide", "field"),
    [
        ("", date(1950, 1, 1), False, "name"),
        ("Pat", date.today() + timedelta(days=1), False, "date_of_birth"),
        ("Pat", date(1850, 1, 1), False, "date_of_birth"),
        ("Pat", date(1950, 1, 1), True, "area"),
    ],
)
def test_walk_in_registration_checks_its_input(officer, name, born, city_wide, field):
    area = AreaFactory(is_city_wide=city_wide)
    with pytest.raises(ValidationError) as error:
        walk_in_voter_register(
            officer=officer, name=name, area=area, date_of_birth=born, today=date.today()
        )
    assert field in error.value.message_dict
    assert not ResidentProfile.objects.exists()


def test_a_walk_in_profile_needs_a_date_of_birth_in_the_database(officer, area_a):
    with pytest.raises(IntegrityError), transaction.atomic():
        ResidentProfileFactory(area=area_a, registered_by=officer, date_of_birth=None)
