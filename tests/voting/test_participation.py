"""Who took part: ballots against population per area and channel, proposals, the
under-represented areas flagged, and small counts hidden so that none can be worked out
from a total; ballots per day of the vote, with running totals that give no hidden day
away."""

from __future__ import annotations

import itertools
import random
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from fractions import Fraction

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from pb_platform.disclosure import suppressed_counts
from proposals.phases import Phase, Timeline
from tests.factories import (
    AreaFactory,
    BudgetRoundFactory,
    ProposalFactory,
    ResidentProfileFactory,
    RoundAreaFactory,
    UserFactory,
)
from voting.models import Ballot, BallotChannel
from voting.participation import daily_published, round_participation, voting_days
from voting.services.ballots import receipt_code_new


def ballots(round_area, *, online=0, paper=0):
    officer = UserFactory()
    for channel, n in ((BallotChannel.ONLINE, online), (BallotChannel.PAPER, paper)):
        for _ in range(n):
            Ballot.objects.create(
                round_area=round_area,
                voter=ResidentProfileFactory(area=round_area.area).user,
                channel=channel,
                receipt_code=receipt_code_new(),
                recorded_by=officer if channel == BallotChannel.PAPER else None,
            )


def town(db, phase=Phase.VOTING):
    """Hill (1,000 people) votes well; Vale (2,000) barely; Dale has no population and
    only 2 ballots (hidden, with the next-smallest area hidden too)."""
    budget_round = BudgetRoundFactory(phase=phase, slug=f"town-{phase}")
    areas = {}
    for name, population in (("Hill", 1000), ("Vale", 2000), ("Dale", None)):
        area = AreaFactory(name=name, slug=name.lower(), population=population)
        areas[name] = RoundAreaFactory(budget_round=budget_round, area=area, budget=Decimal(9))
    ballots(areas["Hill"], online=40, paper=10)
    ballots(areas["Vale"], online=6, paper=1)
    ballots(areas["Dale"], online=2)
    for _ in range(6):
        ProposalFactory(budget_round=budget_round, round_area=areas["Hill"])
    return budget_round


def test_counts_flags_and_hidden_small_counts(db):
    budget_round = town(db)
    p = round_participation(budget_round=budget_round, today=timezone.localdate())
    rows = {a.round_area.area.name: a for a in p.areas}
    hill, vale, dale = rows["Hill"], rows["Vale"], rows["Dale"]
    assert (hill.ballots, hill.turnout, hill.channels["online"], hill.channels["paper"]) == (
        50,
        Decimal("5.0"),
        40,
        10,
    )
    # Dale's 2 are hidden; Vale's 7, the next smallest, too, so Dale's cannot be worked
    # out from the round's total of 59.
    assert (dale.ballots, vale.ballots, p.ballots) == (None, None, 59)
    assert vale.turnout is None and dale.population is None
    # Vale's paper ballot (1) is hidden with the smallest other channel, inside its row.
    assert set(vale.channels.values()) == {None}
    # Vale: 7 per 2,000 against the round's 57 per 3,000: under half, so flagged, even
    # though its count is hidden. Dale has no population: never flagged.
    assert (hill.under_represented, vale.under_represented, dale.under_represented) == (
        False,
        True,
        False,
    )
    assert p.flagged == 1
    assert p.turnout is None  # Dale, without a population, is hidden: no round turnout
    assert (hill.proposals, vale.proposals) == (6, None)


def test_the_page_is_public_from_the_vote_and_makes_constant_queries(db, client):
    before = town(db, phase=Phase.REVIEW)
    page = client.get(reverse("voting:round_participation", args=[before.slug]))
    assert page.status_code == 200 and "from the opening of the vote" in page.text
    counts = []
    for size in (2, 20):
        open_round = BudgetRoundFactory(phase=Phase.VOTING, slug=f"open-{size}")
        round_areas = [
            RoundAreaFactory(
                budget_round=open_round, area=AreaFactory(population=100 + n), budget=Decimal(9)
            )
            for n in range(size)
        ]
        for round_area in round_areas:
            ballots(round_area, online=6)
        url = reverse("voting:round_participation", args=[open_round.slug])
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        counts.append(len(queries))
        assert response.status_code == 200
    assert counts[0] == counts[1]
    # 20 areas of 6 ballots each: every area shown, the round's total too.
    text = response.text
    assert "Who took part" in text and "<dd>120</dd>" in text


def test_the_round_page_links_to_it_once_voting_opened(db, client):
    budget_round = town(db)
    text = client.get(budget_round.get_absolute_url()).text
    assert reverse("voting:round_participation", args=[budget_round.slug]) in text
    shown = client.get(reverse("voting:round_participation", args=[budget_round.slug])).text
    assert "Under-represented" in shown and "unknown" in shown


