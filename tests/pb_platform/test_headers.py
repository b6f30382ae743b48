"""Security headers on every page of the site: a crawl of the demo as each persona, and
the cache rule for signed-in people."""

from __future__ import annotations

import io
from collections import deque
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit, urlunsplit

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory
from django.utils.cache import patch_cache_control

from pb_platform.headers import PrivateCacheMiddleware
from tests.factories import PASSWORD, UserFactory

# The people of seed_demo (AnonymousUser for None); the crawl starts from the home page
# and the officer dashboard (and the pages below) for each of them.
PERSONAS = {
    "anonymous": None,
    "resident": "resident@example.org",
    "officer": "officer@example.org",
    "auditor": "auditor@example.org",
}
# allauth's pages that no page links to (reached from emails or by typing the address),
# and a page that does not exist, are visited too.
STARTS = (
    "/",
    "/officer/",
    "/accounts/email/",
    "/accounts/password/change/",
    "/accounts/password/reset/done/",
    "/accounts/confirm-email/",
    "/accounts/confirm-email/not-a-key/",
    "/accounts/password/reset/key/1-not-a-key/",
    "/accounts/inactive/",
    "/accounts/reauthenticate/",
    "/no-such-page/",
)
# Pages each persona must have reached, so the crawl cannot pass by visiting nothing.
MUST_REACH = {
    "anonymous": {"/rounds/", "/accounts/login/", "/rounds/parks-2026/money/"},
    "resident": {"/accounts/profile/", "/my/ballots/", "/rounds/neighbourhood-fund-2026/vote/"},
    "officer": {"/officer/rounds/new/", "/officer/areas/", "/officer/residents/"},
    "auditor": {"/audit/"},
}
# Not pages: files the site serves as they are.
SKIP_PREFIXES = ("/static/", "/media/")
# Safety net: the demo has about a hundred pages per persona.
PAGE_CAP = 1500


class PageReader(HTMLParser):
    """Links, and inline code: <script> without src (data blocks aside), <style>,
    style="" and on...="" attributes."""

    DATA_SCRIPT_TYPES = ("application/json", "application/ld+json")

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.inline: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "a" and values.get("href"):
            self.links.append(values["href"] or "")
        script_type = (values.get("type") or "").lower()
        if tag == "script" and not values.get("src") and script_type not in self.DATA_SCRIPT_TYPES:
            self.inline.append(f"<script> at line {self.getpos()[0]}")
        if tag == "style":
            self.inline.append(f"<style> at line {self.getpos()[0]}")
        for name, _value in attrs:
            if name == "style" or name.startswith("on"):
                self.inline.append(f'<{tag} {name}="..."> at line {self.getpos()[0]}')


def header_problems(path: str, response: HttpResponse, *, signed_in: bool) -> list[str]:
    problems = []
    policy = response.headers.get("Content-Security-Policy", "")
    if not policy:
        problems.append("no Content-Security-Policy")
    elif path.startswith("/admin/"):
        script_src = next((d for d in policy.split(";") if "script-src" in d), "")
        if "'unsafe-inline'" in script_src or "'unsafe-eval'" in script_src:
            problems.append(f"the admin's script-src allows inline code: {script_src}")
    elif "'unsafe-inline'" in policy or "'unsafe-eval'" in policy:
        problems.append(f"the policy allows inline code: {policy}")
    for directive in ("frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'"):
        if policy and directive not in policy:
            problems.append(f"the policy lacks {directive}")
    if "camera=()" not in response.headers.get("Permissions-Policy", ""):
        problems.append("no Permissions-Policy switching off the camera")
    if signed_in:
        cache_control = {d.strip() for d in response.headers.get("Cache-Control", "").split(",")}
        if not {"private", "no-store"} <= cache_control:
            problems.append(f"Cache-Control is {response.headers.get('Cache-Control')!r}")
    return [f"{path} ({response.status_code}): {problem}" for problem in problems]


def crawl(client: Client, *, signed_in: bool) -> tuple[list[str], list[str]]:
    """Every same-site link (and redirect) from STARTS; returns the paths and problems."""
    queue = deque(STARTS)
    seen = set(STARTS)
    visited: list[str] = []
    problems: list[str] = []
    while queue and len(visited) < PAGE_CAP:
        path = queue.popleft()
        response = client.get(path)
        visited.append(path)
        problems += header_problems(path, response, signed_in=signed_in)
        if response.status_code >= 500:
            problems.append(f"{path} answered {response.status_code}")
        targets = []
        if response.has_header("Location"):
            targets.append(response["Location"])
        elif "text/html" in response.get("Content-Type", ""):
            reader = PageReader()
            reader.feed(response.content.decode())
            targets += reader.links
            if not path.startswith("/admin/"):
                problems += [f"{path}: inline code, {found}" for found in reader.inline]
        for target in targets:
            parts = urlsplit(urljoin(f"http://testserver{path}", target))
            if parts.netloc != "testserver" or parts.path.startswith(SKIP_PREFIXES):
                continue
            link = urlunsplit(("", "", parts.path, parts.query, ""))
            if link not in seen:
                seen.add(link)
                queue.append(link)
    if queue:
        problems.append(f"stopped at the cap of {PAGE_CAP} pages with {len(queue)} left")
    return visited, problems


