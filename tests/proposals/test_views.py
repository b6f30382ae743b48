"""Each page answers each persona as it should; the wrong role gets 403 (or is sent to
sign in) and nothing changes."""

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from proposals.models import Area, BudgetRound, ResidentAreaChange, ResidentProfile, RoundArea
from proposals.phases import Phase
from tests.conftest import client_for
from tests.factories import BudgetRoundFactory, RoundAreaFactory, timeline_in

PERSONAS = ["anonymous", "resident_a", "officer", "auditor"]


@pytest.fixture
def budget_round(area_a):
    round_area = RoundAreaFactory(
        area=area_a, budget_round__name="Parks", budget_round__slug="parks"
    )
    return round_area.budget_round


def page_urls(budget_round, resident_a):
    profile = ResidentProfile.objects.get(user=resident_a)
    area = Area.objects.first()
    return {
        "home": reverse("home"),
        "round_list": reverse("proposals:round_list"),
        "round_detail": reverse("proposals:round_detail", args=[budget_round.slug]),
        "officer_dashboard": reverse("proposals:officer_dashboard"),
        "officer_round_create": reverse("proposals:officer_round_create"),
        "officer_round_edit": reverse("proposals:officer_round_edit", args=[budget_round.slug]),
        "officer_areas": reverse("proposals:officer_areas"),
        "officer_area_edit": reverse("proposals:officer_area_edit", args=[area.pk]),
        "officer_residents": reverse("proposals:officer_residents"),
        "officer_resident_area": reverse("proposals:officer_resident_area", args=[profile.pk]),
        "audit_overview": reverse("proposals:audit_overview"),
        "my_account": reverse("proposals:my_account"),
    }


PUBLIC = {"home", "round_list", "round_detail"}
OFFICER_ONLY = {
    "officer_dashboard",
    "officer_round_create",
    "officer_round_edit",
    "officer_areas",
    "officer_area_edit",
    "officer_residents",
    "officer_resident_area",
}
EXPECTED = {
    "anonymous": {
        **dict.fromkeys(PUBLIC, 200),
        **dict.fromkeys(OFFICER_ONLY, "login"),
        "audit_overview": "login",
        "my_account": "login",
    },
    "resident_a": {
        **dict.fromkeys(PUBLIC, 200),
        **dict.fromkeys(OFFICER_ONLY, 403),
        "audit_overview": 403,
        "my_account": 200,
    },
    "officer": {
        **dict.fromkeys(PUBLIC, 200),
        **dict.fromkeys(OFFICER_ONLY, 200),
        "audit_overview": 403,
        "my_account": 200,
    },
    "auditor": {
        **dict.fromkeys(PUBLIC, 200),
        **dict.fromkeys(OFFICER_ONLY, 403),
        "audit_overview": 200,
        "my_account": 200,
    },
}


@pytest.mark.parametrize("persona", PERSONAS)
def test_each_role_sees_exactly_its_pages(persona, budget_round, resident_a, request):
    client = Client() if persona == "anonymous" else client_for(request.getfixturevalue(persona))
    for name, url in page_urls(budget_round, resident_a).items():
        response = client.get(url)
        expected = EXPECTED[persona][name]
        if expected == "login":
            assert response.status_code == 302, name
            assert response.url.startswith(reverse("account_login")), name
        else:
            assert response.status_code == expected, f"{persona} {name}: {response.status_code}"


def valid_round_post(area, **overrides):
    timeline = timeline_in(Phase.UPCOMING)
    data = {
        "name": "Play areas 2027",
        "description": "Swings.",
        "currency": "GBP",
        "total_budget": "50000",
        "counting_rule": "mes",
        "ballot_type": "approval_budget",
        "max_choices": "",
        f"area_{area.pk}": "50000",
    }
    for name, _phase, at in timeline.boundaries():
        data[name] = at.strftime("%Y-%m-%dT%H:%M")
    data.update(overrides)
    return data


@pytest.mark.parametrize("persona", ["anonymous", "resident_a", "auditor"])
def test_only_officers_can_create_rounds(persona, area_a, request):
    client = Client() if persona == "anonymous" else client_for(request.getfixturevalue(persona))
    response = client.post(reverse("proposals:officer_round_create"), valid_round_post(area_a))
    assert response.status_code in (302, 403)
    assert BudgetRound.objects.count() == 0


