"""Every shell command the README shows works exactly as written on a fresh clone.

The README is the newcomer's only guide, so its commands are tested as a newcomer runs
them: in a copy of the working tree (what a fresh clone holds, plus the test run's own
virtualenv), with a clean environment (no DEBUG, no DATABASE_URL: the throwaway SQLite
database and filesystem broker of that copy), after ``make run`` has written ``.env``
and is serving the demo. Each command is looked up in ``COMMANDS`` (what to run, with
the README's placeholders replaced by demo values from ``PLACEHOLDERS``) or in
``EXEMPT`` (why it is not run here); a README command in neither fails the test, and so
does a table entry the README no longer shows.

The same copy then checks the clean stop: Ctrl-C, SIGTERM to ``make`` and SIGTERM to
its whole process group (what systemd sends) each stop the web server, the Celery
worker and beat within 10 s, leaving no process behind.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.processes import free_port, http_status, started_alone

PROJECT_ROOT = Path(__file__).resolve().parent.parent
README = PROJECT_ROOT / "README.md"
FIRST_PAGE_SECONDS = 120  # generous for a busy CI machine; the figure is printed
STOP_SECONDS = 10  # the promise for every way of stopping

# The first word (after any NAME=value assignments) that makes an inline `code span` a
# command rather than a name: what a reader would paste into a shell.
COMMAND_WORDS = {
    "make",
    "python",
    "python3",
    "manage.py",
    "curl",
    "celery",
    "gunicorn",
    "sudo",
    "systemctl",
    "pg_dump",
    "pg_restore",
    "psql",
    "createdb",
    "dropdb",
    "npm",
    "git",
    "nginx",
    "journalctl",
    "bash",
    "head",
    "rm",
    "systemd-analyze",
}


def readme_commands(text: str) -> list[str]:
    """Shell commands in the README: each line of a ```sh block (comments dropped) and
    each inline code span whose first word runs a program."""
    commands: list[str] = []
    # Fences may be indented (a block inside a list item).
    fenced = re.compile(
        r"^[ \t]*```(?:sh|bash|shell|console)\n(.*?)^[ \t]*```", re.MULTILINE | re.DOTALL
    )
    for block in fenced.finditer(text):
        for line in block.group(1).splitlines():
            line = re.sub(r"\s+#.*$", "", line).strip()
            if line and not line.startswith("#"):
                commands.append(line)
    prose = fenced.sub("", text)
    prose = re.sub(r"^[ \t]*```.*?^[ \t]*```", "", prose, flags=re.MULTILINE | re.DOTALL)
    for span in re.finditer(r"(?<!`)`([^`]+)`(?!`)", prose):
        command = " ".join(span.group(1).split())
        words = command.split()
        while words and re.fullmatch(r"[A-Z_][A-Z0-9_]*=\S*", words[0]):
            words.pop(0)
        # One word alone (`pg_dump`, `celery`) names a program; it is not a command.
        program = words[0] if words else ""
        if len(words) >= 2 and (
            program in COMMAND_WORDS
            or program.startswith(".venv/bin/")
            or re.fullmatch(r"python3(\.\d+)?", program)
        ):
            commands.append(command)
    return list(dict.fromkeys(commands))


