"""May this user do this to this object now, and if not, why: the proposals app's rules.

Each function decides from the user's role (``proposals.permissions``), the round's
phase at ``now`` and the object's state, using only objects the caller already loaded,
and returns a ``pb_platform.policies.Decision``. Services ``enforce`` them for every
caller; views and templates only show the answer and its reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.utils import formats, timezone
from django.utils.translation import gettext as _

from pb_platform.policies import ALLOW, Decision, deny, first_denial
from pb_platform.users import AnyUser
from proposals import permissions
from proposals.models import (
    AUTHOR_EDITABLE_STATUSES,
    REVIEW_EDITABLE_STATUSES,
    REVIEWABLE_STATUSES,
    AmendmentStatus,
    Area,
    BudgetRound,
    CoauthorStatus,
    CoDesignOffer,
    CoDesignStatus,
    Comment,
    MergeStatus,
    Proposal,
    ProposalAmendment,
    ProposalCoauthor,
    ProposalMerge,
    ProposalStatus,
    ResidentProfile,
    RoundArea,
    ThemeStatus,
    ThemeSuggestion,
    VerificationRequired,
)
from proposals.phases import BOUNDARIES, PHASE_ORDER, PRIORITIES_BOUNDARY, Phase, phase_rank

# --- Rounds, areas and residents --------------------------------------------------------
# A round's rules are declared in advance: once voting opens (by the clock, or as far
# as the beat task has moved the round, or because it was imported), the counting rule,
# the ballot, the money and the areas stay as the voters saw them. Name, description and
# dates still to come stay editable; the voting deadline may only be extended.

# The round settings that decide how votes are cast and counted, frozen once voting opens.
ROUND_RULE_FIELDS = (
    "currency",
    "total_budget",
    "counting_rule",
    "ballot_type",
    "max_choices",
    "verification_required",
    "minimum_age",
    "asks_equality_questions",
)
# The form's key for "which areas take part, with which budgets".
AREA_BUDGETS = "area_budgets"


def _when(moment: datetime) -> str:
    return formats.date_format(timezone.localtime(moment), "DATETIME_FORMAT")


def round_voting_reached(budget_round: BudgetRound, *, now: datetime) -> bool:
    """Voting has opened: by the clock, by the stored state, or the round was imported."""
    return (
        budget_round.is_imported
        or phase_rank(budget_round.state) >= phase_rank(Phase.VOTING)
        or budget_round.voting_starts <= now
    )


def round_results_reached(budget_round: BudgetRound, *, now: datetime) -> bool:
    """Voting has closed, so results are counted (or published) from the round's rules."""
    return (
        budget_round.is_imported
        or phase_rank(budget_round.state) >= phase_rank(Phase.RESULTS)
        or budget_round.voting_ends <= now
    )


def _boundary_passed(budget_round: BudgetRound, name: str, phase: Phase, now: datetime) -> bool:
    return getattr(budget_round, name) <= now or phase_rank(budget_round.state) >= phase_rank(phase)


def can_create_round(user: AnyUser) -> Decision:
    if not permissions.can_manage_rounds(user):
        return deny(_("Only council officers may set up budget rounds."))
    return ALLOW


def can_edit_round(user: AnyUser, budget_round: BudgetRound, *, now: datetime) -> Decision:
    """Whether the user may open the round's edit page at all. What may still change on
    it is ``round_frozen_fields``; the name and description always may."""
    if not permissions.can_manage_rounds(user):
        return deny(_("Only council officers may change budget rounds."))
    return ALLOW


def round_frozen_fields(budget_round: BudgetRound, *, now: datetime) -> dict[str, str]:
    """The round's settings that can no longer change at ``now``, each with the reason.

    Keys are field names of ``BudgetRound`` (and ``AREA_BUDGETS`` for the areas and their
    budgets). Decided from the loaded round alone: no query.
    """
    frozen: dict[str, str] = {}
    if budget_round.is_imported:
        rules = _(
            "“%(name)s” was imported from a Pabulib file: its rules and budgets are kept "
            "as recorded."
        ) % {"name": budget_round.name}
    elif round_results_reached(budget_round, now=now):
        rules = _(
            "Voting in “%(name)s” closed on %(when)s and its results are counted from these "
            "settings, so they can no longer change."
        ) % {"name": budget_round.name, "when": _when(budget_round.voting_ends)}
    elif round_voting_reached(budget_round, now=now):
        rules = _(
            "Voting in “%(name)s” opened on %(when)s: the rules, the money and the areas "
            "stay as voters saw them until the round ends."
        ) % {"name": budget_round.name, "when": _when(budget_round.voting_starts)}
    else:
        rules = ""
    if rules:
        for name in (*ROUND_RULE_FIELDS, AREA_BUDGETS):
            frozen[name] = rules
    for name, phase in BOUNDARIES:
        if _boundary_passed(budget_round, name, phase, now):
            frozen[name] = _(
                "This date has passed (%(when)s): moving it would rewrite what already happened."
            ) % {"when": _when(getattr(budget_round, name))}
    priorities, _phase = PRIORITIES_BOUNDARY
    if budget_round.priorities_starts is not None and _boundary_passed(
        budget_round, priorities, Phase.PRIORITIES, now
    ):
        frozen[priorities] = _(
            "Residents' priorities opened on %(when)s: the stage can no longer move or be removed."
        ) % {"when": _when(budget_round.priorities_starts)}
    elif "submission_starts" in frozen:
        frozen[priorities] = _(
            "Proposal submission has opened: a priorities stage comes before it, so it can no "
            "longer be added."
        )
    return frozen


