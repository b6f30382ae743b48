"""The ledger's rules: allocation once on publication, officers' entries, balances,
corrections by reversal only, and the hash chain that shows any tampering."""

from __future__ import annotations

import io
from datetime import date, timedelta
from decimal import Decimal
from itertools import pairwise

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from ledgers import chain
from ledgers.models import DeliveryStatus, EntryKind, ImmutableEntryError, LedgerEntry
from ledgers.selectors import area_balances, funded_proposals, round_balance
from ledgers.services import (
    allocations_for_published_results,
    commitment_record,
    delivery_update_record,
    proposal_balance,
    release_record,
    reversal_record,
    spend_record,
)
from ledgers.tasks import allocate_published_results
from pb_platform.policies import PolicyDenied
from tests.ledgers.conftest import published_round

TODAY = date(2026, 11, 2)


def commit(officer, proposal, amount="1500.00"):
    return commitment_record(
        officer=officer,
        proposal=proposal,
        amount=amount,
        supplier="Green Co",
        reference="PO-17",
        document_date=TODAY,
        now=timezone.now(),
    )


def spend(officer, proposal, amount="1200.00", reason=""):
    return spend_record(
        officer=officer,
        proposal=proposal,
        amount=amount,
        supplier="Green Co",
        reference="INV-9",
        document_date=TODAY,
        description="Twelve oak saplings, planted",
        reason=reason,
        now=timezone.now(),
    )


def verify(*args) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("verify_ledger", *args, stdout=out, stderr=err)
    except SystemExit as exit_:
        return exit_.code, err.getvalue()
    return 0, out.getvalue()


def test_publication_allocates_each_winner_its_official_cost_once(parks):
    budget_round, _proposals = parks
    allocations = LedgerEntry.objects.filter(kind=EntryKind.ALLOCATION)
    assert {(e.proposal.title, e.amount) for e in allocations} == {
        ("Trees", Decimal("2000.00")),
        ("Benches", Decimal("1000.00")),
    }
    # Running the job again, or the beat task, allocates nothing more.
    assert allocations_for_published_results(now=timezone.now()) == 0
    assert allocate_published_results.apply().get() == 0
    assert allocations.count() == 2
    # And the database refuses a second allocation outright.
    first = allocations.first()
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.create(
            budget_round=budget_round,
            sequence=99,
            proposal=first.proposal,
            kind=EntryKind.ALLOCATION,
            amount=first.amount,
            currency="GBP",
            allocated_delta=first.amount,
            committed_delta=0,
            spent_delta=0,
            recorded_at=timezone.now(),
            previous_hash=first.entry_hash,
            entry_hash="f" * 64,
        )


def test_balances_follow_commitments_spend_and_releases(parks, officer):
    budget_round, proposals = parks
    trees = proposals["Trees"]
    commit(officer, trees, "1500.00")
    spend(officer, trees, "1200.00")
    release_record(
        officer=officer, proposal=trees, amount="300.00", reason="Fewer trees needed",
        now=timezone.now(),
    )  # fmt: skip

    balance = proposal_balance(proposal=trees)
    assert (balance.allocated, balance.committed, balance.spent, balance.remaining) == (
        Decimal("1700.00"), Decimal("1500.00"), Decimal("1200.00"), Decimal("500.00"),
    )  # fmt: skip
    rows = {p.title: p for p in funded_proposals(budget_round=budget_round)}
    assert set(rows) == {"Trees", "Benches"}
    assert (rows["Trees"].allocated, rows["Trees"].spent, rows["Trees"].remaining) == (
        Decimal("1700.00"), Decimal("1200.00"), Decimal("500.00"),
    )  # fmt: skip
    (area,) = area_balances(budget_round=budget_round)
    assert (area.allocated, area.committed, area.spent) == (
        Decimal("2700.00"), Decimal("1500.00"), Decimal("1200.00"),
    )  # fmt: skip
    assert round_balance(budget_round=budget_round)["remaining"] == Decimal("1500.00")


