"""Writes for the conversation on a proposal: comments, replies, hiding and flags.

Who may write, when, and on what is decided by ``proposals.policies``; every service
enforces it, whoever calls. Comment bodies and reasons go through ``text_clean``.
"""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from pb_platform.policies import enforce
from pb_platform.text import text_clean
from pb_platform.users import User
from proposals import permissions, policies
from proposals.models import Comment, CommentFlag, Proposal, ProposalEvent
from proposals.models.proposals import COMMENT_MAX_LENGTH, REASON_MAX_LENGTH

# Kept for callers that imported it from here; the rule lives in the policies.
COMMENT_PHASES = policies.COMMENT_PHASES


def _clean_body(body: str) -> str:
    message = _("Write your comment first.")
    if isinstance(body, str) and not body.strip():
        raise ValidationError({"body": [message]})
    return text_clean(
        body, field="body", max_length=COMMENT_MAX_LENGTH, multiline=True, required_message=message
    )


def comment_add(*, proposal: Proposal, author: User, body: str, now: datetime) -> Comment:
    """A resident (or officer) comments on a proposal during submission and review."""
    enforce(policies.can_comment(author, proposal, now=now))
    return Comment.objects.create(
        proposal=proposal,
        author=author,
        author_is_officer=permissions.can_review_proposals(author),
        body=_clean_body(body),
        created_at=now,
    )


def comment_reply(
    *, parent: Comment, author: User, body: str, now: datetime, proposal: Proposal | None = None
) -> Comment:
    """The proposal's author or an officer answers a visible top-level comment.

    ``proposal``, when given, must be the parent's (a reply posted on one proposal's page
    to another proposal's comment is refused)."""
    enforce(policies.can_reply(author, parent, now=now, proposal=proposal))
    body = _clean_body(body)
    with transaction.atomic():
        # Lock the parent: hiding it at the same moment must not leave a reply under a
        # comment that was hidden before the reply was saved.
        locked = Comment.objects.select_for_update().select_related("proposal__budget_round")
        parent = locked.get(pk=parent.pk)
        enforce(policies.can_reply(author, parent, now=now, proposal=parent.proposal))
        return Comment.objects.create(
            proposal=parent.proposal,
            author=author,
            author_is_officer=permissions.can_review_proposals(author),
            parent=parent,
            body=body,
            created_at=now,
        )


def comment_hide(*, comment: Comment, officer: User, reason: str, now: datetime) -> Comment:
    """Hide a comment from the public. Its text stays, for officers and auditors, and
    the hiding is recorded in the proposal's history."""
    enforce(policies.can_hide_comment(officer, comment))
    message = _("Say why the comment is hidden.")
    if isinstance(reason, str) and not reason.strip():
        raise ValidationError({"reason": [message]})
    reason = text_clean(
        reason,
        field="reason",
        max_length=REASON_MAX_LENGTH,
        multiline=True,
        required_message=message,
    )
    with transaction.atomic():
        locked = Comment.objects.select_for_update().get(pk=comment.pk)
        enforce(policies.can_hide_comment(officer, locked))
        locked.hidden_at = now
        locked.hidden_by = officer
        locked.hidden_reason = reason
        locked.save(update_fields=["hidden_at", "hidden_by", "hidden_reason"])
        ProposalEvent.objects.create(
            proposal_id=locked.proposal_id,
            actor=officer,
            actor_is_officer=True,
            at=now,
            kind=ProposalEvent.Kind.COMMENT_HIDDEN,
            reason=reason,
            # Not a decision about the proposal: nothing to email its author.
            notified_at=now,
        )
    return locked


def comment_flag(*, comment: Comment, user: User, now: datetime) -> bool:
    """Flag a comment for officers. Returns False if this person had already flagged it."""
    enforce(policies.can_flag_comment(user, comment))
    try:
        with transaction.atomic():
            CommentFlag.objects.create(comment=comment, flagged_by=user, created_at=now)
    except IntegrityError:
        return False  # the unique constraint: one flag per person per comment
    return True
