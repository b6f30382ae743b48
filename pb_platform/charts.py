"""Geometry of horizontal bar charts drawn as SVG in templates (one row per item: its
title, then its bar and label). Geometry only: every chart has a table of the same
figures beside it. Horizontal positions are percentages of the chart's width, so the
charts fit a phone's screen without shrinking their text."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Generic, TypeVar

T = TypeVar("T")

ROW_LABEL_BESIDE = 56  # px per row: its title, then its bar with the label after it
ROW_LABEL_BELOW = 76  # px per row: its title, its bar, then its label on a line under it


@dataclass(frozen=True)
class RowBar(Generic[T]):
    """One row of a horizontal bar chart: a title line, then a 20 px bar of ``width``
    (% of the chart's width) and its label, after the bar's end or under it."""

    item: T
    top: int
    width: str
    label_below: bool = False

    @property
    def title_y(self) -> int:
        return self.top + 18

    @property
    def bar_y(self) -> int:
        return self.top + 26

    @property
    def label_y(self) -> int:
        return self.top + (64 if self.label_below else 41)


@dataclass(frozen=True)
class RowChart(Generic[T]):
    bars: list[RowBar[T]]
    height: int


def row_chart(
    items: Sequence[T], *, amount: Callable[[T], Decimal | int], bar_max: int, label_below: bool
) -> RowChart[T]:
    """Bars in proportion to ``amount``, the largest ``bar_max`` % of the width (with the
    label beside the bars, the rest of the width is its room)."""
    largest = max((amount(item) for item in items), default=0)
    row = ROW_LABEL_BELOW if label_below else ROW_LABEL_BESIDE
    bars = [
        RowBar(
            item=item,
            top=index * row,
            width=f"{bar_max * Decimal(amount(item)) / Decimal(largest) if largest else 0:.2f}",
            label_below=label_below,
        )
        for index, item in enumerate(items)
    ]
    return RowChart(bars=bars, height=len(items) * row + 8)
