"""Reads for voting. None of them returns a voter together with their choices."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from functools import cache
from typing import Any, TypeVar

from allauth.account.models import EmailAddress
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.models import Count, F, Model, Q, QuerySet

from pb_platform.models import EmailLanguage
from pb_platform.money import money_from_fraction, money_quantize
from pb_platform.outbox import email_language_remember
from pb_platform.users import User
from proposals.models import (
    Area,
    BudgetRound,
    Proposal,
    ProposalStatus,
    ResidentProfile,
    RoundArea,
)
from voting import explain, permissions
from voting.models import (
    AreaResult,
    Ballot,
    BallotChannel,
    BallotChoice,
    OutreachAction,
    ResultExplanation,
    ResultFile,
    ResultLine,
)


def area_ballot_proposals(*, round_area: RoundArea) -> list[Proposal]:
    """The proposals on an area's ballot: feasible, with an official cost, by title."""
    return list(
        Proposal.objects.filter(
            round_area=round_area,
            status=ProposalStatus.FEASIBLE,
            official_cost__isnull=False,
        )
        .select_related("category")
        .order_by("title", "pk")
    )


def voter_round_areas(*, profile: ResidentProfile, budget_round: BudgetRound) -> list[RoundArea]:
    """The round's areas this resident may vote in: their home area and any area that
    covers the whole council."""
    return list(
        RoundArea.objects.filter(budget_round=budget_round)
        .filter(Q(area_id=profile.area_id) | Q(area__is_city_wide=True))
        .select_related("area", "budget_round")
        .order_by("area__is_city_wide", "area__name")
    )


def ballot_round_area(*, round_slug: str, area_slug: str) -> RoundArea | None:
    """An area of a round that takes ballots on this site (not an imported one), with its
    round and area, by their addresses' slugs."""
    return (
        RoundArea.objects.select_related("area", "budget_round")
        .filter(
            budget_round__slug=round_slug,
            budget_round__is_imported=False,
            area__slug=area_slug,
        )
        .first()
    )


_M = TypeVar("_M", bound=Model)

# The ballot's columns read along with the voter's profile by ``ballot_voter``.
VOTER_BALLOT_COLUMNS = ("id", "channel", "cast_at", "changed_at", "age_declared", "receipt_code")


def ballot_voter(
    *, user: User, round_area: RoundArea
) -> tuple[ResidentProfile | None, Ballot | None]:
    """The resident's profile (with their home and pending areas) and their ballot for
    this area, if any.

    On PostgreSQL in one plain statement, which also reads what the voting policies ask
    of the account (its role, a verified email) and the language of their emails and
    leaves them on the user object, so that judging and casting the ballot ask the
    database no more of them: this is the busiest page of a round. (The same read through
    the ORM's annotations cost 13 ms of query building and planning per request.)"""
    if connection.vendor != "postgresql":
        profile = (
            ResidentProfile.objects.select_related("area", "pending_area").filter(user=user).first()
        )
        if profile is None:
            return None, None
        user.resident_profile = profile  # the policies read it from the user
        return profile, Ballot.objects.filter(round_area=round_area, voter=user).first()
    with connection.cursor() as cursor:
        cursor.execute(_voter_sql(), [round_area.pk, user.pk])
        row = cursor.fetchone()
    if row is None:
        return None, None
    values = iter(row)
    profile = _model_from(ResidentProfile, values)
    profile.area = _model_from(Area, values)
    pending = _model_from(Area, values)
    profile.pending_area = pending if pending.pk is not None else None
    profile.user = user
    user.resident_profile = profile  # the policies read it from the user
    verified, role_held, language = next(values), next(values), next(values)
    permissions.resident_role_remember(
        user,
        # Django's model backend: an active user who is a superuser or holds the role.
        role=user.is_active and (user.is_superuser or role_held),
        verified_email=verified,
    )
    email_language_remember(user, language)
    columns = dict(zip(VOTER_BALLOT_COLUMNS, values, strict=True))
    if columns["id"] is None:
        return profile, None
    return profile, stored_ballot(round_area=round_area, voter=user, **columns)


