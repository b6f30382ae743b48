"""``{% residents_with_pending_moves profiles as rows %}``: each resident of a list page
with their pending move between areas (or None), in a constant number of queries, so
list pages show "moving to …, and why" without a view having to know about it."""

from __future__ import annotations

from collections.abc import Iterable

from django import template
from django.utils import timezone

from proposals.models import ResidentProfile
from proposals.services.residents import PendingMove, pending_moves_of

register = template.Library()


@register.simple_tag
def residents_with_pending_moves(
    profiles: Iterable[ResidentProfile],
) -> list[tuple[ResidentProfile, PendingMove | None]]:
    profiles = list(profiles)
    moves = pending_moves_of(profiles, now=timezone.now())
    return [(profile, moves.get(profile.pk)) for profile in profiles]
