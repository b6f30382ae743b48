"""The demo's finished round shows the ledger at work, and its chain verifies."""

from __future__ import annotations

import io

from django.core.management import call_command

from ledgers.models import DeliveryUpdate, LedgerEntry
from ledgers.selectors import funded_proposals
from proposals.models import BudgetRound


def seed() -> None:
    call_command("seed_demo", allow_without_debug=True, stdout=io.StringIO())


def test_the_published_demo_round_has_every_kind_of_entry(db):
    seed()
    parks = BudgetRound.objects.get(name="Parks 2026")
    kinds = set(LedgerEntry.objects.filter(budget_round=parks).values_list("kind", flat=True))
    assert kinds == {"allocation", "commitment", "spend", "release", "reversal"}
    assert any(p.spent > p.allocated for p in funded_proposals(budget_round=parks))
    assert any(p.committed > p.allocated for p in funded_proposals(budget_round=parks))
    assert DeliveryUpdate.objects.filter(proposal__budget_round=parks).count() == 3
    out = io.StringIO()
    call_command("verify_ledger", stdout=out)
    assert out.getvalue().startswith("OK:")


def test_seeding_twice_adds_no_entries(db):
    seed()
    count = LedgerEntry.objects.count()
    seed()
    assert LedgerEntry.objects.count() == count
