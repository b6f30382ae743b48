"""The API's rounds and public proposals (``pb_platform/api.py``): the same selectors
as the round and proposal pages, so a draft is never listed and a filter means what
it means on the site."""

# No "from __future__ import annotations": django-ninja reads the annotations at import.

from datetime import datetime
from typing import Annotated, Any, Literal

from django.conf import settings
from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Field, FilterSchema, Query, Router, Schema
from ninja import Path as PathParam
from ninja.pagination import PageNumberPagination, paginate

from pb_platform.api_schemas import ERRORS, money, money_or_none
from pb_platform.text import ONE_LINE_TEXT_PATTERN
from proposals import selectors
from proposals.models import BudgetRound, Proposal
from proposals.models import RoundArea as RoundAreaModel

router = Router(tags=["Rounds and proposals"])


class Page(PageNumberPagination):
    """Pages of 50 (``?page=2``; ``page_size`` up to 200) in a stable order; ``count``
    is the total."""

    class Input(Schema):
        page: int = Field(1, ge=1, le=1_000_000)
        page_size: int | None = Field(None, ge=1, le=200)

    # Given to __init__: ninja's sets both from its own settings (100), so class
    # attributes were overwritten and a page held 100 whatever was asked.
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(page_size=50, max_page_size=200, **kwargs)


# Path parameters as the site's URLs spell them (anything else: 422, never a lookup).
Slug = Annotated[str, PathParam(pattern=r"^[-a-zA-Z0-9_]{1,120}$")]
Id = Annotated[int, PathParam(ge=1, le=2_147_483_647)]


class RoundArea(Schema):
    slug: str
    name: str
    budget: str
    population: int | None
    whole_council: bool

    @staticmethod
    def resolve_slug(obj: RoundAreaModel) -> str:
        return obj.area.slug

    @staticmethod
    def resolve_name(obj: RoundAreaModel) -> str:
        return obj.area.name

    @staticmethod
    def resolve_budget(obj: RoundAreaModel) -> str:
        return money(obj.budget)

    @staticmethod
    def resolve_population(obj: RoundAreaModel) -> int | None:
        return obj.area.population

    @staticmethod
    def resolve_whole_council(obj: RoundAreaModel) -> bool:
        return obj.area.is_city_wide


class Round(Schema):
    slug: str
    name: str
    description: str
    currency: str
    total_budget: str
    counting_rule: str
    ballot_type: str
    max_choices: int | None
    phase: str = Field(description="upcoming, priorities, submission, review, voting, results…")
    priorities_starts: datetime | None
    submission_starts: datetime
    review_starts: datetime
    voting_starts: datetime
    voting_ends: datetime
    delivery_starts: datetime
    delivery_ends: datetime
    imported: bool
    areas: list[RoundArea]
    url: str

    @staticmethod
    def resolve_total_budget(obj: BudgetRound) -> str:
        return money(obj.total_budget)

    @staticmethod
    def resolve_phase(obj: BudgetRound) -> str:
        return str(obj.phase_at(timezone.now()))

    @staticmethod
    def resolve_imported(obj: BudgetRound) -> bool:
        return obj.is_imported

    @staticmethod
    def resolve_areas(obj: BudgetRound) -> list[RoundAreaModel]:
        return list(obj.round_areas.all())

    @staticmethod
    def resolve_url(obj: BudgetRound) -> str:
        return settings.SITE_URL + obj.get_absolute_url()


@router.get(
    "rounds/", response={200: list[Round], **ERRORS}, summary="Every round, newest voting first"
)
@paginate(Page)
def rounds(request: HttpRequest) -> QuerySet[BudgetRound]:
    return selectors.api_round_list()


@router.get("rounds/{slug}/", response={200: Round, **ERRORS}, summary="One round")
def round_detail(request: HttpRequest, slug: Slug) -> BudgetRound:
    return get_object_or_404(selectors.api_round_list(), slug=slug)


class ProposalOut(Schema):
    id: int
    title: str
    description: str
    location: str
    area: str = Field(description="The area's slug")
    category: str | None
    status: str
    estimated_cost: str
    official_cost: str | None
    submitted_at: datetime | None
    supporters: int
    url: str

    @staticmethod
    def resolve_area(obj: Proposal) -> str:
        return obj.round_area.area.slug

    @staticmethod
    def resolve_category(obj: Proposal) -> str | None:
        return obj.category.name if obj.category is not None else None

    @staticmethod
    def resolve_estimated_cost(obj: Proposal) -> str:
        return money(obj.estimated_cost)

    @staticmethod
    def resolve_official_cost(obj: Proposal) -> str | None:
        return money_or_none(obj.official_cost)

    @staticmethod
    def resolve_supporters(obj: Proposal) -> int:
        return int(getattr(obj, "support_count", 0))

    @staticmethod
    def resolve_url(obj: Proposal) -> str:
        return settings.SITE_URL + obj.get_absolute_url()


PublicStatus = Literal[
    "submitted", "returned", "withdrawn", "feasible", "not_feasible", "duplicate", "merged"
]
Sort = Literal["newest", "support", "cost", "cost_desc", "title"]


class ProposalFilters(FilterSchema):
    """The filters of a round's proposals page."""

    area: str | None = Field(None, description="An area's slug", pattern=r"^[-a-zA-Z0-9_]{1,120}$")
    status: PublicStatus | None = None
    search: str = Field(
        "",
        description="Words in the title, description or place",
        max_length=200,
        # The pages' rule for text in a query: no control or text-direction character.
        pattern=ONE_LINE_TEXT_PATTERN,
    )
    sort: Sort = "newest"


@router.get(
    "rounds/{slug}/proposals/",
    response={200: list[ProposalOut], **ERRORS},
    summary="A round's public proposals (never drafts), filtered and sorted as on the site",
)
@paginate(Page)
def round_proposals(
    request: HttpRequest, slug: Slug, filters: Query[ProposalFilters]
) -> QuerySet[Proposal]:
    budget_round = get_object_or_404(BudgetRound, slug=slug)
    round_area_id = None
    if filters.area:
        round_area = budget_round.round_areas.filter(area__slug=filters.area).first()
        if round_area is None:
            raise Http404("This round has no such area.")
        round_area_id = round_area.pk
    return selectors.proposal_list(
        budget_round=budget_round,
        round_area_id=round_area_id,
        status=filters.status,
        search=filters.search,
        sort=filters.sort,
    )


@router.get(
    "proposals/{proposal_id}/", response={200: ProposalOut, **ERRORS}, summary="One public proposal"
)
def proposal_detail(request: HttpRequest, proposal_id: Id) -> Proposal:
    return get_object_or_404(selectors.public_proposals(), pk=proposal_id)
