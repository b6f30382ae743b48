from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from proposals.models import BudgetRound
from voting.services.pabulib_io import round_area_export_pabulib


class Command(BaseCommand):
    help = (
        "Write a round's ballots as an anonymised Pabulib .pb file (random voter ids, no "
        "timestamps), to stdout or -o FILE: for a published area, the file stored at "
        "publication, byte for byte. Rounds with several areas need --area SLUG."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("round_id", type=int)
        parser.add_argument("-o", "--output", type=Path)
        parser.add_argument("--area", help="The area's slug, when the round has several.")

    def handle(
        self, *args: Any, round_id: int, output: Path | None, area: str | None, **options: Any
    ) -> None:
        budget_round = BudgetRound.objects.filter(pk=round_id).first()
        if budget_round is None:
            raise CommandError(f"There is no round with id {round_id}.")
        round_areas = list(budget_round.round_areas.select_related("area", "budget_round"))
        if area:
            round_areas = [ra for ra in round_areas if ra.area.slug == area]
            if not round_areas:
                raise CommandError(f"Round {round_id} has no area {area!r}.")
        if len(round_areas) != 1:
            slugs = ", ".join(ra.area.slug for ra in round_areas)
            raise CommandError(
                f"Round {round_id} has several areas; choose one with --area ({slugs})."
            )
        if output is None:
            # Each row the writer sends ends in a newline, so OutputWrapper adds none.
            round_area_export_pabulib(round_area=round_areas[0], stream=self.stdout)
            return
        with output.open("w", encoding="utf-8", newline="") as stream:
            round_area_export_pabulib(round_area=round_areas[0], stream=stream)
        self.stderr.write(f"Wrote {output}")
