"""What the area results page shows from a result's stored explanation, beyond each
proposal's reason: the fairness panel comparing the rule used with the other rule, and
where each Equal Shares step's money came from. Read-only; every figure comes from
``ResultExplanation.data`` (computed once after publication), rounded only here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

from django.utils.translation import gettext_lazy as _

from pb_platform.money import money_from_fraction
from proposals.models import Proposal
from voting import explain, fairness
from voting.models import ResultLine

# Colour classes of the money-sources chart, by the share of voters who paid for a step:
# under 10 %, 10 % to under 25 %, 25 % to under 50 %, 50 % and more.
SHARE_CLASS_BOUNDS = (Fraction(1, 10), Fraction(1, 4), Fraction(1, 2))

RULE_NAMES = {"mes": _("Equal Shares"), "greedy": _("Greedy by votes")}


def rounded(value: Fraction, places: int) -> Decimal:
    """An exact figure shown rounded half up to ``places`` decimal places."""
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(
        Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP
    )


def percent(share: Fraction) -> Decimal:
    """A share as a percentage with one decimal place."""
    return rounded(share * 100, 1)


@dataclass(frozen=True)
class RuleFairness:
    """One rule's column of the fairness panel."""

    rule: str  # "mes" or "greedy"
    used: bool
    funded: int
    cost: Decimal
    non_empty_handed: Decimal  # % of voters with at least one funded choice
    average_satisfaction: Decimal  # average % of their chosen money funded
    gini: Decimal  # 0 to 1, two places

    @property
    def name(self) -> str:
        return str(RULE_NAMES[self.rule])


@dataclass(frozen=True)
class SatisfactionBand:
    """One band of the satisfaction histogram: voters who got more than ``low`` % and at
    most ``high`` % of the money they chose (band 0: nothing), under each rule."""

    index: int
    low: int
    high: int
    used_voters: int
    used_percent: Decimal
    other_voters: int
    other_percent: Decimal


@dataclass(frozen=True)
class ComparedProposal:
    proposal: Proposal
    cost: Decimal


@dataclass(frozen=True)
class FairnessPanel:
    voters: int
    used: RuleFairness
    other: RuleFairness
    bands: list[SatisfactionBand]
    other_funded: list[ComparedProposal]  # what the other rule funds, in its order
    other_only: list[ComparedProposal]  # ... and the rule used does not
    used_only: list[ComparedProposal]  # funded by the rule used, not by the other


@dataclass(frozen=True)
class StepSource:
    """Where one funded proposal's money came from. Under Equal Shares' own steps: the
    voters who paid (``payers``; ``paid_in_full`` of them the whole price, the others
    all they had left), ``share`` of all voters, the most one voter paid. Funded by the
    greedy completion: from the budget left, no voter in particular (payers None)."""

    step: int
    proposal: Proposal
    cost: Decimal
    chosen_by: str  # "mes", "add1" or "greedy"
    payers: int | None = None
    paid_in_full: int | None = None
    share_percent: Decimal | None = None
    share_class: int | None = None  # 0 to 3, SHARE_CLASS_BOUNDS
    most_paid: Decimal | None = None


@dataclass(frozen=True)
class ResultInsights:
    fairness: FairnessPanel | None
    money_sources: list[StepSource]


def _share_class(share: Fraction) -> int:
    return sum(share >= bound for bound in SHARE_CLASS_BOUNDS)


def _rule_fairness(
    *, rule: str, used: bool, winners: Sequence[str], cost: Decimal, figures: fairness.Fairness
) -> RuleFairness:
    return RuleFairness(
        rule=rule,
        used=used,
        funded=len(winners),
        cost=cost,
        non_empty_handed=percent(figures.non_empty_handed or Fraction(0)),
        average_satisfaction=percent(figures.average_satisfaction or Fraction(0)),
        gini=rounded(figures.gini or Fraction(0), 2),
    )


def _fairness_panel(
    *, rule: str, data: Mapping[str, Any], lines: Sequence[ResultLine]
) -> FairnessPanel | None:
    published = fairness.Fairness.from_dict(data["published"])
    other = fairness.RuleComparison.from_dict(data["other"])
    if published.voters == 0:
        return None  # nobody voted: nothing to compare
    by_id = {line.proposal.pabulib_id: line for line in lines}
    used_winners = [line.proposal.pabulib_id for line in lines if line.funded]
    used_set, other_set = set(used_winners), set(other.winners)
    used_cost = sum((line.cost for line in lines if line.funded), Decimal(0))

    def compared(ids: Sequence[str]) -> list[ComparedProposal]:
        return [ComparedProposal(by_id[p].proposal, by_id[p].cost) for p in ids if p in by_id]

    voters = published.voters
    bands = [
        SatisfactionBand(
            index=index,
            low=max(0, (index - 1) * 10),
            high=index * 10,
            used_voters=used_count,
            used_percent=percent(Fraction(used_count, voters)),
            other_voters=other_count,
            other_percent=percent(Fraction(other_count, voters)),
        )
        for index, (used_count, other_count) in enumerate(
            zip(published.histogram, other.fairness.histogram, strict=True)
        )
    ]
    return FairnessPanel(
        voters=voters,
        used=_rule_fairness(
            rule=rule, used=True, winners=used_winners, cost=used_cost, figures=published
        ),
        other=_rule_fairness(
            rule=other.rule,
            used=False,
            winners=other.winners,
            cost=money_from_fraction(other.cost),
            figures=other.fairness,
        ),
        bands=bands,
        other_funded=compared(other.winners),
        other_only=compared([p for p in other.winners if p not in used_set]),
        used_only=compared([p for p in used_winners if p not in other_set]),
    )


def _money_sources(data: Mapping[str, Any], lines: Sequence[ResultLine]) -> list[StepSource]:
    mes = explain.MesExplanation.from_dict(data["rule"])
    by_id = {line.proposal.pabulib_id: line for line in lines}
    payers = {project: (count, full) for project, count, full in data["step_payers"]}
    sources: list[StepSource] = []
    for step in mes.steps:
        count, full = payers[step.project]
        share = Fraction(count, mes.voters) if mes.voters else Fraction(0)
        sources.append(
            StepSource(
                step=len(sources) + 1,
                proposal=by_id[step.project].proposal,
                cost=by_id[step.project].cost,
                chosen_by=step.chosen_by,
                payers=count,
                paid_in_full=full,
                share_percent=percent(share),
                share_class=_share_class(share),
                most_paid=money_from_fraction(step.rho * mes.costs[step.project]),
            )
        )
    for completion in mes.completion:
        line = by_id[completion.project]
        sources.append(StepSource(len(sources) + 1, line.proposal, line.cost, "greedy"))
    return sources


def result_insights(
    *, rule: str, data: Mapping[str, Any] | None, lines: Sequence[ResultLine]
) -> ResultInsights:
    """The fairness panel and the money-sources chart's figures from a stored
    explanation's ``data`` (None: not explained yet), with the result's ``lines`` (their
    proposals loaded) for titles and costs: no query."""
    if data is None:
        return ResultInsights(None, [])
    panel = (
        _fairness_panel(rule=rule, data=data["fairness"], lines=lines)
        if "fairness" in data
        else None
    )
    sources = (
        _money_sources(data, lines)
        if data["rule"]["kind"] == "mes" and "step_payers" in data
        else []
    )
    return ResultInsights(panel, sources)
