"""The money after the vote: an append-only, hash-chained ledger per round.

Every funded proposal gets an *allocation* when its result is published. Officers then
record *commitments* (contracts, purchase orders), *spend* (payments against invoices)
and *releases* of allocation that will not be needed. Nothing is ever edited or
deleted: a mistake is corrected by a *reversal* entry that points at the original and
says why. The database enforces this (a trigger refuses UPDATE and DELETE), and each
entry carries a SHA-256 hash over its canonical form and the previous entry's hash in
the same round, so any later change to a row breaks the chain (``verify_ledger``).

Amounts are always positive; the entry's kind says which balance it moves, and the
signed ``*_delta`` columns store that movement so balances are plain SUMs in SQL.
"""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.core.validators import FileExtensionValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from pb_platform.money import CURRENCY_CHOICES, money_field
from proposals.models import BudgetRound, Proposal
from proposals.models.proposals import IMAGE_EXTENSIONS


class EntryKind(models.TextChoices):
    ALLOCATION = "allocation", _("Allocation")
    COMMITMENT = "commitment", _("Commitment")
    SPEND = "spend", _("Spend")
    RELEASE = "release", _("Release of unused allocation")
    REVERSAL = "reversal", _("Reversal (correction)")


class ImmutableEntryError(Exception):
    """Raised when code tries to change or delete a ledger entry."""


