"""The council's resident register (census), kept privately, and letters with codes.

Nothing identifying is stored as typed: a reference number, a date of birth or a
postcode is normalised and kept only as a keyed hash (HMAC-SHA256 with
``settings.REGISTER_HMAC_KEY``, see ``proposals.services.register``). A resident who
types the same values gets the same hashes, which is all matching needs; a copy of the
database without the key cannot be matched against a list of people.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from proposals.models.rounds import Area

HASH_LENGTH = 64  # hex digest of SHA-256


class RegisterImport(models.Model):
    """One applied import of the register: who, when, which file, what it did.

    Dry runs change nothing and are not recorded. Auditors read this log.
    """

    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    imported_at = models.DateTimeField(default=timezone.now)
    file_name = models.CharField(_("file name"), max_length=255)
    added = models.PositiveIntegerField(default=0)
    changed = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    refused = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-imported_at", "-pk"]
        permissions = [("manage_register", "Can import the resident register")]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.imported_at:%Y-%m-%d %H:%M})"


class RegisterEntry(models.Model):
    """One person on the council's register: their area and hashes of what identifies them.

    ``verified_account`` is the one account this entry made eligibility-verified: one
    entry verifies at most one account (a database constraint), so nobody verifies a
    second account, on paper or online, with the same entry.
    """

    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="register_entries")
    reference_hash = models.CharField(max_length=HASH_LENGTH, unique=True)
    # NULL, not "": the register has no such value for this person (checked as such).
    dob_hash = models.CharField(max_length=HASH_LENGTH, null=True, blank=True)  # noqa: DJ001
    postcode_hash = models.CharField(max_length=HASH_LENGTH, null=True, blank=True)  # noqa: DJ001
    imported_in = models.ForeignKey(
        RegisterImport, on_delete=models.PROTECT, related_name="entries"
    )
    verified_account = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="register_entry",
    )
    verified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "register entries"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(dob_hash__isnull=False) | models.Q(postcode_hash__isnull=False),
                name="register_entry_has_a_second_factor",
            ),
            models.CheckConstraint(
                condition=models.Q(verified_account__isnull=True, verified_at__isnull=True)
                | models.Q(verified_account__isnull=False, verified_at__isnull=False),
                name="register_entry_verified_with_a_date",
            ),
        ]

    def __str__(self) -> str:
        # Never the hashes: they are not for display either.
        return f"register entry {self.pk} ({self.area_id})"


class VerificationCode(models.Model):
    """A one-time code printed on a letter to an address in ``area``: whoever holds it
    may make one account eligibility-verified for that area, once. Only its hash is kept;
    the code itself is shown once, on the sheet printed when it is generated."""

    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="verification_codes")
    code_hash = models.CharField(max_length=HASH_LENGTH, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    used_by = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="verification_code",
    )
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(used_by__isnull=True, used_at__isnull=True)
                | models.Q(used_by__isnull=False, used_at__isnull=False),
                name="verification_code_used_with_a_date",
            ),
        ]

    def __str__(self) -> str:
        return f"verification code {self.pk} ({self.area_id})"