def round_field_frozen(budget_round: BudgetRound, field_name: str, *, now: datetime) -> Decision:
    """Whether one setting may still change, and if not, why."""
    reason = round_frozen_fields(budget_round, now=now).get(field_name)
    return ALLOW if reason is None else deny(reason)


def round_voting_deadline_change(
    budget_round: BudgetRound, new_deadline: datetime, *, reason: str, now: datetime
) -> Decision:
    """Once voting opened, its deadline may be extended (with a reason people can read in
    the round's history) but never brought forward: voters were told when it closes."""
    old = budget_round.voting_ends
    if new_deadline == old or not round_voting_reached(budget_round, now=now):
        return ALLOW
    if not (refusal := round_field_frozen(budget_round, "voting_ends", now=now)):
        return refusal
    if new_deadline < old:
        return deny(
            _(
                "Voting has opened, so it cannot close earlier than announced (%(when)s). "
                "You may extend it."
            )
            % {"when": _when(old)}
        )
    if not reason.strip():
        return deny(_("Say why voting is extended: the reason is shown in the round's history."))
    return ALLOW


def can_manage_areas(user: AnyUser) -> Decision:
    if not permissions.can_manage_areas(user):
        return deny(_("Only council officers may add or change areas."))
    return ALLOW


def can_change_area_whole_council(
    user: AnyUser, area: Area, *, area_rounds: Iterable[BudgetRound], now: datetime
) -> Decision:
    """Whether an area may start or stop counting as the whole council. ``area_rounds``
    are the rounds the area takes part in (loaded by the caller)."""
    if not (decision := can_manage_areas(user)):
        return decision
    for budget_round in area_rounds:
        if round_voting_reached(budget_round, now=now):
            return deny(
                _(
                    "“%(area)s” took part in voting in “%(round)s”: who may vote on it is "
                    "part of that round's rules and can no longer change."
                )
                % {"area": area.name, "round": budget_round.name}
            )
    return ALLOW


# --- The resident register and eligibility ---------------------------------------------
# Officers keep the register (imports, letters with codes, checks in person); auditors
# read the import log. A resident becomes eligibility-verified once, by one method.


def can_manage_register(user: AnyUser) -> Decision:
    if not permissions.can_manage_register(user):
        return deny(_("Only council officers manage the resident register."))
    return ALLOW


def can_view_register_log(user: AnyUser) -> Decision:
    if not permissions.can_view_register_log(user):
        return deny(_("Only council officers and auditors see the register's import log."))
    return ALLOW


def can_verify_eligibility(user: AnyUser, profile: ResidentProfile | None) -> Decision:
    """May this person prove they are eligible (register match or letter code) now?"""
    if not user.is_authenticated:
        return deny(_("Sign in to confirm you are eligible to vote."))
    if profile is None or profile.registered_by_id is not None:
        return deny(_("Only residents with an account confirm their eligibility here."))
    if profile.is_eligibility_verified:
        return deny(_("You are already eligibility-verified."))
    return ALLOW


def can_verify_in_person(user: AnyUser, profile: ResidentProfile) -> Decision:
    """An officer who has seen proof of identity and address records it."""
    if not permissions.can_manage_register(user):
        return deny(_("Only council officers verify residents in person."))
    if profile.is_eligibility_verified:
        return deny(_("%(name)s is already eligibility-verified.") % {"name": profile.display_name})
    return ALLOW


# --- Proposals, comments and categories -------------------------------------------------
# Who may see, write, review and discuss proposals, and when. The role comes from
# ``proposals.permissions``; the phase from the round's timeline at ``now``; the state
# from the proposal or comment. Nothing here queries per object: a list page may ask
# about every row (``can_see_proposal`` is what the officer ledger filters drafts with).
# The role checks that need the database (a verified email, a home area) run once per
# person, never per row.

# Phases in which the conversation on a proposal is open.
COMMENT_PHASES = (Phase.SUBMISSION, Phase.REVIEW)
# Statuses an officer may mark as a duplicate (a returned idea may repeat another too).
DUPLICABLE_STATUSES = (*REVIEWABLE_STATUSES, ProposalStatus.RETURNED)

_PHASE_STARTS = {phase: name for name, phase in (PRIORITIES_BOUNDARY, *BOUNDARIES)}


