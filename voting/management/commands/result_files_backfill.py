"""Store the Pabulib file of every published result that has none (results published
before files were stored), once; running it again stores nothing new.

    python manage.py result_files_backfill
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from voting.services.result_files import result_files_backfill


class Command(BaseCommand):
    help = "Generate, recount and store the Pabulib file of published results that have none."

    def handle(self, *args: Any, **options: Any) -> None:
        counts = result_files_backfill(now=timezone.now())
        self.stdout.write(
            f"Stored {counts.stored} new result file(s); {counts.already_stored} were "
            "already stored."
        )
        if counts.mismatched:
            self.stderr.write(
                "Not stored, because the generated file did not recount to the published "
                f"result: {', '.join(counts.mismatched)}."
            )
            sys.exit(1)
