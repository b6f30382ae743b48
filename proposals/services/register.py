"""The council's resident register: keyed hashes, the CSV import and its dry run.

Identifying values (a reference number, a date of birth, a postcode) are normalised and
kept only as HMAC-SHA256 digests keyed with ``settings.REGISTER_HMAC_KEY``; they are
never stored, logged or shown back as typed. Normalised so that what a resident types
matches what the council's file says: a reference is trimmed and case-folded, a postcode
upper-cased without spaces, a date written as ISO YYYY-MM-DD. Each kind of value is
hashed under its own label, so a postcode can never match a reference.

An import is checked row by row (``register_import`` with ``dry_run=True`` only
reports); applied, it is all-or-nothing: one transaction, refused outright if any row
is refused, so the register never holds half a file.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify
from django.utils.translation import gettext as _

from pb_platform.dates import EARLIEST_YEAR
from pb_platform.policies import enforce
from pb_platform.users import AnyUser, signed_in
from proposals import policies
from proposals.models import (
    Area,
    BudgetRound,
    EligibilityMethod,
    RegisterEntry,
    RegisterImport,
    ResidentProfile,
    VerificationCode,
)
from proposals.services.residents import resident_area_move

# An upload larger than this is not a council's register but a mistake.
REGISTER_FILE_MAX_BYTES = 20 * 1024 * 1024
REFERENCE_MAX_LENGTH = 100

ADDED = "added"
CHANGED = "changed"
UNCHANGED = "unchanged"
REFUSED = "refused"
OUTCOMES = (ADDED, CHANGED, UNCHANGED, REFUSED)


# --- Normalising and hashing ---------------------------------------------------------------


def reference_normalise(raw: str) -> str:
    return " ".join(raw.split()).casefold()


def postcode_normalise(raw: str) -> str:
    return "".join(raw.split()).upper()


def date_of_birth_parse(raw: str) -> date | None:
    """A date written YYYY-MM-DD (or DD/MM/YYYY, as UK spreadsheets export it), or None."""
    text = raw.strip()
    for parse in (_iso_date, _day_month_year):
        try:
            return parse(text)
        except ValueError:
            continue
    return None


def _iso_date(text: str) -> date:
    if len(text) != 10:
        raise ValueError(text)
    return date.fromisoformat(text)


def _day_month_year(text: str) -> date:
    day, month, year = text.split("/")
    if len(year) != 4:
        raise ValueError(text)
    return date(int(year), int(month), int(day))


def _keyed_hash(kind: str, value: str) -> str:
    key = settings.REGISTER_HMAC_KEY.encode()
    return hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def reference_hash(raw: str) -> str:
    return _keyed_hash("reference", reference_normalise(raw))


def dob_hash(day: date) -> str:
    return _keyed_hash("date_of_birth", day.isoformat())


def postcode_hash(raw: str) -> str:
    return _keyed_hash("postcode", postcode_normalise(raw))


def code_hash(raw: str) -> str:
    """Letter codes are typed with or without their dashes, in either case."""
    return _keyed_hash("code", "".join(ch for ch in raw.upper() if ch.isalnum()))


# --- Reading the file -----------------------------------------------------------------------


@dataclass(frozen=True)
class RowReport:
    """What happens to one row: never its identifying values, only where it is and why."""

    row_number: int  # as a spreadsheet numbers it: the header is row 1
    outcome: str
    reason: str = ""
    area_name: str = ""


@dataclass
class ImportReport:
    rows: list[RowReport] = field(default_factory=list)
    applied: bool = False
    record: RegisterImport | None = None

    @property
    def counts(self) -> dict[str, int]:
        counted = Counter(row.outcome for row in self.rows)
        return {outcome: counted.get(outcome, 0) for outcome in OUTCOMES}

    @property
    def has_refusals(self) -> bool:
        return any(row.outcome == REFUSED for row in self.rows)


@dataclass(frozen=True)
class _Planned:
    row_number: int
    reference_hash: str
    area: Area
    dob_hash: str | None
    postcode_hash: str | None


def _decode(csv_bytes: bytes) -> str:
    if len(csv_bytes) > REGISTER_FILE_MAX_BYTES:
        raise ValidationError(
            _("The file is larger than %(size)d MB. Split it, or check it is the register.")
            % {"size": REGISTER_FILE_MAX_BYTES // (1024 * 1024)}
        )
    try:
        # utf-8-sig drops a byte order mark if Excel wrote one, and reads plain UTF-8 too.
        return csv_bytes.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError(
            _("The file is not UTF-8 text. Save it as “CSV UTF-8” and try again.")
        ) from None


def _area_lookup() -> dict[str, Area]:
    lookup: dict[str, Area] = {}
    for area in Area.objects.all():
        lookup[area.slug.casefold()] = area
        lookup[area.name.casefold()] = area
    return lookup


def _read(text: str) -> tuple[list[str], Iterable[list[str]]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [name.strip().casefold() for name in next(reader)]
    except StopIteration:
        raise ValidationError(_("The file is empty.")) from None
    except csv.Error:
        raise ValidationError(_("The file is not a CSV file.")) from None
    missing = [name for name in ("reference", "area") if name not in header]
    if "date_of_birth" not in header and "postcode" not in header:
        missing.append("date_of_birth or postcode")
    if missing:
        raise ValidationError(
            _(
                "The header row must name the columns reference, date_of_birth or postcode, "
                "and area. Missing: %(missing)s."
            )
            % {"missing": ", ".join(missing)}
        )
    return header, reader


def _plan_row(
    row_number: int,
    values: dict[str, str],
    *,
    areas: dict[str, Area],
    today: date,
    seen: dict[str, int],
) -> _Planned | RowReport:
    def refuse(reason: str) -> RowReport:
        return RowReport(row_number=row_number, outcome=REFUSED, reason=reason)

    reference = reference_normalise(values.get("reference", ""))
    if not reference:
        return refuse(_("No reference."))
    if len(reference) > REFERENCE_MAX_LENGTH:
        return refuse(_("The reference is longer than %d characters.") % REFERENCE_MAX_LENGTH)
    raw_date = values.get("date_of_birth", "").strip()
    raw_postcode = values.get("postcode", "").strip()
    born: date | None = None
    if raw_date:
        born = date_of_birth_parse(raw_date)
        if born is None:
            return refuse(_("The date of birth is not a date (write it as YYYY-MM-DD)."))
        if born > today or born.year < EARLIEST_YEAR:
            return refuse(_("The date of birth is not plausible."))
    if born is None and not raw_postcode:
        return refuse(_("Neither a date of birth nor a postcode."))
    raw_area = values.get("area", "").strip()
    area = areas.get(raw_area.casefold()) or areas.get(slugify(raw_area))
    if area is None:
        return refuse(_("Unknown area “%s”.") % raw_area[:80] if raw_area else _("No area."))
    if area.is_city_wide:
        return refuse(
            _("“%s” covers the whole council: give the area the person lives in.") % area.name
        )
    hashed = _keyed_hash("reference", reference)
    if hashed in seen:
        return refuse(_("The same reference as row %d of this file.") % seen[hashed])
    seen[hashed] = row_number
    return _Planned(
        row_number=row_number,
        reference_hash=hashed,
        area=area,
        dob_hash=dob_hash(born) if born else None,
        postcode_hash=postcode_hash(raw_postcode) if raw_postcode else None,
    )


def _plan(
    text: str, *, today: date, existing: dict[str, RegisterEntry]
) -> tuple[list[RowReport], list[_Planned]]:
    header, reader = _read(text)
    areas = _area_lookup()
    seen: dict[str, int] = {}
    reports: list[RowReport] = []
    planned: list[_Planned] = []
    try:
        for row_number, cells in enumerate(reader, start=2):
            if not any(cell.strip() for cell in cells):
                continue  # blank lines at the end of a spreadsheet export
            if len(cells) != len(header):
                reports.append(
                    RowReport(
                        row_number=row_number,
                        outcome=REFUSED,
                        reason=_("%(found)d columns where the header has %(expected)d.")
                        % {"found": len(cells), "expected": len(header)},
                    )
                )
                continue
            result = _plan_row(
                row_number,
                dict(zip(header, cells, strict=True)),
                areas=areas,
                today=today,
                seen=seen,
            )
            if isinstance(result, RowReport):
                reports.append(result)
                continue
            planned.append(result)
            reports.append(
                RowReport(
                    row_number=row_number,
                    outcome=_outcome(result, existing.get(result.reference_hash)),
                    area_name=result.area.name,
                )
            )
    except csv.Error as error:
        raise ValidationError(
            _("The file could not be read as CSV (%(error)s).") % {"error": error}
        ) from None
    return reports, planned


def _outcome(planned: _Planned, entry: RegisterEntry | None) -> str:
    if entry is None:
        return ADDED
    if (entry.area_id, entry.dob_hash, entry.postcode_hash) == (
        planned.area.pk,
        planned.dob_hash,
        planned.postcode_hash,
    ):
        return UNCHANGED
    return CHANGED


def _existing(
    hashes: Iterable[str] | None = None, *, lock: bool = False
) -> dict[str, RegisterEntry]:
    entries = RegisterEntry.objects.all()
    if lock:
        # Rows in a fixed order, so two imports at once wait for each other, not deadlock.
        entries = entries.select_for_update().order_by("pk")
    return {entry.reference_hash: entry for entry in entries}


# --- The import --------------------------------------------------------------------------


def register_import(
    *,
    officer: AnyUser,
    csv_bytes: bytes,
    file_name: str,
    dry_run: bool,
    now: datetime,
) -> ImportReport:
    """Check a register file row by row and, unless ``dry_run``, apply it all at once.

    Rows of references already on the register update them (``changed``) or not
    (``unchanged``); entries missing from the file stay. Refused when not a dry run if
    any row is refused: nothing is written, and the report says which rows and why.
    An entry whose area changes moves its verified resident the way an officer's change
    would: pending while that resident may vote (``resident_area_move``).
    """
    enforce(policies.can_manage_register(officer))
    text = _decode(csv_bytes)
    today = now.date()
    if dry_run:
        reports, _planned = _plan(text, today=today, existing=_existing())
        return ImportReport(rows=reports)
    with transaction.atomic():
        existing = _existing(lock=True)
        reports, planned = _plan(text, today=today, existing=existing)
        report = ImportReport(rows=reports)
        if report.has_refusals:
            return report
        counts = report.counts
        record = RegisterImport.objects.create(
            imported_by=signed_in(officer),
            imported_at=now,
            file_name=file_name[:255],
            added=counts[ADDED],
            changed=counts[CHANGED],
            unchanged=counts[UNCHANGED],
            refused=counts[REFUSED],
        )
        new_entries = []
        for item in planned:
            entry = existing.get(item.reference_hash)
            if entry is None:
                new_entries.append(
                    RegisterEntry(
                        area=item.area,
                        reference_hash=item.reference_hash,
                        dob_hash=item.dob_hash,
                        postcode_hash=item.postcode_hash,
                        imported_in=record,
                    )
                )
            elif _outcome(item, entry) == CHANGED:
                moved = entry.area_id != item.area.pk
                entry.area = item.area
                entry.dob_hash = item.dob_hash
                entry.postcode_hash = item.postcode_hash
                entry.imported_in = record
                entry.save(update_fields=["area", "dob_hash", "postcode_hash", "imported_in"])
                if moved and entry.verified_account_id is not None:
                    _move_verified_resident(entry, record=record, now=now)
        RegisterEntry.objects.bulk_create(new_entries, batch_size=1000)
        report.applied = True
        report.record = record
    return report


def _move_verified_resident(entry: RegisterEntry, *, record: RegisterImport, now: datetime) -> None:
    account_id = entry.verified_account_id
    profile = ResidentProfile.objects.filter(user_id=account_id).first() if account_id else None
    if profile is None or entry.area_id in (profile.area_id, profile.pending_area_id):
        return
    resident_area_move(
        profile=profile,
        area=entry.area,
        changed_by=record.imported_by,
        reason=_("The council's register gives this area (import of %(file)s).")
        % {"file": record.file_name},
        now=now,
    )


# --- Retention ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PurgeResult:
    entries: int = 0
    codes: int = 0
    # Why nothing was deleted, when nothing could be.
    refusal: str = ""


def register_purge_refusal(*, now: datetime) -> str:
    """Why the register must be kept at ``now``, or "": a round not yet voting, voting,
    or closed less than ``REGISTER_RETENTION_DAYS`` ago may still need it."""
    keep_until = now - timedelta(days=settings.REGISTER_RETENTION_DAYS)
    holding = (
        BudgetRound.objects.filter(is_imported=False, voting_ends__gt=keep_until)
        .order_by("-voting_ends")
        .first()
    )
    if holding is None:
        return ""
    return _("“%(round)s” votes until %(ends)s; the register is kept %(days)d days after that.") % {
        "round": holding.name,
        "ends": holding.voting_ends.date().isoformat(),
        "days": settings.REGISTER_RETENTION_DAYS,
    }


def register_purge(*, now: datetime, dry_run: bool = False) -> PurgeResult:
    """Delete the register and the unused letter codes once no round needs them.

    The import log stays (it holds counts, not people). Verification by a deleted
    register no longer counts: those residents verify again against the next register
    (their eligibility record says when they were verified and how, until then). Letter
    codes already used and in-person checks stay.
    """
    if refusal := register_purge_refusal(now=now):
        return PurgeResult(refusal=refusal)
    with transaction.atomic():
        entries = RegisterEntry.objects.all()
        codes = VerificationCode.objects.filter(used_by__isnull=True)
        result = PurgeResult(entries=entries.count(), codes=codes.count())
        if dry_run:
            return result
        ResidentProfile.objects.filter(eligibility_method=EligibilityMethod.REGISTER).update(
            eligibility_method="", eligibility_verified_at=None, updated_at=now
        )
        entries.delete()
        codes.delete()
    return result
