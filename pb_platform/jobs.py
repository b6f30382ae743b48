"""Periodic jobs that isolate failures: each item in its own transaction, a failure
recorded with a back-off, and after ``MAX_ATTEMPTS`` failures the item waits for an
officer instead of being tried on every tick.

Modelled on healthchecks' ``sendalerts``: one bad item (an area whose count raises, a
proposal whose allocation cannot be written) is logged and recorded, and the job goes on
with the others. The job never raises because of an item, so Celery never retries the
whole job forever. The items' own idempotency (conditional-update claims, unique
constraints) is untouched: this module only decides whether to try an item now.

    run = run_items(job="voting.close_count_publish", items=[
        JobItemRun(key="round_area:12", label="Counting Old Town in …", run=lambda: ...),
    ], now=now)
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from pb_platform.models import JobItem, JobItemEvent, JobItemEventKind, JobItemStatus
from pb_platform.policies import can_retry_job, enforce
from pb_platform.users import User

logger = logging.getLogger(__name__)

# After this many failures in a row the item is no longer tried automatically.
MAX_ATTEMPTS = 5
# Waits after the 1st, 2nd, 3rd and 4th failure: 1, 2, 4 and 8 minutes.
BACKOFF_BASE = timedelta(minutes=1)
ERROR_MAX_LENGTH = 500


@dataclass(frozen=True)
class JobItemRun:
    """One item of a job run: a stable key, what it is for officers, and the work."""

    key: str
    label: str
    run: Callable[[], Any]


@dataclass
class JobRun:
    """What a run did: each tried item's return value, and the keys it failed or skipped."""

    results: dict[str, Any] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failure in a row: 1, 2, 4, 8 minutes."""
    return BACKOFF_BASE * 2 ** (attempts - 1)


def error_text(error: BaseException) -> str:
    """The exception's type and message, on one line, for officers: no stack trace."""
    message = " ".join(str(error).split())
    text = f"{type(error).__name__}: {message}" if message else type(error).__name__
    return text[:ERROR_MAX_LENGTH]


def held_back(item: JobItem, *, now: datetime) -> bool:
    """Whether the job skips the item now: waiting for an officer, or for its back-off."""
    if item.status == JobItemStatus.NEEDS_OFFICER:
        return True
    return item.status == JobItemStatus.FAILING and (
        item.next_try_at is not None and item.next_try_at > now
    )


def run_items(*, job: str, items: Sequence[JobItemRun], now: datetime) -> JobRun:
    """Run each item in its own transaction; record failures, skip the held-back.

    An item's work and the clearing of its earlier failures commit together. When the
    work raises, its transaction (or savepoint, inside a caller's transaction) is rolled
    back first and the failure is then written in a transaction of its own, so the
    record survives the rollback of the work it describes.
    """
    run = JobRun()
    recorded = {
        item.item_key: item
        for item in JobItem.objects.filter(
            job=job, item_key__in=[item.key for item in items]
        ).exclude(status=JobItemStatus.OK)
    }
    for item in items:
        previous = recorded.get(item.key)
        if previous is not None and held_back(previous, now=now):
            run.skipped.append(item.key)
            continue
        try:
            with transaction.atomic():
                run.results[item.key] = item.run()
                if previous is not None:
                    _record_success(job=job, key=item.key, now=now)
        # Any exception: this is the isolation boundary. The item's work is undone, the
        # error is logged (with its stack trace) and recorded, and the other items go on.
        except Exception as error:
            run.failed.append(item.key)
            failure = _record_failure(job=job, item=item, error=error, now=now)
            logger.error(
                "job %s: item %s (%s) failed, attempt %d of %d; %s",
                job,
                item.key,
                item.label,
                failure.attempts,
                MAX_ATTEMPTS,
                "waits for an officer"
                if failure.status == JobItemStatus.NEEDS_OFFICER
                else f"next try at {failure.next_try_at:%Y-%m-%d %H:%M:%S}",
                exc_info=error,
            )
    return run


def _record_failure(*, job: str, item: JobItemRun, error: Exception, now: datetime) -> JobItem:
    text = error_text(error)
    with transaction.atomic():
        # Locked so two workers failing on the same item at once count two attempts.
        record, _created = JobItem.objects.select_for_update().get_or_create(
            job=job, item_key=item.key, defaults={"updated_at": now}
        )
        record.attempts += 1
        record.label = item.label[:300]
        record.last_error = text
        record.last_failed_at = now
        if record.attempts >= MAX_ATTEMPTS:
            record.status = JobItemStatus.NEEDS_OFFICER
            record.next_try_at = None
        else:
            record.status = JobItemStatus.FAILING
            record.next_try_at = now + backoff(record.attempts)
        record.updated_at = now
        record.save()
        JobItemEvent.objects.create(
            item=record, kind=JobItemEventKind.FAILED, at=now, attempt=record.attempts, error=text
        )
    return record


def _record_success(*, job: str, key: str, now: datetime) -> None:
    record = JobItem.objects.select_for_update().get(job=job, item_key=key)
    if record.status == JobItemStatus.OK:
        return
    record.status = JobItemStatus.OK
    record.attempts = 0
    record.next_try_at = None
    record.updated_at = now
    record.save(update_fields=["status", "attempts", "next_try_at", "updated_at"])
    JobItemEvent.objects.create(item=record, kind=JobItemEventKind.SUCCEEDED, at=now)
    logger.info("job %s: item %s succeeded after failing", job, key)


# --- Reading and retrying ------------------------------------------------------------------


def job_items_failing() -> QuerySet[JobItem]:
    """Items that are failing or wait for an officer, worst first, with who retried."""
    return (
        JobItem.objects.exclude(status=JobItemStatus.OK)
        .select_related("retried_by")
        .order_by("-status", "-attempts", "-updated_at", "pk")
    )


def job_items_recorded(*, job: str, keys: Iterable[str]) -> dict[str, JobItem]:
    """The job's recorded items among ``keys``, failing or not, in one query."""
    keys = list(keys)
    if not keys:
        return {}
    return {item.item_key: item for item in JobItem.objects.filter(job=job, item_key__in=keys)}


def job_item_history() -> QuerySet[JobItemEvent]:
    """Every recorded failure, success after failing and officer's retry, newest first."""
    return JobItemEvent.objects.select_related("item", "by").order_by("-at", "-pk")


def job_item_retry(*, officer: User, item_id: int, now: datetime) -> JobItem:
    """An officer asks for a failed item to be tried on the job's next run.

    Its failure count starts again (so it gets ``MAX_ATTEMPTS`` more automatic tries),
    and the retry is recorded with who asked and when. Retrying an item that is not
    failing, or was already retried and not tried since, changes nothing (a double
    click records one retry).
    """
    enforce(can_retry_job(officer))
    with transaction.atomic():
        item = JobItem.objects.select_for_update().get(pk=item_id)
        if item.status == JobItemStatus.OK or item.attempts == 0:
            return item
        item.status = JobItemStatus.FAILING
        item.attempts = 0
        item.next_try_at = now
        item.retried_by = officer
        item.retried_at = now
        item.updated_at = now
        item.save()
        JobItemEvent.objects.create(item=item, kind=JobItemEventKind.RETRIED, at=now, by=officer)
    logger.info("job %s: item %s retried by user %s", item.job, item.item_key, officer.pk)
    return item
