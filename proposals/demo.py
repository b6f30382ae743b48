"""The proposals part of the demo (``manage.py seed_demo``): areas, rounds in several
phases, proposals in every state and one account per role. Safe to run again: what
exists is left as it is.

The demo finds what it made by permanent keys, never by name, because officers use the
demo site: they rename rounds and areas, edit them, and create rounds with names the
demo would use. A demo round is the round with the demo's address (slugs never change
on rename) created by the demo officer; a demo area is found by its address too."""

from __future__ import annotations

import contextlib
import dataclasses
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.text import slugify

from pb_platform.roles import AUDITOR, OFFICER, RESIDENT, role_grant
from proposals import services
from proposals.models import (
    Area,
    BallotType,
    BudgetRound,
    Category,
    CountingRule,
    PriorityChannel,
    PriorityResponse,
    Proposal,
    ProposalEvent,
    RegisterEntry,
    ResidentProfile,
    VerificationRequired,
)
from proposals.phases import Timeline
from proposals.services import eligibility
from proposals.services import priorities as priority_services
from proposals.services.register import register_import

AREAS = [("Northfield", 12_400), ("Riverside", 9_800), ("Old Town", 7_600), ("Eastgate", 11_200)]
# A council-wide pot: every resident may vote on it, whatever their area.
CITY_WIDE_AREA = ("Whole borough", 41_000)

# Long enough to sign in and vote after `make run` starts, short enough to watch the
# scheduled job count and publish the results.
VOTING_CLOSES_IN_MINUTES = 10

# Demo accounts only: the command refuses to run on a live site (DEBUG off) unless told.
ACCOUNTS = [
    (RESIDENT, "resident@example.org", "resident-demo-2027", "Riverside", "Sam Resident"),
    (OFFICER, "officer@example.org", "officer-demo-2027", None, "Olu Officer"),
    (AUDITOR, "auditor@example.org", "auditor-demo-2027", None, "Ada Auditor"),
]
EXTRA_RESIDENTS = [
    ("jo.northfield@example.org", "Jo from Northfield", "Northfield"),
    ("priya.oldtown@example.org", "Priya from Old Town", "Old Town"),
    ("kim.eastgate@example.org", "Kim from Eastgate", "Eastgate"),
]

# Neighbours who support ideas in their area before review (no password: they never
# sign in). Support is shown on the proposals' pages and lists.
SUPPORTERS = [
    ("alex.northfield@example.org", "Alex from Northfield", "Northfield"),
    ("bo.northfield@example.org", "Bo from Northfield", "Northfield"),
    ("cleo.northfield@example.org", "Cleo from Northfield", "Northfield"),
    ("dan.riverside@example.org", "Dan from Riverside", "Riverside"),
    # She also wrote an idea that was merged into the demo resident's benches.
    ("rosa.riverside@example.org", "Rosa from Riverside", "Riverside"),
]
# (proposal title, supporters' emails): supported while submission was open.
SUPPORTED = [
    (
        "Street trees on Mill Lane",
        [email for email, _n, area in SUPPORTERS if area == "Northfield"],
    ),
    ("Benches along the river path", ["dan.riverside@example.org"]),
    (
        "Floodlights for the football pitch",
        ["alex.northfield@example.org", "bo.northfield@example.org"],
    ),
]
# Officers' co-design offers during review: (title, revised description, cost, reason,
# accepted, the author's answer).
CODESIGN = [
    (
        "Floodlights for the football pitch",
        "LED floodlights along two sides of the pitch, on a timer that switches them off at "
        "9pm, so teams can train on winter evenings without lighting up the houses on Park Road.",
        "18000.00",
        "Lighting all four sides needs a new power supply, about £25,000 on its own. Two sides "
        "on the existing supply give enough light for training.",
        True,
        "Two sides is plenty for training. Thank you!",
    ),
    (
        "Youth music studio",
        "Recording equipment and two soundproof booths in the youth centre's music room, "
        "which the building's rules allow.",
        "12000.00",
        "The fire station cannot be soundproofed, but the youth centre can host a small studio.",
        False,
        "We want a proper studio in the fire station; we will try again next year.",
    ),
]

# The council's register as the demo imports it (fictional people). Sam, the demo
# resident, is eligibility-verified through the first entry; the second is free, for
# trying verification by hand (sign up as a new resident, then "Your account").
DEMO_REGISTER_CSV = (
    "reference,date_of_birth,postcode,area\n"
    "RS-100001,1985-04-12,,Riverside\n"
    "NF-200002,1990-01-15,,Northfield\n"
    "OT-300003,,OT1 2AB,Old Town\n"
    "EG-400004,1979-11-30,,Eastgate\n"
    "RS-500005,2001-07-09,,Riverside\n"
)
DEMO_SAM_REFERENCE = ("RS-100001", date(1985, 4, 12))
DEMO_TRY_REFERENCE = ("NF-200002", date(1990, 1, 15))
# The round whose voting needs an eligibility check in the demo (any method).
DEMO_VERIFIED_ROUND = "Neighbourhood Fund 2026"
# Rounds that ask online voters the optional equality questions (age band, disability).
DEMO_EQUALITY_ROUNDS = ("Parks 2026", "Neighbourhood Fund 2026")

