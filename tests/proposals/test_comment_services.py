"""The conversation on a proposal: residents comment while ideas are submitted and
reviewed, the author and officers reply, officers hide comments (keeping the text and a
record), and anyone signed in can flag one."""

from __future__ import annotations

from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth.models import AnonymousUser
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from proposals import services
from proposals.models import Comment, CommentFlag, ProposalEvent, ProposalStatus
from proposals.notifications import pending_event_ids
from proposals.phases import Phase
from tests.factories import BudgetRoundFactory, CommentFactory, ProposalFactory, RoundAreaFactory


def db_state() -> dict[str, list[dict]]:
    return {
        "comments": list(Comment.objects.order_by("pk").values()),
        "flags": list(CommentFlag.objects.order_by("pk").values()),
        "events": list(ProposalEvent.objects.order_by("pk").values()),
    }


def persona(request, name: str):
    return AnonymousUser() if name == "anonymous" else request.getfixturevalue(name)


def proposal_in(phase: Phase, author, area, status=ProposalStatus.SUBMITTED):
    budget_round = BudgetRoundFactory(phase=phase)
    return ProposalFactory(
        budget_round=budget_round,
        round_area=RoundAreaFactory(budget_round=budget_round, area=area),
        author=author,
        status=status,
    )


@pytest.fixture
def proposal(resident_a, area_a):
    """Resident A's submitted proposal while submission is open."""
    return proposal_in(Phase.SUBMISSION, resident_a, area_a)


@pytest.fixture
def comment(proposal, resident_b):
    """Resident B's comment on it."""
    return CommentFactory(proposal=proposal, author=resident_b, body="Where would they go?")


# --- Commenting -------------------------------------------------------------------------


@pytest.mark.parametrize("phase", [Phase.SUBMISSION, Phase.REVIEW])
def test_residents_comment_while_ideas_are_submitted_and_reviewed(
    resident_a, resident_b, area_a, phase
):
    proposal = proposal_in(phase, resident_a, area_a)
    now = timezone.now()

    comment = services.comment_add(
        proposal=proposal, author=resident_b, body="  Lovely idea!  ", now=now
    )

    comment.refresh_from_db()
    assert comment.proposal == proposal
    assert comment.author == resident_b
    assert comment.body == "Lovely idea!"
    assert comment.created_at == now
    assert not comment.author_is_officer
    assert comment.parent is None
    assert not comment.is_hidden


def test_an_officers_comment_is_marked_as_an_officers(officer, proposal):
    comment = services.comment_add(
        proposal=proposal, author=officer, body="We are checking the site.", now=timezone.now()
    )
    assert comment.author_is_officer


def test_markup_in_a_comment_is_stored_exactly_as_typed(resident_b, proposal):
    body = "<script>alert(document.cookie)</script> & <b>bold</b>"
    comment = services.comment_add(
        proposal=proposal, author=resident_b, body=body, now=timezone.now()
    )
    comment.refresh_from_db()
    assert comment.body == body


def test_a_comment_of_the_longest_allowed_length_is_accepted(resident_b, proposal):
    comment = services.comment_add(
        proposal=proposal, author=resident_b, body="c" * 2000, now=timezone.now()
    )
    assert len(comment.body) == 2000


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", "Write your comment first."),
        (" \n\t ", "Write your comment first."),
        ("c" * 2001, "Keep it to 2,000 characters or fewer (this has 2,001)."),
        ("c" * 100_000, "Keep it to 2,000 characters or fewer (this has 100,000)."),
    ],
)
def test_empty_or_overlong_comments_are_refused_and_nothing_saved(
    resident_b, proposal, body, message
):
    with pytest.raises(ValidationError) as excinfo:
        services.comment_add(proposal=proposal, author=resident_b, body=body, now=timezone.now())
    assert excinfo.value.message_dict["body"] == [message]
    assert Comment.objects.count() == 0


