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

from pb_platform.policies import ALLOW, Decision, deny, first_denial  # noqa: F401
from pb_platform.users import AnyUser
from proposals import permissions
from proposals.models import Area, BudgetRound
from proposals.phases import BOUNDARIES, Phase, phase_rank

# --- Rounds, areas and residents --------------------------------------------------------
# A round's rules are declared in advance: once voting opens (by the clock, or as far
# as the beat task has moved the round, or because it was imported), the counting rule,
# the ballot, the money and the areas stay as the voters saw them. Name, description and
# dates still to come stay editable; the voting deadline may only be extended.

# The round settings that decide how votes are cast and counted, frozen once voting opens.
ROUND_RULE_FIELDS = ("currency", "total_budget", "counting_rule", "ballot_type", "max_choices")
# The form's key for "which areas take part, with which budgets".
AREA_BUDGETS = "area_budgets"


def _when(moment: datetime) -> str:
    return formats.date_format(timezone.localtime(moment), "j F Y, H:i")


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


# --- Proposals, comments and categories -------------------------------------------------
