"""Receipt emails, sent through an outbox (``Ballot.receipt_emailed_at``).

The email holds the receipt code and the area, never the choices: mailboxes are not
as private as a ballot should be.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _

from voting.models import Ballot, BallotChannel

# Ballots younger than this are left to the on-commit fast path by the sweep.
SWEEP_GRACE = timedelta(minutes=2)


def receipt_claim(*, ballot_id: int, now: datetime) -> Ballot | None:
    """Claim an unsent receipt so two senders never both send it."""
    claimed = Ballot.objects.filter(pk=ballot_id, receipt_emailed_at__isnull=True).update(
        receipt_emailed_at=now
    )
    if claimed != 1:
        return None
    return Ballot.objects.select_related(
        "voter", "round_area__area", "round_area__budget_round"
    ).get(pk=ballot_id)


def receipt_release(*, ballot_id: int) -> None:
    """Give the receipt back after a failed send, so a retry or the sweep sends it."""
    Ballot.objects.filter(pk=ballot_id).update(receipt_emailed_at=None)


def receipt_email_send(ballot: Ballot) -> None:
    if ballot.voter is None or not ballot.voter.email:
        return
    budget_round = ballot.round_area.budget_round
    context = {
        "ballot": ballot,
        "budget_round": budget_round,
        "area": ballot.round_area.area,
        "changed": ballot.changed_at != ballot.cast_at,
        "paper": ballot.channel == BallotChannel.PAPER,
        "url": settings.SITE_URL + reverse("voting:my_ballots"),
    }
    send_mail(
        subject=_("Your vote in “%(round)s” was saved") % {"round": budget_round.name},
        message=render_to_string("voting/email/receipt.txt", context),
        from_email=None,
        recipient_list=[ballot.voter.email],
    )


def pending_receipt_ids(*, now: datetime) -> list[int]:
    return list(
        Ballot.objects.filter(
            receipt_emailed_at__isnull=True,
            voter__isnull=False,
            changed_at__lte=now - SWEEP_GRACE,
        )
        .exclude(voter__email="")
        .order_by("changed_at")
        .values_list("pk", flat=True)[:500]
    )
