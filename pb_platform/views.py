from typing import cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from pb_platform import outbox
from pb_platform.forms import EmailPreferencesForm
from pb_platform.users import User


@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    """For load balancers: 200 when the app can reach its database."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse("ok", content_type="text/plain")


@login_required
@require_http_methods(["GET", "POST"])
def email_preferences(request: HttpRequest) -> HttpResponse:
    """Which kinds of email the signed-in person gets."""
    user = cast(User, request.user)  # signed in: @login_required
    kinds = outbox.email_preferences_of(user)
    form = EmailPreferencesForm(request.POST or None, kinds=kinds)
    if request.method == "POST" and form.is_valid():
        outbox.email_preferences_save(user=user, enabled=form.cleaned_data, now=timezone.now())
        messages.success(request, _("Your email choices are saved."))
        return redirect("email_preferences")
    always = [kind for kind, _on in kinds if not kind.unsubscribable]
    return render(request, "pb_platform/email_preferences.html", {"form": form, "always": always})


# Mail programs POST here without a CSRF token (RFC 8058 one-click): the signed token in
# the address is what authorises the change, and it can only turn emails off.
@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def email_unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """One-click unsubscribe from one kind of email, no sign-in needed. GET asks to
    confirm (link checkers and previews follow links); POST turns the kind off."""
    found = outbox.unsubscribe_token_read(token)
    user = User.objects.filter(pk=found[0]).first() if found else None
    if found is None or user is None:
        return render(request, "pb_platform/email_unsubscribe_invalid.html", status=400)
    kind = found[1]
    done = False
    if request.method == "POST":
        outbox.email_preference_set(user=user, kind=kind, enabled=False, now=timezone.now())
        done = True
    return render(
        request,
        "pb_platform/email_unsubscribe.html",
        {"kind": kind, "done": done, "email": user.email},
    )
