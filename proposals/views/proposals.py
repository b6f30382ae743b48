"""Pages for proposals: browse, submit and refine, review, and discuss.

Each page asks ``proposals.policies`` what this person may do here now and shows the
answer (a form, or the reason there is none); the services ask the same question again
and refuse a forged POST with the same reason.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from pb_platform.access import require
from pb_platform.forms import form_add_service_errors
from pb_platform.money import money_quantize
from pb_platform.once import submitted_once
from pb_platform.policies import Decision, enforce
from pb_platform.text import csv_cell
from proposals import permissions, policies, selectors, services
from proposals.forms import (
    CategoryForm,
    CoDesignAnswerForm,
    CoDesignForm,
    CommentForm,
    DuplicateForm,
    HideCommentForm,
    MergeForm,
    ProposalFilterForm,
    ProposalForm,
    ReplyForm,
    ReturnForm,
    ReviewForm,
)
from proposals.models import (
    DECIDED_STATUSES,
    AmendmentStatus,
    BudgetRound,
    CoauthorStatus,
    CoDesignOffer,
    CoDesignStatus,
    Comment,
    Proposal,
    ProposalStatus,
)
from proposals.priorities import AreaPriorities, priorities_beside
from proposals.views.merges import merges_shown

PAGE_SIZE = 20


def _round(slug: str) -> BudgetRound:
    return get_object_or_404(
        BudgetRound.objects.prefetch_related("round_areas__area", "categories"), slug=slug
    )


# The open-data file of a round's proposals: its columns, in order (the round's open-data
# page explains each).
PROPOSAL_CSV_COLUMNS = (
    "id", "title", "description", "location", "area", "category", "status",
    "estimated_cost", "official_cost", "submitted_at", "supporters", "url",
)  # fmt: skip


@require_safe
def round_proposals_csv(request: HttpRequest, slug: str) -> HttpResponse:
    """Every public proposal of the round (never a draft, never a name), oldest first,
    as CSV open data: locale-independent (money with a dot, times in UTC ISO 8601),
    cells that a spreadsheet would run as formulas neutralised."""
    budget_round = get_object_or_404(BudgetRound, slug=slug)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(PROPOSAL_CSV_COLUMNS)
    for proposal in selectors.public_proposals().filter(budget_round=budget_round).order_by("pk"):
        writer.writerow(
            csv_cell(cell)
            for cell in (
                proposal.pk,
                proposal.title,
                proposal.description,
                proposal.location,
                proposal.round_area.area.slug,
                proposal.category.name if proposal.category is not None else "",
                proposal.status,
                money_quantize(proposal.estimated_cost),
                "" if proposal.official_cost is None else money_quantize(proposal.official_cost),
                proposal.submitted_at.astimezone(UTC).isoformat() if proposal.submitted_at else "",
                proposal.support_count,  # type: ignore[attr-defined]
                settings.SITE_URL + proposal.get_absolute_url(),
            )
        )
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="proposals-{budget_round.slug}.csv"'
    return response


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
            "submission": policies.submission_offer(request.user, budget_round, now=timezone.now()),
        },
    )


@login_required
def my_proposals(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.proposals_of_author(author=request.user), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "proposals/my_proposals.html", {"page": page})


@login_required
@require_http_methods(["GET", "POST"])
@submitted_once
def proposal_new(request: HttpRequest, slug: str) -> HttpResponse:
    budget_round = _round(slug)
    now = timezone.now()
    decision = policies.can_create_proposal(request.user, budget_round, now=now)
    if request.method == "POST":
        # The service refuses it too, with the same reason; refusing here first keeps a
        # wrong role from learning anything from the form's messages.
        enforce(decision)
    form = ProposalForm(
        request.POST or None, request.FILES or None, budget_round=budget_round, user=request.user
    )
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.proposal_create(
                author=request.user,
                budget_round=budget_round,
                content=form.to_content(),
                submit=_submits(request),
                now=now,
            )
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            return _saved(request, saved)
    return _form_page(request, form, budget_round, proposal=None, decision=decision)


@login_required
@require_http_methods(["GET", "POST"])
def proposal_edit(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = get_object_or_404(
        Proposal.objects.select_related("budget_round", "round_area__area"), pk=pk
    )
    if not policies.can_see_proposal(request.user, proposal):
        raise Http404
    now = timezone.now()
    decision = policies.can_edit_proposal(request.user, proposal, now=now)
    # Only the authors have an edit page; they see why it is closed, if it is.
    if request.method == "POST" or not permissions.is_writer(request.user, proposal):
        enforce(decision)
    form = ProposalForm(
        request.POST or None,
        request.FILES or None,
        budget_round=proposal.budget_round,
        user=request.user,
        proposal=proposal,
        initial=ProposalForm.initial_for(proposal),
    )
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.proposal_update(
                proposal=proposal,
                author=request.user,
                content=form.to_content(),
                submit=_submits(request),
                now=now,
            )
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            return _saved(request, saved, before=proposal.status)
    return _form_page(request, form, proposal.budget_round, proposal=proposal, decision=decision)


def _submits(request: HttpRequest) -> bool:
    return request.POST.get("action") == "submit"


def _saved(request: HttpRequest, proposal: Proposal, *, before: str = "") -> HttpResponse:
    if before in DECIDED_STATUSES and proposal.status == ProposalStatus.SUBMITTED:
        messages.success(
            request,
            _("Your changes were saved. An officer will look at the new text and decide again."),
        )
    elif before in (ProposalStatus.SUBMITTED, *DECIDED_STATUSES):
        messages.success(request, _("Your changes were saved. Every version is kept."))
    elif proposal.submitted_at is not None and _submits(request):
        messages.success(request, _("Your proposal was submitted for review. Thank you!"))
    else:
        messages.success(request, _("Your draft was saved. Only you and your co-authors see it."))
    return redirect(proposal)


def _form_page(
    request: HttpRequest,
    form: ProposalForm,
    budget_round: BudgetRound,
    *,
    proposal: Proposal | None,
    decision: Decision,
) -> HttpResponse:
    return render(
        request,
        "proposals/proposal_form.html",
        {
            "form": form,
            "round": budget_round,
            "proposal": proposal,
            "decision": decision,
            "priorities": _priorities_beside(request, budget_round, proposal),
        },
    )


def _priorities_beside(
    request: HttpRequest, budget_round: BudgetRound, proposal: Proposal | None
) -> AreaPriorities | None:
    """The published priorities of the proposal's area, or of the resident's home area
    for a new one, to show beside the form (none for a round without the stage)."""
    if budget_round.priorities_starts is None:
        return None
    if proposal is not None:
        round_area = proposal.round_area
    else:
        profile = getattr(request.user, "resident_profile", None)
        round_area = next(
            (
                ra
                for ra in budget_round.round_areas.all()
                if profile is not None and ra.area_id == profile.area_id
            ),
            None,
        )
        if round_area is None:
            return None
    round_area.budget_round = budget_round
    return priorities_beside(round_area, now=timezone.now())


@submitted_once
def proposal_detail(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = get_object_or_404(selectors.proposal_detail(pk=pk))
    if not policies.can_see_proposal(request.user, proposal):
        raise Http404
    now = timezone.now()
    comment_form = CommentForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        status = _post_comment(request, proposal, comment_form, now)
        if status is None:
            messages.success(request, _("Your comment was published."))
            return redirect(f"{proposal.get_absolute_url()}#comments")
    return render(
        request,
        "proposals/proposal_detail.html",
        _detail_context(request, proposal, comment_form, now),
        status=status,
    )


def _comment_on(proposal: Proposal, pk: int) -> Comment | None:
    """The comment ``pk`` among this proposal's (prefetched: no query), or None."""
    for comment in proposal.top_level_comments:  # type: ignore[attr-defined]
        if comment.pk == pk:
            return comment
        for reply in comment.replies.all():
            if reply.pk == pk:
                return reply
    return None


