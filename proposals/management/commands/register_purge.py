"""Delete the resident register once the rounds that needed it are over (retention)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from proposals.services.register import register_purge


class Command(BaseCommand):
    help = (
        "Delete the resident register and unused letter codes when no round has needed them "
        "for REGISTER_RETENTION_DAYS (the import log stays)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Say what would be deleted, delete nothing."
        )

    def handle(self, *args: Any, dry_run: bool = False, **options: Any) -> None:
        result = register_purge(now=timezone.now(), dry_run=dry_run)
        if result.refusal:
            raise CommandError(f"The register is still needed: {result.refusal}")
        verb = "Would delete" if dry_run else "Deleted"
        self.stdout.write(
            f"{verb} {result.entries} register entries and {result.codes} unused letter codes."
        )
