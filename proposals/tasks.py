"""Celery adapters for the proposals app: thin, they load by id and call a service."""

import logging

from celery import shared_task
from django.utils import timezone

from proposals.services import rounds_advance_phases
from proposals.services.amendments import amendments_lapse
from proposals.services.codesign import codesign_offers_lapse
from proposals.services.merges import merges_lapse
from proposals.services.residents import resident_area_changes_apply_due

logger = logging.getLogger(__name__)


@shared_task
def advance_round_phases() -> int:
    """Beat task: record each round's move into the phase the clock has reached.

    Phase-end work belongs to the app that owns it (voting closes and counts, ledgers
    allocates); each of those runs its own beat task reading the clock, so nothing
    here needs to know about them.
    """
    now = timezone.now()
    moved = rounds_advance_phases(now=now)
    for round_id, old, new in moved:
        logger.info("round %s moved from %s to %s", round_id, old.value, new.value)
    # Review's own end: co-design offers, suggested changes and merges the authors left
    # unanswered lapse (pages show them lapsed from the clock already; this records it).
    if lapsed := codesign_offers_lapse(now=now):
        logger.info("%s co-design offers lapsed at the end of review", lapsed)
    if lapsed := amendments_lapse(now=now):
        logger.info("%s suggested changes lapsed at the end of review", lapsed)
    if lapsed := merges_lapse(now=now):
        logger.info("%s proposed merges lapsed at the end of review", lapsed)
    return len(moved)


@shared_task
def apply_due_area_moves() -> int:
    """Beat task: residents moved while they could vote take their new home area once
    that voting has closed (idempotent: each move is claimed by a conditional update)."""
    return resident_area_changes_apply_due(now=timezone.now())
