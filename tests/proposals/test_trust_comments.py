"""Issue 10, comments: the conversation on a proposal takes any input without a server
error, a wrong role changes nothing whoever calls the service, and a double click
publishes one comment."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.utils import timezone

from proposals import services
from proposals.models import Comment, CommentFlag, ProposalEvent, ProposalStatus
from proposals.phases import Phase
from tests.conftest import client_for
from tests.factories import BudgetRoundFactory, CommentFactory, ProposalFactory, RoundAreaFactory


def db_state() -> dict[str, list[dict]]:
    return {
        "comments": list(Comment.objects.order_by("pk").values()),
        "flags": list(CommentFlag.objects.order_by("pk").values()),
        "events": list(ProposalEvent.objects.order_by("pk").values()),
    }


@pytest.fixture
def budget_round(area_a):
    budget_round = BudgetRoundFactory(phase=Phase.SUBMISSION)
    RoundAreaFactory(budget_round=budget_round, area=area_a, budget=Decimal("50000.00"))
    return budget_round


@pytest.fixture
def proposal(resident_a, budget_round):
    """Resident A's submitted idea, open for comments."""
    return ProposalFactory(
        budget_round=budget_round, round_area=budget_round.round_areas.get(), author=resident_a
    )


@pytest.fixture
def question(proposal, resident_b):
    return CommentFactory(proposal=proposal, author=resident_b, body="Where exactly?")


# --- A reply to something that is not a visible comment here: a message, not a 500 -----


@pytest.mark.parametrize("parent", ["abc", "1.5", "-3", "0", "", " ", "99999999999999999999999"])
def test_a_reply_to_a_parent_that_is_not_an_id_gets_a_message(resident_a, proposal, parent):
    before = db_state()
    response = client_for(resident_a).post(
        proposal.get_absolute_url(), {"body": "By the pond.", "parent": parent}
    )
    assert response.status_code in (200, 302)
    if parent.strip():
        assert response.status_code == 200
        assert "could not be found" in response.content.decode() or (
            "not on this proposal" in response.content.decode()
        )
        assert db_state() == before


def test_a_reply_to_another_proposals_comment_gets_a_message(resident_a, proposal, budget_round):
    elsewhere = CommentFactory(
        proposal=ProposalFactory(budget_round=budget_round, round_area=proposal.round_area)
    )
    before = db_state()
    response = client_for(resident_a).post(
        proposal.get_absolute_url(), {"body": "By the pond.", "parent": elsewhere.pk}
    )
    assert response.status_code == 200
    assert "not on this proposal" in response.content.decode()
    assert db_state() == before


def test_a_reply_to_a_deleted_comment_gets_a_message(resident_a, proposal, question):
    gone = question.pk
    question.delete()
    before = db_state()
    response = client_for(resident_a).post(
        proposal.get_absolute_url(), {"body": "By the pond.", "parent": gone}
    )
    assert response.status_code == 200
    assert "not on this proposal" in response.content.decode()
    assert db_state() == before


def test_a_reply_to_a_hidden_comment_gets_the_reason(resident_a, officer, proposal, question):
    services.comment_hide(comment=question, officer=officer, reason="Spam", now=timezone.now())
    before = db_state()
    response = client_for(resident_a).post(
        proposal.get_absolute_url(), {"body": "By the pond.", "parent": question.pk}
    )
    assert response.status_code == 403
    assert "hidden by an officer and cannot be answered" in response.content.decode()
    assert db_state() == before


def test_the_reply_service_refuses_a_parent_from_another_proposal(
    resident_a, proposal, budget_round
):
    elsewhere = CommentFactory(
        proposal=ProposalFactory(budget_round=budget_round, round_area=proposal.round_area)
    )
    before = db_state()
    with pytest.raises(PermissionDenied, match="not on this proposal"):
        services.comment_reply(
            parent=elsewhere, proposal=proposal, author=resident_a, body="Hi", now=timezone.now()
        )
    assert db_state() == before


# --- Clean text --------------------------------------------------------------------------


@pytest.mark.parametrize("body", ["Nice\x00 idea", "Nice \u202eidea", "Nice\x1b idea", "\u2067x"])
def test_control_and_direction_characters_in_comments_are_refused(resident_b, proposal, body):
    with pytest.raises(ValidationError) as excinfo:
        services.comment_add(proposal=proposal, author=resident_b, body=body, now=timezone.now())
    assert "U+" in excinfo.value.message_dict["body"][0]
    assert not Comment.objects.exists()


