from decimal import Decimal

from django import template
from django.utils.html import format_html

from pb_platform.money import money_format
from pb_platform.once import TOKEN_FIELD, submission_token_new

register = template.Library()


@register.simple_tag
def money(amount: Decimal | None, currency: str) -> str:
    if amount is None:
        return "–"
    return money_format(amount, currency)


@register.simple_tag
def submission_token() -> str:
    """The hidden one-time token every creating form carries (see ``pb_platform.once``)."""
    return format_html(
        '<input type="hidden" name="{}" value="{}">', TOKEN_FIELD, submission_token_new()
    )
