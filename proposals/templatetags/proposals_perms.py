"""Template filters over ``proposals.permissions``, so templates and views agree."""

from django import template

from proposals import permissions

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
    "should_offer_submission",
    "can_moderate_comments",
):
    register.filter(_name, getattr(permissions, _name))
