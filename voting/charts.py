"""Geometry of the results page's charts: each proposal's votes, where each Equal Shares
step's money came from, and the satisfaction histogram under both rules; and of the
participation page's ballots per day. Geometry only:
the figures are the tables' beside each chart. Horizontal positions are percentages of
the chart's width, so the charts fit a phone's screen without shrinking their text."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from pb_platform.charts import RowChart, row_chart
from voting.models import ResultLine
from voting.participation import DayBallots
from voting.result_insights import SatisfactionBand, StepSource


def votes_chart(lines: Sequence[ResultLine]) -> RowChart[ResultLine]:
    """Each proposal's votes; the most votes take half the width, the rest is its label."""
    return row_chart(lines, amount=lambda line: line.votes, bar_max=50, label_below=False)


def money_sources_chart(sources: Sequence[StepSource]) -> RowChart[StepSource]:
    """Each funded proposal's cost, the dearest nearly the whole width (labels go under:
    money and a share of voters do not fit beside a bar on a phone)."""
    return row_chart(sources, amount=lambda source: source.cost, bar_max=96, label_below=True)


HISTOGRAM_TOP = 24  # px of room above the tallest bar
HISTOGRAM_PLOT = 160  # px of the tallest bar
HISTOGRAM_AXIS = 40  # px below the bars for the band labels


@dataclass(frozen=True)
class HistogramBand:
    band: SatisfactionBand
    centre: str  # % of the width, for the band's label
    used_x: str
    other_x: str
    bar_width: str
    used_y: int
    used_height: int
    other_y: int
    other_height: int


@dataclass(frozen=True)
class HistogramChart:
    bands: list[HistogramBand]
    height: int
    axis_y: int
    label_y: int


def satisfaction_chart(bands: list[SatisfactionBand]) -> HistogramChart:
    """Two bars per band side by side (the rule used, then the other), heights in
    proportion to the largest share of voters in any band under either rule."""
    tallest = max(
        (max(band.used_percent, band.other_percent) for band in bands), default=Decimal(0)
    )
    slot = Decimal(100) / len(bands) if bands else Decimal(0)
    bar = slot * Decimal("0.38")
    base = HISTOGRAM_TOP + HISTOGRAM_PLOT

    def height(share: Decimal) -> int:
        return int(HISTOGRAM_PLOT * share / tallest) if tallest else 0

    placed = []
    for index, band in enumerate(bands):
        left = slot * index
        used_height, other_height = height(band.used_percent), height(band.other_percent)
        placed.append(
            HistogramBand(
                band=band,
                centre=f"{left + slot / 2:.2f}",
                used_x=f"{left + slot * Decimal('0.1'):.2f}",
                other_x=f"{left + slot * Decimal('0.52'):.2f}",
                bar_width=f"{bar:.2f}",
                used_y=base - used_height,
                used_height=used_height,
                other_y=base - other_height,
                other_height=other_height,
            )
        )
    return HistogramChart(
        bands=placed, height=base + HISTOGRAM_AXIS, axis_y=base, label_y=base + 18
    )


DAILY_TOP = 24  # px above the tallest column, for its count
DAILY_PLOT = 140  # px of the tallest column
DAILY_AXIS = 24  # px below the columns for the day labels
DAILY_LABELS = 10  # at most this many day labels under the axis


@dataclass(frozen=True)
class DayColumn:
    day: DayBallots
    x: str  # % of the width
    centre: str
    y: int
    height: int
    labelled: bool  # whether its date is written under the axis


@dataclass(frozen=True)
class DailyChart:
    columns: list[DayColumn]
    width: str  # % of the width, each column
    height: int
    axis_y: int
    label_y: int
    counts_shown: bool  # few enough days for each count above its column


def daily_ballots_chart(days: Sequence[DayBallots]) -> DailyChart:
    """One column per day in proportion to its ballots; a hidden day has no column (the
    table beside the chart says "hidden")."""
    tallest = max((day.ballots or 0 for day in days), default=0)
    slot = Decimal(100) / len(days) if days else Decimal(0)
    every = -(-len(days) // DAILY_LABELS) if days else 1  # ceiling division
    base = DAILY_TOP + DAILY_PLOT
    columns = []
    for index, day in enumerate(days):
        height = int(DAILY_PLOT * (day.ballots or 0) / tallest) if tallest else 0
        columns.append(
            DayColumn(
                day=day,
                x=f"{slot * index + slot * Decimal('0.15'):.2f}",
                centre=f"{slot * index + slot / 2:.2f}",
                y=base - height,
                height=height,
                labelled=index % every == 0,
            )
        )
    return DailyChart(
        columns=columns,
        width=f"{slot * Decimal('0.7'):.2f}",
        height=base + DAILY_AXIS,
        axis_y=base,
        label_y=base + 18,
        counts_shown=len(days) <= DAILY_LABELS,
    )
