"""SQL queries and time of each operation of the public API (/api/v1/) with little and much data.

    .venv/bin/python bench/api_queries.py                  # sizes 10 and 1000
    .venv/bin/python bench/api_queries.py --sizes 10,100,1000

For each size N it builds, in a throwaway SQLite database (or with ``--database-url`` a
server database, which it empties first), a published round as tests/ledgers/conftest.py's
``published_round`` does, but scaled: two areas holding N proposals between them (with
categories), N ballots cast by N residents, each area counted and published by the
greedy rule (about one proposal in ten funded) and allocated, N commitments and payments
spread over the funded proposals, and a progress note on one of them. It then asks each
operation of the API (with Django's test client, anonymous) and prints one line per
operation: the SQL queries and milliseconds at each size, side by side
(``coproduction_pages`` does the measuring). The queries must not grow with N; a paged
list makes the same queries whatever its page. It says so (on stderr) when a page holds
fewer proposals than ``page_size`` asked for.

The rate limit is raised (``API_RATE_LIMIT``) and the cache is an in-memory one, emptied
before every request: the figures are the operation's own queries, without the throttle's
and the Last-Modified memory's (a database cache, the default without Redis, adds a few
of its own to every request).
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
from decimal import Decimal
from typing import Any

from coproduction_pages import Page, _django, _measure_sizes

API = "/api/v1/"
COST = Decimal(500)  # each proposal's cost; an area's budget funds about one in ten
PAGE_SIZE = 200  # the largest page_size the API accepts


def _build(size: int, tag: str) -> tuple[dict[str, Any], list[Page]]:
    from django.test import Client
    from django.utils import timezone

    from ledgers.models import DeliveryStatus
    from ledgers.selectors import funded_proposals
    from ledgers.services import (
        allocations_for_published_results,
        commitment_record,
        delivery_update_record,
        spend_record,
    )
    from pb_platform.roles import OFFICER, role_grant
    from proposals.models import CountingRule, ProposalStatus
    from proposals.phases import Phase
    from tests.factories import (
        AreaFactory,
        BudgetRoundFactory,
        CategoryFactory,
        ProposalFactory,
        ResidentProfileFactory,
        RoundAreaFactory,
        UserFactory,
    )
    from voting.models import Ballot, BallotChannel, BallotChoice
    from voting.services.ballots import receipt_code_new
    from voting.services.results import area_close_count_publish

    now, today = timezone.now(), timezone.localdate()
    officer = UserFactory()
    role_grant(user=officer, role=OFFICER)
    budget_round = BudgetRoundFactory(
        phase=Phase.RESULTS, counting_rule=CountingRule.GREEDY, name=f"Parks {tag}"
    )
    themes = [CategoryFactory(budget_round=budget_round, name=f"Theme {i}") for i in range(3)]
    # Both areas before any ballot (on PostgreSQL a round with votes takes no new area).
    round_areas = [
        RoundAreaFactory(
            budget_round=budget_round,
            area=AreaFactory(name=f"{side} {tag}", slug=f"{side.lower()}-{tag}"),
            budget=COST * min(max(1, size // 20), 100),  # within the round's total
        )
        for side in ("North", "South")
    ]
    voters = [ResidentProfileFactory(area=round_areas[n % 2].area).user for n in range(size)]
    proposals: list[list[Any]] = [[], []]
    for n in range(size):
        proposals[n % 2].append(
            ProposalFactory(
                budget_round=budget_round,
                round_area=round_areas[n % 2],
                author=voters[n],
                category=themes[n % len(themes)],
                title=f"Idea {n}",
                estimated_cost=COST,
                status=ProposalStatus.FEASIBLE,
            )
        )
    choices = []
    for n, voter in enumerate(voters):
        mine = proposals[n % 2]
        ballot = Ballot.objects.create(
            round_area=round_areas[n % 2],
            voter=voter,
            channel=BallotChannel.ONLINE,
            receipt_code=receipt_code_new(),
        )
        # Earlier proposals get more votes: a clear order for the greedy rule.
        picked = {mine[0], mine[(n // 2) % len(mine)], mine[(n // 4) % len(mine)]}
        choices.extend(BallotChoice(ballot=ballot, proposal=p) for p in picked)
    BallotChoice.objects.bulk_create(choices)
    for round_area in round_areas:
        area_close_count_publish(round_area_id=round_area.pk, now=now)
    allocations_for_published_results(now=now)

    funded = list(funded_proposals(budget_round=budget_round))
    for n in range(size):
        record = commitment_record if n % 2 == 0 else spend_record
        record(
            officer=officer,
            proposal=funded[n % len(funded)],
            amount="10.00",
            supplier="Green Co",
            reference=f"DOC-{n}",
            document_date=today,
            description=f"Work {n}",
            now=now,
        )
    delivery_update_record(
        officer=officer,
        proposal=funded[0],
        status=DeliveryStatus.IN_PROGRESS,
        note="Started.",
        happened_on=today,
        today=today,
        now=now,
    )

    slug = f"{API}rounds/{budget_round.slug}/"
    # The last page as the API pages: it may give fewer than the size asked for.
    first = Client().get(f"{slug}proposals/?page_size={PAGE_SIZE}").json()
    per_page = len(first["items"])
    if per_page < min(PAGE_SIZE, first["count"]):
        print(f"note: page_size={PAGE_SIZE} gave pages of {per_page}", file=sys.stderr)
    last_page = max(1, math.ceil(first["count"] / per_page))
    south = round_areas[1].area.slug
    pages = [
        Page("index", "anonymous", API),
        Page("OpenAPI document", "anonymous", f"{API}openapi.json"),
        Page("rounds", "anonymous", f"{API}rounds/"),
        Page("round", "anonymous", slug),
        Page("proposals, page 1 (default size)", "anonymous", f"{slug}proposals/"),
        Page(
            f"proposals, page 1 (page_size={PAGE_SIZE})",
            "anonymous",
            f"{slug}proposals/?page_size={PAGE_SIZE}",
        ),
        Page(
            f"proposals, last page (page_size={PAGE_SIZE})",
            "anonymous",
            f"{slug}proposals/?page_size={PAGE_SIZE}&page={last_page}",
        ),
        Page(
            "proposals of an area by support",
            "anonymous",
            f"{slug}proposals/?area={south}&sort=support&page_size={PAGE_SIZE}",
        ),
        Page(
            "proposals searched, by cost",
            "anonymous",
            f"{slug}proposals/?search=idea&sort=cost_desc&page_size={PAGE_SIZE}",
        ),
        Page("proposal", "anonymous", f"{API}proposals/{funded[0].pk}/"),
        Page("results", "anonymous", f"{slug}results/"),
        Page("money", "anonymous", f"{slug}money/"),
        Page("participation", "anonymous", f"{slug}participation/"),
    ]
    return {}, pages


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--sizes", default="10,1000", help="comma-separated sizes (default 10,1000)"
    )
    parser.add_argument("--database-url", help="a server database to use (it is emptied)")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    if min(sizes) < 2:
        parser.error("each size must be at least 2 (a proposal in each area)")
    with tempfile.TemporaryDirectory() as folder:
        _django(args.database_url or f"sqlite:///{folder}/bench.sqlite3")
        from django.core.cache import cache
        from django.core.signals import request_started
        from django.test.utils import override_settings, setup_test_environment

        setup_test_environment()

        def cache_clear(**kwargs: Any) -> None:
            cache.clear()  # no throttling history, no remembered ETag

        request_started.connect(cache_clear)
        memory = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
        fast_passwords = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # N residents
        with override_settings(
            API_RATE_LIMIT="10000/min", CACHES=memory, PASSWORD_HASHERS=fast_passwords
        ):
            _measure_sizes(sizes, _build)


if __name__ == "__main__":
    main()