def _model_from(model: type[_M], values: Iterator[Any]) -> _M:
    """An instance of ``model`` from the next of ``values``, one per concrete field."""
    names = [field.attname for field in model._meta.concrete_fields]
    return model.from_db(connection.alias, names, [next(values) for _ in names])


@cache
def _voter_sql() -> str:
    """``ballot_voter``'s statement (parameters: the round area, the user)."""

    def columns(model: type[Model], alias: str) -> str:
        return ", ".join(f"{alias}.{field.column}" for field in model._meta.concrete_fields)

    held = f"""
        SELECT 1 FROM {Permission._meta.db_table} perm
          JOIN {ContentType._meta.db_table} ct ON ct.id = perm.content_type_id
         WHERE perm.codename = 'cast_ballot' AND ct.app_label = 'voting'"""  # noqa: S608
    user_permissions = User.user_permissions.through._meta.db_table
    user_groups = User.groups.through._meta.db_table
    group_permissions = Group.permissions.through._meta.db_table
    return f"""
        SELECT {columns(ResidentProfile, "p")}, {columns(Area, "a")}, {columns(Area, "pa")},
               EXISTS (SELECT 1 FROM {EmailAddress._meta.db_table} e
                        WHERE e.user_id = p.user_id AND e.verified),
               EXISTS ({held} AND perm.id IN (
                   SELECT up.permission_id FROM {user_permissions} up
                    WHERE up.user_id = p.user_id
                   UNION ALL
                   SELECT gp.permission_id FROM {user_groups} ug
                     JOIN {group_permissions} gp ON gp.group_id = ug.group_id
                    WHERE ug.user_id = p.user_id)),
               (SELECT l.language FROM {EmailLanguage._meta.db_table} l
                 WHERE l.user_id = p.user_id),
               {", ".join(f"b.{column}" for column in VOTER_BALLOT_COLUMNS)}
          FROM {ResidentProfile._meta.db_table} p
          JOIN {Area._meta.db_table} a ON a.id = p.area_id
          LEFT JOIN {Area._meta.db_table} pa ON pa.id = p.pending_area_id
          LEFT JOIN {Ballot._meta.db_table} b ON b.round_area_id = %s AND b.voter_id = p.user_id
         WHERE p.user_id = %s
    """  # noqa: S608 (table and column names from the models; values are parameters)


def stored_ballot(*, round_area: RoundArea, voter: User, **columns: Any) -> Ballot:
    """A stored ballot from columns read along with something else, as if the ORM had
    read it (saving it updates the row)."""
    ballot = Ballot(round_area=round_area, voter=voter, **columns)
    ballot._state.adding = False
    return ballot


def voter_ballots(*, voter: User, budget_round: BudgetRound) -> dict[int, Ballot]:
    """The voter's own ballots in a round, by round area id (for their own pages)."""
    return {
        ballot.round_area_id: ballot
        for ballot in Ballot.objects.filter(voter=voter, round_area__budget_round=budget_round)
    }


def ballot_choice_ids(*, ballot: Ballot) -> list[int]:
    """The proposals a ballot approves: for its own voter's ballot form only."""
    return list(ballot.choices.values_list("proposal_id", flat=True))


def my_ballots(*, voter: User) -> list[Ballot]:
    """The voter's ballots with their round, area and (if published) area result; no
    choices."""
    return list(
        Ballot.objects.filter(voter=voter)
        .select_related("round_area__area", "round_area__budget_round", "round_area__result")
        .order_by("-round_area__budget_round__voting_ends", "round_area__area__name")
    )


@dataclass(frozen=True)
class AreaTurnout:
    round_area: RoundArea
    online: int
    paper: int
    imported: int
    # Registered residents who may vote here; None for imported historical rounds.
    eligible: int | None

    @property
    def total(self) -> int:
        return self.online + self.paper + self.imported


