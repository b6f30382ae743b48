"""Dates people type: the one place that says which are plausible.

Django's date fields accept 0001-01-01 and 9999-12-31, and converting such a date
between time zones overflows. Every date a form takes goes through ``DateFormField``
(or ``DateTimeFormField``), which refuses years outside ``EARLIEST_YEAR``–``LATEST_YEAR``
with a message; services then check the window that makes sense for the thing dated.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import formats, translation
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from pb_platform.formats.en_GB import formats as british_formats

EARLIEST_YEAR = 1900
LATEST_YEAR = 2200
# Contracts, invoices and delivery news may date from before the round (planning starts
# early) but not from further back than this.
YEARS_BEFORE_ROUND = 10

DATE_FORMAT_HELP = gettext_lazy("Enter a date as year-month-day, for example 2026-03-31.")


def years_before(moment: date, years: int) -> date:
    """The same day ``years`` earlier (28 February for 29 February in a short year)."""
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:
        return moment.replace(year=moment.year - years, day=28)


# Our date formats beyond Django's fixed set of names; a language whose format module
# (pb_platform/formats) lacks one gets the British English pattern.
EXTRA_FORMATS = ("WEEKDAY_DATETIME_FORMAT", "WEEKDAY_DATE_FORMAT", "EXACT_DATETIME_FORMAT")


def named_format(name: str) -> str:
    """The active language's pattern for the format ``name``: one of Django's names
    (``DATE_FORMAT``…), which ``date_format`` looks up itself, or one of ours."""
    if name not in EXTRA_FORMATS:
        return name
    for module in formats.get_format_modules(translation.get_language()):
        pattern = getattr(module, name, None)
        if pattern:
            return str(pattern)
    return str(getattr(british_formats, name))


def _shown(day: date) -> str:
    return formats.date_format(day, "DATE_FORMAT")


def date_check(
    value: date, *, field: str, earliest: date | None = None, latest: date | None = None
) -> date:
    """``value`` if it falls within [earliest, latest], else ``ValidationError`` keyed by
    ``field`` saying which limit it broke."""
    if isinstance(value, datetime):
        value = value.date()
    if latest is not None and value > latest:
        if latest == date.today():
            message = _("The date cannot be in the future.")
        else:
            message = _("The date must be on or before %(day)s.") % {"day": _shown(latest)}
        raise ValidationError({field: [message]})
    if earliest is not None and value < earliest:
        raise ValidationError(
            {field: [_("The date must be on or after %(day)s.") % {"day": _shown(earliest)}]}
        )
    return value


def happened_check(value: date, *, field: str, round_starts: datetime, today: date) -> date:
    """A date something already happened on (a contract, a payment, delivery news):
    not in the future, and no earlier than ``YEARS_BEFORE_ROUND`` before the round."""
    earliest = years_before(round_starts.date(), YEARS_BEFORE_ROUND)
    if value > today:
        raise ValidationError({field: [_("The date cannot be in the future.")]})
    return date_check(value, field=field, earliest=earliest, latest=today)


def _year_problem(year: int) -> str | None:
    if EARLIEST_YEAR <= year <= LATEST_YEAR:
        return None
    return _("Check the year: it must be between %(first)d and %(last)d.") % {
        "first": EARLIEST_YEAR,
        "last": LATEST_YEAR,
    }


class DateFormField(forms.DateField):
    """A date field that refuses implausible years with a message instead of passing
    them on (where time-zone arithmetic on them could fail)."""

    default_error_messages = {"invalid": DATE_FORMAT_HELP}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("widget", forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> date | None:
        parsed = super().to_python(value)
        if parsed is not None and (problem := _year_problem(parsed.year)):
            raise ValidationError(problem, code="year")
        return parsed


class DateTimeFormField(forms.DateTimeField):
    """``DateFormField``'s year check for date-and-time fields, applied before Django
    makes the value aware of the time zone (which overflows near year 9999)."""

    def to_python(self, value: Any) -> datetime | None:
        if isinstance(value, str) and value.strip():
            year = _year_written(value.strip(), self.input_formats)
            if year is not None and (problem := _year_problem(year)):
                raise ValidationError(problem, code="year")
        return super().to_python(value)


def _year_written(text: str, input_formats: Any) -> int | None:
    """The year of a date-time as typed, read the way Django's field will read it."""
    try:
        parsed = parse_datetime(text)
    except ValueError:
        parsed = None
    if parsed is not None:
        return parsed.year
    for fmt in input_formats or formats.get_format("DATETIME_INPUT_FORMATS"):
        try:
            return datetime.strptime(text, fmt).year
        except (ValueError, TypeError):
            continue
    return None
