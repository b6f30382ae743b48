"""Emails to authors about officers' decisions, through the platform's outbox.

Each officer's decision is a ``ProposalEvent``; in the same transaction an outbox item
("proposal_decision", the event's id) is queued for the author, so the decision and its
email are saved together. The email is sent after the officer's transaction commits and
rendered then, in the author's language; the officer's action is never held up by
email (see ``pb_platform.outbox``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from pb_platform.outbox import (
    AMENDMENT_ANSWERED,
    AMENDMENT_SUGGESTED,
    COAUTHOR_ACCEPTED,
    COAUTHOR_INVITATION,
    CODESIGN_ANSWERED,
    CODESIGN_OFFERED,
    MERGE_ANSWERED,
    MERGE_PROPOSED,
    PROPOSAL_DECISION,
    THEME_DECIDED,
    email_enqueue,
)
from pb_platform.users import User
from proposals.models import (
    AmendmentStatus,
    CoauthorStatus,
    CoDesignOffer,
    MergeStatus,
    Proposal,
    ProposalAmendment,
    ProposalCoauthor,
    ProposalEvent,
    ProposalMerge,
    ThemeSuggestion,
)


def proposal_authors(proposal: Proposal) -> list[User]:
    """Who answers for a proposal and hears about it: its author and the co-authors who
    accepted (imported proposals have nobody)."""
    writers = [proposal.author] if proposal.author is not None else []
    coauthors = ProposalCoauthor.objects.filter(
        proposal=proposal, status=CoauthorStatus.ACCEPTED
    ).select_related("user")
    return writers + [c.user for c in coauthors.order_by("pk") if c.user is not None]


def notify_author_after_commit(event: ProposalEvent) -> None:
    """Queue the email about ``event`` for each of its proposal's authors (the author
    and the co-authors who accepted; imported proposals have nobody). Call it in the
    transaction that records the event (the name says when the email leaves)."""
    for writer in proposal_authors(event.proposal):
        email_enqueue(
            kind=PROPOSAL_DECISION, recipient=writer, params={"event_id": event.pk}, now=event.at
        )


def decision_context(params: dict[str, Any]) -> dict[str, Any] | None:
    """The email's context, loaded at send time; None if the event is gone."""
    event = (
        ProposalEvent.objects.select_related("proposal", "proposal__budget_round")
        .filter(pk=int(params["event_id"]))
        .first()
    )
    if event is None:
        return None
    proposal = event.proposal
    return {
        "event": event,
        "proposal": proposal,
        "status": event.get_to_status_display(),
        "url": f"{settings.SITE_URL}{proposal.get_absolute_url()}",
    }


# --- Priorities --------------------------------------------------------------------------


def notify_theme_decided(suggestion: ThemeSuggestion) -> None:
    """Queue the officers' decision on a suggested theme for the resident who suggested
    it, in the transaction that records the decision."""
    email_enqueue(
        kind=THEME_DECIDED,
        recipient=suggestion.suggested_by,
        params={"suggestion_id": suggestion.pk},
        now=suggestion.decided_at or suggestion.created_at,
    )


def theme_decided_context(params: dict[str, Any]) -> dict[str, Any] | None:
    suggestion = (
        ThemeSuggestion.objects.select_related("budget_round")
        .filter(pk=int(params["suggestion_id"]))
        .first()
    )
    if suggestion is None:
        return None
    budget_round = suggestion.budget_round
    return {
        "suggestion": suggestion,
        "budget_round": budget_round,
        "status": suggestion.get_status_display(),
        "url": settings.SITE_URL + reverse("proposals:priorities", args=[budget_round.slug]),
    }


# --- Writing together -------------------------------------------------------------------


def notify_invitee(invitation: ProposalCoauthor, *, token: str, now: datetime) -> None:
    """Queue the invitation with its one-time link, to the invited address. When an
    account already has that address verified, the email is theirs (their language);
    otherwise it goes to the bare address. Call it in the inviting transaction."""
    account = (
        User.objects.filter(
            emailaddress__email__iexact=invitation.email, emailaddress__verified=True
        )
        .order_by("pk")
        .first()
    )
    email_enqueue(
        kind=COAUTHOR_INVITATION,
        recipient=account,
        address=invitation.email,
        params={"invitation_id": invitation.pk, "token": token},
        now=now,
    )


def invitation_url(token: str) -> str:
    return settings.SITE_URL + reverse("proposals:coauthor_invitation", kwargs={"token": token})


def invitation_context(params: dict[str, Any]) -> dict[str, Any] | None:
    """None once the invitation was answered or withdrawn: nothing left to tell."""
    invitation = (
        ProposalCoauthor.objects.select_related("proposal", "invited_by__resident_profile")
        .filter(pk=int(params["invitation_id"]), status=CoauthorStatus.INVITED)
        .first()
    )
    if invitation is None:
        return None
    return {
        "invitation": invitation,
        "proposal": invitation.proposal,
        "inviter": display_name(invitation.invited_by),
        "url": invitation_url(str(params["token"])),
    }


def notify_author_of_acceptance(invitation: ProposalCoauthor, *, now: datetime) -> None:
    author = invitation.proposal.author
    if author is not None:
        email_enqueue(
            kind=COAUTHOR_ACCEPTED,
            recipient=author,
            params={"invitation_id": invitation.pk},
            now=now,
        )


