"""Demo data a council could show, across the apps: areas, rounds in every phase with
proposals, ballots and published results, and one account per role. Safe to run again:
what exists is left as it is."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from ledgers.demo import LedgerDemo
from pb_platform.outbox import outbox_cancel_created_after, outbox_last_id, sends_held
from proposals.demo import ACCOUNTS, DEMO_TRY_REFERENCE, ProposalsDemo
from voting.demo import VotingDemo


class Command(BaseCommand):
    help = (
        "Create demo areas, rounds, ballots, results and one account per role (safe to run twice)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--allow-without-debug",
            action="store_true",
            help="Seed even though DEBUG is off. The demo accounts have published passwords.",
        )

    def handle(self, *args: Any, allow_without_debug: bool = False, **options: Any) -> None:
        if not settings.DEBUG and not allow_without_debug:
            raise CommandError(
                "seed_demo creates accounts with published passwords, so it only runs with "
                "DEBUG=true (or --allow-without-debug on a throwaway site)."
            )
        # Each app seeds its own part, in the order the apps depend on each other.
        # sends_held: the emails the demo queues are cancelled below, so no send is started.
        with transaction.atomic(), sends_held():
            last_email = outbox_last_id()
            ProposalsDemo().seed()
            VotingDemo().seed()
            LedgerDemo().seed()
            # The demo's history is not news: no emails for the decisions and votes it
            # made up. Emails queued before this run (real ones) are left alone.
            outbox_cancel_created_after(item_id=last_email, reason="demo data", now=timezone.now())
        for role, email, password, _area, _name in ACCOUNTS:
            self.stdout.write(f"{role}: {email} / {password}")
        reference, born = DEMO_TRY_REFERENCE
        self.stdout.write(
            "To try eligibility verification: sign up as a new resident of Northfield, then "
            f"on /accounts/verify/ enter reference {reference} and date of birth "
            f"{born.isoformat()} (a fictional entry of the demo register)."
        )
