from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from pb_platform import jobs
from pb_platform.models import JobItem
from pb_platform.policies import can_retry_job, can_view_jobs, enforce

JOB_HISTORY_SHOWN = 200


@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    """For load balancers: 200 when the app can reach its database."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse("ok", content_type="text/plain")


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