# (title, description, area, category, estimate, author, fate) per round. Fates:
# draft, submitted, returned, withdrawn, feasible:COST, not_feasible, duplicate:TITLE.
GREEN_STREETS = [
    (
        "Benches along the river path",
        "Six benches between the bridge and the weir, so "
        "older residents can walk the path with a place to rest.",
        "Riverside",
        "Seating",
        "12000",
        "resident@example.org",
        "submitted",
    ),
    (
        "Seats at the river path's bus stops",
        "Two seats at each bus stop along the river path, for people who cannot stand "
        "long while they wait.",
        "Riverside",
        "Seating",
        "6000",
        "rosa.riverside@example.org",
        "submitted",
    ),
    (
        "Herb planters outside the library",
        "Raised planters anyone can pick herbs from.",
        "Riverside",
        "Trees and planting",
        "3500",
        "resident@example.org",
        "draft",
    ),
    (
        "Street trees on Mill Lane",
        "Plant twelve street trees on Mill Lane for shade and to slow traffic.",
        "Northfield",
        "Trees and planting",
        "36000",
        "jo.northfield@example.org",
        "submitted",
    ),
    (
        "Bigger bins",
        "Bigger bins.",
        "Northfield",
        None,
        "5000",
        "jo.northfield@example.org",
        "returned",
    ),
    (
        "Cycle racks at the station",
        "Covered racks for 40 bikes at the station.",
        "Old Town",
        "Walking and cycling",
        "18000",
        "priya.oldtown@example.org",
        "withdrawn",
    ),
]
YOUTH_SPACES = [
    (
        "Skate park repairs",
        "Fix the broken ramps and resurface the skate park.",
        "Eastgate",
        "Sport",
        "42000",
        "kim.eastgate@example.org",
        "feasible:40000.00",
    ),
    (
        "New skate park ramps",
        "New ramps for the skate park in Eastgate.",
        "Eastgate",
        "Sport",
        "30000",
        "kim.eastgate@example.org",
        "duplicate:Skate park repairs",
    ),
    (
        "Youth music studio",
        "A recording studio in the old fire station.",
        "Northfield",
        "Arts",
        "70000",
        "jo.northfield@example.org",
        "not_feasible",
    ),
    (
        "Floodlights for the football pitch",
        "So teams can train on winter evenings.",
        "Northfield",
        "Sport",
        "25000",
        "jo.northfield@example.org",
        "submitted",
    ),
    (
        "Graffiti wall",
        "A legal graffiti wall with workshops run by local artists.",
        "Northfield",
        "Arts",
        "8000",
        "jo.northfield@example.org",
        "feasible:9500.00",
    ),
]
NEIGHBOURHOOD_FUND = [
    (
        "Riverside playground upgrade",
        "New swings and a step-free roundabout.",
        "Riverside",
        None,
        "45000",
        "resident@example.org",
        "feasible:45000.00",
    ),
    (
        "Community fridge",
        "A shared fridge so surplus food is not wasted.",
        "Riverside",
        None,
        "8000",
        "resident@example.org",
        "feasible:8000.00",
    ),
    (
        "Path lighting by the canal",
        "Solar lights along the canal towpath.",
        "Riverside",
        None,
        "30000",
        "resident@example.org",
        "feasible:31500.00",
    ),
    (
        "Wildflower verges",
        "Sow wildflowers on the main road verges.",
        "Riverside",
        None,
        "12000",
        "resident@example.org",
        "feasible:12000.00",
    ),
    (
        "Heritage signs",
        "Signs telling the history of Old Town's buildings.",
        "Old Town",
        None,
        "15000",
        "priya.oldtown@example.org",
        "feasible:15000.00",
    ),
    (
        "Market square planters",
        "Large planters with seating in the market square.",
        "Old Town",
        None,
        "20000",
        "priya.oldtown@example.org",
        "feasible:22000.00",
    ),
    (
        "Eastgate library garden",
        "Turn the library's yard into a reading garden.",
        "Eastgate",
        None,
        "18000",
        "kim.eastgate@example.org",
        "feasible:18000.00",
    ),
    (
        "Bike repair station",
        "A public bike pump and tool stand.",
        "Eastgate",
        None,
        "6000",
        "kim.eastgate@example.org",
        "feasible:6000.00",
    ),
]
NEIGHBOURHOOD_FUND += [
    (
        "Free drinking water fountains",
        "Four drinking fountains in the busiest parks and squares.",
        "Whole borough",
        None,
        "24000",
        "priya.oldtown@example.org",
        "feasible:24000.00",
    ),
    (
        "Borough-wide tool library",
        "Lend ladders, drills and garden tools from the libraries.",
        "Whole borough",
        None,
        "15000",
        "kim.eastgate@example.org",
        "feasible:16000.00",
    ),
    (
        "Community minibus",
        "An accessible minibus community groups can book.",
        "Whole borough",
        None,
        "45000",
        "jo.northfield@example.org",
        "feasible:45000.00",
    ),
]
PARKS_2026 = [
    (
        "Riverside pond clean-up",
        "Dredge the pond and plant its banks.",
        "Riverside",
        None,
        "30000",
        "resident@example.org",
        "feasible:30000.00",
    ),
    (
        "Outdoor gym in Riverside Park",
        "Six outdoor exercise machines.",
        "Riverside",
        None,
        "25000",
        "resident@example.org",
        "feasible:25000.00",
    ),
    (
        "Dog-free picnic lawn",
        "Fence a lawn for picnics and small children.",
        "Riverside",
        None,
        "20000",
        "resident@example.org",
        "feasible:20000.00",
    ),
    (
        "Park toilets reopened",
        "Repair and reopen the park toilets, with a changing place.",
        "Riverside",
        None,
        "40000",
        "resident@example.org",
        "feasible:42000.00",
    ),
    (
        "Northfield park lighting",
        "Lights on the main path through Northfield Park.",
        "Northfield",
        None,
        "35000",
        "jo.northfield@example.org",
        "feasible:35000.00",
    ),
    (
        "Northfield nature trail",
        "A signed trail with bird boxes and a map.",
        "Northfield",
        None,
        "12000",
        "jo.northfield@example.org",
        "feasible:12000.00",
    ),
    (
        "Northfield bowling green",
        "Resurface the bowling green.",
        "Northfield",
        None,
        "28000",
        "jo.northfield@example.org",
        "feasible:28000.00",
    ),
]
PROPOSALS = {
    "Parks 2026": ([], PARKS_2026),
    "Green Streets 2027": (["Trees and planting", "Seating", "Walking and cycling"], GREEN_STREETS),
    "Youth Spaces 2027": (["Sport", "Arts"], YOUTH_SPACES),
    "Neighbourhood Fund 2026": ([], NEIGHBOURHOOD_FUND),
}