@pytest.fixture
def demo(db) -> None:
    call_command("seed_demo", allow_without_debug=True, stdout=io.StringIO())


def test_every_page_of_the_crawl_sends_the_security_headers(demo):
    """One test for the four personas: the demo is seeded once (seconds on PostgreSQL)."""
    problems: list[str] = []
    crawled = {}
    for persona, email in PERSONAS.items():
        client = Client()
        if email:
            client.force_login(get_user_model().objects.get(email=email))

        visited, found = crawl(client, signed_in=email is not None)

        crawled[persona] = len(visited)
        problems += [f"[{persona}] {problem}" for problem in found]
        missing = MUST_REACH[persona] - set(visited)
        if missing:
            problems.append(f"[{persona}] never reached {sorted(missing)}")

    print(f"pages crawled: {crawled}, {sum(crawled.values())} in all")
    assert not problems, f"{len(problems)} problem(s):\n" + "\n".join(problems)


def test_signing_in_and_out_are_not_cached_but_anonymous_pages_may_be(db, client):
    UserFactory(email="someone@example.org")
    home = client.get("/")
    assert "no-store" not in home.get("Cache-Control", "")

    signed_in = client.post(
        "/accounts/login/", {"login": "someone@example.org", "password": PASSWORD}
    )
    assert signed_in.status_code == 302
    assert {"private", "no-store"} <= set(signed_in["Cache-Control"].split(", "))
    assert "no-store" in client.get("/").get("Cache-Control", "")

    signed_out = client.post("/accounts/logout/")
    assert signed_out.status_code == 302
    assert "no-store" in signed_out["Cache-Control"]
    assert "no-store" not in client.get("/").get("Cache-Control", "")


def _respond_with(cache_control: dict[str, object]):
    def view(request: HttpRequest) -> HttpResponse:
        response = HttpResponse("page")
        patch_cache_control(response, **cache_control)
        return response

    return view


def _signed_in_request(db_user) -> HttpRequest:
    request = RequestFactory().get("/")
    request.user = db_user
    return request


def test_a_view_asking_for_a_public_cache_is_made_private_for_someone_signed_in(db):
    middleware = PrivateCacheMiddleware(_respond_with({"public": True, "max_age": 600}))

    response = middleware(_signed_in_request(UserFactory()))

    directives = set(response["Cache-Control"].split(", "))
    assert "public" not in directives
    assert {"private", "no-store"} <= directives


def test_stricter_directives_a_view_set_are_kept(db):
    never_cached = {"no_cache": True, "no_store": True, "must_revalidate": True, "max_age": 0}
    middleware = PrivateCacheMiddleware(_respond_with(never_cached))

    response = middleware(_signed_in_request(UserFactory()))

    assert set(response["Cache-Control"].split(", ")) == {
        "max-age=0",
        "no-cache",
        "no-store",
        "must-revalidate",
        "private",
    }


def test_a_form_refused_for_its_missing_csrf_token_explains_itself_without_inline_code(db):
    """Django's own page for this has an inline <style>; ours is a site page."""
    client = Client(enforce_csrf_checks=True)

    response = client.post("/accounts/login/", {"login": "a@example.org", "password": "x"})

    assert response.status_code == 403
    assert "Your form was not sent" in response.text
    reader = PageReader()
    reader.feed(response.text)
    assert reader.inline == []
    assert header_problems("/accounts/login/", response, signed_in=False) == []


def test_only_djangos_debug_pages_may_use_inline_code_and_only_with_debug_on(db, settings):
    settings.DEBUG = True
    client = Client()

    debug_404 = client.get("/no-such-page/")
    ordinary = client.get("/")

    assert debug_404.status_code == 404
    assert "'unsafe-inline'" in debug_404["Content-Security-Policy"]
    assert "'unsafe-inline'" not in ordinary["Content-Security-Policy"]
    settings.DEBUG = False
    assert "'unsafe-inline'" not in client.get("/no-such-page/")["Content-Security-Policy"]