@pytest.mark.parametrize(
    "phase", [Phase.UPCOMING, Phase.VOTING, Phase.RESULTS, Phase.DELIVERY, Phase.CLOSED]
)
def test_comments_are_closed_outside_submission_and_review(resident_a, resident_b, area_a, phase):
    proposal = proposal_in(phase, resident_a, area_a)

    # A refusal by the policy (PermissionDenied), saying when commenting opens or closed.
    with pytest.raises(PermissionDenied, match=r"Commenting in “.*” (opens|closed) on "):
        services.comment_add(proposal=proposal, author=resident_b, body="Hi", now=timezone.now())

    assert Comment.objects.count() == 0


def test_comments_close_exactly_when_voting_opens(resident_a, resident_b, area_a):
    proposal = proposal_in(Phase.REVIEW, resident_a, area_a)
    opens = proposal.budget_round.voting_starts

    services.comment_add(
        proposal=proposal, author=resident_b, body="Just in time", now=opens - timedelta(seconds=1)
    )
    with pytest.raises(PermissionDenied):
        services.comment_add(proposal=proposal, author=resident_b, body="Too late", now=opens)

    assert list(Comment.objects.values_list("body", flat=True)) == ["Just in time"]


def test_nobody_can_comment_on_a_draft(resident_a, resident_b, officer, area_a):
    draft = proposal_in(Phase.SUBMISSION, resident_a, area_a, status=ProposalStatus.DRAFT)

    for user in (resident_b, officer, resident_a):
        with pytest.raises(PermissionDenied):
            services.comment_add(proposal=draft, author=user, body="Hi", now=timezone.now())

    assert Comment.objects.count() == 0


def test_a_resident_whose_email_is_not_verified_cannot_comment(resident_b, proposal):
    EmailAddress.objects.filter(user=resident_b).update(verified=False)

    with pytest.raises(PermissionDenied):
        services.comment_add(proposal=proposal, author=resident_b, body="Hi", now=timezone.now())
    assert Comment.objects.count() == 0


@pytest.mark.parametrize("who", ["auditor", "anonymous"])
def test_auditors_and_visitors_cannot_comment(request, proposal, who):
    with pytest.raises(PermissionDenied):
        services.comment_add(
            proposal=proposal, author=persona(request, who), body="Hi", now=timezone.now()
        )
    assert Comment.objects.count() == 0


# --- Replies ----------------------------------------------------------------------------


def test_the_author_replies_to_a_comment(resident_a, comment):
    reply = services.comment_reply(
        parent=comment, author=resident_a, body="By the pond.", now=timezone.now()
    )

    reply.refresh_from_db()
    assert reply.parent == comment
    assert reply.proposal == comment.proposal
    assert reply.author == resident_a
    assert not reply.author_is_officer
    assert list(comment.replies.all()) == [reply]


def test_an_officer_replies_to_a_comment(officer, comment):
    reply = services.comment_reply(
        parent=comment, author=officer, body="We will check.", now=timezone.now()
    )
    assert reply.author_is_officer
    assert reply.parent == comment


@pytest.mark.parametrize("who", ["resident_b", "auditor", "anonymous"])
def test_other_people_cannot_reply(request, comment, who):
    """Even the comment's own author: replies are the proposal author's and officers'."""
    before = db_state()
    with pytest.raises(PermissionDenied):
        services.comment_reply(
            parent=comment, author=persona(request, who), body="Me too", now=timezone.now()
        )
    assert db_state() == before


def test_replies_do_not_nest(resident_a, officer, comment):
    reply = services.comment_reply(
        parent=comment, author=resident_a, body="By the pond.", now=timezone.now()
    )
    before = db_state()

    with pytest.raises(PermissionDenied, match="Replies are one level deep"):
        services.comment_reply(parent=reply, author=officer, body="Noted.", now=timezone.now())

    assert db_state() == before


def test_a_hidden_comment_cannot_be_replied_to(resident_a, officer, comment):
    services.comment_hide(comment=comment, officer=officer, reason="Off topic.", now=timezone.now())
    comment.refresh_from_db()
    before = db_state()

    with pytest.raises(PermissionDenied, match="hidden"):
        services.comment_reply(parent=comment, author=resident_a, body="Hm", now=timezone.now())
    assert db_state() == before


def test_replies_close_with_the_comments(resident_a, comment):
    voting = comment.proposal.budget_round.voting_starts
    before = db_state()

    with pytest.raises(PermissionDenied):
        services.comment_reply(parent=comment, author=resident_a, body="Late", now=voting)
    assert db_state() == before