def _post_comment(
    request: HttpRequest, proposal: Proposal, form: CommentForm, now: datetime
) -> int | None:
    """Publish the comment or reply posted: None once saved, else the status of the page
    that shows why not (403 when the policy refuses, with its reason on the form)."""
    if not form.is_valid():
        return 200
    parent = None
    if (parent_id := form.cleaned_data["parent"]) is not None:
        parent = _comment_on(proposal, parent_id)
        if parent is None:
            form.add_error(
                None,
                _(
                    "The comment you replied to is not on this proposal any more. "
                    "Nothing was saved."
                ),
            )
            return 200
        decision = policies.can_reply(request.user, parent, now=now, proposal=proposal)
    else:
        decision = policies.can_comment(request.user, proposal, now=now)
    if not decision:
        form.add_error(None, decision.reason)
        return 403
    body = form.cleaned_data["body"]
    try:
        if parent is not None:
            services.comment_reply(
                parent=parent, proposal=proposal, author=request.user, body=body, now=now
            )
        else:
            services.comment_add(proposal=proposal, author=request.user, body=body, now=now)
    except ValidationError as error:
        form_add_service_errors(form, error)
        return 200
    return None


def _detail_context(
    request: HttpRequest, proposal: Proposal, comment_form: CommentForm, now: datetime
) -> dict[str, Any]:
    user = request.user
    # Each comment carries what this person may do with it, decided from what is
    # already loaded (no query per comment).
    for comment in proposal.top_level_comments:  # type: ignore[attr-defined]
        for item in (comment, *comment.replies.all()):
            item.reply_decision = policies.can_reply(user, item, now=now, proposal=proposal)
            item.flag_decision = policies.can_flag_comment(user, item)
            item.hide_decision = policies.can_hide_comment(user, item)
    is_author = permissions.is_author(user, proposal)
    is_writer = is_author or permissions.is_coauthor(user, proposal)
    _offer_states(user, proposal, now)
    for amendment in proposal.amendment_list:  # type: ignore[attr-defined]
        state = policies.amendment_state(amendment, proposal, now=now)
        amendment.state_label = AmendmentStatus(state).label
    return {
        **_support_context(user, proposal, now),
        "answer_form": CoDesignAnswerForm(),
        "proposal": proposal,
        "round": proposal.budget_round,
        "phase": proposal.budget_round.phase_at(now),
        "comment_form": comment_form,
        "is_author": is_author,
        "is_writer": is_writer,
        "coauthors": [
            c
            for c in proposal.live_coauthors  # type: ignore[attr-defined]
            if c.status == CoauthorStatus.ACCEPTED
        ],
        "edit_decision": policies.can_edit_proposal(user, proposal, now=now) if is_writer else None,
        "withdraw_decision": policies.can_withdraw_proposal(user, proposal, now=now)
        if is_author
        else None,
        "invite_decision": policies.can_invite_coauthor(user, proposal, now=now)
        if is_author
        else None,
        "review_decision": _any_review_action(user, proposal, now),
        "amendments_open": policies.amendments_open(proposal, now=now),
        "amend_decision": policies.can_suggest_amendment(user, proposal, now=now),
        "merges": merges_shown(user, proposal, now),
        "merge_answer_form": ReplyForm(),
        "comments_open": policies.comments_open(proposal, now=now),
        "comment_decision": policies.can_comment(user, proposal, now=now),
        "can_moderate": permissions.can_moderate_comments(user),
        "show_identities": permissions.can_see_officer_identities(user),
        "show_hidden": permissions.can_see_hidden_comments(user),
    }


