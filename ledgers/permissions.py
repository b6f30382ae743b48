"""Who may do what in the ledgers app. Views and templates both ask here."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

User = AbstractBaseUser | AnonymousUser


def can_record_ledger_entries(user: User) -> bool:
    """Officers: commitments, spend, releases, reversals and delivery progress."""
    return user.is_authenticated and user.has_perm("ledgers.record_ledger_entry")


def can_audit_ledger(user: User) -> bool:
    """Auditors: every entry with who recorded it, and the exports."""
    return user.is_authenticated and user.has_perm("ledgers.audit_ledger")
