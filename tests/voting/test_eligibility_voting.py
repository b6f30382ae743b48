"""Rounds that require eligibility-verified voters, and a minimum age: who may vote, what
they are told when they may not, and paper ballots matched to the same register entry so
nobody votes once on paper and once online."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from pb_platform.policies import PolicyDenied
from proposals import policies as proposal_policies
from proposals.models import (
    EligibilityMethod,
    ProposalStatus,
    RegisterEntry,
    ResidentProfile,
    VerificationRequired,
)
from proposals.phases import Phase
from proposals.services import eligibility
from proposals.services.register import register_import
from tests.conftest import client_for
from tests.factories import BudgetRoundFactory, ProposalFactory, RoundAreaFactory
from voting import policies
from voting.models import Ballot
from voting.services.ballots import ballot_submit, paper_ballot_record, walk_in_voter_register

REGISTER = b"reference,date_of_birth,area\nAB-1,1980-02-29,Area A\nAB-2,2012-06-01,Area A\n"


@pytest.fixture
def register(officer, area_a):
    register_import(
        officer=officer, csv_bytes=REGISTER, file_name="r.csv", dry_run=False, now=timezone.now()
    )


def ballot_in(area, **round_fields):
    budget_round = BudgetRoundFactory(phase=Phase.VOTING, name="Spring vote", **round_fields)
    round_area = RoundAreaFactory(budget_round=budget_round, area=area, budget=Decimal(5000))
    ProposalFactory(
        budget_round=budget_round,
        round_area=round_area,
        title="Benches",
        estimated_cost=Decimal(1000),
        status=ProposalStatus.FEASIBLE,
        official_cost=Decimal(1000),
    )
    return round_area


def choice(round_area):
    return [round_area.proposals.get(title="Benches").pk]


def verify(user, method, officer=None, reference="AB-1", born=date(1980, 2, 29)):
    try:
        return _verify(user, method, officer, reference, born)
    finally:
        user.refresh_from_db()  # as the next request would load it


def _verify(user, method, officer, reference, born):
    if method == EligibilityMethod.REGISTER:
        return eligibility.eligibility_verify_by_register(
            user=user,
            reference=reference,
            date_of_birth=born,
            postcode="",
            ip="10.0.0.1",
            now=timezone.now(),
        )
    if method == EligibilityMethod.CODE:
        area = ResidentProfile.objects.get(user=user).area
        (code,) = eligibility.verification_codes_generate(
            officer=officer, area=area, count=1, now=timezone.now()
        )
        return eligibility.eligibility_verify_by_code(
            user=user, code=code, ip="10.0.0.1", now=timezone.now()
        )
    return eligibility.eligibility_verify_in_person(
        officer=officer, profile=ResidentProfile.objects.get(user=user), now=timezone.now()
    )


def may_vote(user, round_area, **kwargs):
    user.refresh_from_db()
    return policies.can_vote(user, round_area, now=timezone.now(), **kwargs)


def test_rounds_require_nothing_by_default(resident_a, area_a):
    round_area = ballot_in(area_a)
    assert round_area.budget_round.verification_required == VerificationRequired.NONE
    assert may_vote(resident_a, round_area)


def test_an_unverified_resident_is_told_why_and_nothing_is_stored(resident_a, area_a):
    round_area = ballot_in(area_a, verification_required=VerificationRequired.REGISTER)

    decision = may_vote(resident_a, round_area)
    assert not decision
    assert "eligibility-verified residents" in decision.reason
    assert "not eligibility-verified yet" in decision.reason
    with pytest.raises(PolicyDenied):
        ballot_submit(
            voter=resident_a,
            round_area=round_area,
            proposal_ids=choice(round_area),
            now=timezone.now(),
        )
    assert not Ballot.objects.exists()


def test_unverified_residents_still_propose_and_comment(resident_a, area_a):
    budget_round = BudgetRoundFactory(
        phase=Phase.SUBMISSION, verification_required=VerificationRequired.REGISTER
    )
    assert proposal_policies.can_create_proposal(resident_a, budget_round, now=timezone.now())


@pytest.mark.parametrize(
    ("required", "method", "allowed"),
    [
        (VerificationRequired.REGISTER, EligibilityMethod.REGISTER, True),
        (VerificationRequired.REGISTER, EligibilityMethod.CODE, False),
        (VerificationRequired.REGISTER, EligibilityMethod.IN_PERSON, False),
        (VerificationRequired.CODE, EligibilityMethod.CODE, True),
        (VerificationRequired.CODE, EligibilityMethod.REGISTER, False),
        (VerificationRequired.ANY, EligibilityMethod.REGISTER, True),
        (VerificationRequired.ANY, EligibilityMethod.CODE, True),
        (VerificationRequired.ANY, EligibilityMethod.IN_PERSON, True),
    ],
)
def test_which_check_satisfies_which_round(
    register, officer, resident_a, area_a, required, method, allowed
):
    round_area = ballot_in(area_a, verification_required=required)
    verify(resident_a, method, officer=officer)

    decision = may_vote(resident_a, round_area)
    assert bool(decision) is allowed, decision.reason
    if allowed:
        ballot = ballot_submit(
            voter=resident_a,
            round_area=round_area,
            proposal_ids=choice(round_area),
            now=timezone.now(),
        )
        assert ballot.pk
    else:
        assert "Yours was made another way" in decision.reason


# --- Minimum age --------------------------------------------------------------------------


def test_minimum_age_checked_against_the_registers_date_of_birth(register, area_a, resident_a):
    round_area = ballot_in(area_a, minimum_age=16)
    verify(resident_a, EligibilityMethod.REGISTER, reference="AB-2", born=date(2012, 6, 1))

    decision = may_vote(resident_a, round_area, age_declared=True)
    assert not decision and "at least 16" in decision.reason


def test_without_a_date_of_birth_the_voter_declares_the_age(area_a, resident_a):
    round_area = ballot_in(area_a, minimum_age=16)
    assert may_vote(resident_a, round_area)  # the ballot is offered
    with pytest.raises(PolicyDenied, match="declare that you are at least 16"):
        ballot_submit(
            voter=resident_a,
            round_area=round_area,
            proposal_ids=choice(round_area),
            now=timezone.now(),
        )
    ballot = ballot_submit(
        voter=resident_a,
        round_area=round_area,
        proposal_ids=choice(round_area),
        now=timezone.now(),
        age_declared=True,
    )
    assert ballot.age_declared


def test_the_ballot_page_asks_for_the_declaration(area_a, resident_a):
    round_area = ballot_in(area_a, minimum_age=16)
    url = reverse("voting:ballot", args=[round_area.budget_round.slug, area_a.slug])
    client = client_for(resident_a)
    assert "I declare that I am at least 16 years old" in client.get(url).content.decode()

    missing = client.post(url, {"proposals": choice(round_area), "action": "save"})
    assert "Tick to declare that you are at least 16" in missing.content.decode()
    assert not Ballot.objects.exists()
    client.post(url, {"proposals": choice(round_area), "action": "save", "age_declared": "on"})
    assert Ballot.objects.get().age_declared


def test_the_vote_page_says_why_an_unverified_resident_cannot_vote(area_a, resident_a):
    round_area = ballot_in(area_a, verification_required=VerificationRequired.ANY)
    url = reverse("voting:ballot", args=[round_area.budget_round.slug, area_a.slug])
    response = client_for(resident_a).get(url, follow=True)
    assert "not eligibility-verified yet" in response.content.decode()


# --- Paper ballots and walk-in voters on the same register ---------------------------------


def walk_in(officer, area, budget_round, reference="AB-1", born=date(1980, 2, 29)):
    return walk_in_voter_register(
        officer=officer,
        name="Walk In",
        area=area,
        date_of_birth=born,
        today=timezone.localdate(),
        reference=reference,
        budget_round=budget_round,
        now=timezone.now(),
    )


def test_a_walk_in_matched_on_the_register_votes_on_paper_once(register, officer, area_a):
    round_area = ballot_in(area_a, verification_required=VerificationRequired.REGISTER)
    profile = walk_in(officer, area_a, round_area.budget_round)
    assert profile.eligibility_method == EligibilityMethod.REGISTER
    assert RegisterEntry.objects.get(verified_account=profile.user)

    ballot = paper_ballot_record(
        officer=officer,
        voter=profile.user,
        round_area=round_area,
        proposal_ids=choice(round_area),
        now=timezone.now(),
    )
    assert ballot.channel == "paper"


def test_online_after_paper_with_the_same_entry_is_refused(register, officer, area_a, resident_a):
    round_area = ballot_in(area_a, verification_required=VerificationRequired.REGISTER)
    profile = walk_in(officer, area_a, round_area.budget_round)
    paper_ballot_record(
        officer=officer,
        voter=profile.user,
        round_area=round_area,
        proposal_ids=choice(round_area),
        now=timezone.now(),
    )

    # The same person at home: their entry already belongs to the walk-in record.
    with pytest.raises(ValidationError, match="did not match"):
        verify(resident_a, EligibilityMethod.REGISTER)
    assert not may_vote(resident_a, round_area)


def test_paper_after_online_with_the_same_entry_is_refused(
    register, officer, area_a, area_b, resident_a
):
    round_area = ballot_in(area_a, verification_required=VerificationRequired.REGISTER)
    verify(resident_a, EligibilityMethod.REGISTER)
    ballot_submit(
        voter=resident_a,
        round_area=round_area,
        proposal_ids=choice(round_area),
        now=timezone.now(),
    )

    with pytest.raises(ValidationError) as info:
        walk_in(officer, area_a, round_area.budget_round)
    assert "already voted in this round" in info.value.message_dict["register_reference"][0]
    # Claiming another area changes nothing: the entry is the person, wherever they say.
    with pytest.raises(ValidationError, match="already voted"):
        walk_in(officer, area_b, round_area.budget_round)
    assert Ballot.objects.count() == 1


def test_an_entry_with_an_account_that_has_not_voted_points_to_that_account(
    register, officer, area_a, resident_a
):
    round_area = ballot_in(area_a, verification_required=VerificationRequired.REGISTER)
    verify(resident_a, EligibilityMethod.REGISTER)
    with pytest.raises(ValidationError, match="already belongs to an account"):
        walk_in(officer, area_a, round_area.budget_round)
    # The officer records the paper ballot on that account instead.
    assert paper_ballot_record(
        officer=officer,
        voter=resident_a,
        round_area=round_area,
        proposal_ids=choice(round_area),
        now=timezone.now(),
    )


def test_a_walk_in_with_a_wrong_reference_is_not_registered(register, officer, area_a):
    round_area = ballot_in(area_a, verification_required=VerificationRequired.REGISTER)
    with pytest.raises(ValidationError, match="do not match the council's register"):
        walk_in(officer, area_a, round_area.budget_round, born=date(1980, 3, 1))
    assert not ResidentProfile.objects.filter(display_name="Walk In").exists()


def test_a_register_round_needs_the_walk_ins_reference(officer, area_a):
    round_area = ballot_in(area_a, verification_required=VerificationRequired.REGISTER)
    with pytest.raises(ValidationError, match="enter the reference on their council letter"):
        walk_in(officer, area_a, round_area.budget_round, reference="")


def test_an_unmatched_walk_in_cannot_vote_on_paper_in_a_register_round(officer, area_a):
    round_area = ballot_in(area_a, verification_required=VerificationRequired.REGISTER)
    # Registered without a reference (at another round's polling place, say).
    profile = walk_in(officer, area_a, None, reference="")
    with pytest.raises(PolicyDenied, match="matched on the council's register"):
        paper_ballot_record(
            officer=officer,
            voter=profile.user,
            round_area=round_area,
            proposal_ids=choice(round_area),
            now=timezone.now(),
        )
    assert not Ballot.objects.exists()


def test_the_walk_in_page_matches_the_register_reference(register, officer, area_a):
    round_area = ballot_in(area_a, verification_required=VerificationRequired.REGISTER)
    url = reverse("voting:walk_in", args=[round_area.budget_round.slug])
    client = client_for(officer)
    data = {"name": "Mo Walk-in", "area": area_a.pk, "date_of_birth": "1980-02-29"}

    wrong = client.post(url, data | {"register_reference": "AB-9"})
    assert "do not match the council&#x27;s register" in wrong.content.decode()
    assert not ResidentProfile.objects.filter(display_name="Mo Walk-in").exists()

    right = client.post(url, data | {"register_reference": "ab-1"})
    assert right.status_code == 302
    profile = ResidentProfile.objects.get(display_name="Mo Walk-in")
    assert profile.eligibility_method == EligibilityMethod.REGISTER
    done = client.post(right.url, {"proposals": choice(round_area)}, follow=True)
    assert done.status_code == 200
    assert Ballot.objects.get(voter=profile.user).channel == "paper"


def test_a_paper_ballot_records_the_age_declaration_the_officer_ticked(officer, area_a, resident_a):
    round_area = ballot_in(area_a, minimum_age=16)
    url = reverse(
        "voting:paper_ballot",
        args=[round_area.budget_round.slug, resident_a.resident_profile.pk, area_a.slug],
    )
    client = client_for(officer)
    assert "The voter declared being at least 16 years old" in client.get(url).content.decode()

    missing = client.post(url, {"proposals": choice(round_area)})
    assert "declared being at least 16" in missing.content.decode()
    assert not Ballot.objects.exists()
    client.post(url, {"proposals": choice(round_area), "age_declared": "on"})
    assert Ballot.objects.get(voter=resident_a).age_declared


def test_the_round_page_says_who_may_vote(area_a, anonymous_client):
    round_area = ballot_in(area_a, verification_required=VerificationRequired.ANY, minimum_age=16)
    html = anonymous_client.get(round_area.budget_round.get_absolute_url()).content.decode()
    assert "Eligibility-verified residents" in html
    assert "Voters must be at least 16 years old." in html
