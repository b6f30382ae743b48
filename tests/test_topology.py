"""Past one machine: two web servers, two Celery workers and one beat, sharing one
PostgreSQL and one Redis, run votes from the first ballot to the allocated result.

CI only (CI=true): it starts seven processes and takes about half a minute. Residents
vote over real HTTP through both gunicorn servers in turn (the ballot page from one, the
form sent to the other, a changed vote through the other again), so sessions, CSRF
tokens and ballots must live in the shared database, never in a process.

Two rounds close a few seconds apart. The first is closed, counted and published by the
beat's ticks alone. At the second one's deadline two more close tasks are sent, as a
second beat would send them, so both workers race for each area. In both, every area
must be counted exactly once and hold every ballot cast (each receipt code issued is in
its published list, each proposal has the votes of the latest choices); the beat then
allocates each winner exactly once, and every receipt email is sent exactly once.

The servers run with DATABASE_REPLICA_URL pointing at the same database, so the
anonymous receipt-list downloads go through the replica alias and router as in
production.
"""

from __future__ import annotations

import contextlib
import email
import os
import re
import signal
import socketserver
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from http.cookiejar import Cookie, CookieJar
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.urls import reverse
from django.utils import timezone

from ledgers.models import EntryKind, LedgerEntry
from ledgers.services import ALLOCATION_JOB
from pb_platform.celery import app as celery_app
from pb_platform.models import JobItem, OutboxEmail
from pb_platform.outbox import BALLOT_RECEIPT
from pb_platform.roles import RESIDENT, role_grant
from pb_platform.users import User
from proposals.models import Area, BudgetRound, ProposalStatus, RoundArea
from tests.factories import (
    AreaFactory,
    BudgetRoundFactory,
    ProposalFactory,
    ResidentProfileFactory,
    RoundAreaFactory,
)
from tests.processes import (
    forget_redis_queue,
    free_port,
    log_tail,
    started_alone,
    worker_database_url,
)
from voting.models import AreaResult, Ballot, ResultLine
from voting.services.results import CLOSE_JOB

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
IN_CI = os.environ.get("CI", "").lower() == "true"

pytestmark = [
    pytest.mark.skipif(
        not IN_CI,
        reason="the topology test (two gunicorn servers, two Celery workers and one beat, "
        "about half a minute) runs only under CI=true, on PostgreSQL and Redis",
    ),
    pytest.mark.postgresql,
]

TEST_BUDGET_SECONDS = 120
START_TIMEOUT_SECONDS = 45
# From the servers being up to the first deadline: long enough for every vote below on a
# busy two-core machine (about 5 s); checked, not assumed.
VOTING_WINDOW_SECONDS = 15
PHASE_TICK_SECONDS = 2
# The second round closes this long after the first: by then the beat alone must have
# published the first (it needs one tick, plus the count).
SECOND_DEADLINE_AFTER_SECONDS = 4 * PHASE_TICK_SECONDS
PUBLISH_TIMEOUT_SECONDS = 30
GUNICORN_WORKERS = 2
HTTP_TIMEOUT_SECONDS = 20
POLL_SECONDS = 0.25

ROUNDS = ("City vote", "Parks vote")
AREAS = ("North", "South", "Riverside")
VOTERS_PER_AREA = 4
AREA_BUDGET = Decimal(5000)
PROPOSALS = (("Benches", 1000), ("Trees", 2000), ("Lights", 3000), ("Bins", 4000))
# The n-th voter of each area first chooses FIRST_CHOICES[n]; those in CHANGED then
# change to it. All within the area's budget.
FIRST_CHOICES = (("Benches", "Trees"), ("Lights",), ("Trees", "Lights"), ("Benches", "Bins"))
CHANGED = {1: ("Benches", "Lights"), 3: ("Trees",)}

CLOSE_TASK = "voting.tasks.close_count_publish"
ALLOCATE_TASK = "ledgers.tasks.allocate_published_results"
# Celery's line for each finished task, with what it returned (here: how many it did).
TASK_SUCCEEDED = re.compile(r"Task ([\w.]+)\[([0-9a-f-]+)\] succeeded in [^:]+: (\d+)")
RECEIPT = re.compile(r"Receipt code: <strong><code>([A-Z0-9]{4}(?:-[A-Z0-9]{4}){3})</code>")
RECEIPT_CODE = re.compile(r"\b[A-Z0-9]{4}(?:-[A-Z0-9]{4}){3}\b")
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


