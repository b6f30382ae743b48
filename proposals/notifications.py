"""Emails to authors about officers' decisions, sent through an outbox.

Each decision is a ``ProposalEvent`` with ``notified_at`` empty. After the officer's
transaction commits, a Celery task is asked to send it; if the broker cannot be reached
then, or sending keeps failing, the beat sweep finds the event later. Either way the
officer's action has already been saved and is never held up by email.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from kombu.exceptions import OperationalError as BrokerUnavailable

from proposals.models import ProposalEvent

logger = logging.getLogger(__name__)

# Events younger than this are left to the on-commit fast path by the sweep.
SWEEP_GRACE = timedelta(minutes=2)


def notify_author_after_commit(event: ProposalEvent) -> None:
    event_id = event.pk

    def enqueue() -> None:
        from proposals.tasks import notify_proposal_author

        try:
            notify_proposal_author.delay(event_id)
        except BrokerUnavailable:
            logger.warning("broker unavailable; event %s left for the outbox sweep", event_id)

    transaction.on_commit(enqueue)


def event_claim(*, event_id: int, now: datetime) -> ProposalEvent | None:
    """Claim an unsent notification so two senders never both send it."""
    claimed = ProposalEvent.objects.filter(pk=event_id, notified_at__isnull=True).update(
        notified_at=now
    )
    if claimed != 1:
        return None
    return ProposalEvent.objects.select_related("proposal", "proposal__author").get(pk=event_id)


def event_release(*, event_id: int) -> None:
    """Give the notification back after a failed send, so a retry or the sweep sends it."""
    ProposalEvent.objects.filter(pk=event_id).update(notified_at=None)


def event_email_send(event: ProposalEvent) -> None:
    proposal = event.proposal
    if proposal.author is None:  # imported historical proposals have nobody to tell
        return
    context = {
        "event": event,
        "proposal": proposal,
        "status": event.get_to_status_display(),
        "url": f"{settings.SITE_URL}{proposal.get_absolute_url()}",
    }
    send_mail(
        subject=_("Your proposal “%(title)s”: %(status)s")
        % {"title": proposal.title, "status": context["status"]},
        message=render_to_string("proposals/email/status_changed.txt", context),
        from_email=None,
        recipient_list=[proposal.author.email],
    )


def pending_event_ids(*, now: datetime) -> list[int]:
    return list(
        ProposalEvent.objects.filter(
            notified_at__isnull=True, actor_is_officer=True, at__lte=now - SWEEP_GRACE
        )
        .order_by("at")
        .values_list("pk", flat=True)[:500]
    )
