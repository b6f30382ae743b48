"""Celery adapters for platform-wide jobs: thin, they read the clock and call a service."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from pb_platform import health, outbox


@shared_task
def send_outbox_email(item_id: int) -> str:
    """The fast path: send one queued email right after the transaction that queued it.
    No Celery retries: a failure is recorded on the item and the sweep tries again."""
    return outbox.outbox_send(item_id=item_id, now=timezone.now())


@shared_task
def sweep_outbox() -> int:
    """Beat task: send what the fast path did not (broker down, failed send whose
    back-off has passed, or a sender that died holding an expired lease)."""
    return outbox.outbox_sweep(now=timezone.now(), clock=timezone.now)


@shared_task
def beat_heartbeat() -> None:
    """Beat task each tick: a worker ran what beat scheduled (read by ``/readyz``)."""
    health.beat_heartbeat(now=timezone.now())
