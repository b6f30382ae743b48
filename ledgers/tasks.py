"""Celery adapters for ledgers: thin, they read the clock and call a service."""

from __future__ import annotations

import logging

from celery import shared_task
from django.utils import timezone

from ledgers.services import allocations_for_published_results

logger = logging.getLogger(__name__)


@shared_task
def allocate_published_results() -> int:
    """Beat task: give each winning proposal of a newly published result its allocation.

    Idempotent (a unique constraint allows one allocation per proposal), so it can run
    on every tick and again after a crash. Each proposal is its own item: one that
    fails is recorded and retried later (see ``pb_platform.jobs``), never stopping the
    others nor making this task raise.
    """
    made = allocations_for_published_results(now=timezone.now())
    if made:
        logger.info("allocated %s funded proposals", made)
    return made
