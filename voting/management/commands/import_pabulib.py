from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from proposals.models import CountingRule
from voting.pabulib import PabulibError, read_pabulib
from voting.services.pabulib_io import round_import_pabulib


class Command(BaseCommand):
    help = (
        "Import a Pabulib .pb file as a new round, already past voting, with one area, its "
        "projects and its anonymous ballots as recorded. Prints the new round's id."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--rule", choices=CountingRule.values, default=CountingRule.MES)
        parser.add_argument("--name", help="The round's name (default: the file's name).")
        parser.add_argument("--currency", help="ISO code, if the file names none we know.")

    def handle(
        self,
        *args: Any,
        file: Path,
        rule: str,
        name: str | None,
        currency: str | None,
        **options: Any,
    ) -> None:
        try:
            data = read_pabulib(file)
        except OSError as error:
            raise CommandError(f"{file}: {error.strerror or error}") from None
        except PabulibError as error:
            raise CommandError(f"{file}: {error}") from None
        try:
            budget_round = round_import_pabulib(
                data=data,
                rule=rule,
                title=name or file.stem.replace("_", " "),
                currency=currency,
                now=timezone.now(),
            )
        except ValidationError as error:
            raise CommandError(f"{file}: {' '.join(error.messages)}") from None
        self.stdout.write(str(budget_round.pk))