def _during(
    budget_round: BudgetRound, now: datetime, phases: tuple[Phase, ...], what: str
) -> Decision:
    """Allowed while the round is in one of ``phases`` (consecutive), else when it opens
    or when it closed, in words. ``what`` names the activity, e.g. "Proposal submission"."""
    if budget_round.phase_at(now) in phases:
        return ALLOW
    first = _PHASE_STARTS.get(phases[0])
    opens = getattr(budget_round, first) if first else None
    if opens is not None and now < opens:
        return deny(
            _("%(what)s in “%(round)s” opens on %(date)s.")
            % {"what": what, "round": budget_round.name, "date": _when(opens)}
        )
    following = PHASE_ORDER[PHASE_ORDER.index(phases[-1]) + 1]
    closes = getattr(budget_round, _PHASE_STARTS[following])
    return deny(
        _("%(what)s in “%(round)s” closed on %(date)s.")
        % {"what": what, "round": budget_round.name, "date": _when(closes)}
    )


def _officer(user: AnyUser, doing: str) -> Decision:
    if permissions.can_review_proposals(user):
        return ALLOW
    return deny(_("Only council officers can %(doing)s.") % {"doing": doing})


def _resident(user: AnyUser, doing: str) -> Decision:
    if not user.is_authenticated:
        return deny(_("Sign in to %(doing)s.") % {"doing": doing})
    if permissions.is_verified_resident(user):
        return ALLOW
    return deny(
        _("Only residents with a verified email and a home area can %(doing)s.") % {"doing": doing}
    )


def can_see_proposal(user: AnyUser, proposal: Proposal) -> Decision:
    """A proposal never submitted (a draft, or a draft withdrawn) is its writers' alone
    (the author and accepted co-authors): not officers', not auditors'. Everything once
    submitted stays public, whatever became of it. Pages answer 404 to anyone else, as
    if it did not exist."""
    if proposal.submitted_at is not None or permissions.is_writer(user, proposal):
        return ALLOW
    return deny(_("This proposal is a draft: only its authors can see it."))


def submission_open(budget_round: BudgetRound, *, now: datetime) -> Decision:
    """Whether the round takes new ideas now, whoever asks (for "Suggest an idea")."""
    return _during(budget_round, now, (Phase.SUBMISSION,), _("Proposal submission"))


def can_create_proposal(user: AnyUser, budget_round: BudgetRound, *, now: datetime) -> Decision:
    return first_denial(
        _resident(user, _("submit proposals")), submission_open(budget_round, now=now)
    )


def submission_offer(user: AnyUser, budget_round: BudgetRound, *, now: datetime) -> Decision | None:
    """What to say about "Suggest an idea": allowed for whoever may submit and for
    visitors while submission is open (they are asked to sign in); otherwise the reason.
    None for staff accounts, which propose nothing and need no reason."""
    if not user.is_authenticated:
        return submission_open(budget_round, now=now)
    if not user.has_perm("proposals.add_proposal"):
        return None
    return can_create_proposal(user, budget_round, now=now)


def _profile(user: AnyUser) -> ResidentProfile | None:
    """The person's resident profile, read once (Django keeps it on the user)."""
    return getattr(user, "resident_profile", None) if user.is_authenticated else None


def _lives_in(user: AnyUser, round_area: RoundArea) -> bool:
    """Home area is the round area's, or the area is the whole council's."""
    if round_area.area.is_city_wide:
        return True
    profile = _profile(user)
    return profile is not None and profile.area_id == round_area.area_id


def lives_in(user: AnyUser, round_area: RoundArea) -> bool:
    """For other apps' policies: the person lives in the round area (or it is the whole
    council's). Needs ``round_area.area`` loaded."""
    return _lives_in(user, round_area)


def can_propose_in(user: AnyUser, round_area: RoundArea) -> Decision:
    """A resident proposes for their home area, or for a whole-council area (which
    every resident may vote on). Needs ``round_area.area`` loaded; reads the person's
    profile once (Django keeps it on the user)."""
    if _lives_in(user, round_area):
        return ALLOW
    return deny(
        _(
            "You do not live in %(area)s: you can propose ideas for your own area or "
            "for the whole council."
        )
        % {"area": round_area.area.name}
    )


def text_changeable(proposal: Proposal, *, now: datetime) -> Decision:
    """Whether the proposal's text may change now, whoever asks: while ideas are
    submitted (drafts, submitted and sent-back ones) and reviewed (submitted ones, and
    those an officer decided on: a change sends them back for a new decision). Once
    voting opens the text is the one officers reviewed and voters see on the ballot."""
    budget_round = proposal.budget_round
    phase = budget_round.phase_at(now)
    if phase not in (Phase.SUBMISSION, Phase.REVIEW):
        return _during(budget_round, now, (Phase.SUBMISSION, Phase.REVIEW), _("Changing proposals"))
    editable = AUTHOR_EDITABLE_STATUSES if phase == Phase.SUBMISSION else REVIEW_EDITABLE_STATUSES
    if proposal.status in editable:
        return ALLOW
    if proposal.status in AUTHOR_EDITABLE_STATUSES:  # a draft or sent-back idea, too late
        return _during(budget_round, now, (Phase.SUBMISSION,), _("Proposal submission"))
    return deny(
        _("This proposal is “%(status)s” and can no longer be changed.")
        % {"status": proposal.get_status_display()}
    )


