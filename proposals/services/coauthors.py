"""Proposals written together: invitations, answers, and removing co-authors.

The author invites by email; the link in the email carries a secret whose SHA-256 alone
is stored, and it works once. Whoever opens it signs in (or signs up) with the invited
address, verified, and accepts or declines. Co-authors then change the text like the
author (``policies.can_edit_proposal``); only the author withdraws the proposal.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from allauth.account.models import EmailAddress
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from pb_platform.policies import enforce
from pb_platform.users import User, signed_in
from proposals import policies
from proposals.models import (
    LIVE_COAUTHOR_STATUSES,
    CoauthorStatus,
    Proposal,
    ProposalCoauthor,
)
from proposals.notifications import notify_author_of_acceptance, notify_invitee

# Co-authors of one proposal, invitations waiting included: enough for a street's group,
# few enough that one proposal cannot be used to email a crowd.
MAX_COAUTHORS = 10


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_by_token(token: str) -> ProposalCoauthor | None:
    """The invitation a link's secret opens, with what its page and policy read."""
    if not token or len(token) > 100:
        return None
    return (
        ProposalCoauthor.objects.select_related(
            "proposal__budget_round", "proposal__author__resident_profile"
        )
        .filter(token_hash=token_hash(token))
        .first()
    )


def _lock(proposal: Proposal) -> Proposal:
    # The proposal's row orders invitations to it: two invitations at once must not
    # both pass the count below MAX_COAUTHORS.
    return (
        Proposal.objects.select_for_update(of=("self",))
        .select_related("budget_round")
        .get(pk=proposal.pk)
    )


def coauthor_invite(
    *, proposal: Proposal, author: User, email: str, now: datetime
) -> ProposalCoauthor:
    """Invite ``email`` to write ``proposal`` with its author; the invitation email is
    queued with the one-time link. The returned invitation carries the link's secret as
    ``token`` (not stored: the email is the only place it exists)."""
    enforce(policies.can_invite_coauthor(author, proposal, now=now))
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError(
            {"email": [_("Enter an email address, like name@example.org.")]}
        ) from None
    with transaction.atomic():
        locked = _lock(proposal)
        enforce(policies.can_invite_coauthor(author, locked, now=now))
        if (
            email == (author.email or "").lower()
            or EmailAddress.objects.filter(user=author, email__iexact=email).exists()
        ):
            raise ValidationError({"email": [_("That is your own address.")]})
        invitations = ProposalCoauthor.objects.filter(proposal=locked)
        if invitations.filter(email=email).exists():
            raise ValidationError(
                {"email": [_("This address was already invited to this proposal.")]}
            )
        if invitations.filter(status__in=LIVE_COAUTHOR_STATUSES).count() >= MAX_COAUTHORS:
            raise ValidationError(
                {
                    "email": [
                        _("A proposal can have at most %(n)d co-authors, invitations included.")
                        % {"n": MAX_COAUTHORS}
                    ]
                }
            )
        token = secrets.token_urlsafe(32)
        invitation = ProposalCoauthor.objects.create(
            proposal=locked,
            email=email,
            token_hash=token_hash(token),
            invited_by=author,
            invited_at=now,
        )
        notify_invitee(invitation, token=token, now=now)
    invitation.token = token  # type: ignore[attr-defined]
    return invitation


def _answer(invitation: ProposalCoauthor, user: User, now: datetime) -> ProposalCoauthor:
    """The invitation's row, locked, once the policy allows ``user`` to answer it."""
    enforce(policies.can_answer_invitation(user, invitation, now=now))
    # Only the invitation's row: its proposal is read, not changed.
    locked = (
        ProposalCoauthor.objects.select_for_update(of=("self",))
        .select_related("proposal__budget_round")
        .get(pk=invitation.pk)
    )
    # Answered meanwhile (twice the same click, or the author withdrew it).
    enforce(policies.can_answer_invitation(user, locked, now=now))
    locked.token_hash = ""
    locked.answered_at = now
    return locked


def coauthor_accept(*, invitation: ProposalCoauthor, user: User, now: datetime) -> ProposalCoauthor:
    user = signed_in(user)
    try:
        with transaction.atomic():
            locked = _answer(invitation, user, now)
            locked.status = CoauthorStatus.ACCEPTED
            locked.user = user
            locked.save()
            notify_author_of_acceptance(locked, now=now)
    except IntegrityError:  # invited twice under two of their addresses
        raise ValidationError(_("You are already a co-author of this proposal.")) from None
    return locked


def coauthor_decline(
    *, invitation: ProposalCoauthor, user: User, now: datetime
) -> ProposalCoauthor:
    user = signed_in(user)
    with transaction.atomic():
        locked = _answer(invitation, user, now)
        locked.status = CoauthorStatus.DECLINED
        locked.save()
    return locked


def coauthor_remove(*, coauthor: ProposalCoauthor, by: User, now: datetime) -> ProposalCoauthor:
    """The author removes a co-author or withdraws an invitation; a co-author leaves.
    The address is not invited again to this proposal."""
    enforce(policies.can_remove_coauthor(by, coauthor, now=now))
    with transaction.atomic():
        locked = (
            ProposalCoauthor.objects.select_for_update(of=("self",))
            .select_related("proposal__budget_round")
            .get(pk=coauthor.pk)
        )
        enforce(policies.can_remove_coauthor(by, locked, now=now))
        locked.status = CoauthorStatus.REMOVED
        locked.token_hash = ""
        locked.removed_at = now
        locked.removed_by = by
        locked.save()
    return locked