def round_turnout(*, budget_round: BudgetRound) -> list[AreaTurnout]:
    """Ballots per area and channel, in two queries whatever the number of ballots."""
    round_areas = list(
        RoundArea.objects.filter(budget_round=budget_round)
        .select_related("area")
        .annotate(
            online=Count("ballots", filter=Q(ballots__channel=BallotChannel.ONLINE)),
            paper=Count("ballots", filter=Q(ballots__channel=BallotChannel.PAPER)),
            imported=Count("ballots", filter=Q(ballots__channel=BallotChannel.IMPORTED)),
        )
        .order_by("area__is_city_wide", "area__name")
    )
    residents_by_area: dict[int, int] = defaultdict(int)
    for area_id, count in (
        ResidentProfile.objects.values_list("area_id").annotate(n=Count("pk")).order_by()
    ):
        residents_by_area[area_id] = count
    everyone = sum(residents_by_area.values())
    turnout = []
    for round_area in round_areas:
        eligible = (
            everyone if round_area.area.is_city_wide else residents_by_area[round_area.area_id]
        )
        turnout.append(
            AreaTurnout(
                round_area=round_area,
                online=round_area.online,
                paper=round_area.paper,
                imported=round_area.imported,
                eligible=None if budget_round.is_imported else eligible,
            )
        )
    return turnout


# --- Officer pages ----------------------------------------------------------------------
# They say whether a person has a ballot and on which channel, never what it holds.


@dataclass(frozen=True)
class VoterAreaStatus:
    round_area: RoundArea
    # The channel of the person's ballot there, or None if they have none yet.
    channel: str | None

    @property
    def channel_label(self) -> str:
        return str(BallotChannel(self.channel).label) if self.channel else ""


@dataclass(frozen=True)
class PaperVoterRow:
    profile: ResidentProfile
    # The round's areas this person may vote in, home area first.
    areas: list[VoterAreaStatus]


def paper_voter_rows(
    *, budget_round: BudgetRound, profiles: Sequence[ResidentProfile]
) -> list[PaperVoterRow]:
    """For each resident (a page of a search), the round's areas they may vote in and
    whether they already have a ballot there: two queries, whatever the page size."""
    round_areas = list(
        RoundArea.objects.filter(budget_round=budget_round)
        .select_related("area")
        .order_by("area__is_city_wide", "area__name")
    )
    channels = {
        (voter_id, round_area_id): channel
        for voter_id, round_area_id, channel in Ballot.objects.filter(
            round_area__budget_round=budget_round,
            voter_id__in=[profile.user_id for profile in profiles],
        ).values_list("voter_id", "round_area_id", "channel")
    }
    return [
        PaperVoterRow(
            profile=profile,
            areas=[
                VoterAreaStatus(
                    round_area=round_area,
                    channel=channels.get((profile.user_id, round_area.pk)),
                )
                for round_area in round_areas
                # The rule of ``voter_round_areas``, applied here to save a query a row.
                if round_area.area.is_city_wide or round_area.area_id == profile.area_id
            ],
        )
        for profile in profiles
    ]


def voter_area_ballot(*, voter: User, round_area: RoundArea) -> Ballot | None:
    """The person's ballot for an area, without its choices, if they have one."""
    return (
        Ballot.objects.filter(voter=voter, round_area=round_area)
        .only("pk", "channel", "cast_at", "round_area_id", "voter_id")
        .first()
    )


def paper_receipts_of(*, officer: User, budget_round: BudgetRound) -> QuerySet[Ballot]:
    """Paper ballots this officer recorded in the round, with what their confirmation
    shows (the voter's name, the area, the receipt code), never the choices."""
    return Ballot.objects.filter(
        channel=BallotChannel.PAPER,
        recorded_by=officer,
        round_area__budget_round=budget_round,
    ).select_related("voter__resident_profile", "round_area__area", "round_area__budget_round")


