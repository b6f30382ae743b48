"""Co-production before the vote: residents showing support for an idea, and officers
proposing a revised scope or cost that the authors accept or decline."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from pb_platform.money import money_field
from proposals.models.proposals import Proposal


class ProposalSupport(models.Model):
    """A verified resident of the proposal's area supports it. It informs the officers'
    review and readers; it decides nothing. Withdrawing deletes the row."""

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="supports")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="proposal_supports"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["proposal", "user"], name="proposal_support_once")
        ]

    def __str__(self) -> str:
        return f"Support for #{self.proposal_id} by {self.user_id}"


class CoDesignStatus(models.TextChoices):
    PROPOSED = "proposed", _("Waiting for the authors' answer")
    ACCEPTED = "accepted", _("Accepted by the authors")
    DECLINED = "declined", _("Declined by the authors")
    LAPSED = "lapsed", _("Not answered before review ended")
    # An officer took the offer back before the authors answered (a wrong cost, say).
    WITHDRAWN = "withdrawn", _("Withdrawn by the council")


class CoDesignOffer(models.Model):
    """An officer's proposed revision of a proposal under review: a new description
    (the scope), a cost, or both, with the reason. Public, like the review itself."""

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="codesign_offers")
    officer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    # Empty: the description stays as the authors wrote it.
    description = models.TextField(_("revised description"), blank=True)
    # Empty: the cost is not part of the offer.
    cost = money_field(verbose_name=_("revised cost"), null=True, blank=True)
    reason = models.TextField(_("why"))
    status = models.CharField(
        max_length=16, choices=CoDesignStatus.choices, default=CoDesignStatus.PROPOSED
    )
    reply = models.TextField(_("the authors' reply"), blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # When it was accepted, declined or found lapsed; empty while it waits.
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=CoDesignStatus.values), name="codesign_status_known"
            ),
            models.CheckConstraint(
                condition=~Q(description="") | Q(cost__isnull=False),
                name="codesign_revises_something",
            ),
            models.CheckConstraint(
                condition=Q(cost__isnull=True) | Q(cost__gt=0), name="codesign_cost_positive"
            ),
            models.CheckConstraint(
                condition=(Q(status=CoDesignStatus.PROPOSED) & Q(closed_at__isnull=True))
                | (~Q(status=CoDesignStatus.PROPOSED) & Q(closed_at__isnull=False)),
                name="codesign_closed_unless_open",
            ),
            # Only the authors answer; a lapsed offer was answered by nobody.
            models.CheckConstraint(
                condition=Q(answered_by__isnull=True)
                | Q(status__in=[CoDesignStatus.ACCEPTED, CoDesignStatus.DECLINED]),
                name="codesign_answered_by_only_when_answered",
            ),
            # One open offer at a time: the authors answer one question, not several.
            models.UniqueConstraint(
                fields=["proposal"],
                condition=Q(status=CoDesignStatus.PROPOSED),
                name="codesign_one_open_offer",
            ),
        ]

    def __str__(self) -> str:
        return f"Co-design offer {self.pk} on #{self.proposal_id}"

    @property
    def is_open(self) -> bool:
        return self.status == CoDesignStatus.PROPOSED
