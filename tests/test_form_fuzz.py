"""Hypothesis fuzz of every form on the site (issue 10, item 10, second bullet).

Each form is posted by the role that may use it (so the form is really processed)
against one world built once for the module: rounds in every phase that matters, areas,
residents, proposals, a published result with its ledger, a failing job item. Each form
first gets explicit examples: its valid submission (twice with the same one-time token
when it creates something), then each field in turn set to its other valid values and
to its poisons (NUL, a direction override, a C1 control, a lone surrogate, invalid
UTF-8, 5,001 characters; 1e30, 1e400, NaN, -0, 1,000.00, 2**63; 0001-01-01, 2026-02-30,
a time in the spring-forward gap; ids of other rounds and areas). Then Hypothesis draws
valid submissions with none, one or a few fields corrupted by hostile input, some with
raw garbage bytes in the body, some sent twice with the same token.

Per example: no response is a server error (the client does not raise; any status of
500 or more fails with the traceback), and nothing saved breaks a rule (``_invariants``:
clean stored text, ledger amounts and dates within limits, over-allocation explained,
frozen rounds unchanged, ballots only where the voter lives, no double creation from a
replayed token). Each example runs in a savepoint rolled back afterwards.

The number of examples per form is bounded so that the module runs in well under three
minutes on PostgreSQL; examples are derandomized, so CI replays the same ones. The run
ends with a line "form fuzz: N requests, M server errors".
"""

from __future__ import annotations

import os
import re
import time
import traceback
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote_plus

import hypothesis
import pytest
from allauth.account.models import EmailAddress
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F, Model, Sum
from django.db.models.functions import Lower
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from ledgers import services as ledger_services
from ledgers.models import (
    Assessment,
    AssessmentCriterion,
    AssessmentInvitation,
    DeliveryUpdate,
    EntryKind,
    LedgerEntry,
)
from pb_platform import outbox
from pb_platform.dates import EARLIEST_YEAR, LATEST_YEAR, YEARS_BEFORE_ROUND, years_before
from pb_platform.models import JobItem, JobItemStatus
from pb_platform.money import MONEY_MAX
from pb_platform.roles import AUDITOR, OFFICER, RESIDENT, role_grant
from pb_platform.users import User
from proposals.forms import RoundForm
from proposals.models import (
    Area,
    BallotType,
    BudgetRound,
    Category,
    Comment,
    CountingRule,
    Proposal,
    ProposalEvent,
    ProposalStatus,
    ResidentAreaChange,
    ResidentProfile,
    RoundArea,
    RoundChange,
)
from proposals.phases import BOUNDARIES, Phase
from proposals.services import rounds_advance_phases
from proposals.services.areas import POPULATION_MAX
from proposals.services.residents import resident_change_area
from tests.factories import (
    PASSWORD,
    AreaFactory,
    BudgetRoundFactory,
    CategoryFactory,
    CommentFactory,
    ProposalFactory,
    ResidentProfileFactory,
    RoundAreaFactory,
    UserFactory,
)
from tests.matrix_world import published_round
from voting.models import Ballot, BallotChoice, OutreachAction, OutreachKind
from voting.services.ballots import (
    ballot_submit,
    paper_ballot_record,
    walk_in_voter_register,
)
from voting.services.outreach import outreach_earliest_day

# Marked so that pytest-django creates the test database; every example runs in its own
# savepoint inside the module's world (see ``fuzz``).
pytestmark = pytest.mark.django_db

# More examples per form for a deeper run by hand (FORM_FUZZ_SCALE=10); CI runs 1.
SCALE = int(os.environ.get("FORM_FUZZ_SCALE", "1"))
STATS = {"requests": 0, "server_errors": 0, "started": 0.0}
# Per form: how many responses of each status (shown with -v), and the form being fuzzed.
OUTCOMES: dict[str, Counter[int]] = defaultdict(Counter)
CURRENT = {"form": ""}


# --- The world ---------------------------------------------------------------------------


@dataclass
class World:
    resident_a: Any
    resident_b: Any
    officer: Any
    auditor: Any
    area_a: Area
    area_b: Area
    council: Area
    rounds: dict[Phase, BudgetRound]
    category: Category
    other_category: Category  # of another round
    draft: Proposal  # resident_a's, never submitted, submission round
    submitted: Proposal  # resident_a's, submission round, commented
    comment: Comment  # on ``submitted``
    foreign_comment: Comment  # on another proposal
    under_review: Proposal  # review round, area A
    review_other: Proposal  # review round, area B: a duplicate candidate
    voting_a: RoundArea
    voting_b: RoundArea
    on_ballot: list[Proposal]  # voting round: A, A, B, whole council
    paper_voter: ResidentProfile  # lives in A, has not voted
    funded: Proposal  # published round, allocated, committed and partly spent
    funded_other: Proposal  # same round, allocated only
    entries: dict[str, LedgerEntry]  # allocation, commitment, spend of ``funded``
    job_item: JobItem  # waiting for an officer's retry
    sessions: dict[str, str] = field(default_factory=dict)
    # Ids of things that are valid somewhere, for "ids from elsewhere" strategies.
    foreign_ids: list[str] = field(default_factory=list)
    # The rounds past voting as they were made: what no form may change.
    frozen: dict[int, tuple] = field(default_factory=dict)
    made_at: Any = None


def _person(email: str, *, area: Area | None, role: str | None) -> Any:
    user = UserFactory(email=email)
    if area is not None:
        ResidentProfileFactory(user=user, area=area, display_name=email.split("@")[0].title())
    if role is not None:
        role_grant(user=user, role=role)
    return user


