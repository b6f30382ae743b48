"""Receipt emails, through the platform's outbox ("ballot_receipt").

The email holds the receipt code and the area, never the choices: mailboxes are not
as private as a ballot should be. Neither does the outbox item: it stores the ballot's
id and whether this save was a change or a paper ballot, and the code is read from the
ballot when the email is rendered.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.urls import reverse

from pb_platform.models import OutboxEmail
from pb_platform.outbox import BALLOT_RECEIPT, email_enqueue
from voting.models import Ballot, BallotChannel


def receipt_enqueue(ballot: Ballot, *, now: datetime) -> OutboxEmail | None:
    """Queue the receipt for the ballot just saved (in its transaction). Walk-in voters
    have no address: nothing is queued and the officer hands over the receipt."""
    if ballot.voter is None:
        return None
    return email_enqueue(
        kind=BALLOT_RECEIPT,
        recipient=ballot.voter,
        params={
            "ballot_id": ballot.pk,
            "changed": ballot.changed_at != ballot.cast_at,
            "paper": ballot.channel == BallotChannel.PAPER,
        },
        now=now,
    )


def receipt_context(params: dict[str, Any]) -> dict[str, Any] | None:
    """The email's context, loaded at send time; None if the ballot is gone."""
    ballot = (
        Ballot.objects.select_related(
            "voter__resident_profile", "round_area__area", "round_area__budget_round"
        )
        .filter(pk=int(params["ballot_id"]))
        .first()
    )
    if ballot is None:
        return None
    return {
        "ballot": ballot,
        "budget_round": ballot.round_area.budget_round,
        "area": ballot.round_area.area,
        "changed": bool(params.get("changed")),
        "paper": bool(params.get("paper")),
        "url": settings.SITE_URL + reverse("voting:my_ballots"),
    }
