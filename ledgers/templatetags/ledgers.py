"""Ledger figures inside other apps' pages, without those apps importing ledgers."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

from ledgers import permissions, policies, selectors
from ledgers.models import DeliveryFollower
from ledgers.services import proposal_balance
from pb_platform.policies import Decision, deny

register = template.Library()


@register.inclusion_tag("ledgers/includes/proposal_money.html", takes_context=True)
def proposal_money(context: dict[str, Any], proposal: Any) -> dict[str, Any]:
    """Money and delivery of a funded proposal (nothing for others): four queries."""
    balance = proposal_balance(proposal=proposal)
    funded = balance.allocated != 0 or balance.committed != 0 or balance.spent != 0
    user = context.get("user")
    can_record = (
        policies.can_record_entries(user, proposal, now=timezone.now(), funded=funded)
        if user is not None and funded
        else deny("")
    )
    updates = list(selectors.delivery_updates(proposal=proposal)) if funded else []
    plan = selectors.milestones(proposal=proposal) if funded else []
    today = timezone.localdate()
    timeline = selectors.delivery_timeline(milestones=plan, updates=updates, today=today)
    following = (
        funded
        and user is not None
        and user.is_authenticated
        and DeliveryFollower.objects.filter(proposal=proposal, user=user).exists()
    )
    assessment = _assessment_context(proposal, user, updates) if funded else {}
    return {
        **assessment,
        "user": user,
        "following": following,
        "follow_decision": policies.can_follow_delivery(
            user, proposal, now=timezone.now(), funded=funded
        )
        if user is not None and funded and not following
        else deny(""),
        "funded": funded,
        "balance": balance,
        "timeline": timeline,
        "late_count": sum(1 for item in timeline if item.late),
        "proposal": proposal,
        "currency": proposal.budget_round.currency,
        "updates": updates,
        "can_record": can_record,
    }


def _assessment_context(proposal: Any, user: Any, updates: list[Any]) -> dict[str, Any]:
    """Results, what people said and whether this person may assess (seven queries)."""
    state = selectors.assessment_state(proposal=proposal, user=user, updates=updates)
    criteria = selectors.assessment_criteria(budget_round=proposal.budget_round)
    listed = selectors.proposal_assessments(proposal=proposal)
    for assessment in listed:
        assessment.flag_decision = (  # type: ignore[attr-defined]
            policies.can_flag_assessment(user, assessment) if user is not None else deny("")
        )
    return {
        "assessment_state": state,
        "assessment_result": selectors.assessment_results(
            proposal_ids=[proposal.pk], criteria=criteria
        )[proposal.pk],
        "assessments": listed,
        "assess_decision": state.assess_decision(user, proposal, today=timezone.localdate())
        if user is not None
        else deny(""),
    }


# For other apps' templates (links to the ledger pages): the role alone.
for _name in ("can_record_ledger_entries", "can_audit_ledger"):
    register.filter(_name, getattr(permissions, _name))


@register.simple_tag(takes_context=True)
def round_money_public(context: template.Context, budget_round: Any) -> Decision:
    return policies.round_money_public(budget_round, now=timezone.now())


@register.simple_tag(takes_context=True)
def can_open_round_ledger(context: template.Context, budget_round: Any) -> Decision:
    return policies.can_open_round_ledger(context.get("user"), budget_round, now=timezone.now())


@register.simple_tag(takes_context=True)
def can_read_assessment_report(context: template.Context) -> Decision:
    return policies.can_read_assessment_report(context.get("user"))
