"""The site as production runs it: real gunicorn with deploy/gunicorn.conf.py, DEBUG off,
static files collected by ``collectstatic``, uploads served by the app, behind a local
proxy that says the visitor came over HTTPS.

gunicorn is a separate process on the test database (as the real Celery worker test
does, see tests/test_celery_worker.py), so the data is committed (transactional_db).
"""

from __future__ import annotations

import contextlib
import http.client
import io
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from PIL import Image

from proposals.models import ProposalStatus
from tests.factories import ProposalFactory
from tests.processes import log_tail, started_alone, worker_database_url

PROJECT_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
BOOT_SECONDS = 20
# What deploy/systemd/commonpurse-web.service gives gunicorn before SIGKILL.
STOP_SECONDS = 10
# Headers of the local proxy (deploy/nginx/commonpurse.conf): HTTPS, the public name.
PROXY_HEADERS = {"Host": "localhost", "X-Forwarded-Proto": "https"}


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 6), (40, 90, 200)).save(buffer, format="PNG")
    return buffer.getvalue()


def proposal_with_image(status: str, filename: str):
    proposal = ProposalFactory(status=status, image_description="A bench by the pond")
    proposal.image.save(filename, ContentFile(png_bytes()))
    return proposal


def listening_port(log_path: Path, process: subprocess.Popen[bytes]) -> int:
    """The port gunicorn chose for ``127.0.0.1:0``, from its "Listening at" line."""
    deadline = time.monotonic() + BOOT_SECONDS
    while time.monotonic() < deadline:
        found = re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", log_path.read_text())
        if found:
            return int(found.group(1))
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited with {process.returncode}:\n{log_tail(log_path)}")
        time.sleep(0.1)
    pytest.fail(f"gunicorn did not listen within {BOOT_SECONDS}s:\n{log_tail(log_path)}")


class Fetched:
    def __init__(self, response: http.client.HTTPResponse) -> None:
        self.status = response.status
        self.headers = response.headers
        self.body = response.read()


def fetch(port: int, path: str, headers: dict[str, str] | None = None) -> Fetched:
    """GET ``path`` exactly as written (no client-side clean-up of ``..``)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    try:
        connection.request("GET", path, headers=PROXY_HEADERS if headers is None else headers)
        return Fetched(connection.getresponse())
    finally:
        connection.close()


def stop_group(process: subprocess.Popen[bytes]) -> None:
    """Nothing of gunicorn's survives the test, whatever happened."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=10)


# --- deploy/gunicorn.conf.py, as gunicorn reads it --------------------------------------

GUNICORN_VARIABLES = ("GUNICORN_BIND", "WEB_CONCURRENCY", "FORWARDED_ALLOW_IPS")


