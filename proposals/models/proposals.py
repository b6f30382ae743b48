"""Residents' spending ideas, their review history, and the conversation around them."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import FileExtensionValidator
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from pb_platform.money import money_field
from proposals.models.rounds import BudgetRound, RoundArea

TITLE_MAX_LENGTH = 150
DESCRIPTION_MAX_LENGTH = 5_000
COMMENT_MAX_LENGTH = 2_000
REASON_MAX_LENGTH = 2_000
IMAGE_MAX_BYTES = 5 * 1024 * 1024
IMAGE_EXTENSIONS = ["jpg", "jpeg", "png", "webp"]


class Category(models.Model):
    """An officer-defined theme within a round, e.g. "Parks" or "Streets"."""

    budget_round = models.ForeignKey(
        BudgetRound, on_delete=models.CASCADE, related_name="categories"
    )
    name = models.CharField(_("name"), max_length=80)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"
        constraints = [
            models.UniqueConstraint(fields=["budget_round", "name"], name="category_once_per_round")
        ]

    def __str__(self) -> str:
        return self.name


class ProposalStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted, waiting for review")
    RETURNED = "returned", _("Sent back to the author")
    WITHDRAWN = "withdrawn", _("Withdrawn by the author")
    FEASIBLE = "feasible", _("Feasible: on the ballot")
    NOT_FEASIBLE = "not_feasible", _("Not feasible")
    DUPLICATE = "duplicate", _("Duplicate")
    # Merged into another proposal with both authors' agreement (``duplicate_of`` names it).
    MERGED = "merged", _("Merged into another proposal")


# Statuses the public may see (drafts are the author's own business).
PUBLIC_STATUSES = [s for s in ProposalStatus.values if s != ProposalStatus.DRAFT]
# Statuses an author may still edit or withdraw, while submission is open.
AUTHOR_EDITABLE_STATUSES = [ProposalStatus.DRAFT, ProposalStatus.SUBMITTED, ProposalStatus.RETURNED]
# Statuses whose text may still change during review; a decided one goes back to
# "submitted" for a new decision (``services.proposals.proposal_content_commit``).
REVIEW_EDITABLE_STATUSES = [
    ProposalStatus.SUBMITTED,
    ProposalStatus.FEASIBLE,
    ProposalStatus.NOT_FEASIBLE,
]
# Officers' decisions a change of text undoes.
DECIDED_STATUSES = [ProposalStatus.FEASIBLE, ProposalStatus.NOT_FEASIBLE]
# Statuses an officer may decide on during review (a decision can be corrected).
REVIEWABLE_STATUSES = [
    ProposalStatus.SUBMITTED,
    ProposalStatus.FEASIBLE,
    ProposalStatus.NOT_FEASIBLE,
    ProposalStatus.DUPLICATE,
]


class Proposal(models.Model):
    budget_round = models.ForeignKey(
        BudgetRound, on_delete=models.PROTECT, related_name="proposals"
    )
    round_area = models.ForeignKey(RoundArea, on_delete=models.PROTECT, related_name="proposals")
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.PROTECT, related_name="proposals"
    )
    # Empty only for proposals imported from historical (Pabulib) data.
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="proposals",
    )
    # The project id in an imported Pabulib file; platform proposals export their pk.
    external_id = models.CharField(max_length=100, blank=True)
    title = models.CharField(_("title"), max_length=TITLE_MAX_LENGTH)
    description = models.TextField(_("description"))
    location = models.CharField(_("location"), max_length=200, blank=True)
    image = models.ImageField(
        _("image"),
        upload_to="proposals/%Y/%m/",
        blank=True,
        validators=[FileExtensionValidator(IMAGE_EXTENSIONS)],
        # /media/ finds the proposal by its image's name (pb_platform/media.py).
        db_index=True,
    )
    image_description = models.CharField(_("image description"), max_length=200, blank=True)
    estimated_cost = money_field(verbose_name=_("author's cost estimate"))
    official_cost = money_field(verbose_name=_("official cost"), null=True, blank=True)
    status = models.CharField(
        max_length=16, choices=ProposalStatus.choices, default=ProposalStatus.DRAFT
    )
    # The latest public reason given by an officer (feasibility, duplicate, sent back).
    status_reason = models.TextField(blank=True)
    # The original of a duplicate, or the proposal a merged one continues in.
    duplicate_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="duplicates"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        permissions = [("review_proposal", "Can review proposals (feasibility and cost)")]
        indexes = [
            models.Index(fields=["budget_round", "status"], name="proposal_round_status"),
            models.Index(fields=["author", "-created_at"], name="proposal_author_recent"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["budget_round", "external_id"],
                condition=~Q(external_id=""),
                name="proposal_external_id_once_per_round",
            ),
            models.CheckConstraint(
                condition=Q(estimated_cost__gt=0), name="proposal_estimate_positive"
            ),
            models.CheckConstraint(
                condition=Q(official_cost__isnull=True) | Q(official_cost__gt=0),
                name="proposal_official_cost_positive",
            ),
            models.CheckConstraint(
                condition=Q(status__in=ProposalStatus.values), name="proposal_status_known"
            ),
            # Only feasible proposals with an official cost can go on the ballot.
            models.CheckConstraint(
                condition=~Q(status=ProposalStatus.FEASIBLE) | Q(official_cost__isnull=False),
                name="proposal_feasible_has_cost",
            ),
            models.CheckConstraint(
                condition=(
                    Q(status__in=[ProposalStatus.DUPLICATE, ProposalStatus.MERGED])
                    & Q(duplicate_of__isnull=False)
                )
                | (
                    ~Q(status__in=[ProposalStatus.DUPLICATE, ProposalStatus.MERGED])
                    & Q(duplicate_of__isnull=True)
                ),
                name="proposal_duplicate_names_original",
            ),
            models.CheckConstraint(
                condition=~Q(duplicate_of=F("pk")), name="proposal_not_duplicate_of_itself"
            ),
            models.CheckConstraint(
                condition=Q(image="") | ~Q(image_description=""),
                name="proposal_image_described",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("proposals:proposal_detail", kwargs={"pk": self.pk})

    @property
    def pabulib_id(self) -> str:
        """The id this proposal has in Pabulib exports, and for breaking ties in counts."""
        return self.external_id or str(self.pk)

    @property
    def on_ballot(self) -> bool:
        return self.status == ProposalStatus.FEASIBLE and self.official_cost is not None


class ProposalEvent(models.Model):
    """Append-only audit history of a proposal: who did what, when, and why."""

    class Kind(models.TextChoices):
        CREATED = "created", _("Created")
        EDITED = "edited", _("Edited")
        SUBMITTED = "submitted", _("Submitted")
        WITHDRAWN = "withdrawn", _("Withdrawn")
        RETURNED = "returned", _("Sent back to the author")
        REVIEWED = "reviewed", _("Reviewed")
        DUPLICATE = "duplicate", _("Marked as a duplicate")
        COMMENT_HIDDEN = "comment_hidden", _("Comment hidden")
        CODESIGN_ACCEPTED = "codesign_accepted", _("Accepted the council's co-design")
        AMENDMENT_ACCEPTED = "amendment_accepted", _("Took in a resident's amendment")
        MERGED = "merged", _("Merged with another proposal")
        MERGED_INTO = "merged_into", _("Merged into another proposal")

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    # Whether the actor acted as the author or as an officer: the public sees "an officer".
    actor_is_officer = models.BooleanField(default=False)
    at = models.DateTimeField(default=timezone.now)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    from_status = models.CharField(max_length=16, choices=ProposalStatus.choices, blank=True)
    to_status = models.CharField(max_length=16, choices=ProposalStatus.choices, blank=True)
    official_cost = money_field(null=True, blank=True)
    reason = models.TextField(blank=True)
    # History only: when the author was emailed, for events before emails moved to the
    # platform's outbox (``pb_platform.OutboxEmail``). Nothing reads or needs it now.
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.kind} #{self.proposal_id} at {self.at:%Y-%m-%d %H:%M}"

    @property
    def changes_status(self) -> bool:
        return bool(self.to_status) and self.from_status != self.to_status


class Comment(models.Model):
    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="proposal_comments"
    )
    author_is_officer = models.BooleanField(default=False)
    # Replies answer a top-level comment; only the proposal's author and officers reply.
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="replies"
    )
    body = models.TextField(_("comment"))
    created_at = models.DateTimeField(default=timezone.now)
    # Hidden comments keep their text (for the record), shown only to officers and auditors.
    hidden_at = models.DateTimeField(null=True, blank=True)
    hidden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    hidden_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(hidden_at__isnull=True) | ~Q(hidden_reason=""),
                name="comment_hidden_with_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"Comment {self.pk} on #{self.proposal_id}"

    @property
    def is_hidden(self) -> bool:
        return self.hidden_at is not None


class CommentFlag(models.Model):
    """Someone signed in thinks a comment breaks the rules; officers see the count."""

    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="flags")
    flagged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["comment", "flagged_by"], name="comment_flag_once")
        ]

    def __str__(self) -> str:
        return f"Flag on comment {self.comment_id}"