def test_a_nul_in_a_comment_posted_on_the_page_is_a_message(resident_b, proposal):
    response = client_for(resident_b).post(proposal.get_absolute_url(), {"body": "Nice\x00 idea"})
    assert response.status_code == 200
    assert not Comment.objects.exists()


def test_line_breaks_and_direction_marks_are_kept(resident_b, proposal):
    comment = services.comment_add(
        proposal=proposal,
        author=resident_b,
        body="  First line\r\nשלום\u200f second\t line  ",
        now=timezone.now(),
    )
    assert comment.body == "First line\nשלום\u200f second\t line"


def test_a_hiding_reason_is_clean_text(officer, question):
    before = db_state()
    with pytest.raises(ValidationError) as excinfo:
        services.comment_hide(
            comment=question, officer=officer, reason="Rude\u202e", now=timezone.now()
        )
    assert "U+202E" in excinfo.value.message_dict["reason"][0]
    assert db_state() == before


# --- A wrong role changes nothing, whoever calls the service ----------------------------


def test_a_visitor_cannot_comment_through_the_service(proposal):
    with pytest.raises(PermissionDenied, match="Sign in to comment"):
        services.comment_add(
            proposal=proposal, author=AnonymousUser(), body="Hello", now=timezone.now()
        )
    assert not Comment.objects.exists()


def test_a_visitor_posting_a_comment_is_asked_to_sign_in(proposal):
    response = Client().post(proposal.get_absolute_url(), {"body": "Hello"})
    assert response.status_code == 302
    assert "login" in response["Location"]
    assert not Comment.objects.exists()


def test_an_auditor_cannot_hide_a_comment_through_the_service(auditor, question):
    before = db_state()
    with pytest.raises(PermissionDenied, match="Only council officers can hide comments"):
        services.comment_hide(
            comment=question, officer=auditor, reason="I disagree", now=timezone.now()
        )
    assert db_state() == before


def test_an_auditor_cannot_comment(auditor, proposal):
    with pytest.raises(PermissionDenied, match="Only residents with a verified email"):
        services.comment_add(proposal=proposal, author=auditor, body="Hi", now=timezone.now())
    assert not Comment.objects.exists()


def test_another_resident_cannot_reply_through_the_service(resident_b, question):
    own = CommentFactory(proposal=question.proposal, body="Me too")
    before = db_state()
    with pytest.raises(PermissionDenied, match="Only the proposal's authors and council officers"):
        services.comment_reply(parent=own, author=resident_b, body="Hi", now=timezone.now())
    assert db_state() == before


def test_nobody_comments_on_a_draft_not_even_an_officer(officer, resident_a, budget_round):
    draft = ProposalFactory(
        budget_round=budget_round,
        round_area=budget_round.round_areas.get(),
        author=resident_a,
        status=ProposalStatus.DRAFT,
    )
    with pytest.raises(PermissionDenied):
        services.comment_add(proposal=draft, author=officer, body="Hi", now=timezone.now())
    assert client_for(officer).post(draft.get_absolute_url(), {"body": "Hi"}).status_code == 404
    assert not Comment.objects.exists()


def test_the_page_says_why_commenting_is_closed(resident_b, area_a):
    voting = BudgetRoundFactory(phase=Phase.VOTING)
    proposal = ProposalFactory(
        budget_round=voting, round_area=RoundAreaFactory(budget_round=voting, area=area_a)
    )
    page = client_for(resident_b).get(proposal.get_absolute_url()).content.decode()
    assert "Commenting in “" in page and "closed on" in page
    assert "Publish comment" not in page


# --- A double click publishes one comment -----------------------------------------------


def test_a_repeated_comment_post_publishes_one(resident_b, proposal):
    client = client_for(resident_b)
    data = {"body": "Where exactly?", "submission_token": str(uuid.uuid4())}
    first = client.post(proposal.get_absolute_url(), data)
    second = client.post(proposal.get_absolute_url(), data)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert Comment.objects.count() == 1


def test_a_repeated_reply_post_publishes_one(resident_a, proposal, question):
    client = client_for(resident_a)
    data = {"body": "By the pond.", "parent": question.pk, "submission_token": str(uuid.uuid4())}
    first = client.post(proposal.get_absolute_url(), data)
    second = client.post(proposal.get_absolute_url(), data)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert question.replies.count() == 1


def test_comment_and_reply_forms_carry_a_one_time_token(resident_a, proposal, question):
    page = client_for(resident_a).get(proposal.get_absolute_url()).content.decode()
    assert page.count('name="submission_token"') == 2  # the comment form and one reply box
