from decimal import Decimal

from django import template

from pb_platform.money import money_format

register = template.Library()


@register.simple_tag
def money(amount: Decimal | None, currency: str) -> str:
    if amount is None:
        return "–"
    return money_format(amount, currency)
