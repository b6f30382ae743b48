"""Explain every published result that has no explanation yet (results published before
explanations existed, or while the explain job was failing), now, in this process."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from pb_platform.jobs import JobItemRun, run_items
from voting.services.explanations import (
    EXPLAIN_JOB,
    result_explain,
    result_explain_job_key,
    result_explain_job_label,
    results_to_explain,
)


class Command(BaseCommand):
    help = "Store the explanation of every published result that has none yet."

    def handle(self, *args: Any, **options: Any) -> None:
        waiting = results_to_explain()
        now = timezone.now()
        # The same job items as the beat job: a failure is recorded (and shown to
        # officers) the same way, and the others are still explained.
        run = run_items(
            job=EXPLAIN_JOB,
            items=[
                JobItemRun(
                    key=result_explain_job_key(result),
                    label=result_explain_job_label(result),
                    run=lambda result_id=result.pk: result_explain(
                        result_id=result_id, now=timezone.now()
                    ),
                )
                for result in waiting
            ],
            now=now,
        )
        stored = sum(explanation is not None for explanation in run.results.values())
        self.stdout.write(
            f"{len(waiting)} result(s) without an explanation: {stored} explained, "
            f"{len(run.failed)} failed, {len(run.skipped)} waiting to be retried "
            "(failures and retries: /officer/jobs/)."
        )
        if run.failed:
            raise SystemExit(1)
