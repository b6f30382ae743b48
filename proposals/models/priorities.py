"""Residents' priorities before ideas (commissioning): each resident spreads 100 points
over the round's themes (its categories) for their area, officers enter responses
collected on paper or at events, residents may suggest one more theme, and officers
publish what they will do with the result. The result is indicative: it guides
proposals and review, it never splits budgets."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from proposals.models.proposals import Category
from proposals.models.rounds import BudgetRound, RoundArea

POINTS_TOTAL = 100
NEED_MAX_LENGTH = 600
STATEMENT_MAX_LENGTH = 2_000
THEME_NAME_MAX_LENGTH = 80


class PriorityChannel(models.TextChoices):
    ONLINE = "online", _("Online")
    PAPER = "paper", _("On paper")
    EVENT = "event", _("At an event")


class PriorityResponse(models.Model):
    """One resident's (or one paper form's) answer for one area of a round."""

    round_area = models.ForeignKey(
        RoundArea, on_delete=models.CASCADE, related_name="priority_responses"
    )
    # The resident who answered online; empty for a response entered by an officer.
    resident = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="priority_responses",
    )
    channel = models.CharField(max_length=10, choices=PriorityChannel.choices)
    # The officer who typed in a paper or event response.
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    need = models.TextField(_("a need in a few sentences"), blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["round_area", "resident"],
                condition=Q(resident__isnull=False),
                name="priority_response_once_per_resident",
            ),
            models.CheckConstraint(
                condition=Q(channel__in=PriorityChannel.values), name="priority_channel_known"
            ),
            # Online answers are the resident's own; paper and event ones are recorded
            # by the officer who entered them, with nobody's account attached.
            models.CheckConstraint(
                condition=(
                    Q(channel=PriorityChannel.ONLINE)
                    & Q(resident__isnull=False)
                    & Q(entered_by__isnull=True)
                )
                | (
                    ~Q(channel=PriorityChannel.ONLINE)
                    & Q(resident__isnull=True)
                    & Q(entered_by__isnull=False)
                ),
                name="priority_response_channel_matches_who",
            ),
        ]

    def __str__(self) -> str:
        return f"Priorities {self.pk} for {self.round_area_id} ({self.channel})"


class PriorityPoints(models.Model):
    """The points one response gave one theme (the service makes them add up to 100)."""

    response = models.ForeignKey(PriorityResponse, on_delete=models.CASCADE, related_name="points")
    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="priority_points")
    points = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["category__name"]
        constraints = [
            models.UniqueConstraint(fields=["response", "category"], name="priority_points_once"),
            models.CheckConstraint(
                condition=Q(points__gte=0) & Q(points__lte=POINTS_TOTAL),
                name="priority_points_within_total",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.points} points for {self.category_id}"


class ThemeStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for an officer")
    APPROVED = "approved", _("Added as a theme")
    REJECTED = "rejected", _("Not added")


class ThemeSuggestion(models.Model):
    """A theme a resident asks to add to the round (one each), moderated by officers."""

    budget_round = models.ForeignKey(
        BudgetRound, on_delete=models.CASCADE, related_name="theme_suggestions"
    )
    suggested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="theme_suggestions"
    )
    name = models.CharField(_("theme"), max_length=THEME_NAME_MAX_LENGTH)
    status = models.CharField(
        max_length=10, choices=ThemeStatus.choices, default=ThemeStatus.PENDING
    )
    # Why it was not added (shown to the resident), or a note on approval.
    reason = models.TextField(blank=True, default="")
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["budget_round", "suggested_by"], name="theme_suggestion_once_per_resident"
            ),
            models.CheckConstraint(
                condition=Q(status__in=ThemeStatus.values), name="theme_suggestion_status_known"
            ),
            models.CheckConstraint(
                condition=Q(status=ThemeStatus.PENDING) | Q(decided_at__isnull=False),
                name="theme_suggestion_decided_when",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class PriorityStatement(models.Model):
    """The council's "what we will do with this" for one area, shown on the round page."""

    round_area = models.OneToOneField(
        RoundArea, on_delete=models.CASCADE, related_name="priority_statement"
    )
    text = models.TextField(_("what we will do with this"))
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    published_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=~Q(text=""), name="priority_statement_not_empty")
        ]

    def __str__(self) -> str:
        return f"Statement for {self.round_area_id}"
