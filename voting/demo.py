"""The voting part of the demo (``manage.py seed_demo``), run after the proposals part.

- "Parks 2026": voting ended weeks ago; online ballots (the demo resident's among them)
  and a paper ballot for a walk-in voter, counted and published by the same service the
  beat job runs.
- "Neighbourhood Fund 2026": voting closes minutes after seeding. Neighbours have
  voted already; the demo resident has not, so they can, and then watch the scheduled
  job count and publish the results.

Ballots go through the services, at moments inside each round's voting window. Safe to
run again: a round that already has ballots is left alone.
"""

from __future__ import annotations

from datetime import date, timedelta
from itertools import cycle
from typing import Any

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.utils import timezone

from pb_platform.roles import RESIDENT, role_grant
from proposals import services as proposal_services
from proposals.demo import demo_round
from proposals.models import Area, BudgetRound, ResidentProfile
from proposals.services.eligibility import eligibility_verify_in_person
from voting.models import AreaResult, Ballot, OutreachKind
from voting.services.ballots import ballot_submit, paper_ballot_record, walk_in_voter_register
from voting.services.explanations import result_explain, results_to_explain
from voting.services.outreach import outreach_record
from voting.services.results import area_close_count_publish

# Neighbours who vote in the demo: (area, how many). Riverside turns out more than
# Northfield, so "Who took part" in Parks 2026 flags Northfield as under-represented
# (under half the round's ballots per resident).
DEMO_VOTERS = [("Riverside", 36), ("Northfield", 8), ("Old Town", 6), ("Eastgate", 6)]
# Riverside residents who voted on paper at the library's assisted-voting session in
# Parks 2026 (registered there by the officer), with the ballots they chose: enough for
# the page to publish Riverside's count per channel.
RIVERSIDE_PAPER_VOTERS = [
    ("Ada Paper", date(1941, 2, 3), ("Park toilets reopened", "Riverside pond clean-up")),
    ("Ben Paper", date(1952, 7, 9), ("Park toilets reopened", "Outdoor gym in Riverside Park")),
    ("Cy Paper", date(1938, 11, 21), ("Dog-free picnic lawn",)),
    ("Di Paper", date(1960, 4, 14), ("Park toilets reopened", "Dog-free picnic lawn")),
    ("Ed Paper", date(1949, 9, 30), ("Riverside pond clean-up",)),
]

# Per round and area, the ballots neighbours cast, cycled over the area's voters.
BALLOTS: dict[str, dict[str, list[tuple[str, ...]]]] = {
    "Parks 2026": {
        # A large group wants the toilets, the gym and the pond; a smaller one the lawn.
        # Greedy by votes would fund the large group's three; Equal Shares gives the
        # smaller group the lawn instead of the gym (the fairness panel shows both).
        "Riverside": [
            ("Park toilets reopened", "Outdoor gym in Riverside Park", "Riverside pond clean-up"),
            ("Park toilets reopened", "Outdoor gym in Riverside Park", "Riverside pond clean-up"),
            ("Park toilets reopened", "Outdoor gym in Riverside Park"),
            ("Dog-free picnic lawn",),
            ("Park toilets reopened", "Outdoor gym in Riverside Park", "Riverside pond clean-up"),
            ("Dog-free picnic lawn", "Riverside pond clean-up"),
        ],
        "Northfield": [
            ("Northfield park lighting", "Northfield nature trail"),
            ("Northfield bowling green",),
            ("Northfield park lighting",),
            ("Northfield nature trail", "Northfield bowling green"),
        ],
    },
    "Neighbourhood Fund 2026": {
        "Riverside": [
            ("Riverside playground upgrade", "Community fridge"),
            ("Path lighting by the canal", "Wildflower verges", "Community fridge"),
            ("Riverside playground upgrade", "Path lighting by the canal"),
        ],
        "Old Town": [("Heritage signs",), ("Market square planters", "Heritage signs")],
        "Eastgate": [("Eastgate library garden", "Bike repair station"), ("Bike repair station",)],
        "Whole borough": [
            ("Free drinking water fountains", "Borough-wide tool library"),
            ("Community minibus",),
            ("Borough-wide tool library",),
        ],
    },
}
# What neighbours answered to the optional equality questions, cycled over them (an
# empty answer: skipped). Mostly middle-aged and few disabled people: the page shows it.
EQUALITY_ANSWERS_GIVEN: list[dict[str, str]] = [
    {"age_band": "35-49", "disability": "no"},
    {"age_band": "50-64", "disability": "no"},
    {"age_band": "35-49", "disability": "no"},
    {"age_band": "25-34", "disability": "no"},
    {},
    {"age_band": "50-64", "disability": "yes"},
    {"age_band": "65-74", "disability": "no"},
    {"age_band": "not-said", "disability": "not-said"},
]
# The demo resident (Sam, Riverside) voted in the finished round, so their receipt is
# in its published list; they have not voted in the open one yet.
SAM_PARKS_BALLOT = ("Park toilets reopened", "Dog-free picnic lawn")


