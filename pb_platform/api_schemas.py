"""What every part of the public API shares (``pb_platform/api.py``): its error
answers and how it writes money."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ninja import Schema

from pb_platform.money import money_quantize


class Problem(Schema):
    """Why there is nothing to return (unknown, not public yet, too many requests)."""

    detail: str


class InvalidQuery(Schema):
    """What was wrong with the query (a page number below 1, an unknown status...)."""

    detail: list[dict[str, Any]]


# The answers other than success that any operation may give, for the OpenAPI document.
ERRORS: dict[int, Any] = {404: Problem, 422: InvalidQuery, 429: Problem}


def money(amount: Decimal) -> str:
    """Money as the API writes it whatever the site's language: a decimal string with
    two places and a dot ("1250.00"), in the round's currency."""
    return str(money_quantize(amount))


def money_or_none(amount: Decimal | None) -> str | None:
    """``money``, or None for an amount not set (an official cost before review)."""
    return None if amount is None else money(amount)
