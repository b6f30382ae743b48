"""Backups that restore to a verifiable ledger (``manage.py backup`` and ``restore``).

A backup is one new folder::

    commonpurse-20261201-021500Z/
        manifest.json      what is inside, and what the restored site must show
        database.pgdump    PostgreSQL: ``pg_dump --format=custom``
        database.sqlite3   or SQLite (development): a copy made by SQLite's online backup
        media.tar          the uploads folder (MEDIA_ROOT)

A folder rather than one archive: pg_restore reads a custom-format dump in place (it
seeks in it), so a large dump is never copied into an archive and out again, and the
manifest reads with ``cat``. It is written as ``<name>.partial`` and renamed when
complete, so a folder without that suffix always holds a whole backup.

The manifest and the database copy come from one snapshot (PostgreSQL: pg_dump imports
the snapshot of our own REPEATABLE READ transaction; SQLite: the copy is read inside the
transaction the manifest is read in). So after a restore each round's ledger head (last
sequence and hash), the row counts, the applied migrations and the triggers must equal
the manifest's exactly, and ``restore`` says so, or names what differs. The hash chain
shows a changed or missing entry within a round; only the manifest's heads show entries
missing at the end of one.

A restore never overwrites: it refuses, changing nothing, when the target database has
tables or functions or MEDIA_ROOT holds files.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import closing
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import django
from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import DatabaseError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.recorder import MigrationRecorder

from ledgers.selectors import LedgerHead, LedgerVerification, ledger_heads, ledger_verify
from pb_platform.version import commonpurse_version

FORMAT = "commonpurse-backup"
FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"
MEDIA_ARCHIVE = "media.tar"
DATABASE_FILES = {"postgresql": "database.pgdump", "sqlite": "database.sqlite3"}
ENGINE_NAMES = {"postgresql": "PostgreSQL", "sqlite": "SQLite"}
PARTIAL_SUFFIX = ".partial"

# Counted into the manifest and compared after a restore: the tables a council would
# miss first. The user model is added by its label, whatever it is.
KEY_MODELS = (
    "proposals.Area",
    "proposals.BudgetRound",
    "proposals.RoundArea",
    "proposals.Proposal",
    "proposals.Comment",
    "proposals.ResidentProfile",
    "proposals.RegisterEntry",
    "voting.Ballot",
    "voting.BallotChoice",
    "voting.AreaResult",
    "ledgers.LedgerEntry",
    "ledgers.DeliveryUpdate",
)

# libpq's environment variables for connection options Django passes through OPTIONS.
POSTGRES_OPTION_VARIABLES = {
    "passfile": "PGPASSFILE",
    "service": "PGSERVICE",
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "sslcrl": "PGSSLCRL",
    "connect_timeout": "PGCONNECT_TIMEOUT",
    "options": "PGOPTIONS",
    "target_session_attrs": "PGTARGETSESSIONATTRS",
}

# Every trigger not created by PostgreSQL itself (foreign keys' triggers are, and their
# names hold OIDs that differ after a restore), with what it runs and whether it is on:
# the append-only ledger, the frozen rounds and the deferred budget constraint trigger.
POSTGRES_TRIGGERS_SQL = """
SELECT c.relname, t.tgname,
       pg_get_triggerdef(t.oid) || ' [enabled: ' || t.tgenabled::text || ', function md5: '
           || md5(pg_get_functiondef(t.tgfoid)) || ']'
FROM pg_trigger t
JOIN pg_class c ON c.oid = t.tgrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE NOT t.tgisinternal AND n.nspname NOT IN ('pg_catalog', 'information_schema')
ORDER BY c.relname, t.tgname
"""
SQLITE_TRIGGERS_SQL = "SELECT tbl_name, name, sql FROM sqlite_master WHERE type = 'trigger'"

# What makes a PostgreSQL database "not empty": any table, view or function
# of our own (not the system's, nor an extension's).
POSTGRES_EXISTING_OBJECTS_SQL = """
SELECT n.nspname || '.' || c.relname
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')
UNION ALL
SELECT n.nspname || '.' || p.proname || '()'
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
ORDER BY 1
"""


class BackupError(Exception):
    """A backup or restore that cannot go ahead; the message says why and what to do."""


class RestoreIncomplete(BackupError):
    """The database was restored but the uploads could not be put in place."""


# --- What a database holds (the manifest's facts) -----------------------------------------


@dataclass(frozen=True)
class DatabaseFacts:
    """Read inside the backup's snapshot, and again after a restore to compare."""

    migrations: list[str]
    row_counts: dict[str, int]
    ledger_heads: list[LedgerHead]
    triggers: dict[str, str]


