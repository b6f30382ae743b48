"""Proposal pages as people use them: the right people can act, everyone else gets a
clear refusal, bad input changes nothing, and lists cost a constant number of queries."""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from proposals.models import Comment, Proposal, ProposalEvent, ProposalStatus, ResidentProfile
from proposals.phases import Phase
from tests.conftest import client_for
from tests.factories import (
    BudgetRoundFactory,
    CategoryFactory,
    CommentFactory,
    ProposalFactory,
    ResidentProfileFactory,
    RoundAreaFactory,
)


@pytest.fixture
def submission_round(area_a):
    budget_round = BudgetRoundFactory(slug="open", phase=Phase.SUBMISSION)
    RoundAreaFactory(budget_round=budget_round, area=area_a, budget=Decimal("50000.00"))
    return budget_round


@pytest.fixture
def review_round(area_a):
    budget_round = BudgetRoundFactory(slug="in-review", phase=Phase.REVIEW)
    RoundAreaFactory(budget_round=budget_round, area=area_a, budget=Decimal("50000.00"))
    return budget_round


def proposal_post(budget_round, **overrides):
    data = {
        "title": "Benches by the pond",
        "description": "Four benches.",
        "round_area": budget_round.round_areas.get().pk,
        "category": "",
        "estimated_cost": "4000",
        "location": "",
        "image_description": "",
        "action": "submit",
    }
    data.update(overrides)
    return data


# --- Submitting -------------------------------------------------------------------------


def test_resident_submits_through_the_form_and_sees_it_in_the_list(resident_a, submission_round):
    client = client_for(resident_a)
    response = client.post(
        reverse("proposals:proposal_new", args=["open"]), proposal_post(submission_round)
    )
    proposal = Proposal.objects.get()
    assert response.url == proposal.get_absolute_url()
    assert proposal.status == ProposalStatus.SUBMITTED

    listing = client.get(reverse("proposals:round_proposals", args=["open"])).content.decode()
    assert "Benches by the pond" in listing


def test_the_form_offers_the_residents_own_area_first(resident_a, submission_round, area_a):
    page = client_for(resident_a).get(reverse("proposals:proposal_new", args=["open"]))
    own = submission_round.round_areas.get(area=area_a)
    assert page.context["form"].initial["round_area"] == own.pk


def test_drafts_are_seen_only_by_their_author(resident_a, resident_b, submission_round):
    client_for(resident_a).post(
        reverse("proposals:proposal_new", args=["open"]),
        proposal_post(submission_round, action="draft"),
    )
    draft = Proposal.objects.get(status=ProposalStatus.DRAFT)
    url = draft.get_absolute_url()
    assert client_for(resident_a).get(url).status_code == 200
    assert client_for(resident_b).get(url).status_code == 404
    assert Client().get(url).status_code == 404
    listing = Client().get(reverse("proposals:round_proposals", args=["open"])).content.decode()
    assert "Benches by the pond" not in listing


