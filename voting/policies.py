"""May this person vote here now, and if not, why: the voting app's rules.

Each function decides from the user's role (``voting.permissions``), the round's phase at
``now`` and the state of objects the caller already loaded (the round area with its round
and area, the resident's profile, their ballot there), and returns a ``Decision``. The
services ``enforce`` them whoever calls (a page, the demo command, a test); pages only
show the answer and its reason.

Eligibility (a rule of participatory budgeting as this council runs it): a resident votes
in their home area and in any area covering the whole council. A change of home area
made while they may vote is only *pending* (``ResidentProfile.pending_area``) until that
voting has closed, so nobody can vote in one area, be moved, and vote in another.
"""

from __future__ import annotations

from datetime import date, datetime

from django.core.exceptions import ObjectDoesNotExist
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from pb_platform.policies import ALLOW, Decision, deny, first_denial
from pb_platform.users import AnyUser
from proposals.models import (
    BudgetRound,
    EligibilityMethod,
    ResidentProfile,
    RoundArea,
    VerificationRequired,
)
from proposals.phases import Phase, phase_rank
from voting import permissions
from voting.models import Ballot, BallotChannel


def when_shown(moment: datetime) -> str:
    """ "24 November 2026, 14:50" in the site's time zone (no "p.m." to clash with the
    sentence's full stop)."""
    return formats.date_format(timezone.localtime(moment), "DATETIME_FORMAT")


def profile_of(user: AnyUser) -> ResidentProfile | None:
    """The user's resident profile (cached on the user once loaded), or None."""
    if not user.is_authenticated:
        return None
    try:
        return user.resident_profile
    except ObjectDoesNotExist:
        return None


# --- The round and the area -------------------------------------------------------------


def round_voting_open(budget_round: BudgetRound, *, now: datetime) -> Decision:
    """Whether the clock says the round is taking ballots."""
    if budget_round.is_imported:
        return deny(
            _("“%(round)s” is a past round kept for the record; nobody votes in it here.")
            % {"round": budget_round.name}
        )
    if budget_round.phase_at(now) == Phase.VOTING:
        return ALLOW
    if now < budget_round.voting_starts:
        return deny(
            _("Voting in “%(round)s” opens on %(when)s.")
            % {"round": budget_round.name, "when": when_shown(budget_round.voting_starts)}
        )
    return deny(
        _("Voting in “%(round)s” closed on %(when)s.")
        % {"round": budget_round.name, "when": when_shown(budget_round.voting_ends)}
    )


def area_voting_open(round_area: RoundArea, *, now: datetime) -> Decision:
    """The round takes ballots and this area has not been closed by the count (the
    count may run a moment before a page thinks voting is over)."""
    return first_denial(
        round_voting_open(round_area.budget_round, now=now),
        ALLOW
        if round_area.voting_closed_at is None
        else deny(
            _("Voting in %(area)s has closed and the votes have been counted.")
            % {"area": round_area.area.name}
        ),
    )


# --- Who votes where ----------------------------------------------------------------------


def _lives_in(profile: ResidentProfile, round_area: RoundArea, *, officer: bool) -> Decision:
    """Home area or a whole-council area; a pending move does not count yet."""
    if round_area.area.is_city_wide or round_area.area_id == profile.area_id:
        return ALLOW
    values = {
        "name": profile.display_name,
        "home": profile.area.name,
        "area": round_area.area.name,
        "round": round_area.budget_round.name,
        "when": when_shown(round_area.budget_round.voting_ends),
    }
    if profile.pending_area_id is not None and profile.pending_area_id == round_area.area_id:
        if officer:
            message = _(
                "The move of %(name)s from %(home)s to %(area)s is pending while voting is "
                "open (in “%(round)s” until %(when)s), so they still vote for %(home)s."
            )
        else:
            message = _(
                "Your move to %(area)s is pending while voting is open (in “%(round)s” "
                "until %(when)s): until it takes effect you vote for %(home)s, not %(area)s."
            )
        return deny(message % values)
    if officer:
        message = _(
            "%(name)s lives in %(home)s, so cannot vote on proposals for %(area)s. "
            "If the home area is wrong, an officer can change it."
        )
    else:
        message = _(
            "You live in %(home)s, so you cannot vote on proposals for %(area)s. "
            "If you have moved, ask a council officer to change your area."
        )
    return deny(message % values)


