"""Reads for pages: each returns a QuerySet that already fetches what the page shows,
so a page makes the same number of queries however many rows there are."""

from __future__ import annotations

from django.db.models import Count, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce, Lower

from pb_platform.users import User
from proposals.models import (
    LIVE_COAUTHOR_STATUSES,
    PUBLIC_STATUSES,
    Area,
    BudgetRound,
    CoauthorStatus,
    CoDesignOffer,
    Comment,
    Proposal,
    ProposalAmendment,
    ProposalCoauthor,
    ProposalEvent,
    ProposalMerge,
    ProposalStatus,
    ProposalSupport,
    ProposalVersion,
    RegisterEntry,
    RegisterImport,
    ResidentAreaChange,
    ResidentProfile,
    RoundArea,
    RoundChange,
)


def round_list() -> QuerySet[BudgetRound]:
    return BudgetRound.objects.annotate(area_count=Count("round_areas")).order_by(
        "-voting_starts", "name"
    )


def round_detail(*, slug: str) -> QuerySet[BudgetRound]:
    return (
        BudgetRound.objects.filter(slug=slug)
        .prefetch_related(
            Prefetch(
                "round_areas",
                # The statement: what the council does with the area's priorities.
                queryset=RoundArea.objects.select_related("area", "priority_statement"),
            )
        )
        .annotate(areas_total=Sum("round_areas__budget"))
    )


def area_list() -> QuerySet[Area]:
    return Area.objects.annotate(resident_count=Count("residents")).order_by("name")


def area_rounds(*, area: Area) -> QuerySet[BudgetRound]:
    """The rounds an area takes part in (to decide what may still change about it)."""
    return BudgetRound.objects.filter(round_areas__area=area).distinct()


def resident_list(*, search: str = "") -> QuerySet[ResidentProfile]:
    residents = ResidentProfile.objects.select_related("user", "area").order_by(
        "display_name", "pk"
    )
    search = search.strip()
    if search:
        residents = residents.filter(
            Q(display_name__icontains=search) | Q(user__email__icontains=search)
        )
    return residents


def round_change_list() -> QuerySet[RoundChange]:
    return RoundChange.objects.select_related("budget_round", "changed_by").order_by(
        "-changed_at", "-pk"
    )


def area_change_list() -> QuerySet[ResidentAreaChange]:
    return ResidentAreaChange.objects.select_related(
        "profile", "profile__user", "from_area", "to_area", "changed_by"
    ).order_by("-changed_at", "-pk")


def register_import_list() -> QuerySet[RegisterImport]:
    """The register's import log, newest first (who, when, which file, what it did)."""
    return RegisterImport.objects.select_related("imported_by").order_by("-imported_at", "-pk")


def register_summary() -> dict[str, int]:
    """How many people the register holds and how many of them verified an account."""
    entries = RegisterEntry.objects.all()
    return {
        "entries": entries.count(),
        "verified": entries.filter(verified_account__isnull=False).count(),
    }


# --- Proposals --------------------------------------------------------------------------

SORTS = {
    "newest": ("-submitted_at", "-created_at", "-pk"),
    "support": ("-support_count", "-submitted_at", "-pk"),
    "cost": ("cost_for_sorting", "pk"),
    "cost_desc": ("-cost_for_sorting", "pk"),
    "title": ("title_lower", "pk"),
}


def with_support_count(queryset: QuerySet[Proposal]) -> QuerySet[Proposal]:
    """Each proposal's ``support_count``, counted by the database in the same query (a
    subquery: a second join beside the comments' would multiply both counts)."""
    supports = (
        ProposalSupport.objects.filter(proposal=OuterRef("pk"))
        .order_by()
        .values("proposal")
        .annotate(total=Count("pk"))
        .values("total")
    )
    return queryset.annotate(
        support_count=Coalesce(Subquery(supports, output_field=IntegerField()), 0)
    )


