"""One decorator for role-gated views: visitors are sent to sign in, signed-in users
without the permission get 403 and nothing happens, and (when ``MFA_REQUIRED_FOR_STAFF``)
officers and auditors without two-factor sign-in are sent to set it up (the admin site's
views too: pb_platform/urls.py)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from pb_platform.policies import can_use_staff_pages_now


def require(
    check: Callable[[Any], bool],
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not check(request.user):
                raise PermissionDenied
            return two_factor_for_staff(view)(request, *args, **kwargs)

        return wrapped

    return decorator


def two_factor_for_staff(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Send officers, auditors and staff without two-factor sign-in to set it up, when
    ``MFA_REQUIRED_FOR_STAFF`` says they must (``policies.can_use_staff_pages_now``)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        decision = can_use_staff_pages_now(request.user)
        if not decision:
            messages.warning(request, decision.reason)
            return redirect("mfa_activate_totp")
        return view(request, *args, **kwargs)

    return wrapped
