"""Casting ballots under load, against the stack's floor, on gunicorn and PostgreSQL.

    .venv/bin/python bench/cast.py                     # 20 s each, 50 connections
    .venv/bin/python bench/cast.py --seconds 30 --connections 50 --residents 20000

It makes a throwaway PostgreSQL database (``--database``, dropped and made again), with a
round open for voting in one area of 10 proposals and ``--residents`` residents already
signed in (their sessions and CSRF tokens written straight to the database), and serves
two applications on gunicorn, one after the other, with the same workers (``--workers``
sync workers, persistent database connections):

- the floor: a bare Django view (no middleware) doing one INSERT into a table with a
  unique constraint, each request for a different key;
- the platform: its own ballot form's "Save my vote", each request by a different
  resident (a resident's second request, when there are more requests than residents,
  changes their ballot).

Each is loaded on loopback by ``wrk`` (Debian's package: ``apt-get install wrk``) for a
bounded time. It prints requests per second, p50 and p99 latency, the platform's rate as
a share of the floor's, and the rows stored against the successful responses (nothing
may be lost: every successful "Save my vote" is a stored ballot).
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from urllib.request import urlopen

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PORT = 8931


def _django(database_url: str) -> None:
    sys.path.insert(0, str(PROJECT_ROOT))
    os.environ.update(_server_env(database_url))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _server_env(database_url: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"),
        "DJANGO_SETTINGS_MODULE": "pb_platform.settings",
        "DEBUG": "false",
        "SECRET_KEY": "bench-cast-not-a-secret-" + "x" * 40,
        "REGISTER_HMAC_KEY": "bench-cast-not-a-secret-" + "y" * 40,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "SECURE_COOKIES": "false",
        "DATABASE_CONN_MAX_AGE": "600",
    }


def _build(residents: int) -> tuple[str, list[int], list[tuple[str, str]]]:
    """The ballot's address, its proposals, and each resident's (session key, CSRF)."""
    from datetime import timedelta
    from decimal import Decimal

    from allauth.account.models import EmailAddress
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group, User
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.db import connection
    from django.middleware.csrf import _get_new_csrf_string
    from django.urls import reverse
    from django.utils import timezone
    from django.utils.crypto import get_random_string

    from pb_platform.roles import RESIDENT, role_grant
    from proposals.models import ProposalStatus, ResidentProfile
    from proposals.phases import Phase
    from tests.factories import AreaFactory, BudgetRoundFactory, ProposalFactory, RoundAreaFactory

    area = AreaFactory(name="Bench", slug="bench")
    voting_round = BudgetRoundFactory(phase=Phase.VOTING, slug="bench-round")
    round_area = RoundAreaFactory(budget_round=voting_round, area=area, budget=Decimal(50_000))
    proposals = [
        ProposalFactory(
            budget_round=voting_round,
            round_area=round_area,
            estimated_cost=Decimal(1_000 + 500 * i),
            status=ProposalStatus.FEASIBLE,
        ).pk
        for i in range(10)
    ]
    users = User.objects.bulk_create(
        User(username=f"bench{i}", email=f"bench{i}@example.org", password=make_password(None))
        for i in range(residents)
    )
    role_grant(user=users[0], role=RESIDENT)  # makes the role's group
    group = Group.objects.get(user=users[0])
    User.groups.through.objects.bulk_create(
        User.groups.through(user_id=user.pk, group_id=group.pk) for user in users[1:]
    )
    ResidentProfile.objects.bulk_create(
        ResidentProfile(user=user, display_name=f"Bench {user.pk}", area=area) for user in users
    )
    EmailAddress.objects.bulk_create(
        EmailAddress(user=user, email=user.email, verified=True, primary=True) for user in users
    )
    backend = settings.AUTHENTICATION_BACKENDS[0]
    expiry = timezone.now() + timedelta(days=1)
    sessions = []
    signed_in = []
    for user in users:
        key = get_random_string(32, "abcdefghijklmnopqrstuvwxyz0123456789")
        data = {
            SESSION_KEY: str(user.pk),
            BACKEND_SESSION_KEY: backend,
            HASH_SESSION_KEY: user.get_session_auth_hash(),
        }
        sessions.append(
            Session(session_key=key, session_data=SessionStore().encode(data), expire_date=expiry)
        )
        signed_in.append((key, _get_new_csrf_string()))
    Session.objects.bulk_create(sessions)
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE bench_floor (id bigserial PRIMARY KEY, who bigint UNIQUE)")
    url = reverse("voting:ballot", args=[voting_round.slug, area.slug])
    return url, proposals, signed_in


FLOOR_APP = textwrap.dedent(
    '''
    """The stack's floor for bench/cast.py: one INSERT under a unique constraint."""
    import os

    import django
    from django.conf import settings
    from django.core.wsgi import get_wsgi_application
    from django.db import connection
    from django.http import HttpResponse
    from django.urls import path
    from django.views.decorators.csrf import csrf_exempt

    from pb_platform.env import env_database


    @csrf_exempt
    def floor(request, who):
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO bench_floor (who) VALUES (%s)", [who])
        return HttpResponse(status=302, headers={"Location": "/done/"})


    urlpatterns = [path("floor/<int:who>/", floor)]
    database = env_database("DATABASE_URL", "")
    database["CONN_MAX_AGE"] = 600
    settings.configure(
        DEBUG=False,
        SECRET_KEY="bench-floor",
        ALLOWED_HOSTS=["127.0.0.1"],
        ROOT_URLCONF=__name__,
        DATABASES={"default": database},
        MIDDLEWARE=[],
        INSTALLED_APPS=[],
    )
    django.setup()
    application = get_wsgi_application()
    '''
)

# wrk's script: each thread takes every ``threads``-th line of the requests file, in
# turn, so every request is a different resident (or key) until the lines run out.
WRK_SCRIPT = textwrap.dedent(
    """
    local counter = 0
    local threads = {}
    function setup(thread)
      thread:set("id", counter)
      table.insert(threads, thread)
      counter = counter + 1
    end
    function init(args)
      lines = {}
      for line in io.lines(args[1]) do
        table.insert(lines, line)
      end
      step = tonumber(args[2])
      position = id + 1
    end
    function request()
      local line = lines[position]
      position = position + step
      if position > #lines then position = id + 1 end
      local path, cookie, csrf, body = line:match("([^\\t]*)\\t([^\\t]*)\\t([^\\t]*)\\t(.*)")
      local headers = {}
      headers["Content-Type"] = "application/x-www-form-urlencoded"
      if cookie ~= "" then headers["Cookie"] = cookie end
      if csrf ~= "" then headers["X-CSRFToken"] = csrf end
      return wrk.format("POST", path, headers, body)
    end
    function done(summary, latency, requests)
      io.write(string.format("P50 %d\\nP99 %d\\n", latency:percentile(50), latency:percentile(99)))
    end
    """
)


def _serve(app: str, env: dict[str, str], workers: int, folder: Path) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        [
            str(PROJECT_ROOT / ".venv/bin/gunicorn"),
            app,
            "--bind",
            f"127.0.0.1:{PORT}",
            "--workers",
            str(workers),
            "--log-level",
            "warning",
        ],
        cwd=folder,
        env={**os.environ, **env, "PYTHONPATH": f"{folder}:{PROJECT_ROOT}"},
        start_new_session=True,
    )
    for _ in range(100):
        try:
            urlopen(f"http://127.0.0.1:{PORT}/healthz", timeout=1)
        except OSError as error:
            if getattr(error, "code", None):  # an HTTP answer, even 404: it is up
                return server
            time.sleep(0.1)
        else:
            return server
    server.kill()
    raise RuntimeError("gunicorn did not start")


def _load(lines: list[str], seconds: int, connections: int, folder: Path) -> dict[str, float]:
    requests_file = folder / "requests.tsv"
    requests_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    script = folder / "cast.lua"
    script.write_text(WRK_SCRIPT, encoding="utf-8")
    threads = 2
    output = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "-s",
            str(script),
            f"http://127.0.0.1:{PORT}",
            "--",
            str(requests_file),
            str(threads),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    total = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    failed = int(bad.group(1)) if bad else 0
    if errors:
        failed += sum(int(n) for n in errors.groups())
    return {
        "rate": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),  # type: ignore[union-attr]
        "p50": int(re.search(r"P50 (\d+)", output).group(1)) / 1000,  # type: ignore[union-attr]
        "p99": int(re.search(r"P99 (\d+)", output).group(1)) / 1000,  # type: ignore[union-attr]
        "ok": total - failed,
        "failed": failed,
    }


def _stop(server: subprocess.Popen[bytes]) -> None:
    os.killpg(server.pid, signal.SIGTERM)
    server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="cp_bench_cast")
    parser.add_argument("--residents", type=int, default=20_000)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    database_url = f"postgres://root@127.0.0.1:5432/{args.database}"
    subprocess.run(
        ["dropdb", "-h", "127.0.0.1", "-U", "root", "--if-exists", args.database], check=True
    )
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "root", args.database], check=True)
    _django(database_url)
    url, proposals, signed_in = _build(args.residents)
    from django.db import connection

    chosen = "&".join(f"proposals={pk}" for pk in proposals[:3]) + "&action=save"
    env = _server_env(database_url)
    figures = {}
    with tempfile.TemporaryDirectory() as folder_name:
        folder = Path(folder_name)
        (folder / "bench_floor_app.py").write_text(FLOOR_APP, encoding="utf-8")
        floor_lines = [f"/floor/{i}/\t\t\t" for i in range(1, 10_000_000 // 50)]
        platform_lines = [
            f"{url}\tsessionid={key}; csrftoken={csrf}\t{csrf}\t{chosen}" for key, csrf in signed_in
        ]
        for name, app, lines, table in (
            ("floor", "bench_floor_app:application", floor_lines, "bench_floor"),
            ("platform", "pb_platform.wsgi:application", platform_lines, "voting_ballot"),
        ):
            server = _serve(app, env, args.workers, folder)
            try:
                figures[name] = _load(lines, args.seconds, args.connections, folder)
            finally:
                _stop(server)
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 (our own names)
                figures[name]["stored"] = cursor.fetchone()[0]
    connection.close()
    floor, platform = figures["floor"], figures["platform"]
    print(
        f"{args.connections} connections, {args.workers} gunicorn sync workers, "
        f"{args.seconds} s each, {args.residents:,} residents signed in\n"
    )
    print(
        f"{'':10} {'requests/s':>11} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'ok':>8} {'failed':>7} {'rows':>8}"
    )
    for name, row in figures.items():
        print(
            f"{name:10} {row['rate']:11.1f} {row['p50']:8.1f} {row['p99']:8.1f} "
            f"{row['ok']:8,} {row['failed']:7,} {row['stored']:8,}"
        )
    print(f"\nplatform / floor: {platform['rate'] / floor['rate']:.1%}")
    # wrk stops counting at the deadline with requests still in flight: the server may
    # store up to one more row per connection than the responses counted. Fewer rows
    # than successful responses would be ballots lost.
    for name, row in figures.items():
        lost = row["ok"] - row["stored"] if name == "floor" else _lost(row, args.residents)
        in_flight = row["stored"] - row["ok"]
        verdict = f"LOST {lost:,}" if lost > 0 else "none lost"
        print(
            f"{name}: {row['stored']:,} rows for {row['ok']:,} responses ({verdict}, "
            f"{max(in_flight, 0)} finishing at the deadline)"
        )


def _lost(row: dict[str, float], residents: int) -> int:
    # A resident's second save changes their ballot instead of adding one.
    return int(min(row["ok"], residents) - row["stored"])


if __name__ == "__main__":
    main()