def _timeline(
    now: Any,
    *,
    submission: int,
    review: int,
    voting: int,
    voting_minutes: int | None,
    delivery: int,
    priorities: int | None = None,
) -> Timeline:
    """Days (from now) at which each phase starts; voting may end minutes from now."""
    voting_ends = (
        now + timedelta(minutes=voting_minutes)
        if voting_minutes is not None
        else now + timedelta(days=voting + 14)
    )
    return Timeline(
        submission_starts=now + timedelta(days=submission),
        review_starts=now + timedelta(days=review),
        voting_starts=now + timedelta(days=voting),
        voting_ends=voting_ends,
        delivery_starts=max(voting_ends, now) + timedelta(days=7),
        delivery_ends=now + timedelta(days=delivery),
        priorities_starts=now + timedelta(days=priorities) if priorities is not None else None,
    )


DEMO_OFFICER_EMAIL = next(email for role, email, *_rest in ACCOUNTS if role == OFFICER)


def demo_round(name: str) -> BudgetRound | None:
    """The demo's round first created as ``name``, whatever it is called now, or None
    (never a round an officer created with the same name)."""
    return BudgetRound.objects.filter(
        slug=slugify(name), created_by__email=DEMO_OFFICER_EMAIL
    ).first()


class ProposalsDemo:
    """Seeds areas, accounts, rounds and proposals; returns the demo accounts by role."""

    def seed(self) -> dict[str, Any]:
        officer = self._officer()
        areas = self._areas(officer=officer)
        users = self._accounts(areas)
        self._register(officer=users[OFFICER], resident=users[RESIDENT])
        self._rounds(areas, officer=users[OFFICER])
        PrioritiesDemo().seed(officer=users[OFFICER])
        self._proposals(officer=users[OFFICER])
        return users

    def _officer(self) -> Any:
        """The demo officer, who sets up the demo's areas and rounds."""
        _role, email, password, _area, _name = next(a for a in ACCOUNTS if a[0] == OFFICER)
        officer = self._user(email, password)
        role_grant(user=officer, role=OFFICER)
        return officer

    def _areas(self, *, officer: Any) -> dict[str, Area]:
        areas = {}
        for name, population in [*AREAS, CITY_WIDE_AREA]:
            area = (
                Area.objects.filter(slug=slugify(name)).first()
                or Area.objects.filter(name__iexact=name).first()
            )
            areas[name] = area or services.area_create(
                created_by=officer,
                name=name,
                population=population,
                is_city_wide=(name, population) == CITY_WIDE_AREA,
            )
        return areas

    def _user(self, email: str, password: str | None) -> Any:
        User = get_user_model()
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(
                username=email.split("@")[0], email=email, password=password
            )
            if password is None:
                user.set_unusable_password()
                user.save(update_fields=["password"])
        EmailAddress.objects.get_or_create(
            user=user, email=email, defaults={"verified": True, "primary": True}
        )
        return user

    def _accounts(self, areas: dict[str, Area]) -> dict[str, Any]:
        users = {}
        for role, email, password, area_name, display_name in ACCOUNTS:
            user = self._user(email, password)
            if area_name and not ResidentProfile.objects.filter(user=user).exists():
                services.resident_register(
                    user=user, display_name=display_name, area=areas[area_name]
                )
            role_grant(user=user, role=role)
            users[role] = user
        for email, display_name, area_name in [*EXTRA_RESIDENTS, *SUPPORTERS]:
            user = self._user(email, None)
            if not ResidentProfile.objects.filter(user=user).exists():
                services.resident_register(
                    user=user, display_name=display_name, area=areas[area_name]
                )
        return users

    @staticmethod
    def _register(*, officer: Any, resident: Any) -> None:
        """The council's register, imported once, and Sam eligibility-verified with it."""
        if not RegisterEntry.objects.exists():
            register_import(
                officer=officer,
                csv_bytes=DEMO_REGISTER_CSV.encode(),
                file_name="demo-register.csv",
                dry_run=False,
                now=timezone.now(),
            )
        profile = ResidentProfile.objects.get(user=resident)
        if not profile.is_eligibility_verified:
            reference, born = DEMO_SAM_REFERENCE
            # If an officer replaced the demo register, Sam stays unverified.
            with contextlib.suppress(ValidationError):
                eligibility.eligibility_verify_by_register(
                    user=resident,
                    reference=reference,
                    date_of_birth=born,
                    postcode="",
                    ip="seed_demo",
                    now=timezone.now(),
                )

    def _rounds(self, areas: dict[str, Area], *, officer: Any) -> None:
        now = timezone.now().replace(second=0, microsecond=0)
        rounds = [
            (
                "Green Streets 2027",
                "Ideas for trees, planters, benches and safer walking routes. Anyone who lives "
                "in Northfield, Riverside or Old Town can suggest an idea until submission closes.",
                Decimal("300000.00"),
                {
                    "Northfield": Decimal("120000.00"),
                    "Riverside": Decimal("100000.00"),
                    "Old Town": Decimal("80000.00"),
                },
                _timeline(
                    now,
                    priorities=-17,
                    submission=-3,
                    review=14,
                    voting=28,
                    voting_minutes=None,
                    delivery=365,
                ),
                CountingRule.MES,
                BallotType.APPROVAL_WITHIN_BUDGET,
                None,
            ),
            (
                OPEN_PRIORITIES_ROUND,
                "Rooms residents can use for clubs, homework, warmth in winter and meeting "
                "neighbours. Tell us first what matters most in your area: the priorities "
                "stage is open, and ideas come after it.",
                Decimal("90000.00"),
                {"Riverside": Decimal("50000.00"), "Eastgate": Decimal("40000.00")},
                _timeline(
                    now,
                    priorities=-2,
                    submission=12,
                    review=40,
                    voting=60,
                    voting_minutes=None,
                    delivery=420,
                ),
                CountingRule.MES,
                BallotType.APPROVAL_WITHIN_BUDGET,
                None,
            ),
            (
                "Youth Spaces 2027",
                "Places and activities for young people. Officers are checking each idea's "
                "cost and feasibility; voting opens soon.",
                Decimal("150000.00"),
                {"Eastgate": Decimal("75000.00"), "Northfield": Decimal("75000.00")},
                _timeline(
                    now, submission=-40, review=-5, voting=10, voting_minutes=None, delivery=365
                ),
                CountingRule.GREEDY,
                BallotType.K_APPROVAL,
                3,
            ),
            (
                "Neighbourhood Fund 2026",
                "Small neighbourhood improvements, and a pot for the whole borough that every "
                "resident may vote on. Voting closes a few minutes after the demo was set up, "
                "so you can vote and then watch the scheduled count publish the results.",
                Decimal("250000.00"),
                {
                    "Riverside": Decimal("100000.00"),
                    "Old Town": Decimal("60000.00"),
                    "Eastgate": Decimal("40000.00"),
                    "Whole borough": Decimal("50000.00"),
                },
                _timeline(
                    now,
                    submission=-60,
                    review=-30,
                    voting=-7,
                    voting_minutes=VOTING_CLOSES_IN_MINUTES,
                    delivery=300,
                ),
                CountingRule.MES,
                BallotType.APPROVAL_WITHIN_BUDGET,
                None,
            ),
        ]
        rounds.append(
            (
                "Parks 2026",
                "Improvements to the borough's parks. Voting has closed and the results, "
                "counted by the Method of Equal Shares, are published.",
                Decimal("200000.00"),
                {"Riverside": Decimal("100000.00"), "Northfield": Decimal("100000.00")},
                _timeline(
                    now, submission=-90, review=-60, voting=-45, voting_minutes=None, delivery=300
                ),
                CountingRule.MES,
                BallotType.APPROVAL_WITHIN_BUDGET,
                None,
            )
        )
        for name, description, total, budgets, timeline, rule, ballot, k in rounds:
            if demo_round(name) is not None:
                continue
            try:
                self._round_create(
                    officer, name, description, total, budgets, areas, timeline, rule, ballot, k
                )
            except ValidationError:
                # An officer's own round already has this name (or address): the demo
                # does without this round rather than touch theirs.
                continue

    @staticmethod
    def _round_create(
        officer: Any,
        name: str,
        description: str,
        total: Decimal,
        budgets: dict[str, Decimal],
        areas: dict[str, Area],
        timeline: Timeline,
        rule: str,
        ballot: str,
        k: int | None,
    ) -> None:
        if BudgetRound.objects.filter(slug=slugify(name)).exists():
            raise ValidationError({"name": ["The demo's address for this round is taken."]})
        services.round_create(
            created_by=officer,
            config=services.RoundConfig(
                name=name,
                description=description,
                currency="GBP",
                total_budget=total,
                counting_rule=rule,
                ballot_type=ballot,
                max_choices=k,
                timeline=timeline,
                verification_required=VerificationRequired.ANY
                if name == DEMO_VERIFIED_ROUND
                else VerificationRequired.NONE,
                asks_equality_questions=name in DEMO_EQUALITY_ROUNDS,
            ),
            area_budgets={areas[area]: amount for area, amount in budgets.items()},
        )

    def _proposals(self, *, officer: Any) -> None:
        """Ideas in every state, written and reviewed at the times the phases allow."""
        User = get_user_model()
        now = timezone.now()
        for round_name, (category_names, entries) in PROPOSALS.items():
            budget_round = demo_round(round_name)
            if budget_round is None or budget_round.proposals.exists():
                continue
            written_at = min(budget_round.submission_starts + timedelta(hours=2), now)
            existing = set(budget_round.categories.values_list("name", flat=True))
            for name in category_names:
                if name in existing:  # made for the priorities stage
                    continue
                services.category_create(
                    budget_round=budget_round, name=name, officer=officer, now=written_at
                )
            categories = {c.name: c for c in budget_round.categories.all()}
            round_areas = {
                ra.area.name: ra for ra in budget_round.round_areas.select_related("area")
            }
            if not {area for _t, _d, area, *_rest in entries} <= set(round_areas):
                continue  # an officer changed the round's areas: leave it as they made it
            reviewed_at = max(budget_round.review_starts + timedelta(hours=2), written_at)
            made: dict[str, Proposal] = {}
            for title, description, area, category, estimate, email, fate in entries:
                made[title] = services.proposal_create(
                    author=User.objects.get(email=email),
                    budget_round=budget_round,
                    content=services.ProposalContent(
                        title=title,
                        description=description,
                        round_area=round_areas[area],
                        category=categories.get(category) if category else None,
                        estimated_cost=Decimal(estimate),
                    ),
                    submit=fate != "draft",
                    now=written_at,
                )
            for title, *_rest, email, fate in entries:
                self._decide(made, made[title], fate, officer, email, written_at, reviewed_at)
            self._conversation(made, officer, written_at)
            self._written_together(made, written_at)
            self._amendments(made, written_at)
            self._coproduction(made, officer, written_at, reviewed_at)
            self._merge(made, officer, written_at)
        # The demo's history is not news: do not email the demo residents about it.
        ProposalEvent.objects.filter(notified_at__isnull=True).update(notified_at=now)

    def _decide(
        self,
        made: dict[str, Proposal],
        proposal: Proposal,
        fate: str,
        officer: Any,
        email: str,
        written_at: Any,
        reviewed_at: Any,
    ) -> None:
        kind, _sep, value = fate.partition(":")
        if kind == "returned":
            services.proposal_return_to_author(
                proposal=proposal,
                officer=officer,
                now=written_at + timedelta(hours=1),
                message="Please say where the bins should go and how many you have in mind.",
            )
        elif kind == "withdrawn":
            services.proposal_withdraw(
                proposal=proposal, author=proposal.author, now=written_at + timedelta(hours=1)
            )
        elif kind == "feasible":
            services.proposal_review(
                proposal=proposal,
                officer=officer,
                feasible=True,
                official_cost=Decimal(value),
                reason="Checked with the parks team; the cost includes installation.",
                now=reviewed_at,
            )
        elif kind == "not_feasible":
            services.proposal_review(
                proposal=proposal,
                officer=officer,
                feasible=False,
                official_cost=None,
                reason="The building is listed and cannot be soundproofed within the budget.",
                now=reviewed_at,
            )
        elif kind == "duplicate":
            services.proposal_mark_duplicate(
                proposal=proposal,
                officer=officer,
                original=made[value],
                now=reviewed_at,
                reason="Covered by the skate park repairs proposal.",
            )

    def _conversation(self, made: dict[str, Proposal], officer: Any, written_at: Any) -> None:
        trees = made.get("Street trees on Mill Lane")
        if trees is None:
            return
        User = get_user_model()
        sam = User.objects.get(email="resident@example.org")
        at = written_at + timedelta(hours=3)
        question = services.comment_add(
            proposal=trees,
            author=sam,
            now=at,
            body="Would the trees block the bus stop? Otherwise a great idea.",
        )
        services.comment_reply(
            parent=question,
            author=trees.author,
            now=at + timedelta(minutes=30),
            body="No, they would start after the bus stop, near the school.",
        )
        services.comment_reply(
            parent=question,
            author=officer,
            now=at + timedelta(hours=1),
            body="Highways will check the sight lines during review.",
        )
        rude = services.comment_add(
            proposal=trees,
            author=User.objects.get(email="priya.oldtown@example.org"),
            now=at + timedelta(hours=2),
            body="Whoever wrote this has no idea. Typical.",
        )
        services.comment_flag(comment=rude, user=sam, now=at + timedelta(hours=3))
        services.comment_hide(
            comment=rude,
            officer=officer,
            now=at + timedelta(hours=4),
            reason="Personal remark about the author, against the house rules.",
        )

    @staticmethod
    def _written_together(made: dict[str, Proposal], written_at: Any) -> None:
        """Jo invites Sam (the demo resident) to write the street trees idea with her;
        the text gains two more versions, one by each of them."""
        trees = made.get("Street trees on Mill Lane")
        if trees is None or trees.author is None:
            return
        User = get_user_model()
        sam = User.objects.get(email="resident@example.org")
        jo = trees.author
        at = written_at + timedelta(hours=8)
        invitation = services.coauthor_invite(proposal=trees, author=jo, email=sam.email, now=at)
        services.coauthor_accept(invitation=invitation, user=sam, now=at + timedelta(hours=1))
        content = services.ProposalContent(
            title=trees.title,
            description=(
                "Plant twelve street trees on Mill Lane for shade and to slow traffic. "
                "The trees start after the bus stop, near the school, so drivers still see "
                "people waiting."
            ),
            round_area=trees.round_area,
            category=trees.category,
            estimated_cost=trees.estimated_cost,
            location=trees.location,
        )
        trees = services.proposal_update(
            proposal=trees, author=sam, content=content, submit=False, now=at + timedelta(hours=2)
        )
        services.proposal_update(
            proposal=trees,
            author=jo,
            content=dataclasses.replace(
                content,
                title="Street trees and planters on Mill Lane",
                estimated_cost=Decimal("38500"),
                location="Mill Lane, from the bus stop to the school",
            ),
            submit=False,
            now=at + timedelta(hours=3),
        )

    @staticmethod
    def _amendments(made: dict[str, Proposal], written_at: Any) -> None:
        """Neighbours suggest changes to the street trees idea: Jo takes one in (a new
        version credited to Kim), Sam declines the other with a reply."""
        trees = made.get("Street trees on Mill Lane")
        if trees is None or trees.author is None:
            return
        User = get_user_model()
        kim = User.objects.get(email="kim.eastgate@example.org")
        priya = User.objects.get(email="priya.oldtown@example.org")
        sam = User.objects.get(email="resident@example.org")
        at = written_at + timedelta(hours=20)
        trees.refresh_from_db()
        taken = services.amendment_suggest(
            proposal=trees,
            resident=kim,
            description=trees.description
            + " Each tree gets a water butt filled from the school roof, so the trees "
            "survive their first summers without a council watering round.",
            estimated_cost=Decimal("41000"),
            reason="Young street trees die in dry summers; the water butts cost about "
            "£200 each and the school has offered its roof.",
            now=at,
        )
        declined = services.amendment_suggest(
            proposal=trees,
            resident=priya,
            description=trees.description.replace("street trees", "fruit trees", 1),
            estimated_cost=None,
            reason="Fruit trees would feed people as well as shade the lane.",
            now=at + timedelta(hours=1),
        )
        services.amendment_accept(
            amendment=taken,
            writer=trees.author,
            reply="Thank you, Kim: the school agreed, and the estimate now includes them.",
            now=at + timedelta(hours=6),
        )
        services.amendment_decline(
            amendment=declined,
            writer=sam,
            reply="We asked the tree officer: falling fruit makes the pavement slippery "
            "near the bus stop, so we keep street trees. A community orchard would make "
            "a good idea of its own.",
            now=at + timedelta(hours=7),
        )

    @staticmethod
    def _merge(made: dict[str, Proposal], officer: Any, written_at: Any) -> None:
        """An officer proposes merging Rosa's bus stop seats into the demo resident's
        river path benches; both agree, so the benches credit Rosa too."""
        benches = made.get("Benches along the river path")
        seats = made.get("Seats at the river path's bus stops")
        if benches is None or seats is None or seats.author is None:
            return
        sam = get_user_model().objects.get(email="resident@example.org")
        at = written_at + timedelta(hours=30)
        benches.refresh_from_db()
        merge = services.merge_propose(
            into=benches,
            absorbed=seats,
            officer=officer,
            title="Benches along the river path and at its bus stops",
            description=(
                "Six benches between the bridge and the weir, and two seats at each bus stop "
                "along the path, so older residents and anyone who cannot stand for long "
                "have a place to rest."
            ),
            estimated_cost=Decimal("18000"),
            reason="Both ideas give people on the river path somewhere to sit; one "
            "proposal with both is simpler to cost and to vote for.",
            now=at,
        )
        services.merge_agree(merge=merge, writer=seats.author, now=at + timedelta(hours=2))
        services.merge_agree(merge=merge, writer=sam, now=at + timedelta(hours=3))

    @staticmethod
    def _coproduction(
        made: dict[str, Proposal], officer: Any, written_at: Any, reviewed_at: Any
    ) -> None:
        """Neighbours' support while submission was open, and officers' co-design offers
        during review: one accepted (its cost became the official cost), one declined."""
        User = get_user_model()
        for title, emails in SUPPORTED:
            if (proposal := made.get(title)) is None:
                continue
            for minutes, email in enumerate(emails, start=1):
                services.proposal_support_add(
                    proposal=proposal,
                    user=User.objects.get(email=email),
                    now=written_at + timedelta(hours=5, minutes=minutes),
                )
        for title, description, cost, reason, accepted, reply in CODESIGN:
            if (proposal := made.get(title)) is None:
                continue
            offered_at = reviewed_at + timedelta(minutes=30)
            offer = services.codesign_offer(
                proposal=proposal,
                officer=officer,
                description=description,
                cost=Decimal(cost),
                reason=reason,
                now=offered_at,
            )
            answer = services.codesign_accept if accepted else services.codesign_decline
            answer(
                offer=offer,
                author=proposal.author,
                reply=reply,
                now=offered_at + timedelta(hours=2),
            )


