from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from proposals.models import (
    Area,
    BudgetRound,
    CoDesignOffer,
    CoDesignStatus,
    Proposal,
    ProposalSupport,
)
from proposals.phases import Phase


def seed() -> list[str]:
    out = StringIO()
    call_command("seed_demo", allow_without_debug=True, stdout=out)
    return out.getvalue().splitlines()


def test_seed_demo_prints_one_working_account_per_role(db):
    lines = seed()[:3]
    assert [line.split(":")[0] for line in lines] == ["resident", "officer", "auditor"]
    for line in lines:
        _role, credentials = line.split(": ")
        email, password = credentials.split(" / ")
        client = Client()
        client.post("/accounts/login/", {"login": email, "password": password})
        assert client.get("/accounts/profile/").status_code == 200, line


def test_seed_demo_is_safe_to_run_twice(db):
    seed()
    counts = (Area.objects.count(), BudgetRound.objects.count())
    seed()
    assert (Area.objects.count(), BudgetRound.objects.count()) == counts


def test_seed_demo_has_rounds_in_submission_review_and_voting_closing_soon(db):
    seed()
    now = timezone.now()
    phases = {r.name: r.phase_at(now) for r in BudgetRound.objects.all()}
    assert set(phases.values()) >= {Phase.SUBMISSION, Phase.REVIEW, Phase.VOTING}
    voting = BudgetRound.objects.get(name="Neighbourhood Fund 2026")
    assert 0 < (voting.voting_ends - now).total_seconds() <= 11 * 60


def test_seed_demo_refuses_to_run_on_a_live_site(db, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG=true"):
        call_command("seed_demo")
    assert not BudgetRound.objects.exists()


def test_seed_demo_starts_no_send_for_the_emails_it_cancels(
    db, monkeypatch, django_capture_on_commit_callbacks
):
    """The demo's made-up decisions and votes queue emails that it cancels; starting a
    send for each would leave a worker wading through a hundred dead messages before
    the first real email (the filesystem broker delivers one per poll)."""
    from pb_platform import tasks
    from pb_platform.models import OutboxEmail

    started: list[int] = []
    monkeypatch.setattr(tasks.send_outbox_email, "delay", started.append)
    with django_capture_on_commit_callbacks(execute=True):
        seed()
    assert OutboxEmail.objects.filter(cancel_reason="demo data").count() > 10
    assert started == []


def test_seed_demo_shows_support_and_co_design_once(db):
    seed()
    counts = (ProposalSupport.objects.count(), CoDesignOffer.objects.count())
    # Renamed by its co-author in the demo (the versions show it).
    trees = Proposal.objects.get(title="Street trees and planters on Mill Lane")
    assert trees.supports.count() == 3
    floodlights = Proposal.objects.get(title="Floodlights for the football pitch")
    assert floodlights.official_cost == Decimal("18000.00") and floodlights.on_ballot
    assert floodlights.codesign_offers.get().status == CoDesignStatus.ACCEPTED
    studio = Proposal.objects.get(title="Youth music studio")
    assert studio.codesign_offers.get().status == CoDesignStatus.DECLINED
    assert not studio.on_ballot
    seed()
    assert (ProposalSupport.objects.count(), CoDesignOffer.objects.count()) == counts


def test_seed_demo_has_a_priorities_stage_open_for_the_demo_resident(db):
    from pb_platform.users import User
    from proposals import policies
    from proposals.demo import OPEN_PRIORITIES_ROUND, OPEN_PRIORITIES_THEMES

    seed()
    now = timezone.now()
    budget_round = BudgetRound.objects.get(name=OPEN_PRIORITIES_ROUND)
    assert budget_round.phase_at(now) == Phase.PRIORITIES
    assert sorted(budget_round.categories.values_list("name", flat=True)) == sorted(
        OPEN_PRIORITIES_THEMES
    )
    resident = User.objects.get(email="resident@example.org")
    riverside = budget_round.round_areas.get(area__name="Riverside")
    assert policies.can_respond_priorities(resident, riverside, now=now)


def test_seed_demo_shows_an_accepted_and_a_declined_amendment(db):
    from proposals.models import AmendmentStatus, ProposalAmendment, VersionKind

    seed()
    trees = Proposal.objects.get(title="Street trees and planters on Mill Lane")
    answers = dict(trees.amendments.values_list("author__email", "status"))
    assert answers == {
        "kim.eastgate@example.org": AmendmentStatus.ACCEPTED,
        "priya.oldtown@example.org": AmendmentStatus.DECLINED,
    }
    taken_in = trees.versions.get(kind=VersionKind.AMENDMENT)
    assert taken_in.credited_to.email == "kim.eastgate@example.org"
    assert "water butt" in trees.description and trees.estimated_cost == Decimal("41000.00")
    seed()
    assert ProposalAmendment.objects.count() == 2


def test_seed_demo_shows_a_merged_proposal_crediting_both_authors(db):
    from proposals.models import MergeStatus, ProposalMerge, ProposalStatus, VersionKind

    seed()
    merge = ProposalMerge.objects.get()
    assert merge.status == MergeStatus.MERGED
    benches = merge.into
    assert benches.title == "Benches along the river path and at its bus stops"
    assert benches.versions.filter(kind=VersionKind.MERGE).exists()
    assert benches.coauthors.get().user.email == "rosa.riverside@example.org"
    assert (merge.absorbed.status, merge.absorbed.duplicate_of) == (ProposalStatus.MERGED, benches)
    page = Client().get(benches.get_absolute_url()).content.decode()
    assert "Sam Resident" in page and "Rosa from Riverside" in page
    seed()
    assert ProposalMerge.objects.count() == 1