def test_an_empty_reply_is_refused(resident_a, comment):
    with pytest.raises(ValidationError) as excinfo:
        services.comment_reply(parent=comment, author=resident_a, body="  ", now=timezone.now())
    assert "body" in excinfo.value.message_dict
    assert comment.replies.count() == 0


# --- Hiding -----------------------------------------------------------------------------


def test_officer_hides_a_comment_the_text_stays_and_the_history_records_it(
    officer, comment, django_capture_on_commit_callbacks
):
    now = timezone.now()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.comment_hide(
            comment=comment, officer=officer, reason="  Personal attack.  ", now=now
        )

    comment.refresh_from_db()
    assert comment.is_hidden
    assert comment.hidden_at == now
    assert comment.hidden_by == officer
    assert comment.hidden_reason == "Personal attack."
    assert comment.body == "Where would they go?"  # kept for officers and auditors
    event = ProposalEvent.objects.get(proposal=comment.proposal)
    assert event.kind == ProposalEvent.Kind.COMMENT_HIDDEN
    assert (event.actor, event.actor_is_officer, event.at) == (officer, True, now)
    assert event.reason == "Personal attack."
    assert not event.changes_status
    # Not a decision on the proposal: nothing for its author, now or from the sweep.
    assert callbacks == []
    assert mail.outbox == []
    assert pending_event_ids(now=now + timedelta(days=1)) == []


def test_hiding_needs_a_reason(officer, comment):
    before = db_state()
    for reason in ("", "   ", "r" * 2001):
        with pytest.raises(ValidationError) as excinfo:
            services.comment_hide(
                comment=comment, officer=officer, reason=reason, now=timezone.now()
            )
        assert "reason" in excinfo.value.message_dict
    assert db_state() == before


def test_a_comment_is_hidden_only_once(officer, comment):
    services.comment_hide(comment=comment, officer=officer, reason="Spam.", now=timezone.now())
    before = db_state()

    with pytest.raises(PermissionDenied, match="This comment is already hidden"):
        services.comment_hide(comment=comment, officer=officer, reason="Again.", now=timezone.now())

    assert db_state() == before


@pytest.mark.parametrize("who", ["resident_a", "resident_b", "auditor", "anonymous"])
def test_only_officers_hide_comments(request, comment, who):
    """Not even the proposal's author (resident A) or the comment's (resident B)."""
    before = db_state()
    with pytest.raises(PermissionDenied):
        services.comment_hide(
            comment=comment, officer=persona(request, who), reason="Rude.", now=timezone.now()
        )
    assert db_state() == before


# --- Flagging ---------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["resident_a", "officer", "auditor"])
def test_anyone_signed_in_can_flag_a_comment(request, comment, who):
    user = persona(request, who)
    now = timezone.now()

    assert services.comment_flag(comment=comment, user=user, now=now) is True

    flag = CommentFlag.objects.get()
    assert (flag.comment, flag.flagged_by, flag.created_at) == (comment, user, now)


def test_a_resident_whose_email_is_not_verified_can_still_flag(resident_a, comment):
    EmailAddress.objects.filter(user=resident_a).update(verified=False)
    assert services.comment_flag(comment=comment, user=resident_a, now=timezone.now())


def test_nobody_can_flag_their_own_comment(resident_b, comment):
    with pytest.raises(PermissionDenied, match="your own comment"):
        services.comment_flag(comment=comment, user=resident_b, now=timezone.now())
    assert not CommentFlag.objects.exists()


def test_flagging_twice_counts_once_and_says_so(resident_a, officer, comment):
    assert services.comment_flag(comment=comment, user=resident_a, now=timezone.now())
    assert not services.comment_flag(comment=comment, user=resident_a, now=timezone.now())
    assert services.comment_flag(comment=comment, user=officer, now=timezone.now())

    assert comment.flags.count() == 2


def test_visitors_cannot_flag(comment):
    with pytest.raises(PermissionDenied):
        services.comment_flag(comment=comment, user=AnonymousUser(), now=timezone.now())
    assert CommentFlag.objects.count() == 0
