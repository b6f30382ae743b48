"""Assessment pages: a person's assessment of a delivered proposal, the one-time
invitation link, officers' replies, moderation and invitations, and the per-round setup
and report (printable page and CSV).

``ledgers.policies`` decides; pages show its answer and ``ledgers.assessments``
enforces it again for every caller.
"""

from __future__ import annotations

import csv
import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from ledgers import assessments, permissions, policies, selectors
from ledgers.assessment_forms import (
    AssessmentForm,
    AssessmentHideForm,
    AssessmentInviteForm,
    AssessmentReplyForm,
    AssessmentSetupForm,
)
from ledgers.models import (
    SCORE_MAX,
    SCORE_MIN,
    Assessment,
    AssessmentCriterion,
    AssessmentInvitation,
)
from pb_platform.access import require
from pb_platform.forms import form_add_service_errors
from pb_platform.once import submitted_once
from pb_platform.policies import enforce
from pb_platform.text import csv_cell
from proposals.models import BudgetRound, Proposal
from proposals.services.coauthors import token_hash


def _funded_proposal(pk: int) -> Proposal:
    proposal = get_object_or_404(selectors.ledger_proposals(), pk=pk)
    if not proposal.is_funded:  # type: ignore[attr-defined]
        raise Http404("Only funded proposals are assessed.")
    return proposal


@login_required
@require_http_methods(["GET", "POST"])
@submitted_once
def assessment_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Give or update one's assessment: a score per criterion and a comment. A later
    version replaces the scores that count; every version is kept and listed."""
    proposal = _funded_proposal(pk)
    state = selectors.assessment_state(proposal=proposal, user=request.user)
    decision = state.assess_decision(request.user, proposal, today=timezone.localdate())
    criteria = selectors.assessment_criteria(budget_round=proposal.budget_round)
    mine = state.assessment
    initial = {}
    if mine is not None:
        by_criterion = {score.criterion_id: score.score for score in mine.scores.all()}
        initial = {assessments.score_field(c): by_criterion.get(c.pk) for c in criteria if c.pk} | {
            "comment": mine.comment
        }
    form = AssessmentForm(
        request.POST if request.method == "POST" else None, criteria=criteria, initial=initial
    )
    if request.method == "POST":
        enforce(decision)
        if form.is_valid():
            try:
                assessments.assessment_submit(
                    user=request.user,
                    proposal=proposal,
                    scores=form.scores(),
                    comment=form.cleaned_data["comment"],
                    now=timezone.now(),
                )
            except ValidationError as error:
                form_add_service_errors(form, error)
            else:
                messages.success(
                    request,
                    _("Your assessment was updated; the latest version counts.")
                    if mine is not None
                    else _("Thank you: your assessment is published."),
                )
                return redirect(f"{proposal.get_absolute_url()}#assessment-title")
    return render(
        request,
        "ledgers/assessment_form.html",
        {
            "proposal": proposal,
            "form": form,
            "decision": decision,
            "state": state,
            "mine": mine,
            "revisions": list(mine.revisions.order_by("-number")) if mine is not None else [],
        },
    )


@login_required
@require_POST
def assessment_flag(request: HttpRequest, pk: int) -> HttpResponse:
    """Report an assessment's comment to officers (a form: no JavaScript)."""
    assessment = get_object_or_404(Assessment.objects.select_related("proposal"), pk=pk)
    decision = policies.can_flag_assessment(request.user, assessment)
    if not decision:
        messages.error(request, decision.reason)
    elif assessments.assessment_flag(assessment=assessment, user=request.user, now=timezone.now()):
        messages.success(request, _("Thank you. An officer will look at this assessment."))
    else:
        messages.info(request, _("You have already reported this assessment."))
    return redirect(f"{assessment.proposal.get_absolute_url()}#assessment-{assessment.pk}")


def _invitation(token: str) -> AssessmentInvitation:
    if not token or len(token) > 100:
        raise Http404("No such invitation.")
    return get_object_or_404(
        AssessmentInvitation.objects.select_related("proposal__round_area__area"),
        token_hash=token_hash(token),
    )


