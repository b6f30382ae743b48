"""Restore a backup made by ``manage.py backup`` (see pb_platform/backups.py).

    python manage.py restore BACKUP_FOLDER

Loads it into the database DATABASE_URL points at and into MEDIA_ROOT, refusing (and
changing nothing) unless both are empty; then checks the ledger as ``verify_ledger``
does and compares each round's ledger head, the row counts, the migrations and the
triggers with the backup's manifest. Exit status 0 when all match, 1 otherwise.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, connection

from pb_platform.backups import BackupError, RestoreIncomplete, restore_check, restore_load


class Command(BaseCommand):
    help = (
        "Restore a backup folder into the (empty) database DATABASE_URL points at and into "
        "MEDIA_ROOT, then check the ledger against the backup's manifest."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("backup", help="the backup folder, e.g. backups/commonpurse-…")

    def handle(self, *args: Any, backup: str, **options: Any) -> None:
        folder = Path(backup)
        try:
            manifest = restore_load(folder=folder)
        except RestoreIncomplete as error:
            raise CommandError(f"The restore is incomplete: {error}") from None
        except BackupError as error:
            raise CommandError(f"Nothing was restored or changed: {error}") from None
        self.stdout.write(
            f"Restored {folder} (made {manifest.created_at}) into database "
            f"{connection.settings_dict['NAME']} and {settings.MEDIA_ROOT} "
            f"({manifest.media_files} uploaded file(s))."
        )
        try:
            check = restore_check(manifest=manifest)
        except DatabaseError as error:
            self.stderr.write(
                f"PROBLEM: the restored database could not be checked: {error}".rstrip()
                + "\nIf the backup comes from an older version, run `manage.py migrate`, "
                "then `manage.py verify_ledger`."
            )
            sys.exit(1)
        for note in check.notes:
            self.stdout.write(f"Note: {note}")
        if check.problems:
            for problem in check.problems:
                self.stderr.write(f"PROBLEM: {problem}")
            self.stderr.write(
                "The restored data does not match the backup's manifest: do not use it. "
                "Restore another backup into a new, empty database."
            )
            sys.exit(1)
        self.stdout.write(
            f"{check.ledger.message} Each round's ledger head, the row counts, the "
            "migrations and the triggers match the backup's manifest."
        )
