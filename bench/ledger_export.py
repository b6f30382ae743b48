"""Speed and memory of the auditors' ledger export with 10 thousand to 1 million entries.

    .venv/bin/python bench/ledger_export.py                          # 10k, 100k, 1M; SQLite
    .venv/bin/python bench/ledger_export.py --sizes 10000,100000     # fewer sizes
    .venv/bin/python bench/ledger_export.py --formats csv            # CSV only
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/ledger_export.py --postgres           # on PostgreSQL

For each size it builds a throwaway database holding that many ledger entries: a SQLite
file in a temporary folder, or with ``--postgres`` a new database on the server that
DATABASE_URL points at (created as ``cp_ledger_bench_<size>_<pid>`` and dropped after;
the database DATABASE_URL names is only used to connect). Entries are spread over four
rounds of 20 funded proposals (allocations, then commitments, payments and releases),
written with ``bulk_create`` in batches with a valid hash chain computed with
``ledgers.chain`` (the services are bypassed for speed; the database still checks every
constraint, and up to 100k entries ``verify_ledger`` checks the chain).

Then a fresh child process exports every entry through the view the auditors use
(``ledgers.views.audit.audit_export``, called with Django's RequestFactory as an auditor),
reads ``response.streaming_content`` to the end into /dev/null and prints the rows, bytes,
seconds, rows per second and its peak resident memory (``ru_maxrss``) before and after.
The last lines give how much more the largest export's peak is than the smallest's; the
target is at most 50 MB more for 1M entries than for 10k. On a 2-core machine the default
run (three sizes, both formats, SQLite) takes about five minutes, most of it building the
1M-entry database.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

PROJECT_ROOT = Path(__file__).resolve().parents[1]
ROUNDS = 4
PROPOSALS_PER_ROUND = 20  # two areas of ten
BATCH = 5000
AUDITOR = "bench-auditor"
OFFICER = "bench-officer"
RESULT = "RESULT "


# --- Child processes (Django) ----------------------------------------------------------------


def _django() -> None:
    sys.path.insert(0, str(PROJECT_ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pb_platform.settings")
    import django

    django.setup()


def build(entries: int) -> dict[str, Any]:
    """Migrate an empty database and fill it with ``entries`` valid ledger entries."""
    _django()
    from datetime import UTC, date, datetime, timedelta
    from decimal import Decimal

    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection, transaction

    from ledgers import chain
    from ledgers.models import EntryKind, LedgerEntry
    from ledgers.services import entry_canonical_fields
    from pb_platform.roles import AUDITOR as AUDITOR_ROLE
    from pb_platform.roles import role_grant
    from proposals.models import ProposalStatus
    from proposals.phases import Phase
    from tests.factories import (
        AreaFactory,
        BudgetRoundFactory,
        ProposalFactory,
        RoundAreaFactory,
    )

    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    if connection.vendor == "sqlite":
        # A throwaway file: no need to survive a power cut while it is written.
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA journal_mode=OFF")
            cursor.execute("PRAGMA synchronous=OFF")

    users = get_user_model().objects
    auditor = users.create_user(username=AUDITOR, email="auditor@bench.invalid")
    role_grant(user=auditor, role=AUDITOR_ROLE)
    officer = users.create_user(username=OFFICER, email="officer@bench.invalid")
    areas = [AreaFactory(), AreaFactory()]
    rounds = []
    for _ in range(ROUNDS):
        budget_round = BudgetRoundFactory(phase=Phase.DELIVERY, total_budget=Decimal("1e8"))
        round_areas = [
            RoundAreaFactory(budget_round=budget_round, area=area, budget=Decimal("5e7"))
            for area in areas
        ]
        proposals = [
            ProposalFactory(
                budget_round=budget_round,
                round_area=round_areas[n % 2],
                author=officer,
                estimated_cost=Decimal("1000000.00"),
                status=ProposalStatus.FEASIBLE,
            )
            for n in range(PROPOSALS_PER_ROUND)
        ]
        rounds.append((budget_round, proposals))

    base_time = datetime(2026, 1, 1, tzinfo=UTC)
    zero = Decimal("0.00")

    def entry_for(budget_round: Any, proposals: list[Any], sequence: int) -> LedgerEntry:
        index = sequence - 1
        proposal = proposals[index % len(proposals)]
        fields: dict[str, Any] = {
            "budget_round_id": budget_round.pk,
            "sequence": sequence,
            "proposal_id": proposal.pk,
            "currency": budget_round.currency,
            "recorded_at": base_time + timedelta(seconds=index, microseconds=index % 997),
        }
        if index < len(proposals):
            amount = Decimal("1000000.00")
            fields.update(kind=EntryKind.ALLOCATION, allocated_delta=amount, description="Won")
            fields.update(committed_delta=zero, spent_delta=zero)
        else:
            amount = (Decimal(100 + index * 37 % 9900) / 100).quantize(Decimal("0.01"))
            document = {
                "document_date": date(2026, 1, 1) + timedelta(days=index % 300),
                # Now and then text a spreadsheet would run: the CSV neutralises it.
                "supplier": "=SUM(A1:A9)" if index % 1000 == 0 else f"Supplier {index % 50}",
                "reference": f"INV-{index}",
                "description": "Bench entry, with a comma",
                "recorded_by_id": officer.pk,
            }
            fields.update(document, allocated_delta=zero, committed_delta=zero, spent_delta=zero)
            if index % 50 == 0:
                fields.update(kind=EntryKind.RELEASE, allocated_delta=-amount, reason="Unused")
                del fields["supplier"], fields["reference"], fields["document_date"]
            elif index % 2:
                fields.update(kind=EntryKind.COMMITMENT, committed_delta=amount)
            else:
                fields.update(kind=EntryKind.SPEND, spent_delta=amount)
        return LedgerEntry(amount=amount, **fields)

    written = 0
    for number, (budget_round, proposals) in enumerate(rounds):
        in_round = entries // ROUNDS + (1 if number < entries % ROUNDS else 0)
        previous_hash = chain.GENESIS_HASH
        for first in range(1, in_round + 1, BATCH):
            batch = []
            for sequence in range(first, min(first + BATCH, in_round + 1)):
                entry = entry_for(budget_round, proposals, sequence)
                entry.previous_hash = previous_hash
                canonical = chain.canonical_json(
                    entry_canonical_fields(entry, reverses_sequence=None)
                )
                entry.entry_hash = previous_hash = chain.entry_hash(previous_hash, canonical)
                batch.append(entry)
            with transaction.atomic():
                LedgerEntry.objects.bulk_create(batch)
            written += len(batch)
            if written // 100_000 > (written - len(batch)) // 100_000 or written == entries:
                print(f"    built {written:,}/{entries:,} entries", flush=True)
    built = time.perf_counter() - started
    verified = None
    if entries <= 100_000:
        from io import StringIO

        out = StringIO()
        call_command("verify_ledger", stdout=out)
        verified = out.getvalue().strip()
    return {"entries": LedgerEntry.objects.count(), "seconds": built, "verified": verified}


def export(file_format: str) -> dict[str, Any]:
    """Export everything through the auditors' view, as a fresh process, and measure."""
    import resource

    _django()
    from django.contrib.auth import get_user_model
    from django.test import RequestFactory

    from ledgers.views.audit import audit_export

    request = RequestFactory().get(f"/audit/ledger/export.{file_format}")
    request.user = get_user_model().objects.get(username=AUDITOR)
    before_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    response = audit_export(request, file_format=file_format)
    size = lines = 0
    with open(os.devnull, "wb") as sink:
        for chunk in response.streaming_content:
            sink.write(chunk)
            size += len(chunk)
            lines += chunk.count(b"\n")
    response.close()
    seconds = time.perf_counter() - started
    # CSV: a header line, then a line per row. JSON: "[", a line per row, "]".
    rows = lines - (1 if file_format == "csv" else 2)
    return {
        "rows": rows,
        "bytes": size,
        "seconds": seconds,
        "before_kb": before_kb,
        "peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }


# --- The driver (no Django here) ------------------------------------------------------------


def run_child(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Run this script as a child, echo its progress lines, return its RESULT."""
    process = subprocess.Popen(
        [sys.executable, __file__, *args],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    result = None
    for line in process.stdout or ():
        if line.startswith(RESULT):
            result = json.loads(line[len(RESULT) :])
        else:
            print(line, end="", flush=True)
    if process.wait() != 0 or result is None:
        raise SystemExit(f"child {' '.join(args)} failed with status {process.returncode}")
    return result


class PostgresServer:
    """Creates and drops one throwaway database per size on DATABASE_URL's server."""

    def __init__(self, url: str) -> None:
        import psycopg2

        self.url = url
        self.connection = psycopg2.connect(url)
        self.connection.autocommit = True

    def create(self, name: str) -> str:
        with self.connection.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        return urlunsplit(urlsplit(self.url)._replace(path="/" + name))

    def drop(self, name: str) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')


def drive(sizes: list[int], formats: list[str], postgres: bool) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="ledger-bench-"))
    env = {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "testserver",
        "VAR_DIR": str(workdir / "var"),
        "REDIS_URL": "",
    }
    server = None
    if postgres:
        url = os.environ.get("DATABASE_URL", "")
        if not url.startswith(("postgres://", "postgresql://")):
            raise SystemExit("--postgres needs DATABASE_URL=postgres://... (any database)")
        server = PostgresServer(url)
    print(f"Ledger export benchmark: {'PostgreSQL' if postgres else 'SQLite'}, work in {workdir}")
    results: list[dict[str, Any]] = []
    try:
        for size in sizes:
            name = f"cp_ledger_bench_{size}_{os.getpid()}"
            if server:
                database_url = server.create(name)
            else:
                database_url = f"sqlite:///{workdir / (name + '.sqlite3')}"
            child_env = {**env, "DATABASE_URL": database_url}
            try:
                print(f"{size:,} entries: building the database", flush=True)
                built = run_child(["build", str(size)], child_env)
                print(
                    f"    built {built['entries']:,} entries in {built['seconds']:.1f} s"
                    + (f"; verify_ledger: {built['verified']}" if built["verified"] else ""),
                    flush=True,
                )
                for file_format in formats:
                    print(f"    exporting {file_format.upper()} in a fresh process", flush=True)
                    measured = run_child(["export", file_format], child_env)
                    measured.update(size=size, format=file_format)
                    results.append(measured)
                    report(measured)
            finally:
                if server:
                    server.drop(name)
                else:
                    for leftover in workdir.glob(name + ".sqlite3*"):
                        leftover.unlink()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    summary(results)