# The round whose priorities stage the demo shows ended, with its results published.
PRIORITIES_ROUND = "Green Streets 2027"
# Points per theme, in the order of PRIORITIES_THEMES (each row adds up to 100).
PRIORITIES_THEMES = ["Trees and planting", "Seating", "Walking and cycling", "Street lighting"]
# (area, channel, who answered online or None, points) per answer. Riverside and
# Northfield have enough answers to publish; Old Town shows what too few look like.
PRIORITIES_ANSWERS: list[tuple[str, str, str | None, tuple[int, int, int, int]]] = [
    ("Riverside", PriorityChannel.ONLINE, "resident@example.org", (20, 50, 20, 10)),
    *[
        ("Riverside", PriorityChannel.PAPER, None, pts)
        for pts in [
            (30, 40, 20, 10),
            (10, 60, 20, 10),
            (25, 25, 25, 25),
            (40, 30, 30, 0),
            (0, 70, 30, 0),
            (20, 40, 20, 20),
            (35, 35, 15, 15),
        ]
    ],
    *[
        ("Riverside", PriorityChannel.EVENT, None, pts)
        for pts in [
            (50, 20, 20, 10),
            (30, 30, 30, 10),
            (20, 20, 40, 20),
            (10, 50, 30, 10),
        ]
    ],
    ("Northfield", PriorityChannel.ONLINE, "jo.northfield@example.org", (60, 10, 20, 10)),
    *[
        ("Northfield", PriorityChannel.PAPER, None, pts)
        for pts in [
            (50, 10, 30, 10),
            (40, 20, 20, 20),
            (70, 0, 30, 0),
            (45, 15, 25, 15),
            (30, 10, 40, 20),
            (55, 5, 20, 20),
            (60, 20, 10, 10),
            (35, 15, 35, 15),
        ]
    ],
    ("Old Town", PriorityChannel.ONLINE, "priya.oldtown@example.org", (10, 10, 70, 10)),
    ("Old Town", PriorityChannel.PAPER, None, (20, 20, 50, 10)),
]
PRIORITIES_NEEDS = {
    "resident@example.org": "Older neighbours stop walking by the river because there is "
    "nowhere to sit between the bridge and the weir.",
}
PRIORITIES_STATEMENTS = {
    "Riverside": "Residents put seating first. We will ask for bench proposals along the "
    "river path and give officers reviewing ideas this chart to weigh them against.",
    "Northfield": "Trees and planting came top by a wide margin. We will work with the "
    "parks team so tree proposals can be costed quickly during review.",
}


