"""Outreach recorded against areas: officers record it once voting has opened, the
public page lists it beside each area (the under-represented first), and nobody else can
record any; bad input comes back on its field, never as a server error."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from pb_platform.policies import PolicyDenied
from proposals.phases import Phase
from tests.conftest import client_for
from tests.factories import AreaFactory, BudgetRoundFactory, RoundAreaFactory
from tests.voting.test_participation import ballots, town
from voting.models import OutreachAction, OutreachKind
from voting.services.outreach import outreach_record


def post_url(budget_round):
    return reverse("voting:participation_outreach", args=[budget_round.slug])


def page_url(budget_round):
    return reverse("voting:round_participation", args=[budget_round.slug])


def area_of(budget_round, name):
    return budget_round.round_areas.get(area__name=name).area


def valid_data(area_chosen, /, **changes):
    data = {
        "area": area_chosen.pk,
        "kind": OutreachKind.ASSISTED_VOTING,
        "happened_on": timezone.localdate().isoformat(),
        "description": "  Help to vote at the Vale library, Tuesday morning.  ",
    }
    data.update(changes)
    return data


def test_an_officer_records_outreach_and_the_public_sees_it(db, officer):
    budget_round = town(db)
    vale = area_of(budget_round, "Vale")
    client = client_for(officer)
    # The officer sees the form; a visitor does not.
    assert "Record outreach" in client.get(page_url(budget_round)).text
    assert 'name="description"' not in Client().get(page_url(budget_round)).text

    response = client.post(post_url(budget_round), valid_data(vale), follow=True)

    action = OutreachAction.objects.get()
    assert (action.area, action.kind, action.recorded_by) == (
        vale,
        OutreachKind.ASSISTED_VOTING,
        officer,
    )
    assert action.description == "Help to vote at the Vale library, Tuesday morning."
    assert response.redirect_chain == [(page_url(budget_round) + "#outreach-vale", 302)]
    assert "The outreach in Vale was recorded." in response.text
    public = Client().get(page_url(budget_round)).text
    assert 'id="outreach-vale"' in public
    assert "Assisted-voting session" in public
    assert "Help to vote at the Vale library, Tuesday morning." in public
    assert officer.email not in public  # who recorded it is not public
    # Vale is under-represented: listed first under "Outreach", with its flag; Hill (not
    # flagged, no outreach) not at all.
    outreach = public[public.index('id="outreach"') :]
    assert "Under-represented" in outreach and 'id="outreach-hill"' not in outreach


def test_a_flagged_area_without_outreach_says_so(db):
    budget_round = town(db)
    text = Client().get(page_url(budget_round)).text
    assert 'id="outreach-vale"' in text and "No outreach recorded here yet." in text


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("resident_a", 403), ("auditor", 403), ("anonymous", 302)],
)
def test_nobody_else_records_outreach(db, request, persona, expected):
    budget_round = town(db)
    client = Client() if persona == "anonymous" else client_for(request.getfixturevalue(persona))
    response = client.post(post_url(budget_round), valid_data(area_of(budget_round, "Vale")))
    assert response.status_code == expected
    if persona == "anonymous":
        assert response["Location"].startswith(reverse("account_login"))
    assert not OutreachAction.objects.exists()
    # Nor does the page offer them the form.
    assert 'name="description"' not in client.get(page_url(budget_round)).text


def test_get_on_the_recording_address_is_refused(db, officer):
    budget_round = town(db)
    assert client_for(officer).get(post_url(budget_round)).status_code == 405


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("area", "other", "Choose one of this round's areas."),
        ("area", "999999", "Choose one of this round's areas."),
        ("area", "abc", "Choose one of this round's areas."),
        ("happened_on", "future", "The date cannot be in the future."),
        ("happened_on", "long ago", "when this round began"),
        ("happened_on", "2026-02-30", "Enter a date"),
        ("happened_on", "0001-01-01", "Check the year"),
        ("description", "   ", "This field is required."),
        ("description", "x" * 501, "at most 500 characters"),
        ("description", "Stall\u202e", "text-direction character"),
        ("kind", "rally", "Choose what kind of outreach it was."),
        ("kind", "", "This field is required."),
    ],
)
def test_bad_input_comes_back_on_its_field(db, officer, field, value, message):
    budget_round = town(db)
    if value == "other":
        other = RoundAreaFactory(budget_round=BudgetRoundFactory(phase=Phase.VOTING))
        value = str(other.area.pk)
    elif value == "future":
        value = (timezone.localdate() + timedelta(days=1)).isoformat()
    elif value == "long ago":
        value = (timezone.localdate() - timedelta(days=400)).isoformat()
    data = valid_data(area_of(budget_round, "Vale"), **{field: value})
    response = client_for(officer).post(post_url(budget_round), data)
    assert response.status_code == 200
    errors = response.context["outreach_form"].errors
    assert list(errors) == [field]
    assert message in " ".join(errors[field])
    assert 'class="error-message"' in response.text
    assert not OutreachAction.objects.exists()


def test_the_service_checks_whoever_calls(db, officer, resident_a):
    budget_round = town(db)
    now = timezone.now()
    today = timezone.localdate(now)
    vale = area_of(budget_round, "Vale")
    elsewhere = AreaFactory(name="Elsewhere")

    def record(**changes):
        arguments = {
            "officer": officer,
            "budget_round": budget_round,
            "area": vale,
            "kind": OutreachKind.LEAFLET,
            "happened_on": today,
            "description": "Leaflets through every door.",
            "now": now,
        }
        arguments.update(changes)
        return outreach_record(**arguments)

    with pytest.raises(ValidationError) as error:
        record(area=elsewhere, kind="rally", happened_on=today + timedelta(days=1), description="")
    assert set(error.value.message_dict) == {"area", "kind", "happened_on", "description"}
    with pytest.raises(PolicyDenied):
        record(officer=resident_a)
    before = BudgetRoundFactory(phase=Phase.REVIEW)
    RoundAreaFactory(budget_round=before, area=vale)
    with pytest.raises(PolicyDenied, match="from the opening of the vote"):
        record(budget_round=before)
    imported = BudgetRoundFactory(phase=Phase.RESULTS, is_imported=True)
    RoundAreaFactory(budget_round=imported, area=vale)
    with pytest.raises(PolicyDenied, match="kept for the record"):
        record(budget_round=imported)
    assert not OutreachAction.objects.exists()
    # After the vote it is still recorded (reported late, or to explain the turnout).
    closed = BudgetRoundFactory(phase=Phase.RESULTS)
    RoundAreaFactory(budget_round=closed, area=vale)
    assert record(budget_round=closed).pk


def test_the_database_refuses_an_unknown_kind_or_no_description(db, officer):
    budget_round = town(db)
    vale = area_of(budget_round, "Vale")
    for kind, description in (("rally", "A rally."), (OutreachKind.EVENT, "")):
        with pytest.raises(IntegrityError), transaction.atomic():
            OutreachAction.objects.create(
                budget_round=budget_round,
                area=vale,
                kind=kind,
                happened_on=timezone.localdate(),
                description=description,
                recorded_by=officer,
            )


def test_the_page_makes_the_same_queries_with_2_or_20_areas_and_actions(db, officer):
    counts = {"visitor": [], "officer": []}
    now = timezone.now()
    for size in (2, 20):
        budget_round = BudgetRoundFactory(phase=Phase.VOTING, slug=f"reach-{size}")
        round_areas = [
            RoundAreaFactory(
                budget_round=budget_round,
                area=AreaFactory(population=100 + 50 * n),
                budget=Decimal(9),
            )
            for n in range(size)
        ]
        for n, round_area in enumerate(round_areas):
            ballots(round_area, online=6 if n % 2 else 1)
            for kind in (OutreachKind.EVENT, OutreachKind.LEAFLET):
                outreach_record(
                    officer=officer,
                    budget_round=budget_round,
                    area=round_area.area,
                    kind=kind,
                    happened_on=timezone.localdate(now),
                    description=f"{kind} number {n}",
                    now=now,
                )
        for who, client in (("visitor", Client()), ("officer", client_for(officer))):
            with CaptureQueriesContext(connection) as queries:
                response = client.get(page_url(budget_round))
            assert response.status_code == 200
            counts[who].append(len(queries))
        assert response.text.count("<li><strong>Leaflet drop</strong>") == size
    assert counts["visitor"][0] == counts["visitor"][1]
    assert counts["officer"][0] == counts["officer"][1]
