"""Who took part in a round, per area: ballots against population, by channel, and
proposals submitted, with the areas that are under-represented flagged.

Counts of people are published only through ``pb_platform.disclosure``: an area's
ballots under five are hidden, and with them the next-smallest area's (the round's total
is shown); within an area, its channels likewise (its total is shown). Turnout is shown
only where its count is. The flag (fewer than half the round's ballots per resident) is
worked out from the real counts, so a hidden area can still be flagged: it says only
that the area is under-represented, not how many voted.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count

from pb_platform.disclosure import suppressed_count, suppressed_counts
from proposals.models import BudgetRound, Proposal, RoundArea
from voting.models import Ballot, BallotChannel

# An area is flagged when its ballots per resident are under this share of the round's.
UNDER_REPRESENTED_SHARE = Decimal("0.5")
CHANNELS = [BallotChannel.ONLINE, BallotChannel.PAPER]


def _percent(part: int, whole: int) -> Decimal:
    return (Decimal(100) * part / whole).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class AreaParticipation:
    round_area: RoundArea
    population: int | None
    ballots: int | None  # None: hidden (too few to publish)
    channels: dict[str, int | None]
    proposals: int | None
    turnout: Decimal | None  # percent of the population; None when unknown or hidden
    under_represented: bool


@dataclass(frozen=True)
class RoundParticipation:
    areas: list[AreaParticipation]
    ballots: int | None
    population: int  # of the areas whose population is known
    turnout: Decimal | None
    flagged: int  # areas under-represented


def round_participation(*, budget_round: BudgetRound) -> RoundParticipation:
    """Three queries whatever the number of areas and ballots."""
    round_areas = list(
        RoundArea.objects.filter(budget_round=budget_round)
        .select_related("area")
        .order_by("area__name")
    )
    by_channel: dict[int, dict[str, int]] = defaultdict(dict)
    for row in (
        Ballot.objects.filter(round_area__budget_round=budget_round)
        .values("round_area_id", "channel")
        .annotate(n=Count("pk"))
    ):
        by_channel[row["round_area_id"]][row["channel"]] = row["n"]
    proposals = dict(
        Proposal.objects.filter(budget_round=budget_round, submitted_at__isnull=False)
        .values_list("round_area_id")
        .annotate(n=Count("pk"))
    )
    ballots = {ra.pk: sum(by_channel[ra.pk].values()) for ra in round_areas}
    total = sum(ballots.values())
    counted = [ra for ra in round_areas if ra.area.population]
    population = sum(ra.area.population or 0 for ra in counted)
    counted_ballots = sum(ballots[ra.pk] for ra in counted)
    round_rate = Decimal(counted_ballots) / population if population else None
    shown = suppressed_counts({str(ra.pk): ballots[ra.pk] for ra in round_areas})
    areas = []
    for ra in round_areas:
        area_ballots = shown[str(ra.pk)]
        # Imported ballots exist only in imported rounds: elsewhere their zero is not a
        # count to hide (it would hide a real one with it).
        kinds = [*CHANNELS, BallotChannel.IMPORTED] if budget_round.is_imported else CHANNELS
        channels = suppressed_counts({c: by_channel[ra.pk].get(c, 0) for c in kinds})
        if area_ballots is None:
            channels = dict.fromkeys(kinds)
        pop = ra.area.population or None
        rate = Decimal(ballots[ra.pk]) / pop if pop else None
        areas.append(
            AreaParticipation(
                round_area=ra,
                population=pop,
                ballots=area_ballots,
                channels=channels,
                proposals=suppressed_count(proposals.get(ra.pk, 0)),
                turnout=_percent(ballots[ra.pk], pop) if pop and area_ballots is not None else None,
                under_represented=rate is not None
                and round_rate is not None
                and rate < round_rate * UNDER_REPRESENTED_SHARE,
            )
        )
    shown_total = suppressed_count(total)
    # The round's turnout counts only areas with a population: were an area without one
    # hidden, the total minus that figure would reveal it.
    uncounted_hidden = any(
        shown[str(ra.pk)] is None for ra in round_areas if not ra.area.population
    )
    return RoundParticipation(
        areas=areas,
        ballots=shown_total,
        population=population,
        turnout=_percent(counted_ballots, population)
        if population
        and shown_total is not None
        and suppressed_count(counted_ballots) is not None
        and not uncounted_hidden
        else None,
        flagged=sum(a.under_represented for a in areas),
    )
