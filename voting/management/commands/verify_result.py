"""Recount a round's published results from the database and from their stored files.

    python manage.py verify_result ROUND [--area SLUG]

ROUND is the round's id or slug. Prints ``OK: …`` per published area and exits 0, or
prints what differs (``NOT OK: …``) and exits 1.
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q

from proposals.models import BudgetRound
from voting.services.result_files import published_round_areas, result_verify


class Command(BaseCommand):
    help = (
        "Recount each published area of a round from the database's ballots and from its "
        "stored Pabulib file, and compare with the published result; exit 1 if anything differs."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("round", help="The round's id or slug.")
        parser.add_argument("--area", help="Only this area (its slug, as in its address).")

    def handle(self, *args: Any, round: str, area: str | None, **options: Any) -> None:
        lookup = Q(slug=round) | Q(pk=int(round)) if round.isdigit() else Q(slug=round)
        budget_round = BudgetRound.objects.filter(lookup).first()
        if budget_round is None:
            raise CommandError(f"There is no round {round!r} (give its id or slug).")
        round_areas = published_round_areas(budget_round=budget_round, area_slug=area)
        if not round_areas:
            which = f"area {area!r} of " if area else ""
            raise CommandError(f"No published result for {which}round {budget_round.slug!r}.")
        verifications = [result_verify(round_area=round_area) for round_area in round_areas]
        for verification in verifications:
            self.stdout.write(verification.message())
        if not all(verification.ok for verification in verifications):
            sys.exit(1)
