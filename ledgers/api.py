"""The API's money of funded proposals (``pb_platform/api.py``): the figures of "where
the money went", from the same selector and policy."""

# No "from __future__ import annotations": django-ninja reads the annotations at import.

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Field, Router, Schema, Status

from ledgers import policies, selectors
from pb_platform.api_schemas import ERRORS, Problem, money
from proposals.api import Slug
from proposals.models import BudgetRound

router = Router(tags=["Money"])


class FundedProposal(Schema):
    proposal_id: int
    title: str
    area: str
    allocated: str
    committed: str
    spent: str
    remaining: str = Field(description="allocated − spent")
    delivery_status: str = Field(description="not_started, in_progress, delivered or cancelled")


class RoundMoney(Schema):
    round: str
    currency: str
    allocated: str
    committed: str
    spent: str
    remaining: str
    proposals: list[FundedProposal]


@router.get(
    "rounds/{slug}/money/",
    response={200: RoundMoney, **ERRORS},
    summary="Money allocated to, committed to and spent on each funded proposal",
)
def round_money(request: HttpRequest, slug: Slug) -> Status[object]:
    budget_round = get_object_or_404(BudgetRound, slug=slug)
    decision = policies.round_money_public(budget_round, now=timezone.now())
    if not decision:
        return Status(404, Problem(detail=decision.reason))
    total = selectors.round_balance(budget_round=budget_round)
    return Status(
        200,
        RoundMoney(
            round=budget_round.slug,
            currency=budget_round.currency,
            allocated=money(total["allocated"]),
            committed=money(total["committed"]),
            spent=money(total["spent"]),
            remaining=money(total["remaining"]),
            proposals=[
                FundedProposal(
                    proposal_id=p.pk,
                    title=p.title,
                    area=p.round_area.area.slug,
                    allocated=money(p.allocated),  # type: ignore[attr-defined]
                    committed=money(p.committed),  # type: ignore[attr-defined]
                    spent=money(p.spent),  # type: ignore[attr-defined]
                    remaining=money(p.remaining),  # type: ignore[attr-defined]
                    delivery_status=p.delivery_status or "not_started",  # type: ignore[attr-defined]
                )
                for p in selectors.funded_proposals(budget_round=budget_round)
            ],
        ),
    )
