"""Explain every published result that has no explanation yet (results published before
explanations existed, or while the explain job was failing), now, in this process."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from voting.services.explanations import results_to_explain
from voting.tasks import explain_published_results


class Command(BaseCommand):
    help = "Store the explanation of every published result that has none yet."

    def handle(self, *args: Any, **options: Any) -> None:
        waiting = len(results_to_explain())
        # The beat job's own run: a failure is a job item recorded and shown to officers
        # the same way, and the other results are still explained.
        stored = explain_published_results()
        left = len(results_to_explain())
        self.stdout.write(
            f"{waiting} result(s) without an explanation: {stored} explained, {left} still "
            "without (failures and retries: /officer/jobs/)."
        )
        if left:
            raise SystemExit(1)
