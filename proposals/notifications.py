"""Emails to authors about officers' decisions, through the platform's outbox.

Each officer's decision is a ``ProposalEvent``; in the same transaction an outbox item
("proposal_decision", the event's id) is queued for the author, so the decision and its
email are saved together. The email is sent after the officer's transaction commits and
rendered then, in the author's language; the officer's action is never held up by
email (see ``pb_platform.outbox``).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from pb_platform.outbox import CODESIGN_ANSWERED, CODESIGN_OFFERED, PROPOSAL_DECISION, email_enqueue
from pb_platform.users import User
from proposals.models import CoDesignOffer, Proposal, ProposalEvent


def proposal_authors(proposal: Proposal) -> list[User]:
    """Who answers for a proposal and hears about it (imported ones have nobody)."""
    return [proposal.author] if proposal.author is not None else []


def notify_author_after_commit(event: ProposalEvent) -> None:
    """Queue the email about ``event`` for its proposal's author. Call it in the
    transaction that records the event (the name says when the email leaves)."""
    author = event.proposal.author
    if author is None:  # imported historical proposals have nobody to tell
        return
    email_enqueue(
        kind=PROPOSAL_DECISION, recipient=author, params={"event_id": event.pk}, now=event.at
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
