"""Amendments: any resident suggests a change to someone else's proposal, with a reason;
its authors accept it (it becomes a new version credited to whoever suggested it) or
decline it, publicly and with a reply."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from pb_platform.money import money_field
from proposals.models.proposals import Proposal


class AmendmentStatus(models.TextChoices):
    PROPOSED = "proposed", _("Waiting for the authors' answer")
    ACCEPTED = "accepted", _("Taken in by the authors")
    DECLINED = "declined", _("Declined by the authors")
    WITHDRAWN = "withdrawn", _("Withdrawn by the resident who suggested it")
    LAPSED = "lapsed", _("Not answered before the text was fixed for the vote")


class ProposalAmendment(models.Model):
    """A resident's suggested change: the whole new description and, if they think the
    idea costs something else, a new estimate, with why. Public, like comments."""

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="amendments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="amendments"
    )
    # The version of the text it was written against: the page shows what it changes
    # from there, and warns the authors when the text has changed since.
    base_version = models.PositiveIntegerField()
    description = models.TextField(_("the description as you would write it"))
    # Empty: the estimate is not part of the suggestion.
    estimated_cost = money_field(verbose_name=_("a different estimate"), null=True, blank=True)
    reason = models.TextField(_("why"))
    status = models.CharField(
        max_length=16, choices=AmendmentStatus.choices, default=AmendmentStatus.PROPOSED
    )
    reply = models.TextField(_("the authors' reply"), blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # When it was answered, withdrawn or found lapsed; empty while it waits.
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=AmendmentStatus.values), name="amendment_status_known"
            ),
            models.CheckConstraint(
                condition=Q(estimated_cost__isnull=True) | Q(estimated_cost__gt=0),
                name="amendment_estimate_positive",
            ),
            models.CheckConstraint(condition=~Q(reason=""), name="amendment_has_reason"),
            models.CheckConstraint(
                condition=(Q(status=AmendmentStatus.PROPOSED) & Q(closed_at__isnull=True))
                | (~Q(status=AmendmentStatus.PROPOSED) & Q(closed_at__isnull=False)),
                name="amendment_closed_unless_open",
            ),
            # Only the authors answer; withdrawn and lapsed ones were answered by nobody.
            models.CheckConstraint(
                condition=Q(answered_by__isnull=True)
                | Q(status__in=[AmendmentStatus.ACCEPTED, AmendmentStatus.DECLINED]),
                name="amendment_answered_by_only_when_answered",
            ),
            # A declined amendment says why: residents should not be turned down in silence.
            models.CheckConstraint(
                condition=~Q(status=AmendmentStatus.DECLINED) | ~Q(reply=""),
                name="amendment_declined_with_reply",
            ),
            # One waiting suggestion per resident and proposal: the authors answer it
            # before the same person asks again (no flooding).
            models.UniqueConstraint(
                fields=["proposal", "author"],
                condition=Q(status=AmendmentStatus.PROPOSED),
                name="amendment_one_open_per_resident",
            ),
        ]

    def __str__(self) -> str:
        return f"Amendment {self.pk} to #{self.proposal_id}"

    @property
    def is_open(self) -> bool:
        return self.status == AmendmentStatus.PROPOSED