class VotingDemo:
    def seed(self) -> None:
        voters = self._voters()
        parks = demo_round("Parks 2026")
        if parks is not None and not Ballot.objects.filter(round_area__budget_round=parks):
            sam = get_user_model().objects.get(email="resident@example.org")
            at = parks.voting_starts + timedelta(hours=1)
            self._neighbours_vote(parks, voters, at)
            self._vote(sam, parks, "Riverside", SAM_PARKS_BALLOT, at)
            self._walk_in_votes(parks, at)
            # Counted a minute after voting closed, as the beat job would have.
            counted_at = parks.voting_ends + timedelta(minutes=1)
            for round_area in parks.round_areas.all():
                area_close_count_publish(round_area_id=round_area.pk, now=counted_at)
            self._outreach(parks)
        # Explained at once, as the beat job would do a moment after publication.
        for result in results_to_explain():
            result_explain(result_id=result.pk, now=timezone.now())
        # Announced already (nobody in the demo asked to be told).
        AreaResult.objects.filter(
            published_at__isnull=False, voters_notified_at__isnull=True
        ).update(voters_notified_at=timezone.now())
        fund = demo_round("Neighbourhood Fund 2026")
        if fund is not None and not Ballot.objects.filter(round_area__budget_round=fund):
            self._neighbours_vote(fund, voters, timezone.now())
        # The demo's votes are not news: no receipt emails for them.
        Ballot.objects.filter(receipt_emailed_at__isnull=True).update(
            receipt_emailed_at=timezone.now()
        )

    def _voters(self) -> dict[str, list[Any]]:
        User = get_user_model()
        officer = User.objects.get(email="officer@example.org")
        voters: dict[str, list[Any]] = {}
        for area_name, count in DEMO_VOTERS:
            area = Area.objects.get(name=area_name)
            voters[area_name] = []
            for n in range(1, count + 1):
                slug = area.slug.replace("-", ".")
                email = f"neighbour{n}.{slug}@example.org"
                user = User.objects.filter(email=email).first()
                if user is None:
                    user = User.objects.create_user(username=email.split("@")[0], email=email)
                    user.set_unusable_password()
                    user.save(update_fields=["password"])
                    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
                    proposal_services.resident_register(
                        user=user, display_name=f"Neighbour {n} of {area_name}", area=area
                    )
                    role_grant(user=user, role=RESIDENT)
                profile = ResidentProfile.objects.get(user=user)
                if not profile.is_eligibility_verified:
                    # A demo round requires eligibility-verified voters: the officer saw
                    # these neighbours' papers at the town hall.
                    eligibility_verify_in_person(
                        officer=officer, profile=profile, now=timezone.now()
                    )
                    user = User.objects.get(pk=user.pk)  # not the profile cached before
                voters[area_name].append(user)
        return voters

    def _neighbours_vote(
        self, budget_round: BudgetRound, voters: dict[str, list[Any]], at: Any
    ) -> None:
        for area_name, patterns in BALLOTS[budget_round.name].items():
            area = Area.objects.get(name=area_name)
            people = (
                [user for group in voters.values() for user in group]
                if area.is_city_wide
                else voters.get(area_name, [])
            )
            answers = cycle(EQUALITY_ANSWERS_GIVEN)
            for user, titles in zip(people, cycle(patterns), strict=False):
                self._vote(user, budget_round, area_name, titles, at, equality=next(answers))

    @staticmethod
    def _vote(
        user: Any,
        budget_round: BudgetRound,
        area_name: str,
        titles: tuple[str, ...],
        at: Any,
        equality: dict[str, str] | None = None,
    ) -> Ballot:
        round_area = budget_round.round_areas.select_related("area", "budget_round").get(
            area__name=area_name
        )
        proposal_ids = list(
            round_area.proposals.filter(title__in=titles).values_list("pk", flat=True)
        )
        return ballot_submit(
            voter=user, round_area=round_area, proposal_ids=proposal_ids, now=at, equality=equality
        )

    @staticmethod
    def _outreach(budget_round: BudgetRound) -> None:
        """What the officer did to reach people during the vote: a session at
        Riverside's library (where the paper voters came) and, in Northfield, which
        the page flags as under-represented, one leaflet drop (not enough, as it shows)."""
        officer = get_user_model().objects.get(email="officer@example.org")
        opened = timezone.localtime(budget_round.voting_starts).date()
        for area_name, kind, day, description in (
            ("Riverside", OutreachKind.ASSISTED_VOTING, 2,
             "Assisted-voting session at Riverside library, with large-print and paper "
             "ballots; five residents voted there."),
            ("Northfield", OutreachKind.LEAFLET, 3,
             "Leaflets through every door on the Northfield estate, in English, Polish and "
             "Urdu."),
        ):  # fmt: skip
            outreach_record(
                officer=officer,
                budget_round=budget_round,
                area=Area.objects.get(name=area_name),
                kind=kind,
                happened_on=opened + timedelta(days=day),
                description=description,
                now=budget_round.voting_ends,
            )

    @staticmethod
    def _walk_in_votes(budget_round: BudgetRound, at: Any) -> None:
        officer = get_user_model().objects.get(email="officer@example.org")
        riverside = Area.objects.get(name="Riverside")
        for name, born, titles in RIVERSIDE_PAPER_VOTERS:
            voter = walk_in_voter_register(
                officer=officer, name=name, area=riverside, date_of_birth=born, today=at.date()
            )
            round_area = budget_round.round_areas.select_related("area", "budget_round").get(
                area=riverside
            )
            paper_ballot_record(
                officer=officer,
                voter=voter.user,
                round_area=round_area,
                proposal_ids=list(
                    round_area.proposals.filter(title__in=titles).values_list("pk", flat=True)
                ),
                now=at,
            )
        area = Area.objects.get(name="Northfield")
        profile = ResidentProfile.objects.filter(display_name="Mo Walk-in", area=area).first()
        if profile is None:
            profile = walk_in_voter_register(
                officer=officer,
                name="Mo Walk-in",
                area=area,
                date_of_birth=date(1948, 5, 17),
                today=at.date(),
            )
        round_area = budget_round.round_areas.select_related("area", "budget_round").get(area=area)
        paper_ballot_record(
            officer=officer,
            voter=profile.user,
            round_area=round_area,
            proposal_ids=list(
                round_area.proposals.filter(title="Northfield bowling green").values_list(
                    "pk", flat=True
                )
            ),
            now=at,
        )
