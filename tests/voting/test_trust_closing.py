"""The close job isolates failures: when one area's count raises, every other area of
that round and of later rounds is still published; the failure is recorded with a
back-off, then waits for an officer, whose retry from the dashboard lets the next run
publish it. Meanwhile the results pages say "Count delayed"."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from pb_platform.models import JobItem, JobItemEvent, JobItemEventKind, JobItemStatus
from proposals.models import CountingRule, ProposalStatus, RoundArea
from proposals.phases import Phase
from tests.conftest import client_for
from tests.factories import (
    AreaFactory,
    BudgetRoundFactory,
    ProposalFactory,
    ResidentProfileFactory,
    RoundAreaFactory,
)
from tests.voting.test_results_pages import page_text
from voting.models import AreaResult, Ballot, BallotChannel, BallotChoice
from voting.services import results
from voting.services.ballots import receipt_code_new
from voting.tasks import close_count_publish


class Clock:
    """The time every ``timezone.now()`` call sees, moved on by the test."""

    def __init__(self) -> None:
        self.now = timezone.now()

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(timezone, "now", lambda: clock.now)
    return clock


@pytest.fixture
def broken(monkeypatch):
    """Round-area ids whose count raises, as a bug in the rule or bad data would."""
    ids: set[int] = set()
    area_count = results.area_count

    def count(*, round_area, rule):
        if round_area.pk in ids:
            raise ZeroDivisionError("division by zero in the rule")
        return area_count(round_area=round_area, rule=rule)

    monkeypatch.setattr(results, "area_count", count)
    return ids


def ended_round(name: str, slug: str, areas: list[str], *, voting_ended_ago=timedelta(hours=1)):
    """A greedy round whose voting ended ``voting_ended_ago``, one ballot per area."""
    now = timezone.now()
    budget_round = BudgetRoundFactory(
        phase=Phase.RESULTS, name=name, slug=slug, counting_rule=CountingRule.GREEDY
    )
    budget_round.voting_ends = now - voting_ended_ago
    budget_round.voting_starts = budget_round.voting_ends - timedelta(days=1)
    budget_round.save(update_fields=["voting_ends", "voting_starts"])
    round_areas = []
    for area_name in areas:
        area = AreaFactory(name=area_name)
        round_area = RoundAreaFactory(budget_round=budget_round, area=area, budget=Decimal(5000))
        proposal = ProposalFactory(
            budget_round=budget_round,
            round_area=round_area,
            estimated_cost=Decimal(1000),
            status=ProposalStatus.FEASIBLE,
        )
        ballot = Ballot.objects.create(
            round_area=round_area,
            voter=ResidentProfileFactory(area=area).user,
            channel=BallotChannel.ONLINE,
            receipt_code=receipt_code_new(),
        )
        BallotChoice.objects.create(ballot=ballot, proposal=proposal)
        round_areas.append(round_area)
    return budget_round, round_areas


@pytest.fixture
def two_rounds(db):
    fund, (old_town, eastgate, riverside) = ended_round(
        "Neighbourhood Fund 2026", "fund", ["Old Town", "Eastgate", "Riverside"]
    )
    _parks, (parks_area,) = ended_round(
        "Parks 2026", "parks", ["Northfield"], voting_ended_ago=timedelta(minutes=30)
    )
    return {
        "fund": fund,
        "old_town": old_town,
        "others": [eastgate, riverside, parks_area],
    }


def published(round_area) -> bool:
    return AreaResult.objects.filter(round_area=round_area, published_at__isnull=False).exists()


def job_item(round_area) -> JobItem:
    return JobItem.objects.get(
        job="voting.close_count_publish", item_key=f"round_area:{round_area.pk}"
    )


def test_one_area_failing_never_stops_the_others(two_rounds, broken, clock):
    old_town = two_rounds["old_town"]
    broken.add(old_town.pk)

    # Old Town comes first in the job's order: before, its error stopped every later area.
    assert close_count_publish.apply().get() == 3

    assert all(published(round_area) for round_area in two_rounds["others"])
    assert not published(old_town)
    old_town.refresh_from_db()
    assert old_town.voting_closed_at is None  # its claim was rolled back with its work
    item = job_item(old_town)
    assert item.status == JobItemStatus.FAILING
    assert item.attempts == 1
    assert item.last_error == "ZeroDivisionError: division by zero in the rule"
    assert item.last_failed_at == clock.now
    assert item.next_try_at == clock.now + timedelta(minutes=1)
    assert item.label == "Counting Old Town in Neighbourhood Fund 2026"
    assert list(item.events.values_list("kind", "attempt")) == [(JobItemEventKind.FAILED, 1)]


def test_a_failed_area_waits_for_its_back_off_then_for_an_officer(two_rounds, broken, clock):
    old_town = two_rounds["old_town"]
    broken.add(old_town.pk)
    close_count_publish.apply().get()

    # A run before the back-off has passed leaves the area alone.
    clock.advance(seconds=30)
    close_count_publish.apply().get()
    assert job_item(old_town).attempts == 1

    # Then 1, 2, 4 and 8 minutes between tries; after the 5th failure no next try.
    for attempts, wait in ((2, 1), (3, 2), (4, 4)):
        clock.advance(minutes=wait)
        close_count_publish.apply().get()
        item = job_item(old_town)
        assert item.attempts == attempts
        assert item.next_try_at == clock.now + timedelta(minutes=2 ** (attempts - 1))
    clock.advance(minutes=8)
    close_count_publish.apply().get()
    item = job_item(old_town)
    assert item.attempts == 5
    assert item.status == JobItemStatus.NEEDS_OFFICER
    assert item.next_try_at is None

    # It is no longer tried automatically, however long we wait.
    clock.advance(days=1)
    close_count_publish.apply().get()
    assert job_item(old_town).attempts == 5
    assert not published(old_town)


def fail_five_times(round_area, clock):
    for _attempt in range(5):
        close_count_publish.apply().get()
        clock.advance(minutes=10)
    assert job_item(round_area).status == JobItemStatus.NEEDS_OFFICER


def test_the_dashboard_shows_the_failure_and_the_officers_retry_publishes_it(
    two_rounds, broken, clock, officer
):
    old_town = two_rounds["old_town"]
    broken.add(old_town.pk)
    fail_five_times(old_town, clock)
    client = client_for(officer)

    dashboard = page_text(client.get(reverse("proposals:officer_dashboard")))
    assert (
        "Counting Old Town in Neighbourhood Fund 2026 failed 5 times: "
        "ZeroDivisionError: division by zero in the rule" in dashboard
    )
    assert "waits for an officer to retry it" in dashboard
    assert "Traceback" not in dashboard

    # The bug is fixed; the officer retries from the dashboard.
    broken.clear()
    retried_at = clock.now
    response = client.post(reverse("job_item_retry", args=[job_item(old_town).pk]))
    assert response.status_code == 302
    assert response.url == reverse("proposals:officer_dashboard")
    assert "will be tried again on the job's next run" in page_text(client.get(response.url))
    item = job_item(old_town)
    assert (item.status, item.attempts, item.retried_by, item.retried_at) == (
        JobItemStatus.FAILING,
        0,
        officer,
        retried_at,
    )
    retry = item.events.get(kind=JobItemEventKind.RETRIED)
    assert (retry.by, retry.at) == (officer, retried_at)

    assert close_count_publish.apply().get() == 1
    assert published(old_town)
    item = job_item(old_town)
    assert (item.status, item.attempts, item.next_try_at) == (JobItemStatus.OK, 0, None)
    assert item.events.filter(kind=JobItemEventKind.SUCCEEDED).count() == 1
    dashboard = page_text(client.get(reverse("proposals:officer_dashboard")))
    assert "Jobs that need attention" not in dashboard
    assert "failed 5 times" not in dashboard


@pytest.mark.parametrize("persona", ["resident_a", "auditor"])
def test_a_resident_or_auditor_cannot_retry(two_rounds, broken, clock, persona, request):
    old_town = two_rounds["old_town"]
    broken.add(old_town.pk)
    fail_five_times(old_town, clock)
    broken.clear()
    before = list(JobItem.objects.values()), list(JobItemEvent.objects.values())

    response = client_for(request.getfixturevalue(persona)).post(
        reverse("job_item_retry", args=[job_item(old_town).pk])
    )

    assert response.status_code == 403
    assert "Only council officers can retry" in response.content.decode()
    assert (list(JobItem.objects.values()), list(JobItemEvent.objects.values())) == before
    close_count_publish.apply().get()
    assert not published(old_town)


def test_a_visitor_cannot_retry(two_rounds, broken, clock, anonymous_client):
    old_town = two_rounds["old_town"]
    broken.add(old_town.pk)
    fail_five_times(old_town, clock)

    response = anonymous_client.post(reverse("job_item_retry", args=[job_item(old_town).pk]))

    assert response.status_code == 302 and "/accounts/login/" in response.url
    assert job_item(old_town).attempts == 5
    assert not JobItemEvent.objects.filter(kind=JobItemEventKind.RETRIED).exists()


def test_the_retry_button_is_a_post_form_with_csrf(two_rounds, broken, clock, officer):
    old_town = two_rounds["old_town"]
    broken.add(old_town.pk)
    close_count_publish.apply().get()

    html = client_for(officer).get(reverse("proposals:officer_dashboard")).content.decode()

    action = reverse("job_item_retry", args=[job_item(old_town).pk])
    assert f'<form method="post" action="{action}"' in html
    assert "csrfmiddlewaretoken" in html
    assert client_for(officer).get(action).status_code == 405


# --- Results pages ---------------------------------------------------------------------


def test_results_pages_say_count_delayed_while_an_area_fails(
    two_rounds, broken, clock, anonymous_client
):
    old_town = two_rounds["old_town"]
    broken.add(old_town.pk)
    close_count_publish.apply().get()

    round_page = page_text(anonymous_client.get(reverse("voting:round_results", args=["fund"])))
    area_page = page_text(
        anonymous_client.get(reverse("voting:area_results", args=["fund", old_town.area.slug]))
    )

    assert "Old Town Count delayed." in round_page
    assert "Count delayed" in area_page
    assert "The count ran into a problem" in area_page
    assert "The results are not published yet" not in area_page


def test_a_count_simply_late_says_count_delayed_and_a_fresh_one_does_not(db, anonymous_client):
    ended_round("Late", "late", ["Old Town"], voting_ended_ago=timedelta(minutes=30))
    ended_round("Fresh", "fresh", ["Eastgate"], voting_ended_ago=timedelta(seconds=5))

    late = page_text(anonymous_client.get(reverse("voting:round_results", args=["late"])))
    fresh = page_text(anonymous_client.get(reverse("voting:round_results", args=["fresh"])))

    assert "Count delayed" in late
    assert "The votes in Old Town are normally counted within a few minutes" in late
    assert "Count delayed" not in fresh
    assert "The results are not published yet" in fresh


def round_page_queries(client, slug: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("voting:round_results", args=[slug])).status_code == 200
    return len(queries)


def test_count_delayed_keeps_the_query_count_constant(db, broken, clock, anonymous_client):
    _small, small_areas = ended_round("Small", "small", ["A1", "A2"])
    _big, big_areas = ended_round("Big", "big", [f"B{i}" for i in range(6)])
    broken.update([small_areas[0].pk, *[round_area.pk for round_area in big_areas[:4]]])
    close_count_publish.apply().get()

    assert round_page_queries(anonymous_client, "small") == round_page_queries(
        anonymous_client, "big"
    )
    assert RoundArea.objects.filter(voting_closed_at__isnull=True).count() == 5
