"""Every list page makes the same number of SQL queries whatever the data size."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from proposals.models import ResidentAreaChange, RoundChange
from tests.conftest import client_for
from tests.factories import (
    AreaFactory,
    BudgetRoundFactory,
    ResidentProfileFactory,
    RoundAreaFactory,
)


def make_data(size: int, officer, *, big_slug: str) -> None:
    """``size`` rounds (each with two areas), residents, and history rows."""
    rounds = BudgetRoundFactory.create_batch(size, total_budget=Decimal("1000.00"))
    areas = AreaFactory.create_batch(2)
    for budget_round in rounds:
        for area in areas:
            RoundAreaFactory(budget_round=budget_round, area=area, budget=Decimal("10.00"))
        RoundChange.objects.create(budget_round=budget_round, changed_by=officer, action="x")
    profiles = ResidentProfileFactory.create_batch(size, area=areas[0])
    for profile in profiles:
        ResidentAreaChange.objects.create(
            profile=profile, from_area=areas[0], to_area=areas[1], changed_by=officer, reason="r"
        )
    big_round = BudgetRoundFactory(slug=big_slug)
    for area in AreaFactory.create_batch(size):
        RoundAreaFactory(budget_round=big_round, area=area, budget=Decimal("1.00"))


PAGES = [
    ("home", None, "officer"),
    ("proposals:round_list", None, "officer"),
    ("proposals:round_detail", "big", "officer"),
    ("proposals:officer_dashboard", None, "officer"),
    ("proposals:officer_areas", None, "officer"),
    ("proposals:officer_residents", None, "officer"),
    ("proposals:officer_round_edit", "big", "officer"),
    ("proposals:audit_overview", None, "auditor"),
]


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(queries)


@pytest.mark.parametrize(("name", "slug", "persona"), PAGES)
def test_page_query_count_does_not_grow_with_data(name, slug, persona, officer, auditor):
    client = client_for({"officer": officer, "auditor": auditor}[persona])

    make_data(3, officer, big_slug="small")
    small = count_queries(client, reverse(name, args=["small"] if slug else []))
    make_data(40, officer, big_slug="big")
    large = count_queries(client, reverse(name, args=["big"] if slug else []))

    assert small == large, f"{name}: {small} queries with little data, {large} with more"
