"""The priorities pages as residents and officers use them, and their query counts."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from proposals.models import (
    PriorityChannel,
    PriorityPoints,
    PriorityResponse,
    PriorityStatement,
)
from proposals.phases import Phase
from tests.conftest import client_for
from tests.factories import (
    BudgetRoundFactory,
    CategoryFactory,
    ProposalFactory,
    RoundAreaFactory,
    UserFactory,
)


def _round(phase, area_a, area_b):
    budget_round = BudgetRoundFactory(phase=phase, with_priorities=True)
    themes = [
        CategoryFactory(budget_round=budget_round, name="Parks"),
        CategoryFactory(budget_round=budget_round, name="Streets"),
    ]
    round_area = RoundAreaFactory(budget_round=budget_round, area=area_a)
    RoundAreaFactory(budget_round=budget_round, area=area_b)
    return budget_round, themes, round_area


@pytest.fixture
def open_stage(area_a, area_b):
    return _round(Phase.PRIORITIES, area_a, area_b)


@pytest.fixture
def ended_stage(area_a, area_b):
    """Submission is open: the stage has ended and its results are public."""
    return _round(Phase.SUBMISSION, area_a, area_b)


def add_answers(round_area, themes, count: int) -> None:
    officer = UserFactory()
    for i in range(count):
        response = PriorityResponse.objects.create(
            round_area=round_area,
            channel=PriorityChannel.PAPER if i % 3 else PriorityChannel.EVENT,
            entered_by=officer,
            need=f"Need {i}",
        )
        PriorityPoints.objects.bulk_create(
            [
                PriorityPoints(response=response, category=themes[0], points=i % 101),
                PriorityPoints(response=response, category=themes[1], points=100 - i % 101),
            ]
        )


def respond_url(budget_round, round_area):
    return reverse("proposals:priorities_respond", args=[budget_round.slug, round_area.area.slug])


def results_url(budget_round, round_area, name="proposals:priorities_results"):
    return reverse(name, args=[budget_round.slug, round_area.area.slug])


def test_a_resident_gives_points_sees_the_sum_error_and_then_saves(open_stage, resident_a):
    budget_round, themes, round_area = open_stage
    client = client_for(resident_a)
    url = respond_url(budget_round, round_area)
    page = client.get(url)
    assert page.status_code == 200
    assert 'name="theme_' in page.content.decode()

    wrong = client.post(url, {f"theme_{themes[0].pk}": "60", f"theme_{themes[1].pk}": "30"})
    assert wrong.status_code == 200
    assert "add up to 90" in wrong.content.decode()
    assert not PriorityResponse.objects.exists()

    saved = client.post(
        url,
        {f"theme_{themes[0].pk}": "60", f"theme_{themes[1].pk}": "40", "need": "More shade."},
    )
    assert saved.status_code == 302
    again = client.get(url).content.decode()
    assert 'value="60"' in again and "More shade." in again


def test_a_resident_of_another_area_sees_why_not_and_cannot_post(open_stage, resident_b):
    budget_round, themes, round_area = open_stage
    client = client_for(resident_b)
    url = respond_url(budget_round, round_area)
    assert "You do not live in" in client.get(url).content.decode()
    response = client.post(url, {f"theme_{themes[0].pk}": "100"})
    assert response.status_code == 403
    assert not PriorityResponse.objects.exists()


def test_a_resident_suggests_a_theme_on_the_round_priorities_page(open_stage, resident_a):
    budget_round, _themes, _ra = open_stage
    client = client_for(resident_a)
    url = reverse("proposals:priorities", args=[budget_round.slug])
    assert client.post(url, {"name": "Lighting"}).status_code == 302
    assert "You suggested “Lighting”" in client.get(url).content.decode()


def test_an_officer_enters_a_paper_answer(open_stage, officer):
    budget_round, themes, round_area = open_stage
    url = results_url(budget_round, round_area, "proposals:officer_priorities_paper")
    response = client_for(officer).post(
        url,
        {"channel": "event", f"theme_{themes[0].pk}": "100", f"theme_{themes[1].pk}": "0"},
    )
    assert response.status_code == 302
    answer = PriorityResponse.objects.get()
    assert (answer.channel, answer.entered_by, answer.resident) == ("event", officer, None)


def test_results_show_chart_table_turnout_csv_link_and_the_statement(ended_stage, officer):
    budget_round, themes, round_area = ended_stage
    add_answers(round_area, themes, 6)
    client = client_for(officer)
    posted = client.post(
        results_url(budget_round, round_area, "proposals:officer_priorities_statement"),
        {"text": "We will look for parks ideas first."},
    )
    assert posted.status_code == 302
    page = client_for(UserFactory()).get(results_url(budget_round, round_area)).content.decode()
    assert 'role="img"' in page and 'aria-labelledby="priorities-chart-caption"' in page
    assert "<caption>" in page and "Mean points per theme" in page
    assert "We will look for parks ideas first." in page
    assert "0.1% of" in page  # 6 of 5,000
    assert "Need 0" not in page  # needs are never published
    round_page = client.get(budget_round.get_absolute_url()).content.decode()
    assert "We will look for parks ideas first." in round_page
    assert results_url(budget_round, round_area) in round_page


def test_the_csv_is_anonymous(ended_stage):
    budget_round, themes, round_area = ended_stage
    add_answers(round_area, themes, 6)
    response = client_for(UserFactory()).get(
        results_url(budget_round, round_area, "proposals:priorities_csv")
    )
    assert response["Content-Type"].startswith("text/csv")
    lines = response.content.decode().strip().splitlines()
    assert lines[0] == "channel,Parks,Streets"
    assert len(lines) == 7
    assert "Need" not in response.content.decode()


def test_results_are_not_shown_while_the_stage_runs(open_stage):
    budget_round, themes, round_area = open_stage
    add_answers(round_area, themes, 6)
    page = client_for(UserFactory()).get(results_url(budget_round, round_area)).content.decode()
    assert "shown once the stage ends" in page
    assert 'role="img"' not in page


def test_the_areas_priorities_are_shown_beside_the_proposal_form_and_review(
    ended_stage, resident_a, officer
):
    budget_round, themes, round_area = ended_stage
    add_answers(round_area, themes, 6)
    form = client_for(resident_a).get(reverse("proposals:proposal_new", args=[budget_round.slug]))
    assert "Residents' priorities in Area A" in form.content.decode()
    proposal = ProposalFactory(budget_round=budget_round, round_area=round_area)
    review = client_for(officer).get(reverse("proposals:proposal_review", args=[proposal.pk]))
    assert "Residents' priorities in Area A" in review.content.decode()


def _count(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(queries)


@pytest.mark.parametrize(
    ("name", "persona"),
    [
        ("proposals:priorities_results", "officer"),
        ("proposals:priorities_csv", "resident_a"),
        ("proposals:priorities_respond", "resident_a"),
        ("proposals:officer_priorities_paper", "officer"),
    ],
)
def test_priorities_pages_make_as_many_queries_for_6_answers_as_for_30(
    area_a, area_b, name, persona, request
):
    """Six, not three: with under five answers nothing is published, so there is less to
    ask the database (fewer queries, not more)."""
    client = client_for(request.getfixturevalue(persona))
    counts = []
    for size in (3, 6, 30):
        budget_round, themes, round_area = _round(Phase.SUBMISSION, area_a, area_b)
        add_answers(round_area, themes, size)
        PriorityStatement.objects.create(
            round_area=round_area, text="Noted.", published_by=UserFactory()
        )
        counts.append(_count(client, results_url(budget_round, round_area, name)))
    assert counts[0] <= counts[1] == counts[2], f"{name}: {counts}"


def test_the_officer_page_makes_as_many_queries_for_3_needs_as_for_30(area_a, area_b, officer):
    client = client_for(officer)
    counts = []
    for size in (3, 30):
        budget_round, themes, round_area = _round(Phase.PRIORITIES, area_a, area_b)
        add_answers(round_area, themes, size)
        counts.append(
            _count(client, reverse("proposals:officer_priorities", args=[budget_round.slug]))
        )
    assert counts[0] == counts[1]
