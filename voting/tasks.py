"""Celery adapters for voting: thin, they read the clock, load by id and call a service."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Any

from celery import shared_task
from django.utils import timezone

from pb_platform.jobs import JobItemRun, JobRun, run_items
from voting.models import AreaResult
from voting.services.explanations import (
    EXPLAIN_JOB,
    result_explain,
    result_explain_job_label,
    results_to_explain,
)
from voting.services.notifications import (
    NOTIFY_JOB,
    result_notify_job_label,
    result_voters_notify,
    results_to_notify,
)
from voting.services.results import (
    CLOSE_JOB,
    area_close_count_publish,
    area_result_job_key,
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


def _each_published_result(
    *,
    job: str,
    results: list[AreaResult],
    label: Callable[[AreaResult], str],
    service: Callable[..., Any],
) -> JobRun:
    """A follow-up of publication, one job item per result: ``service(result_id=, now=)``."""
    now = timezone.now()
    return run_items(
        job=job,
        items=[
            JobItemRun(
                key=area_result_job_key(result),
                label=label(result),
                run=partial(service, result_id=result.pk, now=now),
            )
            for result in results
        ],
        now=now,
    )


@shared_task
def notify_published_results() -> int:
    """Beat task: email the voters who asked, once per published area result.

    A job of its own, after publication: a failure here (say, a template error) is a
    failed item retried with a back-off, and never delays or undoes a result. Each
    result is claimed with a conditional update, so running twice emails nobody twice.
    """
    run = _each_published_result(
        job=NOTIFY_JOB,
        results=results_to_notify(),
        label=result_notify_job_label,
        service=result_voters_notify,
    )
    return sum(queued or 0 for queued in run.results.values())


@shared_task
def explain_published_results() -> int:
    """Beat task: store why each proposal won or lost, once per published area result.

    A job of its own, after publication: an explanation that fails (or takes seconds on
    a city-sized area) never delays a result. It also fills in results published before
    explanations existed. Returns how many it stored.
    """
    run = _each_published_result(
        job=EXPLAIN_JOB,
        results=results_to_explain(),
        label=result_explain_job_label,
        service=result_explain,
    )
    return sum(stored is not None for stored in run.results.values())
