"""Geometry of the results page's charts: each proposal's votes, where each Equal Shares
step's money came from, and the satisfaction histogram under both rules. Geometry only:
the figures are the tables' beside each chart. Horizontal positions are percentages of
the chart's width, so the charts fit a phone's screen without shrinking their text."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from pb_platform.charts import RowChart, row_chart
from voting.models import ResultLine
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