def _author_may_change(user: AnyUser, proposal: Proposal, now: datetime, doing: str) -> Decision:
    if not permissions.is_author(user, proposal):
        return deny(_("Only the author can %(doing)s this proposal.") % {"doing": doing})
    if proposal.status not in AUTHOR_EDITABLE_STATUSES:
        return deny(
            _("This proposal is “%(status)s” and can no longer be changed.")
            % {"status": proposal.get_status_display()}
        )
    return _during(proposal.budget_round, now, (Phase.SUBMISSION,), _("Proposal submission"))


def can_edit_proposal(user: AnyUser, proposal: Proposal, *, now: datetime) -> Decision:
    """The author and accepted co-authors change the text while it may change."""
    if not permissions.is_writer(user, proposal):
        return deny(_("Only the proposal's authors can change it."))
    return text_changeable(proposal, now=now)


def can_withdraw_proposal(user: AnyUser, proposal: Proposal, *, now: datetime) -> Decision:
    """Only the author withdraws, while submission is open: co-authors agreed to help
    with someone else's idea, so they ask the author (or leave the proposal)."""
    if permissions.is_coauthor(user, proposal):
        return deny(
            _("Only the author can withdraw this proposal: ask them, or leave it yourself.")
        )
    return _author_may_change(user, proposal, now, _("withdraw"))


# --- Writing together -------------------------------------------------------------------
# The author invites co-authors by email while the text may change; whoever signs in
# with that address (verified) accepts; co-authors write like the author but only the
# author withdraws. The author removes co-authors; a co-author may leave.


def can_invite_coauthor(user: AnyUser, proposal: Proposal, *, now: datetime) -> Decision:
    if not permissions.is_author(user, proposal):
        return deny(_("Only the author can invite co-authors."))
    return text_changeable(proposal, now=now)


def can_answer_invitation(
    user: AnyUser, invitation: ProposalCoauthor, *, now: datetime
) -> Decision:
    """Accept or decline: someone signed in as a resident with the invited address
    verified, while the invitation waits and the proposal may still change. Needs
    ``invitation.proposal`` (with its round) loaded."""
    if invitation.status != CoauthorStatus.INVITED:
        return deny(_("This invitation was already answered or withdrawn."))
    if not (decision := _resident(user, _("write proposals with others"))):
        return decision
    if not permissions.has_verified_email(user, invitation.email):
        return deny(
            _(
                "This invitation was sent to another email address. Sign in with that "
                "address (verified) to answer it."
            )
        )
    if permissions.is_author(user, invitation.proposal):
        return deny(_("You wrote this proposal: you are its author already."))
    return text_changeable(invitation.proposal, now=now)


def can_remove_coauthor(user: AnyUser, coauthor: ProposalCoauthor, *, now: datetime) -> Decision:
    """The author removes a co-author (or withdraws an invitation); a co-author leaves.
    Needs ``coauthor.proposal`` (with its round) loaded."""
    proposal = coauthor.proposal
    leaving = user.is_authenticated and coauthor.user_id == user.pk
    if not (permissions.is_author(user, proposal) or leaving):
        return deny(_("Only the author can remove co-authors."))
    if coauthor.status not in (CoauthorStatus.INVITED, CoauthorStatus.ACCEPTED):
        return deny(_("This person is not a co-author."))
    return text_changeable(proposal, now=now)


def can_open_review(user: AnyUser, proposal: Proposal) -> Decision:
    """Whether the review page exists for this person: officers, and never for a draft
    (a draft is 404 for everyone but its author)."""
    return first_denial(can_see_proposal(user, proposal), _officer(user, _("review proposals")))


def can_review_proposal(user: AnyUser, proposal: Proposal, *, now: datetime) -> Decision:
    """Decide feasibility and the official cost, during review (a decision may be
    corrected until voting opens; each one stays in the history)."""
    decision = first_denial(
        can_open_review(user, proposal),
        _during(proposal.budget_round, now, (Phase.REVIEW,), _("Review")),
    )
    if decision and proposal.status not in REVIEWABLE_STATUSES:
        return deny(
            _("A proposal that is “%(status)s” cannot be reviewed.")
            % {"status": proposal.get_status_display()}
        )
    return decision


def can_return_proposal(user: AnyUser, proposal: Proposal, *, now: datetime) -> Decision:
    """Send a submitted idea back to its author to improve, while they still can."""
    decision = first_denial(
        can_open_review(user, proposal),
        _during(
            proposal.budget_round,
            now,
            (Phase.SUBMISSION,),
            _("Sending proposals back to their authors"),
        ),
    )
    if decision and proposal.status != ProposalStatus.SUBMITTED:
        return deny(_("Only submitted proposals can be sent back to the author."))
    return decision


