"""Backups restore to a site whose ledger verifies (``manage.py backup`` / ``restore``).

Each command runs as an operator would run it: ``manage.py`` in its own process, with
DATABASE_URL and MEDIA_ROOT pointing at the site being backed up or restored into. The
site is the demo (``seed_demo``) plus a second round's ledger with a reversal and an
uploaded image (tests/pb_platform/backup_world.py). SQLite runs everywhere; PostgreSQL
runs a new database per test (dropped afterwards, whatever happens) under CI=true.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psycopg2
import pytest
from django.conf import settings

from pb_platform.backups import BackupError, postgres_environment, postgres_tool

PROJECT_ROOT = Path(__file__).resolve().parents[2]
EXTEND_DEMO = "from tests.pb_platform.backup_world import extend; extend()"
ENTRIES = 18  # the demo's 14 in "Parks 2026", and 4 in "Backups 2026" (backup_world)


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def ran(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"


def site_env(*, database_url: str, media_root: Path, var_dir: Path) -> dict[str, str]:
    """The environment of a site: its own database, uploads and run-time folder, and
    kombu's filesystem broker there (nothing the demo queues reaches a shared Redis)."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "MEDIA_ROOT": str(media_root),
        "VAR_DIR": str(var_dir),
        "PYTHONUNBUFFERED": "1",
    }
    for name in ("REDIS_URL", "CELERY_BROKER_DIR"):
        env.pop(name, None)
    return env


@dataclass(frozen=True)
class Site:
    env: dict[str, str]
    media_root: Path
    image: str  # the uploaded image's name under MEDIA_ROOT


def demo_site(env: dict[str, str], media_root: Path) -> Site:
    """Migrate, seed the demo and extend it, in the site's own processes."""
    for args in (
        ("migrate", "--noinput", "-v", "0"),
        ("seed_demo", "--allow-without-debug"),
        ("shell", "-v", "0", "-c", EXTEND_DEMO),
    ):
        result = manage(*args, env=env)
        assert result.returncode == 0, ran(result)
    image = re.search(r"^IMAGE=(.+)$", result.stdout, re.MULTILINE)
    assert image, ran(result)
    return Site(env=env, media_root=media_root, image=image.group(1))


def backup_made(site: Site, into: Path) -> Path:
    result = manage("backup", str(into), env=site.env)
    assert result.returncode == 0, ran(result)
    written = re.search(r"^Backup written to (.+)$", result.stdout, re.MULTILINE)
    assert written, ran(result)
    folder = Path(written.group(1))
    assert folder.parent == into
    return folder


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def media_files(media_root: Path) -> list[str]:
    if not media_root.exists():
        return []
    return sorted(str(p.relative_to(media_root)) for p in media_root.rglob("*") if p.is_file())


# --- SQLite (development) ----------------------------------------------------------------


@dataclass(frozen=True)
class SqliteBackup:
    site: Site
    database: Path
    folder: Path
    scratch: Path


@pytest.fixture(scope="module")
def sqlite_backup(tmp_path_factory) -> SqliteBackup:
    """A SQLite demo site and one backup of it, shared by the SQLite tests (which
    restore it into places of their own and never change it)."""
    root = tmp_path_factory.mktemp("sqlite-site")
    database = root / "site.sqlite3"
    env = site_env(
        database_url=f"sqlite:///{database}", media_root=root / "media", var_dir=root / "var"
    )
    site = demo_site(env, root / "media")
    return SqliteBackup(
        site=site, database=database, folder=backup_made(site, root / "backups"), scratch=root
    )


def restore_env(tmp_path: Path, name: str = "restored") -> tuple[dict[str, str], Path, Path]:
    database, media_root = tmp_path / f"{name}.sqlite3", tmp_path / f"{name}-media"
    env = site_env(
        database_url=f"sqlite:///{database}", media_root=media_root, var_dir=tmp_path / "var"
    )
    return env, database, media_root


def test_sqlite_backup_restores_with_the_ledger_verified_and_the_image_intact(
    sqlite_backup, tmp_path
):
    manifest = json.loads((sqlite_backup.folder / "manifest.json").read_text())
    assert manifest["engine"] == "sqlite"
    assert manifest["row_counts"]["ledgers.LedgerEntry"] == ENTRIES
    assert len(manifest["ledger_heads"]) == 2
    env, database, media_root = restore_env(tmp_path)

    restored = manage("restore", str(sqlite_backup.folder), env=env)

    assert restored.returncode == 0, ran(restored)
    assert f"OK: {ENTRIES} entries, every hash and link intact." in restored.stdout
    verified = manage("verify_ledger", env=env)
    assert verified.returncode == 0, ran(verified)
    assert verified.stdout.startswith(f"OK: {ENTRIES} entries"), ran(verified)
    image = sqlite_backup.site.image
    assert (media_root / image).read_bytes() == (sqlite_backup.site.media_root / image).read_bytes()
    # The append-only trigger came back with the rows.
    with (
        contextlib.closing(sqlite3.connect(database)) as db,
        pytest.raises(sqlite3.DatabaseError, match="append-only"),
    ):
        db.execute("UPDATE ledgers_ledgerentry SET reason = 'rewritten'")