def gunicorn_config(**environ: str) -> subprocess.CompletedProcess[str]:
    """gunicorn's own reading of the configuration (``--print-config``), with
    ``environ`` as the only gunicorn variables set."""
    env = {name: value for name, value in os.environ.items() if name not in GUNICORN_VARIABLES}
    return subprocess.run(
        [
            str(BIN / "gunicorn"),
            "-c",
            "deploy/gunicorn.conf.py",
            "--print-config",
            "pb_platform.wsgi:application",
        ],
        cwd=PROJECT_ROOT,
        env={**env, **environ},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def config_values(result: subprocess.CompletedProcess[str]) -> dict[str, str]:
    assert result.returncode == 0, result.stderr
    return dict(
        (name.strip(), value.strip())
        for name, _equals, value in (line.partition("=") for line in result.stdout.splitlines())
    )


def test_gunicorn_by_default_listens_locally_with_a_worker_count_from_the_cpus():
    values = config_values(gunicorn_config())

    cpus = len(os.sched_getaffinity(0))
    assert values["workers"] == str(min(2 * cpus + 1, 8))
    assert values["bind"] == "['127.0.0.1:8000']"
    # Only the local proxy's X-Forwarded-Proto is believed.
    assert values["forwarded_allow_ips"] == "['127.0.0.1', '::1']"
    # Requests under way may finish, within the 10 s systemd gives before SIGKILL.
    assert 0 < int(values["graceful_timeout"]) < STOP_SECONDS
    assert values["accesslog"] == "-"


def test_gunicorn_takes_its_address_and_workers_from_the_environment():
    values = config_values(
        gunicorn_config(GUNICORN_BIND="unix:/run/commonpurse/web.sock", WEB_CONCURRENCY="3")
    )

    assert values["bind"] == "['unix:/run/commonpurse/web.sock']"
    assert values["workers"] == "3"


def test_gunicorn_refuses_a_worker_count_below_one():
    result = gunicorn_config(WEB_CONCURRENCY="0")

    assert result.returncode != 0
    assert "WEB_CONCURRENCY must be at least 1, not 0." in result.stderr


# --- The whole site under gunicorn ------------------------------------------------------


def test_gunicorn_serves_pages_static_files_and_uploads_with_debug_off(
    transactional_db, django_db_serialized_rollback, settings, tmp_path
):
    # Given a public idea and a draft, each with a photo, uploaded to a media folder that
    # also holds a page nobody uploaded, and the static files collected for production.
    media_root = tmp_path / "media"
    settings.MEDIA_ROOT = media_root
    public = proposal_with_image(ProposalStatus.SUBMITTED, "bench.png")
    draft = proposal_with_image(ProposalStatus.DRAFT, "secret.png")
    (media_root / "proposals" / "page.html").write_text("<script>alert(1)</script>")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "pb_platform.settings",
        "DEBUG": "false",
        "DATABASE_URL": worker_database_url(),
        "VAR_DIR": str(tmp_path / "var"),
        "STATIC_ROOT": str(tmp_path / "static"),
        "MEDIA_ROOT": str(media_root),
        "MEDIA_STORAGE": "filesystem",
        # As in production: plain HTTP is redirected, so the pages below prove that
        # gunicorn believes the local proxy's X-Forwarded-Proto.
        "SECURE_SSL_REDIRECT": "true",
        "GUNICORN_BIND": "127.0.0.1:0",
        "WEB_CONCURRENCY": "1",
        "PYTHONUNBUFFERED": "1",
    }
    for name in ("BEHIND_HTTPS_PROXY", "FORWARDED_ALLOW_IPS", "CELERY_BROKER_DIR"):
        env.pop(name, None)
    collected = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert collected.returncode == 0, collected.stderr

    # When gunicorn runs with the production configuration...
    log_path = tmp_path / "gunicorn.log"
    gunicorn = [
        str(BIN / "gunicorn"),
        "-c",
        "deploy/gunicorn.conf.py",
        "pb_platform.wsgi:application",
    ]
    process = started_alone(gunicorn, cwd=PROJECT_ROOT, env=env, log=log_path)
    try:
        port = listening_port(log_path, process)
        served: dict[str, Fetched] = {}

        def get(path: str, headers: dict[str, str] | None = None) -> Fetched:
            served[path] = fetch(port, path, headers)
            return served[path]

        # ...then plain HTTP is sent to HTTPS, and through the proxy a page is served,
        page = get("/", {"Host": "localhost"})
        assert page.status == 301, log_tail(log_path)
        assert page.headers["Location"] == "https://localhost/"
        home = get("/")
        assert home.status == 200, log_tail(log_path)
        assert home.headers["Content-Type"] == "text/html; charset=utf-8"

        # a collected static file with its type,
        css = get("/static/css/site.css")
        assert css.status == 200, log_tail(log_path)
        assert css.headers["Content-Type"].startswith("text/css")
        assert css.body == (PROJECT_ROOT / "static" / "css" / "site.css").read_bytes()

        # the public idea's photo, as an image the browser may neither sniff nor run,
        image = get(public.image.url)
        assert public.image.url.startswith("/media/proposals/")
        assert image.status == 200, log_tail(log_path)
        assert image.headers["Content-Type"] == "image/png"
        assert image.headers["X-Content-Type-Options"] == "nosniff"
        assert image.headers["Content-Security-Policy"].startswith("default-src 'none'")
        assert image.body == png_bytes()

        # and nothing else under /media/: a draft's photo, a file that is no image,
        # paths out of the folder (sent as written), a name with no file.
        for path in [
            draft.image.url,
            "/media/proposals/page.html",
            "/media/../manage.py",
            "/media/%2e%2e/manage.py",
            "/media/proposals/../../pb_platform/settings.py",
            "/media/proposals/missing.png",
        ]:
            assert get(path).status == 404, path

        # No response says which gunicorn (or anything else) it is.
        for path, response in served.items():
            for server in response.headers.get_all("Server") or []:
                assert not re.search(r"\d", server), f"{path}: Server: {server}"

        # The access log is on gunicorn's standard output, one line per request.
        assert '"GET / HTTP/1.1" 200' in log_path.read_text()

        # Stopped as systemd stops it (SIGTERM to the main process only), it is gone
        # before systemd would kill it.
        stopping = time.monotonic()
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=STOP_SECONDS + 5)
        assert time.monotonic() - stopping < STOP_SECONDS
        with pytest.raises(ProcessLookupError):  # its workers went with it
            os.killpg(process.pid, 0)
    finally:
        stop_group(process)
