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

from pb_platform.outbox import PROPOSAL_DECISION, email_enqueue
from proposals.models import ProposalEvent


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
