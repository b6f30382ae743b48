"""Back up the database and the uploads into a new folder (see pb_platform/backups.py).

    python manage.py backup [DIR]        # DIR defaults to backups/ in the project

PostgreSQL is dumped with pg_dump (which must be installed, of the server's version or
newer); SQLite is copied with its online backup API, so a running site can be backed up.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from pb_platform.backups import BackupError, backup_create


class Command(BaseCommand):
    help = (
        "Back up the database, the uploads (MEDIA_ROOT) and a manifest of the ledger into a "
        "new folder inside DIR. SECRET_KEY and REGISTER_HMAC_KEY are not included."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "directory",
            nargs="?",
            default=str(settings.BASE_DIR / "backups"),
            help="where the new backup folder goes (default: backups/ in the project)",
        )

    def handle(self, *args: Any, directory: str, **options: Any) -> None:
        try:
            summary = backup_create(parent=Path(directory), now=timezone.now())
        except BackupError as error:
            raise CommandError(f"No backup was made: {error}") from None
        manifest = summary.manifest
        entries = sum(head.sequence for head in manifest.facts.ledger_heads)
        self.stdout.write(
            f"Backup written to {summary.folder}\n"
            f"  {manifest.database.name}: {manifest.database.bytes} bytes; "
            f"{manifest.media.name}: {manifest.media_files} uploaded file(s); "
            f"ledger: {entries} entries in {len(manifest.facts.ledger_heads)} round(s).\n"
            "  Not in it: SECRET_KEY and REGISTER_HMAC_KEY (keep them apart, safely)."
        )