def can_mark_duplicate(user: AnyUser, proposal: Proposal, *, now: datetime) -> Decision:
    decision = first_denial(
        can_open_review(user, proposal),
        _during(
            proposal.budget_round,
            now,
            (Phase.SUBMISSION, Phase.REVIEW),
            _("Marking duplicates"),
        ),
    )
    if decision and proposal.status not in DUPLICABLE_STATUSES:
        return deny(
            _("A proposal that is “%(status)s” cannot be marked as a duplicate.")
            % {"status": proposal.get_status_display()}
        )
    return decision


def comments_open(proposal: Proposal, *, now: datetime) -> Decision:
    """Whether the conversation on this proposal is open now, whoever asks."""
    if proposal.submitted_at is None or proposal.status == ProposalStatus.DRAFT:
        return deny(_("A draft has no comments until it is submitted."))
    return _during(proposal.budget_round, now, COMMENT_PHASES, _("Commenting"))


def can_comment(user: AnyUser, proposal: Proposal, *, now: datetime) -> Decision:
    """Verified residents and officers comment while ideas are submitted and reviewed."""
    role = ALLOW if permissions.can_review_proposals(user) else _resident(user, _("comment"))
    return first_denial(can_see_proposal(user, proposal), comments_open(proposal, now=now), role)


def can_reply(
    user: AnyUser, comment: Comment, *, now: datetime, proposal: Proposal | None = None
) -> Decision:
    """The proposal's author and officers answer a visible top-level comment.

    Pass ``proposal`` when the comment came prefetched under it (saves a query)."""
    proposal = proposal if proposal is not None else comment.proposal
    if comment.proposal_id != proposal.pk:
        return deny(_("That comment is not on this proposal."))
    decision = first_denial(can_see_proposal(user, proposal), comments_open(proposal, now=now))
    if not decision:
        return decision
    if not (permissions.can_review_proposals(user) or permissions.is_writer(user, proposal)):
        return deny(_("Only the proposal's authors and council officers can reply."))
    if comment.parent_id is not None:
        return deny(_("Replies are one level deep: answer the comment itself."))
    if comment.is_hidden:
        return deny(_("This comment was hidden by an officer and cannot be answered."))
    return ALLOW


def can_hide_comment(user: AnyUser, comment: Comment) -> Decision:
    if not permissions.can_moderate_comments(user):
        return deny(_("Only council officers can hide comments."))
    if comment.is_hidden:
        return deny(_("This comment is already hidden."))
    return ALLOW


def can_flag_comment(user: AnyUser, comment: Comment) -> Decision:
    if not user.is_authenticated:
        return deny(_("Sign in to report a comment."))
    if not permissions.can_flag_comments(user):
        return deny(_("Your account cannot report comments."))
    if comment.author_id == user.pk:
        return deny(_("You cannot report your own comment."))
    if comment.is_hidden:
        return deny(_("This comment is already hidden."))
    return ALLOW


def can_add_category(user: AnyUser, budget_round: BudgetRound, *, now: datetime) -> Decision:
    """Officers set the themes residents file ideas under, until submission closes
    (a category added later could hold no idea)."""
    if not permissions.can_manage_categories(user):
        return deny(_("Only council officers can add categories."))
    return _during(
        budget_round,
        now,
        (Phase.UPCOMING, Phase.PRIORITIES, Phase.SUBMISSION),
        _("Adding categories"),
    )


# --- Residents' priorities before ideas ---------------------------------------------------
# While the optional priorities stage runs, residents of an area (the same rule as
# proposing: their home area, or a whole-council area) spread 100 points over the
# round's themes and may suggest one more theme; officers type in answers collected on
# paper or at events, and moderate suggestions. The results appear once the stage has
# ended, not live, so early answers do not sway later ones; officers then say what they
# will do with them.


def priorities_open(budget_round: BudgetRound, *, now: datetime) -> Decision:
    """Whether the round takes priorities now, whoever asks."""
    if budget_round.priorities_starts is None:
        return deny(_("“%(round)s” has no priorities stage.") % {"round": budget_round.name})
    return _during(budget_round, now, (Phase.PRIORITIES,), _("Saying what matters most"))


def priorities_results_published(budget_round: BudgetRound, *, now: datetime) -> Decision:
    """The results of the priorities stage are public once it has ended."""
    if budget_round.priorities_starts is None:
        return deny(_("“%(round)s” has no priorities stage.") % {"round": budget_round.name})
    if now < budget_round.submission_starts:
        return deny(
            _("The priorities are shown once the stage ends, on %(date)s.")
            % {"date": _when(budget_round.submission_starts)}
        )
    return ALLOW


def can_respond_priorities(user: AnyUser, round_area: RoundArea, *, now: datetime) -> Decision:
    """A resident of the area answers (and may change their answer) while the stage runs.
    Needs ``round_area.budget_round`` and ``round_area.area`` loaded."""
    return first_denial(
        priorities_open(round_area.budget_round, now=now),
        _resident(user, _("say what matters most")),
        can_propose_in(user, round_area),
    )