def world_build() -> World:
    now = timezone.now()
    today = timezone.localdate()
    area_a = AreaFactory(name="Area A", slug="area-a")
    area_b = AreaFactory(name="Area B", slug="area-b")
    council = AreaFactory(name="Whole council", slug="whole-council", is_city_wide=True)
    resident_a = _person("alex@example.org", area=area_a, role=RESIDENT)
    resident_b = _person("bea@example.org", area=area_b, role=RESIDENT)
    officer = _person("officer@example.org", area=None, role=OFFICER)
    auditor = _person("auditor@example.org", area=None, role=AUDITOR)
    author = _person("carol@example.org", area=area_a, role=RESIDENT)

    rounds: dict[Phase, BudgetRound] = {}
    for phase in (Phase.UPCOMING, Phase.SUBMISSION, Phase.REVIEW, Phase.VOTING):
        rounds[phase] = BudgetRoundFactory(
            phase=phase, name=f"{phase.label} round", slug=f"{phase.value}-round"
        )
        for area in (area_a, area_b, council):
            RoundAreaFactory(budget_round=rounds[phase], area=area, budget=Decimal(30000))
    rounds[Phase.RESULTS], _results_area, won = published_round(area=area_a, now=now)

    def round_area(phase: Phase, area: Area) -> RoundArea:
        return RoundArea.objects.get(budget_round=rounds[phase], area=area)

    submission = rounds[Phase.SUBMISSION]
    category = CategoryFactory(budget_round=submission, name="Green spaces")
    other_category = CategoryFactory(budget_round=rounds[Phase.REVIEW], name="Roads")
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
    comment = CommentFactory(proposal=submitted, author=resident_b, body="Yes please.")
    other = ProposalFactory(budget_round=submission, round_area=sub_a, author=author)
    foreign_comment = CommentFactory(proposal=other, author=author, body="Elsewhere.")

    review = rounds[Phase.REVIEW]
    under_review = ProposalFactory(
        budget_round=review,
        round_area=round_area(Phase.REVIEW, area_a),
        author=author,
        title="Bike racks",
    )
    review_other = ProposalFactory(
        budget_round=review,
        round_area=round_area(Phase.REVIEW, area_b),
        author=author,
        title="More bike racks",
    )

    voting = rounds[Phase.VOTING]
    voting_a = round_area(Phase.VOTING, area_a)
    voting_b = round_area(Phase.VOTING, area_b)
    on_ballot = [
        ProposalFactory(
            budget_round=voting,
            round_area=ra,
            author=author,
            title=f"{ra.area.name} playground {cost}",
            estimated_cost=Decimal(cost),
            status=ProposalStatus.FEASIBLE,
        )
        for ra, cost in (
            (voting_a, 4000),
            (voting_a, 6000),
            (voting_b, 5000),
            (round_area(Phase.VOTING, council), 9000),
        )
    ]
    # Both residents have voted at home: a ballot exists to be changed, never moved.
    ballot_submit(voter=resident_a, round_area=voting_a, proposal_ids=[on_ballot[0].pk], now=now)
    ballot_submit(voter=resident_b, round_area=voting_b, proposal_ids=[on_ballot[2].pk], now=now)
    walk_in = walk_in_voter_register(
        officer=officer,
        name="Walter Walkin",
        area=area_a,
        date_of_birth=date(1970, 5, 17),
        today=today,
    )
    paper_ballot_record(
        officer=officer,
        voter=walk_in.user,
        round_area=voting_a,
        proposal_ids=[on_ballot[1].pk],
        now=now,
    )
    paper_voter = ResidentProfileFactory(area=area_a, display_name="Pat Paper")

    funded = won["Trees"]
    commitment = ledger_services.commitment_record(
        officer=officer,
        proposal=funded,
        amount="1500.00",
        supplier="Green Ltd",
        reference="PO-1",
        document_date=today - timedelta(days=1),
        now=now,
    )
    spend = ledger_services.spend_record(
        officer=officer,
        proposal=funded,
        amount="500.00",
        supplier="Green Ltd",
        reference="INV-1",
        document_date=today,
        description="Saplings",
        now=now,
    )
    allocation = LedgerEntry.objects.get(proposal=funded, kind=EntryKind.ALLOCATION)
    # Benches, delivered: residents of A assess it.
    ledger_services.delivery_update_record(
        officer=officer,
        proposal=won["Benches"],
        status="delivered",
        note="Benches installed.",
        happened_on=today,
        today=today,
        now=now,
    )
    job_item = JobItem.objects.create(
        job="close_voting",
        item_key=str(voting_a.pk),
        label="Counting Area A",
        status=JobItemStatus.NEEDS_OFFICER,
        attempts=5,
        last_error="RuntimeError: boom",
        last_failed_at=now,
        updated_at=now,
    )
    rounds_advance_phases(now=now)
    for budget_round in rounds.values():
        budget_round.refresh_from_db()

    world = World(
        resident_a=resident_a,
        resident_b=resident_b,
        officer=officer,
        auditor=auditor,
        area_a=area_a,
        area_b=area_b,
        council=council,
        rounds=rounds,
        category=category,
        other_category=other_category,
        draft=draft,
        submitted=submitted,
        comment=comment,
        foreign_comment=foreign_comment,
        under_review=under_review,
        review_other=review_other,
        voting_a=voting_a,
        voting_b=voting_b,
        on_ballot=on_ballot,
        paper_voter=paper_voter,
        funded=funded,
        funded_other=won["Benches"],
        entries={"allocation": allocation, "commitment": commitment, "spend": spend},
        job_item=job_item,
    )
    world.foreign_ids = sorted(
        {
            str(pk)
            for model in (Area, BudgetRound, RoundArea, Proposal, Comment, Category)
            for pk in model.objects.values_list("pk", flat=True)
        },
        key=int,
    )
    world.made_at = timezone.now()
    world.frozen = _frozen_snapshot(world.made_at)
    return world


# --- Transactions and requests -----------------------------------------------------------


def _testcase_atomic() -> Any:
    atomic = transaction.atomic()
    # What django.test.TestCase sets on its own atomics: a durable block in a service
    # (the ledger export log) may then run inside them, as it does in every other test.
    atomic._from_testcase = True
    return atomic


@contextmanager
def rolled_back() -> Iterator[None]:
    """Everything done inside is undone at the end (a savepoint when nested)."""
    atomic = _testcase_atomic()
    atomic.__enter__()
    try:
        yield
    finally:
        transaction.set_rollback(True)
        atomic.__exit__(None, None, None)


class _Summary:
    """Registered once by the module fixture: the run's totals at the end of the report."""

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        seconds = time.monotonic() - STATS["started"] if STATS["started"] else 0.0
        terminalreporter.write_line(
            f"form fuzz: {STATS['requests']} requests, {STATS['server_errors']} server errors"
            f" ({seconds:.0f} s)"
        )
        if terminalreporter.verbosity > 0:
            for form, statuses in OUTCOMES.items():
                counts = " ".join(f"{code}x{n}" for code, n in sorted(statuses.items()) if n)
                terminalreporter.write_line(f"  {form}: {counts}")


@pytest.fixture(scope="module")
def fuzz(request, django_db_setup, django_db_blocker):
    plugins = request.config.pluginmanager
    if not plugins.has_plugin("form-fuzz-summary"):
        plugins.register(_Summary(), "form-fuzz-summary")
    STATS["started"] = time.monotonic()
    hashers = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # allauth's rate limits would answer 429 after a few sign-ups: the fuzz wants the
    # forms themselves to see every example.
    with (
        django_db_blocker.unblock(),
        override_settings(PASSWORD_HASHERS=hashers, ACCOUNT_RATE_LIMITS=False),
        rolled_back(),
    ):
        world = world_build()
        for role in ("resident_a", "resident_b", "officer", "auditor"):
            client = Client()
            client.force_login(getattr(world, role))
            world.sessions[role] = client.session.session_key
        yield world


def _client(world: World, role: str) -> Client:
    client = Client(raise_request_exception=False)
    if role != "anonymous":
        client.cookies[settings.SESSION_COOKIE_NAME] = world.sessions[role]
    return client


Value = str | bytes | list[str | bytes]


def _encode(value: str | bytes) -> bytes:
    """A form value as it travels: text percent-encoded as UTF-8 (a lone surrogate as the
    invalid bytes a broken client would send), bytes raw and unescaped."""
    if isinstance(value, bytes):
        return value
    return quote_plus(value.encode("utf-8", "surrogatepass")).encode("ascii")