def _offer_states(user: Any, proposal: Proposal, now: datetime) -> list[CoDesignOffer]:
    """The proposal's co-design offers (prefetched), each with its status as it stands
    now and whether this person may answer it."""
    offers: list[CoDesignOffer] = proposal.offers  # type: ignore[attr-defined]
    for offer in offers:
        state = policies.codesign_state(offer, proposal, now=now)
        offer.state_label = CoDesignStatus(state).label  # type: ignore[attr-defined]
        offer.answer_decision = policies.can_answer_codesign(  # type: ignore[attr-defined]
            user, offer, now=now, proposal=proposal
        )
    return offers


def _support_context(user: Any, proposal: Proposal, now: datetime) -> dict[str, Any]:
    """Whether this person supports the proposal and what they may do about it."""
    supported = selectors.supports_by(user=user, proposal=proposal)
    return {
        "supported": supported,
        "support_decision": policies.can_support(user, proposal, now=now),
        "support_open": policies.support_open(proposal, now=now),
        "withdraw_support_decision": policies.can_withdraw_support(user, proposal, now=now)
        if supported
        else None,
    }


@login_required
@require_POST
def proposal_support(request: HttpRequest, pk: int) -> HttpResponse:
    """One click to support, one to withdraw (a form: works without JavaScript)."""
    proposal = get_object_or_404(
        Proposal.objects.select_related("budget_round", "round_area__area"), pk=pk
    )
    if not policies.can_see_proposal(request.user, proposal):
        raise Http404
    now = timezone.now()
    if request.POST.get("action") == "withdraw":
        services.proposal_support_withdraw(proposal=proposal, user=request.user, now=now)
        messages.success(request, _("Your support was withdrawn."))
    else:
        services.proposal_support_add(proposal=proposal, user=request.user, now=now)
        messages.success(request, _("Thank you: your support is counted."))
    return redirect(f"{proposal.get_absolute_url()}#support")


