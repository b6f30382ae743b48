"""Reads for voting. None of them returns a voter together with their choices."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, F, Q, QuerySet

from proposals.models import BudgetRound, Proposal, ProposalStatus, ResidentProfile, RoundArea
from voting.models import AreaResult, Ballot, BallotChannel, ResultLine


def area_ballot_proposals(*, round_area: RoundArea) -> list[Proposal]:
    """The proposals on an area's ballot: feasible, with an official cost, by title."""
    return list(
        Proposal.objects.filter(
            round_area=round_area,
            status=ProposalStatus.FEASIBLE,
            official_cost__isnull=False,
        )
        .select_related("category")
        .order_by("title", "pk")
    )


def voter_round_areas(*, profile: ResidentProfile, budget_round: BudgetRound) -> list[RoundArea]:
    """The round's areas this resident may vote in: their home area and any area that
    covers the whole council."""
    return list(
        RoundArea.objects.filter(budget_round=budget_round)
        .filter(Q(area_id=profile.area_id) | Q(area__is_city_wide=True))
        .select_related("area", "budget_round")
        .order_by("area__is_city_wide", "area__name")
    )


def voter_ballots(*, voter: AbstractBaseUser, budget_round: BudgetRound) -> dict[int, Ballot]:
    """The voter's own ballots in a round, by round area id (for their own pages)."""
    return {
        ballot.round_area_id: ballot
        for ballot in Ballot.objects.filter(voter=voter, round_area__budget_round=budget_round)
    }


def ballot_choice_ids(*, ballot: Ballot) -> list[int]:
    """The proposals a ballot approves: for its own voter's ballot form only."""
    return list(ballot.choices.values_list("proposal_id", flat=True))


def my_ballots(*, voter: AbstractBaseUser) -> list[Ballot]:
    """The voter's ballots with their round, area and (if published) area result; no
    choices."""
    return list(
        Ballot.objects.filter(voter=voter)
        .select_related("round_area__area", "round_area__budget_round", "round_area__result")
        .order_by("-round_area__budget_round__voting_ends", "round_area__area__name")
    )


@dataclass(frozen=True)
class AreaTurnout:
    round_area: RoundArea
    online: int
    paper: int
    imported: int
    # Registered residents who may vote here; None for imported historical rounds.
    eligible: int | None

    @property
    def total(self) -> int:
        return self.online + self.paper + self.imported


def round_turnout(*, budget_round: BudgetRound) -> list[AreaTurnout]:
    """Ballots per area and channel, in two queries whatever the number of ballots."""
    round_areas = list(
        RoundArea.objects.filter(budget_round=budget_round)
        .select_related("area")
        .annotate(
            online=Count("ballots", filter=Q(ballots__channel=BallotChannel.ONLINE)),
            paper=Count("ballots", filter=Q(ballots__channel=BallotChannel.PAPER)),
            imported=Count("ballots", filter=Q(ballots__channel=BallotChannel.IMPORTED)),
        )
        .order_by("area__is_city_wide", "area__name")
    )
    residents_by_area: dict[int, int] = defaultdict(int)
    for area_id, count in (
        ResidentProfile.objects.values_list("area_id").annotate(n=Count("pk")).order_by()
    ):
        residents_by_area[area_id] = count
    everyone = sum(residents_by_area.values())
    turnout = []
    for round_area in round_areas:
        eligible = (
            everyone if round_area.area.is_city_wide else residents_by_area[round_area.area_id]
        )
        turnout.append(
            AreaTurnout(
                round_area=round_area,
                online=round_area.online,
                paper=round_area.paper,
                imported=round_area.imported,
                eligible=None if budget_round.is_imported else eligible,
            )
        )
    return turnout
