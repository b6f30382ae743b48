"""Areas, budget rounds and resident profiles: the ground every other app stands on."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from pb_platform.money import CURRENCY_CHOICES, CURRENCY_CODES, money_field
from proposals.phases import Phase, Timeline


class CountingRule(models.TextChoices):
    """How a round's votes are turned into funded proposals (implemented in ``voting``)."""

    GREEDY = "greedy", _("Greedy by votes")
    MES = "mes", _("Method of Equal Shares")


class VerificationRequired(models.TextChoices):
    """Which eligibility check a round asks of its voters (``proposals.services.eligibility``,
    judged by ``voting.policies.eligibility_sufficient``)."""

    NONE = "none", _("None: a verified email is enough")
    REGISTER = "register", _("A match on the council's register")
    CODE = "code", _("A code from a letter")
    ANY = "any", _("Any of these, or a check in person by an officer")


class BallotType(models.TextChoices):
    APPROVAL_WITHIN_BUDGET = "approval_budget", _("Choose proposals up to the area's budget")
    K_APPROVAL = "k_approval", _("Choose up to a set number of proposals")


class Area(models.Model):
    """A part of the council's territory where residents live, e.g. a ward."""

    name = models.CharField(_("name"), max_length=120, unique=True)
    slug = models.SlugField(max_length=120, unique=True)
    population = models.PositiveIntegerField(_("population"), null=True, blank=True)
    # A council-wide pot ("the whole city"): every resident may vote in it, whatever
    # their home area, and nobody has it as their home area.
    is_city_wide = models.BooleanField(_("whole council"), default=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class BudgetRound(models.Model):
    """One participatory budget: its money, its areas and its timeline."""

    name = models.CharField(_("name"), max_length=200)
    # Made from the name at creation and never changed: the round's permanent address,
    # so renaming a round breaks no link.
    slug = models.SlugField(max_length=220, unique=True)
    description = models.TextField(_("description"), blank=True)
    currency = models.CharField(_("currency"), max_length=3, choices=CURRENCY_CHOICES)
    total_budget = money_field(verbose_name=_("total budget"))
    counting_rule = models.CharField(
        _("counting rule"), max_length=16, choices=CountingRule.choices, default=CountingRule.MES
    )
    ballot_type = models.CharField(
        _("ballot type"),
        max_length=20,
        choices=BallotType.choices,
        default=BallotType.APPROVAL_WITHIN_BUDGET,
    )
    max_choices = models.PositiveSmallIntegerField(
        _("most proposals a voter may choose"), null=True, blank=True
    )
    verification_required = models.CharField(
        _("eligibility check voters need"),
        max_length=16,
        choices=VerificationRequired.choices,
        default=VerificationRequired.NONE,
    )
    # Checked against the date of birth when the register gave it, otherwise declared by
    # the voter on the ballot (recorded with the ballot).
    minimum_age = models.PositiveSmallIntegerField(_("minimum age"), null=True, blank=True)
    # Online voters are asked, once and optionally, their age band and whether they are
    # disabled; only counts are kept, never who answered (voting.EqualityTally).
    asks_equality_questions = models.BooleanField(
        _("ask voters the optional equality questions"), default=False
    )

    # Optional: when set, residents spread points over the round's themes from this
    # moment until submission opens (``Phase.PRIORITIES``); empty means no such stage.
    priorities_starts = models.DateTimeField(_("residents' priorities open"), null=True, blank=True)
    submission_starts = models.DateTimeField(_("proposal submission opens"))
    review_starts = models.DateTimeField(_("review starts (submission closes)"))
    voting_starts = models.DateTimeField(_("voting opens"))
    voting_ends = models.DateTimeField(_("voting closes"))
    delivery_starts = models.DateTimeField(_("delivery starts (results period ends)"))
    delivery_ends = models.DateTimeField(_("delivery ends"))

    # Historical rounds loaded from a Pabulib file: their ballots are kept as recorded,
    # and the ballot limits were never checked by this platform.
    is_imported = models.BooleanField(default=False)

    # How far the beat task has moved the round; pages derive the phase from the clock.
    state = models.CharField(max_length=16, choices=Phase.choices, default=Phase.UPCOMING)
    state_changed_at = models.DateTimeField(null=True, blank=True)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-voting_starts", "name"]
        permissions = [("audit_round", "Can see the full change history of budget rounds")]
        constraints = [
            models.CheckConstraint(
                condition=Q(submission_starts__lt=F("review_starts"))
                & Q(review_starts__lt=F("voting_starts"))
                & Q(voting_starts__lt=F("voting_ends"))
                & Q(voting_ends__lt=F("delivery_starts"))
                & Q(delivery_starts__lt=F("delivery_ends")),
                name="round_phases_in_order",
                violation_error_message=_("The phases must be in order."),
            ),
            models.CheckConstraint(
                condition=Q(priorities_starts__isnull=True)
                | Q(priorities_starts__lt=F("submission_starts")),
                name="round_priorities_before_submission",
                violation_error_message=_("The priorities stage must open before submission."),
            ),
            models.CheckConstraint(
                condition=Q(total_budget__gt=0), name="round_total_budget_positive"
            ),
            models.CheckConstraint(
                condition=Q(currency__in=CURRENCY_CODES), name="round_currency_known"
            ),
            models.CheckConstraint(
                condition=~Q(ballot_type=BallotType.K_APPROVAL) | Q(max_choices__gte=1),
                name="round_k_approval_has_limit",
            ),
            models.CheckConstraint(condition=Q(state__in=Phase.values), name="round_state_known"),
            models.CheckConstraint(
                condition=Q(verification_required__in=VerificationRequired.values),
                name="round_verification_required_known",
            ),
            models.CheckConstraint(
                condition=Q(minimum_age__isnull=True) | Q(minimum_age__range=(1, 120)),
                name="round_minimum_age_plausible",
            ),
            # Two rounds called "Parks 2027" and "parks 2027" would be told apart by
            # nobody (and the demo finds its rounds by name).
            models.UniqueConstraint(
                Lower("name"),
                name="round_name_unique_ignoring_case",
                violation_error_message=_("There is already a round with this name."),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("proposals:round_detail", kwargs={"slug": self.slug})

    @property
    def timeline(self) -> Timeline:
        return Timeline.of(self)

    def phase_at(self, now: datetime) -> Phase:
        return self.timeline.phase_at(now)

    @property
    def current_phase(self) -> Phase:
        return self.timeline.phase_at(timezone.now())

    @property
    def next_deadline(self) -> tuple[str, datetime] | None:
        return self.timeline.next_deadline(timezone.now())


class RoundArea(models.Model):
    """An area's share of a round's budget."""

    budget_round = models.ForeignKey(
        BudgetRound, on_delete=models.CASCADE, related_name="round_areas"
    )
    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="round_areas")
    budget = money_field(verbose_name=_("budget"))
    # Set once, by voting's close job, in the transaction that counts and publishes the
    # area: the conditional update that claims that work (see ``voting.services``).
    voting_closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["area__name"]
        constraints = [
            models.UniqueConstraint(fields=["budget_round", "area"], name="round_area_once"),
            models.CheckConstraint(condition=Q(budget__gt=0), name="round_area_budget_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.area} in {self.budget_round}"


class RoundChange(models.Model):
    """Append-only history of a round's configuration and state, for auditors."""

    budget_round = models.ForeignKey(BudgetRound, on_delete=models.CASCADE, related_name="changes")
    # Null when the clock (the beat task) made the change.
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    changed_at = models.DateTimeField(default=timezone.now)
    action = models.CharField(max_length=20)
    # {"field": ["old", "new"], ...} with values as display strings.
    changes = models.JSONField(default=dict)
    # Why, when the officer had to say (extending voting once it opened).
    reason = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-changed_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.action} {self.budget_round_id} at {self.changed_at:%Y-%m-%d %H:%M}"