@login_required
@require_POST
def codesign_answer(request: HttpRequest, pk: int) -> HttpResponse:
    """The authors accept or decline an officer's co-design offer."""
    offer = get_object_or_404(
        CoDesignOffer.objects.select_related(
            "proposal__budget_round", "proposal__round_area__area"
        ),
        pk=pk,
    )
    proposal = offer.proposal
    if not policies.can_see_proposal(request.user, proposal):
        raise Http404
    now = timezone.now()
    enforce(policies.can_answer_codesign(request.user, offer, now=now, proposal=proposal))
    form = CoDesignAnswerForm(request.POST)
    accept = request.POST.get("action") == "accept"
    if form.is_valid():
        answer = services.codesign_accept if accept else services.codesign_decline
        try:
            answer(offer=offer, author=request.user, reply=form.cleaned_data["reply"], now=now)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(
                request,
                _("You accepted the offer: your proposal now reads as agreed.")
                if accept
                else _("You declined the offer: the review goes on."),
            )
    else:
        messages.error(request, " ".join(m for errors in form.errors.values() for m in errors))
    return redirect(f"{proposal.get_absolute_url()}#codesign")


def _any_review_action(user: Any, proposal: Proposal, now: datetime) -> Decision:
    """Allowed when an officer can do something on the review page now; otherwise the
    reason feasibility cannot be decided."""
    decisions = (
        policies.can_review_proposal(user, proposal, now=now),
        policies.can_return_proposal(user, proposal, now=now),
        policies.can_mark_duplicate(user, proposal, now=now),
    )
    return next((decision for decision in decisions if decision), decisions[0])


@login_required
@require_http_methods(["GET", "POST"])
def proposal_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = get_object_or_404(Proposal.objects.select_related("budget_round"), pk=pk)
    if not policies.can_see_proposal(request.user, proposal):
        raise Http404
    decision = policies.can_withdraw_proposal(request.user, proposal, now=timezone.now())
    if request.method == "POST" or not permissions.is_author(request.user, proposal):
        enforce(decision)
    if request.method == "POST":
        services.proposal_withdraw(proposal=proposal, author=request.user, now=timezone.now())
        messages.success(request, _("Your proposal was withdrawn."))
        return redirect(proposal)
    return render(
        request, "proposals/proposal_withdraw.html", {"proposal": proposal, "decision": decision}
    )


