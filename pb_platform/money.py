"""Money is Decimal, stored with a currency, rounded explicitly. Never float."""

from __future__ import annotations

import functools
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.numbers import format_currency, get_currency_name
from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import translation
from django.utils.formats import get_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

CURRENCY_CHOICES = [
    ("GBP", "GBP – Pound sterling"),
    ("EUR", "EUR – Euro"),
    ("PLN", "PLN – Polish złoty"),
    ("USD", "USD – US dollar"),
    ("CAD", "CAD – Canadian dollar"),
    ("AUD", "AUD – Australian dollar"),
    ("NZD", "NZD – New Zealand dollar"),
    ("CHF", "CHF – Swiss franc"),
    ("SEK", "SEK – Swedish krona"),
    ("NOK", "NOK – Norwegian krone"),
    ("DKK", "DKK – Danish krone"),
    ("CZK", "CZK – Czech koruna"),
]
CURRENCY_CODES = [code for code, _label in CURRENCY_CHOICES]


def currency_choices() -> list[tuple[str, str]]:
    """The currencies a form offers, each named in the reader's language ("PLN – złoty
    polski" in Polish), from the same CLDR data as ``money_format``."""
    locale = _babel_locale(translation.get_language())
    return [(code, f"{code} – {get_currency_name(code, locale=locale)}") for code in CURRENCY_CODES]


MONEY_QUANTUM = Decimal(1).scaleb(-settings.MONEY_DECIMAL_PLACES)
# The largest amount a money column holds (e.g. 999,999,999,999.99 for 14 digits).
MONEY_MAX = Decimal(10) ** (settings.MONEY_MAX_DIGITS - settings.MONEY_DECIMAL_PLACES) - (
    MONEY_QUANTUM
)
# Digits, then optionally one decimal point and digits: no signs, exponents, NaN,
# Infinity, spaces or thousands separators (those are refused with their own message).
_PLAIN_AMOUNT = re.compile(r"\d+(?:\.\d+)?", re.ASCII)


def money_quantize(amount: Decimal) -> Decimal:
    """Round to the project's money precision, half up (the rounding councils use)."""
    if not isinstance(amount, Decimal):
        raise TypeError(f"money must be Decimal, not {type(amount).__name__}")
    return amount.quantize(MONEY_QUANTUM, rounding=ROUND_HALF_UP)


def money_from_fraction(amount: Fraction) -> Decimal:
    """An exact amount (the counting rules' and explanations' fractions) as money,
    rounded half up to the money precision: exact until here."""
    return money_quantize(Decimal(amount.numerator) / Decimal(amount.denominator))


def money_format(amount: Decimal, currency: str) -> str:
    """``amount`` written for a reader in the active language, with the currency's
    symbol or code where that language puts it: "£12,500.00" or "PLN 12,500.00" in
    English, "12 500,00 zł" or "12 500,00 GBP" in Polish (Unicode CLDR, through Babel).
    Pages and emails only: every data format writes plain ``1250.00`` instead."""
    text = format_currency(
        money_quantize(amount), currency, locale=_babel_locale(translation.get_language())
    )
    # CLDR's currency spacing, which Babel leaves out: a code written before the figures
    # is set apart from them ("PLN 12,500.00", not "PLN12,500.00").
    return _CODE_AGAINST_DIGIT.sub("\\1\u00a0\\2", text)


_CODE_AGAINST_DIGIT = re.compile(r"([A-Za-z])(\d)")


@functools.lru_cache(maxsize=16)
def _babel_locale(language: str | None) -> Locale:
    try:
        return Locale.parse(translation.to_locale(language or settings.LANGUAGE_CODE))
    except (ValueError, UnknownLocaleError):
        return Locale.parse(translation.to_locale(settings.LANGUAGE_CODE))


def money_field(**kwargs: Any) -> models.DecimalField:
    return models.DecimalField(
        max_digits=settings.MONEY_MAX_DIGITS,
        decimal_places=settings.MONEY_DECIMAL_PLACES,
        **kwargs,
    )


