"""Writes for the conversation on a proposal: comments, replies, hiding and flags."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from proposals import permissions
from proposals.models import Comment, CommentFlag, Proposal, ProposalEvent, ProposalStatus
from proposals.models.proposals import COMMENT_MAX_LENGTH, REASON_MAX_LENGTH
from proposals.phases import Phase

COMMENT_PHASES = (Phase.SUBMISSION, Phase.REVIEW)


def _clean_body(body: str) -> str:
    body = body.strip()
    if not body:
        raise ValidationError({"body": [_("Write your comment first.")]})
    if len(body) > COMMENT_MAX_LENGTH:
        raise ValidationError(
            {"body": [_("Keep comments to %(n)d characters or fewer.") % {"n": COMMENT_MAX_LENGTH}]}
        )
    return body


def _require_open_for_comments(proposal: Proposal, now: datetime) -> None:
    if proposal.status == ProposalStatus.DRAFT:
        raise PermissionDenied
    if proposal.budget_round.phase_at(now) not in COMMENT_PHASES:
        raise ValidationError(
            _("Comments are open only while proposals are being submitted and reviewed.")
        )


def comment_add(
    *, proposal: Proposal, author: AbstractBaseUser, body: str, now: datetime
) -> Comment:
    """A resident (or officer) comments on a proposal during submission and review."""
    officer = permissions.can_review_proposals(author)
    if not (officer or permissions.is_verified_resident(author)):
        raise PermissionDenied(_("Only residents with a verified email can comment."))
    _require_open_for_comments(proposal, now)
    return Comment.objects.create(
        proposal=proposal,
        author=author,
        author_is_officer=officer,
        body=_clean_body(body),
        created_at=now,
    )


def comment_reply(
    *, parent: Comment, author: AbstractBaseUser, body: str, now: datetime
) -> Comment:
    """The proposal's author or an officer answers a comment."""
    proposal = parent.proposal
    officer = permissions.can_review_proposals(author)
    if not (officer or permissions.is_author(author, proposal)):
        raise PermissionDenied(_("Only the proposal's author and officers can reply."))
    if parent.parent_id is not None or parent.is_hidden:
        raise ValidationError(_("You can only reply to a visible comment."))
    _require_open_for_comments(proposal, now)
    return Comment.objects.create(
        proposal=proposal,
        author=author,
        author_is_officer=officer,
        parent=parent,
        body=_clean_body(body),
        created_at=now,
    )


def comment_hide(
    *, comment: Comment, officer: AbstractBaseUser, reason: str, now: datetime
) -> Comment:
    """Hide a comment from the public. Its text stays, for officers and auditors, and
    the hiding is recorded in the proposal's history."""
    if not permissions.can_moderate_comments(officer):
        raise PermissionDenied(_("Only council officers can hide comments."))
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": [_("Say why the comment is hidden.")]})
    if len(reason) > REASON_MAX_LENGTH:
        raise ValidationError({"reason": [_("Keep the reason shorter.")]})
    with transaction.atomic():
        locked = Comment.objects.select_for_update().get(pk=comment.pk)
        if locked.is_hidden:
            raise ValidationError(_("This comment is already hidden."))
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


def comment_flag(*, comment: Comment, user: AbstractBaseUser, now: datetime) -> bool:
    """Flag a comment for officers. Returns False if this person had already flagged it."""
    if not permissions.can_flag_comments(user):
        raise PermissionDenied
    if comment.author_id == user.pk:
        raise ValidationError(_("You cannot report your own comment."))
    try:
        with transaction.atomic():
            CommentFlag.objects.create(comment=comment, flagged_by=user, created_at=now)
    except IntegrityError:
        return False  # the unique constraint: one flag per person per comment
    return True