@require_http_methods(["GET", "POST"])
@require(permissions.can_review_proposals)
def proposal_review(request: HttpRequest, pk: int) -> HttpResponse:
    """One page, three officer actions: decide feasibility, send back, mark duplicate."""
    proposal = get_object_or_404(selectors.proposal_for_review(pk=pk))
    # A draft does not exist for anyone but its author: 404, as on its own page.
    if not policies.can_see_proposal(request.user, proposal):
        raise Http404
    now = timezone.now()
    offers = _offer_states(request.user, proposal, now)
    open_offer = next((offer for offer in offers if offer.is_open), None)
    merges = merges_shown(request.user, proposal, now)
    open_merge = next((merge for merge in merges if merge.is_open), None)
    decisions = {
        "review": policies.can_review_proposal(request.user, proposal, now=now),
        "return": policies.can_return_proposal(request.user, proposal, now=now),
        "duplicate": policies.can_mark_duplicate(request.user, proposal, now=now),
        "codesign": policies.can_offer_codesign(
            request.user, proposal, now=now, open_offer=open_offer
        ),
        "merge": policies.can_propose_merge(request.user, proposal, None, now=now)
        if open_merge is None
        else policies.deny(_("This proposal is in a merge waiting for the authors' answers.")),
        "merge_withdraw": policies.can_withdraw_merge(request.user, open_merge, now=now)
        if open_merge is not None
        else policies.deny(_("No merge is waiting for the authors.")),
        "codesign_withdraw": policies.can_withdraw_codesign(
            request.user, open_offer, now=now, proposal=proposal
        )
        if open_offer is not None
        else policies.deny(_("No offer is waiting for the authors' answer.")),
    }
    action = request.POST.get("action") if request.method == "POST" else None
    if action is not None:
        enforce(decisions.get(action, policies.deny(_("Choose one of the actions on the page."))))
    review_form = ReviewForm(
        request.POST if action == "review" else None,
        initial={"official_cost": proposal.official_cost or proposal.estimated_cost},
    )
    return_form = ReturnForm(request.POST if action == "return" else None)
    duplicate_form = DuplicateForm(
        request.POST if action == "duplicate" else None, proposal=proposal
    )
    merge_form = MergeForm(
        request.POST if action == "merge" else None,
        proposal=proposal,
        initial={
            "merge_title": proposal.title,
            "merge_description": proposal.description,
            "merge_cost": proposal.estimated_cost,
        },
    )
    codesign_form = CoDesignForm(
        request.POST if action == "codesign" else None,
        # Its ids must differ from the decision form's (both have a "reason").
        auto_id="id_codesign_%s",
        initial={"description": proposal.description},
    )
    try:
        if action == "merge" and merge_form.is_valid():
            data = merge_form.cleaned_data
            services.merge_propose(
                into=proposal,
                absorbed=data["absorbed"],
                officer=request.user,
                title=data["merge_title"],
                description=data["merge_description"],
                estimated_cost=data["merge_cost"],
                reason=data["merge_reason"],
                now=now,
            )
            messages.success(request, _("The merge was proposed to the authors of both."))
            return redirect(f"{proposal.get_absolute_url()}#merges")
        if action == "merge_withdraw" and open_merge is not None:
            services.merge_withdraw(merge=open_merge, officer=request.user, now=now)
            messages.success(request, _("The proposed merge was withdrawn."))
            return redirect(f"{proposal.get_absolute_url()}#merges")
        if action == "codesign_withdraw" and open_offer is not None:
            services.codesign_withdraw(offer=open_offer, officer=request.user, now=now)
            messages.success(
                request, _("The offer was withdrawn; the authors can no longer accept it.")
            )
            return redirect(f"{proposal.get_absolute_url()}#codesign")
        if action == "codesign" and codesign_form.is_valid():
            data = codesign_form.cleaned_data
            services.codesign_offer(
                proposal=proposal,
                officer=request.user,
                description=data["description"],
                cost=data["cost"],
                reason=data["reason"],
                now=now,
            )
            messages.success(request, _("Your offer was sent to the authors."))
            return redirect(f"{proposal.get_absolute_url()}#codesign")
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
        target = {
            "review": review_form,
            "return": return_form,
            "duplicate": duplicate_form,
            "codesign": codesign_form,
            "merge": merge_form,
        }
        form = target[action or "review"]
        if action == "merge" and hasattr(error, "error_dict"):
            renamed = {"title": "merge_title", "description": "merge_description"}
            renamed |= {"estimated_cost": "merge_cost", "reason": "merge_reason"}
            error = ValidationError(
                {renamed.get(field, field): errors for field, errors in error.error_dict.items()}
            )
        if (
            hasattr(error, "error_dict")
            and "reason" in error.error_dict
            and action in ("return", "duplicate")
        ):
            error = ValidationError(
                {"message" if action == "return" else "duplicate_reason": error.messages}
            )
        form_add_service_errors(form, error)
    return render(
        request,
        "proposals/proposal_review.html",
        {
            "proposal": proposal,
            "phase": proposal.budget_round.phase_at(now),
            "review_form": review_form,
            "return_form": return_form,
            "duplicate_form": duplicate_form,
            "codesign_form": codesign_form,
            "merge_form": merge_form,
            "merges": merges,
            "offers": offers,
            "priorities": _priorities_beside(request, proposal.budget_round, proposal),
            **{f"{action}_decision": decision for action, decision in decisions.items()},
        },
    )


