"""Trust in the ledger (issue 10): only officers write, whoever calls the service; drafts
stay out of the ledger pages; any amount, date or text typed gets a message, never a
500; payments are not dated in the future; commitments beyond the allocation need a
reason and are flagged wherever overspending is; a form sent twice records once."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from ledgers.forms import CommitmentForm
from ledgers.models import DeliveryStatus, DeliveryUpdate, EntryKind, LedgerEntry, LedgerExport
from ledgers.services import (
    commitment_record,
    delivery_update_record,
    ledger_export_record,
    proposal_balance,
    release_record,
    reversal_record,
    spend_record,
)
from pb_platform.models import SubmissionToken
from pb_platform.policies import PolicyDenied
from proposals.models import ProposalStatus
from tests.conftest import client_for
from tests.factories import ProposalFactory

TODAY = timezone.localdate()


def commit(officer, proposal, amount="100.00", *, reason="", document_date=None, **extra):
    return commitment_record(
        officer=officer,
        proposal=proposal,
        amount=amount,
        supplier=extra.pop("supplier", "Green Co"),
        reference="PO-17",
        document_date=document_date or TODAY,
        reason=reason,
        now=timezone.now(),
        **extra,
    )


def spend(officer, proposal, amount="40.00", *, reason="", document_date=None):
    return spend_record(
        officer=officer,
        proposal=proposal,
        amount=amount,
        supplier="Green Co",
        reference="INV-9",
        document_date=document_date or TODAY,
        description="Oak saplings, planted",
        reason=reason,
        now=timezone.now(),
    )


def ledger_state() -> tuple[int, int]:
    return LedgerEntry.objects.count(), DeliveryUpdate.objects.count()


def chain_verifies() -> bool:
    out = io.StringIO()
    call_command("verify_ledger", stdout=out)
    return out.getvalue().startswith("OK:")


# --- 1. Only officers write, whoever calls the service --------------------------------------


@pytest.fixture(params=["resident_a", "auditor", "anonymous"])
def wrong_role(request):
    if request.param == "anonymous":
        return AnonymousUser()
    return request.getfixturevalue(request.param)


def test_a_wrong_role_calling_the_services_is_refused_and_nothing_is_appended(
    parks, officer, wrong_role
):
    _round, proposals = parks
    trees = proposals["Trees"]
    payment = spend(officer, trees)
    before = ledger_state()

    calls = [
        lambda: commit(wrong_role, trees),
        lambda: spend(wrong_role, trees),
        lambda: release_record(
            officer=wrong_role, proposal=trees, amount="10.00", reason="Not needed",
            now=timezone.now(),
        ),
        lambda: reversal_record(
            officer=wrong_role, proposal=trees, original=payment, reason="Wrong invoice",
            now=timezone.now(),
        ),
        lambda: delivery_update_record(
            officer=wrong_role, proposal=trees, status=DeliveryStatus.DELIVERED, note="Done",
            happened_on=TODAY, today=TODAY, now=timezone.now(),
        ),
    ]  # fmt: skip
    for call in calls:
        with pytest.raises(PolicyDenied):
            call()

    assert ledger_state() == before
    assert chain_verifies()


def test_a_resident_given_as_the_officer_gets_the_reason(parks, resident_a):
    _round, proposals = parks
    with pytest.raises(PolicyDenied, match="Only council officers"):
        commit(resident_a, proposals["Trees"])
    assert not LedgerEntry.objects.filter(kind=EntryKind.COMMITMENT).exists()


@pytest.mark.parametrize("persona", ["resident_a", "officer"])
def test_only_auditors_can_log_an_export(db, persona, request):
    user = request.getfixturevalue(persona)
    with pytest.raises(PolicyDenied, match="Only auditors"):
        ledger_export_record(auditor=user, file_format="csv", filters={}, now=timezone.now())
    assert not LedgerExport.objects.exists()


def test_nothing_is_recorded_against_an_imported_round(parks, officer):
    budget_round, proposals = parks
    budget_round.is_imported = True
    budget_round.save(update_fields=["is_imported"])
    before = ledger_state()
    with pytest.raises(PolicyDenied, match="imported"):
        commit(officer, proposals["Trees"])
    assert ledger_state() == before


# --- 2. Drafts stay out of the ledger pages --------------------------------------------------


def test_a_draft_is_not_shown_on_the_officer_ledger_pages(parks, officer):
    budget_round, proposals = parks
    draft = ProposalFactory(
        budget_round=budget_round,
        round_area=proposals["Trees"].round_area,
        title="Secret draft fountain",
        status=ProposalStatus.DRAFT,
    )
    assert draft.submitted_at is None
    client = client_for(officer)

    assert client.get(reverse("ledgers:officer_proposal", args=[draft.pk])).status_code == 404
    page = client.get(reverse("ledgers:officer_round", args=[budget_round.slug]))
    assert page.status_code == 200 and "Secret draft fountain" not in page.text
    before = ledger_state()
    response = client.post(
        reverse("ledgers:officer_proposal", args=[draft.pk]),
        {"form": "delivery", "delivery-status": "delivered", "delivery-note": "Done",
         "delivery-happened_on": TODAY.isoformat()},
    )  # fmt: skip
    assert response.status_code == 404
    assert ledger_state() == before


# --- 3. Amounts: one parser, a message for every bad one ----------------------------------

BAD_AMOUNTS = [
    ("1e30", "in figures"),
    ("1e400", "in figures"),
    ("NaN", "in figures"),
    ("Infinity", "in figures"),
    ("-5", "more than zero"),
    ("12.345", "two decimal places"),
    ("1,000", "thousands separators"),
    ("9" * 30, "too large"),
    ("9" * 60, "at most 40 characters"),
]


def _commitment_data(amount: str, **changes: str) -> dict[str, str]:
    return {
        "form": "commitment",
        "commitment-amount": amount,
        "commitment-supplier": "Oak & Co",
        "commitment-reference": "PO-77",
        "commitment-document_date": TODAY.isoformat(),
        **changes,
    }


def _spend_data(amount: str, **changes: str) -> dict[str, str]:
    return {
        "form": "spend",
        "spend-amount": amount,
        "spend-supplier": "Oak & Co",
        "spend-reference": "INV-5",
        "spend-document_date": TODAY.isoformat(),
        "spend-description": "Saplings",
        **changes,
    }


def _release_data(amount: str) -> dict[str, str]:
    return {"form": "release", "release-amount": amount, "release-reason": "Not needed"}


@pytest.mark.parametrize(("amount", "message"), BAD_AMOUNTS)
@pytest.mark.parametrize("data", [_commitment_data, _spend_data, _release_data])
def test_every_bad_amount_on_the_officer_page_gets_a_message(parks, officer, data, amount, message):
    _round, proposals = parks
    before = ledger_state()
    response = client_for(officer).post(
        reverse("ledgers:officer_proposal", args=[proposals["Trees"].pk]), data(amount)
    )
    assert response.status_code == 200
    assert message in response.text and "There is a problem" in response.text
    assert ledger_state() == before


@pytest.mark.parametrize(("amount", "message"), BAD_AMOUNTS[:-1])
def test_every_bad_amount_at_the_service_is_a_validation_error(parks, officer, amount, message):
    _round, proposals = parks
    before = ledger_state()
    with pytest.raises(ValidationError, match=message):
        commit(officer, proposals["Trees"], amount)
    assert ledger_state() == before


def test_a_polish_amount_is_read_with_a_decimal_comma(db):
    data = {
        "amount": "1250,50",
        "supplier": "Zieleń Sp. z o.o.",
        "reference": "ZAM-1",
        "document_date": TODAY.isoformat(),
    }
    with translation.override("pl"):
        form = CommitmentForm(data)
        assert form.is_valid(), form.errors
    assert form.cleaned_data["amount"] == Decimal("1250.50")


# --- 4. Dates: nothing paid in the future, nothing implausible --------------------------------


def test_a_payment_dated_in_the_future_is_refused(parks, officer):
    _round, proposals = parks
    before = ledger_state()
    with pytest.raises(ValidationError, match="cannot be in the future"):
        spend(officer, proposals["Trees"], document_date=TODAY + timedelta(days=1))
    response = client_for(officer).post(
        reverse("ledgers:officer_proposal", args=[proposals["Trees"].pk]),
        _spend_data("40.00", **{"spend-document_date": (TODAY + timedelta(days=1)).isoformat()}),
    )
    assert response.status_code == 200 and "cannot be in the future" in response.text
    assert ledger_state() == before
    assert proposal_balance(proposal=proposals["Trees"]).spent == 0


def test_a_document_from_long_before_the_round_is_refused(parks, officer):
    budget_round, proposals = parks
    long_ago = budget_round.submission_starts.date() - timedelta(days=365 * 11)
    before = ledger_state()
    with pytest.raises(ValidationError, match="on or after"):
        commit(officer, proposals["Trees"], document_date=long_ago)
    with pytest.raises(ValidationError, match="on or after"):
        delivery_update_record(
            officer=officer, proposal=proposals["Trees"], status=DeliveryStatus.IN_PROGRESS,
            note="Started", happened_on=long_ago, today=TODAY, now=timezone.now(),
        )  # fmt: skip
    assert ledger_state() == before


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_absurd_dates_on_the_pages_get_a_message(parks, officer, auditor, day):
    _round, proposals = parks
    url = reverse("ledgers:officer_proposal", args=[proposals["Trees"].pk])
    client = client_for(officer)
    before = ledger_state()
    for data in (
        _commitment_data("10.00", **{"commitment-document_date": day}),
        _spend_data("10.00", **{"spend-document_date": day}),
        {"form": "delivery", "delivery-status": "delivered", "delivery-note": "Done",
         "delivery-happened_on": day},
    ):  # fmt: skip
        response = client.post(url, data)
        assert response.status_code == 200 and "Check the year" in response.text
    assert ledger_state() == before

    page = client_for(auditor).get(reverse("ledgers:audit_entries"), {"recorded_from": day})
    assert page.status_code == 200 and "Check the year" in page.text
    export = client_for(auditor).get(
        reverse("ledgers:audit_export", args=["csv"]), {"recorded_to": day}
    )
    assert export.status_code == 400 and not LedgerExport.objects.exists()


# --- 5. Commitments beyond the allocation ---------------------------------------------------


def test_a_commitment_beyond_the_allocation_needs_a_reason(parks, officer):
    _round, proposals = parks
    trees = proposals["Trees"]  # 2,000 allocated
    commit(officer, trees, "1500.00")
    before = ledger_state()

    with pytest.raises(ValidationError, match=r"over the £2,000\.00 allocated") as refusal:
        commit(officer, trees, "600.00")
    assert "reason" in refusal.value.message_dict
    response = client_for(officer).post(
        reverse("ledgers:officer_proposal", args=[trees.pk]), _commitment_data("600.00")
    )
    assert response.status_code == 200 and "Say why committing more is justified" in (response.text)
    assert ledger_state() == before


def test_a_commitment_beyond_the_allocation_with_a_reason_is_recorded_and_flagged(
    parks, officer, auditor, client
):
    budget_round, proposals = parks
    trees = proposals["Trees"]
    commit(officer, trees, "2600.00", reason="Extra drainage found in the survey.")

    balance = proposal_balance(proposal=trees)
    assert balance.overcommitted and not balance.overspent
    assert balance.uncommitted == Decimal("-600.00") and balance.remaining == Decimal("2000.00")
    flag = "Committed beyond allocation"
    assert flag in client.get(reverse("ledgers:round_money", args=[budget_round.slug])).text
    assert "Committed beyond the allocation:" in client.get(trees.get_absolute_url()).text
    officer_client = client_for(officer)
    assert (
        flag in officer_client.get(reverse("ledgers:officer_round", args=[budget_round.slug])).text
    )
    assert (
        "Committed beyond the allocation:"
        in officer_client.get(reverse("ledgers:officer_proposal", args=[trees.pk])).text
    )
    assert flag in client_for(auditor).get(reverse("ledgers:audit_entries")).text
    # Benches, within its allocation, is not flagged anywhere.
    assert (
        "Committed beyond the allocation:"
        not in client.get(proposals["Benches"].get_absolute_url()).text
    )


def test_remaining_says_what_it_subtracts(parks, client):
    budget_round, proposals = parks
    page = client.get(reverse("ledgers:round_money", args=[budget_round.slug])).text
    assert "Remaining (allocated − spent)" in page
    detail = client.get(proposals["Trees"].get_absolute_url()).text
    assert "Remaining (allocated − spent)" in detail
    assert "Uncommitted (allocated − committed)" in detail


# --- 6. Text ---------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["Green\x00Co", "Green\u202eoC", "Green\x85Co"])
def test_control_and_direction_characters_are_refused(parks, officer, bad):
    _round, proposals = parks
    before = ledger_state()
    with pytest.raises(ValidationError, match="invisible control"):
        commit(officer, proposals["Trees"], supplier=bad)
    response = client_for(officer).post(
        reverse("ledgers:officer_proposal", args=[proposals["Trees"].pk]),
        _commitment_data("10.00", **{"commitment-supplier": bad}),
    )
    # (Django's own check words a NUL differently: "Null characters are not allowed.")
    assert response.status_code == 200 and "There is a problem" in response.text
    assert ledger_state() == before


def test_texts_are_trimmed_and_their_limit_stated(parks, officer):
    _round, proposals = parks
    entry = commit(officer, proposals["Trees"], supplier="  Green Co  ")
    assert entry.supplier == "Green Co"
    with pytest.raises(ValidationError, match="Keep it to 200 characters"):
        commit(officer, proposals["Trees"], supplier="x" * 201)


# --- 7. A form sent twice records once ------------------------------------------------------


DELIVERY_DATA = {
    "form": "delivery",
    "delivery-status": "in_progress",
    "delivery-note": "Started",
    "delivery-happened_on": TODAY.isoformat(),
}


@pytest.mark.parametrize(
    "data",
    [_commitment_data("100.00"), _spend_data("40.00"), _release_data("10.00"), DELIVERY_DATA],
    ids=["commitment", "spend", "release", "delivery"],
)
def test_a_ledger_form_sent_twice_records_once(parks, officer, data):
    _round, proposals = parks
    url = reverse("ledgers:officer_proposal", args=[proposals["Trees"].pk])
    client = client_for(officer)
    page = client.get(url).text
    assert page.count('name="submission_token"') == 5  # one per form (with the milestone's)
    before = ledger_state()
    data = {**data, "submission_token": "5b0e7c1e-2a51-4a5e-9c43-3f3b8f1a2d10"}

    first = client.post(url, data)
    second = client.post(url, data)

    assert first.status_code == second.status_code == 302
    assert second.url == first.url == url
    entries, updates = ledger_state()
    assert entries + updates == sum(before) + 1
    assert SubmissionToken.objects.count() == 1
    assert "already saved" in client.get(url).text
    assert chain_verifies()


def test_a_reversal_sent_twice_records_once(parks, officer):
    _round, proposals = parks
    payment = spend(officer, proposals["Trees"])
    url = reverse("ledgers:officer_reverse", args=[payment.pk])
    client = client_for(officer)
    assert 'name="submission_token"' in client.get(url).text
    data = {"reason": "Wrong invoice", "submission_token": "0d7b2a8e-8c1f-4a44-9a4e-6b2d8f0c1e55"}

    first = client.post(url, data)
    second = client.post(url, data)

    assert first.status_code == second.status_code == 302
    assert second.url == first.url
    assert LedgerEntry.objects.filter(kind=EntryKind.REVERSAL).count() == 1
    assert chain_verifies()


# --- Pages show the policy's reason ---------------------------------------------------------


def test_the_reverse_page_of_an_allocation_says_why_and_refuses_a_forged_post(parks, officer):
    _round, proposals = parks
    allocation = LedgerEntry.objects.get(proposal=proposals["Trees"], kind=EntryKind.ALLOCATION)
    url = reverse("ledgers:officer_reverse", args=[allocation.pk])
    client = client_for(officer)
    page = client.get(url)
    assert page.status_code == 200
    assert "release unused money instead" in page.text and "Record the reversal" not in page.text
    before = ledger_state()
    forged = client.post(url, {"reason": "Try anyway"})
    assert forged.status_code == 403 and "release unused money instead" in forged.text
    assert ledger_state() == before


def test_an_unfunded_proposal_shows_why_instead_of_forms_and_refuses_a_forged_post(parks, officer):
    _round, proposals = parks
    url = reverse("ledgers:officer_proposal", args=[proposals["Lights"].pk])
    page = client_for(officer).get(url)
    assert page.status_code == 200
    assert "was not funded" in page.text and "Record a payment" not in page.text
    before = ledger_state()
    forged = client_for(officer).post(url, _spend_data("40.00"))
    assert forged.status_code == 403 and "was not funded" in forged.text
    assert ledger_state() == before


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_auditor_page_makes_the_same_queries_whatever_the_number_of_entries(
    parks, officer, auditor
):
    _round, proposals = parks
    client = client_for(auditor)
    url = reverse("ledgers:audit_entries")
    few = _queries(client, url)
    for _ in range(10):
        commit(officer, proposals["Trees"], "10.00")
        spend(officer, proposals["Benches"], "10.00")
    assert _queries(client, url) == few
