"""What the platform knows of residents beyond their login."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from proposals.models.rounds import Area


class EligibilityMethod(models.TextChoices):
    """How a resident was found eligible to vote (distinct from a verified email)."""

    REGISTER = "register", _("matched on the council's register")
    CODE = "code", _("code from a letter")
    IN_PERSON = "in_person", _("in person, by an officer")


class ResidentProfile(models.Model):
    """What the platform knows of a person beyond their login: name shown and home area."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="resident_profile"
    )
    display_name = models.CharField(_("name shown publicly"), max_length=80)
    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="residents")
    # Walk-in voters registered by an officer at a polling place have no login of their
    # own; the officer checked their name, address area and date of birth.
    date_of_birth = models.DateField(_("date of birth"), null=True, blank=True)
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # A change of home area an officer made while the resident may vote: it takes effect
    # when that voting closes (``resident_area_changes_apply_due``), so nobody votes in
    # one area, is moved, and votes again in another.
    pending_area = models.ForeignKey(
        Area,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("moving to"),
    )
    pending_since = models.DateTimeField(null=True, blank=True)
    # Eligibility-verified: the council checked this person may vote here (against its
    # register, with a code sent by letter, or in person). Not the same as a verified
    # email, which only shows the address is theirs.
    eligibility_verified_at = models.DateTimeField(null=True, blank=True)
    eligibility_method = models.CharField(
        _("eligibility verified by"),
        max_length=16,
        choices=EligibilityMethod.choices,
        blank=True,
        default="",
    )
    # The officer who checked in person (empty for the other methods).
    eligibility_verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["display_name"]
        permissions = [("change_resident_area", "Can move a resident to another area")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(registered_by__isnull=True)
                | models.Q(date_of_birth__isnull=False),
                name="walk_in_resident_has_date_of_birth",
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(pending_area__isnull=True) & models.Q(pending_since__isnull=True)
                )
                | (
                    models.Q(pending_area__isnull=False)
                    & models.Q(pending_since__isnull=False)
                    & ~models.Q(pending_area=models.F("area"))
                ),
                name="resident_pending_area_is_a_move_with_a_date",
            ),
            models.CheckConstraint(
                condition=models.Q(eligibility_method="", eligibility_verified_at__isnull=True)
                | (
                    models.Q(eligibility_method__in=EligibilityMethod.values)
                    & models.Q(eligibility_verified_at__isnull=False)
                ),
                name="resident_eligibility_method_with_a_date",
            ),
            models.CheckConstraint(
                condition=models.Q(eligibility_verified_by__isnull=True)
                | models.Q(eligibility_method=EligibilityMethod.IN_PERSON),
                name="resident_eligibility_officer_only_in_person",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def is_eligibility_verified(self) -> bool:
        return self.eligibility_verified_at is not None


class ResidentAreaChange(models.Model):
    """The record of an officer moving a resident to another area.

    A row is never deleted; its only later writes are the two moments that end a move
    made during voting: ``effective_at`` (empty while the move is pending; the moment it
    took effect) or ``cancelled_at`` (an officer changed it again before it took effect).
    """

    profile = models.ForeignKey(
        ResidentProfile, on_delete=models.CASCADE, related_name="area_changes"
    )
    from_area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="+")
    to_area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="+")
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    changed_at = models.DateTimeField(default=timezone.now)
    reason = models.CharField(_("reason"), max_length=500)
    effective_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-changed_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(effective_at__isnull=True) | models.Q(cancelled_at__isnull=True),
                name="area_change_took_effect_or_was_cancelled",
            )
        ]

    def __str__(self) -> str:
        return f"{self.profile_id}: {self.from_area_id} -> {self.to_area_id}"

    @property
    def is_pending(self) -> bool:
        return self.effective_at is None and self.cancelled_at is None
