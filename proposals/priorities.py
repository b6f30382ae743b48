"""Reads for the priorities stage: what an area's residents said matters most.

Every figure published goes through ``pb_platform.disclosure``: with fewer than five
answers nothing but the fact is shown (a mean of one answer is that answer), and the
counts per channel are suppressed with their total. Each function runs a fixed number
of queries, whatever the number of answers."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Sum

from pb_platform.charts import RowChart, row_chart
from pb_platform.disclosure import suppressed_count, suppressed_counts
from proposals import policies
from proposals.models import (
    Category,
    PriorityChannel,
    PriorityResponse,
    RoundArea,
)
from proposals.models.priorities import PriorityPoints

ONE_DECIMAL = Decimal("0.1")


@dataclass(frozen=True)
class ThemeMean:
    category: Category
    mean: Decimal  # mean points out of 100, one decimal


@dataclass(frozen=True)
class AreaPriorities:
    round_area: RoundArea
    # None when too few took part to publish the number.
    participants: int | None
    # Per channel (online, paper, event): None where suppressed.
    channels: dict[str, int | None]
    # Highest mean first; empty when too few took part.
    means: list[ThemeMean]
    # Participants per 100 residents, one decimal; None without a population or a count.
    turnout_percent: Decimal | None

    @property
    def shown(self) -> bool:
        return bool(self.means)

    @property
    def chart(self) -> RowChart[ThemeMean]:
        """Each theme's mean points; the highest takes half the width, the rest its label."""
        return row_chart(self.means, amount=lambda item: item.mean, bar_max=50, label_below=False)

    @property
    def channel_rows(self) -> list[tuple[str, int | None]]:
        labels = dict(PriorityChannel.choices)
        return [(str(labels[key]), value) for key, value in self.channels.items()]


def area_priorities(round_area: RoundArea, *, themes: list[Category]) -> AreaPriorities:
    """The published figures for one area (two queries). ``round_area.area`` loaded;
    ``themes`` are the round's categories."""
    return areas_priorities([round_area], themes=themes)[0]


def areas_priorities(
    round_areas: list[RoundArea], *, themes: list[Category]
) -> list[AreaPriorities]:
    """The published figures for several areas of one round, in their order (two
    queries, whatever the number of areas). ``area`` loaded on each."""
    ids = [round_area.pk for round_area in round_areas]
    by_channel = {pk: dict.fromkeys(PriorityChannel.values, 0) for pk in ids}
    for row in (
        PriorityResponse.objects.filter(round_area_id__in=ids)
        .values("round_area_id", "channel")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        by_channel[row["round_area_id"]][row["channel"]] = row["n"]
    sums: dict[tuple[int, int], int] = {
        (round_area_id, category_id): total
        for round_area_id, category_id, total in PriorityPoints.objects.filter(
            response__round_area_id__in=ids
        )
        .values("response__round_area_id", "category")
        .annotate(total=Sum("points"))
        .order_by()
        .values_list("response__round_area_id", "category", "total")
    }
    return [
        _area_figures(round_area, themes, by_channel[round_area.pk], sums)
        for round_area in round_areas
    ]


def _area_figures(
    round_area: RoundArea,
    themes: list[Category],
    by_channel: dict[str, int],
    sums: dict[tuple[int, int], int],
) -> AreaPriorities:
    total = sum(by_channel.values())
    participants = suppressed_count(total)
    means: list[ThemeMean] = []
    if participants:
        means = sorted(
            (
                ThemeMean(
                    category=theme,
                    mean=(Decimal(sums.get((round_area.pk, theme.pk), 0)) / total).quantize(
                        ONE_DECIMAL, rounding=ROUND_HALF_UP
                    ),
                )
                for theme in themes
            ),
            key=lambda item: (-item.mean, item.category.name),
        )
    population = round_area.area.population
    turnout = (
        (Decimal(100 * total) / population).quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP)
        if participants and population
        else None
    )
    return AreaPriorities(
        round_area=round_area,
        participants=participants,
        channels=suppressed_counts(by_channel) if participants else {},
        means=means,
        turnout_percent=turnout,
    )


HIDDEN = "not shown"


def area_priorities_csv(round_area: RoundArea, *, themes: list[Category]) -> str:
    """One row per answer: its channel and its points per theme; no names, no needs, no
    dates. Rows are sorted by their points, so their order says nothing about who
    answered when. A channel too rare to publish reads "not shown"; with fewer than
    five answers there are no rows at all."""
    result = area_priorities(round_area, themes=themes)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["channel", *(theme.name for theme in themes)])
    if not result.shown:
        return out.getvalue()
    rows = []
    responses = PriorityResponse.objects.filter(round_area=round_area).prefetch_related("points")
    for response in responses:
        given = {p.category_id: p.points for p in response.points.all()}
        channel = response.channel if result.channels.get(response.channel) is not None else HIDDEN
        rows.append([channel, *(given.get(theme.pk, 0) for theme in themes)])
    rows.sort(key=lambda row: (row[1:], row[0]))
    writer.writerows(rows)
    return out.getvalue()


def priorities_beside(round_area: RoundArea, *, now: datetime) -> AreaPriorities | None:
    """An area's published priorities, to show beside its proposals (submission and
    review pages), or None when the round has none published. Four queries at most."""
    budget_round = round_area.budget_round
    if not policies.priorities_results_published(budget_round, now=now):
        return None
    return area_priorities(round_area, themes=list(budget_round.categories.all()))
