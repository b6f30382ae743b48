"""Officers' ledger pages: a round's funded proposals, and for each proposal the forms to
record commitments, spend, releases, reversals and delivery progress.

What an officer may do here is decided by ``ledgers.policies``; the pages show its
answer (and the reason when it says no), and the services enforce it again.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from ledgers import permissions, policies, selectors, services
from ledgers.forms import (
    CommitmentForm,
    DeliveryUpdateForm,
    MilestoneForm,
    MilestoneUpdateForm,
    ReleaseForm,
    ReversalForm,
    SpendForm,
)
from ledgers.models import Milestone
from pb_platform.access import require
from pb_platform.forms import form_add_service_errors
from pb_platform.once import submitted_once
from pb_platform.policies import enforce
from proposals.models import BudgetRound, Proposal

FORMS: dict[str, type[forms.Form]] = {
    "commitment": CommitmentForm,
    "spend": SpendForm,
    "release": ReleaseForm,
    "delivery": DeliveryUpdateForm,
    "milestone": MilestoneForm,
}
MONEY_FORMS = ("commitment", "spend", "release")
DONE = {
    "commitment": _("The commitment was recorded."),
    "spend": _("The payment was recorded."),
    "release": _("The release was recorded."),
    "delivery": _("The progress update was published."),
    "milestone": _("The milestone was added to the public delivery plan."),
}


@require_safe
@require(permissions.can_record_ledger_entries)
def officer_round_ledger(request: HttpRequest, slug: str) -> HttpResponse:
    budget_round = get_object_or_404(BudgetRound, slug=slug)
    return render(
        request,
        "ledgers/officer/round.html",
        {
            "round": budget_round,
            "proposals": list(selectors.funded_proposals(budget_round=budget_round)),
            "total": selectors.round_balance(budget_round=budget_round),
        },
    )


def _record(kind: str, form: forms.Form, request: HttpRequest, proposal: Proposal) -> Any:
    data, now = form.cleaned_data, timezone.now()
    officer = request.user
    if kind == "commitment":
        return services.commitment_record(officer=officer, proposal=proposal, now=now, **data)
    if kind == "spend":
        return services.spend_record(officer=officer, proposal=proposal, now=now, **data)
    if kind == "release":
        return services.release_record(officer=officer, proposal=proposal, now=now, **data)
    if kind == "milestone":
        return services.milestone_add(
            officer=officer, proposal=proposal, now=now, today=timezone.localdate(), **data
        )
    return services.delivery_update_record(
        officer=officer, proposal=proposal, now=now, today=timezone.localdate(), **data
    )


def _with_lateness(milestones: list[Milestone]) -> list[Milestone]:
    """Each milestone marked ``late`` by the model's rule (the page only displays it)."""
    today = timezone.localdate()
    for milestone in milestones:
        milestone.late = milestone.is_late(today)  # type: ignore[attr-defined]
    return milestones


@require(permissions.can_record_ledger_entries)
@require_http_methods(["GET", "POST"])
@submitted_once
def officer_proposal_ledger(request: HttpRequest, pk: int) -> HttpResponse:
    """One funded proposal: its balances and entries, and a form per kind of entry. Each
    form posts with ``form=<kind>``; only that one is bound. A POST the policy refuses
    gets 403 with its reason (the service would refuse it too)."""
    proposal = get_object_or_404(selectors.ledger_proposals(), pk=pk)
    now = timezone.now()
    record = policies.can_record_entries(request.user, proposal, now=now)
    deliver = policies.can_record_delivery_update(request.user, proposal, now=now)
    allowed = {kind: record if kind in MONEY_FORMS else deliver for kind in FORMS}
    posted = request.POST.get("form") if request.method == "POST" else None
    bound = {
        kind: (
            form_class(request.POST, request.FILES, prefix=kind)
            if posted == kind
            else form_class(prefix=kind)
        )
        for kind, form_class in FORMS.items()
    }
    if posted in allowed:
        # A POST the page would not have offered: the same refusal, whatever it holds.
        enforce(allowed[posted])
    if posted in bound and bound[posted].is_valid():
        try:
            _record(posted, bound[posted], request, proposal)
        except ValidationError as error:
            form_add_service_errors(bound[posted], error)
        else:
            messages.success(request, DONE[posted])
            return redirect("ledgers:officer_proposal", pk=proposal.pk)
    entries = [
        {"entry": entry, "reverse": policies.can_reverse(request.user, entry, now=now)}
        for entry in selectors.proposal_entries(proposal=proposal)
    ]
    return render(
        request,
        "ledgers/officer/proposal.html",
        {
            "proposal": proposal,
            "round": proposal.budget_round,
            "balance": services.proposal_balance(proposal=proposal),
            "entries": entries,
            "updates": list(selectors.delivery_updates(proposal=proposal)),
            "milestones": _with_lateness(selectors.milestones(proposal=proposal)),
            "forms": {kind: form for kind, form in bound.items() if allowed[kind]},
            "record_decision": record,
            "delivery_decision": deliver,
            "posted": posted,
        },
    )


