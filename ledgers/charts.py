"""Geometry of the "where the money went" chart: two bars per proposal, allocated and
spent, as percentages of the chart's width (so it fits any screen). The figures are the
table's; the chart only draws them."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

ROW = 74  # px per proposal: its title, the allocated bar, the spent bar
BAR_MAX = Decimal(55)  # % of the width for the largest amount; the rest is its label


@dataclass(frozen=True)
class MoneyBar:
    proposal: Any
    top: int
    allocated_width: str
    spent_width: str

    @property
    def title_y(self) -> int:
        return self.top + 16

    @property
    def allocated_y(self) -> int:
        return self.top + 22

    @property
    def spent_y(self) -> int:
        return self.top + 44


@dataclass(frozen=True)
class MoneyChart:
    bars: list[MoneyBar]
    height: int


def _width(amount: Decimal, largest: Decimal) -> str:
    return f"{BAR_MAX * max(amount, Decimal(0)) / largest if largest > 0 else 0:.2f}"


def money_chart(proposals: list[Any]) -> MoneyChart:
    """Proposals annotated with ``allocated`` and ``spent``."""
    largest = max((max(p.allocated, p.spent) for p in proposals), default=Decimal(0))
    bars = [
        MoneyBar(
            proposal=p,
            top=index * ROW,
            allocated_width=_width(p.allocated, largest),
            spent_width=_width(p.spent, largest),
        )
        for index, p in enumerate(proposals)
    ]
    return MoneyChart(bars=bars, height=len(proposals) * ROW + 8)
