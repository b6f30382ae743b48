"""Open data of a round: its public ledger as CSV (checked by the README's script,
never an email), its public proposals as CSV (never a draft, formulas neutralised,
locale-independent), and the page that lists every download with the licence and what
each column means."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from ledgers.services import spend_record
from proposals.models import ProposalStatus
from proposals.phases import Phase
from tests.factories import BudgetRoundFactory, ProposalFactory
from tests.ledgers.test_audit_exports import run_readme_script

TODAY = timezone.localdate()


def test_the_public_ledger_passes_the_readme_checker_and_names_nobody(parks, officer, tmp_path):
    budget_round, proposals = parks
    spend_record(
        officer=officer,
        proposal=proposals["Trees"],
        amount="250.00",
        supplier="=cmd|' /C calc'!A0",
        reference="INV-1",
        document_date=TODAY,
        description="Saplings",
        now=timezone.now(),
    )
    response = Client().get(reverse("ledgers:round_ledger_csv", args=[budget_round.slug]))
    text = b"".join(response.streaming_content).decode()
    assert response["Content-Type"].startswith("text/csv")
    header = next(csv.reader(io.StringIO(text)))
    assert "recorded_by_email" not in header and "entry_hash" in header
    assert "officer@example.org" not in text and "@" not in text
    assert "'=cmd" in text  # shown as text by a spreadsheet, and still verifies
    checked = run_readme_script(tmp_path, "ledger.csv", text)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.startswith("OK: 3 entries")


def test_no_ledger_before_the_vote_closes(db):
    budget_round = BudgetRoundFactory(phase=Phase.SUBMISSION)
    url = reverse("ledgers:round_ledger_csv", args=[budget_round.slug])
    assert Client().get(url).status_code == 404


def test_the_proposals_file_has_every_public_proposal_and_no_draft(parks):
    budget_round, proposals = parks
    round_area = proposals["Trees"].round_area
    ProposalFactory(
        budget_round=budget_round,
        round_area=round_area,
        title="Secret draft",
        status=ProposalStatus.DRAFT,
        submitted_at=None,
    )
    ProposalFactory(
        budget_round=budget_round,
        round_area=round_area,
        title="@SUM(A1) benches",
        estimated_cost=Decimal("1250.5"),
        status=ProposalStatus.SUBMITTED,
    )
    response = Client().get(reverse("proposals:round_proposals_csv", args=[budget_round.slug]))
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    titles = {row["title"] for row in rows}
    assert "Secret draft" not in titles and "'@SUM(A1) benches" in titles
    assert {"Trees", "Benches", "Lights"} <= titles
    benches = next(row for row in rows if row["title"] == "'@SUM(A1) benches")
    assert benches["estimated_cost"] == "1250.50" and benches["area"] == round_area.area.slug
    assert benches["submitted_at"].endswith("+00:00") and benches["url"].endswith("/")
    assert "@example.org" not in response.content.decode()


def test_the_open_data_page_lists_the_downloads_the_licence_and_the_columns(parks):
    budget_round, _proposals = parks
    page = Client().get(reverse("ledgers:round_open_data", args=[budget_round.slug]))
    text = page.content.decode()
    for name in ("ledgers:round_ledger_csv", "proposals:round_proposals_csv"):
        assert reverse(name, args=[budget_round.slug]) in text
    assert "Open Government Licence v3.0" in text
    assert "<code>entry_hash</code>" in text and "Glossary" in text
    assert reverse("api:round_money", args=[budget_round.slug]) in text
    round_page = Client().get(budget_round.get_absolute_url()).content.decode()
    assert reverse("ledgers:round_open_data", args=[budget_round.slug]) in round_page