# A round whose priorities stage is open now, so a visitor can give it their points.
OPEN_PRIORITIES_ROUND = "Community Rooms 2027"
OPEN_PRIORITIES_THEMES = [
    "Rooms for young people",
    "Rooms for older residents",
    "Warm spaces in winter",
    "Study and homework space",
]


class PrioritiesDemo:
    """A round whose priorities stage is open (its themes, for visitors to answer), and
    one whose stage has ended: themes (one suggested by a resident), answers online, on
    paper and at an event, and the council's statements."""

    def seed(self, *, officer: Any) -> None:
        self._open_stage(officer=officer)
        self._published_stage(officer=officer)

    @staticmethod
    def _open_stage(*, officer: Any) -> None:
        """The themes of the round whose stage is open (nobody has answered yet)."""
        budget_round = demo_round(OPEN_PRIORITIES_ROUND)
        if budget_round is None or budget_round.priorities_starts is None:
            return
        existing = set(budget_round.categories.values_list("name", flat=True))
        for name in OPEN_PRIORITIES_THEMES:
            if name not in existing:
                services.category_create(
                    budget_round=budget_round,
                    name=name,
                    officer=officer,
                    now=budget_round.priorities_starts,
                )

    @staticmethod
    def _published_stage(*, officer: Any) -> None:
        budget_round = demo_round(PRIORITIES_ROUND)
        if budget_round is None or budget_round.priorities_starts is None:
            return
        if PriorityResponse.objects.filter(round_area__budget_round=budget_round).exists():
            return  # seeded before
        User = get_user_model()
        opened = budget_round.priorities_starts
        round_areas = {ra.area.name: ra for ra in budget_round.round_areas.select_related("area")}
        if not {area for area, *_rest in PRIORITIES_ANSWERS} <= set(round_areas):
            return  # an officer changed the round's areas
        existing = set(budget_round.categories.values_list("name", flat=True))
        for name in PRIORITIES_THEMES[:-1]:
            if name not in existing:
                services.category_create(
                    budget_round=budget_round, name=name, officer=officer, now=opened
                )
        jo = User.objects.get(email="jo.northfield@example.org")
        priya = User.objects.get(email="priya.oldtown@example.org")
        suggestion = priority_services.theme_suggest(
            resident=jo, budget_round=budget_round, name=PRIORITIES_THEMES[-1], now=opened
        )
        priority_services.theme_moderate(
            officer=officer, suggestion=suggestion, approve=True, now=opened + timedelta(hours=2)
        )
        turned_down = priority_services.theme_suggest(
            resident=priya, budget_round=budget_round, name="Parking", now=opened
        )
        priority_services.theme_moderate(
            officer=officer,
            suggestion=turned_down,
            approve=False,
            reason="This fund cannot pay for parking; the transport plan covers it.",
            now=opened + timedelta(hours=2),
        )
        themes = {c.name: c.pk for c in Category.objects.filter(budget_round=budget_round)}
        at = opened + timedelta(days=1)
        for index, (area, channel, email, points) in enumerate(PRIORITIES_ANSWERS):
            pairs = zip(PRIORITIES_THEMES, points, strict=True)
            given = {themes[name]: value for name, value in pairs}
            when = at + timedelta(hours=index)
            if email is not None:
                priority_services.priorities_respond(
                    resident=User.objects.get(email=email),
                    round_area=round_areas[area],
                    points=given,
                    need=PRIORITIES_NEEDS.get(email, ""),
                    now=when,
                )
            else:
                priority_services.priorities_enter_paper(
                    officer=officer,
                    round_area=round_areas[area],
                    channel=channel,
                    points=given,
                    now=when,
                )
        for area, text in PRIORITIES_STATEMENTS.items():
            priority_services.priorities_statement_publish(
                officer=officer,
                round_area=round_areas[area],
                text=text,
                now=budget_round.submission_starts + timedelta(hours=4),
            )
