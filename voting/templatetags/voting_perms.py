"""Template filters and tags over ``voting.permissions`` and ``voting.policies``, so
pages show the policies' answers and never decide by themselves.

The tags return a ``Decision`` (true when allowed, with ``reason`` when not), e.g.
``{% round_voting_open round as vote %}{% if vote %}…{% endif %}``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import template
from django.utils import timezone

from pb_platform.policies import Decision
from proposals.models import BudgetRound
from voting import permissions, policies

register = template.Library()

for _name in ("can_vote_online", "can_record_paper_ballots", "can_view_turnout"):
    register.filter(_name, getattr(permissions, _name))


def _now(context: template.Context) -> datetime:
    now = context.get("now")
    return now if isinstance(now, datetime) else timezone.now()


@register.simple_tag(takes_context=True)
def round_voting_open(context: template.Context, budget_round: BudgetRound) -> Decision:
    return policies.round_voting_open(budget_round, now=_now(context))


@register.simple_tag(takes_context=True)
def round_results_due(context: template.Context, budget_round: BudgetRound) -> Decision:
    return policies.round_results_due(budget_round, now=_now(context))


@register.simple_tag(takes_context=True)
def can_record_paper_ballots_in(context: template.Context, budget_round: BudgetRound) -> Decision:
    user: Any = context.get("user")
    return policies.can_record_paper_ballots_in(user, budget_round, now=_now(context))


@register.simple_tag(takes_context=True)
def can_view_round_turnout(context: template.Context, budget_round: BudgetRound) -> Decision:
    user: Any = context.get("user")
    return policies.can_view_round_turnout(user, budget_round, now=_now(context))