def _proposals_with_card_data(queryset: QuerySet[Proposal]) -> QuerySet[Proposal]:
    return (
        with_support_count(queryset)
        .select_related("round_area__area", "category", "budget_round", "author__resident_profile")
        .annotate(
            comment_count=Count("comments", filter=Q(comments__hidden_at__isnull=True)),
            cost_for_sorting=Coalesce("official_cost", "estimated_cost"),
            title_lower=Lower("title"),
        )
    )


def public_proposals() -> QuerySet[Proposal]:
    """Every proposal the public may see (submitted, never a draft), with what lists
    show of each (area, category, support and comment counts)."""
    return _proposals_with_card_data(
        Proposal.objects.filter(status__in=PUBLIC_STATUSES, submitted_at__isnull=False)
    )


def api_round_list() -> QuerySet[BudgetRound]:
    """Every round for the API, newest voting first (ties by name, then id: a stable
    order for paging), with its areas (one more query per page)."""
    return BudgetRound.objects.prefetch_related(
        Prefetch(
            "round_areas",
            queryset=RoundArea.objects.select_related("area").order_by(
                "area__is_city_wide", "area__name"
            ),
        )
    ).order_by("-voting_starts", "name", "pk")


def proposal_list(
    *,
    budget_round: BudgetRound,
    round_area_id: int | None = None,
    category_id: int | None = None,
    status: str | None = None,
    search: str = "",
    sort: str = "newest",
) -> QuerySet[Proposal]:
    """A round's public proposals (never drafts), filtered, searched and sorted."""
    proposals = public_proposals().filter(budget_round=budget_round)
    if round_area_id is not None:
        proposals = proposals.filter(round_area_id=round_area_id)
    if category_id is not None:
        proposals = proposals.filter(category_id=category_id)
    if status:
        proposals = proposals.filter(status=status)
    search = search.strip()
    if search:
        proposals = proposals.filter(
            Q(title__icontains=search)
            | Q(description__icontains=search)
            | Q(location__icontains=search)
        )
    return proposals.order_by(*SORTS.get(sort, SORTS["newest"]))


def proposals_of_author(*, author: User) -> QuerySet[Proposal]:
    """Everything this person wrote or co-writes, drafts included: the one list that
    shows drafts."""
    coauthored = ProposalCoauthor.objects.filter(
        user=author, status=CoauthorStatus.ACCEPTED
    ).values("proposal_id")
    return _proposals_with_card_data(
        Proposal.objects.filter(Q(author=author) | Q(pk__in=coauthored))
    ).order_by("-created_at", "-pk")


def proposals_with_image(*, name: str) -> QuerySet[Proposal]:
    """The proposals whose image is the upload ``name`` (one, unless copied), with what
    ``policies.can_see_proposal`` reads: served images are looked up by their name."""
    return Proposal.objects.filter(image=name).only("pk", "author_id", "submitted_at")


def proposal_detail(*, pk: int) -> QuerySet[Proposal]:
    replies = Comment.objects.select_related("author__resident_profile", "hidden_by").annotate(
        flag_count=Count("flags")
    )
    return (
        with_support_count(Proposal.objects.filter(pk=pk))
        .select_related(
            "round_area__area",
            "category",
            "budget_round",
            "author__resident_profile",
            "duplicate_of",
        )
        .prefetch_related(
            Prefetch(
                "events",
                queryset=ProposalEvent.objects.select_related("actor__resident_profile"),
            ),
            # Accepted co-authors (public) and waiting invitations (shown to the author);
            # ``permissions.coauthor_user_ids`` reads this instead of querying.
            Prefetch(
                "coauthors",
                queryset=ProposalCoauthor.objects.filter(
                    status__in=LIVE_COAUTHOR_STATUSES
                ).select_related("user__resident_profile"),
                to_attr="live_coauthors",
            ),
            Prefetch(
                "versions",
                queryset=ProposalVersion.objects.select_related(
                    "made_by__resident_profile", "credited_to__resident_profile"
                ).order_by("-number"),
            ),
            Prefetch("codesign_offers", queryset=_offers(), to_attr="offers"),
            Prefetch(
                "amendments",
                queryset=ProposalAmendment.objects.select_related("author__resident_profile"),
                to_attr="amendment_list",
            ),
            Prefetch(
                "comments",
                queryset=replies.filter(parent__isnull=True).prefetch_related(
                    Prefetch("replies", queryset=replies)
                ),
                to_attr="top_level_comments",
            ),
        )
    )


