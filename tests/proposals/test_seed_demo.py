from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from proposals.models import Area, BudgetRound
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
