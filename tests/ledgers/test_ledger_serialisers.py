"""A ledger stays verifiable through every serialiser Django ships (``dumpdata`` /
``loaddata``): new entries are recorded at whole milliseconds, which every serialiser
keeps; an older entry with microseconds is named as such by ``verify_ledger``."""

from __future__ import annotations

import io
from datetime import datetime

import pytest
from django.core import serializers
from django.core.management import call_command

from ledgers import chain
from ledgers.models import LedgerEntry
from ledgers.services import entry_canonical_fields
from tests.ledgers.test_ledger_services import _tamper, commit, spend, verify

# Every serialiser Django ships (YAML's PyYAML is in the dev extra for this test).
FORMATS = ["json", "jsonl", "xml", "python", "yaml"]


def restored(entries: list[LedgerEntry], fmt: str) -> list[LedgerEntry]:
    text = serializers.serialize(fmt, entries)
    if fmt == "python":
        return [obj.object for obj in serializers.deserialize(fmt, text)]
    return [obj.object for obj in serializers.deserialize(fmt, io.StringIO(text))]


def rehash(entry: LedgerEntry) -> str:
    reverses = entry.reverses.sequence if entry.reverses_id else None
    fields = entry_canonical_fields(entry, reverses_sequence=reverses)
    return chain.entry_hash(entry.previous_hash, chain.canonical_json(fields))


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_entry_hashes_the_same_after_a_round_trip(parks, officer, fmt):
    _round, proposals = parks
    commit(officer, proposals["Trees"])
    spend(officer, proposals["Trees"], "500.00")
    entries = list(LedgerEntry.objects.order_by("budget_round", "sequence"))
    assert len(entries) == 4
    assert all(entry.recorded_at.microsecond % 1000 == 0 for entry in entries)

    for entry in restored(entries, fmt):
        assert rehash(entry) == entry.entry_hash


def test_loaddata_of_a_dumpdata_keeps_verify_ledger_ok(parks, officer, tmp_path):
    _round, proposals = parks
    spend(officer, proposals["Trees"], "500.00")
    dump = tmp_path / "ledger.json"
    call_command("dumpdata", "ledgers.LedgerEntry", output=str(dump), verbosity=0)
    _tamper("DELETE FROM ledgers_ledgerentry", [])

    call_command("loaddata", str(dump), verbosity=0)

    assert LedgerEntry.objects.count() == 3
    assert verify() == (0, "OK: 3 entries, every hash and link intact.\n")


def test_an_older_entry_that_lost_its_microseconds_is_named_with_the_cause(parks, officer):
    """Entries recorded before whole milliseconds: their hash covers six digits, which a
    JSON dump cuts to three. verify_ledger says so rather than only "tampered"."""
    _round, proposals = parks
    payment = spend(officer, proposals["Trees"], "500.00")
    # Recorded the old way (microseconds hashed), then cut by a JSON round trip.
    old_time = payment.recorded_at.replace(microsecond=123456)
    payment.recorded_at = old_time
    _tamper(
        "UPDATE ledgers_ledgerentry SET recorded_at = %s, entry_hash = %s WHERE id = %s",
        [old_time, rehash(payment), payment.pk],
    )
    assert verify()[0] == 0  # the old-style entry verifies as stored
    cut: datetime = old_time.replace(microsecond=123000)
    _tamper("UPDATE ledgers_ledgerentry SET recorded_at = %s WHERE id = %s", [cut, payment.pk])

    status, message = verify()
    assert status == 1
    assert "entry_hash does not match its contents" in message
    assert "dumpdata is not a backup" in message
