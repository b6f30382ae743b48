"""The demo has a register: the demo resident is eligibility-verified through it, and the
command prints a free entry to try verification by hand."""

from __future__ import annotations

import re

from django.urls import reverse

from proposals.demo import DEMO_VERIFIED_ROUND, demo_round
from proposals.models import (
    Area,
    EligibilityMethod,
    RegisterEntry,
    RegisterImport,
    ResidentProfile,
    VerificationRequired,
)
from tests.conftest import client_for
from tests.factories import ResidentProfileFactory
from tests.proposals.test_seed_demo import seed


def test_the_demo_register_verifies_sam_and_prints_an_entry_to_try(db):
    lines = seed()

    assert RegisterEntry.objects.count() == 5
    assert RegisterImport.objects.get().file_name == "demo-register.csv"
    sam = ResidentProfile.objects.get(user__email="resident@example.org")
    assert sam.eligibility_method == EligibilityMethod.REGISTER
    assert RegisterEntry.objects.get(verified_account=sam.user).area == sam.area
    assert demo_round(DEMO_VERIFIED_ROUND).verification_required == VerificationRequired.ANY

    hint = next(line for line in lines if "eligibility verification" in line)
    reference, born = re.search(r"reference (\S+) and date of birth (\S+) ", hint).groups()
    newcomer = ResidentProfileFactory(area=Area.objects.get(name="Northfield")).user
    response = client_for(newcomer).post(
        reverse("proposals:eligibility_verify"),
        {"method": "register", "register-reference": reference, "register-date_of_birth": born},
    )
    assert response.status_code == 302
    assert ResidentProfile.objects.get(user=newcomer).is_eligibility_verified


def test_running_the_demo_twice_keeps_one_register(db):
    seed()
    seed()
    assert RegisterImport.objects.count() == 1
    assert RegisterEntry.objects.filter(verified_account__isnull=False).count() == 1