def form_body(data: dict[str, Value]) -> bytes:
    parts = []
    for name, value in data.items():
        for item in value if isinstance(value, list) else [value]:
            parts.append(_encode(name) + b"=" + _encode(item))
    return b"&".join(parts)


def send(client: Client, method: str, url: str, body: bytes) -> Any:
    """One request; a server error (or an exception, also while streaming the response)
    is counted and fails the example with its traceback."""
    STATS["requests"] += 1
    outcomes = OUTCOMES[CURRENT["form"]]
    if method == "GET":
        response = client.generic("GET", url, QUERY_STRING=body.decode("latin-1"))
    else:
        response = client.generic(
            "POST", url, body, content_type="application/x-www-form-urlencoded"
        )
    trace = ""
    if getattr(response, "exc_info", None):
        trace = "".join(traceback.format_exception(*response.exc_info[:3]))
    elif hasattr(response, "streaming_content"):
        try:
            b"".join(response.streaming_content)
        except Exception:
            trace = traceback.format_exc()
    if response.status_code >= 500 or trace:
        STATS["server_errors"] += 1
        pytest.fail(
            f"{method} {url} -> {response.status_code}\nbody: {body[:500]!r}\n{trace}",
            pytrace=False,
        )
    outcomes[response.status_code] += 1
    return response


# --- Hostile values ----------------------------------------------------------------------

CONTROL_AND_BIDI = [
    *(chr(c) for c in range(0x00, 0x20)),
    "\x7f",
    *(chr(c) for c in range(0x80, 0xA0)),
    *(chr(c) for c in range(0x202A, 0x202F)),
    *(chr(c) for c in range(0x2066, 0x206A)),
    "\u200e",  # allowed marks, to check they are not refused for the wrong reason
    "\u200f",
    "\ufeff",
    "\ud800",  # lone surrogates: invalid UTF-8 once encoded
    "\udfff",
]
NASTY_STRINGS = [
    "\x00",
    "a\x00b",
    "Benches\u202e",
    "\u2066evil\u2069",
    "\u202egnp.exe",
    "line\nbreak",
    "tab\there",
    "\r\n",
    "\x85next line",
    "   ",
    "<script>alert(1)</script>",
    "'; DROP TABLE proposals_proposal; --",
    "' OR '1'='1",
    "{{ settings.SECRET_KEY }}",
    "{% debug %}",
    "%s%s%s%n",
    '=HYPERLINK("http://x")',
    "../../etc/passwd",
    "\ud83d",
    "😀" * 3,
    "Ω≈ç√∫",
    "ﷺ" * 10,
    "\u0301" * 50,
]
RAW_BYTES = [
    b"\xff",
    b"\xfe\xff",
    b"\xc3\x28",
    b"\xed\xa0\x80",
    b"\xc0\xaf",
    b"\x80abc",
    b"%FF%FE%00",
    b"%",
    b"%zz",
    b"a=b=c",
    b"&&&",
]
LONG_LENGTHS = [201, 1_001, 5_001, 100_001]


def _inserted(values: list[str]) -> st.SearchStrategy[str]:
    """One invisible or hostile character slipped into a value a person might type."""
    return st.builds(
        lambda value, position, char: value[:position] + char + value[position:],
        st.sampled_from(values),
        st.integers(0, 40),
        st.sampled_from(CONTROL_AND_BIDI),
    )


def hostile_text(*typical: str) -> st.SearchStrategy[str | bytes]:
    """Hostile text; ``typical`` values (what the field usually holds) get characters
    slipped in, the most likely way control and direction characters arrive (pasted)."""
    inserted = _inserted([value for value in typical if value] or ["Some text"])
    return st.one_of(
        inserted,
        inserted,
        st.sampled_from(NASTY_STRINGS),
        st.text(
            alphabet=st.one_of(st.sampled_from(CONTROL_AND_BIDI), st.characters()),
            min_size=1,
            max_size=60,
        ),
        st.builds(lambda n, c: c * n, st.sampled_from(LONG_LENGTHS), st.sampled_from("xé😀\n ")),
        st.builds(
            lambda a, raw, b: a.encode() + raw + b.encode(),
            st.text("abc", max_size=3),
            st.sampled_from(RAW_BYTES),
            st.text("abc", max_size=3),
        ),
    )


EXOTIC_NUMBERS = [
    "1e30",
    "1e400",
    "-1e400",
    "1E5",
    "NaN",
    "nan",
    "sNaN",
    "Infinity",
    "-Infinity",
    "inf",
    "-0",
    "0",
    "0.00",
    "-1",
    "-0.01",
    "0.001",
    "1.005",
    "1,000.00",
    "1.000,50",
    "1 000",
    "1\u00a0000",
    "1_000",
    "+5",
    "12.",
    ".5",
    "0x10",
    "١٢٣",
    "１２３",
    str(2**31),
    str(2**31 - 1),
    str(2**63),
    str(2**64),
    str(-(2**63)),
    "999999999999.99",
    "1000000000000",
    "99999999999999999999999999",
    "1" * 400,
    "",
    " ",
    "\x00",
    "5\x00",
]


def hostile_number() -> st.SearchStrategy[str | bytes]:
    return st.one_of(
        st.sampled_from(EXOTIC_NUMBERS),
        st.integers().map(str),
        st.decimals(allow_nan=True, allow_infinity=True).map(str),
        st.floats().map(repr),
        hostile_text(),
    )


IMPOSSIBLE_DATES = [
    "0001-01-01",
    "9999-12-31",
    "2026-02-30",
    "2026-13-01",
    "2026-00-10",
    "0000-00-00",
    "1899-12-31",
    "2201-01-01",
    "1900-01-01",
    "garbage",
    "",
    "31/12/2026",
    "12/31/2026",
    "2026-1-1",
    "1e9",
    "-2026-01-01",
    "99999-01-01",
    "2026-12-04T25:00",
    "2026-12-04\x00",
]
IMPOSSIBLE_DATETIMES = [
    "0001-01-01T00:00",
    "9999-12-31T23:59",
    "2026-02-30T10:00",
    "2027-03-28T01:30",  # in the spring-forward gap in London
    "2027-10-31T01:30",  # happens twice in London
    "2026-12-04T24:00",
    "2026-12-04T23:60",
    "2026-12-04 10:00:00+14:00",
    "2026-12-04T10:00:00.999999999",
    "1899-12-31T23:59",
    "2201-01-01T00:00",
    "garbage",
    "",
    "1e9",
]


def _days_from_today(days: int) -> str:
    return (timezone.localdate() + timedelta(days=days)).isoformat()


def hostile_date(*, with_time: bool = False) -> st.SearchStrategy[str | bytes]:
    fixed = IMPOSSIBLE_DATETIMES if with_time else IMPOSSIBLE_DATES
    near = st.integers(-5000, 5000).map(_days_from_today)
    if with_time:
        near = near.map(lambda day: f"{day}T12:00")
    return st.one_of(
        st.sampled_from(fixed),
        near,
        st.dates().map(date.isoformat),
        hostile_text(),
    )