def _amount_problem(value: Decimal, *, allow_zero: bool) -> str | None:
    """What is wrong with a finite amount, checked before any rounding (quantizing an
    absurd number such as 1e30 raises), or None."""
    if value < 0 or (value == 0 and not allow_zero):
        return _("The amount must be more than zero.")
    if value > MONEY_MAX:
        return _("The amount is too large: the most is %(max)s.") % {"max": f"{MONEY_MAX:,}"}
    if value != value.quantize(MONEY_QUANTUM, rounding=ROUND_HALF_UP):
        return _("Use at most two decimal places (pence or cents).")
    return None


def _text_to_decimal(text: str) -> Decimal | str:
    """The amount written in ``text``, or the message saying why it is not one.

    The active language's decimal separator is accepted ("1250,50" in Polish); a full
    stop always is. Anything else — exponents, NaN, signs, spaces, a thousands
    separator — is refused with a message that says what to write instead.
    """
    text = text.strip()
    if not text:
        return _("Enter an amount.")
    separator = get_format("DECIMAL_SEPARATOR")
    if separator != "." and separator in text:
        if "." in text:
            return _("Write the amount without thousands separators, such as 1250.50.")
        text = text.replace(separator, ".")
    if text.startswith("-") and _PLAIN_AMOUNT.fullmatch(text[1:]):
        return _("The amount must be more than zero.")
    if not _PLAIN_AMOUNT.fullmatch(text):
        if re.fullmatch(r"[\d.,\s\u00a0\u202f']+", text) and re.search(r"\d", text):
            return _("Write the amount without thousands separators or spaces, such as 1250.50.")
        return _("Enter the amount in figures, such as 1250.50.")
    integer_part = text.split(".")[0].lstrip("0")
    if len(integer_part) > settings.MONEY_MAX_DIGITS - settings.MONEY_DECIMAL_PLACES:
        return _("The amount is too large: the most is %(max)s.") % {"max": f"{MONEY_MAX:,}"}
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern above admits only numbers
        return _("Enter the amount in figures, such as 1250.50.")


def _as_decimal(value: object) -> Decimal | str:
    """``value`` as a finite Decimal, or the message saying why it is not an amount."""
    not_figures = _("Enter the amount in figures, such as 1250.50.")
    if isinstance(value, str):
        return _text_to_decimal(value)
    if isinstance(value, bool):
        return not_figures
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal) and value.is_finite():
        return value
    return not_figures


def money_parse(
    value: str | Decimal | int, *, field: str = "amount", allow_zero: bool = False
) -> Decimal:
    """The one way an amount of money enters the platform, from a form or from code.

    Returns the amount rounded to the money precision, or raises ``ValidationError``
    keyed by ``field`` with a message for the person who typed it. Never raises
    anything else, whatever the input (``1e400``, ``NaN``, ``"1,000"``…).
    """
    amount = _as_decimal(value)
    if isinstance(amount, str):
        raise ValidationError({field: [amount]})
    if (problem := _amount_problem(amount, allow_zero=allow_zero)) is not None:
        raise ValidationError({field: [problem]})
    return money_quantize(amount)


class MoneyFormField(forms.CharField):
    """A form field for an amount: text in, ``Decimal`` out, parsed by ``money_parse``
    so the form and the service give the same message for the same input."""

    default_error_messages = {"required": gettext_lazy("Enter an amount.")}

    def __init__(self, *, allow_zero: bool = False, **kwargs: Any) -> None:
        self.allow_zero = allow_zero
        kwargs.setdefault("max_length", 40)
        super().__init__(**kwargs)
        self.widget.attrs.setdefault("inputmode", "decimal")
        self.widget.attrs.setdefault("autocomplete", "off")

    def clean(self, value: Any) -> Decimal | None:
        text = super().clean(value)
        if text in self.empty_values:
            return None
        try:
            return money_parse(text, allow_zero=self.allow_zero)
        except ValidationError as error:
            raise ValidationError(error.message_dict["amount"]) from None
