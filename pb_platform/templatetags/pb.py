from datetime import date, datetime
from decimal import Decimal

from django import template
from django.conf import settings
from django.utils import formats
from django.utils.html import format_html

from pb_platform.dates import named_format
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


@register.filter(expects_localtime=True, is_safe=False)
def date_named(value: date | datetime | None, name: str) -> str:
    """``value`` in the active language's format called ``name`` — one of ours beyond
    Django's fixed set, such as ``WEEKDAY_DATETIME_FORMAT`` (pb_platform/formats)."""
    if value in (None, ""):
        return ""
    return formats.date_format(value, named_format(name))


@register.simple_tag
def site_languages() -> list[tuple[str, str]]:
    """The languages the switcher offers, each named in itself ("Polski", not the
    current language's word for it), as ``settings.LANGUAGES`` writes them."""
    return list(settings.LANGUAGES)