@require_http_methods(["GET", "POST"])
def assessment_invitation(request: HttpRequest, token: str) -> HttpResponse:
    """The emailed link: say what it is for; once signed in, take it up (it works
    once) and go on to the assessment form."""
    invitation = _invitation(token)
    decision = policies.can_take_up_invitation(request.user, invitation, now=timezone.now())
    error = ""
    if request.method == "POST":
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        enforce(decision)
        try:
            assessments.invitation_take_up(
                user=request.user, invitation=invitation, now=timezone.now()
            )
        except ValidationError as problem:
            error = " ".join(problem.messages)
        else:
            messages.success(request, _("Thank you for taking part. Give your assessment below."))
            return redirect("ledgers:assessment_edit", pk=invitation.proposal_id)
    return render(
        request,
        "ledgers/assessment_invitation.html",
        {
            "invitation": invitation,
            "proposal": invitation.proposal,
            "decision": decision,
            "error": error,
        },
    )


# --- Officers ---------------------------------------------------------------------------


@require(permissions.can_record_delivery_updates)
@require_http_methods(["GET", "POST"])
@submitted_once
def officer_assessments(request: HttpRequest, pk: int) -> HttpResponse:
    """A funded proposal's assessments with a reply and a hide form for each, and the
    form to invite service users by a one-time link. Each form posts ``form=<kind>``."""
    proposal = _funded_proposal(pk)
    now = timezone.now()
    state = selectors.assessment_state(proposal=proposal, user=None)
    invite_decision = state.invite_decision(request.user, proposal, today=timezone.localdate(now))
    posted = request.POST.get("form") if request.method == "POST" else None
    invite_form = AssessmentInviteForm(
        request.POST if posted == "invite" else None, prefix="invite"
    )
    listed = selectors.proposal_assessments(proposal=proposal)
    target: Assessment | None = None
    if posted in ("reply", "hide"):
        target = next((a for a in listed if str(a.pk) == request.POST.get("assessment")), None)
        if target is None:
            raise Http404("No such assessment of this proposal.")
    # A reply and a hide form per assessment, each with its own prefix (unique ids); only
    # the one posted is bound.
    for listed_assessment in listed:
        posted_here = listed_assessment is target
        listed_assessment.reply_form = AssessmentReplyForm(  # type: ignore[attr-defined]
            request.POST if posted_here and posted == "reply" else None,
            prefix=f"reply-{listed_assessment.pk}",
            initial={"reply": listed_assessment.reply},
        )
        listed_assessment.hide_form = AssessmentHideForm(  # type: ignore[attr-defined]
            request.POST if posted_here and posted == "hide" else None,
            prefix=f"hide-{listed_assessment.pk}",
        )
        listed_assessment.hide_decision = policies.can_hide_assessment(  # type: ignore[attr-defined]
            request.user, listed_assessment
        )
    form = {
        "invite": invite_form,
        "reply": getattr(target, "reply_form", None),
        "hide": getattr(target, "hide_form", None),
    }.get(posted or "")
    if posted == "invite":
        enforce(invite_decision)
    elif posted == "reply" and target is not None:
        enforce(policies.can_reply_to_assessment(request.user, target))
    elif posted == "hide" and target is not None:
        enforce(policies.can_hide_assessment(request.user, target))
    if form is not None and form.is_valid():
        try:
            if posted == "invite":
                assessments.assessment_invite(
                    officer=request.user, proposal=proposal, now=now, **form.cleaned_data
                )
                done = _("The invitation was emailed. The link works once.")
            elif posted == "reply" and target is not None:
                assessments.assessment_reply(
                    officer=request.user, assessment=target, now=now, **form.cleaned_data
                )
                done = _("Your reply is published under the assessment.")
            elif target is not None:
                assessments.assessment_hide(
                    officer=request.user, assessment=target, now=now, **form.cleaned_data
                )
                done = _("The comment is hidden; the reason is shown instead.")
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            messages.success(request, done)
            return redirect("ledgers:officer_assessments", pk=proposal.pk)
    criteria = selectors.assessment_criteria(budget_round=proposal.budget_round)
    return render(
        request,
        "ledgers/officer/assessments.html",
        {
            "proposal": proposal,
            "round": proposal.budget_round,
            "state": state,
            "criteria": criteria,
            "assessments": listed,
            "result": selectors.assessment_results(proposal_ids=[proposal.pk], criteria=criteria)[
                proposal.pk
            ],
            "invitations": list(proposal.assessment_invitations.select_related("used_by")),
            "invite_form": invite_form,
            "invite_decision": invite_decision,
            "posted": posted,
            "now": now,
        },
    )


