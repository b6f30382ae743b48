"""The ledgers part of the demo (``manage.py seed_demo``), run after the voting part.

"Parks 2026" has published results: its winners get their allocations (as the beat job
would), then the council's contracts, payments, a mistaken payment corrected by a
reversal, a release of unused money, one overspend and over-commitment with their
reasons, and progress updates. Safe to run again: a round that already has officers'
entries is left alone.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.utils import timezone

from ledgers import services
from ledgers.assessments import (
    assessment_invite,
    assessment_reply,
    assessment_submit,
    invitation_take_up,
)
from ledgers.models import DeliveryStatus, EntryKind, LedgerEntry
from ledgers.selectors import funded_proposals
from proposals.demo import demo_round
from voting.models import AreaResult


class LedgerDemo:
    def seed(self) -> None:
        now = timezone.now()
        parks = demo_round("Parks 2026")
        published = AreaResult.objects.filter(round_area__budget_round=parks).first()
        # Allocated when the results were published, as the beat job would have.
        services.allocations_for_published_results(now=published.published_at if published else now)
        if parks is None or LedgerEntry.objects.filter(budget_round=parks).exclude(
            kind=EntryKind.ALLOCATION
        ):
            return
        officer = get_user_model().objects.get(email="officer@example.org")
        today = timezone.localdate()
        funded = sorted(funded_proposals(budget_round=parks), key=lambda p: p.allocated)
        if len(funded) < 3:
            return
        small, middle, large = funded[0], funded[len(funded) // 2], funded[-1]

        # The largest: contracted, part paid, a typo corrected, in progress.
        services.commitment_record(
            officer=officer, proposal=large, amount=large.allocated, supplier="Greenway Works Ltd",
            reference="PO-2026-0412", document_date=today - timedelta(days=30),
            description="Design and build", now=now - timedelta(days=30),
        )  # fmt: skip
        half = (large.allocated / 2).quantize(Decimal("0.01"))
        typo = services.spend_record(
            officer=officer, proposal=large, amount=half * 10, supplier="Greenway Works Ltd",
            reference="INV-7781", document_date=today - timedelta(days=10),
            description="First stage payment", reason="Entered by mistake (extra zero)",
            now=now - timedelta(days=10),
        )  # fmt: skip
        services.reversal_record(
            officer=officer, proposal=large, original=typo,
            reason="Typed an extra zero; the invoice is for half the contract.",
            now=now - timedelta(days=10, hours=-1),
        )  # fmt: skip
        services.spend_record(
            officer=officer, proposal=large, amount=half, supplier="Greenway Works Ltd",
            reference="INV-7781", document_date=today - timedelta(days=10),
            description="First stage payment", now=now - timedelta(days=10, hours=-2),
        )  # fmt: skip
        services.delivery_update_record(
            officer=officer, proposal=large, status=DeliveryStatus.IN_PROGRESS,
            note="Work started on site; the first stage is finished.",
            happened_on=today - timedelta(days=9), today=today, now=now,
        )  # fmt: skip

        self._delivery_plan(large, officer=officer, today=today, now=now)

        # The middle one: delivered under budget, the rest released.
        paid = (middle.allocated * Decimal("0.9")).quantize(Decimal("0.01"))
        services.spend_record(
            officer=officer, proposal=middle, amount=paid, supplier="Borough Parks Services",
            reference="INV-3320", document_date=today - timedelta(days=20),
            description="Supply and installation", now=now - timedelta(days=20),
        )  # fmt: skip
        services.release_record(
            officer=officer, proposal=middle, amount=middle.allocated - paid,
            reason="Delivered for less than the estimate.", now=now - timedelta(days=19),
        )  # fmt: skip
        for title, planned, reached in (
            ("Contractor appointed", -45, -44),
            ("Silt and rubbish removed", -25, -22),
            ("Reed beds planted", -20, -19),
        ):
            milestone = services.milestone_add(
                officer=officer, proposal=middle, title=title,
                planned_on=today + timedelta(days=planned), today=today,
                now=now - timedelta(days=50),
            )  # fmt: skip
            services.milestone_update(
                officer=officer, milestone=milestone, progress=100,
                done_on=today + timedelta(days=reached), planned_on=milestone.planned_on,
                reason="", today=today, now=now - timedelta(days=-reached),
            )  # fmt: skip
        services.delivery_update_record(
            officer=officer, proposal=middle, status=DeliveryStatus.DELIVERED,
            note="Finished and open to everyone.", happened_on=today - timedelta(days=19),
            today=today, now=now,
        )  # fmt: skip
        self._assessments(middle, officer=officer, now=now)

        # The smallest: contracted and paid for more than allocated, with the reasons on
        # record (both flagged on the public pages).
        services.commitment_record(
            officer=officer, proposal=small, amount=small.allocated + Decimal("850.00"),
            supplier="Northfield Builders", reference="PO-2026-0530",
            document_date=today - timedelta(days=25), description="Works, with groundworks",
            reason="Contaminated soil found in the survey has to be removed first.",
            now=now - timedelta(days=25),
        )  # fmt: skip
        services.spend_record(
            officer=officer, proposal=small, amount=small.allocated + Decimal("850.00"),
            supplier="Northfield Builders", reference="INV-0093",
            document_date=today - timedelta(days=5), description="Works completed",
            reason="Contaminated soil found on site had to be removed.",
            now=now - timedelta(days=5),
        )  # fmt: skip
        services.delivery_update_record(
            officer=officer, proposal=small, status=DeliveryStatus.DELIVERED,
            note="Finished, after extra groundworks.", happened_on=today - timedelta(days=4),
            today=today, now=now,
        )  # fmt: skip

    @staticmethod
    def _assessments(proposal: Any, *, officer: Any, now: Any) -> None:
        """The delivered pond assessed by four Riverside neighbours and by a member of
        the angling club the officer invited (who lives outside the borough), with the
        council's replies to two of them. The demo resident has not assessed it yet."""
        User = get_user_model()
        area_slug = proposal.round_area.area.slug.replace("-", ".")
        said = [
            (1, {1: 5, 2: 4, 3: 4, 4: 3}, "The water is clear again and the ducks are back."),
            (2, {1: 4, 2: 4, 3: 5, 4: 2}, "Lovely, but the new path round it is too steep "
             "for my mother's wheelchair."),
            (3, {1: 4, 2: 3, 3: 3, 4: 3}, ""),
            (4, {1: 5, 2: 5, 3: 4, 4: 4}, "Our children's favourite place now."),
        ]  # fmt: skip
        replies = {
            2: "Thank you. We have asked the contractor to add a gentler ramp on the east "
            "side by the spring; we will post it as a milestone.",
        }
        for n, scores, comment in said:
            neighbour = User.objects.get(email=f"neighbour{n}.{area_slug}@example.org")
            assessment = assessment_submit(
                user=neighbour, proposal=proposal, scores=scores, comment=comment,
                now=now - timedelta(days=15 - n),
            )  # fmt: skip
            if n in replies:
                assessment_reply(
                    officer=officer, assessment=assessment, reply=replies[n],
                    now=now - timedelta(days=10),
                )  # fmt: skip
        angler = User.objects.filter(email="sol.angler@example.org").first()
        if angler is None:
            angler = User.objects.create_user(username="sol.angler", email="sol.angler@example.org")
            angler.set_unusable_password()
            angler.save(update_fields=["password"])
            EmailAddress.objects.create(
                user=angler, email=angler.email, verified=True, primary=True
            )
        invitation = assessment_invite(
            officer=officer, proposal=proposal, email=angler.email,
            note="Riverside Angling Club (members come from across the county)",
            now=now - timedelta(days=14),
        )  # fmt: skip
        invitation_take_up(user=angler, invitation=invitation, now=now - timedelta(days=13))
        assessment = assessment_submit(
            user=angler, proposal=proposal, scores={1: 4, 2: 3, 3: 4, 4: 2},
            comment="Better for the fish. There is still nowhere to sit that a disabled "
            "angler can reach.", now=now - timedelta(days=12),
        )  # fmt: skip
        assessment_reply(
            officer=officer, assessment=assessment,
            reply="Thank you: an accessible fishing platform is now on next year's list.",
            now=now - timedelta(days=10),
        )  # fmt: skip

    @staticmethod
    def _delivery_plan(proposal: Any, *, officer: Any, today: Any, now: Any) -> None:
        """The largest proposal's milestones: two reached, one moved with its reason,
        and one late (planned for two days ago, not reached)."""
        for title, planned, reached, days_ago in (
            ("Design agreed with residents", -40, -25, 40),
            ("First stage built", -12, -9, 30),
            ("Paths resurfaced", -2, None, 30),
            ("Second stage built", 5, None, 30),
        ):
            milestone = services.milestone_add(
                officer=officer,
                proposal=proposal,
                title=title,
                planned_on=today + timedelta(days=planned),
                today=today,
                now=now - timedelta(days=days_ago),
            )
            if reached is not None:
                services.milestone_update(
                    officer=officer, milestone=milestone, progress=100,
                    done_on=today + timedelta(days=reached), planned_on=milestone.planned_on,
                    reason="", today=today, now=now - timedelta(days=-reached),
                )  # fmt: skip
            elif planned > 0:
                services.milestone_update(
                    officer=officer, milestone=milestone, progress=20, done_on=None,
                    planned_on=milestone.planned_on + timedelta(days=21),
                    reason="Wet weather held up the groundworks for three weeks.",
                    today=today, now=now - timedelta(days=3),
                )  # fmt: skip
