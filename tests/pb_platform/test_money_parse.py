"""Every amount of money enters through ``money_parse``: a clear message, never a 500."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from pb_platform.money import MONEY_MAX, MoneyFormField, money_parse


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("1250.50", Decimal("1250.50")),
        ("  1250 ", Decimal("1250.00")),
        ("0001250.5", Decimal("1250.50")),
        ("999999999999.99", Decimal("999999999999.99")),
        (7, Decimal("7.00")),
        (Decimal("12.3"), Decimal("12.30")),
    ],
)
def test_plain_amounts_are_read_and_rounded_to_pence(typed, expected):
    amount = money_parse(typed)
    assert amount == expected
    assert amount.as_tuple().exponent == -2


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("1e30", "in figures"),
        ("1e400", "in figures"),
        ("NaN", "in figures"),
        ("Infinity", "in figures"),
        ("-inf", "in figures"),
        ("0x10", "in figures"),
        ("£5", "in figures"),
        ("-5", "more than zero"),
        ("0", "more than zero"),
        ("12.345", "two decimal places"),
        ("1,000", "thousands separators"),
        ("1 000", "thousands separators"),
        ("", "Enter an amount"),
        ("1000000000000", "too large"),
        ("9" * 400, "too large"),
        (Decimal("1e400"), "too large"),
        (Decimal("NaN"), "in figures"),
        (Decimal("-Infinity"), "in figures"),
        (True, "in figures"),
        (1.5, "in figures"),
    ],
)
def test_anything_else_is_a_message_on_the_field(typed, message):
    with pytest.raises(ValidationError) as caught:
        money_parse(typed, field="cost")
    assert message in caught.value.message_dict["cost"][0]


def test_zero_is_accepted_only_when_asked_for():
    assert money_parse("0", allow_zero=True) == Decimal("0.00")


def test_the_largest_amount_is_what_the_column_holds():
    assert money_parse(str(MONEY_MAX)) == MONEY_MAX
    with pytest.raises(ValidationError):
        money_parse(str(MONEY_MAX + Decimal("0.01")))


def test_polish_decimal_comma_means_the_same_amount():
    with translation.override("pl"):
        assert money_parse("1250,50") == Decimal("1250.50")
        assert money_parse("1250.50") == Decimal("1250.50")
        # In Polish, and with the Polish example of what to write instead.
        with pytest.raises(ValidationError, match=r"separatorów tysięcy, np\. 1250,50"):
            money_parse("1.250,50")
    with pytest.raises(ValidationError, match="thousands"):
        money_parse("1250,50")  # in English a comma can only be a thousands separator


def test_the_form_field_gives_the_same_message_as_the_service():
    field = MoneyFormField()
    assert field.clean("10.50") == Decimal("10.50")
    with pytest.raises(ValidationError) as caught:
        field.clean("1e30")
    assert caught.value.messages == ["Enter the amount in figures, such as 1250.50."]
    assert field.widget.attrs["inputmode"] == "decimal"