@require(permissions.can_record_ledger_entries)
@require_http_methods(["GET", "POST"])
@submitted_once
def officer_entry_reverse(request: HttpRequest, pk: int) -> HttpResponse:
    entry = get_object_or_404(selectors.ledger_entries(), pk=pk)
    decision = policies.can_reverse(request.user, entry, now=timezone.now())
    form = ReversalForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.reversal_record(
                officer=request.user,
                proposal=entry.proposal,
                original=entry,
                reason=form.cleaned_data["reason"],
                now=timezone.now(),
            )
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            messages.success(
                request,
                _("Entry %(n)d was reversed. Both stay in the ledger.") % {"n": entry.sequence},
            )
            return redirect("ledgers:officer_proposal", pk=entry.proposal_id)
    return render(
        request,
        "ledgers/officer/reverse.html",
        {"entry": entry, "proposal": entry.proposal, "form": form, "decision": decision},
    )


@require(permissions.can_record_ledger_entries)
@require_http_methods(["GET", "POST"])
def officer_milestone(request: HttpRequest, pk: int) -> HttpResponse:
    """Progress on one milestone: how far, when reached, or a new planned date with the
    public reason; and its photo, replaced, removed or described anew. Its history is
    shown below the form."""
    milestone = get_object_or_404(Milestone, pk=pk)
    # Loaded as the ledger pages load it: the policy reads whether it was funded.
    proposal = get_object_or_404(selectors.ledger_proposals(), pk=milestone.proposal_id)
    milestone.proposal = proposal
    now = timezone.now()
    decision = policies.can_manage_milestones(request.user, proposal, now=now)
    initial = MilestoneUpdateForm.initial_for(milestone)
    if request.method == "POST":
        form = MilestoneUpdateForm(request.POST, request.FILES, initial=initial)
    else:
        form = MilestoneUpdateForm(initial=initial)
    if request.method == "POST":
        enforce(decision)
        if form.is_valid():
            try:
                services.milestone_update(
                    officer=request.user,
                    milestone=milestone,
                    today=timezone.localdate(),
                    now=now,
                    **form.to_update(),
                )
            except ValidationError as error:
                form_add_service_errors(form, error)
            else:
                messages.success(request, _("The milestone was updated; residents see it."))
                return redirect("ledgers:officer_proposal", pk=proposal.pk)
    return render(
        request,
        "ledgers/officer/milestone.html",
        {
            "milestone": milestone,
            "proposal": proposal,
            "changes": list(
                milestone.changes.select_related("changed_by").order_by("changed_at", "pk")
            ),
            "form": form,
            "decision": decision,
        },
    )


urlpatterns = [
    path("officer/ledger/milestones/<int:pk>/", officer_milestone, name="officer_milestone"),
    path("officer/rounds/<slug:slug>/ledger/", officer_round_ledger, name="officer_round"),
    path("officer/ledger/proposals/<int:pk>/", officer_proposal_ledger, name="officer_proposal"),
    path("officer/ledger/entries/<int:pk>/reverse/", officer_entry_reverse, name="officer_reverse"),
]
