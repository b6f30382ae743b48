"""Pages for residents' suggested changes (amendments): suggest one, read one with what
it changes, and the authors' accept or decline, or the resident's withdrawal."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from pb_platform.forms import form_add_service_errors
from pb_platform.once import submitted_once
from pb_platform.policies import enforce
from proposals import policies, selectors, services
from proposals.diff import words_diff
from proposals.forms import AmendmentForm, ReplyForm
from proposals.models import AmendmentStatus, Proposal, ProposalAmendment, ProposalVersion


def _visible_proposal(request: HttpRequest, pk: int) -> Proposal:
    proposal = get_object_or_404(
        Proposal.objects.select_related("budget_round", "round_area__area"), pk=pk
    )
    if not policies.can_see_proposal(request.user, proposal):
        raise Http404
    return proposal


def _visible_amendment(request: HttpRequest, pk: int) -> ProposalAmendment:
    amendment = get_object_or_404(
        ProposalAmendment.objects.select_related(
            "proposal__budget_round",
            "proposal__round_area__area",
            "author__resident_profile",
            "answered_by__resident_profile",
        ),
        pk=pk,
    )
    if not policies.can_see_proposal(request.user, amendment.proposal):
        raise Http404
    return amendment


@require_http_methods(["GET", "POST"])
@submitted_once
def amendment_new(request: HttpRequest, pk: int) -> HttpResponse:
    """Suggest a change: the form starts from the proposal's current description."""
    proposal = _visible_proposal(request, pk)
    now = timezone.now()
    decision = policies.can_suggest_amendment(request.user, proposal, now=now)
    if request.method == "POST":
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        enforce(decision)
    form = AmendmentForm(
        request.POST if request.method == "POST" else None,
        initial={"description": proposal.description},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            amendment = services.amendment_suggest(
                proposal=proposal,
                resident=request.user,
                description=data["description"],
                estimated_cost=data["estimated_cost"],
                reason=data["reason"],
                now=now,
            )
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            messages.success(
                request, _("Your suggestion was sent to the authors. Its page shows their answer.")
            )
            return redirect("proposals:amendment_detail", pk=amendment.pk)
    return render(
        request,
        "proposals/amendment_form.html",
        {"proposal": proposal, "form": form, "decision": decision},
    )


def _changes(amendment: ProposalAmendment, proposal: Proposal) -> dict[str, Any]:
    """What the suggestion changes: from the current text while it waits (what taking it
    in would do), from the text it was written against once closed."""
    latest_number = selectors.latest_version_number(proposal=proposal)
    if amendment.is_open or amendment.base_version == latest_number:
        before_text, before_cost = proposal.description, proposal.estimated_cost
    else:
        base = ProposalVersion.objects.filter(
            proposal=proposal, number=amendment.base_version
        ).first()
        before_text = base.description if base is not None else proposal.description
        before_cost = base.estimated_cost if base is not None else proposal.estimated_cost
    return {
        "segments": words_diff(before_text, amendment.description),
        "description_changed": before_text != amendment.description,
        "cost_before": before_cost,
        "text_changed_since": amendment.is_open and amendment.base_version != latest_number,
        "latest_number": latest_number,
    }


@require_safe
def amendment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    amendment = _visible_amendment(request, pk)
    proposal = amendment.proposal
    now = timezone.now()
    state = policies.amendment_state(amendment, proposal, now=now)
    return render(
        request,
        "proposals/amendment_detail.html",
        {
            "amendment": amendment,
            "proposal": proposal,
            "state_label": AmendmentStatus(state).label,
            "answer_decision": policies.can_answer_amendment(
                request.user, amendment, now=now, proposal=proposal
            ),
            "withdraw_decision": policies.can_withdraw_amendment(
                request.user, amendment, now=now, proposal=proposal
            ),
            "answer_form": ReplyForm(),
            **_changes(amendment, proposal),
        },
    )


@login_required
@require_POST
def amendment_answer(request: HttpRequest, pk: int) -> HttpResponse:
    """The authors take a suggestion in or decline it, with a (public) reply."""
    amendment = _visible_amendment(request, pk)
    now = timezone.now()
    enforce(policies.can_answer_amendment(request.user, amendment, now=now))
    form = ReplyForm(request.POST)
    accept = request.POST.get("action") == "accept"
    detail = reverse("proposals:amendment_detail", args=[amendment.pk])
    if not form.is_valid():
        messages.error(request, " ".join(m for errors in form.errors.values() for m in errors))
        return redirect(detail)
    answer = services.amendment_accept if accept else services.amendment_decline
    try:
        answer(amendment=amendment, writer=request.user, reply=form.cleaned_data["reply"], now=now)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect(detail)
    if accept:
        messages.success(
            request, _("You took the suggestion in: it is the proposal's newest version.")
        )
        return redirect(f"{amendment.proposal.get_absolute_url()}#versions-title")
    messages.success(request, _("You declined the suggestion; your reply is shown with it."))
    return redirect(detail)


@login_required
@require_POST
def amendment_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    amendment = _visible_amendment(request, pk)
    services.amendment_withdraw(amendment=amendment, resident=request.user, now=timezone.now())
    messages.success(request, _("Your suggestion was withdrawn."))
    return redirect("proposals:amendment_detail", pk=amendment.pk)
