"""Template tags that show published results on other apps' pages (the proposal page)."""

from __future__ import annotations

from typing import Any

from django import template

from voting.selectors import proposal_outcome

register = template.Library()


@register.inclusion_tag("voting/includes/proposal_outcome.html")
def proposal_outcome_explained(proposal: Any) -> dict[str, Any]:
    """Why the proposal won or lost, once its area's result and explanation are stored
    (nothing before): two queries."""
    return {"proposal": proposal, "outcome": proposal_outcome(proposal=proposal)}


@register.filter
def reason_for(reasons: dict[str, Any], proposal: Any) -> Any:
    """``{% with reason=reasons|reason_for:proposal %}``: the proposal's short reason."""
    return reasons.get(proposal.pabulib_id)
