"""The resident register's CSV import: a dry run reports row by row, an import is
all-or-nothing, nothing identifying is stored as typed, and only officers import."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from proposals.models import RegisterEntry, RegisterImport, ResidentAreaChange
from proposals.phases import Phase
from proposals.services.register import (
    ADDED,
    CHANGED,
    REFUSED,
    UNCHANGED,
    dob_hash,
    postcode_hash,
    reference_hash,
    register_import,
)
from tests.factories import AreaFactory, BudgetRoundFactory, RoundAreaFactory

GOOD = (
    "reference,date_of_birth,postcode,area\n"
    "AB-1001,1980-02-29,,Area A\n"
    "ab-1002,,sw1a 1aa,area-b\n"
    "AB-1003,14/07/1990,,area a\n"
)


def run(officer, text: str | bytes, *, dry_run: bool = False, name: str = "register.csv"):
    data = text.encode() if isinstance(text, str) else text
    return register_import(
        officer=officer, csv_bytes=data, file_name=name, dry_run=dry_run, now=timezone.now()
    )


def test_import_adds_entries_as_keyed_hashes_only(officer, area_a, area_b):
    report = run(officer, GOOD)

    assert report.applied
    assert report.counts == {ADDED: 3, CHANGED: 0, UNCHANGED: 0, REFUSED: 0}
    first = RegisterEntry.objects.get(reference_hash=reference_hash("  ab-1001 "))
    assert first.area == area_a
    assert first.dob_hash == dob_hash(timezone.datetime(1980, 2, 29).date())
    assert first.postcode_hash is None
    second = RegisterEntry.objects.get(reference_hash=reference_hash("AB-1002"))
    assert (second.area, second.postcode_hash) == (area_b, postcode_hash("SW1A1AA"))
    third = RegisterEntry.objects.get(reference_hash=reference_hash("ab-1003"))
    assert third.dob_hash == dob_hash(timezone.datetime(1990, 7, 14).date())
    stored = " ".join(
        " ".join(filter(None, (e.reference_hash, e.dob_hash, e.postcode_hash)))
        for e in RegisterEntry.objects.all()
    ).lower()
    for raw in ("ab-1001", "1980", "sw1a", "1aa"):
        assert raw not in stored
    record = RegisterImport.objects.get()
    assert (record.imported_by, record.file_name, record.added) == (officer, "register.csv", 3)


def test_hashes_depend_on_the_key(settings):
    before = reference_hash("AB-1001")
    settings.REGISTER_HMAC_KEY = "another-key-entirely-another-key-entirely"
    assert reference_hash("AB-1001") != before


def test_dry_run_reports_and_changes_nothing(officer, area_a, area_b):
    report = run(officer, GOOD, dry_run=True)

    assert not report.applied
    assert [row.outcome for row in report.rows] == [ADDED, ADDED, ADDED]
    assert [row.row_number for row in report.rows] == [2, 3, 4]
    assert not RegisterEntry.objects.exists()
    assert not RegisterImport.objects.exists()


def test_utf8_with_byte_order_mark_reads_the_header(officer, area_a, area_b):
    report = run(officer, "\ufeff".encode() + GOOD.encode())
    assert report.counts[ADDED] == 3


def test_not_utf8_is_refused_with_a_reason(officer, area_a):
    with pytest.raises(ValidationError, match="not UTF-8"):
        run(officer, "reference,postcode,area\nÉ1,AB1 2CD,Area A\n".encode("latin-1"))


def test_missing_columns_named(officer, area_a):
    with pytest.raises(ValidationError, match="date_of_birth or postcode"):
        run(officer, "reference,area\nX1,Area A\n")


BAD = (
    "reference,date_of_birth,area\n"
    "X-1,1970-01-01,Area A\n"  # 2 fine
    ",1970-01-01,Area A\n"  # 3 missing reference
    "X-3,31/02/1970,Area A\n"  # 4 bad date
    "X-4,1970-01-01,Atlantis\n"  # 5 unknown area
    "x-1,1971-01-01,Area A\n"  # 6 duplicate of row 2 (case-folded)
    "X-6,,Area A\n"  # 7 neither date nor postcode
    "X-7,2990-01-01,Area A\n"  # 8 date in the future
    "X-8,1970-01-01\n"  # 9 short row
)


def test_bad_rows_are_reported_one_by_one_and_nothing_is_applied(officer, area_a):
    report = run(officer, BAD)

    assert not report.applied
    by_row = {row.row_number: row for row in report.rows}
    assert by_row[2].outcome == ADDED
    reasons = {n: by_row[n].reason for n in range(3, 10)}
    assert all(by_row[n].outcome == REFUSED for n in range(3, 10))
    assert "No reference" in reasons[3]
    assert "not a date" in reasons[4]
    assert "Unknown area" in reasons[5] and "Atlantis" in reasons[5]
    assert "row 2" in reasons[6]
    assert "Neither" in reasons[7]
    assert "not plausible" in reasons[8]
    assert "columns" in reasons[9]
    assert report.counts[REFUSED] == 7
    assert not RegisterEntry.objects.exists()
    assert not RegisterImport.objects.exists()
    # The report never repeats what identifies a person.
    shown = " ".join(row.reason for row in report.rows)
    assert "X-1" not in shown and "1970" not in shown


def test_whole_council_area_is_refused(officer, area_a):
    AreaFactory(name="Everywhere", slug="everywhere", is_city_wide=True)
    report = run(officer, "reference,postcode,area\nQ1,AB1 2CD,Everywhere\n", dry_run=True)
    assert report.rows[0].outcome == REFUSED


def test_reimport_reports_changed_and_unchanged(officer, area_a, area_b):
    run(officer, GOOD)
    again = GOOD.replace("AB-1003,14/07/1990,,area a", "AB-1003,1990-07-14,,Area B")

    report = run(officer, again + "AB-1004,1999-01-01,,Area A\n")

    assert [row.outcome for row in report.rows] == [UNCHANGED, UNCHANGED, CHANGED, ADDED]
    assert RegisterEntry.objects.get(reference_hash=reference_hash("AB-1003")).area == area_b
    assert RegisterEntry.objects.count() == 4
    assert RegisterImport.objects.count() == 2


@pytest.mark.parametrize("persona", ["auditor", "resident_a"])
def test_wrong_roles_import_nothing(persona, request, area_a, area_b):
    user = request.getfixturevalue(persona)
    for dry_run in (True, False):
        with pytest.raises(PermissionDenied):
            run(user, GOOD, dry_run=dry_run)
    assert not RegisterEntry.objects.exists()
    assert not RegisterImport.objects.exists()


def _verify(entry: RegisterEntry, user) -> None:
    entry.verified_account = user
    entry.verified_at = timezone.now()
    entry.save()


def test_area_change_of_a_verified_resident_outside_voting_moves_them(
    officer, area_a, area_b, resident_a
):
    run(officer, "reference,postcode,area\nM1,AB1 2CD,Area A\n")
    _verify(RegisterEntry.objects.get(), resident_a)

    run(officer, "reference,postcode,area\nM1,AB1 2CD,Area B\n")

    resident_a.resident_profile.refresh_from_db()
    assert resident_a.resident_profile.area == area_b
    change = ResidentAreaChange.objects.get()
    assert change.effective_at is not None and "register" in change.reason


def test_area_change_of_a_verified_resident_during_voting_is_pending(
    officer, area_a, area_b, resident_a
):
    budget_round = BudgetRoundFactory(phase=Phase.VOTING)
    RoundAreaFactory(budget_round=budget_round, area=area_a)
    run(officer, "reference,postcode,area\nM1,AB1 2CD,Area A\n")
    _verify(RegisterEntry.objects.get(), resident_a)

    run(officer, "reference,postcode,area\nM1,AB1 2CD,Area B\n")

    profile = resident_a.resident_profile
    profile.refresh_from_db()
    assert (profile.area, profile.pending_area) == (area_a, area_b)
    assert ResidentAreaChange.objects.get().effective_at is None