# Which eligibility methods satisfy a round's requirement. "register" needs the register
# entry linked to the account (one entry, one account, whatever the channel), so an
# in-person check alone does not satisfy it; it satisfies "any".
ACCEPTED_METHODS = {
    VerificationRequired.REGISTER: {EligibilityMethod.REGISTER},
    VerificationRequired.CODE: {EligibilityMethod.CODE},
    VerificationRequired.ANY: set(EligibilityMethod),
}


_REQUIRED_IN_WORDS = {
    VerificationRequired.REGISTER: gettext_lazy("a match on the council's register"),
    VerificationRequired.CODE: gettext_lazy("a code from a letter the council sent"),
    VerificationRequired.ANY: gettext_lazy(
        "a match on the register, a letter's code or a check in person"
    ),
}


def eligibility_sufficient(
    profile: ResidentProfile, budget_round: BudgetRound, *, officer: bool
) -> Decision:
    """Whether the voter's eligibility check is one the round requires (none needed by
    default). Unverified residents still read, comment and draft; they cannot vote."""
    required = budget_round.verification_required
    if required == VerificationRequired.NONE:
        return ALLOW
    accepted = ACCEPTED_METHODS.get(VerificationRequired(required), set())
    if profile.eligibility_verified_at is not None and profile.eligibility_method in accepted:
        return ALLOW
    values = {
        "round": budget_round.name,
        "name": profile.display_name,
        "check": _REQUIRED_IN_WORDS[VerificationRequired(required)],
    }
    if officer:
        if required == VerificationRequired.REGISTER:
            message = _(
                "“%(round)s” counts votes only from residents matched on the council's "
                "register, and %(name)s is not. A resident with an account confirms it under "
                "“Your account”; a walk-in voter is matched when registered with the "
                "reference on their council letter."
            )
        else:
            message = _(
                "“%(round)s” counts votes only from residents eligibility-verified by "
                "%(check)s, and %(name)s is not eligibility-verified that way."
            )
    elif profile.eligibility_verified_at is None:
        message = _(
            "Voting in “%(round)s” is open to eligibility-verified residents (by %(check)s), "
            "and you are not eligibility-verified yet. Confirm it under “Your account”, "
            "or ask a council officer. You can still read, comment and propose."
        )
    else:
        message = _(
            "Voting in “%(round)s” needs eligibility verified by %(check)s. Yours was "
            "made another way; ask a council officer."
        )
    return deny(message % values)


