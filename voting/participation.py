"""Who took part in a round, per area: ballots against population, by channel, and
proposals submitted, with the areas that are under-represented flagged.

Counts of people are published only through ``pb_platform.disclosure``: an area's
ballots under five are hidden, and with them the next-smallest area's (the round's total
is shown); within an area, its channels likewise (its total is shown). Turnout is shown
only where its count is. The flag (fewer than half the round's ballots per resident) is
worked out from the real counts, so a hidden area can still be flagged: it says only
that the area is under-represented, not how many voted.

Ballots per day of the voting phase (round-wide) are published the same way, with
running totals only where they cannot give a hidden day away (``daily_published``).
Each area's outreach actions (``OutreachAction``) are listed beside it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone

from pb_platform.disclosure import suppressed_count, suppressed_counts
from proposals.models import BudgetRound, Proposal, RoundArea
from voting.models import (
    EQUALITY_ANSWERS,
    Ballot,
    BallotChannel,
    EqualityQuestion,
    EqualityTally,
    OutreachAction,
)
from voting.selectors import round_outreach_by_area

# An area is flagged when its ballots per resident are under this share of the round's.
UNDER_REPRESENTED_SHARE = Decimal("0.5")
CHANNELS = [BallotChannel.ONLINE, BallotChannel.PAPER]


def _percent(part: int, whole: int) -> Decimal:
    return (Decimal(100) * part / whole).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class AreaParticipation:
    round_area: RoundArea
    population: int | None
    ballots: int | None  # None: hidden (too few to publish)
    channels: dict[str, int | None]
    proposals: int | None
    turnout: Decimal | None  # percent of the population; None when unknown or hidden
    under_represented: bool
    outreach: tuple[OutreachAction, ...] = ()


@dataclass(frozen=True)
class DayBallots:
    """Ballots first received on one day of the voting phase, round-wide."""

    day: date
    ballots: int | None  # None: hidden
    running_total: int | None  # ballots received up to the end of the day; None: not shown


@dataclass(frozen=True)
class RoundParticipation:
    areas: list[AreaParticipation]
    ballots: int | None
    population: int  # of the areas whose population is known
    turnout: Decimal | None
    flagged: int  # areas under-represented
    days: list[DayBallots]  # the voting phase's days so far (none for an imported round)

    @property
    def outreach_areas(self) -> list[AreaParticipation]:
        """The areas to list under "Outreach": the under-represented ones first (with or
        without outreach: that none was recorded is worth saying), then the others that
        have some."""
        return [a for a in self.areas if a.under_represented] + [
            a for a in self.areas if a.outreach and not a.under_represented
        ]


def voting_days(budget_round: BudgetRound, *, today: date) -> list[date]:
    """Calendar days (site's time zone) from the opening of voting to today or the close
    of voting, whichever is first. Voting closes at ``voting_ends`` exactly, so a close at
    midnight ends on the day before (no empty day after it, which would be hidden and
    hide another with it)."""
    first = timezone.localdate(budget_round.voting_starts)
    last = min(today, timezone.localdate(budget_round.voting_ends - timedelta(microseconds=1)))
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def daily_published(
    counts: Sequence[int], *, outside: int = 0
) -> list[tuple[int | None, int | None]]:
    """(count, running total) to publish for each day of ``counts``, None where hidden.

    ``outside`` counts ballots of the round received on none of these days (none, unless
    the voting dates moved after ballots came in); the round's total, published on the
    same page, is the sum of ``counts`` and ``outside``.

    The days' counts are one group under the round's total, so they go through
    ``suppressed_counts`` together: a day under 5 is hidden, and if it is the only one,
    the smallest shown day too, so the total minus the shown days gives only the sum of
    two or more hidden days, never one of them (``outside``, never shown, is a cell of the
    group when not zero, so it counts among the hidden if small).

    Running totals add equations of their own: each shown running total R(k), minus the
    shown days up to k, gives the sum of the hidden days up to k; two shown totals R(j)
    and R(k) give the sum of the hidden days between them; and the round's total T closes
    the last stretch (T - R(last shown) - the shown days after it = the hidden days after
    it, with ``outside``). So the shown running totals cut the days into stretches, each
    of whose hidden days is known only as a sum, and a stretch holding exactly one hidden
    day would give it away. Hence:

    - no running total on a hidden day (it would be R(k-1) plus that day's count);
    - going forward, a shown day's running total is shown only if the stretch since the
      last shown running total (or the start) holds no hidden day, or two or more; with
      exactly one, it is left out, and so on each following shown day until a second
      hidden day comes (then the stretch's hidden days are known only as their sum);
    - the last stretch, closed by T, must also hold none or two or more hidden days
      (``outside`` counted as a hidden day there when hidden): if it holds one, the last
      shown running total is taken back, which merges the last two stretches; the stretch
      before held none (repeat) or two or more (then the merged one holds three or more).
      This ends: with every running total taken back, the only stretch is the whole
      group, which never holds exactly one hidden cell (the secondary suppression above).

    As with areas, a sum of hidden days is still known (e.g. two hidden days adding up to
    3), never any one of them.
    """
    cells = {str(index): count for index, count in enumerate(counts)}
    if outside:
        cells["outside"] = outside
    shown = suppressed_counts(cells)
    published: list[tuple[int | None, int | None]] = []
    running = 0
    hidden_in_stretch = 0  # hidden days since the last shown running total (or the start)
    shown_totals: list[tuple[int, int]] = []  # (day index, hidden days in its stretch)
    for index, count in enumerate(counts):
        running += count
        value = shown[str(index)]
        if value is None:
            hidden_in_stretch += 1
            published.append((None, None))
        elif hidden_in_stretch == 1:
            published.append((value, None))
        else:
            published.append((value, running))
            shown_totals.append((index, hidden_in_stretch))
            hidden_in_stretch = 0
    if outside and shown["outside"] is None:
        hidden_in_stretch += 1
    while hidden_in_stretch == 1 and shown_totals:
        index, hidden_before = shown_totals.pop()
        published[index] = (published[index][0], None)
        hidden_in_stretch += hidden_before
    return published


def round_participation(*, budget_round: BudgetRound, today: date) -> RoundParticipation:
    """Four queries whatever the number of areas, ballots, days and outreach actions."""
    round_areas = list(
        RoundArea.objects.filter(budget_round=budget_round)
        .select_related("area")
        .order_by("area__name")
    )
    # One aggregate for every count of ballots on the page (per area and channel, and
    # per day), so the days add up to the same total as the areas.
    by_channel: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    by_day: dict[date, int] = defaultdict(int)
    for row in (
        Ballot.objects.filter(round_area__budget_round=budget_round)
        .values("round_area_id", "channel", day=TruncDate("cast_at"))
        .annotate(n=Count("pk"))
        .order_by()
    ):
        by_channel[row["round_area_id"]][row["channel"]] += row["n"]
        by_day[row["day"]] += row["n"]
    proposals = dict(
        Proposal.objects.filter(budget_round=budget_round, submitted_at__isnull=False)
        .values_list("round_area_id")
        .annotate(n=Count("pk"))
    )
    outreach = round_outreach_by_area(budget_round=budget_round)
    ballots = {ra.pk: sum(by_channel[ra.pk].values()) for ra in round_areas}
    total = sum(ballots.values())
    counted = [ra for ra in round_areas if ra.area.population]
    population = sum(ra.area.population or 0 for ra in counted)
    counted_ballots = sum(ballots[ra.pk] for ra in counted)
    round_rate = Decimal(counted_ballots) / population if population else None
    shown = suppressed_counts({str(ra.pk): ballots[ra.pk] for ra in round_areas})
    areas = []
    for ra in round_areas:
        area_ballots = shown[str(ra.pk)]
        # Imported ballots exist only in imported rounds: elsewhere their zero is not a
        # count to hide (it would hide a real one with it).
        kinds = [*CHANNELS, BallotChannel.IMPORTED] if budget_round.is_imported else CHANNELS
        channels = suppressed_counts({c: by_channel[ra.pk].get(c, 0) for c in kinds})
        if area_ballots is None:
            channels = dict.fromkeys(kinds)
        pop = ra.area.population or None
        rate = Decimal(ballots[ra.pk]) / pop if pop else None
        areas.append(
            AreaParticipation(
                round_area=ra,
                population=pop,
                ballots=area_ballots,
                channels=channels,
                proposals=suppressed_count(proposals.get(ra.pk, 0)),
                turnout=_percent(ballots[ra.pk], pop) if pop and area_ballots is not None else None,
                under_represented=rate is not None
                and round_rate is not None
                and rate < round_rate * UNDER_REPRESENTED_SHARE,
                outreach=tuple(outreach.get(ra.area_id, ())),
            )
        )
    shown_total = suppressed_count(total)
    # The round's turnout counts only areas with a population: were an area without one
    # hidden, the total minus that figure would reveal it.
    uncounted_hidden = any(
        shown[str(ra.pk)] is None for ra in round_areas if not ra.area.population
    )
    return RoundParticipation(
        areas=areas,
        ballots=shown_total,
        population=population,
        turnout=_percent(counted_ballots, population)
        if population
        and shown_total is not None
        and suppressed_count(counted_ballots) is not None
        and not uncounted_hidden
        else None,
        flagged=sum(a.under_represented for a in areas),
        days=_days(budget_round, by_day, today=today),
    )


def _days(budget_round: BudgetRound, by_day: dict[date, int], *, today: date) -> list[DayBallots]:
    # An imported round's ballots carry the day they were imported, not cast.
    if budget_round.is_imported:
        return []
    days = voting_days(budget_round, today=today)
    counts = [by_day.get(day, 0) for day in days]
    outside = sum(by_day.values()) - sum(counts)
    return [
        DayBallots(day=day, ballots=count, running_total=total)
        for day, (count, total) in zip(days, daily_published(counts, outside=outside), strict=True)
    ]


@dataclass(frozen=True)
class EqualityFigures:
    """One equality question's published counts: each answer's (None where hidden) and
    how many answered it (None when under five, and then no answer is shown)."""

    question: str
    label: str
    answered: int | None
    answers: list[tuple[str, int | None]]


def round_equality(*, budget_round: BudgetRound) -> list[EqualityFigures]:
    """The counts of the optional equality questions, through the disclosure helper
    (one query). Each question's answers are one group whose total is shown."""
    stored = {
        (question, answer): count
        for question, answer, count in EqualityTally.objects.filter(
            budget_round=budget_round
        ).values_list("question", "answer", "count")
    }
    figures = []
    for question, label in EqualityQuestion.choices:
        counts = {
            answer: stored.get((question, answer), 0) for answer, _l in EQUALITY_ANSWERS[question]
        }
        answered = suppressed_count(sum(counts.values()))
        shown = suppressed_counts(counts) if answered is not None else dict.fromkeys(counts)
        figures.append(
            EqualityFigures(
                question=question,
                label=str(label),
                answered=answered,
                answers=[(str(text), shown[answer]) for answer, text in EQUALITY_ANSWERS[question]],
            )
        )
    return figures
