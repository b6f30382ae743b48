"""Trust in areas (issue 10): only officers change them, whether an area is the whole
council is frozen once it took part in voting, bad input gets a message (never a 500)
and a double click adds one area."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from pb_platform.policies import PolicyDenied
from proposals import policies, services
from proposals.models import Area
from proposals.phases import Phase
from tests.conftest import client_for
from tests.factories import AreaFactory, RoundAreaFactory, UserFactory


def area_state() -> list[dict]:
    return list(Area.objects.order_by("pk").values())


@pytest.mark.parametrize("persona", ["resident_a", "auditor"])
def test_area_services_refuse_anyone_but_an_officer(persona, area_a, request):
    user = request.getfixturevalue(persona)
    before = area_state()
    with pytest.raises(PolicyDenied, match="Only council officers"):
        services.area_create(created_by=user, name="Hillside")
    with pytest.raises(PolicyDenied):
        services.area_update(
            area=area_a, changed_by=user, name="Renamed", population=1, is_city_wide=True
        )
    assert area_state() == before


def test_an_area_too_populous_for_the_column_gets_a_message(officer):
    response = client_for(officer).post(
        reverse("proposals:officer_areas"), {"name": "Hillside", "population": str(2**31)}
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "That is more people than any area holds" in body
    assert not Area.objects.filter(name="Hillside").exists()
    with pytest.raises(ValidationError, match="more people than any area holds"):
        services.area_create(created_by=officer, name="Hillside", population=2**31)


@pytest.mark.parametrize("name", ["Hill\u202eside", "Hill\x07side", "Hill\nside"])
def test_area_names_with_control_or_direction_characters_are_refused(officer, name):
    response = client_for(officer).post(reverse("proposals:officer_areas"), {"name": name})
    assert response.status_code == 200
    assert "There is a problem" in response.content.decode()
    with pytest.raises(ValidationError):
        services.area_create(created_by=officer, name=name)
    assert not Area.objects.filter(name__startswith="Hill").exists()


def test_area_names_are_trimmed(officer):
    area = services.area_create(created_by=officer, name="  Hillside  ")
    assert area.name == "Hillside"


@pytest.fixture
def voted_area(db):
    area = AreaFactory(name="Whole borough", slug="whole-borough", is_city_wide=True)
    RoundAreaFactory(area=area, budget_round__name="Fund", budget_round__phase=Phase.VOTING)
    return area


def test_whole_council_cannot_change_once_the_area_took_part_in_voting(officer, voted_area):
    before = area_state()
    with pytest.raises(ValidationError) as excinfo:
        services.area_update(
            area=voted_area,
            changed_by=officer,
            name="Whole borough",
            population=None,
            is_city_wide=False,
        )
    assert "took part in voting in “Fund”" in excinfo.value.message_dict["is_city_wide"][0]
    assert area_state() == before
    # Its name and population may still change.
    services.area_update(
        area=voted_area, changed_by=officer, name="The borough", population=5, is_city_wide=True
    )
    voted_area.refresh_from_db()
    assert (voted_area.name, voted_area.is_city_wide) == ("The borough", True)


def test_whole_council_may_change_while_no_round_has_voted(officer):
    area = AreaFactory(name="Hillside")
    RoundAreaFactory(area=area, budget_round__phase=Phase.SUBMISSION)
    assert policies.can_change_area_whole_council(
        officer, area, area_rounds=[area.round_areas.get().budget_round], now=timezone.now()
    )
    services.area_update(
        area=area, changed_by=officer, name="Hillside", population=None, is_city_wide=True
    )
    area.refresh_from_db()
    assert area.is_city_wide


def test_the_area_page_shows_whole_council_as_text_and_refuses_a_forged_post(officer, voted_area):
    url = reverse("proposals:officer_area_edit", args=[voted_area.pk])
    page = client_for(officer).get(url).content.decode()
    assert 'type="checkbox"' not in page
    assert "Yes: every resident may vote on it." in page
    assert "took part in voting in “Fund”" in page

    before = area_state()
    response = client_for(officer).post(url, {"name": "Whole borough", "population": ""})
    body = response.content.decode()
    assert response.status_code == 200
    assert "There is a problem" in body and "took part in voting" in body
    assert area_state() == before


def test_a_double_submitted_area_form_adds_one_area(officer):
    client = client_for(officer)
    data = {"name": "Hillside", "submission_token": "7d0e0d5c-5d7b-4a8e-9a3b-2f0c4c3e9b10"}
    first = client.post(reverse("proposals:officer_areas"), data)
    second = client.post(reverse("proposals:officer_areas"), data)
    assert first.status_code == second.status_code == 302
    assert second.url == first.url
    assert Area.objects.filter(name="Hillside").count() == 1
    page = client.get(reverse("proposals:officer_areas")).content.decode()
    assert 'name="submission_token"' in page


def test_the_admin_cannot_change_an_area_behind_the_officer_pages_rules(voted_area):
    """Through the admin a superuser could make a voting area stop counting as the whole
    council, and change its address, with no rule checked and no history kept."""
    superuser = UserFactory(email="root@example.org", is_staff=True, is_superuser=True)
    url = reverse("admin:proposals_area_change", args=[voted_area.pk])
    client = client_for(superuser)
    assert client.get(url).status_code == 200
    before = area_state()
    response = client.post(
        url, {"name": "Whole borough", "slug": "moved", "population": "", "is_city_wide": ""}
    )
    assert response.status_code == 403
    assert client.post(reverse("admin:proposals_area_add"), {"name": "X"}).status_code == 403
    assert area_state() == before