# --- Ballots per day ------------------------------------------------------------------


def _rank(rows: list[list[Fraction]]) -> int:
    """Rank of a matrix by Gaussian elimination over exact fractions."""
    rows = [row[:] for row in rows]
    rank = 0
    columns = len(rows[0]) if rows else 0
    for column in range(columns):
        pivot = next((r for r in range(rank, len(rows)) if rows[r][column] != 0), None)
        if pivot is None:
            continue
        rows[rank], rows[pivot] = rows[pivot], rows[rank]
        for r in range(len(rows)):
            if r != rank and rows[r][column] != 0:
                factor = rows[r][column] / rows[rank][column]
                rows[r] = [a - factor * b for a, b in zip(rows[r], rows[rank], strict=True)]
        rank += 1
    return rank


def _outside_hidden(counts: list[int], outside: int) -> bool:
    """Whether the count outside the days is among the hidden cells (when it is not, the
    attacker is taken to know it: it could be published)."""
    if not outside:
        return False
    cells = {str(i): count for i, count in enumerate(counts)} | {"outside": outside}
    return suppressed_counts(cells)["outside"] is None


def recoverable_days(counts: list[int], outside: int = 0) -> list[int]:
    """The hidden days an attacker can work out exactly from what is published: each
    shown running total and the round's total are linear equations in the hidden days
    (and, when there is one, the unpublished count outside the days); a hidden day is
    recovered when its unit vector lies in the span of those equations."""
    published = daily_published(counts, outside=outside)
    hidden = [i for i, (count, _total) in enumerate(published) if count is None]
    unknowns = hidden + (["outside"] if _outside_hidden(counts, outside) else [])
    if not hidden:
        return []
    # Coefficients only: the right-hand sides (known figures) do not change what is
    # determined.
    equations = [[Fraction(1)] * len(unknowns)]  # the round's total
    for k, (_count, total) in enumerate(published):
        if total is not None:
            equations.append([Fraction(1 if u != "outside" and u <= k else 0) for u in unknowns])
    base = _rank(equations)
    recovered = []
    for position, day in enumerate(hidden):
        unit = [Fraction(1 if i == position else 0) for i in range(len(unknowns))]
        if _rank([*equations, unit]) == base:
            recovered.append(day)
    return recovered


def check_published(counts: list[int], outside: int = 0) -> list[tuple[int | None, int | None]]:
    published = daily_published(counts, outside=outside)
    running = list(itertools.accumulate(counts))
    for index, (count, total) in enumerate(published):
        # What is shown is true; a day under 5 never is; a running total never on a
        # hidden day.
        assert count in (None, counts[index])
        assert total in (None, running[index])
        if counts[index] < 5:
            assert count is None
        if count is None:
            assert total is None
    if sum(counts) + outside < 5:
        # The round's total is hidden too (so is every day): no equation to solve.
        assert all(published_day == (None, None) for published_day in published)
        return published
    hidden = [count for count, _total in published if count is None]
    hidden += [outside] if _outside_hidden(counts, outside) else []
    assert len(hidden) != 1, f"{counts}: one hidden day is the total minus the others"
    assert recoverable_days(counts, outside) == [], f"{counts} -> {published}"
    return published


def test_days_under_five_are_hidden_with_one_more_when_alone():
    # Day 2 alone is small: the smallest shown day (6, day 4) is hidden with it, so the
    # round's total (41) minus the shown days gives only 2 + 6, not the 2.
    published = check_published([9, 12, 2, 12, 6])
    assert [count for count, _total in published] == [9, 12, None, 12, None]
    # Nothing small: every day and running total shown.
    assert check_published([5, 8, 13]) == [(5, 5), (8, 13), (13, 26)]


def test_running_totals_are_left_out_where_they_would_reveal_a_hidden_day():
    # Days 1 (2) and 4 (3) are hidden. Day 0's running total (7) is shown; on day 2 it
    # would be 18 and 18 - 7 - 9 = 2, day 1's count: left out, and on day 3 too; after
    # the second hidden day, day 5's (35) gives only their sum: 35 - 7 - 9 - 6 - 8 = 5.
    published = check_published([7, 2, 9, 6, 3, 8])
    assert published == [(7, 7), (None, None), (9, None), (6, None), (None, None), (8, 35)]


def test_the_last_running_totals_are_taken_back_when_the_total_would_reveal_a_day():
    # Day 5 (1) is the only hidden day after day 4: with day 4's running total (28)
    # shown, the round's total (29) minus 28 would give it. Taking 28 back leaves day 3's
    # (22) alone with day 5 after it; taking that back too, only day 0's (9) stays, and
    # 29 - 9 - 8 - 6 = 6 is the sum of days 1, 2 and 5.
    published = check_published([9, 2, 3, 8, 6, 1])
    assert [total for _count, total in published] == [9, None, None, None, None, None]


