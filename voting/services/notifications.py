"""Telling voters who asked that their area's result is published (item by item, after
publication, so a failure here never delays or undoes a result)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext as _

from pb_platform.outbox import RESULTS_PUBLISHED, email_enqueue
from pb_platform.users import User
from voting.models import AreaResult
from voting.services.results import published_results_where

# The notify job's items in ``pb_platform.jobs``: one per published area result.
NOTIFY_JOB = "voting.notify_published_results"


def results_to_notify() -> list[AreaResult]:
    """Published results whose voters have not been told yet, oldest first."""
    return published_results_where(Q(voters_notified_at__isnull=True))


def result_notify_job_label(result: AreaResult) -> str:
    round_area = result.round_area
    return _("Telling voters of %(area)s in %(round)s") % {
        "area": round_area.area.name,
        "round": round_area.budget_round.name,
    }


def result_voters_notify(*, result_id: int, now: datetime) -> int:
    """Queue the "results published" email for every voter of the area who asked for it;
    returns how many were queued.

    Claimed with a conditional update (``voters_notified_at`` empty -> now) in the same
    transaction as the emails it queues: a second run, concurrent or later, queues
    nothing, and a run that fails midway queues nothing and leaves the claim for the
    next. Only voters with the kind turned on are read (it is opt-in), so a large area
    where few asked costs little.
    """
    with transaction.atomic():
        claimed = AreaResult.objects.filter(
            pk=result_id, published_at__isnull=False, voters_notified_at__isnull=True
        ).update(voters_notified_at=now)
        if not claimed:
            return 0
        round_area_id = AreaResult.objects.values_list("round_area_id", flat=True).get(pk=result_id)
        asked = (
            User.objects.filter(
                ballots__round_area_id=round_area_id,
                is_active=True,
                email_preferences__kind=RESULTS_PUBLISHED.name,
                email_preferences__enabled=True,
            )
            .distinct()
            .order_by("pk")
        )
        queued = 0
        for voter in asked:
            item = email_enqueue(
                kind=RESULTS_PUBLISHED, recipient=voter, params={"result_id": result_id}, now=now
            )
            queued += item is not None
    return queued


def results_published_context(params: dict[str, Any]) -> dict[str, Any] | None:
    """The email's context, loaded at send time; None if the result is gone. It names
    the round and area and links to the results: never anyone's choices."""
    result = (
        AreaResult.objects.select_related("round_area__area", "round_area__budget_round")
        .filter(pk=int(params["result_id"]), published_at__isnull=False)
        .first()
    )
    if result is None:
        return None
    round_area = result.round_area
    budget_round = round_area.budget_round
    return {
        "budget_round": budget_round,
        "area": round_area.area,
        "result": result,
        "url": settings.SITE_URL
        + reverse(
            "voting:area_results",
            kwargs={"slug": budget_round.slug, "area_slug": round_area.area.slug},
        ),
    }
