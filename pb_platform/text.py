"""Clean text: the one check every stored text and every query parameter goes through.

Refused everywhere: C0 and C1 control characters (a newline and a tab are allowed in
multi-line fields) and the bidirectional embeddings, overrides and isolates U+202A–U+202E
and U+2066–U+2069, which can make a title read differently from what is stored ("Trojan
Source"). The left-to-right and right-to-left marks U+200E/U+200F stay: they are how
mixed-direction text is written correctly.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext as _

_CONTROL = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
_BIDI = "\u202a-\u202e\u2066-\u2069"
_FORBIDDEN_MULTILINE = re.compile(f"[{_CONTROL}{_BIDI}]")
_FORBIDDEN_ONE_LINE = re.compile(f"[{_CONTROL}{_BIDI}\t\n\r]")
# The same rule as a pattern that whole one-line texts must match (for the API's
# OpenAPI document, which tells clients what it accepts).
ONE_LINE_TEXT_PATTERN = f"^[^{_CONTROL}{_BIDI}\t\n\r]*$"


def text_problem(value: str, *, multiline: bool = False) -> str | None:
    """Why ``value`` cannot be stored as text, or None. (A carriage return is accepted in
    multi-line text: browsers send line breaks as CR LF; ``text_clean`` folds them.)"""
    pattern = _FORBIDDEN_MULTILINE if multiline else _FORBIDDEN_ONE_LINE
    match = pattern.search(value)
    if match is None:
        return None
    if not multiline and match.group() in "\t\n\r":
        return _("Keep this on one line.")
    return _(
        "This contains an invisible control or text-direction character (%(code)s). "
        "Remove it, or retype the text instead of pasting it."
    ) % {"code": f"U+{ord(match.group()):04X}"}


def text_clean(
    value: str,
    *,
    field: str,
    max_length: int,
    multiline: bool = False,
    required_message: str | None = None,
) -> str:
    """``value`` trimmed (line breaks as LF), or ``ValidationError`` keyed by ``field``.

    ``required_message`` makes the text required and is the message when it is empty.
    """
    if not isinstance(value, str):
        raise ValidationError({field: [_("Enter text.")]})
    if multiline:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    problem = text_problem(value, multiline=multiline)
    if problem is not None:
        raise ValidationError({field: [problem]})
    value = value.strip()
    if required_message is not None and not value:
        raise ValidationError({field: [required_message]})
    if len(value) > max_length:
        raise ValidationError(
            {
                field: [
                    _("Keep it to %(limit)s characters or fewer (this has %(count)s).")
                    % {"limit": f"{max_length:,}", "count": f"{len(value):,}"}
                ]
            }
        )
    return value


def query_text(request: HttpRequest, name: str, *, max_length: int = 200) -> tuple[str, str | None]:
    """A text query parameter (a search box), trimmed, and the problem with it if any.

    A value that cannot be searched for (a NUL byte, a control character) comes back as
    "" with a message to show beside the box, never as a server error.
    """
    value = request.GET.get(name, "")
    try:
        return text_clean(value, field=name, max_length=max_length), None
    except ValidationError as error:
        return "", error.message_dict[name][0]


class CleanTextFormMixin:
    """Checks every text a form accepts with ``text_problem``: text areas as multi-line,
    every other text input as one line. Mix into any ``forms.Form`` before it."""

    fields: dict[str, forms.Field]
    cleaned_data: dict[str, Any]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()  # type: ignore[misc]
        for name, value in list(cleaned.items()):
            if not isinstance(value, str):
                continue
            field = self.fields.get(name)
            multiline = field is not None and isinstance(field.widget, forms.Textarea)
            problem = text_problem(value, multiline=multiline)
            if problem is not None:
                self.add_error(name, problem)  # type: ignore[attr-defined]
        return cleaned


# A spreadsheet runs a cell that starts with = + - @ (or a tab or a carriage return) as a
# formula ("CSV injection"), so such a cell gets a leading ' and shows as text. A cell
# that already starts with ' gets one too, so the rule can be undone exactly: strip one
# leading ' (the ledger's checker does, on the columns people type into).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "'")


def csv_cell(value: object) -> str:
    """A CSV cell a spreadsheet shows as text, never runs as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text