def test_spending_beyond_the_allocation_needs_a_reason_and_is_flagged(parks, officer):
    _round, proposals = parks
    benches = proposals["Benches"]
    with pytest.raises(ValidationError, match=r"over the £1,000\.00 allocated"):
        spend(officer, benches, "1000.01")
    assert not LedgerEntry.objects.filter(kind=EntryKind.SPEND).exists()

    spend(officer, benches, "1000.01", reason="Steel prices rose; agreed by the cabinet member")
    assert proposal_balance(proposal=benches).overspent


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("0", "more than zero"),
        ("-5.00", "more than zero"),
        ("10.001", "at most two decimal places"),
        ("ten pounds", "in figures"),
        ("NaN", "in figures"),
    ],
)
def test_bad_amounts_are_refused_and_nothing_is_written(parks, officer, amount, message):
    _round, proposals = parks
    before = LedgerEntry.objects.count()
    with pytest.raises(ValidationError, match=message):
        commit(officer, proposals["Trees"], amount)
    assert LedgerEntry.objects.count() == before


def test_nothing_can_be_recorded_against_a_proposal_that_did_not_win(parks, officer):
    _round, proposals = parks
    with pytest.raises(PolicyDenied, match="was not funded"):
        spend(officer, proposals["Lights"])
    with pytest.raises(PolicyDenied, match="was not funded"):
        commit(officer, proposals["Lights"])
    assert not LedgerEntry.objects.filter(proposal=proposals["Lights"]).exists()


def test_a_mistake_is_corrected_by_a_reversal_that_keeps_the_original(parks, officer):
    _round, proposals = parks
    trees = proposals["Trees"]
    wrong = spend(officer, trees, "1900.00")
    reversal = reversal_record(
        officer=officer, proposal=trees, original=wrong, reason="Typed 1900 for 190",
        now=timezone.now(),
    )  # fmt: skip
    spend(officer, trees, "190.00")

    assert reversal.reverses == wrong and reversal.spent_delta == Decimal("-1900.00")
    assert LedgerEntry.objects.filter(pk=wrong.pk).exists()
    assert proposal_balance(proposal=trees).spent == Decimal("190.00")


def test_reversals_cannot_be_misused(parks, officer):
    _round, proposals = parks
    trees, benches = proposals["Trees"], proposals["Benches"]
    wrong = spend(officer, trees, "100.00")
    reversal = reversal_record(
        officer=officer, proposal=trees, original=wrong, reason="Duplicate", now=timezone.now()
    )
    before = LedgerEntry.objects.count()
    cases = [
        (trees, reversal, PolicyDenied, "A reversal cannot be reversed"),
        (trees, wrong, PolicyDenied, "already been reversed"),
        (benches, spend(officer, trees, "50.00"), ValidationError, "belongs to another proposal"),
        (
            trees,
            LedgerEntry.objects.get(proposal=trees, kind="allocation"),
            PolicyDenied,
            "release unused",
        ),
    ]
    before = LedgerEntry.objects.count()
    for proposal, original, refusal, message in cases:
        with pytest.raises(refusal, match=message):
            reversal_record(
                officer=officer, proposal=proposal, original=original, reason="again",
                now=timezone.now(),
            )  # fmt: skip
    assert LedgerEntry.objects.count() == before
    not_reversed = cases[2][1]
    with pytest.raises(ValidationError, match="Say what was wrong"):
        reversal_record(
            officer=officer, proposal=trees, original=not_reversed, reason=" ", now=timezone.now()
        )


def test_a_release_cannot_exceed_what_is_unspent(parks, officer):
    _round, proposals = parks
    spend(officer, proposals["Benches"], "800.00")
    with pytest.raises(ValidationError, match=r"Only £200\.00 of the allocation is unspent"):
        release_record(
            officer=officer, proposal=proposals["Benches"], amount="200.01", reason="Done",
            now=timezone.now(),
        )  # fmt: skip


def test_entries_cannot_be_changed_or_deleted_through_the_model(parks):
    entry = LedgerEntry.objects.first()
    entry.amount = Decimal("1.00")
    with pytest.raises(ImmutableEntryError):
        entry.save()
    with pytest.raises(ImmutableEntryError):
        entry.delete()