def can_suggest_theme(user: AnyUser, budget_round: BudgetRound, *, now: datetime) -> Decision:
    return first_denial(
        priorities_open(budget_round, now=now), _resident(user, _("suggest a theme"))
    )


def can_enter_paper_priorities(
    user: AnyUser, budget_round: BudgetRound, *, now: datetime
) -> Decision:
    """Officers type in answers collected on paper or at events, while the stage runs
    (the published result never changes after it appears)."""
    return first_denial(
        _officer(user, _("enter priorities collected on paper or at events")),
        priorities_open(budget_round, now=now),
    )


def can_moderate_theme(user: AnyUser, suggestion: ThemeSuggestion, *, now: datetime) -> Decision:
    """Officers add or turn down a suggested theme while themes may still be added."""
    if not permissions.can_manage_categories(user):
        return deny(_("Only council officers can decide on suggested themes."))
    if suggestion.status != ThemeStatus.PENDING:
        return deny(_("This suggestion has already been decided."))
    return can_add_category(user, suggestion.budget_round, now=now)


def can_publish_priorities_statement(
    user: AnyUser, round_area: RoundArea, *, now: datetime
) -> Decision:
    """Officers say what they will do with an area's priorities, once they are public
    (and may correct it later). Needs ``round_area.budget_round`` loaded."""
    return first_denial(
        _officer(user, _("publish what the council will do with the priorities")),
        priorities_results_published(round_area.budget_round, now=now),
    )


def can_read_priority_needs(user: AnyUser) -> Decision:
    """The needs residents describe are read by officers only: a few sentences about
    someone's street can name them, so they are never published."""
    return _officer(user, _("read the needs residents described"))


# --- Showing support, and co-design during review ---------------------------------------
# Residents show support while ideas are submitted and reviewed: officers see the counts
# when they review, and support closes when voting opens, so it never stands in for a
# vote. It informs; it decides nothing. During review an officer may offer the authors
# a revised description, cost or both; the authors accept (the revision becomes the
# proposal, and a cost its official cost) or decline (the review goes on). An offer not
# answered when review ends lapses, and the officer's decision stands.

SUPPORT_PHASES = (Phase.SUBMISSION, Phase.REVIEW)
# Live submitted ideas; a not-feasible one too, as review decisions can be corrected.
SUPPORTABLE_STATUSES = (
    ProposalStatus.SUBMITTED,
    ProposalStatus.RETURNED,
    ProposalStatus.FEASIBLE,
    ProposalStatus.NOT_FEASIBLE,
)
# Proposals under review an officer may offer a co-design for (not a duplicate).
CODESIGN_STATUSES = (ProposalStatus.SUBMITTED, ProposalStatus.FEASIBLE, ProposalStatus.NOT_FEASIBLE)


def support_open(proposal: Proposal, *, now: datetime) -> Decision:
    """Whether this proposal takes support now, whoever asks."""
    if proposal.submitted_at is None or proposal.status not in SUPPORTABLE_STATUSES:
        return deny(
            _("A proposal that is “%(status)s” cannot be supported.")
            % {"status": proposal.get_status_display()}
        )
    return _during(proposal.budget_round, now, SUPPORT_PHASES, _("Showing support"))


def _eligible_in(user: AnyUser, budget_round: BudgetRound, *, doing: str) -> Decision:
    """A round whose voting needs an eligibility check asks the same of supporters and
    of residents suggesting amendments (any method: neither decides anything, so the
    method does not matter). ``doing`` names what they would do, for the message."""
    if budget_round.verification_required == VerificationRequired.NONE:
        return ALLOW
    profile = _profile(user)
    if profile is not None and profile.is_eligibility_verified:
        return ALLOW
    return deny(
        _(
            "In “%(round)s” only eligibility-verified residents %(doing)s, as only they "
            "vote. Confirm it under “Your account”."
        )
        % {"round": budget_round.name, "doing": doing}
    )


def can_support(user: AnyUser, proposal: Proposal, *, now: datetime) -> Decision:
    """Verified residents of the proposal's area (any resident for a whole-council
    area), not its authors: their support goes without saying."""
    decision = first_denial(
        can_see_proposal(user, proposal),
        support_open(proposal, now=now),
        _resident(user, _("support proposals")),
    )
    if not decision:
        return decision
    if permissions.is_writer(user, proposal):
        return deny(_("You wrote this proposal: your support goes without saying."))
    if not _lives_in(user, proposal.round_area):
        return deny(
            _("Only residents of %(area)s can support this proposal.")
            % {"area": proposal.round_area.area.name}
        )
    return _eligible_in(user, proposal.budget_round, doing=_("show support"))


def can_withdraw_support(user: AnyUser, proposal: Proposal, *, now: datetime) -> Decision:
    """Whoever supports may change their mind while support is open."""
    if not user.is_authenticated:
        return deny(_("Sign in to withdraw your support."))
    return first_denial(can_see_proposal(user, proposal), support_open(proposal, now=now))