def test_a_withdrawn_draft_stays_private(resident_a, resident_b, submission_round):
    client = client_for(resident_a)
    client.post(
        reverse("proposals:proposal_new", args=["open"]),
        proposal_post(submission_round, action="draft"),
    )
    draft = Proposal.objects.get()
    client.post(reverse("proposals:proposal_withdraw", args=[draft.pk]))
    draft.refresh_from_db()
    assert draft.status == ProposalStatus.WITHDRAWN
    assert client_for(resident_b).get(draft.get_absolute_url()).status_code == 404
    listing = Client().get(reverse("proposals:round_proposals", args=["open"])).content.decode()
    assert "Benches by the pond" not in listing


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"estimated_cost": "0"}, "The amount must be more than zero."),
        ({"estimated_cost": "-5"}, "The amount must be more than zero."),
        ({"estimated_cost": "50000.01"}, "cannot be more than the area&#x27;s budget"),
        ({"estimated_cost": "lots"}, "Enter the amount in figures"),
        ({"title": ""}, "This field is required."),
        ({"title": "x" * 100_000}, "at most 150 characters"),
    ],
)
def test_bad_proposals_are_refused_with_a_message(resident_a, submission_round, overrides, message):
    response = client_for(resident_a).post(
        reverse("proposals:proposal_new", args=["open"]),
        proposal_post(submission_round, **overrides),
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Proposal.objects.exists()


def test_script_tags_are_shown_as_text_never_run(resident_a, submission_round):
    client = client_for(resident_a)
    client.post(
        reverse("proposals:proposal_new", args=["open"]),
        proposal_post(
            submission_round,
            title="<script>alert(1)</script>",
            description="<b>bold</b>\nnext line",
        ),
    )
    body = client.get(Proposal.objects.get().get_absolute_url()).content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "&lt;b&gt;bold&lt;/b&gt;<br>next line" in body


def test_a_non_image_upload_is_refused(resident_a, submission_round, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    fake = SimpleUploadedFile("photo.png", b"not really a png", content_type="image/png")
    response = client_for(resident_a).post(
        reverse("proposals:proposal_new", args=["open"]),
        {**proposal_post(submission_round), "image": fake, "image_description": "A bench"},
    )
    assert "Upload a valid image" in response.content.decode()
    assert not Proposal.objects.exists()
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("persona", ["officer", "auditor"])
def test_staff_accounts_cannot_submit_proposals(persona, submission_round, request):
    response = client_for(request.getfixturevalue(persona)).post(
        reverse("proposals:proposal_new", args=["open"]), proposal_post(submission_round)
    )
    assert response.status_code == 403
    assert "verified email" in response.content.decode()
    assert not Proposal.objects.exists()


def test_submitting_outside_the_submission_phase_is_refused(resident_a, review_round):
    response = client_for(resident_a).post(
        reverse("proposals:proposal_new", args=["in-review"]), proposal_post(review_round)
    )
    assert "Proposal submission in “" in response.content.decode()
    assert not Proposal.objects.exists()


def test_nobody_else_can_edit_or_withdraw_a_proposal(resident_a, resident_b, submission_round):
    proposal = ProposalFactory(
        budget_round=submission_round,
        round_area=submission_round.round_areas.get(),
        author=resident_a,
    )
    title_before = proposal.title
    other = client_for(resident_b)
    edit = other.post(
        reverse("proposals:proposal_edit", args=[proposal.pk]),
        proposal_post(submission_round, title="Hijacked"),
    )
    withdraw = other.post(reverse("proposals:proposal_withdraw", args=[proposal.pk]))
    assert (edit.status_code, withdraw.status_code) == (403, 403)
    proposal.refresh_from_db()
    assert (proposal.title, proposal.status) == (title_before, ProposalStatus.SUBMITTED)


def test_after_review_closes_the_author_can_only_read(resident_a, area_a):
    review_round = BudgetRoundFactory(slug="voting-now", phase=Phase.VOTING)
    RoundAreaFactory(budget_round=review_round, area=area_a, budget=Decimal("50000.00"))
    proposal = ProposalFactory(
        budget_round=review_round, round_area=review_round.round_areas.get(), author=resident_a
    )
    client = client_for(resident_a)
    page = client.get(proposal.get_absolute_url()).content.decode()
    assert "Change your proposal" not in page
    response = client.post(
        reverse("proposals:proposal_edit", args=[proposal.pk]),
        proposal_post(review_round, title="Too late"),
    )
    assert "Changing proposals in “" in response.content.decode()
    proposal.refresh_from_db()
    assert proposal.title != "Too late"


# --- Reviewing --------------------------------------------------------------------------


def test_officer_marks_feasible_with_a_cost_and_the_public_sees_it(officer, review_round):
    proposal = ProposalFactory(budget_round=review_round, round_area=review_round.round_areas.get())
    response = client_for(officer).post(
        reverse("proposals:proposal_review", args=[proposal.pk]),
        {"action": "review", "decision": "feasible", "official_cost": "4500", "reason": "OK"},
    )
    assert response.status_code == 302
    page = Client().get(proposal.get_absolute_url()).content.decode()
    assert "Feasible: on the ballot" in page
    assert "£4,500.00" in page
    assert "An officer" in page
    assert "officer@example.org" not in page  # the public does not see who


def test_auditors_see_which_officer_acted(officer, auditor, review_round):
    proposal = ProposalFactory(budget_round=review_round, round_area=review_round.round_areas.get())
    client_for(officer).post(
        reverse("proposals:proposal_review", args=[proposal.pk]),
        {"action": "review", "decision": "not_feasible", "reason": "Private land"},
    )
    page = client_for(auditor).get(proposal.get_absolute_url()).content.decode()
    assert "officer@example.org" in page
    assert "Private land" in page


@pytest.mark.parametrize("persona", ["anonymous", "resident_a", "auditor"])
def test_only_officers_can_review(persona, review_round, request):
    proposal = ProposalFactory(budget_round=review_round, round_area=review_round.round_areas.get())
    client = Client() if persona == "anonymous" else client_for(request.getfixturevalue(persona))
    response = client.post(
        reverse("proposals:proposal_review", args=[proposal.pk]),
        {"action": "review", "decision": "feasible", "official_cost": "10", "reason": ""},
    )
    assert response.status_code in (302, 403)
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.SUBMITTED
    assert not ProposalEvent.objects.filter(proposal=proposal).exists()


def test_official_cost_over_the_area_budget_is_refused_on_the_page(officer, review_round):
    proposal = ProposalFactory(budget_round=review_round, round_area=review_round.round_areas.get())
    response = client_for(officer).post(
        reverse("proposals:proposal_review", args=[proposal.pk]),
        {"action": "review", "decision": "feasible", "official_cost": "60000", "reason": ""},
    )
    assert "cannot be more than the area" in response.content.decode()
    proposal.refresh_from_db()
    assert (proposal.status, proposal.official_cost) == (ProposalStatus.SUBMITTED, None)


# --- Comments ---------------------------------------------------------------------------


def test_resident_comments_and_author_replies(resident_a, area_a, submission_round):
    proposal = ProposalFactory(
        budget_round=submission_round, round_area=submission_round.round_areas.get()
    )
    ResidentProfileFactory(user=proposal.author, area=area_a)
    client_for(resident_a).post(proposal.get_absolute_url(), {"body": "Where exactly?"})
    question = Comment.objects.get()
    client_for(proposal.author).post(
        proposal.get_absolute_url(), {"body": "By the pond.", "parent": question.pk}
    )
    page = Client().get(proposal.get_absolute_url()).content.decode()
    assert "Where exactly?" in page and "By the pond." in page
    assert Comment.objects.get(parent=question).author == proposal.author


def test_other_residents_cannot_reply(resident_a, resident_b, submission_round):
    proposal = ProposalFactory(
        budget_round=submission_round, round_area=submission_round.round_areas.get()
    )
    comment = CommentFactory(proposal=proposal, author=resident_a)
    response = client_for(resident_b).post(
        proposal.get_absolute_url(), {"body": "Me too", "parent": comment.pk}
    )
    assert response.status_code == 403
    assert Comment.objects.count() == 1


def test_officer_hides_a_comment_and_the_text_is_kept(officer, auditor, submission_round):
    proposal = ProposalFactory(
        budget_round=submission_round, round_area=submission_round.round_areas.get()
    )
    comment = CommentFactory(proposal=proposal, body="Rude words here")
    client_for(officer).post(
        reverse("proposals:comment_hide", args=[comment.pk]), {"reason": "Personal attack"}
    )
    public = Client().get(proposal.get_absolute_url()).content.decode()
    assert "Rude words here" not in public
    assert "hidden by an officer: Personal attack" in public
    assert (
        "Rude words here" in client_for(auditor).get(proposal.get_absolute_url()).content.decode()
    )
    assert Comment.objects.get().body == "Rude words here"


def test_residents_cannot_hide_comments(resident_a, submission_round):
    comment = CommentFactory(
        proposal__budget_round=submission_round,
        proposal__round_area=submission_round.round_areas.get(),
    )
    response = client_for(resident_a).post(
        reverse("proposals:comment_hide", args=[comment.pk]), {"reason": "I disagree"}
    )
    assert response.status_code == 403
    assert not Comment.objects.get().is_hidden


def test_anyone_signed_in_can_flag_once(resident_b, submission_round):
    comment = CommentFactory(
        proposal__budget_round=submission_round,
        proposal__round_area=submission_round.round_areas.get(),
    )
    client = client_for(resident_b)
    client.post(reverse("proposals:comment_flag", args=[comment.pk]))
    second = client.post(reverse("proposals:comment_flag", args=[comment.pk]), follow=True)
    assert "already flagged" in second.content.decode()
    assert comment.flags.count() == 1
    assert Client().post(reverse("proposals:comment_flag", args=[comment.pk])).status_code == 302
    assert comment.flags.count() == 1


# --- Query counts -----------------------------------------------------------------------


def fill(budget_round, count: int, author) -> None:
    round_area = budget_round.round_areas.get()
    category = CategoryFactory(budget_round=budget_round)
    proposals = ProposalFactory.create_batch(
        count, budget_round=budget_round, round_area=round_area, category=category, author=author
    )
    for proposal in proposals[:5]:
        CommentFactory.create_batch(2, proposal=proposal)


def queries_for(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


@pytest.mark.parametrize(
    "url_name",
    ["proposals:round_proposals", "proposals:my_proposals", "proposals:round_proposals_filtered"],
)
def test_list_pages_make_the_same_queries_for_5_and_500_proposals(url_name, resident_a, area_a):
    client = client_for(resident_a)
    small = BudgetRoundFactory(slug="small", phase=Phase.SUBMISSION)
    RoundAreaFactory(budget_round=small, area=area_a)
    large = BudgetRoundFactory(slug="large", phase=Phase.SUBMISSION)
    RoundAreaFactory(budget_round=large, area=area_a)

    def url(budget_round):
        if url_name == "proposals:my_proposals":
            return reverse(url_name)
        base = reverse("proposals:round_proposals", args=[budget_round.slug])
        if url_name.endswith("_filtered"):
            area = budget_round.round_areas.get().pk
            return f"{base}?q=Idea&area={area}&status=submitted&sort=cost&page=2"
        return base

    fill(small, 5, resident_a)
    few = queries_for(client, url(small))
    fill(large, 495, resident_a)
    many = queries_for(client, url(large))
    assert few == many, f"{url_name}: {few} queries for 5 proposals, {many} for 500"


def test_reported_comments_page_lists_reports_for_officers_only(officer, resident_a, area_a):
    budget_round = BudgetRoundFactory(phase=Phase.SUBMISSION)
    round_area = RoundAreaFactory(budget_round=budget_round, area=area_a)
    for n in (1, 40):
        for comment in CommentFactory.create_batch(
            n, proposal__budget_round=budget_round, proposal__round_area=round_area
        ):
            comment.flags.create(flagged_by=resident_a)
        if n == 1:
            few = queries_for(client_for(officer), reverse("proposals:officer_flagged_comments"))
    many = queries_for(client_for(officer), reverse("proposals:officer_flagged_comments"))
    assert few == many
    page = client_for(officer).get(reverse("proposals:officer_flagged_comments"))
    assert "1 report" in page.content.decode()
    assert (
        client_for(resident_a).get(reverse("proposals:officer_flagged_comments")).status_code == 403
    )


def test_detail_page_queries_do_not_grow_with_comments_and_history(area_a):
    budget_round = BudgetRoundFactory(phase=Phase.SUBMISSION)
    round_area = RoundAreaFactory(budget_round=budget_round, area=area_a)
    quiet = ProposalFactory(budget_round=budget_round, round_area=round_area)
    busy = ProposalFactory(budget_round=budget_round, round_area=round_area)
    for proposal, n in ((quiet, 1), (busy, 60)):
        ResidentProfile.objects.get_or_create(
            user=proposal.author, defaults={"area": area_a, "display_name": "Author"}
        )
        for comment in CommentFactory.create_batch(n, proposal=proposal):
            CommentFactory(proposal=proposal, parent=comment)
        for _ in range(n):
            ProposalEvent.objects.create(proposal=proposal, kind="edited")
    client = Client()
    assert queries_for(client, quiet.get_absolute_url()) == queries_for(
        client, busy.get_absolute_url()
    )