def test_officer_creates_a_round_through_the_form(officer, area_a):
    response = client_for(officer).post(
        reverse("proposals:officer_round_create"), valid_round_post(area_a), follow=True
    )
    budget_round = BudgetRound.objects.get()
    assert response.redirect_chain[-1][0] == budget_round.get_absolute_url()
    assert "was created" in response.content.decode()
    assert budget_round.round_areas.get().budget == Decimal("50000.00")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"total_budget": "lots"}, "Enter the amount in figures"),
        ({"total_budget": "-100"}, "more than zero"),
        ({"name": "n" * 5000}, "at most 200 characters"),
        ({"area_AREA": "60000"}, "more than the total budget"),
        ({"voting_ends": "2020-01-01T00:00"}, "This must be later than"),
        ({"voting_starts": "not a date"}, "Enter a valid date/time."),
    ],
)
def test_round_form_shows_errors_tied_to_fields_and_saves_nothing(
    officer, area_a, overrides, message
):
    overrides = {k.replace("AREA", str(area_a.pk)): v for k, v in overrides.items()}
    response = client_for(officer).post(
        reverse("proposals:officer_round_create"), valid_round_post(area_a, **overrides)
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "There is a problem" in body
    assert message in body
    assert BudgetRound.objects.count() == 0
    assert RoundArea.objects.count() == 0


def test_officer_edits_a_round_and_the_page_shows_the_new_budget(officer, budget_round, area_a):
    data = valid_round_post(area_a, name="Parks", total_budget="90000")
    data[f"area_{area_a.pk}"] = "70000"
    for name, _phase, at in budget_round.timeline.boundaries():
        data[name] = at.strftime("%Y-%m-%dT%H:%M")
    client = client_for(officer)
    response = client.post(
        reverse("proposals:officer_round_edit", args=[budget_round.slug]), data, follow=True
    )
    assert "were saved" in response.content.decode()
    assert "£70,000.00" in response.content.decode()


def test_resident_cannot_edit_a_round(resident_a, budget_round, area_a):
    before = BudgetRound.objects.values().get(pk=budget_round.pk)
    response = client_for(resident_a).post(
        reverse("proposals:officer_round_edit", args=[budget_round.slug]),
        valid_round_post(area_a, total_budget="1"),
    )
    assert response.status_code == 403
    assert BudgetRound.objects.values().get(pk=budget_round.pk) == before


def test_round_pages_show_the_phase_from_the_clock_and_the_next_deadline(db):
    BudgetRoundFactory(name="Voting now", slug="voting-now", phase=Phase.VOTING)
    response = Client().get(reverse("proposals:round_list"))
    body = response.content.decode()
    assert response.status_code == 200
    assert "Voting now" in body
    assert ">Voting<" in body
    assert "Voting closes" in body


def test_officer_moves_a_resident_to_another_area_with_a_reason(officer, resident_a, area_b):
    profile = ResidentProfile.objects.get(user=resident_a)
    url = reverse("proposals:officer_resident_area", args=[profile.pk])

    missing_reason = client_for(officer).post(url, {"area": area_b.pk, "reason": ""})
    assert "This field is required." in missing_reason.content.decode()
    profile.refresh_from_db()
    assert profile.area.name == "Area A"

    client_for(officer).post(url, {"area": area_b.pk, "reason": "Moved house"})
    profile.refresh_from_db()
    assert profile.area == area_b
    change = ResidentAreaChange.objects.get()
    assert (change.from_area.name, change.to_area.name, change.reason) == (
        "Area A",
        "Area B",
        "Moved house",
    )


def test_resident_cannot_move_themselves(resident_a, area_b):
    profile = ResidentProfile.objects.get(user=resident_a)
    response = client_for(resident_a).post(
        reverse("proposals:officer_resident_area", args=[profile.pk]),
        {"area": area_b.pk, "reason": "I'd rather vote there"},
    )
    assert response.status_code == 403
    profile.refresh_from_db()
    assert profile.area.name == "Area A"
    assert ResidentAreaChange.objects.count() == 0


def test_officer_adds_an_area_and_duplicates_are_refused(officer):
    client = client_for(officer)
    client.post(reverse("proposals:officer_areas"), {"name": "Hillside", "population": "900"})
    response = client.post(reverse("proposals:officer_areas"), {"name": "hillside"})
    assert "already an area with this name" in response.content.decode()
    assert Area.objects.filter(name__iexact="hillside").count() == 1


def test_auditor_sees_who_changed_a_round(auditor, officer, area_a):
    client_for(officer).post(reverse("proposals:officer_round_create"), valid_round_post(area_a))
    body = client_for(auditor).get(reverse("proposals:audit_overview")).content.decode()
    assert "Play areas 2027" in body
    assert "officer@example.org" in body


def test_forms_reject_posts_without_a_csrf_token(officer, area_a):
    client = Client(enforce_csrf_checks=True)
    client.force_login(officer)
    response = client.post(reverse("proposals:officer_round_create"), valid_round_post(area_a))
    assert response.status_code == 403
    assert BudgetRound.objects.count() == 0
