"""Money is Decimal, stored with a currency, rounded explicitly. Never float."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.db import models

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
CURRENCY_SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$"}

MONEY_QUANTUM = Decimal(1).scaleb(-settings.MONEY_DECIMAL_PLACES)


def money_quantize(amount: Decimal) -> Decimal:
    """Round to the project's money precision, half up (the rounding councils use)."""
    if not isinstance(amount, Decimal):
        raise TypeError(f"money must be Decimal, not {type(amount).__name__}")
    return amount.quantize(MONEY_QUANTUM, rounding=ROUND_HALF_UP)


def money_format(amount: Decimal, currency: str) -> str:
    """Plain display such as "£12,500.00" or "12,500.00 PLN"."""
    text = f"{money_quantize(amount):,}"
    symbol = CURRENCY_SYMBOLS.get(currency)
    if symbol is None:
        return f"{text} {currency}"
    if text.startswith("-"):
        return f"-{symbol}{text[1:]}"
    return f"{symbol}{text}"


def money_field(**kwargs: Any) -> models.DecimalField:
    return models.DecimalField(
        max_digits=settings.MONEY_MAX_DIGITS,
        decimal_places=settings.MONEY_DECIMAL_PLACES,
        **kwargs,
    )
