"""factory_boy factories shared by every test module."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import factory
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone

from proposals.models import (
    Area,
    BudgetRound,
    Category,
    Comment,
    Proposal,
    ProposalStatus,
    ResidentProfile,
    RoundArea,
)
from proposals.phases import Phase, Timeline

PASSWORD = "a-Long-test-passw0rd"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.Sequence(lambda n: f"user{n}@example.org")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def verified_email(obj, create, extracted, **kwargs):
        if create:
            obj.save()
            EmailAddress.objects.create(user=obj, email=obj.email, verified=True, primary=True)


class AreaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Area

    name = factory.Sequence(lambda n: f"Ward {n}")
    slug = factory.Sequence(lambda n: f"ward-{n}")
    population = 5000


class ResidentProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ResidentProfile

    user = factory.SubFactory(UserFactory)
    display_name = factory.Sequence(lambda n: f"Resident {n}")
    area = factory.SubFactory(AreaFactory)


def timeline_in(phase: Phase, *, now=None) -> Timeline:
    """A timeline whose phase at ``now`` is ``phase``, with a day either side."""
    now = now or timezone.now()
    if phase == Phase.PRIORITIES:
        # Submission opens in half a day; the priorities stage opened half a day ago.
        days = [now + timedelta(hours=12) + timedelta(days=i) for i in range(6)]
        return Timeline(*days, priorities_starts=now - timedelta(hours=12))
    offsets = {
        Phase.UPCOMING: 1,
        Phase.SUBMISSION: 0,
        Phase.REVIEW: -1,
        Phase.VOTING: -2,
        Phase.RESULTS: -3,
        Phase.DELIVERY: -4,
        Phase.CLOSED: -5,
    }
    start = (
        now
        + timedelta(days=offsets[phase])
        - (timedelta(hours=12) if phase != Phase.UPCOMING else timedelta(0))
    )
    days = [start + timedelta(days=i) for i in range(6)]
    return Timeline(*days)


class BudgetRoundFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BudgetRound

    class Params:
        phase = Phase.SUBMISSION
        timeline = factory.LazyAttribute(lambda o: timeline_in(o.phase))
        # A priorities stage (two days before submission, unless the phase is PRIORITIES).
        with_priorities = False

    name = factory.Sequence(lambda n: f"Round {n}")
    slug = factory.Sequence(lambda n: f"round-{n}")
    description = "A test round."
    currency = "GBP"
    total_budget = Decimal("100000.00")
    submission_starts = factory.SelfAttribute("timeline.submission_starts")
    review_starts = factory.SelfAttribute("timeline.review_starts")
    voting_starts = factory.SelfAttribute("timeline.voting_starts")
    voting_ends = factory.SelfAttribute("timeline.voting_ends")
    delivery_starts = factory.SelfAttribute("timeline.delivery_starts")
    delivery_ends = factory.SelfAttribute("timeline.delivery_ends")
    priorities_starts = factory.LazyAttribute(
        lambda o: (
            o.timeline.priorities_starts
            or (o.timeline.submission_starts - timedelta(days=2) if o.with_priorities else None)
        )
    )


class RoundAreaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RoundArea

    budget_round = factory.SubFactory(BudgetRoundFactory)
    area = factory.SubFactory(AreaFactory)
    budget = Decimal("50000.00")


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category

    budget_round = factory.SubFactory(BudgetRoundFactory)
    name = factory.Sequence(lambda n: f"Theme {n}")


class ProposalFactory(factory.django.DjangoModelFactory):
    """A submitted proposal (the state most tests start from); pass ``status`` for others.

    A feasible one gets its estimate as the official cost; a duplicate needs ``duplicate_of``.
    """

    class Meta:
        model = Proposal

    budget_round = factory.SubFactory(BudgetRoundFactory)
    round_area = factory.SubFactory(
        RoundAreaFactory, budget_round=factory.SelfAttribute("..budget_round")
    )
    author = factory.SubFactory(UserFactory)
    title = factory.Sequence(lambda n: f"Idea {n}")
    description = "Plant trees along the high street."
    estimated_cost = Decimal("1000.00")
    status = ProposalStatus.SUBMITTED
    official_cost = factory.LazyAttribute(
        lambda o: o.estimated_cost if o.status == ProposalStatus.FEASIBLE else None
    )
    submitted_at = factory.LazyAttribute(
        lambda o: None if o.status == ProposalStatus.DRAFT else timezone.now()
    )


class CommentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Comment

    proposal = factory.SubFactory(ProposalFactory)
    author = factory.SubFactory(UserFactory)
    body = factory.Sequence(lambda n: f"Comment {n}: good idea.")


def round_history_rewrite(budget_round: BudgetRound, **fields) -> None:
    """Arrange a round's past as a test needs it (time that has passed, a rule it was
    counted by), as no officer ever could.

    On PostgreSQL the frozen-round triggers rightly refuse such changes once voting has
    opened; this one update runs with triggers off for its own transaction (the test
    database's user is a superuser).
    """
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL session_replication_role = replica")
        BudgetRound.objects.filter(pk=budget_round.pk).update(**fields)
    budget_round.refresh_from_db()
