"""Optional, anonymous equality monitoring: a round may ask online voters their age
band and whether they are disabled, once, with their first ballot. Only counts are
kept (nothing joins an answer to a ballot or a person), and they are published, with
small counts hidden, on "Who took part" once voting has closed."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from pb_platform.roles import RESIDENT, role_grant
from proposals.models import ProposalStatus
from proposals.phases import Phase
from tests.conftest import client_for
from tests.factories import (
    BudgetRoundFactory,
    ProposalFactory,
    ResidentProfileFactory,
    RoundAreaFactory,
)
from voting.models import Ballot, EqualityTally
from voting.participation import round_equality
from voting.services.ballots import _equality_count


@pytest.fixture
def asking_ballot(area_a):
    budget_round = BudgetRoundFactory(
        phase=Phase.VOTING, name="Spring vote", slug="spring", asks_equality_questions=True
    )
    round_area = RoundAreaFactory(budget_round=budget_round, area=area_a, budget=Decimal(5000))
    ProposalFactory(
        budget_round=budget_round,
        round_area=round_area,
        title="Benches",
        estimated_cost=Decimal(1000),
        status=ProposalStatus.FEASIBLE,
    )
    return round_area


def url(round_area):
    return reverse("voting:ballot", args=[round_area.budget_round.slug, round_area.area.slug])


def vote(user, round_area, **answers):
    data = {"proposals": [round_area.proposals.get().pk], "action": "save"}
    data.update({f"equality_{question}": answer for question, answer in answers.items()})
    return client_for(user).post(url(round_area), data)


def neighbour(area):
    profile = ResidentProfileFactory(area=area)
    role_grant(user=profile.user, role=RESIDENT)
    return profile.user


def tallies(budget_round):
    return dict(
        ((q, a), n)
        for q, a, n in EqualityTally.objects.filter(budget_round=budget_round).values_list(
            "question", "answer", "count"
        )
    )


def test_a_first_ballot_counts_the_answers_and_a_changed_one_does_not(resident_a, asking_ballot):
    page = client_for(resident_a).get(url(asking_ballot)).content.decode()
    assert "About you (optional, anonymous)" in page and "How old are you?" in page
    assert vote(resident_a, asking_ballot, age_band="25-34", disability="no").status_code == 302
    assert tallies(asking_ballot.budget_round) == {
        ("age_band", "25-34"): 1,
        ("disability", "no"): 1,
    }
    # Changing the vote: the questions are not asked again and nothing is counted twice.
    assert "How old are you?" not in client_for(resident_a).get(url(asking_ballot)).text
    vote(resident_a, asking_ballot, age_band="75+")
    assert tallies(asking_ballot.budget_round)[("age_band", "25-34")] == 1
    assert ("age_band", "75+") not in tallies(asking_ballot.budget_round)


def test_skipping_the_questions_is_fine_and_counts_nothing(resident_a, asking_ballot):
    assert vote(resident_a, asking_ballot).status_code == 302
    assert Ballot.objects.filter(voter=resident_a).exists()
    assert not EqualityTally.objects.exists()


def test_a_forged_answer_is_refused_on_its_field_and_no_ballot_is_saved(resident_a, asking_ballot):
    response = vote(resident_a, asking_ballot, age_band="12")
    assert response.status_code == 200
    assert "Choose one of the answers, or none." in response.content.decode()
    assert not Ballot.objects.exists() and not EqualityTally.objects.exists()


def test_nothing_links_an_answer_to_a_ballot_or_a_person():
    fields = {field.name for field in EqualityTally._meta.get_fields()}
    assert fields == {"id", "budget_round", "question", "answer", "count"}


def test_the_database_refuses_an_unknown_answer(asking_ballot):
    with pytest.raises(IntegrityError), transaction.atomic():
        EqualityTally.objects.create(
            budget_round=asking_ballot.budget_round, question="age_band", answer="yes"
        )


def test_a_round_that_does_not_ask_shows_no_questions(resident_a, area_a):
    budget_round = BudgetRoundFactory(phase=Phase.VOTING, slug="plain")
    round_area = RoundAreaFactory(budget_round=budget_round, area=area_a, budget=Decimal(5000))
    ProposalFactory(
        budget_round=budget_round, round_area=round_area, status=ProposalStatus.FEASIBLE
    )
    assert "How old are you?" not in client_for(resident_a).get(url(round_area)).text
    vote(resident_a, round_area, age_band="25-34")
    assert Ballot.objects.filter(voter=resident_a).exists()
    assert not EqualityTally.objects.exists()


@pytest.mark.postgresql
def test_the_database_keeps_the_setting_once_votes_are_cast(resident_a, asking_ballot):
    vote(resident_a, asking_ballot)
    rounds = type(asking_ballot.budget_round).objects.filter(pk=asking_ballot.budget_round_id)
    with pytest.raises(IntegrityError), transaction.atomic():
        rounds.update(asks_equality_questions=False)


def test_the_counts_are_published_only_after_voting_closes_with_small_ones_hidden(
    asking_ballot, area_a, client
):
    for _ in range(6):
        vote(neighbour(area_a), asking_ballot, age_band="25-34", disability="no")
    during = client.get(
        reverse("voting:round_participation", args=[asking_ballot.budget_round.slug])
    ).content.decode()
    assert "shown once voting closes" in during and "7 people answered" not in during
    closed = BudgetRoundFactory(phase=Phase.RESULTS, slug="closed", asks_equality_questions=True)
    for _ in range(6):
        _equality_count(closed.pk, {"age_band": "25-34", "disability": "no"})
    _equality_count(closed.pk, {"age_band": "75+", "disability": "yes"})
    age, disability = round_equality(budget_round=closed)
    assert age.answered == 7 and dict(age.answers)["25 to 34"] == 6
    # The one person aged 75 or over is hidden; with the total shown, so is the next
    # smallest answer (a 0), so that the one cannot be worked out by subtraction.
    assert dict(age.answers)["75 or over"] is None
    assert list(dict(age.answers).values()).count(None) >= 2
    assert dict(disability.answers)["Yes"] is None
    after = client.get(reverse("voting:round_participation", args=["closed"])).content.decode()
    assert "About the people who voted online" in after and "7 people answered" in after


def test_the_round_form_sets_the_questions_until_voting_opens(officer, db):

    budget_round = BudgetRoundFactory(phase=Phase.SUBMISSION, slug="later")
    edit = reverse("proposals:officer_round_edit", args=[budget_round.slug])
    page = client_for(officer).get(edit).content.decode()
    assert "Ask voters the optional equality questions" in page
    voting = BudgetRoundFactory(phase=Phase.VOTING, slug="now", asks_equality_questions=True)
    frozen = client_for(officer).get(reverse("proposals:officer_round_edit", args=[voting.slug]))
    assert "Voting in" in frozen.content.decode()
    assert 'name="asks_equality_questions"' not in frozen.content.decode()
