"""The ledger through its pages: residents see where the money went, officers record
entries and corrections, nobody else can write, and pages cost a constant number of
queries."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from ledgers.models import EntryKind, LedgerEntry
from ledgers.services import allocations_for_published_results, spend_record
from tests.conftest import client_for
from tests.ledgers.conftest import published_round


def pay(officer, proposal, amount, reason=""):
    return spend_record(
        officer=officer,
        proposal=proposal,
        amount=amount,
        supplier="Oak & Co",
        reference="INV-1",
        document_date=timezone.localdate(),
        description="Saplings",
        reason=reason,
        now=timezone.now(),
    )


def test_residents_see_where_the_money_went(parks, officer, client):
    budget_round, proposals = parks
    pay(officer, proposals["Trees"], "500.00")
    pay(officer, proposals["Benches"], "1200.00", reason="Vandalised twice; replaced")

    page = client.get(reverse("ledgers:round_money", args=[budget_round.slug]))

    assert page.status_code == 200
    text = page.text
    assert "Trees" in text and "Benches" in text and "Lights" not in text
    assert "£3,000.00" in text  # allocated in total
    assert "£1,700.00" in text  # spent in total
    assert text.lower().count("over budget") == 2  # flagged in the chart and the table
    detail = client.get(proposals["Benches"].get_absolute_url()).text
    assert "Money and delivery" in detail and "Over budget:" in detail and "£1,200.00" in detail
    # A proposal that lost shows no money section.
    assert "Money and delivery" not in client.get(proposals["Lights"].get_absolute_url()).text


def test_an_officer_records_a_commitment_and_a_payment_and_reverses_a_mistake(parks, officer):
    _round, proposals = parks
    trees = proposals["Trees"]
    client = client_for(officer)
    url = reverse("ledgers:officer_proposal", args=[trees.pk])
    today = timezone.localdate().isoformat()

    response = client.post(
        url,
        {
            "form": "commitment",
            "commitment-amount": "1800.00",
            "commitment-supplier": "Oak & Co",
            "commitment-reference": "PO-77",
            "commitment-document_date": today,
        },
        follow=True,
    )
    assert "The commitment was recorded." in response.text
    response = client.post(
        url,
        {
            "form": "spend",
            "spend-amount": "180.00",
            "spend-supplier": "Oak & Co",
            "spend-reference": "INV-5",
            "spend-document_date": today,
            "spend-description": "First delivery of saplings",
        },
        follow=True,
    )
    assert "The payment was recorded." in response.text
    payment = LedgerEntry.objects.get(kind=EntryKind.SPEND)

    reverse_url = reverse("ledgers:officer_reverse", args=[payment.pk])
    response = client.post(reverse_url, {"reason": "Invoice was for Benches"}, follow=True)
    assert f"Entry {payment.sequence} was reversed" in response.text
    assert LedgerEntry.objects.filter(kind=EntryKind.REVERSAL, reverses=payment).count() == 1
    assert "Reversed" in client.get(url).text


@pytest.mark.parametrize(
    ("amount", "message"),
    [("0", "more than zero"), ("-3", "more than zero"), ("1.234", "two decimal places")],
)
def test_a_bad_amount_on_the_page_gets_a_message_and_changes_nothing(
    parks, officer, amount, message
):
    _round, proposals = parks
    before = LedgerEntry.objects.count()
    response = client_for(officer).post(
        reverse("ledgers:officer_proposal", args=[proposals["Trees"].pk]),
        {
            "form": "commitment",
            "commitment-amount": amount,
            "commitment-supplier": "Oak & Co",
            "commitment-reference": "PO-77",
            "commitment-document_date": timezone.localdate().isoformat(),
        },
    )
    assert response.status_code == 200
    assert message in response.text and "There is a problem" in response.text
    assert LedgerEntry.objects.count() == before


@pytest.mark.parametrize("persona", ["resident_a", "auditor"])
def test_residents_and_auditors_cannot_write(parks, persona, request):
    _round, proposals = parks
    client = client_for(request.getfixturevalue(persona))
    before = LedgerEntry.objects.count()
    url = reverse("ledgers:officer_proposal", args=[proposals["Trees"].pk])
    assert client.get(url).status_code == 403
    response = client.post(
        url,
        {
            "form": "release",
            "release-amount": "10.00",
            "release-reason": "not needed",
        },
    )
    assert response.status_code == 403
    entry = LedgerEntry.objects.filter(proposal=proposals["Trees"]).first()
    reverse_url = reverse("ledgers:officer_reverse", args=[entry.pk])
    assert client.post(reverse_url, {"reason": "x"}).status_code == 403
    assert LedgerEntry.objects.count() == before


def test_visitors_are_sent_to_sign_in(parks, client):
    _round, proposals = parks
    response = client.get(reverse("ledgers:officer_proposal", args=[proposals["Trees"].pk]))
    assert response.status_code == 302 and "/accounts/login/" in response.url


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_ledger_pages_make_the_same_queries_whatever_the_number_of_entries(parks, officer, area_b):
    budget_round, proposals = parks
    client = client_for(officer)
    urls = [
        reverse("ledgers:round_money", args=[budget_round.slug]),
        reverse("ledgers:officer_round", args=[budget_round.slug]),
        reverse("ledgers:officer_proposal", args=[proposals["Trees"].pk]),
        proposals["Trees"].get_absolute_url(),
    ]
    few = [_queries(client, url) for url in urls]
    for _ in range(30):
        pay(officer, proposals["Trees"], "10.00")
        pay(officer, proposals["Benches"], "10.00")
    assert [_queries(client, url) for url in urls] == few
    assert proposals["Trees"].ledger_entries.count() > 30
    assert Decimal(0) < LedgerEntry.objects.filter(kind=EntryKind.SPEND).count()


def test_allocations_wait_for_publication(db, area_a):
    published_round(area=area_a, allocate=False)
    assert not LedgerEntry.objects.exists()
    assert allocations_for_published_results(now=timezone.now()) == 2


def test_the_admin_shows_entries_but_refuses_to_change_or_delete_them(parks, admin_client):
    entry = LedgerEntry.objects.first()
    change_url = reverse("admin:ledgers_ledgerentry_change", args=[entry.pk])
    delete_url = reverse("admin:ledgers_ledgerentry_delete", args=[entry.pk])

    assert admin_client.get(reverse("admin:ledgers_ledgerentry_changelist")).status_code == 200
    page = admin_client.get(change_url)
    assert page.status_code == 200 and 'name="_save"' not in page.text  # view only
    assert admin_client.post(change_url, {"amount": "1.00"}).status_code == 403
    assert admin_client.post(delete_url, {"post": "yes"}).status_code == 403
    assert admin_client.get(reverse("admin:ledgers_ledgerentry_add")).status_code == 403
    entry.refresh_from_db()
    assert entry.amount == Decimal("2000.00")