def _report_rows(
    budget_round: BudgetRound,
) -> tuple[list[AssessmentCriterion], list[tuple[Proposal, selectors.AssessmentResult]]]:
    """The round's criteria, and each funded proposal with its results (three queries):
    what the printable report and its CSV both show."""
    criteria = selectors.assessment_criteria(budget_round=budget_round)
    proposals = list(selectors.funded_proposals(budget_round=budget_round))
    results = selectors.assessment_results(
        proposal_ids=[p.pk for p in proposals], criteria=criteria
    )
    return criteria, [(p, results[p.pk]) for p in proposals]


@require(policies.can_read_assessment_report)
@require_http_methods(["GET", "POST"])
@submitted_once
def round_assessments(request: HttpRequest, slug: str) -> HttpResponse:
    """The round's assessment report (printable) and, for officers, its setup: how long
    delivered proposals stay open and the criteria they are rated on."""
    budget_round = get_object_or_404(BudgetRound, slug=slug)
    criteria, rows = _report_rows(budget_round)
    # Only the page lists the reported comments officers have still to look at.
    reported = selectors.reported_assessments(proposal_ids=[p.pk for p, _result in rows])
    for proposal, _result in rows:
        proposal.reported = reported.get(proposal.pk, 0)  # type: ignore[attr-defined]
    window_months = selectors.assessment_window_months(budget_round=budget_round)
    setup_decision = policies.can_set_up_assessment(request.user, budget_round)
    form = AssessmentSetupForm(
        request.POST if request.method == "POST" else None,
        initial={"window_months": window_months, "criteria": "\n".join(c.name for c in criteria)},
    )
    if request.method == "POST":
        enforce(setup_decision)
        if form.is_valid():
            try:
                assessments.assessment_setup_save(
                    officer=request.user,
                    budget_round=budget_round,
                    window_months=form.cleaned_data["window_months"],
                    criteria=form.criteria_lines(),
                    now=timezone.now(),
                )
            except ValidationError as error:
                form_add_service_errors(form, error)
            else:
                messages.success(request, _("Assessment settings saved."))
                return redirect("ledgers:round_assessments", slug=budget_round.slug)
    return render(
        request,
        "ledgers/officer/round_assessments.html",
        {
            "round": budget_round,
            "criteria": criteria,
            "rows": rows,
            "window_months": window_months,
            "form": form,
            "setup_decision": setup_decision,
        },
    )


@require_safe
@require(policies.can_read_assessment_report)
def round_assessments_csv(request: HttpRequest, slug: str) -> HttpResponse:
    """One row per funded proposal and group of assessors: count, overall average, and
    each criterion's average and number of 1s to 5s. Cells that a spreadsheet would
    run as formulas are neutralised."""
    budget_round = get_object_or_404(BudgetRound, slug=slug)
    criteria, rows = _report_rows(budget_round)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    header = ["proposal_id", "title", "area", "assessors", "assessments", "average"]
    for criterion in criteria:
        header += [f"{criterion.name} average"] + [
            f"{criterion.name} {score}" for score in range(SCORE_MIN, SCORE_MAX + 1)
        ]
    writer.writerow([csv_cell(cell) for cell in header])
    for proposal, result in rows:
        for group in result.groups:
            row: list[object] = [
                proposal.pk,
                proposal.title,
                proposal.round_area.area.name,
                group.kind,
                group.count,
                group.average,  # an empty cell when nobody in the group assessed
            ]
            for criterion_result in group.criteria:
                row += [criterion_result.average, *criterion_result.distribution]
            writer.writerow([csv_cell(cell) for cell in row])
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{budget_round.slug}-assessments.csv"'
    return response


urlpatterns = [
    path("proposals/<int:pk>/assess/", assessment_edit, name="assessment_edit"),
    path("assess/invitation/<str:token>/", assessment_invitation, name="assessment_invitation"),
    path("assessments/<int:pk>/flag/", assessment_flag, name="assessment_flag"),
    path(
        "officer/ledger/proposals/<int:pk>/assessments/",
        officer_assessments,
        name="officer_assessments",
    ),
    path("officer/rounds/<slug:slug>/assessments/", round_assessments, name="round_assessments"),
    path(
        "officer/rounds/<slug:slug>/assessments.csv",
        round_assessments_csv,
        name="round_assessments_csv",
    ),
]
