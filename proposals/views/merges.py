"""The writers' answer to an officer's proposed merge (agree, or decline with a reply).
Officers propose and withdraw merges on the review page (``views.proposals``)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from pb_platform.policies import enforce
from proposals import permissions, policies, selectors, services
from proposals.forms import ReplyForm
from proposals.models import MergeStatus, Proposal, ProposalMerge


def merges_shown(user: Any, proposal: Proposal, now: Any) -> list[ProposalMerge]:
    """The proposal's merges for its page, each with its status as it stands now and,
    for the open one (there is at most one), what this person may do with it."""
    merges = selectors.merges_of(proposal=proposal)
    for merge in merges:
        state = policies.merge_state(merge, merge.into.budget_round, now=now)
        merge.state_label = MergeStatus(state).label  # type: ignore[attr-defined]
        merge.other = merge.absorbed if merge.into_id == proposal.pk else merge.into  # type: ignore[attr-defined]
        if state == MergeStatus.PROPOSED:
            merge.answer_decision = policies.can_answer_merge(user, merge, now=now)  # type: ignore[attr-defined]
    return merges


@login_required
@require_POST
def merge_answer(request: HttpRequest, pk: int) -> HttpResponse:
    merge = get_object_or_404(
        ProposalMerge.objects.select_related("into__budget_round", "absorbed__budget_round"),
        pk=pk,
    )
    if not (
        policies.can_see_proposal(request.user, merge.into)
        and policies.can_see_proposal(request.user, merge.absorbed)
    ):
        raise Http404
    now = timezone.now()
    enforce(policies.can_answer_merge(request.user, merge, now=now))
    form = ReplyForm(request.POST)
    mine = next(p for p in (merge.into, merge.absorbed) if permissions.is_writer(request.user, p))
    back = redirect(f"{mine.get_absolute_url()}#merges")
    if not form.is_valid():
        messages.error(request, " ".join(m for errors in form.errors.values() for m in errors))
        return back
    try:
        if request.POST.get("action") == "agree":
            merge = services.merge_agree(merge=merge, writer=request.user, now=now)
        else:
            services.merge_decline(
                merge=merge, writer=request.user, reply=form.cleaned_data["reply"], now=now
            )
            messages.success(
                request, _("You declined the merge; both proposals stay as they were.")
            )
            return back
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return back
    if merge.status == MergeStatus.MERGED:
        messages.success(request, _("Both sides agreed: the proposals are now one."))
        return redirect(f"{merge.into.get_absolute_url()}#versions-title")
    messages.success(request, _("You agreed. The other proposal's authors answer next."))
    return back
