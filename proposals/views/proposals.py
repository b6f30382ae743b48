"""Pages for proposals: browse, submit and refine, review, and discuss."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from pb_platform.access import require
from pb_platform.forms import form_add_service_errors
from proposals import permissions, selectors, services
from proposals.forms import (
    CategoryForm,
    CommentForm,
    DuplicateForm,
    HideCommentForm,
    ProposalFilterForm,
    ProposalForm,
    ReturnForm,
    ReviewForm,
)
from proposals.models import AUTHOR_EDITABLE_STATUSES, BudgetRound, Comment, Proposal
from proposals.phases import Phase
from proposals.services.comments import COMMENT_PHASES

PAGE_SIZE = 20


def _round(slug: str) -> BudgetRound:
    return get_object_or_404(
        BudgetRound.objects.prefetch_related("round_areas__area", "categories"), slug=slug
    )


def round_proposals(request: HttpRequest, slug: str) -> HttpResponse:
    budget_round = _round(slug)
    filter_form = ProposalFilterForm(request.GET or None, budget_round=budget_round)
    proposals = selectors.proposal_list(budget_round=budget_round, **filter_form.filters())
    page = Paginator(proposals, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "proposals/proposal_list.html",
        {
            "round": budget_round,
            "filter_form": filter_form,
            "page": page,
            "query_string": query.urlencode(),
            "can_submit": budget_round.current_phase == Phase.SUBMISSION
            and permissions.should_offer_submission(request.user),
        },
    )


@login_required
def my_proposals(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.proposals_of_author(author=request.user), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "proposals/my_proposals.html", {"page": page})


def _save_proposal(request: HttpRequest, form: ProposalForm, proposal: Proposal | None) -> Any:
    submit = request.POST.get("action") == "submit"
    now = timezone.now()
    if proposal is None:
        return services.proposal_create(
            author=request.user,
            budget_round=form.budget_round,
            content=form.to_content(),
            submit=submit,
            now=now,
        )
    return services.proposal_update(
        proposal=proposal, author=request.user, content=form.to_content(), submit=submit, now=now
    )


@login_required
@require_http_methods(["GET", "POST"])
def proposal_new(request: HttpRequest, slug: str) -> HttpResponse:
    budget_round = _round(slug)
    if not permissions.is_verified_resident(request.user):
        raise PermissionDenied(_("Only residents with a verified email can submit proposals."))
    profile = request.user.resident_profile
    own_area = next(
        (ra.pk for ra in budget_round.round_areas.all() if ra.area_id == profile.area_id), None
    )
    form = ProposalForm(
        request.POST or None,
        request.FILES or None,
        budget_round=budget_round,
        initial={"round_area": own_area},
    )
    return _proposal_form_response(request, form, budget_round, proposal=None)


@login_required
@require_http_methods(["GET", "POST"])
def proposal_edit(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = get_object_or_404(Proposal.objects.select_related("budget_round"), pk=pk)
    if not permissions.is_author(request.user, proposal):
        raise PermissionDenied(_("Only the author can change this proposal."))
    form = ProposalForm(
        request.POST or None,
        request.FILES or None,
        budget_round=proposal.budget_round,
        initial=ProposalForm.initial_for(proposal),
    )
    return _proposal_form_response(request, form, proposal.budget_round, proposal=proposal)


def _proposal_form_response(
    request: HttpRequest, form: ProposalForm, budget_round: BudgetRound, proposal: Proposal | None
) -> HttpResponse:
    phase_open = budget_round.current_phase == Phase.SUBMISSION
    if request.method == "POST" and form.is_valid():
        try:
            saved = _save_proposal(request, form, proposal)
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            if request.POST.get("action") == "submit":
                messages.success(request, _("Your proposal was submitted for review. Thank you!"))
            else:
                messages.success(request, _("Your draft was saved. Only you can see it."))
            return redirect(saved)
    return render(
        request,
        "proposals/proposal_form.html",
        {"form": form, "round": budget_round, "proposal": proposal, "phase_open": phase_open},
    )


def proposal_detail(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = get_object_or_404(selectors.proposal_detail(pk=pk))
    if not permissions.can_see_proposal(request.user, proposal):
        raise Http404
    comment_form = CommentForm(request.POST or None)
    if request.method == "POST":
        if not request.user.is_authenticated:
            raise PermissionDenied
        parent_id = request.POST.get("parent")
        try:
            if comment_form.is_valid():
                body = comment_form.cleaned_data["body"]
                if parent_id:
                    parent = get_object_or_404(Comment, pk=parent_id, proposal=proposal)
                    services.comment_reply(
                        parent=parent, author=request.user, body=body, now=timezone.now()
                    )
                else:
                    services.comment_add(
                        proposal=proposal, author=request.user, body=body, now=timezone.now()
                    )
                messages.success(request, _("Your comment was published."))
                return redirect(f"{proposal.get_absolute_url()}#comments")
        except ValidationError as error:
            form_add_service_errors(comment_form, error)
    return render(
        request, "proposals/proposal_detail.html", _detail_context(request, proposal, comment_form)
    )


def _detail_context(
    request: HttpRequest, proposal: Proposal, comment_form: CommentForm
) -> dict[str, Any]:
    user = request.user
    phase = proposal.budget_round.current_phase
    officer = permissions.can_review_proposals(user)
    comments_open = phase in COMMENT_PHASES
    return {
        "proposal": proposal,
        "round": proposal.budget_round,
        "phase": phase,
        "comment_form": comment_form,
        "is_author": permissions.is_author(user, proposal),
        "author_can_edit": permissions.is_author(user, proposal)
        and phase == Phase.SUBMISSION
        and proposal.status in AUTHOR_EDITABLE_STATUSES,
        "can_comment": comments_open and (officer or permissions.is_verified_resident(user)),
        "can_reply": comments_open and (officer or permissions.is_author(user, proposal)),
        "can_review": officer and phase in (Phase.SUBMISSION, Phase.REVIEW),
        "can_moderate": permissions.can_moderate_comments(user),
        "can_flag": permissions.can_flag_comments(user),
        "show_identities": permissions.can_see_officer_identities(user),
        "show_hidden": permissions.can_see_hidden_comments(user),
    }


@login_required
@require_http_methods(["GET", "POST"])
def proposal_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = get_object_or_404(Proposal.objects.select_related("budget_round"), pk=pk)
    if not permissions.is_author(request.user, proposal):
        raise PermissionDenied(_("Only the author can withdraw this proposal."))
    error = None
    if request.method == "POST":
        try:
            services.proposal_withdraw(proposal=proposal, author=request.user, now=timezone.now())
        except ValidationError as problem:
            error = " ".join(problem.messages)
        else:
            messages.success(request, _("Your proposal was withdrawn."))
            return redirect(proposal)
    return render(
        request, "proposals/proposal_withdraw.html", {"proposal": proposal, "error": error}
    )


@require_http_methods(["GET", "POST"])
@require(permissions.can_review_proposals)
def proposal_review(request: HttpRequest, pk: int) -> HttpResponse:
    """One page, three officer actions: decide feasibility, send back, mark duplicate."""
    proposal = get_object_or_404(
        Proposal.objects.select_related("budget_round", "round_area__area", "author"), pk=pk
    )
    action = request.POST.get("action") if request.method == "POST" else None
    review_form = ReviewForm(
        request.POST if action == "review" else None,
        initial={"official_cost": proposal.official_cost or proposal.estimated_cost},
    )
    return_form = ReturnForm(request.POST if action == "return" else None)
    duplicate_form = DuplicateForm(
        request.POST if action == "duplicate" else None, proposal=proposal
    )
    now = timezone.now()
    try:
        if action == "review" and review_form.is_valid():
            data = review_form.cleaned_data
            services.proposal_review(
                proposal=proposal,
                officer=request.user,
                feasible=data["decision"] == "feasible",
                reason=data["reason"],
                official_cost=data["official_cost"],
                now=now,
            )
            messages.success(request, _("The review was saved and the author will be emailed."))
            return redirect(proposal)
        if action == "return" and return_form.is_valid():
            services.proposal_return_to_author(
                proposal=proposal,
                officer=request.user,
                message=return_form.cleaned_data["message"],
                now=now,
            )
            messages.success(request, _("The proposal was sent back to its author."))
            return redirect(proposal)
        if action == "duplicate" and duplicate_form.is_valid():
            services.proposal_mark_duplicate(
                proposal=proposal,
                officer=request.user,
                original=duplicate_form.cleaned_data["original"],
                reason=duplicate_form.cleaned_data["duplicate_reason"],
                now=now,
            )
            messages.success(request, _("The proposal was marked as a duplicate."))
            return redirect(proposal)
    except ValidationError as error:
        target = {"review": review_form, "return": return_form, "duplicate": duplicate_form}
        form = target[action or "review"]
        if hasattr(error, "error_dict") and "reason" in error.error_dict and action != "review":
            error = ValidationError(
                {"message" if action == "return" else "duplicate_reason": error.messages}
            )
        form_add_service_errors(form, error)
    phase = proposal.budget_round.current_phase
    return render(
        request,
        "proposals/proposal_review.html",
        {
            "proposal": proposal,
            "phase": phase,
            "review_form": review_form,
            "return_form": return_form,
            "duplicate_form": duplicate_form,
            "review_open": phase == Phase.REVIEW,
            "return_open": phase == Phase.SUBMISSION,
        },
    )


@require_http_methods(["GET", "POST"])
@require(permissions.can_moderate_comments)
def comment_hide(request: HttpRequest, pk: int) -> HttpResponse:
    comment = get_object_or_404(Comment.objects.select_related("proposal", "author"), pk=pk)
    form = HideCommentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.comment_hide(
                comment=comment,
                officer=request.user,
                reason=form.cleaned_data["reason"],
                now=timezone.now(),
            )
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            messages.success(request, _("The comment was hidden. Its text is kept on record."))
            return redirect(f"{comment.proposal.get_absolute_url()}#comments")
    return render(request, "proposals/comment_hide.html", {"comment": comment, "form": form})


@login_required
@require_POST
def comment_flag(request: HttpRequest, pk: int) -> HttpResponse:
    comment = get_object_or_404(Comment.objects.select_related("proposal"), pk=pk)
    if not permissions.can_see_proposal(request.user, comment.proposal):
        raise Http404
    try:
        flagged = services.comment_flag(comment=comment, user=request.user, now=timezone.now())
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        if flagged:
            messages.success(request, _("Thank you. An officer will look at this comment."))
        else:
            messages.info(request, _("You have already flagged this comment."))
    return redirect(f"{comment.proposal.get_absolute_url()}#comment-{comment.pk}")


@require_http_methods(["GET", "POST"])
@require(permissions.can_manage_categories)
def officer_categories(request: HttpRequest, slug: str) -> HttpResponse:
    budget_round = _round(slug)
    form = CategoryForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            category = services.category_create(
                budget_round=budget_round, name=form.cleaned_data["name"], officer=request.user
            )
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            messages.success(request, _("The category “%s” was added.") % category.name)
            return redirect("proposals:officer_categories", slug=budget_round.slug)
    return render(
        request, "proposals/officer/categories.html", {"round": budget_round, "form": form}
    )


@require(permissions.can_moderate_comments)
def officer_flagged_comments(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.flagged_comment_list(), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "proposals/officer/flagged_comments.html", {"page": page})
