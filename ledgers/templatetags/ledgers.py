"""Ledger figures inside other apps' pages, without those apps importing ledgers."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

from ledgers import permissions, policies, selectors
from ledgers.services import proposal_balance
from pb_platform.policies import deny

register = template.Library()


@register.inclusion_tag("ledgers/includes/proposal_money.html", takes_context=True)
def proposal_money(context: dict[str, Any], proposal: Any) -> dict[str, Any]:
    """Money and delivery of a funded proposal (nothing for others): two queries."""
    balance = proposal_balance(proposal=proposal)
    funded = balance.allocated != 0 or balance.committed != 0 or balance.spent != 0
    user = context.get("user")
    can_record = (
        policies.can_record_entries(user, proposal, now=timezone.now(), funded=funded)
        if user is not None and funded
        else deny("")
    )
    return {
        "funded": funded,
        "balance": balance,
        "proposal": proposal,
        "currency": proposal.budget_round.currency,
        "updates": list(selectors.delivery_updates(proposal=proposal)) if funded else [],
        "can_record": can_record,
    }


# For other apps' templates (links to the ledger pages): the role alone.
for _name in ("can_record_ledger_entries", "can_audit_ledger"):
    register.filter(_name, getattr(permissions, _name))
