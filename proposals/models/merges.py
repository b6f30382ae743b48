"""Merging similar proposals: an officer proposes that one proposal (``absorbed``) be
merged into another (``into``) with a merged text; it happens only when the authors of
both agree, and the merged proposal then credits everyone."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from pb_platform.money import money_field
from proposals.models.proposals import TITLE_MAX_LENGTH, Proposal


class MergeStatus(models.TextChoices):
    PROPOSED = "proposed", _("Waiting for both proposals' authors")
    MERGED = "merged", _("Merged: both proposals' authors agreed")
    DECLINED = "declined", _("Declined by one proposal's authors")
    WITHDRAWN = "withdrawn", _("Withdrawn by the council")
    LAPSED = "lapsed", _("Not agreed before review ended")


class ProposalMerge(models.Model):
    """An officer's proposal to merge ``absorbed`` into ``into``: the merged title,
    description and estimate, and why. Each side's writers agree or decline; public."""

    officer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    # The proposal that continues, with the merged text.
    into = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="merges_into")
    # The proposal merged into it (it then shows "merged into" and leaves the ballot).
    absorbed = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="merges_absorbed")
    title = models.CharField(_("merged title"), max_length=TITLE_MAX_LENGTH)
    description = models.TextField(_("merged description"))
    estimated_cost = money_field(verbose_name=_("merged estimate"))
    reason = models.TextField(_("why"))
    status = models.CharField(
        max_length=16, choices=MergeStatus.choices, default=MergeStatus.PROPOSED
    )
    into_agreed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    into_agreed_at = models.DateTimeField(null=True, blank=True)
    absorbed_agreed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    absorbed_agreed_at = models.DateTimeField(null=True, blank=True)
    declined_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reply = models.TextField(_("the reply of who declined"), blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # When it was merged, declined, withdrawn or found lapsed; empty while it waits.
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=MergeStatus.values), name="merge_status_known"
            ),
            models.CheckConstraint(condition=~Q(into=F("absorbed")), name="merge_two_proposals"),
            models.CheckConstraint(
                condition=Q(estimated_cost__gt=0), name="merge_estimate_positive"
            ),
            models.CheckConstraint(
                condition=(Q(status=MergeStatus.PROPOSED) & Q(closed_at__isnull=True))
                | (~Q(status=MergeStatus.PROPOSED) & Q(closed_at__isnull=False)),
                name="merge_closed_unless_open",
            ),
            # The merge happens only when the authors of both agreed.
            models.CheckConstraint(
                condition=~Q(status=MergeStatus.MERGED)
                | (Q(into_agreed_at__isnull=False) & Q(absorbed_agreed_at__isnull=False)),
                name="merge_merged_only_when_both_agreed",
            ),
            # A refusal names who refused and says why.
            models.CheckConstraint(
                condition=~Q(status=MergeStatus.DECLINED)
                | (Q(declined_by__isnull=False) & ~Q(reply="")),
                name="merge_declined_with_reply",
            ),
            # One open merge per proposal on each side (the service also refuses a
            # proposal that is the other side of an open merge).
            models.UniqueConstraint(
                fields=["into"],
                condition=Q(status=MergeStatus.PROPOSED),
                name="merge_one_open_into",
            ),
            models.UniqueConstraint(
                fields=["absorbed"],
                condition=Q(status=MergeStatus.PROPOSED),
                name="merge_one_open_absorbed",
            ),
        ]

    def __str__(self) -> str:
        return f"Merge of #{self.absorbed_id} into #{self.into_id}"

    @property
    def is_open(self) -> bool:
        return self.status == MergeStatus.PROPOSED
