"""Which role may do what in the ledgers app. ``ledgers.policies`` builds on these with
the state of the proposal or entry; views and templates ask the policies."""

from __future__ import annotations

from pb_platform.users import AnyUser


def can_record_ledger_entries(user: AnyUser) -> bool:
    """Officers: commitments, spend, releases and reversals."""
    return user.is_authenticated and user.has_perm("ledgers.record_ledger_entry")


def can_record_delivery_updates(user: AnyUser) -> bool:
    """Officers: public progress notes on funded proposals."""
    return user.is_authenticated and user.has_perm("ledgers.record_delivery_update")


def can_audit_ledger(user: AnyUser) -> bool:
    """Auditors: every entry with who recorded it, and the exports."""
    return user.is_authenticated and user.has_perm("ledgers.audit_ledger")