def turnout_percent(turnout: AreaTurnout) -> Decimal | None:
    """Ballots as a share of the registered residents who may vote there, to one decimal
    place; None when nobody is registered or the round was imported."""
    if not turnout.eligible:
        return None
    share = Decimal(turnout.total) * 100 / Decimal(turnout.eligible)
    return share.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


# --- Results pages ----------------------------------------------------------------------
# Public reads: published results, turnout by channel and receipt codes. Each is one
# query whatever the number of ballots or proposals, and none touches a ballot's voter.


@dataclass(frozen=True)
class AreaResultSummary:
    """One area's line on a round's results page; ``result`` is None until published."""

    round_area: RoundArea
    result: AreaResult | None
    funded_count: int

    @property
    def budget_left(self) -> Decimal | None:
        return None if self.result is None else self.result.budget - self.result.budget_used


def _published(round_area: RoundArea) -> AreaResult | None:
    """The area's result if it is published (the relation must be select_related)."""
    try:
        result = round_area.result
    except AreaResult.DoesNotExist:
        return None
    return result if result.published_at is not None else None


def round_results_summary(*, budget_round: BudgetRound) -> list[AreaResultSummary]:
    """Every area of the round with its published result, if any, in one query."""
    round_areas = (
        RoundArea.objects.filter(budget_round=budget_round)
        .select_related("area", "result")
        .annotate(
            funded_count=Count(
                "result__lines",
                filter=Q(result__lines__funded=True, result__published_at__isnull=False),
            )
        )
        .order_by("area__is_city_wide", "area__name")
    )
    return [
        AreaResultSummary(
            round_area=round_area,
            result=_published(round_area),
            funded_count=round_area.funded_count,
        )
        for round_area in round_areas
    ]


def results_round_area(*, slug: str, area_slug: str) -> QuerySet[RoundArea]:
    """The round's area named in a results URL, with its round, area and result, and the
    result's stored file's digest (not its text, which may be a megabyte)."""
    return (
        RoundArea.objects.filter(budget_round__slug=slug, area__slug=area_slug)
        .select_related("budget_round", "area", "result", "result__file")
        .defer("result__file__content")
    )


def round_area_published_result(*, round_area: RoundArea) -> AreaResult | None:
    """The area's result if published, else None (from ``results_round_area``, no query)."""
    return _published(round_area)


def published_result_file(*, result: AreaResult) -> ResultFile | None:
    """The result's stored Pabulib file (from ``results_round_area``, no query), or None
    for a result published before files were stored."""
    try:
        return result.file
    except ResultFile.DoesNotExist:
        return None


@dataclass(frozen=True)
class PublishedResult:
    """What an area's results page shows: the stored count and the ballots' channels."""

    result: AreaResult
    # Funded first, in the order the rule chose them; then the rest by votes.
    lines: list[ResultLine]
    turnout: AreaTurnout

    @property
    def funded_count(self) -> int:
        return sum(1 for line in self.lines if line.funded)

    @property
    def budget_left(self) -> Decimal:
        return self.result.budget - self.result.budget_used


def _lines() -> QuerySet[ResultLine]:
    """Result lines with what results pages show of their proposals (titles and ids)."""
    return ResultLine.objects.select_related("proposal").only(
        "result_id",
        "votes",
        "cost",
        "funded",
        "selection_order",
        "proposal__id",
        "proposal__title",
        "proposal__external_id",
    )


# A result's order: funded first, in the order the rule chose them, then by votes.
# Spelled out: NULLs (not funded) sort first on SQLite and last on PostgreSQL.
LINE_ORDER = (F("selection_order").asc(nulls_last=True), "-votes", "proposal__title", "pk")


def result_lines(*, result: AreaResult) -> list[ResultLine]:
    """The result's lines with their proposals' titles and ids, in one query."""
    return list(_lines().filter(result=result).order_by(*LINE_ORDER))