class LedgerEntry(models.Model):
    budget_round = models.ForeignKey(
        BudgetRound, on_delete=models.PROTECT, related_name="ledger_entries"
    )
    # 1, 2, 3... within the round: the order of the hash chain.
    sequence = models.PositiveIntegerField()
    proposal = models.ForeignKey(Proposal, on_delete=models.PROTECT, related_name="ledger_entries")
    kind = models.CharField(max_length=12, choices=EntryKind.choices)
    amount = money_field()
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    # Signed movements of the three balances (see the module docstring).
    allocated_delta = money_field()
    committed_delta = money_field()
    spent_delta = money_field()

    supplier = models.CharField(_("supplier"), max_length=200, blank=True)
    reference = models.CharField(_("reference"), max_length=100, blank=True)
    document_date = models.DateField(_("date"), null=True, blank=True)
    description = models.CharField(_("description"), max_length=500, blank=True)
    # Why: required for reversals and for spend beyond the allocation.
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    reverses = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by"
    )

    # Empty for allocations made by the publication job.
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField()
    previous_hash = models.CharField(max_length=64)
    entry_hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["budget_round_id", "sequence"]
        verbose_name_plural = "ledger entries"
        permissions = [
            ("record_ledger_entry", "Can record commitments, spend, releases and reversals"),
            ("audit_ledger", "Can see every ledger entry with who recorded it, and export"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["budget_round", "sequence"], name="ledger_chain_order"),
            # Publishing twice never allocates twice.
            models.UniqueConstraint(
                fields=["proposal"],
                condition=Q(kind="allocation"),
                name="ledger_one_allocation_per_proposal",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="ledger_amount_positive"),
            models.CheckConstraint(
                condition=Q(kind__in=EntryKind.values), name="ledger_kind_known"
            ),
            models.CheckConstraint(
                condition=Q(kind="reversal", reverses__isnull=False)
                | (~Q(kind="reversal") & Q(reverses__isnull=True)),
                name="ledger_reversal_points_at_original",
            ),
            models.CheckConstraint(
                condition=~Q(kind="reversal") | ~Q(reason=""),
                name="ledger_reversal_has_reason",
            ),
            # The movement each kind makes; a reversal moves one balance by -/+ amount.
            models.CheckConstraint(
                condition=(
                    Q(kind="allocation", allocated_delta=F("amount"))
                    & Q(committed_delta=0, spent_delta=0)
                )
                | (
                    Q(kind="release", allocated_delta=-F("amount"))
                    & Q(committed_delta=0, spent_delta=0)
                )
                | (
                    Q(kind="commitment", committed_delta=F("amount"))
                    & Q(allocated_delta=0, spent_delta=0)
                )
                | (
                    Q(kind="spend", spent_delta=F("amount"))
                    & Q(allocated_delta=0, committed_delta=0)
                )
                | (
                    Q(kind="reversal")
                    & (
                        (
                            (Q(allocated_delta=F("amount")) | Q(allocated_delta=-F("amount")))
                            & Q(committed_delta=0, spent_delta=0)
                        )
                        | (
                            (Q(committed_delta=F("amount")) | Q(committed_delta=-F("amount")))
                            & Q(allocated_delta=0, spent_delta=0)
                        )
                        | (
                            (Q(spent_delta=F("amount")) | Q(spent_delta=-F("amount")))
                            & Q(allocated_delta=0, committed_delta=0)
                        )
                    )
                ),
                name="ledger_movement_matches_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.kind} {self.amount} {self.currency}"

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None and not self._state.adding:
            raise ImmutableEntryError("Ledger entries are append-only; record a reversal.")
        super().save(*args, **kwargs)

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise ImmutableEntryError("Ledger entries are append-only; record a reversal.")


class DeliveryStatus(models.TextChoices):
    NOT_STARTED = "not_started", _("Not started")
    IN_PROGRESS = "in_progress", _("In progress")
    DELIVERED = "delivered", _("Delivered")
    CANCELLED = "cancelled", _("Cancelled")


class DeliveryUpdate(models.Model):
    """A dated, public progress note on a funded proposal; the latest sets its status."""

    proposal = models.ForeignKey(
        Proposal, on_delete=models.PROTECT, related_name="delivery_updates"
    )
    status = models.CharField(max_length=12, choices=DeliveryStatus.choices)
    note = models.TextField(_("progress note"), max_length=2000)
    happened_on = models.DateField(_("date"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["-happened_on", "-recorded_at", "-pk"]
        permissions = [("record_delivery_update", "Can record delivery progress")]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=DeliveryStatus.values), name="delivery_status_known"
            )
        ]

    def __str__(self) -> str:
        return f"{self.proposal_id}: {self.status} on {self.happened_on}"


MILESTONE_TITLE_MAX = 200


class Milestone(models.Model):
    """A step in delivering a funded proposal, with the date it is planned for and,
    once reached, the date it was. Late when its planned date has passed unreached.
    Officers keep it up to date; every change is kept in ``MilestoneChange``."""

    proposal = models.ForeignKey(Proposal, on_delete=models.PROTECT, related_name="milestones")
    title = models.CharField(_("milestone"), max_length=MILESTONE_TITLE_MAX)
    planned_on = models.DateField(_("planned date"))
    done_on = models.DateField(_("date reached"), null=True, blank=True)
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    # An optional photo of the work, re-encoded on the way in like proposal images and
    # served only through pb_platform/media.py; it always comes with its description
    # for people who cannot see it (the database refuses one without).
    photo = models.ImageField(
        _("photo"),
        upload_to="milestones/%Y/%m/",
        blank=True,
        validators=[FileExtensionValidator(IMAGE_EXTENSIONS)],
        db_index=True,
    )
    photo_alt = models.CharField(_("photo description"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["planned_on", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(progress__lte=100), name="milestone_progress_max"),
            # Reached means all done.
            models.CheckConstraint(
                condition=Q(done_on__isnull=True) | Q(progress=100),
                name="milestone_done_is_complete",
            ),
            models.CheckConstraint(
                condition=Q(photo="") | ~Q(photo_alt=""), name="milestone_photo_described"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.proposal_id}: {self.title}"

    def is_late(self, today: date) -> bool:
        return self.done_on is None and self.planned_on < today


class MilestoneChangeKind(models.TextChoices):
    PLANNED = "planned", _("Planned")
    REPLANNED = "replanned", _("Planned date changed")
    PROGRESS = "progress", _("Progress")
    REACHED = "reached", _("Reached")


class MilestoneChange(models.Model):
    """One change to a milestone, kept for its history: a new planned date always comes
    with the reason for it (the database refuses one without)."""

    milestone = models.ForeignKey(Milestone, on_delete=models.PROTECT, related_name="changes")
    kind = models.CharField(max_length=10, choices=MilestoneChangeKind.choices)
    planned_from = models.DateField(null=True, blank=True)
    planned_to = models.DateField(null=True, blank=True)
    progress_to = models.PositiveSmallIntegerField(null=True, blank=True)
    reason = models.TextField(blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    changed_at = models.DateTimeField()

    class Meta:
        ordering = ["changed_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=MilestoneChangeKind.values),
                name="milestone_change_kind_known",
            ),
            models.CheckConstraint(
                condition=~Q(kind=MilestoneChangeKind.REPLANNED)
                | (~Q(reason="") & Q(planned_from__isnull=False) & Q(planned_to__isnull=False)),
                name="milestone_replanned_with_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.milestone_id}: {self.kind} at {self.changed_at}"


class DeliveryFollower(models.Model):
    """Someone who asked to be emailed when the delivery of a funded proposal moves on
    (a milestone planned, moved or reached, a progress note). Unfollowing deletes it."""

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="followers")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="followed_deliveries"
    )
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["proposal", "user"], name="delivery_follow_once")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} follows {self.proposal_id}"


class LedgerExport(models.Model):
    """Audit log of exports: who downloaded which entries, when."""

    exported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    exported_at = models.DateTimeField()
    file_format = models.CharField(max_length=4)
    # {"round": id or null, "area": slug or "", "from": "YYYY-MM-DD" or "", "to": ...}
    filters = models.JSONField(default=dict)

    class Meta:
        ordering = ["-exported_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.file_format} export by {self.exported_by_id} at {self.exported_at}"


# --- Assessment by the people who use what was built ------------------------------------

ASSESSMENT_WINDOW_MONTHS_DEFAULT = 12
ASSESSMENT_WINDOW_MONTHS_MAX = 36
ASSESSMENT_COMMENT_MAX = 2000
ASSESSMENT_INVITATION_DAYS = 30
SCORE_MIN, SCORE_MAX = 1, 5


class AssessmentSetup(models.Model):
    """How long a round's delivered proposals stay open for assessment. A round without
    one uses ``ASSESSMENT_WINDOW_MONTHS_DEFAULT`` months from delivery."""

    budget_round = models.OneToOneField(
        BudgetRound, on_delete=models.CASCADE, related_name="assessment_setup"
    )
    window_months = models.PositiveSmallIntegerField(
        _("months open after delivery"), default=ASSESSMENT_WINDOW_MONTHS_DEFAULT
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(window_months__gte=1, window_months__lte=ASSESSMENT_WINDOW_MONTHS_MAX),
                name="assessment_window_months_range",
            )
        ]

    def __str__(self) -> str:
        return f"{self.budget_round_id}: {self.window_months} months"


class AssessmentCriterion(models.Model):
    """One thing a round's delivered proposals are rated on, from 1 to 5. Fixed once the
    round has an assessment, so every score of a criterion answers the same question."""

    budget_round = models.ForeignKey(
        BudgetRound, on_delete=models.PROTECT, related_name="assessment_criteria"
    )
    position = models.PositiveSmallIntegerField()
    name = models.CharField(_("criterion"), max_length=80)

    class Meta:
        ordering = ["budget_round_id", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["budget_round", "position"], name="assessment_criterion_position_once"
            ),
            models.UniqueConstraint(
                fields=["budget_round", "name"], name="assessment_criterion_name_once"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class AssessorKind(models.TextChoices):
    RESIDENT = "resident", _("Resident")
    INVITED = "invited", _("Invited service user")


class AssessmentInvitation(models.Model):
    """An officer's one-time invitation to assess a delivered proposal, for someone who
    uses what was built without living in its area. Only a hash of the emailed token is
    kept; the link works once, for 30 days, and binds the invitation to the account that
    took it up."""

    proposal = models.ForeignKey(
        Proposal, on_delete=models.PROTECT, related_name="assessment_invitations"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    email = models.EmailField(_("email address"))
    # For officers only: who this is (e.g. "Day centre user group").
    note = models.CharField(_("note for officers"), max_length=200, blank=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    used_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assessment_invitations_taken",
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(used_at__isnull=True, used_by__isnull=True)
                | Q(used_at__isnull=False, used_by__isnull=False),
                name="assessment_invitation_used_by_someone",
            ),
            models.CheckConstraint(
                condition=Q(expires_at__gt=F("created_at")),
                name="assessment_invitation_expires_later",
            ),
            # One person takes up at most one invitation per proposal.
            models.UniqueConstraint(
                fields=["proposal", "used_by"],
                condition=Q(used_by__isnull=False),
                name="assessment_invitation_taken_once_per_person",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.proposal_id}: invitation {self.pk}"


class Assessment(models.Model):
    """One person's current assessment of a delivered proposal: scores per criterion
    (``AssessmentScore``) and a comment. Updating it keeps every earlier version in
    ``AssessmentRevision``; only the latest counts. One per person per proposal."""

    proposal = models.ForeignKey(Proposal, on_delete=models.PROTECT, related_name="assessments")
    assessor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="assessments"
    )
    kind = models.CharField(max_length=10, choices=AssessorKind.choices)
    invitation = models.OneToOneField(
        AssessmentInvitation,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assessment",
    )
    comment = models.TextField(_("comment"), max_length=ASSESSMENT_COMMENT_MAX, blank=True)
    revision = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    # The council's public answer.
    reply = models.TextField(_("reply"), max_length=ASSESSMENT_COMMENT_MAX, blank=True)
    replied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    replied_at = models.DateTimeField(null=True, blank=True)
    # Moderation, as for comments: the comment is hidden with a reason; the scores count.
    hidden_at = models.DateTimeField(null=True, blank=True)
    hidden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    hidden_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-updated_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["proposal", "assessor"], name="assessment_once_per_person"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=AssessorKind.values), name="assessment_kind_known"
            ),
            # An invited service user's assessment comes through their invitation.
            models.CheckConstraint(
                condition=~Q(kind=AssessorKind.INVITED) | Q(invitation__isnull=False),
                name="assessment_invited_has_invitation",
            ),
            models.CheckConstraint(
                condition=Q(reply="", replied_at__isnull=True, replied_by__isnull=True)
                | (~Q(reply="") & Q(replied_at__isnull=False, replied_by__isnull=False)),
                name="assessment_reply_signed",
            ),
            models.CheckConstraint(
                condition=Q(hidden_at__isnull=True) | ~Q(hidden_reason=""),
                name="assessment_hidden_with_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.proposal_id}: assessment by {self.assessor_id}"

    @property
    def is_hidden(self) -> bool:
        return self.hidden_at is not None


class AssessmentScore(models.Model):
    """The current score (1 to 5) an assessment gives one criterion."""

    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="scores")
    criterion = models.ForeignKey(
        AssessmentCriterion, on_delete=models.PROTECT, related_name="scores"
    )
    score = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["criterion__position"]
        constraints = [
            models.UniqueConstraint(
                fields=["assessment", "criterion"], name="assessment_score_once_per_criterion"
            ),
            models.CheckConstraint(
                condition=Q(score__gte=SCORE_MIN, score__lte=SCORE_MAX),
                name="assessment_score_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.assessment_id}/{self.criterion_id}: {self.score}"


class AssessmentRevision(models.Model):
    """Every version of an assessment as it was saved, the first included: the scores
    (``{criterion id: score}``) and the comment."""

    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    scores = models.JSONField()
    comment = models.TextField(blank=True)
    saved_at = models.DateTimeField()

    class Meta:
        ordering = ["assessment_id", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["assessment", "number"], name="assessment_revision_number_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.assessment_id} v{self.number}"


class AssessmentFlag(models.Model):
    """Someone signed in thinks an assessment's comment breaks the rules, as for
    comments; officers see the count beside it and may hide the comment."""

    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="flags")
    flagged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["assessment", "flagged_by"], name="assessment_flag_once"
            )
        ]

    def __str__(self) -> str:
        return f"Flag on assessment {self.assessment_id}"
