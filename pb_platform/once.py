"""One-time form tokens: a form that creates something, submitted twice, creates once.

Every creating form renders ``{% submission_token %}`` (a random UUID in a hidden
field) and its view is wrapped in ``@submitted_once``. The first POST with a token
claims it (a row with that primary key) in the same transaction as the view's work;
a repeat finds the token taken and is redirected to where the first one led, with a
message, and changes nothing. On PostgreSQL a repeat that arrives while the first is
still running waits for it on the primary key's index, then sees its result.

A POST without a token (a script, an old page) is processed as usual: the token saves
people from double clicks, it is not an access control. Ballots do not use it: they
are one per person per area by a unique constraint.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _

from pb_platform.models import SubmissionToken

TOKEN_FIELD = "submission_token"  # noqa: S105  (a form field name, not a secret)


def submission_token_new() -> str:
    return str(uuid.uuid4())


def _token_of(request: HttpRequest) -> uuid.UUID | None:
    try:
        return uuid.UUID(request.POST.get(TOKEN_FIELD, ""))
    except ValueError:
        return None


def _repeat_response(request: HttpRequest, token: uuid.UUID) -> HttpResponse:
    first = SubmissionToken.objects.filter(token=token).first()
    user_id = request.user.pk if request.user.is_authenticated else None
    if first is not None and first.user_id == user_id and first.result_url:
        messages.info(request, _("This was already saved; you sent the form twice."))
        return redirect(first.result_url)
    messages.warning(
        request, _("This form was already sent. Check what was saved before sending it again.")
    )
    return redirect(request.get_full_path())


def submitted_once(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        token = _token_of(request) if request.method == "POST" else None
        if token is None:
            return view(request, *args, **kwargs)
        user = request.user if request.user.is_authenticated else None
        with transaction.atomic():
            try:
                with transaction.atomic():
                    SubmissionToken.objects.create(token=token, user=user, used_at=timezone.now())
            except IntegrityError:
                repeated = True
            else:
                repeated = False
                response = view(request, *args, **kwargs)
                if isinstance(response, HttpResponseRedirect):
                    SubmissionToken.objects.filter(token=token).update(
                        result_url=response["Location"][:500]
                    )
                else:
                    # Nothing was created (the form came back with errors): the same
                    # token may be sent again once they are corrected.
                    SubmissionToken.objects.filter(token=token).delete()
        if repeated:
            return _repeat_response(request, token)
        return response

    return wrapped
