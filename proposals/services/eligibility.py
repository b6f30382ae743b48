"""Eligibility-verified residents: matched on the council's register, by a code from a
letter, or checked in person by an officer. Distinct from a verified email, which only
shows an address belongs to someone.

A register entry verifies at most one account (``RegisterEntry.verified_account`` is
unique), and so does a letter's code (``VerificationCode.used_by``). Attempts are limited
per account and per IP address (failures counted in the cache), and a failed attempt
says only that the details did not match: never whether the reference exists, whether
another account used it, or which of the two facts was wrong.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from pb_platform.policies import enforce
from pb_platform.users import AnyUser, User, signed_in
from proposals import policies
from proposals.models import (
    Area,
    EligibilityMethod,
    RegisterEntry,
    ResidentProfile,
    VerificationCode,
)
from proposals.services.register import code_hash, dob_hash, postcode_hash, reference_hash
from proposals.services.residents import resident_area_move

# Failed attempts allowed in a window, per account and per IP address: enough for typing
# mistakes, far too few to guess a date of birth (about 36,500 candidates a century).
ATTEMPT_WINDOW_SECONDS = 15 * 60
FAILURES_PER_ACCOUNT = 5
FAILURES_PER_IP = 20

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no look-alikes (0/O, 1/I)
CODE_LENGTH = 12  # 60 bits: unguessable within the attempt limits


def _did_not_match() -> ValidationError:
    return ValidationError(
        _(
            "Those details did not match. Check them and try again; if you are sure they are "
            "right, contact the council."
        )
    )


def _too_many() -> ValidationError:
    return ValidationError(
        _("Too many attempts that did not match. Try again in %(minutes)d minutes.")
        % {"minutes": ATTEMPT_WINDOW_SECONDS // 60}
    )


def _attempt_keys(user: User, ip: str) -> list[tuple[str, int]]:
    return [
        (f"eligibility-failures:account:{user.pk}", FAILURES_PER_ACCOUNT),
        (f"eligibility-failures:ip:{ip}", FAILURES_PER_IP),
    ]


def _attempts_check(user: User, ip: str) -> None:
    for key, limit in _attempt_keys(user, ip):
        if (cache.get(key) or 0) >= limit:
            raise _too_many()


def _failure_record(user: User, ip: str) -> None:
    for key, _limit in _attempt_keys(user, ip):
        # add() starts the window only if none is running; incr() keeps its expiry.
        if not cache.add(key, 1, ATTEMPT_WINDOW_SECONDS):
            try:
                cache.incr(key)
            except ValueError:  # expired between the two calls
                cache.add(key, 1, ATTEMPT_WINDOW_SECONDS)


def _profile_for(user: AnyUser) -> ResidentProfile | None:
    if not user.is_authenticated:
        return None
    return ResidentProfile.objects.filter(user=user).first()


def _mark_verified(
    profile: ResidentProfile,
    *,
    method: str,
    area: Area,
    now: datetime,
    changed_by: User,
    officer: User | None = None,
    born: date | None = None,
) -> None:
    """Record the verification on the (locked) profile, and move the resident to the
    area the council's record gives: at once, or pending while they may vote."""
    profile.eligibility_verified_at = now
    profile.eligibility_method = method
    profile.eligibility_verified_by = officer
    fields = ["eligibility_verified_at", "eligibility_method", "eligibility_verified_by"]
    if born is not None:
        # The register confirmed it: what a round's minimum age is checked against.
        profile.date_of_birth = born
        fields.append("date_of_birth")
    profile.save(update_fields=[*fields, "updated_at"])
    if area.pk not in (profile.area_id, profile.pending_area_id):
        resident_area_move(
            profile=profile,
            area=area,
            changed_by=changed_by,
            reason=_("Eligibility verified (%(method)s) for this area.")
            % {"method": EligibilityMethod(method).label},
            now=now,
        )


