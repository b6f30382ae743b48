"""How sign-up, sign-in and password reset (allauth) treat what people type.

An email address with a control or text-direction character passed Django's
``EmailValidator`` (its domain pattern admits almost any character above U+00A1), was
stored, and then sending the confirmation email raised ``UnicodeError`` turning the
domain into ASCII: a server error, and an account whose address reads differently from
what is stored. Every form allauth shows asks ``clean_email`` first.
"""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from pb_platform.text import text_problem


def email_problem(email: str) -> str | None:
    """Why ``email`` cannot be used to write to someone, or None."""
    if (problem := text_problem(email)) is not None:
        return problem
    _local, _at, domain = email.rpartition("@")
    try:
        domain.encode("idna")
    except UnicodeError:
        return _("Check the part after the @: it cannot be used to send email.")
    return None


class CleanEmailAdapter(DefaultAccountAdapter):
    """The base of the site's allauth adapter (``pb_platform.account_emails``)."""

    def clean_email(self, email: str) -> str:
        if (problem := email_problem(email)) is not None:
            raise ValidationError(problem)
        return super().clean_email(email)
