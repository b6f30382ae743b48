"""Celery adapters for the proposals app: thin, they load by id and call a service."""

import logging
import smtplib

from celery import shared_task
from django.utils import timezone

from proposals import notifications
from proposals.services import rounds_advance_phases
from proposals.services.residents import resident_area_changes_apply_due

logger = logging.getLogger(__name__)


@shared_task
def advance_round_phases() -> int:
    """Beat task: record each round's move into the phase the clock has reached.

    Phase-end work belongs to the app that owns it (voting closes and counts, ledgers
    allocates); each of those runs its own beat task reading the clock, so nothing
    here needs to know about them.
    """
    moved = rounds_advance_phases(now=timezone.now())
    for round_id, old, new in moved:
        logger.info("round %s moved from %s to %s", round_id, old.value, new.value)
    return len(moved)


@shared_task(bind=True, max_retries=5, default_retry_delay=60)
def notify_proposal_author(self, event_id: int) -> bool:
    """Email the author about an officer's decision. Retried on mail errors."""
    event = notifications.event_claim(event_id=event_id, now=timezone.now())
    if event is None:
        return False  # already sent (or being sent) by another run
    try:
        notifications.event_email_send(event)
    except (smtplib.SMTPException, OSError) as error:
        notifications.event_release(event_id=event_id)
        logger.warning("sending notification %s failed: %s", event_id, error)
        raise self.retry(exc=error, countdown=60 * 2**self.request.retries) from error
    return True


@shared_task
def send_pending_notifications() -> int:
    """Beat task: the outbox sweep for notifications the fast path did not send."""
    pending = notifications.pending_event_ids(now=timezone.now())
    for event_id in pending:
        notify_proposal_author.delay(event_id)
    return len(pending)


@shared_task
def apply_due_area_moves() -> int:
    """Beat task: residents moved while they could vote take their new home area once
    that voting has closed (idempotent: each move is claimed by a conditional update)."""
    return resident_area_changes_apply_due(now=timezone.now())
