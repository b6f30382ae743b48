"""SQL queries and time of the pages after the vote (issue 15) with little and much data.

    .venv/bin/python bench/delivery_pages.py                  # sizes 2 and 20
    .venv/bin/python bench/delivery_pages.py --sizes 2,20,200

For each size N it builds, in a throwaway SQLite database (or with ``--database-url`` a
server database, which it empties first), a published round whose funded proposal was
delivered, with N milestones, N residents' assessments with replies, N invitations to
service users and N outreach actions, and prints one line per page: the SQL queries and
milliseconds at each size, side by side (``coproduction_pages`` does the measuring).
The queries must not grow with N.
"""

from __future__ import annotations

import argparse
import tempfile
from datetime import timedelta
from typing import Any

from coproduction_pages import Page, _django, _measure_sizes


def _build(size: int, tag: str) -> tuple[dict[str, Any], list[Page]]:
    from django.urls import reverse
    from django.utils import timezone

    from ledgers.assessments import assessment_invite, assessment_reply, assessment_submit
    from ledgers.models import DeliveryStatus
    from ledgers.services import delivery_update_record, milestone_add
    from pb_platform.roles import AUDITOR, OFFICER, RESIDENT, role_grant
    from tests.factories import AreaFactory, ResidentProfileFactory, UserFactory
    from tests.ledgers.conftest import published_round
    from voting.models import OutreachKind
    from voting.services.outreach import outreach_record

    now, today = timezone.now(), timezone.localdate()
    area = AreaFactory(name=f"Area {tag}", slug=f"area-{tag}", population=5000)
    officer, auditor = UserFactory(), UserFactory()
    role_grant(user=officer, role=OFFICER)
    role_grant(user=auditor, role=AUDITOR)
    budget_round, proposals = published_round(area=area, name=f"Parks {tag}")
    trees = proposals["Trees"]
    for n in range(size):
        milestone_add(
            officer=officer, proposal=trees, title=f"Step {n}",
            planned_on=today + timedelta(days=n + 1), today=today, now=now,
        )  # fmt: skip
    delivery_update_record(
        officer=officer, proposal=trees, status=DeliveryStatus.DELIVERED, note="Done.",
        happened_on=today, today=today, now=now,
    )  # fmt: skip
    residents = []
    for n in range(size):
        profile = ResidentProfileFactory(area=area)
        role_grant(user=profile.user, role=RESIDENT)
        residents.append(profile.user)
        assessment = assessment_submit(
            user=profile.user, proposal=trees, scores={1: 1 + n % 5, 2: 4, 3: 3, 4: 5},
            comment=f"Comment {n}", now=now,
        )  # fmt: skip
        assessment_reply(officer=officer, assessment=assessment, reply="Thanks.", now=now)
        assessment_invite(
            officer=officer, proposal=trees, email=f"user{n}@example.org", note="", now=now
        )
        outreach_record(
            officer=officer, budget_round=budget_round, area=area, kind=OutreachKind.EVENT,
            happened_on=today, description=f"Stall {n}", now=now,
        )  # fmt: skip
    slug, pk = [budget_round.slug], [trees.pk]
    people = {"resident": residents[-1], "officer": officer, "auditor": auditor}
    pages = [
        Page("proposal page (public)", "anonymous", trees.get_absolute_url()),
        Page("proposal page (resident who assessed)", "resident", trees.get_absolute_url()),
        Page("proposal page (officer)", "officer", trees.get_absolute_url()),
        Page("assessment form (update)", "resident", reverse("ledgers:assessment_edit", args=pk)),
        Page("where the money went", "anonymous", reverse("ledgers:round_money", args=slug)),
        Page("you said, we did", "anonymous", reverse("ledgers:you_said_we_did", args=slug)),
        Page(
            "who took part",
            "anonymous",
            reverse("voting:round_participation", args=slug),
        ),
        Page(
            "officer: assessments of a proposal",
            "officer",
            reverse("ledgers:officer_assessments", args=pk),
        ),
        Page("assessment report", "auditor", reverse("ledgers:round_assessments", args=slug)),
        Page(
            "assessment report (CSV)",
            "auditor",
            reverse("ledgers:round_assessments_csv", args=slug),
        ),
        Page("officer: proposal ledger", "officer", reverse("ledgers:officer_proposal", args=pk)),
    ]
    return people, pages


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="2,20", help="comma-separated sizes (default 2,20)")
    parser.add_argument("--database-url", help="a server database to use (it is emptied)")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as folder:
        _django(args.database_url or f"sqlite:///{folder}/bench.sqlite3")
        from django.test.utils import setup_test_environment

        setup_test_environment()
        _measure_sizes(sizes, _build)


if __name__ == "__main__":
    main()