def accepted_context(params: dict[str, Any]) -> dict[str, Any] | None:
    invitation = (
        ProposalCoauthor.objects.select_related("proposal", "user__resident_profile")
        .filter(pk=int(params["invitation_id"]), status=CoauthorStatus.ACCEPTED)
        .first()
    )
    if invitation is None:
        return None
    return {
        "proposal": invitation.proposal,
        "coauthor": display_name(invitation.user),
        "url": f"{settings.SITE_URL}{invitation.proposal.get_absolute_url()}",
    }


def display_name(user: User | None) -> str:
    """What residents are called on the site (their chosen name), never their email."""
    try:
        profile = user.resident_profile if user is not None else None
    except ObjectDoesNotExist:
        profile = None
    return profile.display_name if profile is not None else str(_("a resident"))


def notify_codesign_offered(offer: CoDesignOffer) -> None:
    """Queue the offer's email to each author, in the transaction that saves it."""
    for author in proposal_authors(offer.proposal):
        email_enqueue(
            kind=CODESIGN_OFFERED,
            recipient=author,
            params={"offer_id": offer.pk},
            now=offer.created_at,
        )


def notify_codesign_answered(offer: CoDesignOffer) -> None:
    """Queue the authors' answer to the officer who made the offer."""
    email_enqueue(
        kind=CODESIGN_ANSWERED,
        recipient=offer.officer,
        params={"offer_id": offer.pk},
        now=offer.closed_at or offer.created_at,
    )


def codesign_context(params: dict[str, Any]) -> dict[str, Any] | None:
    offer = (
        CoDesignOffer.objects.select_related("proposal__budget_round")
        .filter(pk=int(params["offer_id"]))
        .first()
    )
    if offer is None:
        return None
    proposal = offer.proposal
    return {
        "offer": offer,
        "proposal": proposal,
        "status": offer.get_status_display(),
        "url": f"{settings.SITE_URL}{proposal.get_absolute_url()}#codesign",
        "review_ends": proposal.budget_round.voting_starts,
    }


# --- Amendments -------------------------------------------------------------------------


def notify_amendment_suggested(amendment: ProposalAmendment) -> None:
    """Queue the suggestion's email to each writer, in the transaction that saves it."""
    for writer in proposal_authors(amendment.proposal):
        email_enqueue(
            kind=AMENDMENT_SUGGESTED,
            recipient=writer,
            params={"amendment_id": amendment.pk},
            now=amendment.created_at,
        )


def notify_amendment_answered(amendment: ProposalAmendment) -> None:
    """Queue the authors' answer to the resident who suggested the change."""
    email_enqueue(
        kind=AMENDMENT_ANSWERED,
        recipient=amendment.author,
        params={"amendment_id": amendment.pk},
        now=amendment.closed_at or amendment.created_at,
    )


def amendment_context(params: dict[str, Any]) -> dict[str, Any] | None:
    amendment = (
        ProposalAmendment.objects.select_related(
            "proposal__budget_round", "author__resident_profile"
        )
        .filter(pk=int(params["amendment_id"]))
        .first()
    )
    if amendment is None:
        return None
    url = reverse("proposals:amendment_detail", args=[amendment.pk])
    return {
        "amendment": amendment,
        "proposal": amendment.proposal,
        "suggested_by": display_name(amendment.author),
        "accepted": amendment.status == AmendmentStatus.ACCEPTED,
        "status": amendment.get_status_display(),
        "url": f"{settings.SITE_URL}{url}",
        "review_ends": amendment.proposal.budget_round.voting_starts,
    }


# --- Merges -----------------------------------------------------------------------------


def merge_writers(merge: ProposalMerge) -> list[User]:
    """Everyone who writes either proposal, each once."""
    seen: dict[int, User] = {}
    for person in [*proposal_authors(merge.into), *proposal_authors(merge.absorbed)]:
        seen.setdefault(person.pk, person)
    return list(seen.values())


def notify_merge_proposed(merge: ProposalMerge) -> None:
    """Queue the proposed merge's email to the writers of both proposals."""
    for writer in merge_writers(merge):
        email_enqueue(
            kind=MERGE_PROPOSED,
            recipient=writer,
            params={"merge_id": merge.pk},
            now=merge.created_at,
        )


def notify_merge_answered(merge: ProposalMerge) -> None:
    """Queue the outcome (merged, or declined with the reply) to the officer who
    proposed it and to the writers of both proposals."""
    recipients = {merge.officer.pk: merge.officer}
    for writer in merge_writers(merge):
        recipients.setdefault(writer.pk, writer)
    for person in recipients.values():
        email_enqueue(
            kind=MERGE_ANSWERED,
            recipient=person,
            params={"merge_id": merge.pk},
            now=merge.closed_at or merge.created_at,
        )


def merge_context(params: dict[str, Any]) -> dict[str, Any] | None:
    merge = (
        ProposalMerge.objects.select_related(
            "into__budget_round", "absorbed", "declined_by__resident_profile"
        )
        .filter(pk=int(params["merge_id"]))
        .first()
    )
    if merge is None:
        return None
    return {
        "merge": merge,
        "into": merge.into,
        "absorbed": merge.absorbed,
        "status": merge.get_status_display(),
        "merged": merge.status == MergeStatus.MERGED,
        "declined_by": display_name(merge.declined_by) if merge.declined_by else "",
        "url": f"{settings.SITE_URL}{merge.into.get_absolute_url()}#merges",
        "review_ends": merge.into.budget_round.voting_starts,
    }