# --- The table ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """How to run one README command: the concrete commands (placeholders replaced), the
    exit status expected and a text its output must contain."""

    variants: tuple[str, ...] = ()  # default: the README command itself
    status: int = 0
    output: str = ""
    why: str = ""  # when the expectation is not "exit 0", why
    # A command that serves until stopped: started in its own session, ready once its
    # output holds this text (or, for "http", once GUNICORN_BIND answers 200), then
    # stopped as systemd stops deploy/'s units (SIGTERM to the main process), which must
    # end it and every process it started within STOP_SECONDS.
    serves_until: str = ""


@dataclass
class Demo:
    """What the running demo offers the placeholders."""

    clone: Path
    port: int
    published_round_id: int
    published_round_area: str
    pabulib_file: Path
    spare_ports: tuple[int, int] = (0, 0)


# Placeholders the README uses, and the demo value each stands for.
PLACEHOLDERS: dict[str, Callable[[Demo], str]] = {
    "ROUND_ID": lambda demo: str(demo.published_round_id),  # "Parks 2026", published
    "--area AREA": lambda demo: f"--area {demo.published_round_area}",
    "FILE.pb": lambda demo: str(demo.pabulib_file),  # written by export_pabulib first
    "127.0.0.1:8000": lambda demo: f"127.0.0.1:{demo.port}",  # make run serves on PORT
    # The two gunicorn servers of "Past one machine", on ports free here.
    "127.0.0.1:8001": lambda demo: f"127.0.0.1:{demo.spare_ports[0]}",
    "127.0.0.1:8002": lambda demo: f"127.0.0.1:{demo.spare_ports[1]}",
    "someone@example-council.gov.uk": lambda demo: "resident@example.org",  # signed up
    "BACKUP": lambda demo: "$(ls -d backups/commonpurse-* | tail -n 1)",  # the latest
}

MANAGE = ".venv/bin/python manage.py"

# README command -> how it is run, in this order (export_pabulib writes the FILE.pb the
# next two read). Commands not listed run as written and must exit 0.
COMMANDS: dict[str, Run] = {
    f"{MANAGE} seed_demo": Run(output="resident@example.org"),
    "make messages": Run(output="processing locale pl"),
    f"{MANAGE} migrate": Run(output="No migrations to apply"),
    f"{MANAGE} verify_ledger [--round ID]": Run(
        variants=(f"{MANAGE} verify_ledger", f"{MANAGE} verify_ledger --round ROUND_ID"),
        output="OK",
    ),
    # Backups: back up the running demo, restore it into a scratch database, check it.
    f"{MANAGE} backup backups/": Run(output="backups/commonpurse-"),
    f"{MANAGE} backup": Run(output="backups/commonpurse-"),
    "DATABASE_URL=sqlite:///var/restore-check.sqlite3 MEDIA_ROOT=var/restore-check-media "
    f"{MANAGE} restore BACKUP": Run(output="OK"),
    f"DATABASE_URL=sqlite:///var/restore-check.sqlite3 {MANAGE} verify_ledger": Run(output="OK"),
    "rm -r var/restore-check.sqlite3 var/restore-check-media": Run(),
    f"{MANAGE} results_explain": Run(output="result(s) without an explanation"),
    f"{MANAGE} export_pabulib ROUND_ID --area AREA -o FILE.pb": Run(),
    f"{MANAGE} pabulib_tally FILE.pb --rule mes": Run(output='"winners"'),
    f"{MANAGE} import_pabulib FILE.pb --rule greedy": Run(),
    "sha256sum FILE.pb": Run(output="parks-2026.pb"),
    f"{MANAGE} verify_result parks-2026": Run(output="OK: parks-2026/"),
    f"{MANAGE} verify_result ROUND_ID --area AREA": Run(output="OK: parks-2026/"),
    f"{MANAGE} result_files_backfill": Run(output="Stored 0 new result file(s)"),
    f"{MANAGE} grant_role someone@example-council.gov.uk officer": Run(),
    f"{MANAGE} grant_role someone@example-council.gov.uk auditor --revoke": Run(),
    f"{MANAGE} check --deploy": Run(
        output="System check identified",
        why="with the development .env it lists the deploy warnings DEBUG=true causes "
        "and exits 0; tests/pb_platform/test_settings.py runs it with production "
        "settings and expects no issues",
    ),
    f"{MANAGE} register_purge": Run(
        status=1,
        output="The register is still needed",
        why="the README says it refuses, naming the round, while a round still needs "
        "the register: the demo's rounds do",
    ),
    "curl -s http://127.0.0.1:8000/api/v1/rounds/": Run(output='"slug": "parks-2026"'),
    "curl -s http://127.0.0.1:8000/api/v1/openapi.json": Run(output='"openapi": "3.'),
    "curl -sI http://127.0.0.1:8000/ | grep -iE 'content-security|permissions|cache-control'": (
        Run(output="Content-Security-Policy")
    ),
    # Production, run here with the development .env (the settings differ, the commands
    # do not). Run after make run has stopped, so only one beat uses var/.
    f"{MANAGE} migrate --noinput": Run(output="No migrations to apply"),
    f"{MANAGE} collectstatic --noinput": Run(output="static files copied"),
    ".venv/bin/gunicorn -c deploy/gunicorn.conf.py pb_platform.wsgi:application": Run(
        serves_until="http"
    ),
    ".venv/bin/celery -A pb_platform worker --loglevel=info": Run(serves_until="ready."),
    ".venv/bin/celery -A pb_platform beat --loglevel=info": Run(serves_until="beat: Starting..."),
    # Past one machine: two web servers, two named workers (and the one beat above).
    ".venv/bin/gunicorn pb_platform.wsgi:application --bind 127.0.0.1:8001 --workers 3": Run(
        serves_until="http"
    ),
    ".venv/bin/gunicorn pb_platform.wsgi:application --bind 127.0.0.1:8002 --workers 3": Run(
        serves_until="http"
    ),
    ".venv/bin/celery -A pb_platform worker --hostname=worker1@%h --loglevel=info": Run(
        serves_until="worker1@"
    ),
    ".venv/bin/celery -A pb_platform worker --hostname=worker2@%h --loglevel=info": Run(
        serves_until="worker2@"
    ),
    "head -c 7000000 /dev/zero | curl -s -o /dev/null -w '%{http_code}\\n' --data-binary @- "
    "http://127.0.0.1:8000/": Run(output="413"),
}

# README commands not run here, and why.
EXEMPT: dict[str, str] = {
    "make test": "the whole suite, this test included",
    "DATABASE_URL=postgres://postgres@127.0.0.1:5432/commonpurse "
    "REDIS_URL=redis://127.0.0.1:6379/0 make test": "the whole suite as CI runs it "
    "(.ci/run does exactly this)",
    "make typecheck": "make test runs it before the suite",
    "make run": "run by this module's stop tests, in the same fresh copy, three times",
    f"{MANAGE} createsuperuser": "interactive: it asks for a password at the terminal",
    "python3 check_ledger.py ledger-round-3-….csv": "tests/ledgers/test_audit_exports.py "
    "runs the script, taken from this README, on a real export",
    "python3.11 -m venv .venv": "how make run and make test create .venv (the Makefile)",
    ".venv/bin/pip install -e .": "what make run installs (the Makefile's .installed-run)",
    ".venv/bin/pip install -e '.[s3]'": "downloads django-storages and boto3; the settings "
    "tests check MEDIA_STORAGE=s3 with and without the package",
    "python3 -m pip install pabutools==1.2.3": "downloads pabutools from PyPI into the "
    "reader's own environment; the dev virtualenv has pabutools 1.2.3 and "
    "tests/voting/test_recount.py runs the README's recount snippet with it",
    "git pull": "updates a server's checkout from its remote",
    "pg_dump --format=custom": "what manage.py backup runs on PostgreSQL; "
    "tests/pb_platform/test_backups.py backs up and restores PostgreSQL under CI=true",
    "pg_restore --no-owner --exit-on-error --single-transaction": "what manage.py restore "
    "runs on PostgreSQL; tests/pb_platform/test_backups.py",
    "systemd-analyze security commonpurse-web": "needs the unit installed under systemd",
}

# Every command of these, with the reason.
EXEMPT_PREFIXES: dict[str, str] = {
    "sudo ": "changes a server's system (users, /etc, systemd units, nginx) as root; the "
    "units and the nginx snippet are what tests/pb_platform/test_production_serving.py "
    "runs by hand: gunicorn with deploy/gunicorn.conf.py and the proxy's headers",
}

# The README command whose run starts the site for the others, and how it is stopped.
SERVE_COMMAND = "make run PORT=8001"


# --- A fresh copy and a running make run -------------------------------------------------


def newcomer_environment(port: int | None = None) -> dict[str, str]:
    """A newcomer's shell: no settings of ours, so .env and the defaults decide."""
    environ = {
        name: os.environ[name] for name in ("PATH", "HOME", "LANG", "TMPDIR") if name in os.environ
    }
    environ.setdefault("LANG", "C.UTF-8")
    if port is not None:
        environ["PORT"] = str(port)  # make's `PORT ?= 8000` takes it from the environment
    return environ