def hostile_id(world: World) -> st.SearchStrategy[str | bytes]:
    return st.one_of(
        st.sampled_from(world.foreign_ids),
        st.sampled_from(
            ["abc", "-1", "0", "", "1.5", "1e3", "١", str(2**31), str(2**63), str(2**64), "1 2"]
        ),
        st.integers().map(str),
        hostile_text(),
    )


HOSTILE_BOOLEANS = ["on", "off", "true", "false", "True", "1", "0", "", "\x00", "yes", "no"]


def hostile_token() -> st.SearchStrategy[str | bytes]:
    return st.one_of(
        st.sampled_from(["not-a-uuid", "", "0" * 32, f"{{{uuid.UUID(int=1)}}}", "\x00"]),
        hostile_text(),
    )


# --- What each form sends --------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """A form field: the value a careful person would send (``base``), other valid
    values, hostile ones for Hypothesis to draw from, and the ``poisons`` every example
    run tries first, one at a time in an otherwise valid submission."""

    base: Value
    valid: st.SearchStrategy[Any]
    hostile: st.SearchStrategy[Any]
    poisons: tuple[Value, ...] = ()
    # The other valid values, each also tried first in an otherwise valid submission
    # (e.g. an amount beyond the allocation with no reason).
    alternatives: tuple[Value, ...] = ()


def _field(values: list[Any], hostile: st.SearchStrategy[Any], poisons: Any = ()) -> Field:
    return Field(values[0], st.sampled_from(values), hostile, tuple(poisons), tuple(values[1:]))


def _text_poisons(value: str) -> list[Value]:
    value = value or "Text"
    middle = len(value) // 2
    return [
        value[:middle] + "\x00" + value[middle:],
        value + "\u202e",
        "\u2066" + value + "\u2069",
        value[:middle] + "\x85" + value[middle:],
        "\x1b[31m" + value,
        value + "\ud800",
        value.encode() + b"\xff\xfe",
        value[:middle] + "\n" + value[middle:],
        "x" * 5_001,
    ]


MONEY_POISONS = ["1e30", "1e400", "NaN", "-Infinity", "-0", "1,000.00", "0.001", str(2**63)]
NUMBER_POISONS = ["1e30", "NaN", str(2**31), str(2**63), "-1", "1.5", "\x00"]
DATE_POISONS = ["0001-01-01", "9999-12-31", "2026-02-30", "1899-12-31", "garbage"]
DATETIME_POISONS = [
    "0001-01-01T00:00",
    "9999-12-31T23:59",
    "2026-02-30T10:00",
    "2027-03-28T01:30",  # in the spring-forward gap in London
    "2027-10-31T01:30",  # happens twice in London
    "garbage",
]
ID_POISONS = ["abc", "-1", "0", str(2**63), "1.5", "\x00"]


def text(*values: str) -> Field:
    return _field(list(values), hostile_text(*values), _text_poisons(values[0]))


def money(*values: str) -> Field:
    return _field([*values, "0.01", "250.5"], hostile_number(), MONEY_POISONS)


def number(*values: str) -> Field:
    return _field(list(values), hostile_number(), NUMBER_POISONS)


def day(*values: str) -> Field:
    return _field(list(values), hostile_date(), [*DATE_POISONS, _days_from_today(1)])


def moment(value: Any) -> Field:
    """A datetime-local value: an aware datetime, or days from now."""
    if isinstance(value, int):
        value = timezone.now() + timedelta(days=value)
    stamp = timezone.localtime(value).strftime("%Y-%m-%dT%H:%M")
    return _field([stamp], hostile_date(with_time=True), DATETIME_POISONS)


def choice(world: World, *values: str) -> Field:
    return _field(
        list(values), st.one_of(hostile_id(world), hostile_text()), ["garbage", "\x00", ""]
    )


def ident(world: World, *values: Any, hostile: Any = None) -> Field:
    strategy = hostile_id(world)
    elsewhere = [str(v) for v in hostile or []]
    if elsewhere:
        strategy = st.one_of(st.sampled_from(elsewhere), strategy)
    return _field([str(v) for v in values], strategy, [*elsewhere, *ID_POISONS])


def boolean(*values: str) -> Field:
    return _field(list(values) or ["on", ""], st.sampled_from(HOSTILE_BOOLEANS), ["\x00", "x"])


def _past(days: int = 0) -> str:
    return _days_from_today(-days)


@dataclass(frozen=True)
class Spec:
    """One form: who sends it where, its fields, and what it creates (for replays)."""

    name: str
    role: str
    targets: Callable[[World], list[str]]
    fields: Callable[[World], dict[str, Field]]
    method: str = "POST"
    creates: tuple[type[Model], ...] = ()
    examples: int = 40
    # Done (through the services) before each request, inside the example's savepoint.
    prepare: Callable[[World], None] | None = None
    # Whether each field's poisons are tried first (off where another form of the same
    # fields already tries them, to keep the module's time down).
    poisoned: bool = True


def _url(name: str, *args: Any) -> str:
    return reverse(name, args=args)


def _round_create_fields(world: World) -> dict[str, Field]:
    fields = {
        "name": text("Riverside fund", "Youth budget 2027", "submission ROUND"),
        "description": text("Money for the riverside.", "Two\nlines."),
        "currency": choice(world, "GBP", "EUR", "PLN"),
        "total_budget": money("100000"),
        "counting_rule": choice(world, *CountingRule.values),
        "ballot_type": choice(world, *BallotType.values),
        "max_choices": number("3", ""),
        "submission_starts": moment(10),
        "review_starts": moment(20),
        "voting_starts": moment(30),
        "voting_ends": moment(40),
        "delivery_starts": moment(50),
        "delivery_ends": moment(400),
    }
    for area in (world.area_a, world.area_b, world.council):
        fields[f"area_{area.pk}"] = money("30000", "")
    return fields


def _round_edit_fields(phase: Phase) -> Callable[[World], dict[str, Field]]:
    """What the edit page would send back unchanged (so the corrupted fields alone
    decide), with a new name or later dates among the valid values."""

    def fields(world: World) -> dict[str, Field]:
        budget_round = world.rounds[phase]
        initial = RoundForm.initial_for(budget_round)
        result: dict[str, Field] = {
            "name": text(budget_round.name, f"{budget_round.name} renamed", "Voting ROUND"),
            "description": text(initial["description"], "New words."),
            "currency": choice(world, initial["currency"], "EUR"),
            "total_budget": money(str(initial["total_budget"]), "1"),
            "counting_rule": choice(world, initial["counting_rule"], *CountingRule.values),
            "ballot_type": choice(world, initial["ballot_type"], *BallotType.values),
            "max_choices": number(str(initial["max_choices"] or ""), "2"),
            "reason": text("", "Extended after a power cut."),
        }
        for name, _phase in BOUNDARIES:
            stored = initial[name]
            result[name] = _field(
                [timezone.localtime(stored).strftime("%Y-%m-%dT%H:%M")]
                + [
                    timezone.localtime(stored + timedelta(days=d)).strftime("%Y-%m-%dT%H:%M")
                    for d in (-2, 1)
                ],
                hostile_date(with_time=True),
                DATETIME_POISONS,
            )
        for area in (world.area_a, world.area_b, world.council):
            stored = initial.get(RoundForm.area_field_name(area))
            result[f"area_{area.pk}"] = money("" if stored is None else str(stored), "10")
        return result

    return fields


def _proposal_fields(world: World) -> dict[str, Field]:
    submission = world.rounds[Phase.SUBMISSION]
    own = RoundArea.objects.get(budget_round=submission, area=world.area_a).pk
    council = RoundArea.objects.get(budget_round=submission, area=world.council).pk
    elsewhere = [
        RoundArea.objects.get(budget_round=submission, area=world.area_b).pk,
        world.voting_a.pk,
    ]
    return {
        "title": text("Benches on the green", "A new playground"),
        "description": text("Three benches.", "Swings\r\nand a slide."),
        "round_area": ident(world, own, council, hostile=elsewhere),
        "category": ident(world, world.category.pk, "", hostile=[world.other_category.pk]),
        "estimated_cost": money("1250.50"),
        "location": text("The green", ""),
        "image_description": text(""),
        "action": choice(world, "submit", "save"),
    }


LEDGER_FIELDS: dict[str, Callable[[World], dict[str, Field]]] = {
    "commitment": lambda w: {
        "amount": money("100.00", "5000"),
        "supplier": text("Green Ltd"),
        "reference": text("PO-2"),
        "document_date": day(_past(), _past(30)),
        "description": text("Trees", ""),
        "reason": text("", "Prices rose."),
    },
    "spend": lambda w: {
        "amount": money("100.00", "5000"),
        "supplier": text("Green Ltd"),
        "reference": text("INV-2"),
        "document_date": day(_past(), _past(30)),
        "description": text("Saplings"),
        "reason": text("", "Prices rose."),
    },
    "release": lambda w: {"amount": money("100.00", "1800"), "reason": text("Under budget.")},
    "delivery": lambda w: {
        "status": choice(w, "not_started", "in_progress", "delivered", "cancelled"),
        "happened_on": day(_past(), _past(30)),
        "note": text("Planting finished.", "Two\nlines."),
    },
}


def _ledger_fields(kind: str) -> Callable[[World], dict[str, Field]]:
    def fields(world: World) -> dict[str, Field]:
        prefixed = {f"{kind}-{name}": f for name, f in LEDGER_FIELDS[kind](world).items()}
        return {"form": choice(world, kind, "commitment", "delivery"), **prefixed}

    return fields


def _ballot_fields(world: World) -> dict[str, Field]:
    in_a = [str(p.pk) for p in world.on_ballot if p.round_area_id == world.voting_a.pk]
    elsewhere = [str(p.pk) for p in world.on_ballot if p.round_area_id != world.voting_a.pk]
    return {
        "proposals": Field(
            in_a[:1],
            st.lists(st.sampled_from(in_a), min_size=1, max_size=2, unique=True),
            st.lists(
                st.one_of(st.sampled_from([*elsewhere, str(world.funded.pk)]), hostile_id(world)),
                min_size=1,
                max_size=5,
            ),
            (
                elsewhere,
                [in_a[0], elsewhere[0]],
                [in_a[0]] * 1000,
                ["abc"],
                [str(2**63)],
                [in_a[0], "\x00"],
            ),
        ),
        "action": choice(world, "save", "check"),
    }


def _paper_fields(world: World) -> dict[str, Field]:
    fields = _ballot_fields(world)
    del fields["action"]
    return fields


def _move_resident_a_to_b(world: World) -> None:
    """An officer moves resident A to area B while voting is open (the move waits)."""
    resident_change_area(
        profile=world.resident_a.resident_profile,
        area=world.area_b,
        changed_by=world.officer,
        reason="Moved house.",
        now=timezone.now(),
    )


def specs() -> list[Spec]:
    voting = "voting-round"
    return [
        Spec(
            "round create",
            "officer",
            lambda w: [_url("proposals:officer_round_create")],
            _round_create_fields,
            creates=(BudgetRound, RoundArea),
            examples=40,
        ),
        *(
            Spec(
                f"round edit {phase.value}",
                "officer",
                lambda w, phase=phase: [_url("proposals:officer_round_edit", w.rounds[phase].slug)],
                _round_edit_fields(phase),
                examples=15,
                # Editable (upcoming) and frozen (voting) get every poison; the others
                # their valid submission and drawn examples.
                poisoned=phase in (Phase.UPCOMING, Phase.VOTING),
            )
            for phase in (Phase.UPCOMING, Phase.SUBMISSION, Phase.VOTING, Phase.RESULTS)
        ),
        Spec(
            "area create",
            "officer",
            lambda w: [_url("proposals:officer_areas")],
            lambda w: {
                "name": text("Northgate", "area a", "Southgate"),
                "population": number("12000", "", str(POPULATION_MAX)),
                "is_city_wide": boolean("", "on"),
            },
            creates=(Area,),
        ),
        Spec(
            "area edit",
            "officer",
            lambda w: [_url("proposals:officer_area_edit", a.pk) for a in (w.area_a, w.council)],
            lambda w: {
                "name": text("Area A", "Area A renamed", "area b"),
                "population": number("12000", ""),
                "is_city_wide": boolean("", "on"),
            },
        ),
        Spec(
            "category",
            "officer",
            lambda w: [
                _url("proposals:officer_categories", w.rounds[phase].slug)
                for phase in (Phase.SUBMISSION, Phase.UPCOMING, Phase.VOTING)
            ],
            lambda w: {"name": text("Play", "green SPACES", "Roads")},
            creates=(Category,),
        ),
        Spec(
            "resident area change",
            "officer",
            lambda w: [
                _url("proposals:officer_resident_area", profile.pk)
                # resident A first: they have voted, so their move must wait.
                for profile in (
                    w.resident_a.resident_profile,
                    w.resident_b.resident_profile,
                    w.paper_voter,
                )
            ],
            lambda w: {
                "area": ident(w, w.area_b.pk, w.area_a.pk, hostile=[w.council.pk]),
                "reason": text("Moved house, proof of address seen."),
            },
        ),
        Spec(
            "proposal review",
            "officer",
            lambda w: [_url("proposals:proposal_review", w.under_review.pk)],
            lambda w: {
                "action": choice(w, "review", "return", "duplicate"),
                "decision": choice(w, "feasible", "not_feasible"),
                "official_cost": money("900", "50001"),
                "reason": text("", "Not council land."),
                "message": text("Please add a location."),
                "original": ident(w, w.review_other.pk, hostile=[w.submitted.pk, w.draft.pk]),
                "duplicate_reason": text("Same idea."),
            },
        ),
        Spec(
            "comment hide",
            "officer",
            lambda w: [_url("proposals:comment_hide", w.comment.pk)],
            lambda w: {"reason": text("Personal attack.")},
            examples=25,
        ),
        Spec(
            "paper ballot",
            "officer",
            lambda w: [
                _url("voting:paper_ballot", voting, profile.pk, area.slug)
                for profile in (w.paper_voter, w.resident_b.resident_profile)
                for area in (w.area_a, w.council)
            ],
            _paper_fields,
        ),
        Spec(
            "outreach",
            "officer",
            lambda w: [
                _url("voting:participation_outreach", slug)
                for slug in (voting, "upcoming-round", "no-such-round")
            ],
            lambda w: {
                "area": ident(w, w.area_a.pk, w.council.pk),
                "kind": choice(w, *OutreachKind.values),
                "happened_on": day(_past(), _past(1)),
                "description": text("A stall at the market.", "Leaflets\r\nto every door."),
            },
            creates=(OutreachAction,),
            examples=30,
        ),
        Spec(
            "assessment",
            "resident_a",
            lambda w: [_url("ledgers:assessment_edit", w.funded_other.pk)],
            lambda w: {
                **{f"score_{n}": choice(w, "1", "3", "5") for n in range(1, 5)},
                "comment": text("Comfy and well placed.", "Two\r\nlines.", ""),
            },
            creates=(Assessment,),
            examples=30,
        ),
        Spec(
            "assessment invitation",
            "officer",
            lambda w: [
                _url("ledgers:officer_assessments", pk) for pk in (w.funded_other.pk, w.funded.pk)
            ],
            lambda w: {
                "form": choice(w, "invite"),
                "invite-email": text("day.centre@example.org", "a.b@example.org"),
                "invite-note": text("Day centre", ""),
            },
            creates=(AssessmentInvitation,),
            examples=20,
        ),
        Spec(
            "assessment settings",
            "officer",
            lambda w: [
                _url("ledgers:round_assessments", slug) for slug in ("parks", "voting-round")
            ],
            lambda w: {
                "window_months": number("12", "1", "36"),
                "criteria": text("Safe\nUseful", "Meets the need\r\nQuality", "One"),
            },
            examples=20,
        ),
        Spec(
            "walk-in voter",
            "officer",
            lambda w: [_url("voting:walk_in", voting)],
            lambda w: {
                "name": text("Wendy Walkin", "Pat Paper"),
                "area": ident(w, w.area_a.pk, w.area_b.pk, hostile=[w.council.pk]),
                "date_of_birth": day("1980-03-27", "1920-01-01"),
            },
            creates=(ResidentProfile,),
        ),
        *(
            Spec(
                f"ledger {kind}",
                "officer",
                lambda w: [
                    _url("ledgers:officer_proposal", w.funded.pk),
                    _url("ledgers:officer_proposal", w.funded_other.pk),
                    _url("ledgers:officer_proposal", w.submitted.pk),
                ],
                _ledger_fields(kind),
                creates=(DeliveryUpdate,) if kind == "delivery" else (LedgerEntry,),
            )
            for kind in ("commitment", "spend", "release", "delivery")
        ),
        Spec(
            "ledger reversal",
            "officer",
            lambda w: [
                _url("ledgers:officer_reverse", w.entries[kind].pk)
                for kind in ("spend", "commitment", "allocation")
            ],
            lambda w: {"reason": text("Typed the wrong amount.")},
            creates=(LedgerEntry,),
            examples=30,
        ),
        Spec(
            "job retry",
            "officer",
            lambda w: [_url("job_item_retry", w.job_item.pk), _url("job_item_retry", 2**63)],
            lambda w: {"extra": text("")},
            examples=10,
        ),
        Spec(
            "comment",
            "resident_a",
            lambda w: [_url("proposals:proposal_detail", w.submitted.pk)],
            lambda w: {
                "body": text("Good idea.", "Yes\r\nplease."),
                "parent": ident(w, "", w.comment.pk, hostile=[w.foreign_comment.pk]),
            },
            creates=(Comment,),
        ),
        Spec(
            "comment flag",
            "resident_a",
            lambda w: [_url("proposals:comment_flag", w.comment.pk)],
            lambda w: {"reason": text("")},
            examples=10,
        ),
        Spec(
            "proposal create",
            "resident_a",
            lambda w: [_url("proposals:proposal_new", "submission-round")],
            _proposal_fields,
            creates=(Proposal,),
            examples=45,
        ),
        Spec(
            "proposal edit",
            "resident_a",
            lambda w: [_url("proposals:proposal_edit", w.draft.pk)],
            _proposal_fields,
        ),
        Spec(
            "proposal withdraw",
            "resident_a",
            lambda w: [_url("proposals:proposal_withdraw", w.submitted.pk)],
            lambda w: {"confirm": text("yes")},
            examples=10,
        ),
        Spec(
            "ballot",
            "resident_a",
            lambda w: [
                _url("voting:ballot", voting, area.slug) for area in (w.area_a, w.area_b, w.council)
            ],
            _ballot_fields,
            examples=40,
        ),
        Spec(
            "ballot after a move",
            "resident_a",
            lambda w: [
                _url("voting:ballot", voting, area.slug) for area in (w.area_b, w.area_a, w.council)
            ],
            _ballot_fields,
            examples=20,
            prepare=_move_resident_a_to_b,
        ),
        Spec(
            "account email add",
            "resident_a",
            lambda w: [_url("account_email")],
            lambda w: {"email": text("second@example.org"), "action_add": text("")},
            examples=20,
        ),
        Spec(
            "password change",
            "resident_a",
            lambda w: [_url("account_change_password")],
            lambda w: {
                "oldpassword": text(PASSWORD),
                "password1": text("another-Long-passw0rd"),
                "password2": text("another-Long-passw0rd"),
            },
            examples=20,
        ),
        Spec(
            "email preferences",
            "resident_a",
            lambda w: [_url("email_preferences")],
            lambda w: {k.name: boolean() for k in outbox.KINDS.values() if k.unsubscribable},
            examples=20,
        ),
        Spec(
            "email unsubscribe",
            "anonymous",
            lambda w: (
                [
                    _url(
                        "email_unsubscribe",
                        outbox.unsubscribe_token(user_id=w.resident_a.pk, kind=k),
                    )
                    for k in outbox.KINDS
                ]
                + [_url("email_unsubscribe", "bad-token"), _url("email_unsubscribe", "x" * 2000)]
            ),
            lambda w: {"List-Unsubscribe": text("One-Click")},
            examples=15,
        ),
        Spec(
            "sign up",
            "anonymous",
            lambda w: [_url("account_signup")],
            lambda w: {
                "email": text("new@example.org", "ALEX@example.org"),
                "password1": text(PASSWORD),
                "password2": text(PASSWORD),
                "display_name": text("New Neighbour"),
                "area": ident(w, w.area_a.pk, w.area_b.pk, hostile=[w.council.pk]),
            },
            creates=(ResidentProfile,),
            examples=40,
        ),
        Spec(
            "sign in",
            "anonymous",
            lambda w: [_url("account_login")],
            lambda w: {
                "login": text("alex@example.org", "nobody@example.org"),
                "password": text(PASSWORD),
                "remember": boolean(),
            },
            examples=30,
        ),
        Spec(
            "password reset",
            "anonymous",
            lambda w: [_url("account_reset_password")],
            lambda w: {"email": text("alex@example.org")},
            examples=15,
        ),
        Spec(
            "residents search",
            "officer",
            lambda w: [_url("proposals:officer_residents")],
            lambda w: {"q": text("Pat", "alex", ""), "page": number("1", "2")},
            method="GET",
            examples=30,
        ),
        Spec(
            "paper voters search",
            "officer",
            lambda w: [_url("voting:paper_voters", voting)],
            lambda w: {"q": text("Pat", "alex", ""), "page": number("1", "2")},
            method="GET",
            examples=30,
        ),
        Spec(
            "proposal list filters",
            "anonymous",
            lambda w: [
                _url("proposals:round_proposals", slug) for slug in ("submission-round", voting)
            ],
            lambda w: {
                "q": text("bench", ""),
                "area": ident(w, ""),
                "category": ident(w, "", w.category.pk),
                "status": choice(w, "", "submitted", "feasible"),
                "sort": choice(w, "newest", "cost", "cost_desc", "title"),
                "page": number("1"),
            },
            method="GET",
            examples=40,
        ),
        Spec(
            "audit ledger filters",
            "auditor",
            lambda w: [
                _url("ledgers:audit_entries"),
                _url("ledgers:audit_export", "csv"),
                _url("ledgers:audit_export", "json"),
            ],
            lambda w: {
                "round": ident(w, "", w.rounds[Phase.RESULTS].pk),
                "area": choice(w, "", "area-a", "whole-council"),
                "recorded_from": day("", _past(30)),
                "recorded_to": day("", _past()),
                "page": number("1"),
            },
            method="GET",
            examples=30,
        ),
    ]


SPECS = specs()


@st.composite
def submissions(draw: Any, fields: dict[str, Field], *, with_token: bool) -> dict[str, Value]:
    """A valid submission with none, one (most often) or a few fields corrupted; now and
    then a field left out or an unexpected one added."""
    data: dict[str, Value] = {name: draw(spec.valid) for name, spec in fields.items()}
    corrupted = draw(st.sampled_from([0, 1, 1, 1, 2, 3]))
    for name in draw(st.permutations(sorted(fields)))[:corrupted]:
        data[name] = draw(fields[name].hostile)
    if draw(st.integers(0, 9)) == 0:
        data.pop(draw(st.sampled_from(sorted(fields))))
    if draw(st.integers(0, 9)) == 0:
        data[draw(hostile_text().filter(lambda n: isinstance(n, str)))] = draw(hostile_text())
    if with_token:
        data["submission_token"] = draw(
            st.one_of(st.uuids().map(str), st.uuids().map(str), hostile_token())
        )
    return data


# How the body travels: as the form was filled in, after some raw garbage, or garbage only.
BODY_MODES = ["form", "form", "form", "form", "garbage-first", "garbage-only"]


# --- Invariants --------------------------------------------------------------------------

_CONTROL = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
_BIDI = "\u202a-\u202e\u2066-\u2069"
_BAD_MULTILINE = re.compile(f"[{_CONTROL}{_BIDI}\r]")
_BAD_ONE_LINE = re.compile(f"[{_CONTROL}{_BIDI}\t\n\r]")
_SURROGATE = re.compile("[\ud800-\udfff]")

# Every stored text a form can write: (model, field, multi-line).
TEXTS: list[tuple[type[Model], str, bool]] = [
    (User, "email", False),
    (User, "username", False),
    (EmailAddress, "email", False),
    (Area, "name", False),
    (BudgetRound, "name", False),
    (BudgetRound, "description", True),
    (RoundChange, "reason", True),
    (Category, "name", False),
    (Proposal, "title", False),
    (Proposal, "description", True),
    (Proposal, "location", False),
    (Proposal, "image_description", False),
    (Proposal, "status_reason", True),
    (ProposalEvent, "reason", True),
    (Comment, "body", True),
    (Comment, "hidden_reason", True),
    (ResidentProfile, "display_name", False),
    (ResidentAreaChange, "reason", True),
    (LedgerEntry, "supplier", False),
    (LedgerEntry, "reference", False),
    (LedgerEntry, "description", False),
    (LedgerEntry, "reason", True),
    (DeliveryUpdate, "note", True),
    (OutreachAction, "description", True),
]


def _frozen_snapshot(since: Any) -> dict[int, tuple]:
    """What may not change in a round once voting opened: its rules, money, areas and
    budgets, and every phase date passed by ``since`` (the world's making)."""
    rounds = BudgetRound.objects.filter(state__in=[Phase.VOTING, Phase.RESULTS]).order_by("pk")
    return {
        r.pk: (
            r.currency,
            r.counting_rule,
            r.ballot_type,
            r.max_choices,
            r.total_budget,
            [(name, getattr(r, name)) for name, _p in BOUNDARIES if getattr(r, name) <= since],
            sorted(r.round_areas.values_list("area_id", "budget")),
        )
        for r in rounds
    }


def _invariants(world: World, spec: Spec) -> None:
    problems: list[str] = []
    for model, name, multiline in TEXTS:
        pattern = _BAD_MULTILINE if multiline else _BAD_ONE_LINE
        for pk, value in model.objects.values_list("pk", name):
            if value and (pattern.search(value) or _SURROGATE.search(value)):
                problems.append(f"{model.__name__} {pk} {name} = {value[:80]!r}")
            elif value and value != value.strip():
                problems.append(f"{model.__name__} {pk} {name} not trimmed: {value[:80]!r}")

    today = timezone.localdate()
    # The ledger, read once: amounts, dates, and every balance beyond its allocation
    # explained by a reason on the entries that took it there.
    entries = list(LedgerEntry.objects.select_related("budget_round").order_by("pk"))
    totals: dict[int, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for entry in entries:
        if not (0 < entry.amount <= MONEY_MAX):
            problems.append(f"ledger entry {entry.pk}: amount {entry.amount}")
        if entry.document_date is not None:
            earliest = years_before(entry.budget_round.submission_starts.date(), YEARS_BEFORE_ROUND)
            if not (earliest <= entry.document_date <= today):
                problems.append(f"ledger entry {entry.pk}: dated {entry.document_date}")
        balance = totals[entry.proposal_id]
        balance["allocated"] += entry.allocated_delta
        balance["committed"] += entry.committed_delta
        balance["spent"] += entry.spent_delta
        for kind, total in ((EntryKind.COMMITMENT, "committed"), (EntryKind.SPEND, "spent")):
            if entry.kind == kind and balance[total] > balance["allocated"] and not entry.reason:
                problems.append(f"ledger entry {entry.pk}: {total} beyond allocation, no reason")
        if entry.kind == EntryKind.RELEASE and balance["spent"] > balance["allocated"]:
            problems.append(f"ledger entry {entry.pk}: released money already spent")
        if any(value < 0 for value in balance.values()):
            problems.append(f"ledger entry {entry.pk}: a balance below zero {dict(balance)}")
    for update in DeliveryUpdate.objects.all():
        if update.happened_on > today or update.happened_on.year < EARLIEST_YEAR:
            problems.append(f"delivery update {update.pk}: dated {update.happened_on}")
    for assessment in Assessment.objects.prefetch_related("scores"):
        scores = [score.score for score in assessment.scores.all()]
        if not scores or not all(1 <= score <= 5 for score in scores):
            problems.append(f"assessment {assessment.pk}: scores {scores}")
    for criterion in AssessmentCriterion.objects.all():
        if not criterion.name or criterion.name != criterion.name.strip():
            problems.append(f"assessment criterion {criterion.pk}: name {criterion.name!r}")
    for action in OutreachAction.objects.select_related("budget_round"):
        if not (outreach_earliest_day(action.budget_round) <= action.happened_on <= today):
            problems.append(f"outreach {action.pk}: dated {action.happened_on}")
        if not action.budget_round.round_areas.filter(area=action.area_id).exists():
            problems.append(f"outreach {action.pk}: in an area outside its round")

    for r in BudgetRound.objects.all():
        for boundary in ("submission_starts", "voting_starts", "voting_ends", "delivery_ends"):
            year = getattr(r, boundary).year
            if not (EARLIEST_YEAR <= year <= LATEST_YEAR):
                problems.append(f"round {r.pk}: {boundary} in {year}")
    names = BudgetRound.objects.values(lower=Lower("name")).annotate(n=Count("pk")).filter(n__gt=1)
    problems += [f"two rounds named {row['lower']!r}" for row in names]
    if _frozen_snapshot(world.made_at) != world.frozen:
        problems.append("a round's frozen settings changed after voting opened")
    for area in Area.objects.filter(population__gt=POPULATION_MAX):
        problems.append(f"area {area.pk}: population {area.population}")
    for proposal in Proposal.objects.filter(estimated_cost__lte=0):
        problems.append(f"proposal {proposal.pk}: cost {proposal.estimated_cost}")

    # A ballot only where its voter may vote (their home area or a whole-council one),
    # holding only proposals on that area's ballot.
    ballots = Ballot.objects.exclude(round_area__area__is_city_wide=True).exclude(
        round_area__area_id=F("voter__resident_profile__area_id")
    )
    problems += [
        f"ballot {pk}: not in its voter's area" for pk in ballots.values_list("pk", flat=True)
    ]
    stray = BallotChoice.objects.exclude(proposal__round_area_id=F("ballot__round_area_id"))
    problems += [
        f"ballot {pk}: a choice from another ballot"
        for pk in stray.values_list("ballot", flat=True)
    ]
    for r in BudgetRound.objects.annotate(shares=Sum("round_areas__budget")):
        if r.shares is not None and r.shares > r.total_budget:
            problems.append(f"round {r.pk}: area budgets {r.shares} > total {r.total_budget}")
    assert not problems, f"{spec.name}: " + "; ".join(problems[:10])
    # The database's own deferred checks (on PostgreSQL, constraint triggers that would
    # otherwise fire only at commit, which never comes here) accept what was saved.
    connection.check_constraints()


def _counts(models: tuple[type[Model], ...]) -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in models}


# --- The fuzz ----------------------------------------------------------------------------


def _case(spec: Spec) -> Any:
    return pytest.param(spec, id=spec.name.replace(" ", "-"))


@pytest.mark.parametrize("spec", [_case(spec) for spec in SPECS])
def test_form_fuzz(spec: Spec, fuzz: World, django_db_blocker) -> None:
    world = fuzz
    with django_db_blocker.unblock(), rolled_back():
        targets = spec.targets(world)
        fields = spec.fields(world)
    creating = bool(spec.creates) and spec.method == "POST"
    CURRENT["form"] = spec.name

    @hypothesis_settings(
        max_examples=spec.examples * SCALE,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        url=st.sampled_from(targets),
        data=submissions(fields, with_token=creating),
        replay=st.booleans() if creating else st.just(False),
        mode=st.sampled_from(BODY_MODES if spec.method == "POST" else ["form"]),
        garbage=st.binary(min_size=1, max_size=64),
    )
    def example(url: str, data: dict[str, Value], replay: bool, mode: str, garbage: bytes) -> None:
        body = form_body(data)
        if mode == "garbage-first":
            body = garbage + b"&" + body
        elif mode == "garbage-only":
            body = garbage
        with django_db_blocker.unblock(), rolled_back():
            if spec.prepare is not None:
                spec.prepare(world)
            first = send(_client(world, spec.role), spec.method, url, body)
            # A POST without a well-formed token is processed as usual (the token saves
            # people from double clicks; it is not an access control).
            if replay and mode != "garbage-only" and _token_sent(data):
                after_first = _counts(spec.creates)
                again = send(_client(world, spec.role), spec.method, url, body)
                assert _counts(spec.creates) == after_first, (
                    f"{spec.name}: the same token twice created more: {after_first} -> "
                    f"{_counts(spec.creates)}"
                )
                if first.status_code == 302:
                    assert again.status_code == 302, f"{spec.name}: repeat got {again.status_code}"
            _invariants(world, spec)

    for url, data, replay in reversed(_poisoned(spec, targets, fields)):
        example = hypothesis.example(url=url, data=data, replay=replay, mode="form", garbage=b"&")(
            example
        )
    example()


def _poisoned(
    spec: Spec, targets: list[str], fields: dict[str, Field]
) -> list[tuple[str, dict[str, Value], bool]]:
    """The explicit examples: the valid submission (sent twice when it creates
    something), then each field's other valid values and its poisons in turn, the other
    fields as in the valid submission."""
    creating = bool(spec.creates) and spec.method == "POST"
    token = {"submission_token": str(uuid.UUID(int=7))} if creating else {}
    base = {name: field.base for name, field in fields.items()}
    cases = [(targets[0], {**base, **token}, creating)]
    if not spec.poisoned:
        return cases
    for name, form_field in fields.items():
        for poison in (*form_field.alternatives, *form_field.poisons):
            cases.append((targets[0], {**base, name: poison, **token}, False))
    return cases


def _page_errors(response: Any) -> str:
    """The errors of the forms on the page, for a failure message."""
    if response.status_code != 200:
        return f"status {response.status_code} {response.get('Location', '')}"
    errors = {
        name: value.errors
        for context in response.context or []
        for name, value in context.flatten().items()
        if hasattr(value, "errors") and value.errors and hasattr(value, "is_bound")
    }
    return str(errors)[:800]


def _token_sent(data: dict[str, Value]) -> bool:
    token = data.get("submission_token")
    if not isinstance(token, str):
        return False
    try:
        uuid.UUID(token)
    except ValueError:
        return False
    return True


def test_each_creating_form_accepts_its_valid_base(fuzz: World, django_db_blocker) -> None:
    """The fuzz starts every example from a submission that is accepted as it is; were it
    refused, the fuzz would only see forms that refuse everything and prove nothing about
    what gets saved."""
    refused = {}
    for spec in SPECS:
        if not spec.creates or spec.method != "POST":
            continue
        with django_db_blocker.unblock(), rolled_back():
            fields = spec.fields(fuzz)
            data = {name: field.base for name, field in fields.items()}
            before = _counts(spec.creates)
            url = spec.targets(fuzz)[0]
            response = send(_client(fuzz, spec.role), "POST", url, form_body(data))
            if _counts(spec.creates) == before:
                refused[spec.name] = _page_errors(response)
    assert not refused, f"the valid submission created nothing for: {refused}"
