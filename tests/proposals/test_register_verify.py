"""Residents become eligibility-verified: matched on the register, with a letter's code,
or in person by an officer. One entry (or code) verifies one account; attempts are
limited per account and per IP; a failure says only that the details did not match."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from pb_platform.roles import RESIDENT, role_grant
from proposals.models import (
    EligibilityMethod,
    RegisterEntry,
    ResidentAreaChange,
    ResidentProfile,
    VerificationCode,
)
from proposals.services import eligibility
from proposals.services.register import register_import
from tests.conftest import client_for
from tests.factories import ResidentProfileFactory

VERIFY = reverse("proposals:eligibility_verify")
REGISTER = (
    b"reference,date_of_birth,postcode,area\nAB-1,1980-02-29,,Area A\nAB-2,,SW1A 1AA,Area B\n"
)


@pytest.fixture
def register(officer, area_a, area_b):
    register_import(
        officer=officer, csv_bytes=REGISTER, file_name="r.csv", dry_run=False, now=timezone.now()
    )


def another_resident(area):
    profile = ResidentProfileFactory(area=area)
    role_grant(user=profile.user, role=RESIDENT)
    return profile.user


def by_register(user, reference="AB-1", born=date(1980, 2, 29), postcode="", ip="10.0.0.1"):
    return eligibility.eligibility_verify_by_register(
        user=user,
        reference=reference,
        date_of_birth=born,
        postcode=postcode,
        ip=ip,
        now=timezone.now(),
    )


def test_a_match_makes_the_resident_eligibility_verified(register, resident_a, area_a):
    profile = by_register(resident_a, reference="  ab-1 ")

    assert profile.eligibility_method == EligibilityMethod.REGISTER
    assert profile.eligibility_verified_at is not None
    assert profile.date_of_birth == date(1980, 2, 29)
    entry = RegisterEntry.objects.get(verified_account=resident_a)
    assert entry.area == area_a and entry.verified_at is not None


def test_a_postcode_match_verifies_and_moves_to_the_registers_area(register, resident_a, area_b):
    profile = by_register(resident_a, reference="AB-2", born=None, postcode="sw1a1aa")

    profile.refresh_from_db()
    assert profile.is_eligibility_verified
    assert profile.area == area_b  # no voting open: the move takes effect at once
    assert profile.date_of_birth is None
    assert ResidentAreaChange.objects.get(profile=profile).changed_by == resident_a


@pytest.mark.parametrize(
    "reference, born",
    [("AB-1", date(1980, 3, 1)), ("AB-9", date(1980, 2, 29)), ("AB-2", date(1980, 2, 29))],
)
def test_a_failed_match_says_only_that_it_did_not_match(register, resident_a, reference, born):
    with pytest.raises(ValidationError) as info:
        by_register(resident_a, reference=reference, born=born)
    assert info.value.messages[0].startswith("Those details did not match.")
    profile = ResidentProfile.objects.get(user=resident_a)
    assert not profile.is_eligibility_verified
    assert not RegisterEntry.objects.filter(verified_account=resident_a).exists()


def test_one_register_entry_verifies_one_account(register, resident_a, area_a):
    by_register(resident_a)
    second = another_resident(area_a)

    with pytest.raises(ValidationError, match="did not match"):
        by_register(second)
    assert not ResidentProfile.objects.get(user=second).is_eligibility_verified


def test_the_database_refuses_a_second_account_on_one_entry(register, resident_a, resident_b):
    by_register(resident_a)
    entry = RegisterEntry.objects.get(verified_account=resident_a)
    other = RegisterEntry.objects.exclude(pk=entry.pk).get()
    other.verified_account = resident_a
    other.verified_at = timezone.now()
    with pytest.raises(IntegrityError), transaction.atomic():
        other.save()


def test_already_verified_cannot_verify_again(register, resident_a):
    by_register(resident_a)
    with pytest.raises(PermissionDenied, match="already eligibility-verified"):
        by_register(resident_a, reference="AB-2", born=None, postcode="SW1A 1AA")


def test_failures_are_limited_per_account(register, resident_a):
    for _ in range(eligibility.FAILURES_PER_ACCOUNT):
        with pytest.raises(ValidationError, match="did not match"):
            by_register(resident_a, born=date(1970, 1, 1))
    # Even the right details now wait: guessing a date of birth takes too long.
    with pytest.raises(ValidationError, match="Too many attempts"):
        by_register(resident_a)
    assert not ResidentProfile.objects.get(user=resident_a).is_eligibility_verified


def test_failures_are_limited_per_ip_across_accounts(register, area_a):
    for _ in range(eligibility.FAILURES_PER_IP):
        user = another_resident(area_a)
        with pytest.raises(ValidationError, match="did not match"):
            by_register(user, born=date(1970, 1, 1), ip="192.0.2.7")
    fresh = another_resident(area_a)
    with pytest.raises(ValidationError, match="Too many attempts"):
        by_register(fresh, ip="192.0.2.7")
    assert by_register(fresh, ip="192.0.2.8").is_eligibility_verified


# --- Letters with codes ---------------------------------------------------------------


def test_a_code_verifies_one_account_once_for_its_area(officer, area_a, area_b, resident_a):
    codes = eligibility.verification_codes_generate(
        officer=officer, area=area_b, count=3, now=timezone.now()
    )
    assert len(set(codes)) == 3
    stored = " ".join(VerificationCode.objects.values_list("code_hash", flat=True))
    assert not any(code.replace("-", "") in stored.upper() for code in codes)

    profile = eligibility.eligibility_verify_by_code(
        user=resident_a, code=codes[0].lower().replace("-", " "), ip="10.0.0.1", now=timezone.now()
    )
    assert profile.eligibility_method == EligibilityMethod.CODE
    profile.refresh_from_db()
    assert profile.area == area_b
    used = VerificationCode.objects.get(used_by=resident_a)
    assert used.used_at is not None

    second = another_resident(area_b)
    with pytest.raises(ValidationError, match="did not match"):
        eligibility.eligibility_verify_by_code(
            user=second, code=codes[0], ip="10.0.0.2", now=timezone.now()
        )


@pytest.mark.parametrize("persona", ["auditor", "resident_a"])
def test_only_officers_generate_codes(persona, request, area_a):
    with pytest.raises(PermissionDenied):
        eligibility.verification_codes_generate(
            officer=request.getfixturevalue(persona), area=area_a, count=2, now=timezone.now()
        )
    assert not VerificationCode.objects.exists()


def test_the_printable_sheet_shows_each_code_once_one_per_page(officer, area_a):
    response = client_for(officer).post(
        reverse("proposals:officer_register_codes"), {"area": area_a.pk, "count": 4}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('class="code-letter"') == 4
    assert "no-store" in response["Cache-Control"]
    assert VerificationCode.objects.filter(area=area_a).count() == 4
    css = (Path(__file__).parents[2] / "static/css/site.css").read_text()
    assert "page-break-after: always" in css


# --- In person ---------------------------------------------------------------------------


def test_officer_records_an_in_person_check(officer, resident_a):
    profile = ResidentProfile.objects.get(user=resident_a)
    response = client_for(officer).post(
        reverse("proposals:officer_resident_verify", args=[profile.pk]), follow=True
    )
    assert "eligibility-verified (in person)" in response.content.decode()
    profile.refresh_from_db()
    assert profile.eligibility_method == EligibilityMethod.IN_PERSON
    assert profile.eligibility_verified_by == officer
    assert profile.eligibility_verified_at is not None


@pytest.mark.parametrize("persona", ["auditor", "resident_b"])
def test_wrong_roles_cannot_verify_in_person(persona, request, resident_a):
    profile = ResidentProfile.objects.get(user=resident_a)
    client = client_for(request.getfixturevalue(persona))
    response = client.post(reverse("proposals:officer_resident_verify", args=[profile.pk]))
    assert response.status_code == 403
    profile.refresh_from_db()
    assert not profile.is_eligibility_verified


# --- The resident's page -----------------------------------------------------------------


def test_resident_verifies_on_the_page(register, resident_a):
    client = client_for(resident_a)
    form = client.get(VERIFY).content.decode()
    assert "eligibility-verified" in form and "Reference number" in form

    wrong = client.post(
        VERIFY,
        {
            "method": "register",
            "register-reference": "AB-1",
            "register-date_of_birth": "1981-01-01",
        },
    )
    assert "Those details did not match." in wrong.content.decode()

    right = client.post(
        VERIFY,
        {
            "method": "register",
            "register-reference": "AB-1",
            "register-date_of_birth": "1980-02-29",
        },
        follow=True,
    )
    assert "You are now eligibility-verified" in right.content.decode()
    account = client.get(reverse("proposals:my_account")).content.decode()
    assert "Eligibility-verified on" in account


def test_visitors_are_sent_to_sign_in(db):
    response = Client().get(VERIFY)
    assert response.status_code == 302 and reverse("account_login") in response.url


def test_staff_without_a_profile_are_told_why(officer):
    html = client_for(officer).get(VERIFY).content.decode()
    assert "Only residents with an account confirm their eligibility here." in html