def report(m: dict[str, Any]) -> None:
    print(
        f"    {m['format']:>4} {m['rows']:>9,} rows {m['bytes'] / 2**20:>8.1f} MB "
        f"{m['seconds']:>7.2f} s {m['rows'] / m['seconds']:>9,.0f} rows/s  "
        f"peak RSS {m['peak_kb'] / 1024:.1f} MB (before export {m['before_kb'] / 1024:.1f} MB)",
        flush=True,
    )


def summary(results: list[dict[str, Any]]) -> None:
    print("\nsize       format  rows       seconds  rows/s     peak RSS MB")
    for m in results:
        print(
            f"{m['size']:<10,} {m['format']:<7} {m['rows']:<10,} {m['seconds']:<8.2f} "
            f"{m['rows'] / m['seconds']:<10,.0f} {m['peak_kb'] / 1024:.1f}"
        )
    for file_format in sorted({m["format"] for m in results}):
        runs = sorted((m for m in results if m["format"] == file_format), key=lambda m: m["size"])
        if len(runs) > 1:
            small, large = runs[0], runs[-1]
            growth = (large["peak_kb"] - small["peak_kb"]) / 1024
            verdict = "within" if growth <= 50 else "OVER"
            print(
                f"{file_format}: peak RSS at {large['size']:,} minus at {small['size']:,} entries: "
                f"{growth:+.1f} MB ({verdict} the 50 MB target)"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="step")
    child_build = sub.add_parser("build", help=argparse.SUPPRESS)
    child_build.add_argument("entries", type=int)
    child_export = sub.add_parser("export", help=argparse.SUPPRESS)
    child_export.add_argument("file_format", choices=["csv", "json"])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="entries, comma-separated")
    parser.add_argument("--formats", default="csv,json", help="csv, json or csv,json")
    parser.add_argument(
        "--postgres", action="store_true", help="throwaway databases on DATABASE_URL's server"
    )
    args = parser.parse_args()
    if args.step == "build":
        print(RESULT + json.dumps(build(args.entries)), flush=True)
    elif args.step == "export":
        print(RESULT + json.dumps(export(args.file_format)), flush=True)
    else:
        sizes = [int(size.replace("_", "")) for size in args.sizes.split(",")]
        formats = [name.strip() for name in args.formats.split(",")]
        if not set(formats) <= {"csv", "json"}:
            parser.error("--formats takes csv, json or both")
        drive(sizes, formats, args.postgres)


if __name__ == "__main__":
    main()
