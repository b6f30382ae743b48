"""Celery adapters for voting: thin, they read the clock, load by id and call a service."""

from __future__ import annotations

import logging
from functools import partial

from celery import shared_task
from django.utils import timezone

from pb_platform.jobs import JobItemRun, run_items
from voting.models import AreaResult
from voting.services.explanations import (
    EXPLAIN_JOB,
    result_explain,
    result_explain_job_key,
    result_explain_job_label,
    results_to_explain,
)
from voting.services.notifications import (
    NOTIFY_JOB,
    result_notify_job_key,
    result_notify_job_label,
    result_voters_notify,
    results_to_notify,
)
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


@shared_task
def notify_published_results() -> int:
    """Beat task: email the voters who asked, once per published area result.

    A job of its own, after publication: a failure here (say, a template error) is a
    failed item retried with a back-off, and never delays or undoes a result. Each
    result is claimed with a conditional update, so running twice emails nobody twice.
    """
    now = timezone.now()
    run = run_items(
        job=NOTIFY_JOB,
        items=[
            JobItemRun(
                key=result_notify_job_key(result),
                label=result_notify_job_label(result),
                run=partial(result_voters_notify, result_id=result.pk, now=now),
            )
            for result in results_to_notify()
        ],
        now=now,
    )
    return sum(queued or 0 for queued in run.results.values())


@shared_task
def explain_published_results() -> int:
    """Beat task: store why each proposal won or lost, once per published area result.

    A job of its own, after publication: an explanation that fails (or takes seconds on
    a city-sized area) never delays a result. It also fills in results published before
    explanations existed. Returns how many it stored.
    """
    now = timezone.now()
    run = run_items(
        job=EXPLAIN_JOB,
        items=[
            JobItemRun(
                key=result_explain_job_key(result),
                label=result_explain_job_label(result),
                run=partial(result_explain, result_id=result.pk, now=now),
            )
            for result in results_to_explain()
        ],
        now=now,
    )
    return sum(stored is not None for stored in run.results.values())