def test_restore_into_a_database_with_tables_refuses_and_changes_nothing(sqlite_backup, tmp_path):
    env, _database, media_root = restore_env(tmp_path)
    env["DATABASE_URL"] = f"sqlite:///{sqlite_backup.database}"  # the live site's database
    before = sha256(sqlite_backup.database)

    refused = manage("restore", str(sqlite_backup.folder), env=env)

    assert refused.returncode == 1, ran(refused)
    assert "Nothing was restored or changed" in refused.stderr
    assert f"the database {sqlite_backup.database} is not empty" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert sha256(sqlite_backup.database) == before
    assert not media_root.exists()


def test_restore_into_a_media_root_with_files_refuses_and_changes_nothing(sqlite_backup, tmp_path):
    env, database, media_root = restore_env(tmp_path)
    (media_root / "proposals").mkdir(parents=True)
    (media_root / "proposals" / "someone-elses.png").write_bytes(b"not ours")

    refused = manage("restore", str(sqlite_backup.folder), env=env)

    assert refused.returncode == 1, ran(refused)
    assert f"MEDIA_ROOT ({media_root}) already holds 1 file(s)" in refused.stderr
    assert not database.exists()
    assert media_files(media_root) == ["proposals/someone-elses.png"]
    assert (media_root / "proposals" / "someone-elses.png").read_bytes() == b"not ours"