def area_channel_turnout(*, round_area: RoundArea) -> AreaTurnout:
    """The area's ballots by channel, counted in the database (one query)."""
    counts = Ballot.objects.filter(round_area=round_area).aggregate(
        online=Count("pk", filter=Q(channel=BallotChannel.ONLINE)),
        paper=Count("pk", filter=Q(channel=BallotChannel.PAPER)),
        imported=Count("pk", filter=Q(channel=BallotChannel.IMPORTED)),
    )
    return AreaTurnout(round_area=round_area, eligible=None, **counts)


def published_result_detail(*, round_area: RoundArea, result: AreaResult) -> PublishedResult:
    return PublishedResult(
        result=result,
        lines=result_lines(result=result),
        turnout=area_channel_turnout(round_area=round_area),
    )


RECEIPT_CODE_LENGTH = 16
RECEIPT_GROUP = 4
# Spaces and hyphens, including the dashes a mail client or word processor may put in.
RECEIPT_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u2212]+")


def receipt_code_normalise(text: str) -> str | None:
    """A receipt code as stored ("ABCD-EFGH-JKLM-NPQR") from what a voter typed, whatever
    its case, spaces or hyphens; None if it cannot be a code."""
    compact = RECEIPT_SEPARATORS.sub("", text).upper()
    if len(compact) != RECEIPT_CODE_LENGTH or not compact.isascii() or not compact.isalnum():
        return None
    return "-".join(
        compact[i : i + RECEIPT_GROUP] for i in range(0, RECEIPT_CODE_LENGTH, RECEIPT_GROUP)
    )


def area_receipt_counted(*, round_area: RoundArea, code: str) -> bool:
    """Whether a ballot with this (normalised) code is in the area: one lookup on the
    unique index of receipt codes, never a scan of the area's codes."""
    return Ballot.objects.filter(receipt_code=code, round_area=round_area).exists()


def area_receipt_codes(*, round_area: RoundArea) -> list[str]:
    """Every receipt code of the area's ballots, sorted, and nothing else of them."""
    return sorted(
        Ballot.objects.filter(round_area=round_area).values_list("receipt_code", flat=True)
    )


# --- Why a proposal won or lost ----------------------------------------------------------


@dataclass(frozen=True)
class SpentOn:
    title: str
    url: str
    amount: Decimal


@dataclass(frozen=True)
class ProposalOutcome:
    """One proposal's published outcome and why, in figures a page shows as they are.

    ``how`` is "mes" (chosen by Equal Shares at the real budget, at step ``step``),
    "add1" (chosen once every voter's share was raised, the add1 completion), "greedy"
    (funded at the end from the money left, by votes) or "" when not funded. Amounts are
    rounded for display from exact fractions.
    """

    rule: str
    currency: str
    funded: bool
    how: str
    votes: int
    step: int | None = None
    each_paid_up_to: Decimal | None = None
    share_at_start: Decimal | None = None
    share_kept: Decimal | None = None
    money_left: Decimal | None = None
    rank: int | None = None
    cost: Decimal | None = None
    supporters_money: Decimal | None = None
    spent_on: tuple[SpentOn, ...] = ()
    effective_support_percent: int | None = None
    cost_to_win: Decimal | None = None


