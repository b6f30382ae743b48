"""Stored text and query parameters: control and bidi-override characters are refused."""

from __future__ import annotations

import pytest
from django import forms
from django.core.exceptions import ValidationError
from django.test import RequestFactory

from pb_platform.text import CleanTextFormMixin, query_text, text_clean


@pytest.mark.parametrize(
    "char", ["\x00", "\x07", "\x1b", "\x7f", "\x85", "\x9f", "\u202a", "\u202e", "\u2066", "\u2069"]
)
def test_controls_and_direction_overrides_are_refused(char):
    with pytest.raises(ValidationError) as caught:
        text_clean(f"Park{char}bench", field="title", max_length=100, multiline=True)
    assert f"U+{ord(char):04X}" in caught.value.message_dict["title"][0]


def test_direction_marks_and_ordinary_unicode_are_kept():
    text = "Ogród \u200fשלום\u200e 🌳"
    assert text_clean(f"  {text}  ", field="t", max_length=100) == text


def test_line_breaks_only_in_multiline_text_and_folded_to_lf():
    assert text_clean("a\r\nb\tc", field="d", max_length=10, multiline=True) == "a\nb\tc"
    with pytest.raises(ValidationError, match="one line"):
        text_clean("a\nb", field="t", max_length=10)


def test_limits_are_stated_and_required_text_says_what_is_missing():
    with pytest.raises(ValidationError) as caught:
        text_clean("x" * 1201, field="t", max_length=1200)
    assert caught.value.message_dict["t"] == [
        "Keep it to 1,200 characters or fewer (this has 1,201)."
    ]
    with pytest.raises(ValidationError, match="Name it"):
        text_clean("   ", field="t", max_length=5, required_message="Name it.")


def test_a_search_box_with_a_nul_byte_gets_a_message_not_an_error():
    request = RequestFactory().get("/officer/residents/", {"q": "ab\x00c"})
    assert query_text(request, "q") == (
        "",
        "This contains an invisible control or text-direction character (U+0000). "
        "Remove it, or retype the text instead of pasting it.",
    )
    assert query_text(RequestFactory().get("/", {"q": "  Priya "}), "q") == ("Priya", None)


class _Form(CleanTextFormMixin, forms.Form):
    title = forms.CharField()
    body = forms.CharField(widget=forms.Textarea)


def test_the_form_mixin_puts_the_message_on_the_field():
    form = _Form({"title": "Evil\u202etxt.exe", "body": "line one\nline two"})
    assert not form.is_valid()
    assert list(form.errors) == ["title"]
    assert _Form({"title": "Fine", "body": "line one\r\nline two"}).is_valid()
