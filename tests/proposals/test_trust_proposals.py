"""Issue 10, proposals: the promises the proposal pages make are kept by the services.

A draft is its author's alone; residents propose only where they may; no input gives a
server error; a wrong role changes nothing, whoever calls the service; a double click
creates one proposal.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from proposals import policies, selectors, services
from proposals.forms import ProposalForm
from proposals.models import Category, Proposal, ProposalEvent, ProposalStatus
from proposals.phases import Phase
from tests.conftest import client_for
from tests.factories import AreaFactory, BudgetRoundFactory, ProposalFactory, RoundAreaFactory


def db_state() -> dict[str, list[dict]]:
    return {
        "proposals": list(Proposal.objects.order_by("pk").values()),
        "events": list(ProposalEvent.objects.order_by("pk").values()),
        "categories": list(Category.objects.order_by("pk").values()),
    }


@pytest.fixture
def whole_council(db):
    return AreaFactory(name="Whole council", slug="whole-council", is_city_wide=True)


@pytest.fixture
def submission_round(area_a, area_b, whole_council):
    """A round taking ideas, with a pot for area A, area B and the whole council."""
    budget_round = BudgetRoundFactory(slug="open", phase=Phase.SUBMISSION)
    for area in (area_a, area_b, whole_council):
        RoundAreaFactory(budget_round=budget_round, area=area, budget=Decimal("30000.00"))
    return budget_round


@pytest.fixture
def review_round(area_a):
    budget_round = BudgetRoundFactory(slug="in-review", phase=Phase.REVIEW)
    RoundAreaFactory(budget_round=budget_round, area=area_a, budget=Decimal("50000.00"))
    return budget_round


def pot(budget_round, area):
    return budget_round.round_areas.select_related("area").get(area=area)


def content(round_area, **overrides) -> services.ProposalContent:
    fields = {
        "title": "Benches by the pond",
        "description": "Four benches.",
        "round_area": round_area,
        "category": None,
        "estimated_cost": Decimal("4000.00"),
    }
    fields.update(overrides)
    return services.ProposalContent(**fields)


def proposal_post(round_area, **overrides) -> dict[str, str]:
    data = {
        "title": "Benches by the pond",
        "description": "Four benches.",
        "round_area": str(round_area.pk),
        "category": "",
        "estimated_cost": "4000",
        "location": "",
        "image_description": "",
        "action": "submit",
    }
    data.update(overrides)
    return data


def new_url(budget_round) -> str:
    return reverse("proposals:proposal_new", args=[budget_round.slug])


# --- A draft belongs to its authors alone -----------------------------------------------


@pytest.fixture
def draft(resident_a, review_round):
    """Never submitted; submission has closed, so review is open for the rest."""
    return ProposalFactory(
        budget_round=review_round,
        round_area=review_round.round_areas.get(),
        author=resident_a,
        status=ProposalStatus.DRAFT,
        title="My secret draft",
    )


@pytest.mark.parametrize("persona", ["officer", "auditor", "resident_b"])
def test_nobody_but_the_author_finds_a_draft_at_its_address_or_its_review_page(
    persona, draft, request
):
    client = client_for(request.getfixturevalue(persona))
    assert client.get(draft.get_absolute_url()).status_code == 404
    review_url = reverse("proposals:proposal_review", args=[draft.pk])
    expected = 404 if persona == "officer" else 403
    assert client.get(review_url).status_code == expected


def test_an_officer_cannot_review_a_draft_by_a_forged_post(officer, draft):
    before = db_state()
    response = client_for(officer).post(
        reverse("proposals:proposal_review", args=[draft.pk]),
        {"action": "review", "decision": "feasible", "official_cost": "100", "reason": ""},
    )
    assert response.status_code == 404
    assert db_state() == before


def test_a_draft_withdrawn_before_submission_stays_the_authors_alone(resident_a, officer, draft):
    draft.status = ProposalStatus.WITHDRAWN
    draft.save()
    assert client_for(officer).get(draft.get_absolute_url()).status_code == 404
    review_url = reverse("proposals:proposal_review", args=[draft.pk])
    assert client_for(officer).get(review_url).status_code == 404
    assert client_for(resident_a).get(draft.get_absolute_url()).status_code == 200


def test_the_review_service_refuses_a_draft_whoever_calls_it(officer, draft):
    before = db_state()
    with pytest.raises(PermissionDenied, match="draft"):
        services.proposal_review(
            proposal=draft,
            officer=officer,
            feasible=True,
            reason="",
            official_cost=Decimal("100.00"),
            now=timezone.now(),
        )
    assert db_state() == before


def test_drafts_appear_in_no_list_but_their_authors(resident_a, officer, draft, review_round):
    listing = reverse("proposals:round_proposals", args=[review_round.slug])
    for client in (client_for(officer), Client()):
        assert "My secret draft" not in client.get(listing).content.decode()
    mine = client_for(resident_a).get(reverse("proposals:my_proposals")).content.decode()
    assert "My secret draft" in mine


def test_who_may_see_a_proposal_is_decided_without_a_query(
    resident_a, officer, draft, django_assert_num_queries
):
    """No query for what is public, for visitors or for the author; a draft asks once
    whether someone else co-writes it, unless the page prefetched its co-authors."""
    submitted = ProposalFactory(budget_round=draft.budget_round, round_area=draft.round_area)
    with django_assert_num_queries(0):
        assert not policies.can_see_proposal(AnonymousUser(), draft)
        assert policies.can_see_proposal(resident_a, draft)
        assert policies.can_see_proposal(officer, submitted)
    with django_assert_num_queries(1):
        assert not policies.can_see_proposal(officer, draft)
        assert not policies.can_see_proposal(officer, draft)
    prefetched = selectors.proposal_detail(pk=draft.pk).get()
    with django_assert_num_queries(0):
        assert not policies.can_see_proposal(officer, prefetched)
    assert policies.can_see_proposal(officer, draft).reason


# --- Residents propose for their own area or the whole council --------------------------


def test_the_service_refuses_an_idea_for_another_areas_pot(resident_a, area_b, submission_round):
    before = db_state()
    with pytest.raises(PermissionDenied, match="You do not live in Area B"):
        services.proposal_create(
            author=resident_a,
            budget_round=submission_round,
            content=content(pot(submission_round, area_b)),
            submit=True,
            now=timezone.now(),
        )
    assert db_state() == before


def test_the_service_accepts_the_home_area_and_the_whole_council(
    resident_a, area_a, whole_council, submission_round
):
    for area in (area_a, whole_council):
        proposal = services.proposal_create(
            author=resident_a,
            budget_round=submission_round,
            content=content(pot(submission_round, area)),
            submit=True,
            now=timezone.now(),
        )
        assert proposal.round_area.area == area


def test_an_author_cannot_move_an_idea_into_another_areas_pot(
    resident_a, area_a, area_b, submission_round
):
    proposal = ProposalFactory(
        budget_round=submission_round, round_area=pot(submission_round, area_a), author=resident_a
    )
    before = db_state()
    with pytest.raises(PermissionDenied, match="You do not live in Area B"):
        services.proposal_update(
            proposal=proposal,
            author=resident_a,
            content=content(pot(submission_round, area_b)),
            submit=True,
            now=timezone.now(),
        )
    assert db_state() == before


def test_the_form_offers_only_the_home_area_and_the_whole_council(
    resident_a, area_a, area_b, submission_round
):
    page = client_for(resident_a).get(new_url(submission_round)).content.decode()
    assert "Area A" in page and "Whole council" in page
    assert "Area B" not in page


def test_a_forged_post_for_another_areas_pot_saves_nothing(resident_a, area_b, submission_round):
    response = client_for(resident_a).post(
        new_url(submission_round), proposal_post(pot(submission_round, area_b))
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not Proposal.objects.exists()


def test_the_page_accepts_a_whole_council_idea(resident_a, whole_council, submission_round):
    response = client_for(resident_a).post(
        new_url(submission_round), proposal_post(pot(submission_round, whole_council))
    )
    assert response.status_code == 302
    assert Proposal.objects.get().round_area.area == whole_council


# --- Bad input is a message, never a 500 ------------------------------------------------


@pytest.mark.parametrize(
    ("cost", "message"),
    [
        ("1e30", "Enter the amount in figures"),
        ("1e400", "Enter the amount in figures"),
        ("NaN", "Enter the amount in figures"),
        ("Infinity", "Enter the amount in figures"),
        ("1,000", "without thousands separators"),
        ("12.345", "at most two decimal places"),
        ("1" * 40, "too large"),
    ],
)
def test_an_estimate_that_is_not_an_amount_gets_a_message_on_the_field(
    resident_a, area_a, submission_round, cost, message
):
    response = client_for(resident_a).post(
        new_url(submission_round), proposal_post(pot(submission_round, area_a), estimated_cost=cost)
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Proposal.objects.exists()


def test_a_polish_resident_writes_the_estimate_with_a_decimal_comma(
    resident_a, area_a, submission_round
):
    data = proposal_post(pot(submission_round, area_a), estimated_cost="1250,50")
    with translation.override("pl"):
        form = ProposalForm(data, budget_round=submission_round, user=resident_a)
        assert form.is_valid(), form.errors
    assert form.cleaned_data["estimated_cost"] == Decimal("1250.50")


@pytest.mark.parametrize(
    ("cost", "message"),
    [
        ("1e400", "Enter the amount in figures"),
        ("NaN", "Enter the amount in figures"),
        ("1,000", "without thousands separators"),
        ("12.345", "at most two decimal places"),
    ],
)
def test_an_official_cost_that_is_not_an_amount_gets_a_message(
    officer, review_round, cost, message
):
    proposal = ProposalFactory(budget_round=review_round, round_area=review_round.round_areas.get())
    before = db_state()
    response = client_for(officer).post(
        reverse("proposals:proposal_review", args=[proposal.pk]),
        {"action": "review", "decision": "feasible", "official_cost": cost, "reason": ""},
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert db_state() == before


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("title", "Benches \u202eby the pond"),
        ("title", "Benches\x00"),
        ("title", "Bench\x85es"),
        ("description", "Four \u2066benches\u2069."),
        ("description", "Four\x07 benches."),
        ("location", "Mill\x1b Lane"),
        ("image_description", "A \u202abench"),
    ],
)
def test_control_and_direction_characters_are_refused_by_the_service(
    resident_a, area_a, submission_round, field, value
):
    with pytest.raises(ValidationError) as excinfo:
        services.proposal_create(
            author=resident_a,
            budget_round=submission_round,
            content=content(pot(submission_round, area_a), **{field: value}),
            submit=True,
            now=timezone.now(),
        )
    assert "U+" in excinfo.value.message_dict[field][0]
    assert not Proposal.objects.exists()


@pytest.mark.parametrize("title", ["Benches \u202eby the pond", "Benches\x00 by the pond"])
def test_control_and_direction_characters_are_refused_by_the_page(
    resident_a, area_a, submission_round, title
):
    response = client_for(resident_a).post(
        new_url(submission_round), proposal_post(pot(submission_round, area_a), title=title)
    )
    assert response.status_code == 200
    assert not Proposal.objects.exists()


def test_direction_marks_are_kept_and_text_is_trimmed(resident_a, area_a, submission_round):
    proposal = services.proposal_create(
        author=resident_a,
        budget_round=submission_round,
        content=content(
            pot(submission_round, area_a),
            title="  Ławki \u200fשלום\u200e  ",
            description="  Line one\r\nLine two  ",
        ),
        submit=True,
        now=timezone.now(),
    )
    proposal.refresh_from_db()
    assert proposal.title == "Ławki \u200fשלום\u200e"
    assert proposal.description == "Line one\nLine two"


def test_reasons_and_category_names_are_clean_text(officer, review_round, submission_round):
    proposal = ProposalFactory(budget_round=review_round, round_area=review_round.round_areas.get())
    before = db_state()
    with pytest.raises(ValidationError) as excinfo:
        services.proposal_review(
            proposal=proposal,
            officer=officer,
            feasible=False,
            reason="Private \u202eland",
            official_cost=None,
            now=timezone.now(),
        )
    assert "U+202E" in excinfo.value.message_dict["reason"][0]
    with pytest.raises(ValidationError) as excinfo:
        services.category_create(
            budget_round=submission_round, name="Parks\x00", officer=officer, now=timezone.now()
        )
    assert "U+0000" in excinfo.value.message_dict["name"][0]
    assert db_state() == before


# --- A wrong role changes nothing, whoever calls the service ----------------------------


def test_a_resident_cannot_review_through_the_service(resident_b, review_round):
    proposal = ProposalFactory(budget_round=review_round, round_area=review_round.round_areas.get())
    original = ProposalFactory(budget_round=review_round, round_area=proposal.round_area)
    before = db_state()
    with pytest.raises(PermissionDenied, match="Only council officers can review proposals"):
        services.proposal_review(
            proposal=proposal,
            officer=resident_b,
            feasible=True,
            reason="",
            official_cost=Decimal("10.00"),
            now=timezone.now(),
        )
    with pytest.raises(PermissionDenied, match="Only council officers"):
        services.proposal_mark_duplicate(
            proposal=proposal,
            officer=resident_b,
            original=original,
            reason="Same",
            now=timezone.now(),
        )
    assert db_state() == before


def test_an_officer_cannot_edit_or_withdraw_someone_elses_proposal(
    officer, resident_a, area_a, submission_round
):
    proposal = ProposalFactory(
        budget_round=submission_round, round_area=pot(submission_round, area_a), author=resident_a
    )
    before = db_state()
    with pytest.raises(PermissionDenied, match="Only the proposal's authors can change it"):
        services.proposal_update(
            proposal=proposal,
            author=officer,
            content=content(pot(submission_round, area_a), title="Rewritten"),
            submit=True,
            now=timezone.now(),
        )
    with pytest.raises(PermissionDenied, match="Only the author can withdraw"):
        services.proposal_withdraw(proposal=proposal, author=officer, now=timezone.now())
    assert db_state() == before


def test_staff_and_visitors_cannot_create_proposals_through_the_service(
    officer, auditor, area_a, submission_round
):
    before = db_state()
    for user, reason in (
        (officer, "Only residents with a verified email"),
        (auditor, "Only residents with a verified email"),
        (AnonymousUser(), "Sign in to submit proposals"),
    ):
        with pytest.raises(PermissionDenied, match=reason):
            services.proposal_create(
                author=user,
                budget_round=submission_round,
                content=content(pot(submission_round, area_a)),
                submit=True,
                now=timezone.now(),
            )
    assert db_state() == before


@pytest.mark.parametrize("who", ["resident_a", "auditor"])
def test_only_officers_add_categories_and_only_until_submission_closes(
    request, officer, who, submission_round, review_round
):
    before = db_state()
    with pytest.raises(PermissionDenied, match="Only council officers can add categories"):
        services.category_create(
            budget_round=submission_round,
            name="Parks",
            officer=request.getfixturevalue(who),
            now=timezone.now(),
        )
    with pytest.raises(PermissionDenied, match=r"Adding categories in “.*” closed on"):
        services.category_create(
            budget_round=review_round, name="Parks", officer=officer, now=timezone.now()
        )
    assert db_state() == before


# --- Pages show the policy's reason -----------------------------------------------------


def test_the_closed_form_says_when_submission_closed(resident_a, review_round):
    page = client_for(resident_a).get(new_url(review_round)).content.decode()
    assert "Proposal submission in “" in page and "closed on" in page
    assert 'name="action"' not in page


def test_the_proposal_list_says_when_submission_opens(resident_a, area_a):
    upcoming = BudgetRoundFactory(slug="soon", phase=Phase.UPCOMING)
    RoundAreaFactory(budget_round=upcoming, area=area_a)
    page = client_for(resident_a).get(reverse("proposals:round_proposals", args=["soon"]))
    assert "Proposal submission in “" in page.content.decode()
    assert "opens on" in page.content.decode()


# --- A double click creates one proposal ------------------------------------------------


def test_a_repeated_proposal_post_creates_one_and_lands_on_it(resident_a, area_a, submission_round):
    client = client_for(resident_a)
    data = proposal_post(pot(submission_round, area_a), submission_token=str(uuid.uuid4()))
    first = client.post(new_url(submission_round), data)
    second = client.post(new_url(submission_round), data)
    proposal = Proposal.objects.get()
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"] == proposal.get_absolute_url()


def test_the_new_proposal_form_carries_a_one_time_token(resident_a, submission_round):
    page = client_for(resident_a).get(new_url(submission_round)).content.decode()
    assert 'name="submission_token"' in page


def test_a_repeated_category_post_creates_one(officer, submission_round):
    client = client_for(officer)
    url = reverse("proposals:officer_categories", args=[submission_round.slug])
    data = {"name": "Parks", "submission_token": str(uuid.uuid4())}
    first = client.post(url, data)
    second = client.post(url, data, follow=True)
    assert first.status_code == 302
    assert second.redirect_chain[0][0] == first["Location"]
    assert "already saved" in second.content.decode()
    assert list(Category.objects.values_list("name", flat=True)) == ["Parks"]