def proposal_outcome(*, proposal: Proposal) -> ProposalOutcome | None:
    """Why ``proposal`` won or lost in its area's published result, from the stored
    explanation; None before the result and its explanation exist. Two queries."""
    line = (
        ResultLine.objects.filter(proposal=proposal, result__published_at__isnull=False)
        .select_related("result__explanation", "result__round_area__budget_round")
        .first()
    )
    explanation = getattr(line.result, "explanation", None) if line else None
    if line is None or explanation is None:
        return None
    result = line.result
    data = explanation.data["rule"]
    me = proposal.pabulib_id

    def outcome(**fields: Any) -> ProposalOutcome:
        return ProposalOutcome(
            currency=result.round_area.budget_round.currency,
            funded=line.funded,
            votes=line.votes,
            cost=money_quantize(line.cost),
            **fields,
        )

    if data["kind"] == "greedy":
        greedy = explain.GreedyExplanation.from_dict(data)
        rank = next(r for r in greedy.ranks if r.project == me)
        return outcome(
            rule="greedy",
            how="greedy" if line.funded else "",
            rank=rank.rank,
            money_left=money_from_fraction(rank.money_left),
        )
    mes = explain.MesExplanation.from_dict(data)
    cost = mes.costs.get(me, Fraction(line.cost))
    shares = {
        "share_at_start": money_from_fraction(mes.budget / mes.voters) if mes.voters else None,
        "share_kept": money_from_fraction(mes.start),
    }
    for number, step in enumerate(mes.steps, start=1):
        if step.project == me:
            return outcome(
                rule="mes",
                how=step.chosen_by,
                step=number,
                each_paid_up_to=money_from_fraction(step.rho * cost),
                **shares,
            )
    for completion in mes.completion:
        if completion.project == me:
            return outcome(
                rule="mes",
                how="greedy",
                money_left=money_from_fraction(completion.money_left),
                **shares,
            )
    loss = mes.losses.get(me)
    spent_on: tuple[SpentOn, ...] = ()
    if loss is not None:
        others = {
            other.proposal.pabulib_id: other.proposal
            for other in ResultLine.objects.filter(result=result).select_related("proposal")
        }
        spent_on = tuple(
            SpentOn(others[p].title, others[p].get_absolute_url(), money_from_fraction(amount))
            for p, amount in sorted(loss.spent.items(), key=lambda item: (-item[1], item[0]))
            if amount > 0 and p in others
        )
    to_win = mes.cost_to_win.get(me)
    return outcome(
        rule="mes",
        how="",
        supporters_money=money_from_fraction(loss.supporters_money) if loss else None,
        spent_on=spent_on,
        effective_support_percent=mes.effective_support_percent.get(me),
        cost_to_win=money_from_fraction(to_win) if to_win is not None else None,
        **shares,
    )


# --- What a voter's own ballot paid for (their own page only) ---------------------------


@dataclass(frozen=True)
class PaidFor:
    title: str
    url: str
    amount: Decimal | None  # their part of its cost under Equal Shares; None under greedy


@dataclass(frozen=True)
class BallotPaidFor:
    ballot: Ballot
    rule: str
    currency: str
    funded: tuple[PaidFor, ...]
    share: Decimal | None  # what each voter started with (Equal Shares)
    unspent: Decimal | None