def _offers() -> QuerySet[CoDesignOffer]:
    return CoDesignOffer.objects.select_related("officer", "answered_by").order_by(
        "created_at", "pk"
    )


def proposal_for_review(*, pk: int) -> QuerySet[Proposal]:
    """The review page's proposal, with its support count and co-design offers."""
    return (
        with_support_count(Proposal.objects.filter(pk=pk))
        .select_related("budget_round", "round_area__area", "author")
        .prefetch_related(Prefetch("codesign_offers", queryset=_offers(), to_attr="offers"))
    )


def supports_by(*, user: User, proposal: Proposal) -> bool:
    """Whether this person supports the proposal (one query, for its page)."""
    return (
        user.is_authenticated
        and ProposalSupport.objects.filter(proposal=proposal, user=user).exists()
    )


def proposals_for_duplicate_choice(*, proposal: Proposal) -> QuerySet[Proposal]:
    return (
        Proposal.objects.filter(budget_round_id=proposal.budget_round_id)
        .exclude(pk=proposal.pk)
        .exclude(
            status__in=[
                ProposalStatus.DRAFT,
                ProposalStatus.WITHDRAWN,
                ProposalStatus.DUPLICATE,
                ProposalStatus.MERGED,
            ]
        )
        .order_by("title")
    )


def latest_version_number(*, proposal: Proposal) -> int:
    """The number of the proposal's newest version; 0 before it has any (imported)."""
    latest = ProposalVersion.objects.filter(proposal=proposal).order_by("-number").first()
    return latest.number if latest is not None else 0


def merges_of(*, proposal: Proposal) -> list[ProposalMerge]:
    """Every merge proposed for this proposal, on either side, newest first, with what
    the page shows of both proposals and the answers (one query)."""
    return list(
        ProposalMerge.objects.filter(Q(into=proposal) | Q(absorbed=proposal))
        .select_related(
            "officer",
            "into__budget_round",
            "into__author",
            "absorbed__budget_round",
            "absorbed__author",
            "into_agreed_by__resident_profile",
            "absorbed_agreed_by__resident_profile",
            "declined_by__resident_profile",
        )
        .order_by("-created_at", "-pk")
    )


def proposals_to_merge_with(*, proposal: Proposal) -> QuerySet[Proposal]:
    """The other live proposals of the same round and area (``policies`` has the rest)."""
    from proposals.policies import MERGEABLE_STATUSES

    return (
        Proposal.objects.filter(
            round_area_id=proposal.round_area_id,
            submitted_at__isnull=False,
            status__in=MERGEABLE_STATUSES,
        )
        .exclude(pk=proposal.pk)
        .order_by("title")
    )


def flagged_comment_list() -> QuerySet[Comment]:
    """Visible comments people have reported, most reported first, for moderators."""
    return (
        # Never a comment on a draft: drafts are their authors' alone.
        Comment.objects.filter(hidden_at__isnull=True, proposal__submitted_at__isnull=False)
        .annotate(flag_count=Count("flags"))
        .filter(flag_count__gt=0)
        .select_related("proposal", "author__resident_profile")
        .order_by("-flag_count", "-created_at", "pk")
    )


def proposal_versions(*, proposal: Proposal, numbers: list[int]) -> list[ProposalVersion]:
    """The proposal's versions with these numbers (those that exist), oldest first, with
    what their page shows: area, category, who made them."""
    return list(
        ProposalVersion.objects.filter(proposal=proposal, number__in=numbers)
        .select_related(
            "round_area__area",
            "category",
            "made_by__resident_profile",
            "credited_to__resident_profile",
        )
        .order_by("number")
    )