def can_offer_codesign(
    user: AnyUser, proposal: Proposal, *, now: datetime, open_offer: CoDesignOffer | None
) -> Decision:
    """An officer offers a revision during review. ``open_offer`` is the offer still
    waiting for the authors, if any (loaded by the caller): one question at a time."""
    decision = first_denial(
        can_open_review(user, proposal),
        _during(proposal.budget_round, now, (Phase.REVIEW,), _("Co-design")),
    )
    if decision and proposal.status not in CODESIGN_STATUSES:
        return deny(
            _("A proposal that is “%(status)s” is not open to co-design.")
            % {"status": proposal.get_status_display()}
        )
    if decision and open_offer is not None:
        return deny(_("An offer is waiting for the authors' answer: one offer at a time."))
    return decision


def can_withdraw_codesign(
    user: AnyUser, offer: CoDesignOffer, *, now: datetime, proposal: Proposal | None = None
) -> Decision:
    """An officer takes back an offer the authors have not answered yet (a mistaken
    cost must not become official by an author's click). Any officer may: offers are
    the council's, not one officer's."""
    proposal = proposal if proposal is not None else offer.proposal
    decision = first_denial(
        can_open_review(user, proposal),
        _during(proposal.budget_round, now, (Phase.REVIEW,), _("Co-design")),
    )
    if decision and codesign_state(offer, proposal, now=now) != CoDesignStatus.PROPOSED:
        return deny(_("Only an offer still waiting for the authors' answer can be withdrawn."))
    return decision


def _lapsed_once_review_ends(
    status: str, budget_round: BudgetRound, now: datetime, *, waiting: str, lapsed: str
) -> str:
    """A question to the authors (co-design offer, suggested change, merge) still
    ``waiting`` once review is over has ``lapsed``, even before the phase-end work
    records it; any other status stands."""
    if status == waiting and phase_rank(budget_round.phase_at(now)) > phase_rank(Phase.REVIEW):
        return lapsed
    return status


def codesign_state(offer: CoDesignOffer, proposal: Proposal, *, now: datetime) -> str:
    """The offer's status as it stands at ``now``."""
    return _lapsed_once_review_ends(
        offer.status,
        proposal.budget_round,
        now,
        waiting=CoDesignStatus.PROPOSED,
        lapsed=CoDesignStatus.LAPSED,
    )


def can_answer_codesign(
    user: AnyUser, offer: CoDesignOffer, *, now: datetime, proposal: Proposal | None = None
) -> Decision:
    """The authors accept or decline an open offer during review. Pass ``proposal``
    when already loaded (saves a query)."""
    proposal = proposal if proposal is not None else offer.proposal
    if offer.proposal_id != proposal.pk:
        return deny(_("That offer is not about this proposal."))
    if not permissions.is_writer(user, proposal):
        return deny(_("Only the proposal's authors answer the council's co-design offer."))
    state = codesign_state(offer, proposal, now=now)
    if state != CoDesignStatus.PROPOSED:
        return deny(
            _("This offer is closed: %(status)s.") % {"status": CoDesignStatus(state).label.lower()}
        )
    decision = _during(proposal.budget_round, now, (Phase.REVIEW,), _("Co-design"))
    if decision and proposal.status not in CODESIGN_STATUSES:
        return deny(
            _("This proposal is “%(status)s”: the offer can no longer be answered.")
            % {"status": proposal.get_status_display()}
        )
    return decision


# --- Amendments -------------------------------------------------------------------------
# Any resident may suggest a change to a submitted proposal while its text may change
# (submission and review), with a reason; its authors accept it (a new version credited
# to whoever suggested it; a decided proposal goes back for a new decision) or decline it
# with a reply. All of it is public. A suggestion still waiting when the text is fixed
# for the vote lapses.


def amendments_open(proposal: Proposal, *, now: datetime) -> Decision:
    """Whether this proposal takes suggested changes now, whoever asks."""
    if proposal.submitted_at is None or proposal.status == ProposalStatus.DRAFT:
        return deny(_("Only submitted proposals take suggested changes."))
    return text_changeable(proposal, now=now)


def can_suggest_amendment(user: AnyUser, proposal: Proposal, *, now: datetime) -> Decision:
    """Verified residents (of any area: people use services beyond their own street),
    except the proposal's writers, who change it directly. Officers co-design instead."""
    decision = first_denial(
        can_see_proposal(user, proposal),
        amendments_open(proposal, now=now),
        _resident(user, _("suggest changes to proposals")),
    )
    if not decision:
        return decision
    if permissions.is_writer(user, proposal):
        return deny(_("You write this proposal: change it directly instead."))
    return _eligible_in(user, proposal.budget_round, doing=_("suggest changes"))


def amendment_state(amendment: ProposalAmendment, proposal: Proposal, *, now: datetime) -> str:
    """The suggestion's status as it stands at ``now``."""
    return _lapsed_once_review_ends(
        amendment.status,
        proposal.budget_round,
        now,
        waiting=AmendmentStatus.PROPOSED,
        lapsed=AmendmentStatus.LAPSED,
    )


