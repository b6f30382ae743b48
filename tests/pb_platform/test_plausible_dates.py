"""Dates people type: implausible years get a message before any time-zone arithmetic."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from pb_platform.dates import DateFormField, DateTimeFormField, happened_check, years_before


@pytest.mark.parametrize("typed", ["0001-01-01", "9999-12-31", "1899-12-31", "2201-01-01"])
def test_date_fields_refuse_implausible_years(typed):
    with pytest.raises(ValidationError, match="between 1900 and 2200"):
        DateFormField().clean(typed)


@pytest.mark.parametrize("typed", ["0001-01-01T00:00", "9999-12-31T23:59", "9999-12-31 23:59"])
def test_date_time_fields_refuse_them_before_the_time_zone_overflows(typed):
    with pytest.raises(ValidationError, match="between 1900 and 2200"):
        DateTimeFormField().clean(typed)


def test_ordinary_dates_pass():
    assert DateFormField().clean("2026-03-31") == date(2026, 3, 31)
    assert DateTimeFormField().clean("2026-03-31T10:00").year == 2026
    with pytest.raises(ValidationError, match="year-month-day"):
        DateFormField().clean("2026-02-30")


def test_things_that_happened_are_not_in_the_future_nor_long_before_the_round():
    starts = datetime(2026, 1, 10, tzinfo=ZoneInfo("Europe/London"))
    today = date(2026, 12, 2)
    assert happened_check(date(2020, 5, 1), field="d", round_starts=starts, today=today)
    with pytest.raises(ValidationError, match="future"):
        happened_check(date(2026, 12, 3), field="d", round_starts=starts, today=today)
    with pytest.raises(ValidationError, match="on or after 10 January 2016"):
        happened_check(date(2016, 1, 9), field="d", round_starts=starts, today=today)


def test_years_before_a_leap_day():
    assert years_before(date(2024, 2, 29), 10) == date(2014, 2, 28)
