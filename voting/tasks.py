"""Celery adapters for voting: thin, they read the clock, load by id and call a service."""

from __future__ import annotations

import logging
import smtplib
from functools import partial

from celery import shared_task
from django.utils import timezone

from pb_platform.jobs import JobItemRun, run_items
from voting.models import AreaResult
from voting.services import receipts
from voting.services.results import (
    CLOSE_JOB,
    area_close_count_publish,
    due_round_areas,
    round_area_job_key,
    round_area_job_label,
)

logger = logging.getLogger(__name__)


@shared_task
def close_count_publish() -> int:
    """Beat task: close, count and publish every area whose voting phase has ended.

    Idempotent: each area is claimed with a conditional update inside the transaction
    that stores its result, so a second run (or two beats at once) changes nothing.
    Each area is a job item: one whose count raises is recorded and retried with a
    back-off (then waits for an officer) while every other area is published.
    """
    now = timezone.now()
    run = run_items(
        job=CLOSE_JOB,
        items=[
            JobItemRun(
                key=round_area_job_key(round_area.pk),
                label=round_area_job_label(round_area),
                run=partial(_close_area, round_area.pk),
            )
            for round_area in due_round_areas(now=now)
        ],
        now=now,
    )
    published = 0
    for key, result in run.results.items():
        if result is not None:
            published += 1
            logger.info("%s counted and published: %s ballots", key, result.ballots_counted)
    return published


def _close_area(round_area_id: int) -> AreaResult | None:
    # The clock is read per area, as the count is stored with the time it was made.
    return area_close_count_publish(round_area_id=round_area_id, now=timezone.now())


@shared_task(bind=True, max_retries=5, default_retry_delay=60)
def send_ballot_receipt(self, ballot_id: int) -> bool:
    """Email an online voter their receipt code. Retried on mail errors."""
    ballot = receipts.receipt_claim(ballot_id=ballot_id, now=timezone.now())
    if ballot is None:
        return False  # already sent, or being sent by another run
    try:
        receipts.receipt_email_send(ballot)
    except (smtplib.SMTPException, OSError) as error:
        receipts.receipt_release(ballot_id=ballot_id)
        logger.warning("sending receipt %s failed: %s", ballot_id, error)
        raise self.retry(exc=error, countdown=60 * 2**self.request.retries) from error
    return True


@shared_task
def send_pending_receipts() -> int:
    """Beat task: the outbox sweep for receipts the on-commit fast path did not send."""
    pending = receipts.pending_receipt_ids(now=timezone.now())
    for ballot_id in pending:
        send_ballot_receipt.delay(ballot_id)
    return len(pending)
