"""SQL queries and time of the co-production pages (issue 14) with little and much data.

    .venv/bin/python bench/coproduction_pages.py                  # sizes 2 and 20
    .venv/bin/python bench/coproduction_pages.py --sizes 2,20,200

For each size N it builds, in a throwaway SQLite database in a temporary folder (or with
``--database-url`` a server database, which it empties first), a round whose priorities
stage has ended with N answers per area and a published statement, and a round in review
holding one proposal with N versions, N supporters, co-authors, N co-design offers (one
open), N comments, N suggested changes (half declined), N merges proposed with it (one
open) and 2N other proposals in its area. It then fetches each page as the
person who uses it (with Django's test client, logged in) and prints one line per page:
the number of SQL queries and the milliseconds at each size, side by side. The queries
must not grow with N (the tests check it at two sizes; this shows the figures).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PRIORITIES_RESULTS = "proposals:priorities_results"
OFFICER_PRIORITIES = "proposals:officer_priorities"
PAPER_ANSWERS = "proposals:officer_priorities_paper"
VERSION = "proposals:proposal_version"
AMENDMENT = "proposals:amendment_detail"


def _django(database_url: str) -> None:
    sys.path.insert(0, str(PROJECT_ROOT))
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DEBUG", "true")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pb_platform.settings")
    import django

    django.setup()
    from django.core.management import call_command

    if not database_url.startswith("sqlite"):
        call_command("flush", interactive=False, verbosity=0)
    call_command("migrate", verbosity=0)


@dataclass
class Page:
    name: str
    who: str  # "anonymous", "author", "resident", "officer"
    url: str


def _build(size: int, tag: str) -> tuple[dict[str, Any], list[Page]]:
    """The data of one size, and the pages to fetch on it."""
    from django.urls import reverse
    from django.utils import timezone

    from pb_platform.roles import OFFICER, RESIDENT, role_grant
    from proposals.models import (
        AmendmentStatus,
        CoDesignOffer,
        CoDesignStatus,
        MergeStatus,
        PriorityChannel,
        PriorityPoints,
        PriorityResponse,
        PriorityStatement,
        ProposalAmendment,
        ProposalCoauthor,
        ProposalMerge,
        ProposalSupport,
        ProposalVersion,
        VersionKind,
    )
    from proposals.models.versions import CoauthorStatus
    from proposals.phases import Phase
    from tests.factories import (
        AreaFactory,
        BudgetRoundFactory,
        CategoryFactory,
        CommentFactory,
        ProposalFactory,
        ResidentProfileFactory,
        RoundAreaFactory,
        UserFactory,
    )

    now = timezone.now()
    area = AreaFactory(name=f"Area {tag}", slug=f"area-{tag}")

    def resident() -> Any:
        profile = ResidentProfileFactory(area=area)
        role_grant(user=profile.user, role=RESIDENT)
        return profile.user

    officer = UserFactory()
    role_grant(user=officer, role=OFFICER)
    author = resident()
    people = [resident() for _ in range(size)]

    # Priorities: the stage has ended (submission is open), answers are public.
    priorities_round = BudgetRoundFactory(
        phase=Phase.SUBMISSION, with_priorities=True, slug=f"priorities-{tag}"
    )
    themes = [CategoryFactory(budget_round=priorities_round, name=f"Theme {i}") for i in range(4)]
    priorities_area = RoundAreaFactory(budget_round=priorities_round, area=area)
    for i in range(max(size, 5)):
        response = PriorityResponse.objects.create(
            round_area=priorities_area,
            channel=PriorityChannel.PAPER,
            entered_by=officer,
            need=f"Need {i}",
        )
        PriorityPoints.objects.bulk_create(
            PriorityPoints(response=response, category=theme, points=25) for theme in themes
        )
    PriorityStatement.objects.create(
        round_area=priorities_area, text="What we will do.", published_by=officer
    )

    # A proposal under review with a long history.
    review_round = BudgetRoundFactory(phase=Phase.REVIEW, slug=f"review-{tag}")
    round_area = RoundAreaFactory(budget_round=review_round, area=area, budget=Decimal("1e6"))
    proposal = ProposalFactory(
        budget_round=review_round, round_area=round_area, author=author, status="submitted"
    )
    for other in range(size):
        ProposalFactory(budget_round=review_round, round_area=round_area, title=f"Other {other}")
    ProposalVersion.objects.bulk_create(
        ProposalVersion(
            proposal=proposal,
            number=number,
            made_by=author,
            kind=VersionKind.CREATED if number == 1 else VersionKind.EDIT,
            title=proposal.title,
            description=f"{proposal.description} ({number})",
            estimated_cost=proposal.estimated_cost,
            round_area=round_area,
            at=now - timedelta(minutes=size - number),
        )
        for number in range(1, size + 1)
    )
    ProposalSupport.objects.bulk_create(ProposalSupport(proposal=proposal, user=u) for u in people)
    for coauthor in people[:3]:
        ProposalCoauthor.objects.create(
            proposal=proposal,
            email=coauthor.email.lower(),
            status=CoauthorStatus.ACCEPTED,
            user=coauthor,
            invited_by=author,
            answered_at=now,
        )
    for i in range(size):
        is_open = i == size - 1
        CoDesignOffer.objects.create(
            proposal=proposal,
            officer=officer,
            cost=Decimal(100 + i),
            reason=f"Offer {i}",
            status=CoDesignStatus.PROPOSED if is_open else CoDesignStatus.DECLINED,
            closed_at=None if is_open else now,
        )
        CommentFactory(proposal=proposal, author=people[i])
        ProposalAmendment.objects.create(
            proposal=proposal,
            author=people[i],
            base_version=size,
            description=f"{proposal.description} Amended {i}.",
            reason=f"Reason {i}",
            status=AmendmentStatus.PROPOSED if i % 2 else AmendmentStatus.DECLINED,
            reply="" if i % 2 else "No, thank you.",
            answered_by=None if i % 2 else author,
            closed_at=None if i % 2 else now,
        )
        other = ProposalFactory(budget_round=review_round, round_area=round_area, author=people[i])
        ProposalMerge.objects.create(
            officer=officer,
            into=proposal,
            absorbed=other,
            title=f"Merged {i}",
            description="Both.",
            estimated_cost=Decimal(500),
            reason="Similar.",
            status=MergeStatus.PROPOSED if is_open else MergeStatus.DECLINED,
            declined_by=None if is_open else people[i],
            reply="" if is_open else "No.",
            closed_at=None if is_open else now,
        )
    open_amendment = ProposalAmendment.objects.filter(
        proposal=proposal, status=AmendmentStatus.PROPOSED
    ).first()

    people_by_role = {"author": author, "resident": people[-1], "officer": officer}
    stage = [priorities_round.slug, area.slug]
    pk = [proposal.pk]
    amendment_pk = open_amendment.pk if open_amendment is not None else 0
    by_support = reverse("proposals:round_proposals", args=[review_round.slug]) + "?sort=support"
    pages = [
        Page("priorities: round page", "resident", reverse("proposals:priorities", args=stage[:1])),
        Page("priorities: area results", "anonymous", reverse(PRIORITIES_RESULTS, args=stage)),
        Page("priorities: area CSV", "anonymous", reverse("proposals:priorities_csv", args=stage)),
        Page("priorities: officers' page", "officer", reverse(OFFICER_PRIORITIES, args=stage[:1])),
        Page("priorities: paper answers", "officer", reverse(PAPER_ANSWERS, args=stage)),
        Page("proposal page (public)", "anonymous", proposal.get_absolute_url()),
        Page("proposal page (author)", "author", proposal.get_absolute_url()),
        Page("proposal page (officer)", "officer", proposal.get_absolute_url()),
        Page("latest version and its diff", "anonymous", reverse(VERSION, args=[*pk, size])),
        Page("co-authors page", "author", reverse("proposals:proposal_coauthors", args=pk)),
        Page("officer's review page", "officer", reverse("proposals:proposal_review", args=pk)),
        Page("area's proposals by support", "anonymous", by_support),
        Page("suggest a change (form)", "resident", reverse("proposals:amendment_new", args=pk)),
        Page("a suggested change (author)", "author", reverse(AMENDMENT, args=[amendment_pk])),
    ]
    return people_by_role, pages


def _measure(people: dict[str, Any], pages: list[Page]) -> dict[str, tuple[int, float]]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    clients: dict[str, Client] = {"anonymous": Client()}
    for role, user in people.items():
        clients[role] = Client()
        clients[role].force_login(user)
    figures = {}
    for page in pages:
        client = clients[page.who]
        client.get(page.url)  # warm the caches (templates, sessions)
        started = time.perf_counter()
        with CaptureQueriesContext(connection) as queries:
            response = client.get(page.url)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise SystemExit(f"{page.name}: HTTP {response.status_code} at {page.url}")
        figures[page.name] = (len(queries), elapsed)
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2,20", help="comma-separated sizes (default 2,20)")
    parser.add_argument("--database-url", help="a server database to use (it is emptied)")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as folder:
        _django(args.database_url or f"sqlite:///{folder}/bench.sqlite3")
        from django.test.utils import setup_test_environment

        setup_test_environment()  # the test client's templates and response context
        _measure_sizes(sizes, _build)


def _measure_sizes(
    sizes: list[int], build: Callable[[int, str], tuple[dict[str, Any], list[Page]]]
) -> None:
    """Build the data at each size (``build(size, tag)``), measure its pages, print."""
    results: list[dict[str, tuple[int, float]]] = []
    names: list[str] = []
    for size in sizes:
        people, pages = build(size, str(size))
        names = [page.name for page in pages]
        results.append(_measure(people, pages))
    _print(sizes, names, results)


def _print(sizes: list[int], names: list[str], results: list[dict[str, tuple[int, float]]]) -> None:
    width = max(len(name) for name in names)
    queries = "  ".join(f"{'q@' + str(s):>6}" for s in sizes)
    millis = "  ".join(f"{'ms@' + str(s):>8}" for s in sizes)
    print(f"{'page':<{width}}  {queries}  {millis}  constant")
    grew: list[str] = []
    for name in names:
        counts = [result[name][0] for result in results]
        times = [result[name][1] for result in results]
        constant = len(set(counts)) == 1
        if not constant:
            grew.append(name)
        print(
            f"{name:<{width}}  "
            + "  ".join(f"{c:>6}" for c in counts)
            + "  "
            + "  ".join(f"{t:>8.1f}" for t in times)
            + f"  {'yes' if constant else 'NO'}"
        )
    if grew:
        print(f"\nQueries grow with the data on: {', '.join(grew)}")


if __name__ == "__main__":
    main()
