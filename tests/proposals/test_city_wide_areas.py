"""An area can be the whole council: everyone may vote on its budget, nobody lives in it."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from proposals import services
from proposals.models import Area
from tests.conftest import client_for
from tests.factories import AreaFactory, ResidentProfileFactory, UserFactory


def test_an_officer_marks_an_area_as_the_whole_council(officer):
    response = client_for(officer).post(
        reverse("proposals:officer_areas"),
        {"name": "Whole borough", "population": "", "is_city_wide": "on"},
        follow=True,
    )
    assert response.status_code == 200
    assert Area.objects.get(name="Whole borough").is_city_wide
    assert "whole council" in response.text


def test_nobody_can_live_in_the_whole_council(db, officer):
    city = AreaFactory(is_city_wide=True)
    with pytest.raises(ValidationError, match="not the whole council"):
        services.resident_register(user=UserFactory(), display_name="Sam", area=city)
    profile = ResidentProfileFactory()
    with pytest.raises(ValidationError, match="not the whole council"):
        services.resident_change_area(
            profile=profile, area=city, changed_by=officer, reason="moved", now=timezone.now()
        )


def test_sign_up_does_not_offer_the_whole_council_as_a_home_area(client, area_a):
    AreaFactory(name="Whole borough", is_city_wide=True)
    page = client.get(reverse("account_signup"))
    assert "Area A" in page.text and "Whole borough" not in page.text


def test_an_area_where_residents_live_cannot_become_the_whole_council(resident_a, area_a, officer):
    with pytest.raises(ValidationError, match="Residents live in this area"):
        services.area_update(
            area=area_a, changed_by=officer, name="Area A", population=None, is_city_wide=True
        )
    area_a.refresh_from_db()
    assert not area_a.is_city_wide
