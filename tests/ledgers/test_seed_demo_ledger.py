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


def test_the_demo_shows_a_delivery_plan_with_a_late_and_a_moved_milestone(db):
    from django.test import Client
    from django.utils import timezone

    from ledgers.models import Milestone, MilestoneChangeKind

    seed()
    plan = list(Milestone.objects.filter(proposal__title="Park toilets reopened"))
    today = timezone.localdate()
    assert len(plan) == 4
    assert sum(m.done_on is not None for m in plan) == 2
    assert [m.title for m in plan if m.is_late(today)] == ["Paths resurfaced"]
    moved = Milestone.objects.get(changes__kind=MilestoneChangeKind.REPLANNED)
    page = Client().get(moved.proposal.get_absolute_url()).content.decode()
    assert "1 milestone late" in page and "Wet weather held up the groundworks" in page
    count = Milestone.objects.count()
    seed()
    assert Milestone.objects.count() == count


def test_the_demo_has_a_delivered_proposal_assessed_with_replies(db):
    from django.test import Client

    from ledgers.models import Assessment, AssessorKind

    seed()
    pond = BudgetRound.objects.get(name="Parks 2026").proposals.get(title="Riverside pond clean-up")
    kinds = sorted(Assessment.objects.filter(proposal=pond).values_list("kind", flat=True))
    assert kinds == [AssessorKind.INVITED] + [AssessorKind.RESIDENT] * 4
    assert Assessment.objects.filter(proposal=pond).exclude(reply="").count() == 2
    page = Client().get(pond.get_absolute_url()).content.decode()
    assert "Residents: 4 assessments" in page and "Invited service users: 1 assessment" in page
    assert "The council replied:" in page and "3 of 3 reached" not in page
    story = Client().get("/rounds/parks-2026/you-said-we-did/").content.decode()
    assert "3 of 3 reached" in story and "Under-represented" in story
    seed()
    assert Assessment.objects.filter(proposal=pond).count() == 5