def age_of(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def age_sufficient(
    profile: ResidentProfile,
    budget_round: BudgetRound,
    *,
    now: datetime,
    age_declared: bool | None,
    officer: bool,
) -> Decision:
    """The round's minimum age, checked against the date of birth when the council
    confirmed one, otherwise declared on the ballot. ``age_declared`` is None where no
    ballot is being cast yet (a page asking whether to offer the ballot)."""
    minimum = budget_round.minimum_age
    if minimum is None:
        return ALLOW
    values = {"round": budget_round.name, "age": minimum, "name": profile.display_name}
    if profile.date_of_birth is not None:
        if age_of(profile.date_of_birth, timezone.localdate(now)) >= minimum:
            return ALLOW
        message = (
            _("%(name)s is under %(age)d, the minimum age to vote in “%(round)s”.")
            if officer
            else _("You must be at least %(age)d to vote in “%(round)s”.")
        )
        return deny(message % values)
    if age_declared is None or age_declared:
        return ALLOW
    message = (
        _("Tick that %(name)s declared being at least %(age)d (the minimum age to vote).")
        if officer
        else _("Tick to declare that you are at least %(age)d: the minimum age to vote here.")
    )
    return deny(message % values)


def age_declaration_needed(profile: ResidentProfile | None, budget_round: BudgetRound) -> bool:
    """Whether the ballot asks the voter to declare the minimum age."""
    return (
        budget_round.minimum_age is not None
        and profile is not None
        and profile.date_of_birth is None
    )


def voter_standing(user: AnyUser) -> Decision:
    """Whether this account may vote online at all, whatever the round."""
    if not user.is_authenticated:
        return deny(_("Sign in to vote."))
    if profile_of(user) is None:
        return deny(_("Only registered residents can vote. Staff accounts cannot vote."))
    if not permissions.has_resident_role(user):
        return deny(
            _("This account cannot vote online. Ask a council officer if you think it should.")
        )
    if not permissions.has_verified_email(user):
        return deny(
            _(
                "Before you can vote, confirm your email address: follow the link in the "
                "email we sent you."
            )
        )
    return ALLOW


def _no_paper_ballot(ballot: Ballot | None, round_area: RoundArea) -> Decision:
    if ballot is None or ballot.channel == BallotChannel.ONLINE:
        return ALLOW
    return deny(
        _(
            "An officer recorded your paper ballot for %(area)s. It counts as it is. It "
            "cannot be changed online."
        )
        % {"area": round_area.area.name}
    )


def can_vote(
    user: AnyUser,
    round_area: RoundArea,
    *,
    now: datetime,
    ballot: Ballot | None = None,
    age_declared: bool | None = None,
) -> Decision:
    """May this resident cast (or change) their online ballot for this area now?

    ``ballot`` is their ballot there, if any (a paper ballot is final);
    ``age_declared`` the ballot's minimum-age declaration (None: not casting yet).
    """
    standing = voter_standing(user)
    if not standing:
        return standing
    profile = profile_of(user)
    if profile is None:  # voter_standing checked it; this tells the type checker
        return deny(_("Only registered residents can vote."))
    return first_denial(
        area_voting_open(round_area, now=now),
        eligibility_sufficient(profile, round_area.budget_round, officer=False),
        _lives_in(profile, round_area, officer=False),
        _no_paper_ballot(ballot, round_area),
        age_sufficient(
            profile, round_area.budget_round, now=now, age_declared=age_declared, officer=False
        ),
    )


def _not_voted_yet(
    profile: ResidentProfile, round_area: RoundArea, ballot: Ballot | None
) -> Decision:
    if ballot is None:
        return ALLOW
    values = {
        "name": profile.display_name,
        "area": round_area.area.name,
        "when": when_shown(ballot.cast_at),
    }
    if ballot.channel == BallotChannel.ONLINE:
        message = _(
            "%(name)s already voted online for %(area)s on %(when)s, so a paper ballot "
            "cannot be added. Their online vote counts."
        )
    else:
        message = _(
            "A paper ballot for %(name)s in %(area)s was already recorded on %(when)s. "
            "Each person votes once."
        )
    return deny(message % values)


def polling_officer(user: AnyUser) -> Decision:
    """An officer who may take paper ballots (whatever the round or the voter)."""
    if permissions.can_record_paper_ballots(user):
        return ALLOW
    return deny(_("Only council officers record paper ballots."))


def can_record_paper_ballot(
    officer: AnyUser,
    voter_profile: ResidentProfile,
    round_area: RoundArea,
    *,
    now: datetime,
    existing_ballot: Ballot | None = None,
    age_declared: bool | None = None,
) -> Decision:
    """May this officer record a paper ballot of this person for this area now?

    ``existing_ballot`` is the person's ballot there, if any: each person votes once.
    ``age_declared``: the officer ticked the voter's minimum-age declaration (None: not
    recording yet).
    """
    return first_denial(
        polling_officer(officer),
        area_voting_open(round_area, now=now),
        eligibility_sufficient(voter_profile, round_area.budget_round, officer=True),
        _lives_in(voter_profile, round_area, officer=True),
        _not_voted_yet(voter_profile, round_area, existing_ballot),
        age_sufficient(
            voter_profile,
            round_area.budget_round,
            now=now,
            age_declared=age_declared,
            officer=True,
        ),
    )


def can_register_walk_in(user: AnyUser) -> Decision:
    """Officers at a polling place register people who have no account."""
    if permissions.can_record_paper_ballots(user):
        return ALLOW
    return deny(_("Only council officers register walk-in voters."))


def can_view_turnout(user: AnyUser) -> Decision:
    if permissions.can_view_turnout(user):
        return ALLOW
    return deny(_("Only council officers and auditors see turnout."))


# --- What the round's pages offer (links to voting pages) -------------------------------


def round_results_due(budget_round: BudgetRound, *, now: datetime) -> Decision:
    """Whether the round's results page has something to show: voting has closed (the
    page then says "counting" until each area is published), or it was imported."""
    if budget_round.is_imported or phase_rank(budget_round.phase_at(now)) >= phase_rank(
        Phase.RESULTS
    ):
        return ALLOW
    return deny(
        _("Results of “%(round)s” follow the close of voting on %(when)s.")
        % {"round": budget_round.name, "when": when_shown(budget_round.voting_ends)}
    )


def can_record_paper_ballots_in(
    user: AnyUser, budget_round: BudgetRound, *, now: datetime
) -> Decision:
    """Officers record paper ballots of a round while it takes ballots."""
    return first_denial(polling_officer(user), round_voting_open(budget_round, now=now))


def participation_public(budget_round: BudgetRound, *, now: datetime) -> Decision:
    """Who took part is public from the opening of the vote (counts only, never who)."""
    if budget_round.is_imported or phase_rank(budget_round.phase_at(now)) >= phase_rank(
        Phase.VOTING
    ):
        return ALLOW
    return deny(
        _("Who took part is shown from the opening of the vote, on %(when)s.")
        % {"when": when_shown(budget_round.voting_starts)}
    )


def equality_figures_public(budget_round: BudgetRound, *, now: datetime) -> Decision:
    """The equality questions' counts: for a round that asked them, once voting has
    closed (shown while it is open, a count going up just after a known person voted
    would tell what they answered)."""
    if not budget_round.asks_equality_questions:
        return deny(
            _("“%(round)s” did not ask the equality questions.") % {"round": budget_round.name}
        )
    if now < budget_round.voting_ends:
        return deny(
            _("The answers to the equality questions are shown once voting closes, on %(when)s.")
            % {"when": when_shown(budget_round.voting_ends)}
        )
    return ALLOW


def can_view_round_turnout(user: AnyUser, budget_round: BudgetRound, *, now: datetime) -> Decision:
    """Turnout means something once voting has opened."""
    if not (decision := can_view_turnout(user)):
        return decision
    if budget_round.is_imported or phase_rank(budget_round.phase_at(now)) >= phase_rank(
        Phase.VOTING
    ):
        return ALLOW
    return deny(
        _("Voting in “%(round)s” opens on %(when)s.")
        % {"round": budget_round.name, "when": when_shown(budget_round.voting_starts)}
    )


def can_record_outreach(user: AnyUser, budget_round: BudgetRound, *, now: datetime) -> Decision:
    """Officers record outreach against an area once the round's participation is public
    (from the opening of the vote, when there is something to set it against), but not
    in a past round imported for the record: nobody reached anyone through this site."""
    if not permissions.can_record_outreach(user):
        return deny(_("Only council officers record outreach."))
    if budget_round.is_imported:
        return deny(
            _("“%(round)s” is a past round kept for the record; outreach is not recorded in it.")
            % {"round": budget_round.name}
        )
    if phase_rank(budget_round.phase_at(now)) < phase_rank(Phase.VOTING):
        return deny(
            _("Outreach is recorded from the opening of the vote, on %(when)s.")
            % {"when": when_shown(budget_round.voting_starts)}
        )
    return ALLOW
