"""allauth's emails go through the outbox: tests read them after a sweep, as beat runs it."""

from __future__ import annotations

from django.core import mail
from django.core.mail import EmailMessage
from django.utils import timezone

from pb_platform.outbox import outbox_sweep


def delivered() -> list[EmailMessage]:
    """Every email sent so far, after the outbox has sent what is due."""
    outbox_sweep(now=timezone.now())
    return mail.outbox
