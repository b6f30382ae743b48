"""Check every ledger entry's hash and every link of each round's chain.

    python manage.py verify_ledger [--round ID]

Exit status 0 when intact, 1 when anything is broken (the first broken entry is printed).
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from ledgers import chain
from ledgers.selectors import entries_filtered, export_rows


class Command(BaseCommand):
    help = "Recompute every ledger entry's hash and chain link; exit 1 if any is broken."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--round", type=int, dest="round_id", help="only this round's chain")

    def handle(self, *args: Any, round_id: int | None, **options: Any) -> None:
        counted = 0

        def rows():
            nonlocal counted
            for row in export_rows(entries_filtered(round_id=round_id)):
                counted += 1
                yield row

        broken = chain.verify_chain(rows())
        if broken is not None:
            self.stderr.write(
                f"BROKEN: round {broken.round}, entry {broken.sequence}: {broken.problem}"
            )
            sys.exit(1)
        self.stdout.write(f"OK: {counted} entries, every hash and link intact.")
