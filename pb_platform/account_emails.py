"""allauth, adapted: its emails go through our outbox, and a wrong password is counted
per account and client address together.

Why the outbox: allauth sends inside the request, so a mail server that is down turned
sign-up into a 500 that left an account nobody could verify. Queued in the outbox, the
email is retried with back-off (pb_platform/outbox.py) and the page says it is on its way.

What is stored: allauth's emails carry one-time links and codes that cannot be made
again later (a sign-in code lives only in the person's session; a reset key is tied to
the moment it was made). So the params keep allauth's template name and its context
as plain values (the link, the code, the address, the time) plus the ids of the
objects it names (the account), and the email is rendered at send time from those, in
the recipient's language, as every other outbox email is. Rendered text would hold the
same secrets and would not follow the language or template fixes. The kind is marked
``secret_params``: the params are erased once the email is sent, cancelled or given up.
"""

from __future__ import annotations

import logging
from datetime import datetime
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

from allauth.account.models import EmailAddress
from allauth.core import context as allauth_context
from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.sites.shortcuts import get_current_site
from django.db import models
from django.http import HttpRequest
from django.utils import timezone, translation
from django.utils.functional import Promise

from pb_platform.accounts import CleanEmailAdapter
from pb_platform.outbox import ACCOUNT_EMAIL, email_enqueue, email_language_set

logger = logging.getLogger(__name__)

# Rebuilt at send time (or meaningless there): never stored.
_NOT_STORED = frozenset({"request", "current_site"})


def account_email_params(template_prefix: str, context: dict[str, Any], site: Any) -> dict:
    """allauth's context as JSON: plain values as they are, datetimes as ISO text,
    model instances as (label, pk). Anything else is left out, and logged."""
    values: dict[str, Any] = {}
    dates: dict[str, str] = {}
    objects: dict[str, list[Any]] = {}
    for name, value in context.items():
        if name in _NOT_STORED:
            continue
        if isinstance(value, models.Model):
            objects[name] = [value._meta.label, value.pk]
        elif isinstance(value, datetime):
            dates[name] = value.isoformat()
        elif isinstance(value, Promise):
            values[name] = str(value)
        elif value is None or isinstance(value, str | int | float | bool):
            values[name] = value
        else:
            logger.warning("%s: %s (%s) left out of the email", template_prefix, name, type(value))
    return {
        "template": template_prefix,
        "site": {"name": site.name, "domain": site.domain},
        "values": values,
        "dates": dates,
        "objects": objects,
    }


def account_email_context(params: dict[str, Any]) -> dict[str, Any] | None:
    """The outbox's context builder for allauth's emails: the context it was queued with.
    None (nothing to send) once the params are erased or the account is gone."""
    if not params:
        return None
    context: dict[str, Any] = dict(params["values"])
    context.update({name: datetime.fromisoformat(iso) for name, iso in params["dates"].items()})
    for name, (label, pk) in params["objects"].items():
        instance = apps.get_model(label)._default_manager.filter(pk=pk).first()
        if instance is None:
            return None
        context[name] = instance
    context["current_site"] = SimpleNamespace(**params["site"])
    return context


def _account_for(address: str, context: dict[str, Any]) -> Any:
    user = context.get("user")
    if isinstance(user, models.Model):
        return user
    owned = EmailAddress.objects.filter(email__iexact=address).select_related("user").first()
    if owned is not None:
        return owned.user
    return get_user_model()._default_manager.filter(email__iexact=address).first()


def _site(request: HttpRequest | None) -> Any:
    if request is not None:
        return get_current_site(request)
    domain = urlsplit(settings.SITE_URL).netloc
    return SimpleNamespace(name=domain, domain=domain)


class AccountAdapter(CleanEmailAdapter):
    def save_user(self, request: HttpRequest, user: Any, form: Any, commit: bool = True) -> Any:
        """A new account reads its emails, the confirmation first, in the language of
        the page it signed up on."""
        user = super().save_user(request, user, form, commit=commit)
        language = translation.get_language()
        if commit and language in dict(settings.LANGUAGES):
            email_language_set(user=user, language=language)
        return user

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        """Queue the email in the outbox instead of sending it in the request."""
        request = allauth_context.request
        user = _account_for(email, context)
        if user is None:
            # Only "unknown account" emails have nobody behind them, and they are off
            # (ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS = False).
            logger.warning("%s to an address with no account: not sent", template_prefix)
            return
        email_enqueue(
            kind=ACCOUNT_EMAIL,
            recipient=user,
            address=email,
            template_name=template_prefix,
            params=account_email_params(
                template_prefix, {"email": email, **context}, _site(request)
            ),
            now=timezone.now(),
        )

    def _get_login_attempts_cache_key(self, request: HttpRequest, **credentials: Any) -> str:
        """allauth counts wrong passwords per account ("key") whoever types them, so a
        stranger could keep anyone locked out. Ours is the account and the client's
        address together: the stranger locks out only themselves; the per-address
        limit still caps how fast one address guesses across accounts."""
        account = super()._get_login_attempts_cache_key(request, **credentials)
        return f"{account}:{self.get_client_ip(request)}"