def test_the_database_refuses_update(parks):
    entry = LedgerEntry.objects.first()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        LedgerEntry.objects.filter(pk=entry.pk).update(amount=Decimal("1.00"))
    entry.refresh_from_db()
    assert entry.amount == Decimal("2000.00")


@pytest.mark.postgresql
def test_postgresql_refuses_a_plain_sql_update_and_delete_even_from_a_superuser(parks):
    # CI connects as the postgres superuser: the trigger stops even that role.
    entry = LedgerEntry.objects.first()
    for sql in (
        "UPDATE ledgers_ledgerentry SET amount = 1 WHERE id = %s",
        "DELETE FROM ledgers_ledgerentry WHERE id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [entry.pk])
    entry.refresh_from_db()
    assert entry.amount == Decimal("2000.00")


def test_each_round_has_its_own_chain_and_it_verifies(parks, officer, area_b):
    _round, proposals = parks
    other_round, other = published_round(area=area_b, name="Other")
    commit(officer, proposals["Trees"])
    spend(officer, other["Trees"])

    for budget_round in (_round, other_round):
        entries = list(LedgerEntry.objects.filter(budget_round=budget_round).order_by("sequence"))
        assert [e.sequence for e in entries] == list(range(1, len(entries) + 1))
        assert entries[0].previous_hash == chain.GENESIS_HASH
        for before, after in pairwise(entries):
            assert after.previous_hash == before.entry_hash
    assert verify() == (0, "OK: 6 entries, every hash and link intact.\n")


def _tamper(sql: str, params: list) -> None:
    """Change a row behind the application's back, as someone with database access."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending checks before DDL
            cursor.execute("ALTER TABLE ledgers_ledgerentry DISABLE TRIGGER USER")
            cursor.execute(sql, params)
            cursor.execute("ALTER TABLE ledgers_ledgerentry ENABLE TRIGGER USER")
        else:
            cursor.execute("DROP TRIGGER IF EXISTS ledgers_entry_no_update")
            cursor.execute(sql, params)


def test_verify_ledger_finds_a_tampered_row(parks, officer):
    _round, proposals = parks
    payment = spend(officer, proposals["Trees"], "500.00")
    commit(officer, proposals["Trees"])
    assert verify()[0] == 0

    _tamper("UPDATE ledgers_ledgerentry SET amount = %s, spent_delta = %s WHERE id = %s",
            ["50.00", "50.00", payment.pk])  # fmt: skip

    status, message = verify("--round", str(_round.pk))
    assert status == 1
    assert f"round {_round.pk}, entry {payment.sequence}: entry_hash does not match" in message


def test_verify_ledger_finds_a_rewritten_chain_link(parks, officer):
    _round, proposals = parks
    payment = spend(officer, proposals["Trees"], "500.00")
    _tamper("UPDATE ledgers_ledgerentry SET previous_hash = %s WHERE id = %s",
            ["a" * 64, payment.pk])  # fmt: skip
    status, message = verify()
    assert status == 1 and "previous_hash does not match" in message


def test_delivery_updates_set_the_status_residents_see(parks, officer):
    budget_round, proposals = parks
    delivery_update_record(
        officer=officer, proposal=proposals["Trees"], status=DeliveryStatus.IN_PROGRESS,
        note="Planting started on Mill Lane.", happened_on=TODAY, today=TODAY,
        now=timezone.now(),
    )  # fmt: skip
    rows = {p.title: p.delivery_status for p in funded_proposals(budget_round=budget_round)}
    assert rows == {"Trees": "in_progress", "Benches": None}
    with pytest.raises(ValidationError, match="cannot be in the future"):
        delivery_update_record(
            officer=officer, proposal=proposals["Trees"], status=DeliveryStatus.DELIVERED,
            note="Done", happened_on=TODAY + timedelta(days=1), today=TODAY,
            now=timezone.now(),
        )  # fmt: skip
    with pytest.raises(PolicyDenied, match="was not funded"):
        delivery_update_record(
            officer=officer, proposal=proposals["Lights"], status=DeliveryStatus.DELIVERED,
            note="Done", happened_on=TODAY, today=TODAY, now=timezone.now(),
        )  # fmt: skip
