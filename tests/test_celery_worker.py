"""A real Celery worker with embedded beat moves a round's stored state on its own.

Eager mode does not count: this starts ``celery -A pb_platform worker --beat`` as a
separate process on the configured broker (Redis under CI=true, kombu's filesystem
transport when REDIS_URL is unset) and watches the shared database until the beat
schedule's ``proposals-advance-round-phases`` task has run.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from proposals.models import BudgetRound, RoundChange
from proposals.phases import Phase
from tests.factories import BudgetRoundFactory
from tests.processes import (
    forget_redis_queue,
    group_stop,
    log_tail,
    started_alone,
    worker_database_url,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() == "true"
DEADLINE_SECONDS = 60
POLL_SECONDS = 0.5


def sqlite_file_identity() -> tuple[int, int] | None:
    """The SQLite test database file's (device, inode), to spot it being replaced."""
    if connection.settings_dict["ENGINE"] != "django.db.backends.sqlite3":
        return None
    try:
        stat = os.stat(connection.settings_dict["NAME"])
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


def test_worker_with_beat_moves_the_round_within_a_minute(
    transactional_db, django_db_serialized_rollback, tmp_path
):
    assert not getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False), "eager mode does not count"
    if IN_CI:
        assert settings.CELERY_BROKER_URL.startswith("redis://"), (
            f"CI must exercise Redis, but the broker is {settings.CELERY_BROKER_URL!r}"
        )

    # The clock says submission; only the beat task records that in ``state``.
    budget_round = BudgetRoundFactory(phase=Phase.SUBMISSION)
    assert budget_round.state == Phase.UPCOMING
    assert budget_round.current_phase == Phase.SUBMISSION
    assert not RoundChange.objects.filter(budget_round=budget_round).exists()

    database_file = sqlite_file_identity()
    var_dir = tmp_path / "var"
    log_path = tmp_path / "worker.log"
    # A queue of its own: no other worker on the same Redis takes this run's ticks, and
    # this worker takes no stale or foreign tasks.
    queue = f"commonpurse-test-{uuid.uuid4().hex[:12]}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "pb_platform.settings",
        "DATABASE_URL": worker_database_url(),
        "PHASE_TICK_SECONDS": "2",
        "VAR_DIR": str(var_dir),
        "CELERY_QUEUE": queue,
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("CELERY_BROKER_DIR", None)  # the filesystem broker lives in the temporary VAR_DIR
    command = [
        str(Path(sys.executable).parent / "celery"),
        "-A",
        "pb_platform",
        "worker",
        "--beat",
        "--loglevel=info",
        "--concurrency=1",
        f"--hostname=commonpurse-test-{queue[-12:]}@%h",
        # Keep to itself: no syncing with, or watching, other workers on the broker.
        "--without-mingle",
        "--without-gossip",
        "--without-heartbeat",
    ]

    started = time.monotonic()
    process = started_alone(command, cwd=PROJECT_ROOT, env=env, log=log_path)
    try:
        while time.monotonic() - started < DEADLINE_SECONDS:
            budget_round.refresh_from_db()
            if budget_round.state == Phase.SUBMISSION:
                break
            if process.poll() is not None:
                pytest.fail(
                    f"the worker exited with {process.returncode} before the round moved:\n"
                    + log_tail(log_path)
                )
            time.sleep(POLL_SECONDS)
        elapsed = time.monotonic() - started
        replaced = ""
        if sqlite_file_identity() != database_file:
            # The worker reconnects per task and so follows the path to the new file.
            replaced = (
                f"{connection.settings_dict['NAME']} was replaced during the test: another "
                "pytest run in this checkout shares it (give each run its own VAR_DIR). "
            )
        assert budget_round.state == Phase.SUBMISSION, (
            f"{replaced}the round's state was still {budget_round.state!r} after "
            f"{elapsed:.0f}s; worker log tail:\n{log_tail(log_path)}"
        )
    finally:
        group_stop(process)
        forget_redis_queue(queue)

    assert budget_round.state_changed_at is not None
    change = RoundChange.objects.get(budget_round=budget_round)
    assert change.action == "phase"
    assert change.changed_by is None
    assert change.changes == {"state": [Phase.UPCOMING.value, Phase.SUBMISSION.value]}
    log = log_path.read_text(errors="replace")
    assert "proposals.tasks.advance_round_phases" in log, log_tail(log_path)
    assert f".> {queue}" in log, log_tail(log_path)  # the worker consumed this run's queue
    assert BudgetRound.objects.get(pk=budget_round.pk).state == Phase.SUBMISSION