@pytest.fixture(scope="module")
def fresh_clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The working tree's files as a clone has them, with this run's virtualenv linked in.

    Times are kept, so make sees the virtualenv as newer than pyproject.toml, exactly as
    after `make test` on a fresh clone, and installs nothing."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=PROJECT_ROOT,
        check=True,
        capture_output=True,
    ).stdout.decode()
    clone = tmp_path_factory.mktemp("fresh-clone")
    for name in filter(None, listed.split("\0")):
        source = PROJECT_ROOT / name
        if not source.is_file():  # deleted in the working tree, not yet committed
            continue
        target = clone / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    (clone / ".venv").symlink_to(Path(sys.prefix))
    if not (clone / ".venv" / ".installed").exists():
        pytest.fail(f"{sys.prefix} is not the project virtualenv: run this through make test")
    return clone


def session_processes(session: int) -> list[str]:
    """Live processes (not zombies) of a session, as "pid command" lines."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        state, sid = fields[0], int(fields[3])
        if sid == session and state != "Z":
            found.append(f"{entry.name} {command}")
    return found


@dataclass
class Started:
    command: str
    process: subprocess.Popen[bytes]
    log: Path
    seconds_to_ready: float

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def output_holds(self, text: str) -> bool:
        return text in self.log.read_text(errors="replace")


@contextlib.contextmanager
def serving(
    clone: Path, command: str, environ: dict[str, str], log: Path, ready: Callable[[Started], bool]
) -> Iterator[Started]:
    """Starts a README command that serves in its own session (as a terminal holds it)
    and waits until it is ready; always leaves no process behind."""
    began = time.monotonic()
    # A plain command runs as its own process (no shell between), so its pid is the
    # program's own, as under systemd.
    plain = not re.search(r"[|&;<>$`*?]", command)
    arguments = shlex.split(command) if plain else command
    process = started_alone(arguments, cwd=clone, env=environ, log=log, shell=not plain)
    started = Started(command, process, log, 0.0)
    try:
        while not ready(started):
            if process.poll() is not None:
                pytest.fail(f"{command} ended with {process.returncode}:\n{started.log_tail()}")
            if time.monotonic() - began > FIRST_PAGE_SECONDS:
                pytest.fail(f"{command}: not ready in {FIRST_PAGE_SECONDS} s\n{started.log_tail()}")
            time.sleep(0.25)
        started.seconds_to_ready = time.monotonic() - began
        yield started
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)


def answers_on(port: int) -> Callable[[Started], bool]:
    return lambda _started: http_status(f"http://127.0.0.1:{port}/") == 200


def make_run_serving(clone: Path, command: str, port: int, log: Path) -> Iterator[Started]:
    return serving(clone, command, newcomer_environment(port), log, answers_on(port))


def stop_and_count_seconds(started: Started, how: str, *, processes: int = 5) -> float:
    """Stops a serving command as asked; the seconds until none of its processes is left."""
    session = started.process.pid  # start_new_session: pid == session == group
    before = session_processes(session)
    assert len(before) >= processes, f"expected at least {processes} processes: {before}"
    began = time.monotonic()
    if how == "ctrl-c":  # the terminal sends SIGINT to the whole foreground group
        os.killpg(session, signal.SIGINT)
    elif how == "sigterm-make":  # `kill <make's pid>`; the shell running the command
        make = [line for line in before if line.split(" ", 1)[1].startswith("make ")]
        assert len(make) == 1, before
        os.kill(int(make[0].split(" ", 1)[0]), signal.SIGTERM)
    elif how == "sigterm-group":  # what systemd does to make run's processes
        os.killpg(session, signal.SIGTERM)
    elif how == "sigterm-main":  # what deploy/'s units do (KillMode=mixed)
        os.kill(started.process.pid, signal.SIGTERM)
    else:
        raise AssertionError(how)
    while session_processes(session) and time.monotonic() - began < STOP_SECONDS + 5:
        time.sleep(0.1)
    seconds = time.monotonic() - began
    left = session_processes(session)
    where = f"{started.command}, {how}"
    assert not left, f"{where}: still running after {seconds:.1f} s: {left}\n{started.log_tail()}"
    assert seconds <= STOP_SECONDS, f"{where}: took {seconds:.1f} s\n{started.log_tail()}"
    return seconds


# --- The tests ---------------------------------------------------------------------------


def test_every_readme_command_is_in_the_table_or_exempt():
    found = readme_commands(README.read_text())
    known = {*COMMANDS, *EXEMPT, SERVE_COMMAND}
    unknown = [
        command
        for command in found
        if command not in known and not command.startswith(tuple(EXEMPT_PREFIXES))
    ]
    assert not unknown, (
        "README commands this test neither runs nor exempts (add each to COMMANDS or EXEMPT "
        "in tests/test_readme_commands.py):\n" + "\n".join(unknown)
    )
    listed = [*COMMANDS, *EXEMPT, SERVE_COMMAND]
    stale = [command for command in listed if command not in found]
    assert not stale, "table entries the README no longer shows:\n" + "\n".join(stale)
    assert SERVE_COMMAND not in EXEMPT
    assert set(COMMANDS).isdisjoint(EXEMPT)


def test_readme_commands_extracted_from_blocks_and_spans():
    text = (
        "Run `make run PORT=8001` or `DEBUG` or `DEBUG=true`.\n\n"
        "```sh\nmake test   # the suite\n# a comment\n.venv/bin/python manage.py x A\n```\n"
        "A span over two lines: `curl -s\n-X POST http://a/`, a name `celery`, `pg_dump`.\n"
        "```python\nprint('not a command')\n```\n"
        "- In a list:\n\n  ```sh\n  make lint\n  ```\n"
    )
    assert readme_commands(text) == [
        "make test",
        ".venv/bin/python manage.py x A",
        "make lint",
        "make run PORT=8001",
        "curl -s -X POST http://a/",
    ]


def demo_facts(clone: Path) -> tuple[int, str]:
    """The published demo round's id and one of its areas, read from the copy's SQLite."""
    database = sqlite3.connect(clone / "db.sqlite3")
    try:
        round_id, area_slug = database.execute(
            "SELECT budget_round.id, area.slug FROM proposals_budgetround AS budget_round"
            " JOIN proposals_roundarea AS link ON link.budget_round_id = budget_round.id"
            " JOIN proposals_area AS area ON area.id = link.area_id"
            " WHERE budget_round.name = 'Parks 2026' ORDER BY area.slug LIMIT 1"
        ).fetchone()
    finally:
        database.close()
    return int(round_id), str(area_slug)


def substituted(command: str, demo: Demo) -> str:
    for placeholder, value in PLACEHOLDERS.items():
        command = command.replace(placeholder, value(demo))
    return command


def run_to_completion(readme_command: str, run: Run, demo: Demo) -> int:
    """Runs each variant of a README command; how many ran."""
    variants = run.variants or (readme_command,)
    for variant in variants:
        command = substituted(variant, demo)
        result = subprocess.run(  # noqa: S602 (the README's command, as written)
            command,
            shell=True,
            cwd=demo.clone,
            env=newcomer_environment(),
            capture_output=True,
            timeout=120,
        )
        output = (result.stdout + result.stderr).decode(errors="replace")
        where = f"README: {readme_command}\nran: {shlex.quote(command)}\n{output}"
        assert result.returncode == run.status, where
        assert run.output in output, where
    return len(variants)


def serve_then_stop(readme_command: str, run: Run, demo: Demo, log: Path) -> float:
    """Starts a README command that serves, waits until it is ready, stops it as the
    units in deploy/ do (SIGTERM to the main process); the seconds it took to stop."""
    environ = newcomer_environment()
    command = substituted(readme_command, demo)
    if run.serves_until == "http":
        bound = re.search(r"--bind 127\.0\.0\.1:(\d+)", command)
        port = int(bound.group(1)) if bound else free_port()
        if not bound:  # deploy/gunicorn.conf.py binds GUNICORN_BIND, 127.0.0.1:8000 unset
            environ["GUNICORN_BIND"] = f"127.0.0.1:{port}"
        ready = answers_on(port)
    else:
        ready = lambda started: started.output_holds(run.serves_until)  # noqa: E731
    with serving(demo.clone, command, environ, log, ready) as started:
        return stop_and_count_seconds(started, "sigterm-main", processes=1)


def test_readme_commands_work_as_written(fresh_clone, tmp_path):
    test_every_readme_command_is_in_the_table_or_exempt()
    port = free_port()
    serve = SERVE_COMMAND.replace("8001", str(port))
    with make_run_serving(fresh_clone, serve, port, tmp_path / "make-run.log") as started:
        assert (fresh_clone / ".env").read_text().splitlines()[-1] == "DEBUG=true"
        round_id, area = demo_facts(fresh_clone)
        spare_ports = (free_port(), free_port())
        demo = Demo(fresh_clone, port, round_id, area, tmp_path / "parks-2026.pb", spare_ports)
        ran = 0
        for readme_command, run in COMMANDS.items():
            if not run.serves_until:
                ran += run_to_completion(readme_command, run, demo)
        stop_and_count_seconds(started, "ctrl-c")
    # Commands that serve, one at a time once make run has stopped (one beat at a time).
    stops = []
    for number, (readme_command, run) in enumerate(COMMANDS.items()):
        if run.serves_until:
            log = tmp_path / f"serving-{number}.log"
            stops.append(serve_then_stop(readme_command, run, demo, log))
            ran += 1
    print(
        f"\nREADME commands: {len(COMMANDS) + 1} run ({ran} invocations; {SERVE_COMMAND!r} "
        f"and {len(stops)} others served, then stopped in at most {max(stops):.1f} s), "
        f"{len(EXEMPT)} exempt plus every command starting with {sorted(EXEMPT_PREFIXES)}; "
        f"first page of the fresh copy after {started.seconds_to_ready:.1f} s"
    )


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm-make", "sigterm-group"])
def test_make_run_stops_web_worker_and_beat_within_ten_seconds(fresh_clone, tmp_path, how):
    port = free_port()
    with make_run_serving(fresh_clone, "make run", port, tmp_path / "make-run.log") as started:
        # Wait for the worker and beat too: a stop during start-up is not the case here.
        ready_by = time.monotonic() + 60
        while not (started.output_holds("ready.") and started.output_holds("beat: Starting")):
            assert time.monotonic() < ready_by, f"worker not ready:\n{started.log_tail()}"
            time.sleep(0.25)
        seconds = stop_and_count_seconds(started, how)
    print(f"\nmake run stopped by {how} in {seconds:.1f} s, nothing left")
