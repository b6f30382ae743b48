"""One small but complete world, for tests that try every page as every role.

``world_build()`` makes, through the factories and the services:

- areas A and B and a whole-council area;
- a round in every phase (upcoming, submission, review, voting, results, delivery,
  closed); the results round is counted and published, with allocations, a commitment,
  a payment and a delivery update in its ledger;
- proposals in every state, including a draft never submitted;
- comments, one hidden by an officer and one flagged by a resident;
- an online ballot, a walk-in voter with a paper ballot, and a paper voter still to vote;
- an auditor's export;
- a resident whose move to area B is pending while voting is open;
- a job item that failed five times and waits for an officer's retry;
- the people: ``resident_a`` (lives in A), ``resident_b`` (lives in B), ``unverified``
  (lives in A, email not verified), ``officer``, ``auditor``, ``superuser``.

``database_fingerprint()`` sums up every table (count and a hash of its rows in primary
key order) so a test can assert that a request changed nothing. Left out, because they
change legitimately on any visit: ``django_session`` (signing in or out, messages),
``pb_platform_submissiontoken`` (one-time form tokens, claimed and released per POST)
and ``auth_user.last_login`` (set by signing in).

``rolled_back()`` lets a module build the world once and
roll each request back, as Django's TestCase does with ``setUpTestData``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.db import connection, transaction
from django.utils import timezone

from ledgers import services as ledger_services
from ledgers.assessments import assessment_invite, assessment_submit
from pb_platform.jobs import MAX_ATTEMPTS, JobItemRun, run_items
from pb_platform.models import JobItem
from pb_platform.roles import AUDITOR, OFFICER, RESIDENT, role_grant
from proposals.models import (
    Area,
    BudgetRound,
    Category,
    CoDesignOffer,
    Comment,
    CommentFlag,
    CountingRule,
    Proposal,
    ProposalAmendment,
    ProposalCoauthor,
    ProposalMerge,
    ProposalStatus,
    ResidentAreaChange,
    ResidentProfile,
    RoundArea,
    ThemeSuggestion,
    VersionKind,
)
from proposals.phases import Phase
from proposals.services import rounds_advance_phases
from proposals.services.coauthors import coauthor_invite
from proposals.services.residents import resident_change_area
from proposals.services.versions import version_record
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
from voting.models import Ballot, BallotChannel, BallotChoice
from voting.services.ballots import (
    ballot_submit,
    paper_ballot_record,
    receipt_code_new,
    walk_in_voter_register,
)
from voting.services.results import area_close_count_publish

ROLES = ("anonymous", "resident_a", "resident_b", "unverified", "officer", "auditor", "superuser")

# Tables and columns a visit may change without anyone having changed anything.
# The cache table holds rate-limit counters (sign-in attempts), not the site's data.
FINGERPRINT_SKIP_TABLES = frozenset({"django_session", "pb_platform_submissiontoken", "pb_cache"})
FINGERPRINT_SKIP_COLUMNS = {"auth_user": frozenset({"last_login"})}


@dataclass
class World:
    # People
    resident_a: Any
    resident_b: Any
    unverified: Any
    officer: Any
    auditor: Any
    superuser: Any
    # Places
    area_a: Area
    area_b: Area
    council: Area
    # Rounds, one per phase
    rounds: dict[Phase, BudgetRound]
    # Things in them
    category: Category
    draft: Proposal  # never submitted, by resident_a, in the submission round
    ledger_draft: Proposal  # never submitted, by resident_a, in the published round
    submitted: Proposal  # by resident_a, area A, submission round (withdrawable)
    under_review: Proposal  # by someone else, area A, review round
    codesign_offer: CoDesignOffer  # open, by the officer, on resident_a's idea under review
    amendment: ProposalAmendment  # waiting, by resident_b, on resident_a's ``submitted``
    merge: ProposalMerge  # open: ``under_review`` into resident_a's "Park lights"
    proposals_by_status: dict[str, Proposal]
    comment: Comment  # visible, on ``submitted``
    hidden_comment: Comment
    flagged_comment: Comment
    voting_a: RoundArea
    voting_council: RoundArea
    on_ballot: Proposal  # feasible, on area A's ballot in the voting round (by carol)
    online_ballot: Ballot  # resident_a's, in voting_a
    walk_in: ResidentProfile  # registered by the officer, voted on paper in voting_a
    paper_ballot: Ballot
    paper_voter: ResidentProfile  # lives in A, has not voted yet
    results_a: RoundArea
    funded: Proposal  # funded in results_a, with commitment and spend
    milestone: Any  # in ``funded``'s delivery plan
    lost: Proposal  # on results_a's ballot, not funded
    delivered: Proposal  # funded in results_a and delivered today
    assessment: Any  # carol's, of ``delivered``
    assessment_token: str  # an officer's invitation to assess ``delivered``, waiting
    spend_entry: Any
    ledger_export: Any
    area_move: ResidentAreaChange  # pending: the mover may still vote in area A
    job_item: JobItem  # waits for an officer after MAX_ATTEMPTS failures
    invitation: ProposalCoauthor  # resident_a invites an address with no account to ``submitted``
    invitation_token: str  # its link's secret
    # The priorities stage: open in rounds[PRIORITIES] (carol's theme suggestion waits for
    # an officer); ended, with results public, in the submission round.
    theme_suggestion: ThemeSuggestion

    def round(self, phase: Phase) -> BudgetRound:
        return self.rounds[phase]


def _person(*, email: str, area: Area | None, role: str | None, verified: bool = True) -> Any:
    user = UserFactory(email=email)
    if not verified:
        EmailAddress.objects.filter(user=user).update(verified=False)
    if area is not None:
        ResidentProfileFactory(user=user, area=area, display_name=email.split("@")[0].title())
    if role is not None:
        role_grant(user=user, role=role)
    return user


def published_round(*, area: Area, now: Any) -> tuple[BudgetRound, RoundArea, dict]:
    """Greedy, budget 5,000: Trees (2,000, 3 votes) and Benches (1,000, 2 votes) win and
    are allocated; Lights (3,000, 1 vote) no longer fits. (The form fuzz's world too.)"""
    budget_round = BudgetRoundFactory(
        phase=Phase.RESULTS, counting_rule=CountingRule.GREEDY, name="Parks", slug="parks"
    )
    round_area = RoundAreaFactory(budget_round=budget_round, area=area, budget=Decimal(5000))
    proposals = {
        title: ProposalFactory(
            budget_round=budget_round,
            round_area=round_area,
            title=title,
            estimated_cost=Decimal(cost),
            status=ProposalStatus.FEASIBLE,
        )
        for title, cost in (("Trees", 2000), ("Benches", 1000), ("Lights", 3000))
    }
    for titles in (("Trees", "Benches"), ("Trees", "Benches"), ("Trees",), ("Lights",)):
        ballot = Ballot.objects.create(
            round_area=round_area,
            voter=ResidentProfileFactory(area=area).user,
            channel=BallotChannel.ONLINE,
            receipt_code=receipt_code_new(),
        )
        BallotChoice.objects.bulk_create(
            BallotChoice(ballot=ballot, proposal=proposals[t]) for t in titles
        )
    area_close_count_publish(round_area_id=round_area.pk, now=now)
    ledger_services.allocations_for_published_results(now=now)
    return budget_round, round_area, proposals


def _count_that_keeps_failing() -> None:
    raise RuntimeError("the counting service is unreachable")


def _job_item_waiting_for_officer(*, now: Any) -> JobItem:
    """One item of a periodic job run until it gave up and waits for an officer."""
    item = JobItemRun(
        key="round_area:matrix", label="Counting Area A in a test", run=_count_that_keeps_failing
    )
    for hours_ago in range(MAX_ATTEMPTS, 0, -1):
        run_items(job="matrix.count", items=[item], now=now - timedelta(hours=hours_ago))
    return JobItem.objects.get(job="matrix.count", item_key=item.key)


def world_build() -> World:
    now = timezone.now()
    today = timezone.localdate()
    area_a = AreaFactory(name="Area A", slug="area-a")
    area_b = AreaFactory(name="Area B", slug="area-b")
    council = AreaFactory(name="Whole council", slug="whole-council", is_city_wide=True)

    resident_a = _person(email="alex@example.org", area=area_a, role=RESIDENT)
    resident_b = _person(email="bea@example.org", area=area_b, role=RESIDENT)
    unverified = _person(email="uma@example.org", area=area_a, role=RESIDENT, verified=False)
    officer = _person(email="officer@example.org", area=None, role=OFFICER)
    auditor = _person(email="auditor@example.org", area=None, role=AUDITOR)
    superuser = UserFactory(email="root@example.org", is_superuser=True, is_staff=True)
    # Two-factor set up (the admin lists authenticators; the 2FA pages show its state).
    Authenticator.objects.create(
        user=superuser, type=Authenticator.Type.TOTP, data={"secret": "matrix-not-a-secret"}
    )
    author = _person(email="carol@example.org", area=area_a, role=RESIDENT)

    rounds: dict[Phase, BudgetRound] = {}
    for phase in (Phase.UPCOMING, Phase.PRIORITIES, Phase.SUBMISSION, Phase.REVIEW, Phase.VOTING):
        rounds[phase] = BudgetRoundFactory(
            phase=phase,
            name=f"{phase.label} round",
            slug=f"{phase.value}-round",
            with_priorities=phase == Phase.SUBMISSION,
        )
        # Three areas within the round's total budget (100,000 by the factory).
        for area in (area_a, area_b, council):
            RoundAreaFactory(budget_round=rounds[phase], area=area, budget=Decimal(30000))
    results_round, results_a, won = published_round(area=area_a, now=now)
    rounds[Phase.RESULTS] = results_round
    for phase in (Phase.DELIVERY, Phase.CLOSED):
        rounds[phase] = BudgetRoundFactory(
            phase=phase, name=f"{phase.label} round", slug=f"{phase.value}-round"
        )
        RoundAreaFactory(budget_round=rounds[phase], area=area_a, budget=Decimal(50000))

    def round_area(phase: Phase, area: Area) -> RoundArea:
        return RoundArea.objects.get(budget_round=rounds[phase], area=area)

    # Proposals in every state
    submission = rounds[Phase.SUBMISSION]
    category = CategoryFactory(budget_round=submission, name="Green spaces")
    sub_a = round_area(Phase.SUBMISSION, area_a)
    draft = ProposalFactory(
        budget_round=submission,
        round_area=sub_a,
        author=resident_a,
        title="Secret draft",
        status=ProposalStatus.DRAFT,
    )
    submitted = ProposalFactory(
        budget_round=submission,
        round_area=sub_a,
        author=resident_a,
        title="Benches by the river",
        category=category,
    )
    by_status = {ProposalStatus.DRAFT: draft, ProposalStatus.SUBMITTED: submitted}
    for proposal in (draft, submitted):
        version_record(
            proposal=proposal, made_by=resident_a, kind=VersionKind.CREATED, now=timezone.now()
        )
    invitation = coauthor_invite(
        proposal=submitted, author=resident_a, email="invitee@example.org", now=timezone.now()
    )
    amendment = ProposalAmendment.objects.create(
        proposal=submitted,
        author=resident_b,
        base_version=1,
        description="Benches by the river, with a table.",
        reason="Families eat there.",
    )
    for status in (ProposalStatus.RETURNED, ProposalStatus.WITHDRAWN):
        by_status[status] = ProposalFactory(
            budget_round=submission, round_area=sub_a, author=author, status=status
        )
    review = rounds[Phase.REVIEW]
    rev_a = round_area(Phase.REVIEW, area_a)
    under_review = ProposalFactory(
        budget_round=review, round_area=rev_a, author=author, title="Bike racks"
    )
    # An officer's co-design offer waiting for resident_a's answer.
    codesign_offer = CoDesignOffer.objects.create(
        proposal=ProposalFactory(
            budget_round=review, round_area=rev_a, author=resident_a, title="Park lights"
        ),
        officer=officer,
        cost=Decimal(800),
        reason="Four lights instead of ten.",
        created_at=now,
    )
    merge = ProposalMerge.objects.create(
        officer=officer,
        into=codesign_offer.proposal,
        absorbed=under_review,
        title="Park lights and bike racks",
        description="Lights by the racks.",
        estimated_cost=Decimal(900),
        reason="Same corner of the park.",
    )
    by_status[ProposalStatus.FEASIBLE] = ProposalFactory(
        budget_round=review, round_area=rev_a, author=author, status=ProposalStatus.FEASIBLE
    )
    by_status[ProposalStatus.NOT_FEASIBLE] = ProposalFactory(
        budget_round=review,
        round_area=rev_a,
        author=author,
        status=ProposalStatus.NOT_FEASIBLE,
        status_reason="Not council land.",
    )
    by_status[ProposalStatus.DUPLICATE] = ProposalFactory(
        budget_round=review,
        round_area=rev_a,
        author=author,
        status=ProposalStatus.DUPLICATE,
        duplicate_of=under_review,
        status_reason="Same as Bike racks.",
    )

    # Comments: a visible one, a hidden one, a flagged one
    comment = CommentFactory(proposal=submitted, author=resident_b, body="Yes please.")
    hidden_comment = CommentFactory(
        proposal=submitted,
        author=author,
        body="Rude words.",
        hidden_at=now,
        hidden_by=officer,
        hidden_reason="Personal attack.",
    )
    flagged_comment = CommentFactory(proposal=submitted, author=author, body="Hmm.")
    CommentFlag.objects.create(comment=flagged_comment, flagged_by=resident_a, created_at=now)

    # Voting: proposals on the ballots, an online ballot, a walk-in voter on paper
    voting = rounds[Phase.VOTING]
    voting_a = round_area(Phase.VOTING, area_a)
    on_ballot = [
        ProposalFactory(
            budget_round=voting,
            round_area=ra,
            author=author,
            title=f"{ra.area.name} playground",
            estimated_cost=Decimal(cost),
            status=ProposalStatus.FEASIBLE,
        )
        for ra, cost in (
            (voting_a, 4000),
            (voting_a, 6000),
            (round_area(Phase.VOTING, area_b), 5000),
            (round_area(Phase.VOTING, council), 9000),
        )
    ]
    online_ballot = ballot_submit(
        voter=resident_a, round_area=voting_a, proposal_ids=[on_ballot[0].pk], now=now
    )
    walk_in = walk_in_voter_register(
        officer=officer,
        name="Walter Walkin",
        area=area_a,
        date_of_birth=date(1970, 5, 17),
        today=today,
    )
    paper_ballot = paper_ballot_record(
        officer=officer,
        voter=walk_in.user,
        round_area=voting_a,
        proposal_ids=[on_ballot[1].pk],
        now=now,
    )
    paper_voter = ResidentProfileFactory(area=area_a, display_name="Pat Paper")

    # The ledger of the published round, and a draft there never submitted (begun after
    # the count): officers' ledger pages must not show it.
    ledger_draft = ProposalFactory(
        budget_round=results_round,
        round_area=results_a,
        author=resident_a,
        title="Secret draft for the park",
        status=ProposalStatus.DRAFT,
    )
    funded = won["Trees"]
    ledger_services.commitment_record(
        officer=officer,
        proposal=funded,
        amount="1500.00",
        supplier="Green Ltd",
        reference="PO-1",
        document_date=today - timedelta(days=1),
        now=now,
    )
    spend_entry = ledger_services.spend_record(
        officer=officer,
        proposal=funded,
        amount="500.00",
        supplier="Green Ltd",
        reference="INV-1",
        document_date=today,
        description="Saplings",
        now=now,
    )
    ledger_services.delivery_update_record(
        officer=officer,
        proposal=funded,
        status="in_progress",
        note="Planting started.",
        happened_on=today,
        today=today,
        now=now,
    )
    milestone = ledger_services.milestone_add(
        officer=officer,
        proposal=funded,
        title="Saplings planted",
        planned_on=today + timedelta(days=30),
        today=today,
        now=now,
    )
    # Benches, delivered today: carol assessed it; a service user's invitation waits.
    delivered = won["Benches"]
    ledger_services.delivery_update_record(
        officer=officer,
        proposal=delivered,
        status="delivered",
        note="Benches installed.",
        happened_on=today,
        today=today,
        now=now,
    )
    assessment = assessment_submit(
        user=author, proposal=delivered, scores={1: 4, 2: 4, 3: 3, 4: 5}, comment="Comfy.", now=now
    )
    assessment_invitation = assessment_invite(
        officer=officer, proposal=delivered, email="dayc@example.org", note="", now=now
    )
    ledger_export = ledger_services.ledger_export_record(
        auditor=auditor,
        file_format="csv",
        filters={"round": None, "area": "", "from": "", "to": ""},
        now=now,
    )
    # A resident moved to B by an officer while voting is open: pending until it closes.
    mover = ResidentProfileFactory(area=area_a, display_name="Mo Mover")
    area_move = resident_change_area(
        profile=mover, area=area_b, changed_by=officer, reason="Moved house.", now=now
    )
    job_item = _job_item_waiting_for_officer(now=now)
    for name in ("Parks", "Streets"):
        CategoryFactory(budget_round=rounds[Phase.PRIORITIES], name=name)
    theme_suggestion = ThemeSuggestion.objects.create(
        budget_round=rounds[Phase.PRIORITIES], suggested_by=author, name="Lighting", created_at=now
    )
    rounds_advance_phases(now=now)
    for budget_round in rounds.values():
        budget_round.refresh_from_db()

    return World(
        resident_a=resident_a,
        resident_b=resident_b,
        unverified=unverified,
        officer=officer,
        auditor=auditor,
        superuser=superuser,
        area_a=area_a,
        area_b=area_b,
        council=council,
        rounds=rounds,
        category=category,
        draft=draft,
        ledger_draft=ledger_draft,
        submitted=submitted,
        under_review=under_review,
        codesign_offer=codesign_offer,
        amendment=amendment,
        merge=merge,
        proposals_by_status=by_status,
        comment=comment,
        hidden_comment=hidden_comment,
        flagged_comment=flagged_comment,
        voting_a=voting_a,
        voting_council=round_area(Phase.VOTING, council),
        on_ballot=on_ballot[0],
        online_ballot=online_ballot,
        walk_in=walk_in,
        paper_ballot=paper_ballot,
        paper_voter=paper_voter,
        results_a=results_a,
        milestone=milestone,
        funded=funded,
        lost=won["Lights"],
        delivered=delivered,
        assessment=assessment,
        assessment_token=assessment_invitation.token,
        spend_entry=spend_entry,
        ledger_export=ledger_export,
        area_move=area_move,
        job_item=job_item,
        invitation=invitation,
        invitation_token=invitation.token,
        theme_suggestion=theme_suggestion,
    )


def world_user(world: World, role: str) -> Any:
    return None if role == "anonymous" else getattr(world, role)


# --- Fingerprints ----------------------------------------------------------------------


@dataclass(frozen=True)
class _TableQuery:
    name: str
    table: str  # quoted
    columns: str  # quoted, comma-separated
    order: str  # quoted primary key (or first column)


_TABLES: dict[str, list[_TableQuery]] = {}


def _fingerprint_tables(cursor: Any) -> list[_TableQuery]:
    """Every table but the skipped ones, with the columns to hash and the order to hash
    them in. Read once per database (the schema does not change while tests run)."""
    name = connection.settings_dict["NAME"]
    if name not in _TABLES:
        quote = connection.ops.quote_name
        introspection = connection.introspection
        tables = []
        for table in sorted(introspection.table_names(cursor)):
            if table in FINGERPRINT_SKIP_TABLES or table == "django_migrations":
                continue
            columns = [
                column.name
                for column in introspection.get_table_description(cursor, table)
                if column.name not in FINGERPRINT_SKIP_COLUMNS.get(table, ())
            ]
            order = introspection.get_primary_key_column(cursor, table) or columns[0]
            tables.append(
                _TableQuery(table, quote(table), ", ".join(quote(c) for c in columns), quote(order))
            )
        _TABLES[name] = tables
    return _TABLES[name]


def _fingerprint_postgresql(cursor: Any, tables: list[_TableQuery]) -> dict[str, tuple[int, str]]:
    """One round trip: each table's count and the md5 of its rows as text, in key order."""
    parts = [
        "SELECT %s, count(*), md5(coalesce(string_agg(r::text, '|' "  # noqa: S608
        f"ORDER BY r.{t.order}), '')) FROM (SELECT {t.columns} FROM {t.table}) AS r"
        for t in tables
    ]
    cursor.execute(" UNION ALL ".join(parts), [t.name for t in tables])
    return {table: (count, digest[:16]) for table, count, digest in cursor.fetchall()}


def database_fingerprint() -> dict[str, tuple[int, str]]:
    """Per table (all of them, the join tables too): row count and a hash of the rows."""
    with connection.cursor() as cursor:
        tables = _fingerprint_tables(cursor)
        if connection.vendor == "postgresql":
            return _fingerprint_postgresql(cursor, tables)
        fingerprint = {}
        for t in tables:
            cursor.execute(f"SELECT {t.columns} FROM {t.table} ORDER BY {t.order}")  # noqa: S608
            rows = cursor.fetchall()
            digest = hashlib.sha256(repr(rows).encode()).hexdigest()[:16]
            fingerprint[t.name] = (len(rows), digest)
        return fingerprint


def fingerprint_changes(before: dict, after: dict) -> list[str]:
    return sorted(
        f"{table}: {before.get(table)} -> {after.get(table)}"
        for table in before.keys() | after.keys()
        if before.get(table) != after.get(table)
    )


# --- Transactions ----------------------------------------------------------------------


def _testcase_atomic() -> Any:
    atomic = transaction.atomic()
    # What django.test.TestCase sets on its own atomics: a durable block in a service
    # (the ledger export log) may then run inside them, as it does in every other test.
    atomic._from_testcase = True
    return atomic


@contextmanager
def rolled_back() -> Iterator[None]:
    """Everything done inside is undone at the end: the outermost use holds the world,
    each nested use (a savepoint) one request."""
    atomic = _testcase_atomic()
    atomic.__enter__()
    try:
        yield
    finally:
        transaction.set_rollback(True)
        atomic.__exit__(None, None, None)