# --- The processes ------------------------------------------------------------------------


@dataclass
class Service:
    name: str
    process: subprocess.Popen[bytes]
    log: Path


@dataclass
class Fleet:
    """The topology's processes, each in its own process group with its own log."""

    directory: Path
    env: dict[str, str]
    services: list[Service] = field(default_factory=list)

    def start(self, name: str, command: list[str], **extra_env: str) -> Service:
        log = self.directory / f"{name}.log"
        process = started_alone(command, cwd=PROJECT_ROOT, env={**self.env, **extra_env}, log=log)
        service = Service(name, process, log)
        self.services.append(service)
        return service

    def tails(self, lines: int = 25) -> str:
        return "\n".join(
            f"--- {service.name} (exit {service.process.poll()}) ---\n"
            f"{log_tail(service.log, lines)}"
            for service in self.services
        )

    def check_alive(self) -> None:
        for service in self.services:
            if service.process.poll() is not None:
                pytest.fail(
                    f"{service.name} exited with {service.process.returncode}\n{self.tails()}"
                )

    def wait_for(self, what: str, ready: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready():
                return
            self.check_alive()
            time.sleep(POLL_SECONDS)
        pytest.fail(f"{what} not done after {timeout:.0f}s\n{self.tails()}")

    def stop(self) -> None:
        """SIGTERM every group at once, wait, then SIGKILL whatever is left."""
        for service in self.services:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(service.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for service in self.services:
            with contextlib.suppress(subprocess.TimeoutExpired):
                service.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        for service in self.services:
            # The group may outlive its leader (pool children, gunicorn workers).
            with contextlib.suppress(ProcessLookupError):
                os.killpg(service.process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                service.process.wait(timeout=10)


def answers(base_url: str) -> bool:
    try:
        # Our own server on 127.0.0.1, http only.
        with urllib.request.urlopen(f"{base_url}/healthz", timeout=2) as response:  # noqa: S310
            return response.status == 200
    except OSError:
        return False


def answering(base_url: str) -> Callable[[], bool]:
    return lambda: answers(base_url)


def log_says(log: Path, text: str) -> Callable[[], bool]:
    return lambda: text in log_tail(log, 500)


def sleep_until(moment: datetime) -> None:
    time.sleep(max(0.0, (moment - timezone.now()).total_seconds()))


def task_runs(logs: Iterable[str]) -> dict[str, list[tuple[str, int]]]:
    """Each task name's runs in the workers' logs: (task id, what it returned)."""
    runs: dict[str, list[tuple[str, int]]] = {CLOSE_TASK: [], ALLOCATE_TASK: []}
    for log in logs:
        for name, task_id, returned in TASK_SUCCEEDED.findall(log):
            runs.setdefault(name, []).append((task_id, int(returned)))
    return runs


class _SmtpSession(socketserver.StreamRequestHandler):
    """Just enough SMTP for smtplib without TLS or login: every message is kept."""

    server: SmtpSink

    def reply(self, line: bytes) -> None:
        self.wfile.write(line + b"\r\n")

    def handle(self) -> None:
        self.reply(b"220 sink")
        while line := self.rfile.readline():
            verb = line[:4].upper()
            if verb == b"DATA":
                self.reply(b"354 end with <CRLF>.<CRLF>")
                lines = []
                while (data := self.rfile.readline()) not in (b".\r\n", b""):
                    lines.append(data[1:] if data.startswith(b".") else data)  # dot-stuffing
                with self.server.lock:
                    self.server.messages.append(email.message_from_bytes(b"".join(lines)))
                self.reply(b"250 queued")
            elif verb == b"QUIT":
                self.reply(b"221 bye")
                return
            else:  # EHLO, HELO, MAIL, RCPT, RSET, NOOP
                self.reply(b"250 ok")


class SmtpSink(socketserver.ThreadingTCPServer):
    """The mail server the workers send receipts to."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _SmtpSession)
        self.lock = threading.Lock()
        self.messages: list[email.message.Message] = []

    def texts(self) -> list[str]:
        with self.lock:
            messages = list(self.messages)
        return [
            "".join(
                part.get_payload(decode=True).decode(errors="replace")
                for part in message.walk()
                if not part.is_multipart()
            )
            for message in messages
        ]


# --- Residents' browsers -------------------------------------------------------------------


def session_for(user: User) -> str:
    """A signed-in session made directly (as Django's login does), not through the sign-in
    form, whose rate limits are not what this test is about."""
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    assert session.session_key
    return session.session_key


def cookie(name: str, value: str) -> Cookie:
    return Cookie(
        version=0,
        name=name,
        value=value,
        port=None,
        port_specified=False,
        domain="127.0.0.1",
        domain_specified=False,
        domain_initial_dot=False,
        path="/",
        path_specified=True,
        secure=False,
        expires=None,
        discard=True,
        comment=None,
        comment_url=None,
        rest={},
    )


class Browser:
    """One visitor's cookies, used against any of the servers (cookies ignore the port,
    as behind a proxy all servers are one site)."""

    def __init__(self, session_key: str | None = None) -> None:
        self.cookies = CookieJar()
        if session_key:
            self.cookies.set_cookie(cookie(settings.SESSION_COOKIE_NAME, session_key))
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

    def open(self, url: str, data: list[tuple[str, str]] | None = None) -> tuple[str, str]:
        """(final URL after redirects, body); an error status fails with the body."""
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with self.opener.open(url, data=body, timeout=HTTP_TIMEOUT_SECONDS) as response:
                return response.geturl(), response.read().decode()
        except urllib.error.HTTPError as error:
            raise AssertionError(
                f"{'POST' if data is not None else 'GET'} {url} answered {error.code}: "
                f"{error.read().decode(errors='replace')[:800]}"
            ) from None


# --- The world -----------------------------------------------------------------------------


@dataclass
class RoundWorld:
    budget_round: BudgetRound
    round_areas: dict[str, RoundArea]
    proposal_ids: dict[str, dict[str, int]]  # area -> title -> id

    def ballot_path(self, area: str) -> str:
        return reverse("voting:ballot", args=[self.budget_round.slug, area.lower()])


@dataclass
class World:
    rounds: list[RoundWorld]
    voters: dict[str, list[User]]  # area -> residents


def round_build(name: str, areas: dict[str, Area], *, voting_ends: datetime) -> RoundWorld:
    now = timezone.now()
    budget_round = BudgetRoundFactory(
        name=name,
        slug=name.lower().replace(" ", "-"),
        submission_starts=now - timedelta(days=3),
        review_starts=now - timedelta(days=2),
        voting_starts=now - timedelta(days=1),
        voting_ends=voting_ends,
        delivery_starts=voting_ends + timedelta(days=1),
        delivery_ends=voting_ends + timedelta(days=30),
    )
    round_areas, proposal_ids = {}, {}
    for area_name, area in areas.items():
        round_area = RoundAreaFactory(budget_round=budget_round, area=area, budget=AREA_BUDGET)
        round_areas[area_name] = round_area
        proposal_ids[area_name] = {
            title: ProposalFactory(
                budget_round=budget_round,
                round_area=round_area,
                title=f"{title} in {area_name}",
                estimated_cost=Decimal(cost),
                status=ProposalStatus.FEASIBLE,
            ).pk
            for title, cost in PROPOSALS
        }
    return RoundWorld(budget_round, round_areas, proposal_ids)


def world_build(*, deadlines: list[datetime]) -> World:
    areas = {name: AreaFactory(name=name, slug=name.lower()) for name in AREAS}
    voters: dict[str, list[User]] = {}
    for name, area in areas.items():
        voters[name] = []
        for number in range(VOTERS_PER_AREA):
            # Verified email (UserFactory), home area, resident role: may vote online.
            profile = ResidentProfileFactory(area=area, display_name=f"{name} resident {number}")
            role_grant(user=profile.user, role=RESIDENT)
            voters[name].append(profile.user)
    rounds = [
        round_build(name, areas, voting_ends=deadline)
        for name, deadline in zip(ROUNDS, deadlines, strict=True)
    ]
    return World(rounds, voters)


# --- Voting --------------------------------------------------------------------------------


@dataclass
class Vote:
    round_slug: str
    area: str
    voter: str
    choices: tuple[str, ...]
    saved_by: str  # the server that took the form (the page came from the other)
    receipt: str


@dataclass
class LateBallot:
    """A ballot form opened before the deadline, to be sent after it."""

    browser: Browser
    path: str
    form: list[tuple[str, str]]


def ballot_form(page: str, choices: list[int]) -> list[tuple[str, str]]:
    token = CSRF_FIELD.search(page)
    assert token, f"no CSRF token on the ballot page: {page[:500]}"
    return [
        ("csrfmiddlewaretoken", token.group(1)),
        ("action", "save"),
        *(("proposals", str(pk)) for pk in choices),
    ]


def vote_through_both_servers(
    world: World, servers: dict[str, str], fleet: Fleet
) -> tuple[list[Vote], LateBallot]:
    """Every resident votes in every round, some change their vote: each ballot page
    comes from one server and is sent to the other, alternately, so neither server could
    have kept anything in memory between the two."""
    names = list(servers)
    votes: list[Vote] = []
    browsers = {
        (area, number): Browser(session_for(user))
        for area, users in world.voters.items()
        for number, user in enumerate(users)
    }
    turn = 0

    def save(round_world: RoundWorld, area: str, number: int, saved: str) -> None:
        nonlocal turn
        page_server, save_server = names[turn % 2], names[(turn + 1) % 2]
        turn += 1
        choices = FIRST_CHOICES[number] if saved == "saved" else CHANGED[number]
        browser, path = browsers[(area, number)], round_world.ballot_path(area)
        _url, page = browser.open(servers[page_server] + path)
        ids = [round_world.proposal_ids[area][title] for title in choices]
        url, receipt_page = browser.open(servers[save_server] + path, ballot_form(page, ids))
        assert url.endswith("/receipt/") and f"Your vote was {saved}." in receipt_page, (
            f"{area} resident {number} via {save_server}: {url}\n{receipt_page[:800]}"
        )
        code = RECEIPT.search(receipt_page)
        assert code, f"no receipt code on {url}"
        votes.append(
            Vote(
                round_slug=round_world.budget_round.slug,
                area=area,
                voter=world.voters[area][number].email,
                choices=choices,
                saved_by=save_server,
                receipt=code.group(1),
            )
        )

    try:
        for round_world in world.rounds:
            for area in AREAS:
                for number in range(VOTERS_PER_AREA):
                    save(round_world, area, number, "saved")
            for area in AREAS:
                for number in CHANGED:
                    save(round_world, area, number, "changed")
        first = world.rounds[0]
        late_browser, late_path = browsers[(AREAS[0], 0)], first.ballot_path(AREAS[0])
        _url, page = late_browser.open(servers[names[0]] + late_path)
        late = LateBallot(
            late_browser, late_path, ballot_form(page, [first.proposal_ids[AREAS[0]]["Bins"]])
        )
    except (AssertionError, OSError) as error:
        pytest.fail(f"voting through the servers failed: {error}\n{fleet.tails()}")
    return votes, late


# --- Waiting for the jobs ------------------------------------------------------------------


def published(round_world: RoundWorld) -> bool:
    return AreaResult.objects.filter(
        round_area__budget_round=round_world.budget_round, published_at__isnull=False
    ).count() == len(AREAS)


def winners_of(world: World) -> set[int]:
    return set(
        ResultLine.objects.filter(
            result__round_area__budget_round__in=[r.budget_round for r in world.rounds],
            funded=True,
        ).values_list("proposal_id", flat=True)
    )


def all_allocated(winners: set[int]) -> bool:
    allocated = LedgerEntry.objects.filter(proposal_id__in=winners, kind=EntryKind.ALLOCATION)
    return set(allocated.values_list("proposal_id", flat=True)) == winners


def receipts_emailed() -> bool:
    receipts = OutboxEmail.objects.filter(kind=BALLOT_RECEIPT.name)
    return not receipts.filter(sent_at__isnull=True, cancelled_at__isnull=True).exists()


def published_receipts(world: World, servers: dict[str, str]) -> dict[tuple[str, str], set[str]]:
    """Each area's published receipt codes, downloaded by an anonymous visitor from the
    servers in turn: (round slug, area) -> codes."""
    visitor = Browser()
    names = list(servers)
    codes = {}
    for round_world in world.rounds:
        slug = round_world.budget_round.slug
        for area in AREAS:
            url = servers[names[len(codes) % 2]] + reverse(
                "voting:area_receipts", args=[slug, area.lower()]
            )
            codes[(slug, area)] = set(visitor.open(url)[1].split())
    return codes


def topology_start(
    fleet: Fleet, *, servers: dict[str, str], workers: list[str], database_url: str
) -> None:
    """Two gunicorn servers, the Celery workers and one beat; returns once all are up."""
    for name, base_url in servers.items():
        fleet.start(
            name,
            [
                str(BIN / "gunicorn"),
                "pb_platform.wsgi:application",
                f"--bind={base_url.removeprefix('http://')}",
                f"--workers={GUNICORN_WORKERS}",
                "--access-logfile=-",
                "--graceful-timeout=5",
            ],
            # Anonymous pages go through the replica alias (here the same database).
            DATABASE_REPLICA_URL=database_url,
        )
    for name in workers:
        fleet.start(
            name,
            [
                str(BIN / "celery"),
                "-A",
                "pb_platform",
                "worker",
                "--loglevel=info",
                "--concurrency=1",
                f"--hostname={name}-{fleet.env['CELERY_QUEUE'][-12:]}@%h",
                # Keep to this run: no syncing with other workers on the same Redis.
                "--without-mingle",
                "--without-gossip",
                "--without-heartbeat",
            ],
        )
    beat = fleet.start(
        "beat", [str(BIN / "celery"), "-A", "pb_platform", "beat", "--loglevel=info"]
    )
    for service in fleet.services:
        if service.name in servers:
            ready = answering(servers[service.name])
        elif service is beat:
            ready = log_says(beat.log, "beat: Starting")
        else:
            ready = log_says(service.log, " ready.")
        fleet.wait_for(f"{service.name} start", ready, START_TIMEOUT_SECONDS)


# --- The test ------------------------------------------------------------------------------


def test_two_servers_two_workers_one_beat_count_every_area_once_with_every_ballot(
    transactional_db, django_db_serialized_rollback, tmp_path
):
    started = time.monotonic()
    assert settings.CELERY_BROKER_URL.startswith("redis://"), (
        f"the topology runs on Redis, but the broker is {settings.CELERY_BROKER_URL!r}"
    )
    # A queue of its own: no other worker on this Redis takes this run's tasks.
    queue = f"commonpurse-topology-{uuid.uuid4().hex[:12]}"
    database_url = worker_database_url()
    sink = SmtpSink()
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "pb_platform.settings",
        "DATABASE_URL": database_url,
        "PHASE_TICK_SECONDS": str(PHASE_TICK_SECONDS),
        "VAR_DIR": str(tmp_path / "var"),
        "CELERY_QUEUE": queue,
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(sink.server_address[1]),
        "EMAIL_USE_TLS": "false",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("CELERY_BROKER_DIR", None)
    env.pop("DATABASE_REPLICA_URL", None)
    fleet = Fleet(directory=tmp_path, env=env)
    servers = {name: f"http://127.0.0.1:{free_port()}" for name in ("web-a", "web-b")}
    workers = ["worker-1", "worker-2"]
    try:
        topology_start(fleet, servers=servers, workers=workers, database_url=database_url)
        servers_up = time.monotonic() - started

        first_deadline = timezone.now() + timedelta(seconds=VOTING_WINDOW_SECONDS)
        second_deadline = first_deadline + timedelta(seconds=SECOND_DEADLINE_AFTER_SECONDS)
        world = world_build(deadlines=[first_deadline, second_deadline])
        first, second = world.rounds
        votes, late = vote_through_both_servers(world, servers, fleet)
        voting_took = time.monotonic() - started - servers_up
        assert timezone.now() < first_deadline, (
            f"the votes took {voting_took:.1f}s, past the deadline: raise VOTING_WINDOW_SECONDS"
        )

        # The first round: the beat's ticks alone close, count and publish it.
        sleep_until(first_deadline)
        # A ballot form opened before the deadline and sent after it is refused.
        late_page = late.browser.open(servers["web-b"] + late.path, late.form)[1]
        fleet.wait_for("the first round's count", lambda: published(first), PUBLISH_TIMEOUT_SECONDS)
        first_published_after = (timezone.now() - first_deadline).total_seconds()
        assert timezone.now() < second_deadline, (
            f"the beat took {first_published_after:.1f}s to publish the first round"
        )

        # The second round: at its deadline, two close tasks besides the beat's ticks, as
        # a second beat would send them: both workers race for each area.
        sleep_until(second_deadline)
        extra_tasks = {celery_app.send_task(CLOSE_TASK, queue=queue).id for _ in workers}
        fleet.wait_for(
            "the second round's count", lambda: published(second), PUBLISH_TIMEOUT_SECONDS
        )
        second_published_after = (timezone.now() - second_deadline).total_seconds()

        winners = winners_of(world)
        assert winners, "the count funded nothing: the test would prove nothing about allocations"
        fleet.wait_for("the allocations", lambda: all_allocated(winners), PUBLISH_TIMEOUT_SECONDS)
        fleet.wait_for("the receipt emails", receipts_emailed, PUBLISH_TIMEOUT_SECONDS)
        receipts_published = published_receipts(world, servers)
    finally:
        fleet.stop()
        forget_redis_queue(queue)
        sink.shutdown()
        sink.server_close()
    total = time.monotonic() - started

    worker_logs = {name: (tmp_path / f"{name}.log").read_text(errors="replace") for name in workers}
    runs = task_runs(worker_logs.values())
    final = {(v.round_slug, v.area, v.voter): v.choices for v in votes}  # the last one counts
    saved_by = Counter(vote.saved_by for vote in votes)
    by_extra_runs = sum(n for task_id, n in runs[CLOSE_TASK] if task_id in extra_tasks)
    figures = (
        f"topology: {len(votes)} ballot saves ({len(final)} ballots, "
        f"{len(votes) - len(final)} changed) through "
        + ", ".join(f"{name} {count}" for name, count in sorted(saved_by.items()))
        + f"; processes up in {servers_up:.1f}s; votes took {voting_took:.1f}s; "
        f"deadline to {len(AREAS)} areas published: {first_published_after:.1f}s by the beat, "
        f"{second_published_after:.1f}s with two extra close runs racing (they published "
        f"{by_extra_runs}, the beat's {len(AREAS) - by_extra_runs}); "
        f"{len(winners)} winners allocated; {len(sink.messages)} receipt emails; "
        f"test {total:.1f}s"
    )
    print(figures)

    assert set(saved_by) == set(servers), f"every server must take ballots: {figures}"
    assert "closed" in late_page and "Your vote was changed" not in late_page, (
        f"a ballot sent after the deadline was not refused: {late_page[:800]}"
    )
    # Each area published by exactly one close run over every run of both workers (the
    # task returns how many areas it published).
    assert sum(n for _id, n in runs[CLOSE_TASK]) == len(ROUNDS) * len(AREAS), (
        f"close runs {runs[CLOSE_TASK]}; {figures}"
    )
    for round_world in world.rounds:
        slug = round_world.budget_round.slug
        for area, round_area in round_world.round_areas.items():
            where = f"{slug}/{area}"
            result = AreaResult.objects.get(round_area=round_area)
            ballots = {
                voter: choices for (s, a, voter), choices in final.items() if (s, a) == (slug, area)
            }
            assert result.ballots_counted == len(ballots) == VOTERS_PER_AREA, (where, figures)
            assert Ballot.objects.filter(round_area=round_area).count() == len(ballots), where
            # Every ballot in the result, each with its latest choices only.
            expected = Counter(title for choices in ballots.values() for title in choices)
            counted = {
                line.proposal.title: line.votes
                for line in ResultLine.objects.filter(result=result).select_related("proposal")
            }
            assert counted == {f"{t} in {area}": expected[t] for t, _cost in PROPOSALS}, (
                where,
                figures,
            )
            issued = {v.receipt for v in votes if (v.round_slug, v.area) == (slug, area)}
            assert len(issued) == len(ballots), f"{where}: one code per ballot, changed or not"
            assert issued == receipts_published[(slug, area)], (
                f"{where}: receipt codes issued {sorted(issued)}, published "
                f"{sorted(receipts_published[(slug, area)])}; {figures}"
            )

    # The beat allocated each winner exactly once, whichever worker ran its tick.
    allocations = Counter(
        LedgerEntry.objects.filter(kind=EntryKind.ALLOCATION).values_list("proposal_id", flat=True)
    )
    assert allocations == Counter(winners), f"allocations per winner {allocations}; {figures}"
    assert sum(n for _id, n in runs[ALLOCATE_TASK]) == len(winners), (
        f"allocation runs {runs[ALLOCATE_TASK]}; {figures}"
    )
    # No item of either job ever failed (a row exists only for an item that failed once).
    failed = list(
        JobItem.objects.filter(job__in=[CLOSE_JOB, ALLOCATION_JOB]).values_list(
            "job", "item_key", "last_error"
        )
    )
    assert not failed, f"job items failed: {failed}; {figures}"
    # One receipt email per ballot save, each sent once, each with its ballot's code.
    emailed = Counter(code for text in sink.texts() for code in set(RECEIPT_CODE.findall(text)))
    assert emailed == Counter(vote.receipt for vote in votes), f"{emailed}; {figures}"
    # Both workers took tasks: the work was shared, not done by one of them.
    for name, log in worker_logs.items():
        assert "succeeded in" in log, f"{name} ran no task; {figures}"
    assert total < TEST_BUDGET_SECONDS, f"the topology test took {total:.0f}s; {figures}"