@require_http_methods(["GET", "POST"])
@require(permissions.can_moderate_comments)
def comment_hide(request: HttpRequest, pk: int) -> HttpResponse:
    comment = get_object_or_404(Comment.objects.select_related("proposal", "author"), pk=pk)
    if not policies.can_see_proposal(request.user, comment.proposal):
        raise Http404
    decision = policies.can_hide_comment(request.user, comment)
    form = HideCommentForm(request.POST or None)
    if request.method == "POST":
        enforce(decision)
        if form.is_valid():
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
    return render(
        request,
        "proposals/comment_hide.html",
        {"comment": comment, "form": form, "decision": decision},
    )


@login_required
@require_POST
def comment_flag(request: HttpRequest, pk: int) -> HttpResponse:
    comment = get_object_or_404(Comment.objects.select_related("proposal"), pk=pk)
    if not policies.can_see_proposal(request.user, comment.proposal):
        raise Http404
    decision = policies.can_flag_comment(request.user, comment)
    if not decision:
        messages.error(request, decision.reason)
    elif services.comment_flag(comment=comment, user=request.user, now=timezone.now()):
        messages.success(request, _("Thank you. An officer will look at this comment."))
    else:
        messages.info(request, _("You have already flagged this comment."))
    return redirect(f"{comment.proposal.get_absolute_url()}#comment-{comment.pk}")


@require_http_methods(["GET", "POST"])
@require(permissions.can_manage_categories)
@submitted_once
def officer_categories(request: HttpRequest, slug: str) -> HttpResponse:
    budget_round = _round(slug)
    now = timezone.now()
    decision = policies.can_add_category(request.user, budget_round, now=now)
    form = CategoryForm(request.POST or None)
    if request.method == "POST":
        enforce(decision)
        if form.is_valid():
            try:
                category = services.category_create(
                    budget_round=budget_round,
                    name=form.cleaned_data["name"],
                    officer=request.user,
                    now=now,
                )
            except ValidationError as error:
                form_add_service_errors(form, error)
            else:
                messages.success(request, _("The category “%s” was added.") % category.name)
                return redirect("proposals:officer_categories", slug=budget_round.slug)
    return render(
        request,
        "proposals/officer/categories.html",
        {"round": budget_round, "form": form, "decision": decision},
    )


@require(permissions.can_moderate_comments)
def officer_flagged_comments(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.flagged_comment_list(), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "proposals/officer/flagged_comments.html", {"page": page})
