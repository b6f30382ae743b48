"""Pages for the resident register: officers import it and print letters with codes,
auditors read its import log, residents confirm they are eligible to vote."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from pb_platform.access import require
from pb_platform.forms import form_add_service_errors
from pb_platform.once import submitted_once
from pb_platform.policies import PolicyDenied, enforce
from proposals import permissions, policies, selectors
from proposals.forms import (
    EligibilityCodeForm,
    EligibilityRegisterForm,
    RegisterUploadForm,
    VerificationCodesForm,
)
from proposals.models import ResidentProfile
from proposals.services import eligibility
from proposals.services.register import ImportReport, register_import

PAGE_SIZE = 25


def _log_page(request: HttpRequest) -> object:
    return Paginator(selectors.register_import_list(), PAGE_SIZE).get_page(request.GET.get("page"))


@require_http_methods(["GET", "POST"])
@require(permissions.can_view_register_log)
@submitted_once
def officer_register(request: HttpRequest) -> HttpResponse:
    """The upload form (officers), the last report, and the import log (officers and
    auditors). POST "check" is a dry run; POST "import" applies the file or nothing."""
    manage = policies.can_manage_register(request.user)
    report: ImportReport | None = None
    form = RegisterUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        enforce(manage)
        dry_run = request.POST.get("action") != "import"
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                report = register_import(
                    officer=request.user,
                    csv_bytes=upload.read(),
                    file_name=upload.name or "",
                    dry_run=dry_run,
                    now=timezone.now(),
                )
            except ValidationError as error:
                form_add_service_errors(form, error)
            else:
                if report.applied:
                    counts = report.counts
                    messages.success(
                        request,
                        _(
                            "The register was imported: %(added)d added, %(changed)d changed, "
                            "%(unchanged)d unchanged."
                        )
                        % counts,
                    )
                    return redirect("proposals:officer_register")
    return render(
        request,
        "proposals/officer/register.html",
        {
            "form": form,
            "manage": manage,
            "report": report,
            "log": _log_page(request),
            "summary": selectors.register_summary(),
            "codes_form": VerificationCodesForm() if manage else None,
        },
    )


@require_POST
@require(permissions.can_manage_register)
def officer_register_codes(request: HttpRequest) -> HttpResponse:
    """Generate letter codes and show them once, one per printed page."""
    form = VerificationCodesForm(request.POST)
    if not form.is_valid():
        return render(
            request,
            "proposals/officer/register.html",
            {
                "form": RegisterUploadForm(),
                "manage": policies.can_manage_register(request.user),
                "report": None,
                "log": _log_page(request),
                "summary": selectors.register_summary(),
                "codes_form": form,
            },
            status=400,
        )
    area = form.cleaned_data["area"]
    codes = eligibility.verification_codes_generate(
        officer=request.user, area=area, count=form.cleaned_data["count"], now=timezone.now()
    )
    response = render(
        request, "proposals/officer/register_codes.html", {"codes": codes, "area": area}
    )
    # Shown once: no copy may stay in a browser's or a proxy's cache.
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@require(permissions.can_manage_register)
def officer_resident_verify(request: HttpRequest, pk: int) -> HttpResponse:
    profile = get_object_or_404(ResidentProfile, pk=pk)
    try:
        eligibility.eligibility_verify_in_person(
            officer=request.user, profile=profile, now=timezone.now()
        )
    except PolicyDenied as denied:
        messages.error(request, denied.decision.reason)
    else:
        messages.success(
            request,
            _("%(name)s is now eligibility-verified (in person).") % {"name": profile.display_name},
        )
    return redirect("proposals:officer_residents")


def _client_ip(request: HttpRequest) -> str:
    # REMOTE_ADDR only: a forwarded header is whatever the client wants it to be, unless
    # a trusted proxy sets it (the deployment's proxy then sets REMOTE_ADDR itself).
    return request.META.get("REMOTE_ADDR", "") or "unknown"


@require_http_methods(["GET", "POST"])
@login_required
def eligibility_verify(request: HttpRequest) -> HttpResponse:
    """A resident proves eligibility: the register's reference and date of birth (or
    postcode), or a code from a letter. A failed match says only that it did not match."""
    profile = (
        ResidentProfile.objects.select_related("area", "pending_area")
        .filter(user=request.user)
        .first()
    )
    decision = policies.can_verify_eligibility(request.user, profile)
    method = request.POST.get("method") if request.method == "POST" else None
    register_form = EligibilityRegisterForm(
        request.POST if method == "register" else None, prefix="register"
    )
    code_form = EligibilityCodeForm(request.POST if method == "code" else None, prefix="code")
    form = register_form if method == "register" else code_form if method == "code" else None
    if form is not None and decision and form.is_valid():
        try:
            if form is register_form:
                eligibility.eligibility_verify_by_register(
                    user=request.user,
                    reference=form.cleaned_data["reference"],
                    date_of_birth=form.cleaned_data["date_of_birth"],
                    postcode=form.cleaned_data["postcode"],
                    ip=_client_ip(request),
                    now=timezone.now(),
                )
            else:
                eligibility.eligibility_verify_by_code(
                    user=request.user,
                    code=form.cleaned_data["code"],
                    ip=_client_ip(request),
                    now=timezone.now(),
                )
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            messages.success(request, _("You are now eligibility-verified: you can vote."))
            return redirect("proposals:my_account")
    return render(
        request,
        "proposals/eligibility_verify.html",
        {
            "profile": profile,
            "decision": decision,
            "register_form": register_form,
            "code_form": code_form,
        },
    )
