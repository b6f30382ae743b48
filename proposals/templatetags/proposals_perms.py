"""Template filters over ``proposals.permissions`` and tags over ``proposals.policies``,
so templates and views agree."""

from __future__ import annotations

from django import template
from django.utils import timezone

from pb_platform.policies import Decision
from proposals import permissions, policies
from proposals.models import BudgetRound

register = template.Library()

for _name in (
    "can_manage_rounds",
    "can_manage_areas",
    "can_view_residents",
    "can_change_resident_area",
    "can_audit_rounds",
    "can_use_officer_pages",
    "can_manage_categories",
    "can_review_proposals",
    "can_moderate_comments",
    "can_manage_register",
    "can_view_register_log",
):
    register.filter(_name, getattr(permissions, _name))


@register.simple_tag(takes_context=True)
def submission_offer(context: template.Context, budget_round: BudgetRound) -> Decision | None:
    """ "Suggest an idea", or why not (None for staff accounts): ``proposals.policies``."""
    return policies.submission_offer(context.get("user"), budget_round, now=timezone.now())
