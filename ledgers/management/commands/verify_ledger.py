"""Check every ledger entry's hash and every link of each round's chain.

    python manage.py verify_ledger [--round ID]

Exit status 0 when intact, 1 when anything is broken (the first broken entry is printed).
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from ledgers.selectors import ledger_verify


class Command(BaseCommand):
    help = "Recompute every ledger entry's hash and chain link; exit 1 if any is broken."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--round", type=int, dest="round_id", help="only this round's chain")

    def handle(self, *args: Any, round_id: int | None, **options: Any) -> None:
        verification = ledger_verify(round_id=round_id)
        if verification.broken is not None:
            self.stderr.write(verification.message)
            sys.exit(1)
        self.stdout.write(verification.message)
