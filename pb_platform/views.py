import json
from typing import cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django.views.i18n import set_language

from pb_platform import health, jobs, outbox, privacy
from pb_platform.forms import AccountCloseForm, EmailPreferencesForm, form_add_service_errors
from pb_platform.models import JobItem
from pb_platform.policies import can_close_account, can_retry_job, can_view_jobs, enforce
from pb_platform.users import User

JOB_HISTORY_SHOWN = 200


@require_POST
def language_choose(request: HttpRequest) -> HttpResponse:
    """The language switcher's form (every page's header; no JavaScript needed): Django's
    ``set_language`` keeps the choice in a cookie and goes back to the page, and a
    signed-in person's emails follow the choice too."""
    response = set_language(request)
    language = request.POST.get("language", "")
    if language in dict(settings.LANGUAGES) and request.user.is_authenticated:
        outbox.email_language_set(user=cast(User, request.user), language=language)
    return response


@never_cache
@require_safe
def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness: the process answers. No dependencies, so a database outage does not make
    an orchestrator restart every web process (readiness is ``/readyz``)."""
    return HttpResponse("ok", content_type="text/plain")


@never_cache
@require_safe
def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness for monitors and load balancers: 200 or 503, with what was checked."""
    state = health.readiness(now=timezone.now())
    return JsonResponse(state.as_json(), status=200 if state.ready else 503)


@require_POST
def job_item_retry(request: HttpRequest, pk: int) -> HttpResponse:
    """An officer's Retry button on the dashboard: the item is tried on the next run."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    try:
        item = jobs.job_item_retry(officer=request.user, item_id=pk, now=timezone.now())
    except JobItem.DoesNotExist:
        raise Http404("No such job item.") from None
    messages.success(
        request,
        _("“%(label)s” will be tried again on the job's next run, within a minute or two.")
        % {"label": item.label or item.item_key},
    )
    return redirect("proposals:officer_dashboard")


@require_safe
def job_history(request: HttpRequest) -> HttpResponse:
    """For officers and auditors: the items jobs failed on, and who retried them when."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    enforce(can_view_jobs(request.user))
    return render(
        request,
        "pb_platform/job_history.html",
        {
            "failing": list(jobs.job_items_failing()),
            "events": list(jobs.job_item_history()[:JOB_HISTORY_SHOWN]),
            "shown": JOB_HISTORY_SHOWN,
            "retry_decision": can_retry_job(request.user),
        },
    )


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


@require_safe
def privacy_notice(request: HttpRequest) -> HttpResponse:
    """What the platform keeps about people, why, and what closing an account does."""
    return render(request, "pb_platform/privacy.html")


@login_required
@require_safe
def personal_data_download(request: HttpRequest) -> HttpResponse:
    """The signed-in person's data as a JSON file (never anyone else's)."""
    data = privacy.personal_data_export(user=request.user)
    response = HttpResponse(
        json.dumps(data, indent=2, ensure_ascii=False),
        content_type="application/json; charset=utf-8",
    )
    stamp = timezone.now().strftime("%Y-%m-%d")
    response["Content-Disposition"] = f'attachment; filename="commonpurse-my-data-{stamp}.json"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def account_close(request: HttpRequest) -> HttpResponse:
    """Close the signed-in person's account after they confirm with their password."""
    decision = can_close_account(request.user)
    form = AccountCloseForm(request.POST or None)
    if request.method == "POST" and decision and form.is_valid():
        try:
            outcome = privacy.account_close(
                user=request.user, password=form.cleaned_data["password"], now=timezone.now()
            )
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            logout(request)
            if outcome == "anonymised":
                messages.success(request, _("Your account is closed and your details erased."))
            else:
                messages.success(request, _("Your account is closed."))
            return redirect("home")
    elif request.method == "POST" and not decision:
        enforce(decision)
    return render(
        request,
        "pb_platform/account_close.html",
        {
            "form": form,
            "decision": decision,
            "is_staff": privacy.is_staff_account(cast(User, request.user)),
        },
    )