def can_answer_amendment(
    user: AnyUser,
    amendment: ProposalAmendment,
    *,
    now: datetime,
    proposal: Proposal | None = None,
) -> Decision:
    """The proposal's writers (author or co-author) accept or decline a waiting
    suggestion while the text may still change. Pass ``proposal`` when already loaded."""
    proposal = proposal if proposal is not None else amendment.proposal
    if amendment.proposal_id != proposal.pk:
        return deny(_("That suggestion is not about this proposal."))
    if not permissions.is_writer(user, proposal):
        return deny(_("Only the proposal's authors answer suggested changes."))
    state = amendment_state(amendment, proposal, now=now)
    if state != AmendmentStatus.PROPOSED:
        return deny(
            _("This suggestion is closed: %(status)s.")
            % {"status": AmendmentStatus(state).label.lower()}
        )
    return text_changeable(proposal, now=now)


def can_withdraw_amendment(
    user: AnyUser,
    amendment: ProposalAmendment,
    *,
    now: datetime,
    proposal: Proposal | None = None,
) -> Decision:
    """Whoever suggested it may take it back while it waits."""
    proposal = proposal if proposal is not None else amendment.proposal
    if not user.is_authenticated or user.pk != amendment.author_id:
        return deny(_("Only the resident who suggested this change can withdraw it."))
    if amendment_state(amendment, proposal, now=now) != AmendmentStatus.PROPOSED:
        return deny(_("Only a suggestion still waiting for an answer can be withdrawn."))
    return ALLOW


# --- Merging proposals ------------------------------------------------------------------
# An officer proposes merging two similar proposals of the same area while their text
# may change, with the merged text; the merge happens only when the writers of both
# agree (one of each side's writers answers for it). Either side's refusal, with a
# reply, closes it; nothing changes until both agreed. One still open when review ends
# lapses.

MERGEABLE_STATUSES = (
    ProposalStatus.SUBMITTED,
    ProposalStatus.RETURNED,
    ProposalStatus.FEASIBLE,
    ProposalStatus.NOT_FEASIBLE,
)


def _mergeable(proposal: Proposal, now: datetime) -> Decision:
    if proposal.submitted_at is None or proposal.status not in MERGEABLE_STATUSES:
        return deny(
            _("“%(title)s” is “%(status)s” and cannot be merged.")
            % {"title": proposal.title, "status": proposal.get_status_display()}
        )
    return text_changeable(proposal, now=now)


def can_propose_merge(
    user: AnyUser, into: Proposal, absorbed: Proposal | None, *, now: datetime
) -> Decision:
    """An officer, for two live proposals of the same area whose text may still change.
    With ``absorbed`` None: whether this proposal may be merged with some other."""
    decision = first_denial(can_open_review(user, into), _mergeable(into, now))
    if not decision or absorbed is None:
        return decision
    if absorbed.pk == into.pk:
        return deny(_("Choose another proposal: a proposal cannot merge with itself."))
    if absorbed.round_area_id != into.round_area_id:
        return deny(_("Only proposals of the same round and area can be merged."))
    return _mergeable(absorbed, now)


def merge_state(merge: ProposalMerge, round_of_both: BudgetRound, *, now: datetime) -> str:
    """The merge's status as it stands at ``now``."""
    return _lapsed_once_review_ends(
        merge.status,
        round_of_both,
        now,
        waiting=MergeStatus.PROPOSED,
        lapsed=MergeStatus.LAPSED,
    )


def merge_sides_of(user: AnyUser, merge: ProposalMerge) -> list[str]:
    """The sides ("into", "absorbed") whose writer ``user`` is and that have not agreed
    yet (someone who writes both answers for both)."""
    sides = []
    if merge.into_agreed_at is None and permissions.is_writer(user, merge.into):
        sides.append("into")
    if merge.absorbed_agreed_at is None and permissions.is_writer(user, merge.absorbed):
        sides.append("absorbed")
    return sides


def can_answer_merge(user: AnyUser, merge: ProposalMerge, *, now: datetime) -> Decision:
    """A writer of a side that has not agreed yet, while the merge is open and both
    texts may still change."""
    if not (permissions.is_writer(user, merge.into) or permissions.is_writer(user, merge.absorbed)):
        return deny(_("Only the authors of the two proposals answer a proposed merge."))
    state = merge_state(merge, merge.into.budget_round, now=now)
    if state != MergeStatus.PROPOSED:
        return deny(
            _("This merge is closed: %(status)s.") % {"status": MergeStatus(state).label.lower()}
        )
    if not merge_sides_of(user, merge):
        return deny(_("Your side has agreed; the other proposal's authors answer now."))
    return first_denial(_mergeable(merge.into, now), _mergeable(merge.absorbed, now))


def can_withdraw_merge(user: AnyUser, merge: ProposalMerge, *, now: datetime) -> Decision:
    """Officers take back a merge not yet agreed by both."""
    decision = can_open_review(user, merge.into)
    if decision and merge_state(merge, merge.into.budget_round, now=now) != MergeStatus.PROPOSED:
        return deny(_("Only a merge still waiting for the authors can be withdrawn."))
    return decision
