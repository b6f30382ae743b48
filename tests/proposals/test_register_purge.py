"""The register is deleted once no round has needed it for REGISTER_RETENTION_DAYS."""

from __future__ import annotations

from datetime import date, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from proposals.models import RegisterEntry, RegisterImport, ResidentProfile, VerificationCode
from proposals.phases import Phase
from proposals.services import eligibility
from proposals.services.register import register_import
from tests.factories import BudgetRoundFactory


@pytest.fixture
def register(officer, area_a, resident_a):
    register_import(
        officer=officer,
        csv_bytes=b"reference,date_of_birth,area\nP-1,1970-05-05,Area A\nP-2,1971-05-05,Area A\n",
        file_name="r.csv",
        dry_run=False,
        now=timezone.now(),
    )
    eligibility.verification_codes_generate(
        officer=officer, area=area_a, count=2, now=timezone.now()
    )
    eligibility.eligibility_verify_by_register(
        user=resident_a,
        reference="P-1",
        date_of_birth=date(1970, 5, 5),
        postcode="",
        ip="10.0.0.1",
        now=timezone.now(),
    )


def purge(*args: str) -> str:
    out = StringIO()
    call_command("register_purge", *args, stdout=out)
    return out.getvalue()


def test_the_register_is_kept_while_a_round_may_need_it(register, settings):
    settings.REGISTER_RETENTION_DAYS = 30
    budget_round = BudgetRoundFactory(phase=Phase.CLOSED, name="Spring vote")
    assert budget_round.voting_ends < timezone.now() - timedelta(days=2)

    with pytest.raises(CommandError, match="Spring vote"):
        purge()
    assert RegisterEntry.objects.count() == 2


def test_after_retention_the_register_and_unused_codes_go(register, resident_a, settings):
    settings.REGISTER_RETENTION_DAYS = 1
    budget_round = BudgetRoundFactory(phase=Phase.CLOSED)
    assert budget_round.voting_ends < timezone.now() - timedelta(days=2)

    assert "Would delete 2 register entries and 2 unused" in purge("--dry-run")
    assert RegisterEntry.objects.count() == 2

    assert "Deleted 2 register entries and 2 unused letter codes." in purge()
    assert not RegisterEntry.objects.exists()
    assert not VerificationCode.objects.exists()
    assert RegisterImport.objects.count() == 1  # the log stays
    assert not ResidentProfile.objects.get(user=resident_a).is_eligibility_verified
