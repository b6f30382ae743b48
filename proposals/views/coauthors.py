"""Pages for writing a proposal together and for its versions: the co-authors page
(invite, remove, leave), the invitation link, and what one version changed."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from pb_platform.forms import form_add_service_errors
from pb_platform.money import money_format
from pb_platform.policies import enforce
from proposals import permissions, policies, selectors, services
from proposals.diff import version_changes
from proposals.forms import CoauthorInviteForm
from proposals.models import LIVE_COAUTHOR_STATUSES, Proposal, ProposalCoauthor
from proposals.services.coauthors import invitation_by_token


def _visible(request: HttpRequest, pk: int) -> Proposal:
    proposal = get_object_or_404(
        Proposal.objects.select_related("budget_round", "author__resident_profile"), pk=pk
    )
    if not policies.can_see_proposal(request.user, proposal):
        raise Http404
    return proposal


@login_required
@require_http_methods(["GET", "POST"])
def proposal_coauthors(request: HttpRequest, pk: int) -> HttpResponse:
    """The author invites and removes co-authors here; co-authors see who writes with
    them and may leave. Nobody else has this page."""
    proposal = _visible(request, pk)
    now = timezone.now()
    if not permissions.is_writer(request.user, proposal):
        enforce(policies.can_invite_coauthor(request.user, proposal, now=now))
    decision = policies.can_invite_coauthor(request.user, proposal, now=now)
    form = CoauthorInviteForm(request.POST or None)
    if request.method == "POST":
        enforce(decision)
        if form.is_valid():
            try:
                invitation = services.coauthor_invite(
                    proposal=proposal,
                    author=request.user,
                    email=form.cleaned_data["email"],
                    now=now,
                )
            except ValidationError as error:
                form_add_service_errors(form, error)
            else:
                messages.success(
                    request,
                    _("We emailed an invitation to %(email)s.") % {"email": invitation.email},
                )
                return redirect("proposals:proposal_coauthors", pk=proposal.pk)
    coauthors = list(
        ProposalCoauthor.objects.filter(proposal=proposal, status__in=LIVE_COAUTHOR_STATUSES)
        .select_related("user__resident_profile")
        .order_by("invited_at", "pk")
    )
    for coauthor in coauthors:
        coauthor.proposal = proposal
        coauthor.remove_decision = policies.can_remove_coauthor(request.user, coauthor, now=now)
    return render(
        request,
        "proposals/proposal_coauthors.html",
        {
            "proposal": proposal,
            "form": form,
            "decision": decision,
            "coauthors": coauthors,
            "is_author": permissions.is_author(request.user, proposal),
        },
    )


@login_required
@require_POST
def coauthor_remove(request: HttpRequest, pk: int) -> HttpResponse:
    coauthor = get_object_or_404(
        ProposalCoauthor.objects.select_related("proposal__budget_round"), pk=pk
    )
    if not policies.can_see_proposal(request.user, coauthor.proposal):
        raise Http404
    leaving = coauthor.user_id == request.user.pk
    services.coauthor_remove(coauthor=coauthor, by=request.user, now=timezone.now())
    if leaving:
        messages.success(request, _("You are no longer a co-author of this proposal."))
        return redirect(coauthor.proposal)
    messages.success(request, _("%(email)s is no longer a co-author.") % {"email": coauthor.email})
    return redirect("proposals:proposal_coauthors", pk=coauthor.proposal_id)


@require_http_methods(["GET", "POST"])
def coauthor_invitation(request: HttpRequest, token: str) -> HttpResponse:
    """The link in the invitation email: sign in with the invited address, then accept
    or decline. The page names the proposal and who invited; nothing else."""
    invitation = invitation_by_token(token)
    if invitation is None:
        return render(
            request, "proposals/coauthor_invitation.html", {"invitation": None}, status=404
        )
    if not request.user.is_authenticated:
        if request.method == "POST":
            return redirect_to_login(request.get_full_path())
        return render(request, "proposals/coauthor_invitation.html", {"invitation": invitation})
    now = timezone.now()
    decision = policies.can_answer_invitation(request.user, invitation, now=now)
    if request.method == "POST":
        try:
            if request.POST.get("action") == "accept":
                services.coauthor_accept(invitation=invitation, user=request.user, now=now)
                messages.success(request, _("You are now a co-author of this proposal."))
                return redirect(invitation.proposal)
            services.coauthor_decline(invitation=invitation, user=request.user, now=now)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect(invitation.proposal)
        messages.info(request, _("You declined the invitation."))
        return redirect("proposals:my_proposals")
    return render(
        request,
        "proposals/coauthor_invitation.html",
        {"invitation": invitation, "decision": decision},
    )


@require_safe
def proposal_version(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    """One version of the proposal and what it changed since the one before."""
    proposal = _visible(request, pk)
    versions = selectors.proposal_versions(proposal=proposal, numbers=[number - 1, number])
    if not versions or versions[-1].number != number:
        raise Http404
    version = versions[-1]
    previous = versions[0] if len(versions) == 2 else None
    currency = proposal.budget_round.currency
    return render(
        request,
        "proposals/proposal_version.html",
        {
            "proposal": proposal,
            "version": version,
            "previous": previous,
            "changes": version_changes(
                previous, version, money=lambda amount: money_format(amount, currency)
            ),
            "show_identities": permissions.can_see_officer_identities(request.user),
        },
    )
