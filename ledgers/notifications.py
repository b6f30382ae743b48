"""Emails to the people following a funded proposal's delivery, through the outbox.

Queued in the transaction that records the news (a milestone planned, changed or
reached, a progress note), rendered when sent, in each follower's language.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings

from ledgers.models import AssessmentInvitation, DeliveryFollower, DeliveryUpdate, MilestoneChange
from pb_platform.outbox import DELIVERY_NEWS, email_enqueue
from proposals.models import Proposal


def notify_followers(
    proposal: Proposal,
    *,
    now: datetime,
    changes: list[MilestoneChange] | None = None,
    update: DeliveryUpdate | None = None,
) -> None:
    """Queue one email per follower about these milestone changes or this note."""
    params: dict[str, Any] = {"proposal_id": proposal.pk}
    if changes:
        params["change_ids"] = [change.pk for change in changes]
    if update is not None:
        params["update_id"] = update.pk
    followers = DeliveryFollower.objects.filter(proposal=proposal).select_related("user")
    for follower in followers.order_by("pk"):
        email_enqueue(kind=DELIVERY_NEWS, recipient=follower.user, params=params, now=now)


def delivery_news_context(params: dict[str, Any]) -> dict[str, Any] | None:
    proposal = (
        Proposal.objects.select_related("budget_round").filter(pk=params["proposal_id"]).first()
    )
    if proposal is None:
        return None
    changes = list(
        MilestoneChange.objects.filter(pk__in=params.get("change_ids", []))
        .select_related("milestone")
        .order_by("pk")
    )
    update_id = params.get("update_id")
    update = DeliveryUpdate.objects.filter(pk=update_id).first() if update_id is not None else None
    if not changes and update is None:
        return None
    return {
        "proposal": proposal,
        "changes": changes,
        "update": update,
        "url": f"{settings.SITE_URL}{proposal.get_absolute_url()}#money-title",
    }


def assessment_invitation_context(params: dict[str, Any]) -> dict[str, Any] | None:
    """None once the invitation was used: nothing left to tell."""
    invitation = (
        AssessmentInvitation.objects.select_related("proposal__round_area__area")
        .filter(pk=int(params["invitation_id"]), used_at__isnull=True)
        .first()
    )
    if invitation is None:
        return None
    return {
        "invitation": invitation,
        "proposal": invitation.proposal,
        "url": str(params["url"]),
    }
