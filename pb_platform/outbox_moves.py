"""Data migrations that moved the two old outboxes onto ``OutboxEmail``. Kept stable:
migrations import this module, and tests call these functions directly.

The old outboxes had one column each for "claimed" and "sent" (``ProposalEvent.notified_at``,
``Ballot.receipt_emailed_at``). A row with it set was sent (or claimed by a sender that may
have died: the old design could not tell, and re-sending it now could only duplicate), so
it creates no item. A row with it empty was never sent and becomes a pending item.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils import timezone

BATCH = 1000


def _item(OutboxEmail: Any, *, kind: str, template_name: str, user: Any, params: dict, at: Any):
    now = timezone.now()
    return OutboxEmail(
        kind=kind,
        recipient_id=user.pk,
        to_email=user.email,
        template_name=template_name,
        params=params,
        language=settings.LANGUAGE_CODE,
        created_at=at,
        next_try_at=now,
    )


def outbox_items_from_events(apps: Any, schema_editor: Any) -> None:
    """Officers' decisions whose email was never sent become pending outbox items."""
    ProposalEvent = apps.get_model("proposals", "ProposalEvent")
    OutboxEmail = apps.get_model("pb_platform", "OutboxEmail")
    unsent = (
        ProposalEvent.objects.filter(
            notified_at__isnull=True,
            actor_is_officer=True,
            proposal__author__isnull=False,
        )
        .exclude(proposal__author__email="")
        .select_related("proposal__author")
        .order_by("pk")
    )
    OutboxEmail.objects.bulk_create(
        (
            _item(
                OutboxEmail,
                kind="proposal_decision",
                template_name="proposals/email/status_changed",
                user=event.proposal.author,
                params={"event_id": event.pk},
                at=event.at,
            )
            for event in unsent.iterator(chunk_size=BATCH)
        ),
        batch_size=BATCH,
    )


def outbox_items_from_ballots(apps: Any, schema_editor: Any) -> None:
    """Receipts never sent become pending outbox items; walk-in voters (no address) and
    imported ballots (no voter) have nobody to email."""
    Ballot = apps.get_model("voting", "Ballot")
    OutboxEmail = apps.get_model("pb_platform", "OutboxEmail")
    unsent = (
        Ballot.objects.filter(receipt_emailed_at__isnull=True, voter__isnull=False)
        .exclude(voter__email="")
        .select_related("voter")
        .order_by("pk")
    )
    OutboxEmail.objects.bulk_create(
        (
            _item(
                OutboxEmail,
                kind="ballot_receipt",
                template_name="voting/email/receipt",
                user=ballot.voter,
                params={
                    "ballot_id": ballot.pk,
                    "changed": ballot.changed_at != ballot.cast_at,
                    "paper": ballot.channel == "paper",
                },
                at=ballot.changed_at,
            )
            for ballot in unsent.iterator(chunk_size=BATCH)
        ),
        batch_size=BATCH,
    )
