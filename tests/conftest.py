"""Shared fixtures: personas (anonymous, resident of area A, resident of area B, officer,
auditor), the backend banner and the CI guarantees (real PostgreSQL and Redis)."""

from __future__ import annotations

import os
import socket
import sys
from collections import Counter
from urllib.parse import urlparse

import pytest
from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.test import Client
from django.utils import translation

from pb_platform.roles import AUDITOR, OFFICER, RESIDENT, role_grant
from tests.browser import browser  # noqa: F401  (registers the session-wide Chromium fixture)
from tests.factories import AreaFactory, ResidentProfileFactory, UserFactory

IN_CI = os.environ.get("CI", "").lower() == "true"


def database_backend() -> str:
    return settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1].replace("sqlite3", "sqlite")


def _redis_reachable(url: str) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 6379), 3):
            return True
    except OSError:
        return False


def pytest_configure(config: pytest.Config) -> None:
    # Sign-in limits live in the cache. Keys of our own (before any cache is opened), so
    # another test run or a developer's server sharing this Redis neither sees our
    # counts nor clears them in the middle of a test.
    settings.CACHES["default"]["KEY_PREFIX"] = f"commonpurse-test-{os.getpid()}"


def pytest_report_header(config: pytest.Config) -> list[str]:
    return [f"database backend: {database_backend()}"]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The authorisation matrix's size and outcome counts, when it ran."""
    matrix = sys.modules.get("tests.test_authorisation_matrix")
    if matrix is None or not matrix.OUTCOMES:
        return
    results: Counter[str] = Counter()
    for status in ("passed", "failed", "xfailed", "xpassed", "skipped", "error"):
        for report in terminalreporter.stats.get(status, []):
            if "test_matrix_cell[" in getattr(report, "nodeid", "") and (
                report.when == "call" or status in ("skipped", "error")
            ):
                results[status] += 1
    terminalreporter.write_sep("-", "authorisation matrix")
    for line in matrix.summary_lines(results):
        terminalreporter.write_line(line)


def pytest_sessionstart(session: pytest.Session) -> None:
    if not IN_CI:
        return
    problems = []
    if database_backend() != "postgresql":
        problems.append("CI=true but DATABASE_URL is not PostgreSQL")
    if not settings.REDIS_URL:
        problems.append("CI=true but REDIS_URL is not set")
    elif not _redis_reachable(settings.REDIS_URL):
        problems.append(f"CI=true but Redis at {settings.REDIS_URL} is unreachable")
    if problems:
        pytest.exit("; ".join(problems), returncode=3)


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("postgresql") and database_backend() != "postgresql":
        if IN_CI:
            pytest.fail("PostgreSQL-only test, but CI is not running on PostgreSQL")
        pytest.skip("needs PostgreSQL (set DATABASE_URL=postgres://...)")


def _clear_cache() -> None:
    # The backend itself: ``django.core.cache.cache`` is a proxy, never an instance of
    # RedisCache, so asking the proxy sent every run with Redis to FLUSHDB.
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        # Only our keys: FLUSHDB would also empty the Celery queues sharing this Redis.
        client = backend._cache.get_client(write=True)
        keys = list(client.scan_iter(match=f"{settings.CACHES['default']['KEY_PREFIX']}:*"))
        if keys:
            client.delete(*keys)
    else:
        backend.clear()


@pytest.fixture(autouse=True)
def _fresh_cache(request, django_db_blocker):
    """allauth keeps rate limits in the cache; a test must not inherit another's. Without
    Redis the cache is a database table: cleared only for tests that use the database
    (in the test database, which this makes sure exists)."""
    if isinstance(caches["default"], RedisCache):
        _clear_cache()
        yield
        _clear_cache()
        return
    if "django_db_setup" not in request.fixturenames and not request.node.get_closest_marker(
        "django_db"
    ):
        yield
        return
    request.getfixturevalue("django_db_setup")
    with django_db_blocker.unblock():
        _clear_cache()
    yield
    with django_db_blocker.unblock():
        _clear_cache()


@pytest.fixture(autouse=True)
def _site_language():
    """Each test starts in the site's language: a request in Polish leaves Polish active
    in the thread that served it (Django's test client serves in the test's own)."""
    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Hashing test passwords with PBKDF2 takes most of the suite's time; tests that
    check real sign-in still go through Django's hashing API, only faster."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# --- Personas ---------------------------------------------------------------------------


@pytest.fixture
def area_a(db):
    return AreaFactory(name="Area A", slug="area-a")


@pytest.fixture
def area_b(db):
    return AreaFactory(name="Area B", slug="area-b")


@pytest.fixture
def resident_a(area_a):
    profile = ResidentProfileFactory(area=area_a, display_name="Alex of A")
    role_grant(user=profile.user, role=RESIDENT)
    return profile.user


@pytest.fixture
def resident_b(area_b):
    profile = ResidentProfileFactory(area=area_b, display_name="Bea of B")
    role_grant(user=profile.user, role=RESIDENT)
    return profile.user


@pytest.fixture
def officer(db):
    user = UserFactory(email="officer@example.org")
    role_grant(user=user, role=OFFICER)
    return user


@pytest.fixture
def auditor(db):
    user = UserFactory(email="auditor@example.org")
    role_grant(user=user, role=AUDITOR)
    return user


@pytest.fixture
def anonymous_client() -> Client:
    return Client()


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def persona_client(request):
    """A client for a persona fixture named in ``request.param`` ("anonymous" for none)."""
    name = request.param
    if name == "anonymous":
        return Client()
    return client_for(request.getfixturevalue(name))
