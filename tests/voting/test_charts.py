"""The results page's money-sources chart and satisfaction histogram draw what their
tables say: lengths in proportion to the figures, bars of one band side by side."""

from __future__ import annotations

from decimal import Decimal

from voting.charts import HISTOGRAM_PLOT, money_sources_chart, satisfaction_chart
from voting.result_insights import SatisfactionBand, StepSource


def source(cost: str, payers: int | None) -> StepSource:
    return StepSource(1, proposal=None, cost=Decimal(cost), chosen_by="mes", payers=payers)  # type: ignore[arg-type]


def test_source_bars_are_as_long_as_the_costs_and_each_row_has_room_for_its_label():
    chart = money_sources_chart([source("40000", 9), source("20000", 5), source("1000", None)])
    assert [bar.width for bar in chart.bars] == ["96.00", "48.00", "2.40"]
    assert [bar.top for bar in chart.bars] == [0, 76, 152]
    first = chart.bars[0]
    assert first.title_y < first.bar_y < first.bar_y + 20 < first.label_y < chart.bars[1].top + 18
    assert chart.height > chart.bars[-1].label_y
    assert money_sources_chart([]).bars == []


def band(index: int, used: str, other: str) -> SatisfactionBand:
    return SatisfactionBand(index, 0, index * 10, 0, Decimal(used), 0, Decimal(other))


def test_histogram_heights_follow_the_shares_and_the_two_rules_bars_do_not_overlap():
    bands = [band(0, "0.0", "15.4"), band(1, "30.8", "0.0"), band(2, "69.2", "84.6")]
    chart = satisfaction_chart(bands)
    heights = [(b.used_height, b.other_height) for b in chart.bands]
    assert heights == [(0, int(HISTOGRAM_PLOT * 15.4 / 84.6)), (58, 0), (130, HISTOGRAM_PLOT)]
    for placed in chart.bands:
        assert placed.used_y + placed.used_height == chart.axis_y  # bars stand on the axis
        used_end = Decimal(placed.used_x) + Decimal(placed.bar_width)
        assert used_end < Decimal(placed.other_x)
        assert Decimal(placed.other_x) + Decimal(placed.bar_width) <= Decimal(100)
    assert chart.label_y > chart.axis_y
    nobody = satisfaction_chart([band(0, "0.0", "0.0")])
    assert nobody.bands[0].used_height == nobody.bands[0].other_height == 0
