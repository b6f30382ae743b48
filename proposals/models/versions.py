"""Proposals written together: every version of the text, and who writes it.

A ``ProposalVersion`` is the proposal's content as it stood after one change, kept
forever (append-only): the page shows the history and what each change did. Every
content change goes through ``proposals.services.versions.version_record``, so later
ways of changing a proposal (amendments, co-design with an officer, merging) get their
versions by naming their ``kind``.

A ``ProposalCoauthor`` is an invitation to an email address that becomes a co-author
once someone signed in with that (verified) address accepts it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from pb_platform.money import money_field
from proposals.models.proposals import TITLE_MAX_LENGTH, Category, Proposal
from proposals.models.rounds import RoundArea


class VersionKind(models.TextChoices):
    CREATED = "created", _("Written")
    EDIT = "edit", _("Edited")
    # Reserved for the features built on versions (amendments, officer co-design, merges).
    AMENDMENT = "amendment", _("Amendment taken in")
    CO_DESIGN = "co_design", _("Changed with an officer")
    MERGE = "merge", _("Merged with another proposal")


class ProposalVersion(models.Model):
    """The proposal's text fields as they were after change number ``number``."""

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    at = models.DateTimeField(default=timezone.now)
    # Who made the change; empty only for imported proposals' first version.
    made_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    made_by_officer = models.BooleanField(default=False)
    kind = models.CharField(max_length=20, choices=VersionKind.choices)
    # Whose idea the change was, when not the person who made it (an amendment's author).
    credited_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.TextField(blank=True)
    title = models.CharField(max_length=TITLE_MAX_LENGTH)
    description = models.TextField()
    location = models.CharField(max_length=200, blank=True)
    estimated_cost = money_field()
    round_area = models.ForeignKey(RoundArea, on_delete=models.PROTECT, related_name="+")
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The stored image's name (the file itself is the proposal's while it is current).
    image = models.CharField(max_length=255, blank=True)
    image_description = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["proposal", "number"]
        constraints = [
            models.UniqueConstraint(fields=["proposal", "number"], name="version_number_once"),
            models.CheckConstraint(condition=Q(number__gte=1), name="version_number_positive"),
            models.CheckConstraint(
                condition=Q(kind__in=VersionKind.values), name="version_kind_known"
            ),
            models.CheckConstraint(
                condition=Q(estimated_cost__gt=0), name="version_estimate_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.proposal_id} v{self.number}"


class CoauthorStatus(models.TextChoices):
    INVITED = "invited", _("Invited")
    ACCEPTED = "accepted", _("Co-author")
    DECLINED = "declined", _("Declined")
    REMOVED = "removed", _("Removed")


# Invitations that still count: waiting for an answer, or accepted.
LIVE_COAUTHOR_STATUSES = [CoauthorStatus.INVITED, CoauthorStatus.ACCEPTED]


class ProposalCoauthor(models.Model):
    """One invitation to write a proposal together, and what became of it.

    An address is invited once per proposal (a declined or removed invitation is not
    sent again: nobody can be emailed over and over about the same idea)."""

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="coauthors")
    # Stored lower-case: addresses are compared without case.
    email = models.EmailField()
    # SHA-256 of the link's secret while the invitation waits; emptied once answered.
    token_hash = models.CharField(max_length=64, blank=True)
    status = models.CharField(
        max_length=10, choices=CoauthorStatus.choices, default=CoauthorStatus.INVITED
    )
    # The account that accepted (signed in with ``email``, verified).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="coauthorships",
    )
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    invited_at = models.DateTimeField(default=timezone.now)
    answered_at = models.DateTimeField(null=True, blank=True)
    removed_at = models.DateTimeField(null=True, blank=True)
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["invited_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["proposal", "email"], name="coauthor_invited_once"),
            models.UniqueConstraint(
                fields=["proposal", "user"],
                condition=Q(user__isnull=False),
                name="coauthor_once_per_proposal",
            ),
            models.UniqueConstraint(
                fields=["token_hash"], condition=~Q(token_hash=""), name="coauthor_token_unique"
            ),
            models.CheckConstraint(
                condition=Q(status__in=CoauthorStatus.values), name="coauthor_status_known"
            ),
            models.CheckConstraint(
                condition=Q(email=models.functions.Lower("email")), name="coauthor_email_lower"
            ),
            # A waiting invitation has a link; an answered one has none any more.
            models.CheckConstraint(
                condition=(Q(status=CoauthorStatus.INVITED) & ~Q(token_hash=""))
                | (~Q(status=CoauthorStatus.INVITED) & Q(token_hash="")),
                name="coauthor_link_only_while_invited",
            ),
            models.CheckConstraint(
                condition=~Q(status=CoauthorStatus.ACCEPTED) | Q(user__isnull=False),
                name="coauthor_accepted_has_user",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} on #{self.proposal_id} ({self.status})"