def database_engine() -> str:
    """The engine DATABASE_URL points at: "postgresql" or "sqlite"."""
    return "postgresql" if connection.vendor == "postgresql" else "sqlite"


def database_facts() -> DatabaseFacts:
    """The applied migrations, key tables' row counts, each round's ledger head and the
    triggers, as the current transaction sees them."""
    user_model = get_user_model()._meta.label
    counts = {
        label: apps.get_model(label)._base_manager.count() for label in (user_model, *KEY_MODELS)
    }
    applied = MigrationRecorder(connection).applied_migrations()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(POSTGRES_TRIGGERS_SQL)
        else:
            cursor.execute(SQLITE_TRIGGERS_SQL)
        triggers = {f"{table}.{name}": definition for table, name, definition in cursor.fetchall()}
    return DatabaseFacts(
        migrations=sorted(f"{app}.{name}" for app, name in applied),
        row_counts=counts,
        ledger_heads=ledger_heads(),
        triggers=dict(sorted(triggers.items())),
    )


# --- The manifest ---------------------------------------------------------------------


@dataclass(frozen=True)
class StoredFile:
    name: str
    bytes: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    created_at: str
    engine: str
    database: StoredFile
    media: StoredFile
    media_files: int
    facts: DatabaseFacts
    django_version: str
    commonpurse_version: str = ""
    database_tool: str = ""
    format: str = FORMAT
    format_version: int = FORMAT_VERSION
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        data = asdict(self)
        # The facts at the top level: they are what an operator reads.
        data.update(data.pop("facts"))
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        try:
            data = json.loads(text)
            if data.get("format") != FORMAT:
                raise BackupError(f"its manifest is not a {FORMAT} manifest")
            if data.get("format_version") != FORMAT_VERSION:
                raise BackupError(
                    f"its manifest has format version {data.get('format_version')!r}; this "
                    f"version of Commonpurse reads version {FORMAT_VERSION}"
                )
            facts = DatabaseFacts(
                migrations=[str(name) for name in data["migrations"]],
                row_counts={str(k): int(v) for k, v in data["row_counts"].items()},
                ledger_heads=[
                    LedgerHead(
                        round=int(head["round"]),
                        sequence=int(head["sequence"]),
                        entry_hash=str(head["entry_hash"]),
                    )
                    for head in data["ledger_heads"]
                ],
                triggers={str(k): str(v) for k, v in data["triggers"].items()},
            )
            return cls(
                created_at=str(data["created_at"]),
                engine=str(data["engine"]),
                database=StoredFile(**data["database"]),
                media=StoredFile(**data["media"]),
                media_files=int(data["media_files"]),
                facts=facts,
                django_version=str(data["django_version"]),
                commonpurse_version=str(data.get("commonpurse_version", "")),
                database_tool=str(data.get("database_tool", "")),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise BackupError(
                f"its manifest is damaged ({type(error).__name__}: {error})"
            ) from None


def manifest_read(folder: Path) -> Manifest:
    path = folder / MANIFEST_NAME
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BackupError(
            f"{folder} is not a backup: it has no {MANIFEST_NAME}"
            + (" (it is an unfinished one)" if folder.name.endswith(PARTIAL_SUFFIX) else "")
        ) from None
    except OSError as error:
        raise BackupError(f"cannot read {path}: {error}") from None
    try:
        return Manifest.from_json(text)
    except BackupError as error:
        raise BackupError(f"{folder} cannot be restored: {error}") from None


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


def stored_file(path: Path) -> StoredFile:
    return StoredFile(name=path.name, bytes=path.stat().st_size, sha256=file_sha256(path))


# --- PostgreSQL's tools -----------------------------------------------------------------


def postgres_environment(database: Mapping[str, Any]) -> dict[str, str]:
    """libpq environment variables for ``database`` (a DATABASES entry): pg_dump and
    pg_restore get the password this way, never on the command line, where any user of
    the machine could read it in the process list."""
    variables = {
        "PGDATABASE": database.get("NAME"),
        "PGUSER": database.get("USER"),
        "PGPASSWORD": database.get("PASSWORD"),
        "PGHOST": database.get("HOST"),
        "PGPORT": database.get("PORT"),
    }
    options = database.get("OPTIONS") or {}
    for option, variable in POSTGRES_OPTION_VARIABLES.items():
        variables[variable] = options.get(option)
    return {name: str(value) for name, value in variables.items() if value not in (None, "")}


def postgres_tool(name: str, *, search_path: str | None = None) -> str:
    """The path of pg_dump or pg_restore, or a BackupError saying how to get it."""
    found = shutil.which(name, path=search_path)
    if found is None:
        raise BackupError(
            f"{name} was not found on PATH. Install PostgreSQL's client programs, of the "
            f"server's major version or newer (Debian/Ubuntu: apt-get install postgresql-client)."
        )
    return found


def postgres_run(command: list[str], *, what: str) -> None:
    env = {**os.environ, **postgres_environment(connection.settings_dict)}
    try:
        result = subprocess.run(  # noqa: S603 (our own arguments, no shell)
            command, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True
        )
    except OSError as error:
        raise BackupError(f"{what} could not start {command[0]}: {error}") from None
    if result.returncode != 0:
        said = "\n".join(result.stderr.strip().splitlines()[-15:]) or "(nothing on stderr)"
        raise BackupError(f"{what} exited {result.returncode}:\n{said}")


def postgres_tool_version(tool: str) -> str:
    result = subprocess.run(  # noqa: S603 (our own arguments, no shell)
        [tool, "--version"], capture_output=True, text=True, check=False
    )
    return result.stdout.strip()


# --- Backing up -------------------------------------------------------------------------


@dataclass(frozen=True)
class BackupSummary:
    folder: Path
    manifest: Manifest


def backup_create(*, parent: Path, now: datetime) -> BackupSummary:
    """Write a new backup folder inside ``parent`` (created if missing) and return it."""
    engine = database_engine()
    # Before anything is written.
    tool = postgres_tool("pg_dump") if engine == "postgresql" else ""
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise BackupError(f"cannot create {parent}: {error}") from None
    folder = backup_folder_name(parent, now)
    partial = folder.with_name(folder.name + PARTIAL_SUFFIX)
    try:
        # Backups hold personal data: readable by their owner only.
        partial.mkdir(mode=0o700)
    except OSError as error:
        raise BackupError(f"cannot create {partial}: {error}") from None
    try:
        database_path = partial / DATABASE_FILES[engine]
        if engine == "postgresql":
            facts = postgres_dump(tool, database_path)
            database_tool = postgres_tool_version(tool)
        else:
            facts = sqlite_copy(database_path)
            database_tool = f"SQLite {sqlite3.sqlite_version}"
        media_files = media_archive(Path(settings.MEDIA_ROOT), partial / MEDIA_ARCHIVE)
        manifest = Manifest(
            created_at=now.astimezone(UTC).isoformat(),
            engine=engine,
            database=stored_file(database_path),
            media=stored_file(partial / MEDIA_ARCHIVE),
            media_files=media_files,
            facts=facts,
            django_version=django.get_version(),
            commonpurse_version=commonpurse_version(),
            database_tool=database_tool,
            notes=[
                "SECRET_KEY and REGISTER_HMAC_KEY are not in this backup: keep them apart.",
            ],
        )
        (partial / MANIFEST_NAME).write_text(manifest.to_json(), encoding="utf-8")
        partial.rename(folder)
    # Nothing half-written is left to be mistaken for a backup.
    except (OSError, tarfile.TarError) as error:
        shutil.rmtree(partial, ignore_errors=True)
        raise BackupError(f"writing {partial} failed: {error}") from None
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return BackupSummary(folder=folder, manifest=manifest)


def backup_folder_name(parent: Path, now: datetime) -> Path:
    stem = now.astimezone(UTC).strftime("commonpurse-%Y%m%d-%H%M%SZ")
    candidate, number = parent / stem, 1
    while candidate.exists() or candidate.with_name(candidate.name + PARTIAL_SUFFIX).exists():
        number += 1
        candidate = parent / f"{stem}-{number}"
    return candidate


def postgres_dump(tool: str, path: Path) -> DatabaseFacts:
    """pg_dump, in the snapshot the manifest's facts are read in."""
    try:
        connection.ensure_connection()
        # durable: a transaction already open would make SET TRANSACTION fail; this is
        # a command's own work, never part of another transaction.
        with transaction.atomic(durable=True), connection.cursor() as cursor:
            # Must be the transaction's first statement.
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.execute("SELECT pg_export_snapshot()")
            (snapshot,) = cursor.fetchone()
            postgres_run(
                [
                    tool,
                    "--format=custom",
                    "--no-password",  # fail rather than wait for a prompt nobody sees
                    f"--snapshot={snapshot}",
                    f"--file={path}",
                ],
                what="pg_dump",
            )
            return database_facts()
    except DatabaseError as error:
        raise BackupError(f"reading the database failed: {error}") from None


def sqlite_copy(path: Path) -> DatabaseFacts:
    """SQLite's online backup into ``path``, in the transaction the facts are read in:
    a site that is running is copied as it was at one moment."""
    # A read-only transaction must BEGIN DEFERRED: the settings make every transaction
    # BEGIN IMMEDIATE (a write lock, so writers queue), and SQLite refuses to back up
    # from a connection holding one (SQLITE_LOCKED, which Python retries forever).
    connection.ensure_connection()  # connecting reads the mode from the settings
    write_mode = getattr(connection, "transaction_mode", None)
    connection.transaction_mode = None  # type: ignore[attr-defined]
    try:
        with transaction.atomic(durable=True):
            facts = database_facts()  # the first read opens the read transaction
            with closing(sqlite3.connect(path)) as copy:
                connection.connection.backup(copy)
        return facts
    except (DatabaseError, sqlite3.Error) as error:
        raise BackupError(f"copying the SQLite database failed: {error}") from None
    finally:
        connection.transaction_mode = write_mode  # type: ignore[attr-defined]


def media_archive(media_root: Path, path: Path) -> int:
    """Tar the uploads (uncompressed: images are compressed already); return how many
    files went in. A missing MEDIA_ROOT gives an empty archive."""
    count = 0
    with tarfile.open(path, "w") as archive:
        for item in media_items(media_root):
            try:
                archive.add(item, arcname=item.relative_to(media_root).as_posix(), recursive=False)
            except FileNotFoundError:
                continue  # deleted while we walked: it is not part of the site any more
            count += not is_folder(item)
    return count


def media_items(media_root: Path) -> Iterator[Path]:
    """Every folder, file and link under ``media_root``, each folder before what it holds;
    links are not followed."""
    if not media_root.is_dir():
        return
    for directory, subdirectories, files in os.walk(media_root):
        base = Path(directory)
        links = sorted(name for name in subdirectories if (base / name).is_symlink())
        subdirectories[:] = sorted(set(subdirectories) - set(links))
        if base != media_root:
            yield base
        for name in sorted([*files, *links]):
            yield base / name


def is_folder(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink()


# --- Restoring --------------------------------------------------------------------------


def restore_load(*, folder: Path) -> Manifest:
    """Load the backup in ``folder`` into the database DATABASE_URL points at and into
    MEDIA_ROOT. Everything that could refuse is checked before anything is written."""
    manifest = manifest_read(folder)
    engine = database_engine()
    if manifest.engine != engine:
        raise BackupError(
            f"{folder} holds a {ENGINE_NAMES.get(manifest.engine, manifest.engine)} database, "
            f"but DATABASE_URL points at {ENGINE_NAMES[engine]}: restore it into a "
            f"{ENGINE_NAMES.get(manifest.engine, manifest.engine)} database. Moving data "
            "between engines is not something a backup does."
        )
    for stored in (manifest.database, manifest.media):
        path = folder / stored.name
        if not path.is_file():
            raise BackupError(f"{folder} is incomplete: {stored.name} is missing")
        if path.stat().st_size != stored.bytes or file_sha256(path) != stored.sha256:
            raise BackupError(
                f"{path} does not match the checksum in the manifest: the copy is damaged "
                "or incomplete: use another copy of this backup."
            )
    tool = postgres_tool("pg_restore") if engine == "postgresql" else ""
    media_root = Path(settings.MEDIA_ROOT)
    database_refuse_unless_empty()
    media_refuse_unless_empty(media_root)

    # The uploads are unpacked beside MEDIA_ROOT first, so a damaged archive stops the
    # restore before the database is touched, and a failed database restore leaves
    # MEDIA_ROOT as it was.
    try:
        media_root.parent.mkdir(parents=True, exist_ok=True)
        staged = Path(tempfile.mkdtemp(prefix=".restoring-", dir=media_root.parent))
    except OSError as error:
        raise BackupError(f"cannot write beside MEDIA_ROOT ({media_root}): {error}") from None
    try:
        media_unpack(folder / manifest.media.name, staged)
        if engine == "postgresql":
            postgres_restore(tool, folder / manifest.database.name)
        else:
            sqlite_restore(folder / manifest.database.name)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    try:
        media_move(staged, media_root)
    except OSError as error:
        raise RestoreIncomplete(
            f"the database was restored, but moving the uploads into {media_root} failed "
            f"({error}); they are unpacked in {staged}: move them there by hand."
        ) from None
    shutil.rmtree(staged, ignore_errors=True)
    return manifest


def database_refuse_unless_empty() -> None:
    name = connection.settings_dict["NAME"]
    if connection.vendor == "sqlite":
        existing = sqlite_existing_objects(Path(name))
    else:
        try:
            with connection.cursor() as cursor:
                cursor.execute(POSTGRES_EXISTING_OBJECTS_SQL)
                existing = [row[0] for row in cursor.fetchall()]
        except DatabaseError as error:
            raise BackupError(
                f"cannot read the target database {name!r}: {str(error).strip()} "
                "(create it first, empty: createdb NAME)"
            ) from None
        finally:
            # pg_restore works on its own connection; ours must hold no lock meanwhile.
            connection.close()
    if existing:
        shown = ", ".join(existing[:3]) + (f" and {len(existing) - 3} more" if existing[3:] else "")
        raise BackupError(
            f"the database {name} is not empty (it has {shown}). A restore never writes over "
            "data: point DATABASE_URL at a new, empty database."
        )


def sqlite_existing_objects(path: Path) -> list[str]:
    """Tables and other objects in the SQLite file, read without creating the file."""
    if not path.exists() or path.stat().st_size == 0:
        return []
    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as db:
            rows = db.execute(
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
                "AND name NOT LIKE 'sqlite_%' ORDER BY name"
            ).fetchall()
    except sqlite3.Error as error:
        raise BackupError(f"cannot read the target database {path}: {error}") from None
    return [row[0] for row in rows]


def media_refuse_unless_empty(media_root: Path) -> None:
    files = [item for item in media_items(media_root) if not is_folder(item)]
    if files:
        shown = ", ".join(str(item.relative_to(media_root)) for item in files[:3])
        raise BackupError(
            f"MEDIA_ROOT ({media_root}) already holds {len(files)} file(s) ({shown}"
            f"{', …' if files[3:] else ''}). A restore never writes over files: point "
            "MEDIA_ROOT at an empty or missing folder."
        )


def media_unpack(archive_path: Path, into: Path) -> None:
    try:
        with tarfile.open(archive_path) as archive:
            # "data": no absolute paths, nothing outside ``into``, no devices, no
            # set-uid bits: an archive cannot write anywhere but the uploads folder.
            archive.extractall(into, filter="data")
    except (tarfile.TarError, OSError) as error:
        raise BackupError(f"cannot unpack {archive_path}: {error}") from None


def media_move(staged: Path, media_root: Path) -> None:
    """Move the unpacked uploads into MEDIA_ROOT (which holds no files, maybe folders)."""
    if not media_root.exists():
        staged.rename(media_root)
        return
    for item in media_items(staged):
        target = media_root / item.relative_to(staged)
        if is_folder(item):
            target.mkdir(exist_ok=True)
        else:
            item.rename(target)


def postgres_restore(tool: str, dump: Path) -> None:
    postgres_run(
        [
            tool,
            # Objects belong to the role restoring them: the site's own role on the new
            # server need not be the old one.
            "--no-owner",
            # One transaction that stops at the first error: a restore is whole or
            # nothing. Triggers are created after the rows are loaded, as pg_dump orders
            # them, enabled or not as they were: the append-only ledger trigger, the
            # frozen rounds' triggers and the budget constraint trigger come back exactly
            # (the manifest's trigger list is compared afterwards to prove it).
            "--exit-on-error",
            "--single-transaction",
            "--no-password",
            f"--dbname={connection.settings_dict['NAME']}",
            str(dump),
        ],
        what="pg_restore",
    )


def sqlite_restore(copy: Path) -> None:
    target = Path(connection.settings_dict["NAME"])
    connection.close()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with (
            closing(sqlite3.connect(f"{copy.resolve().as_uri()}?mode=ro", uri=True)) as source,
            closing(sqlite3.connect(target)) as destination,
        ):
            source.backup(destination)
    except (sqlite3.Error, OSError) as error:
        raise BackupError(f"restoring into {target} failed: {error}") from None


# --- Checking a restore -----------------------------------------------------------------


@dataclass(frozen=True)
class RestoreCheck:
    ledger: LedgerVerification
    problems: list[str]
    notes: list[str]


def restore_check(*, manifest: Manifest) -> RestoreCheck:
    """The restored ledger's chain (``verify_ledger``'s check), and every fact of the
    manifest against the database as restored."""
    ledger = ledger_verify()
    restored = database_facts()
    expected = manifest.facts
    problems = [] if ledger.broken is None else [ledger.message]
    problems += heads_compared(expected.ledger_heads, restored.ledger_heads)
    for label in sorted(expected.row_counts.keys() | restored.row_counts.keys()):
        want, have = expected.row_counts.get(label), restored.row_counts.get(label)
        if want != have:
            problems.append(f"{label}: {have} rows restored, the manifest says {want}")
    if expected.migrations != restored.migrations:
        missing = sorted(set(expected.migrations) - set(restored.migrations))
        extra = sorted(set(restored.migrations) - set(expected.migrations))
        problems.append(
            f"applied migrations differ from the manifest: missing {missing or 'none'}, "
            f"extra {extra or 'none'}"
        )
    for name in sorted(expected.triggers.keys() | restored.triggers.keys()):
        if name not in restored.triggers:
            problems.append(f"trigger {name} is missing")
        elif name not in expected.triggers:
            problems.append(f"trigger {name} is not in the manifest")
        elif expected.triggers[name] != restored.triggers[name]:
            problems.append(f"trigger {name} differs from the manifest's")
    return RestoreCheck(ledger=ledger, problems=problems, notes=migration_notes())


def heads_compared(expected: list[LedgerHead], restored: list[LedgerHead]) -> list[str]:
    want = {head.round: head for head in expected}
    have = {head.round: head for head in restored}
    problems = []
    for round_id in sorted(want.keys() | have.keys()):
        if round_id not in have:
            problems.append(
                f"round {round_id}: no ledger entries restored, the manifest says the "
                f"ledger ends at entry {want[round_id].sequence}"
            )
        elif round_id not in want:
            problems.append(f"round {round_id}: has ledger entries the manifest does not list")
        elif want[round_id] != have[round_id]:
            problems.append(
                f"round {round_id}: the ledger ends at entry {have[round_id].sequence} "
                f"(hash {have[round_id].entry_hash[:16]}…), the manifest says entry "
                f"{want[round_id].sequence} (hash {want[round_id].entry_hash[:16]}…)"
            )
    return problems


def migration_notes() -> list[str]:
    """What to run before the restored site starts, when the code and the backup differ."""
    executor = MigrationExecutor(connection)
    known = set(executor.loader.disk_migrations)
    unknown = sorted(
        f"{app}.{name}"
        for app, name in executor.loader.applied_migrations
        if (app, name) not in known
    )
    notes = []
    if unknown:
        notes.append(
            f"The backup has {len(unknown)} migration(s) this code does not know "
            f"({', '.join(unknown[:3])}{', …' if unknown[3:] else ''}): it was made by a "
            "newer version of Commonpurse; run that version."
        )
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if pending:
        notes.append(
            f"This code has {len(pending)} migration(s) the backup had not applied: run "
            "`manage.py migrate` before starting the site."
        )
    return notes