def eligibility_verify_by_register(
    *,
    user: AnyUser,
    reference: str,
    date_of_birth: date | None,
    postcode: str,
    ip: str,
    now: datetime,
) -> ResidentProfile:
    """Match a resident's reference and date of birth (or postcode) with the register;
    a match makes them eligibility-verified for that entry's area."""
    enforce(policies.can_verify_eligibility(user, _profile_for(user)))
    account = signed_in(user)
    _attempts_check(account, ip)
    wanted = reference_hash(reference)
    try:
        with transaction.atomic():
            entry = (
                RegisterEntry.objects.select_for_update()
                .select_related("area")
                .filter(reference_hash=wanted, verified_account__isnull=True)
                .first()
            )
            matched = entry is not None and (
                (date_of_birth is not None and entry.dob_hash == dob_hash(date_of_birth))
                or (bool(postcode.strip()) and entry.postcode_hash == postcode_hash(postcode))
            )
            if entry is None or not matched:
                raise _did_not_match()
            profile = ResidentProfile.objects.select_for_update().get(user=account)
            enforce(policies.can_verify_eligibility(account, profile))
            entry.verified_account = account
            entry.verified_at = now
            entry.save(update_fields=["verified_account", "verified_at"])
            dob_matched = date_of_birth is not None and entry.dob_hash == dob_hash(date_of_birth)
            _mark_verified(
                profile,
                method=EligibilityMethod.REGISTER,
                area=entry.area,
                now=now,
                changed_by=account,
                born=date_of_birth if dob_matched else None,
            )
    except ValidationError:
        _failure_record(account, ip)
        raise
    except IntegrityError:
        # Another account took the entry at the same moment: one entry, one account.
        _failure_record(account, ip)
        raise _did_not_match() from None
    return profile


def eligibility_verify_by_code(
    *, user: AnyUser, code: str, ip: str, now: datetime
) -> ResidentProfile:
    """Use a letter's one-time code: eligibility-verified for the code's area, once."""
    enforce(policies.can_verify_eligibility(user, _profile_for(user)))
    account = signed_in(user)
    _attempts_check(account, ip)
    try:
        with transaction.atomic():
            letter = (
                VerificationCode.objects.select_for_update()
                .select_related("area")
                .filter(code_hash=code_hash(code), used_by__isnull=True)
                .first()
            )
            if letter is None:
                raise _did_not_match()
            profile = ResidentProfile.objects.select_for_update().get(user=account)
            enforce(policies.can_verify_eligibility(account, profile))
            letter.used_by = account
            letter.used_at = now
            letter.save(update_fields=["used_by", "used_at"])
            _mark_verified(
                profile,
                method=EligibilityMethod.CODE,
                area=letter.area,
                now=now,
                changed_by=account,
            )
    except ValidationError:
        _failure_record(account, ip)
        raise
    except IntegrityError:
        _failure_record(account, ip)
        raise _did_not_match() from None
    return profile


def eligibility_verify_in_person(
    *, officer: AnyUser, profile: ResidentProfile, now: datetime
) -> ResidentProfile:
    """An officer saw proof of identity and address: recorded with who and when."""
    enforce(policies.can_verify_in_person(officer, profile))
    checked_by = signed_in(officer)
    with transaction.atomic():
        locked = ResidentProfile.objects.select_for_update().get(pk=profile.pk)
        enforce(policies.can_verify_in_person(checked_by, locked))
        _mark_verified(
            locked,
            method=EligibilityMethod.IN_PERSON,
            area=locked.area,
            now=now,
            changed_by=checked_by,
            officer=checked_by,
        )
    profile.refresh_from_db()
    return profile


def verification_code_new() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, CODE_LENGTH, 4))


def verification_codes_generate(
    *, officer: AnyUser, area: Area, count: int, now: datetime
) -> list[str]:
    """``count`` new one-time codes for letters to ``area``. Returned once, to print:
    only their hashes are kept."""
    enforce(policies.can_manage_register(officer))
    if area.is_city_wide:
        raise ValidationError(
            {"area": [_("Choose the area the letters go to, not the whole council.")]}
        )
    if not 1 <= count <= 500:
        raise ValidationError({"count": [_("Generate between 1 and 500 codes at a time.")]})
    created_by = signed_in(officer)
    codes = [verification_code_new() for _ in range(count)]
    VerificationCode.objects.bulk_create(
        VerificationCode(
            area=area, code_hash=code_hash(code), created_by=created_by, created_at=now
        )
        for code in codes
    )
    return codes