def my_ballots_paid_for(*, voter: User) -> list[BallotPaidFor]:
    """For each of the voter's own ballots whose area result is published and explained:
    the funded proposals it chose and, under Equal Shares, how much of the voter's share
    went to each (replayed from the stored steps and this ballot; nothing per voter is
    stored). For the voter's own "My ballots" page only: never call it for anyone else.
    Three queries."""
    ballots = list(
        Ballot.objects.filter(
            voter=voter,
            round_area__result__published_at__isnull=False,
            round_area__result__explanation__isnull=False,
        )
        .select_related(
            "round_area__area", "round_area__budget_round", "round_area__result__explanation"
        )
        .order_by("-round_area__budget_round__voting_ends", "round_area__area__name")
    )
    chosen: dict[int, list[Proposal]] = defaultdict(list)
    choices = (
        BallotChoice.objects.filter(ballot__in=ballots)
        .select_related("proposal")
        .order_by("proposal__title", "proposal_id")
    )
    for choice in choices:
        chosen[choice.ballot_id].append(choice.proposal)
    funded_ids = set(
        ResultLine.objects.filter(
            result__round_area__in=[b.round_area_id for b in ballots], funded=True
        ).values_list("proposal_id", flat=True)
    )
    paid: list[BallotPaidFor] = []
    for ballot in ballots:
        result = ballot.round_area.result
        data = result.explanation.data["rule"]
        mine = [p for p in chosen[ballot.pk] if p.pk in funded_ids]
        currency = ballot.round_area.budget_round.currency
        if data["kind"] == "mes":
            mes = explain.MesExplanation.from_dict(data)
            payments = explain.ballot_payments(mes, {p.pabulib_id for p in chosen[ballot.pk]})
            funded = tuple(
                PaidFor(
                    p.title,
                    p.get_absolute_url(),
                    money_from_fraction(payments.get(p.pabulib_id, Fraction(0))),
                )
                for p in mine
            )
            unspent = money_from_fraction(mes.start - sum(payments.values(), Fraction(0)))
            paid.append(
                BallotPaidFor(
                    ballot, "mes", currency, funded, money_from_fraction(mes.start), unspent
                )
            )
        else:
            funded = tuple(PaidFor(p.title, p.get_absolute_url(), None) for p in mine)
            paid.append(BallotPaidFor(ballot, "greedy", currency, funded, None, None))
    return paid


@dataclass(frozen=True)
class LineReason:
    """A proposal's outcome in a few words, for the area's results table (the proposal's
    page has the whole explanation). ``how`` as in ``ProposalOutcome``, plus "lost"."""

    how: str
    step: int | None = None
    rank: int | None = None
    money_left: Decimal | None = None
    effective_support_percent: int | None = None


def result_explanation_data(*, result: AreaResult) -> dict[str, Any] | None:
    """The stored explanation of a published result (one query); None until it exists."""
    explanation = ResultExplanation.objects.filter(result=result).only("data").first()
    return None if explanation is None else explanation.data


def result_line_reasons(explanation: dict[str, Any] | None) -> dict[str, LineReason]:
    """Each proposal's reason by Pabulib id, from the stored explanation's data; empty
    until the explanation is stored."""
    if explanation is None:
        return {}
    data = explanation["rule"]
    if data["kind"] == "greedy":
        greedy = explain.GreedyExplanation.from_dict(data)
        return {
            r.project: LineReason(
                how="greedy" if r.funded else "lost",
                rank=r.rank,
                money_left=money_from_fraction(r.money_left),
            )
            for r in greedy.ranks
        }
    mes = explain.MesExplanation.from_dict(data)
    reasons = {
        step.project: LineReason(how=step.chosen_by, step=number)
        for number, step in enumerate(mes.steps, start=1)
    }
    for completion in mes.completion:
        reasons[completion.project] = LineReason(
            how="greedy", money_left=money_from_fraction(completion.money_left)
        )
    for project, percent in mes.effective_support_percent.items():
        reasons.setdefault(project, LineReason(how="lost", effective_support_percent=percent))
    return reasons


def round_outreach_by_area(*, budget_round: BudgetRound) -> dict[int, list[OutreachAction]]:
    """The round's outreach actions by area id, oldest first: one query for the whole
    page however many areas and actions (who recorded each is not loaded: not public)."""
    by_area: dict[int, list[OutreachAction]] = defaultdict(list)
    for action in OutreachAction.objects.filter(budget_round=budget_round).order_by(
        "area_id", "happened_on", "pk"
    ):
        by_area[action.area_id].append(action)
    return dict(by_area)


def round_published_lines(*, budget_round: BudgetRound) -> dict[int, list[ResultLine]]:
    """Every published result line of the round by result id, each result's in its
    order: one query whatever the number of areas."""
    lines: dict[int, list[ResultLine]] = {}
    for line in (
        _lines()
        .filter(result__round_area__budget_round=budget_round, result__published_at__isnull=False)
        .order_by("result_id", *LINE_ORDER)
    ):
        lines.setdefault(line.result_id, []).append(line)
    return lines