def test_no_hidden_day_can_be_recovered_whatever_the_days():
    """Every sequence of up to 6 days over counts that are small, borderline or large,
    and 300 random ones of up to 30 days: an attacker solving the published running
    totals and the round's total recovers no hidden day."""
    for length in range(1, 7):
        for counts in itertools.product([0, 1, 4, 5, 6, 20], repeat=length):
            check_published(list(counts))
    rng = random.Random(20261204)  # noqa: S311  (test data, not a secret)
    for _ in range(300):
        counts = [rng.choice([0, 1, 2, 3, 4, 5, 6, 9, 30]) for _day in range(rng.randint(1, 30))]
        check_published(counts, outside=rng.choice([0, 0, 0, 2, 7]))


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


def ballots_on(round_area, when: datetime, n: int) -> None:
    for _ in range(n):
        Ballot.objects.create(
            round_area=round_area,
            voter=ResidentProfileFactory(area=round_area.area).user,
            channel=BallotChannel.ONLINE,
            receipt_code=receipt_code_new(),
            cast_at=when,
            changed_at=when,
        )


def summer_round(db):
    """Voting from 1 July 2026, 10:00, to 8 July, midnight (London, summer time): the
    last day of voting is 7 July."""
    first = date(2026, 7, 1)
    timeline = Timeline(
        _at(first - timedelta(days=20), 9),
        _at(first - timedelta(days=10), 9),
        _at(first, 10),
        _at(date(2026, 7, 8), 0),
        _at(date(2026, 7, 9), 9),
        _at(date(2027, 7, 9), 9),
    )
    budget_round = BudgetRoundFactory(timeline=timeline, slug="summer", name="Summer")
    hill = RoundAreaFactory(budget_round=budget_round, area=AreaFactory(name="Hill"))
    vale = RoundAreaFactory(budget_round=budget_round, area=AreaFactory(name="Vale"))
    return budget_round, hill, vale


def test_ballots_per_day_in_the_sites_time_zone_with_one_query(db, django_assert_num_queries):
    budget_round, hill, vale = summer_round(db)
    ballots_on(hill, _at(date(2026, 7, 1), 10, 30), 4)
    ballots_on(vale, _at(date(2026, 7, 1), 18), 3)  # 7 on the first day, two areas
    # 00:30 in London is 23:30 UTC the day before: counted on 3 July, where it was cast.
    ballots_on(hill, _at(date(2026, 7, 3), 0, 30), 6)
    ballots_on(vale, _at(date(2026, 7, 4), 12), 2)  # hidden
    ballots_on(hill, _at(date(2026, 7, 5), 12), 8)
    with django_assert_num_queries(4):  # areas, ballots, proposals, outreach
        p = round_participation(budget_round=budget_round, today=date(2026, 7, 5))
    assert [d.day for d in p.days] == [date(2026, 7, n) for n in range(1, 6)]
    # 2 July (0) and 4 July (2) are hidden; nothing else needs to be. The running total
    # of 3 July (13) would give 2 July away (13 - 7 = 6 is 3 July's own count, so 2 July
    # held 0): left out until the second hidden day has passed.
    assert [(d.ballots, d.running_total) for d in p.days] == [
        (7, 7),
        (None, None),
        (6, None),
        (None, None),
        (8, 23),
    ]
    assert p.ballots == 23
    # Voting closes at midnight: its last day is 7 July, however late "today" is.
    assert voting_days(budget_round, today=date(2026, 12, 1))[-1] == date(2026, 7, 7)
    # Before voting opened: no days.
    assert voting_days(budget_round, today=date(2026, 6, 30)) == []


def test_the_page_shows_the_days_and_hides_small_ones(db, client):
    budget_round = BudgetRoundFactory(phase=Phase.VOTING, slug="open-days")
    round_area = RoundAreaFactory(budget_round=budget_round, area=AreaFactory(name="Hill"))
    today = timezone.localdate()
    first = timezone.localdate(budget_round.voting_starts)
    ballots_on(round_area, timezone.now(), 6)
    text = client.get(reverse("voting:round_participation", args=[budget_round.slug])).text
    assert "Ballots per day of the vote" in text and 'aria-labelledby="daily-chart-caption"' in text
    if first < today:
        # Voting opened yesterday: 0 yesterday (hidden) and 6 today, hidden with it.
        assert text.count('<span class="hint">hidden</span>') >= 2
    else:
        assert '<td class="num" data-label="Running total">6</td>' in text
