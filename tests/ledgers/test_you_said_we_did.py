"""You said, we did: one public page per round bringing together what residents said
(priorities), who took part, what was funded, what it cost, how delivery went and how
users assessed it; and the assessments beside the money on "where the money went"."""

from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from ledgers.assessments import assessment_submit
from ledgers.models import DeliveryStatus
from ledgers.services import delivery_update_record, milestone_add, spend_record
from pb_platform.roles import RESIDENT, role_grant
from proposals.phases import Phase
from tests.factories import BudgetRoundFactory, ResidentProfileFactory

TODAY = timezone.localdate()


def _deliver_and_assess(officer, proposal, area, scores):
    delivery_update_record(
        officer=officer,
        proposal=proposal,
        status=DeliveryStatus.DELIVERED,
        note="Done.",
        happened_on=TODAY,
        today=TODAY,
        now=timezone.now(),
    )
    for score in scores:
        profile = ResidentProfileFactory(area=area)
        role_grant(user=profile.user, role=RESIDENT)
        assessment_submit(
            user=profile.user,
            proposal=proposal,
            scores={1: score, 2: score, 3: score, 4: score},
            comment="",
            now=timezone.now(),
        )


def test_the_page_follows_the_round_from_votes_to_assessment(parks, officer, area_a):
    budget_round, proposals = parks
    trees = proposals["Trees"]
    spend_record(
        officer=officer,
        proposal=trees,
        amount="1200.00",
        supplier="Green Ltd",
        reference="INV-9",
        document_date=TODAY,
        description="Saplings",
        now=timezone.now(),
    )
    milestone_add(
        officer=officer,
        proposal=trees,
        title="Saplings bought",
        planned_on=TODAY + timedelta(days=10),
        today=TODAY,
        now=timezone.now(),
    )
    _deliver_and_assess(officer, trees, area_a, [5, 4])
    page = (
        Client().get(reverse("ledgers:you_said_we_did", args=[budget_round.slug])).content.decode()
    )
    assert "You said, we did" in page and "Area A" in page
    assert "no priorities stage" in page
    assert "Trees" in page and "£1,200.00" in page and "£2,000.00" in page
    assert "0 of 1 reached" in page
    assert "residents 4.5 (2 assessments)" in page
    assert "Lights" not in page  # not funded


def test_before_the_vote_closes_the_page_says_so(db):
    from tests.factories import timeline_in  # noqa: F401

    budget_round = BudgetRoundFactory(phase=Phase.SUBMISSION)
    response = Client().get(reverse("ledgers:you_said_we_did", args=[budget_round.slug]))
    assert response.status_code == 200
    assert "Money is allocated once voting has closed" in response.content.decode()


def test_where_the_money_went_shows_assessments_by_group(parks, officer, area_a):
    budget_round, proposals = parks
    _deliver_and_assess(officer, proposals["Benches"], area_a, [3])
    page = Client().get(reverse("ledgers:round_money", args=[budget_round.slug])).content.decode()
    assert "residents 3.0 (1 assessment)" in page
    assert "Assessment by the people who use them" in page
    assert "Residents: 1 assessment" in page and "Invited service users: 0 assessments" in page


def test_the_page_makes_the_same_queries_however_much_was_delivered_and_assessed(
    parks, officer, area_a
):
    budget_round, proposals = parks

    def queries() -> int:
        url = reverse("ledgers:you_said_we_did", args=[budget_round.slug])
        with CaptureQueriesContext(connection) as captured:
            assert Client().get(url).status_code == 200
        return len(captured)

    _deliver_and_assess(officer, proposals["Trees"], area_a, [4])
    few = queries()
    _deliver_and_assess(officer, proposals["Benches"], area_a, [5, 3, 2, 4, 1])
    for day in range(5):
        milestone_add(
            officer=officer,
            proposal=proposals["Benches"],
            title=f"Step {day}",
            planned_on=TODAY + timedelta(days=day + 1),
            today=TODAY,
            now=timezone.now(),
        )
    assert queries() == few
