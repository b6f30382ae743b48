"""What a monitor reads: liveness (``/healthz``, no dependencies) and readiness
(``/readyz``: the database, the broker, the scheduler's last tick, and the backlog of
emails and failed job items).

Readiness fails (503) only on what stops the platform doing its work: no database, no
broker, or no beat tick for two periods (phases, counts and emails would stop). The
backlogs are reported for dashboards and alerts, not failed on: a queue of emails
waiting for a mail server is no reason to take a web server out of a load balancer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection

from pb_platform.models import Heartbeat, JobItem, JobItemStatus, OutboxEmail

BEAT = "beat"
# How long the broker may take to answer before it counts as unreachable.
BROKER_TIMEOUT_SECONDS = 2.0


def beat_heartbeat(*, now: datetime) -> None:
    """Record that beat scheduled a task and a worker ran it (called each tick)."""
    Heartbeat.objects.update_or_create(name=BEAT, defaults={"at": now})


def _database() -> dict[str, Any]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as error:
        return {"ok": False, "error": type(error).__name__}
    return {"ok": True}


def _broker() -> dict[str, Any]:
    # Imported here: the Celery app imports the settings, and this module is imported
    # by views that the URLconf loads.
    from pb_platform.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT_SECONDS)
    except Exception as error:
        return {"ok": False, "error": type(error).__name__}
    return {"ok": True}


def _beat(now: datetime) -> dict[str, Any]:
    limit = timedelta(seconds=2 * settings.PHASE_TICK_SECONDS)
    try:
        beat = Heartbeat.objects.filter(name=BEAT).first()
    except DatabaseError:
        return {"ok": False, "error": "database unreachable"}
    if beat is None:
        return {"ok": False, "last_tick": None, "max_age_seconds": limit.total_seconds()}
    age = (now - beat.at).total_seconds()
    return {
        "ok": age <= limit.total_seconds(),
        "last_tick": beat.at.isoformat(),
        "age_seconds": round(age, 1),
        "max_age_seconds": limit.total_seconds(),
    }


def _backlogs() -> dict[str, Any]:
    try:
        outbox_pending = OutboxEmail.objects.filter(
            sent_at__isnull=True, gave_up_at__isnull=True, cancelled_at__isnull=True
        ).count()
        outbox_given_up = OutboxEmail.objects.filter(
            gave_up_at__isnull=False, sent_at__isnull=True, cancelled_at__isnull=True
        ).count()
        jobs_failing = JobItem.objects.exclude(status=JobItemStatus.OK).count()
    except DatabaseError:
        return {}
    return {
        "outbox_pending": outbox_pending,
        "outbox_given_up": outbox_given_up,
        "failed_job_items": jobs_failing,
    }


@dataclass(frozen=True)
class Readiness:
    ready: bool
    checks: dict[str, dict[str, Any]]
    backlogs: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {"ready": self.ready, "checks": self.checks, **self.backlogs}


def readiness(*, now: datetime) -> Readiness:
    checks = {"database": _database(), "broker": _broker(), "beat": _beat(now)}
    return Readiness(
        ready=all(check["ok"] for check in checks.values()),
        checks=checks,
        backlogs=_backlogs(),
    )