def test_a_manifest_whose_ledger_head_does_not_match_is_reported(sqlite_backup, tmp_path):
    folder = tmp_path / sqlite_backup.folder.name
    shutil.copytree(sqlite_backup.folder, folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    head = manifest["ledger_heads"][-1]
    # As if the backup had one more entry than the database copy holds.
    head["sequence"] += 1
    head["entry_hash"] = "f" * 64
    (folder / "manifest.json").write_text(json.dumps(manifest))
    env, _database, _media_root = restore_env(tmp_path)

    restored = manage("restore", str(folder), env=env)

    assert restored.returncode == 1, ran(restored)
    assert (
        f"PROBLEM: round {head['round']}: the ledger ends at entry {head['sequence'] - 1} "
        in restored.stderr
    ), ran(restored)
    assert f"the manifest says entry {head['sequence']} (hash ffffffffffffffff…)" in (
        restored.stderr
    )
    assert "do not use it" in restored.stderr
    assert "OK:" not in restored.stdout


def test_a_damaged_database_copy_is_refused_before_anything_is_written(sqlite_backup, tmp_path):
    folder = tmp_path / sqlite_backup.folder.name
    shutil.copytree(sqlite_backup.folder, folder)
    copy = folder / "database.sqlite3"
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0xFF
    copy.write_bytes(bytes(data))
    env, database, media_root = restore_env(tmp_path)

    refused = manage("restore", str(folder), env=env)

    assert refused.returncode == 1, ran(refused)
    assert "does not match the checksum in the manifest" in refused.stderr
    assert not database.exists()
    assert media_files(media_root) == []


def test_a_sqlite_backup_is_refused_by_postgresql(sqlite_backup, tmp_path):
    env, _database, media_root = restore_env(tmp_path)
    # Never reached: the engines are compared before any connection is made.
    env["DATABASE_URL"] = "postgres://nobody@127.0.0.1:1/not-a-database"

    refused = manage("restore", str(sqlite_backup.folder), env=env)

    assert refused.returncode == 1, ran(refused)
    assert "holds a SQLite database, but DATABASE_URL points at PostgreSQL" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert not media_root.exists()


def test_a_missing_pg_dump_is_named_with_how_to_install_it(tmp_path):
    with pytest.raises(BackupError, match=r"pg_dump was not found on PATH.*postgresql-client"):
        postgres_tool("pg_dump", search_path=str(tmp_path))


def test_the_password_goes_to_libpq_in_the_environment():
    env = postgres_environment(
        {
            "NAME": "council",
            "USER": "site",
            "PASSWORD": "pa ss",
            "HOST": "/var/run/postgresql",
            "PORT": "",
            "OPTIONS": {"sslmode": "require"},
        }
    )
    assert env == {
        "PGDATABASE": "council",
        "PGUSER": "site",
        "PGPASSWORD": "pa ss",
        "PGHOST": "/var/run/postgresql",
        "PGSSLMODE": "require",
    }


# --- PostgreSQL ---------------------------------------------------------------------------


def postgres_params(name: str) -> dict[str, str]:
    db = settings.DATABASES["default"]
    params = {"dbname": name, "user": db.get("USER"), "password": db.get("PASSWORD")}
    params |= {"host": db.get("HOST"), "port": db.get("PORT")}
    return {key: str(value) for key, value in params.items() if value}


def postgres_url(name: str, *, password: str | None = None) -> str:
    db = settings.DATABASES["default"]
    user = quote(db.get("USER") or "", safe="")
    password = quote(password if password is not None else db.get("PASSWORD") or "", safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = quote(str(db.get("HOST") or ""), safe="")  # a socket path is percent-encoded
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{auth}{host}{port}/{name}"


@contextlib.contextmanager
def new_postgres_databases(*labels: str) -> Iterator[list[str]]:
    """Empty databases of our own, dropped afterwards even when the test fails."""
    names = [f"cp_backup_test_{label}_{uuid.uuid4().hex[:8]}" for label in labels]
    admin = psycopg2.connect(**postgres_params("postgres"))
    admin.autocommit = True
    try:
        for name in names:
            with admin.cursor() as cursor:
                cursor.execute(f'CREATE DATABASE "{name}"')
        yield names
    finally:
        for name in names:
            with admin.cursor() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def postgres_triggers(name: str) -> list[tuple[str, ...]]:
    """Every trigger of our own, and constraint triggers, as PostgreSQL describes them."""
    with contextlib.closing(psycopg2.connect(**postgres_params(name))) as db, db.cursor() as cur:
        cur.execute(
            "SELECT tgrelid::regclass::text, tgname, tgenabled::text, pg_get_triggerdef(oid) "
            "FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1, 2"
        )
        return cur.fetchall()


def fake_pg_dump(bin_dir: Path, script: str) -> None:
    bin_dir.mkdir(exist_ok=True)
    path = bin_dir / "pg_dump"
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(0o755)


@pytest.mark.postgresql
def test_postgresql_backup_restores_into_a_new_database_with_the_ledger_and_triggers(tmp_path):
    real_pg_dump = shutil.which("pg_dump")
    assert real_pg_dump, "pg_dump must be installed where PostgreSQL tests run"
    with new_postgres_databases("source", "restored") as (source, target):
        # A password in DATABASE_URL (trust authentication ignores it) to show where it
        # goes: a pg_dump in front of the real one records what it was given.
        password = "never-on-the-command-line"
        env = site_env(
            database_url=postgres_url(source, password=password),
            media_root=tmp_path / "media",
            var_dir=tmp_path / "var",
        )
        site = demo_site(env, tmp_path / "media")
        shims = tmp_path / "bin"
        fake_pg_dump(
            shims,
            f'printf "%s\\n" "$@" >> {tmp_path}/argv; echo "$PGPASSWORD" >> {tmp_path}/pw\n'
            f'exec {real_pg_dump} "$@"',
        )
        backup = backup_made(
            Site(
                env={**env, "PATH": f"{shims}:{env['PATH']}"},
                media_root=site.media_root,
                image=site.image,
            ),
            tmp_path / "backups",
        )
        assert password not in (tmp_path / "argv").read_text()
        assert password in (tmp_path / "pw").read_text().splitlines()
        manifest = json.loads((backup / "manifest.json").read_text())
        assert manifest["engine"] == "postgresql"
        assert "ledgers_ledgerentry.ledgers_entry_append_only" in manifest["triggers"]

        restored_env = site_env(
            database_url=postgres_url(target),
            media_root=tmp_path / "restored-media",
            var_dir=tmp_path / "var",
        )
        restored = manage("restore", str(backup), env=restored_env)
        assert restored.returncode == 0, ran(restored)
        assert f"OK: {ENTRIES} entries, every hash and link intact." in restored.stdout

        verified = manage("verify_ledger", env=restored_env)
        assert verified.returncode == 0, ran(verified)
        assert verified.stdout.startswith(f"OK: {ENTRIES} entries"), ran(verified)
        image = site.image
        assert (tmp_path / "restored-media" / image).read_bytes() == (
            tmp_path / "media" / image
        ).read_bytes()
        assert postgres_triggers(target) == postgres_triggers(source)
        for statement in (
            "UPDATE ledgers_ledgerentry SET reason = 'rewritten'",
            "DELETE FROM ledgers_ledgerentry",
        ):
            with (
                contextlib.closing(psycopg2.connect(**postgres_params(target))) as db,
                db.cursor() as cursor,
                pytest.raises(psycopg2.errors.IntegrityConstraintViolation, match="append-only"),
            ):
                cursor.execute(statement)

        # A second restore into the now-full database refuses and changes nothing.
        empty_media = str(tmp_path / "empty-media")
        again = manage("restore", str(backup), env={**restored_env, "MEDIA_ROOT": empty_media})
        assert again.returncode == 1, ran(again)
        assert f"the database {target} is not empty" in again.stderr
        verified_again = manage("verify_ledger", env=restored_env)
        assert verified_again.stdout == verified.stdout

        # pg_dump failing (here: a stand-in that says why) is a message, and no folder.
        fake_pg_dump(shims, 'echo "pg_dump: error: connection refused (simulated)" >&2; exit 1')
        failed = manage(
            "backup", str(tmp_path / "backups"), env={**env, "PATH": f"{shims}:{env['PATH']}"}
        )
        assert failed.returncode == 1, ran(failed)
        assert "No backup was made: pg_dump exited 1:" in failed.stderr
        assert "connection refused (simulated)" in failed.stderr
        assert "Traceback" not in failed.stderr
        assert sorted(p.name for p in (tmp_path / "backups").iterdir()) == [backup.name]
