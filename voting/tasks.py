"""Celery adapters for voting: thin, they read the clock, load by id and call a service."""

from __future__ import annotations

import logging

from celery import shared_task
from django.utils import timezone

from voting.services.results import area_close_count_publish, due_round_area_ids

logger = logging.getLogger(__name__)


@shared_task
def close_count_publish() -> int:
    """Beat task: close, count and publish every area whose voting phase has ended.

    Idempotent: each area is claimed with a conditional update inside the transaction
    that stores its result, so a second run (or two beats at once) changes nothing.
    """
    published = 0
    for round_area_id in due_round_area_ids(now=timezone.now()):
        result = area_close_count_publish(round_area_id=round_area_id, now=timezone.now())
        if result is not None:
            published += 1
            logger.info(
                "area %s counted and published: %s ballots", round_area_id, result.ballots_counted
            )
    return published
