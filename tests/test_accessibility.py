"""Every page a visitor or a demo role can reach from ``/``, checked in a real browser with
axe-core against WCAG 2.2 AA and axe's best practices. Serious and critical findings fail.

The crawl runs in every language of the site: in English up to ``PER_KIND`` pages of
each kind, in each other language one page of each kind (URL name), reached with the
browser set to that language (so the first visit's ``Accept-Language`` chooses it),
where every page must also say so in ``<html lang>`` and show no English word outside
what people typed (tests/english_left.py).

Each page is checked at a desktop and at a phone width, and a full-page screenshot of
each is saved under ``test-output/a11y/<persona>/`` so a failure can be looked at.
"""

from __future__ import annotations

import io
import re
from collections import Counter, deque
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import call_command
from django.urls import Resolver404, resolve
from django.utils import translation

from tests import english_left
from tests.browser import (
    TEST_OUTPUT,
    CspViolations,
    axe_violations,
    browser_context,
    describe_violation,
)

pytestmark = pytest.mark.browser

PAGE_CAP = 120
# Pages of one kind (one URL name, e.g. a proposal's page) share a template: checking a
# few of each covers them all and keeps the crawl's length independent of the data.
PER_KIND = 3
VIEWPORTS = {
    "desktop": {"width": 1280, "height": 800},
    "phone": {"width": 390, "height": 844},
}

# The demo accounts seed_demo creates (its passwords are published on purpose).
ACCOUNTS = {
    "visitor": None,
    "resident": ("resident@example.org", "resident-demo-2027"),
    "officer": ("officer@example.org", "officer-demo-2027"),
    "auditor": ("auditor@example.org", "auditor-demo-2027"),
}

# So the crawl cannot pass by visiting nothing: pages each persona must reach by links.
MUST_REACH = {
    "visitor": {
        "/",
        "/rounds/",
        "/accounts/login/",
        "/accounts/signup/",
        "/rounds/parks-2026/results/",
        "/rounds/parks-2026/results/riverside/",  # the fairness panel and its charts
        "/rounds/parks-2026/money/",  # with the pond's assessments
        "/rounds/parks-2026/you-said-we-did/",
        "/rounds/parks-2026/participation/",  # Northfield under-represented, outreach
        # The published priorities stage: the round's page and an area's chart and table.
        "/rounds/green-streets-2027/priorities/",
        "/rounds/green-streets-2027/priorities/riverside/",
    },
    "resident": {
        "/",
        "/rounds/",
        "/accounts/profile/",
        "/my/ballots/",
        "/rounds/neighbourhood-fund-2026/vote/",
    },
    "officer": {
        "/officer/",
        "/officer/rounds/new/",
        "/officer/areas/",
        "/officer/residents/",
        "/officer/rounds/neighbourhood-fund-2026/paper/",
        "/officer/rounds/neighbourhood-fund-2026/turnout/",
        "/officer/rounds/parks-2026/ledger/",
        "/officer/register/",
        "/officer/rounds/green-streets-2027/priorities/",
        "/officer/rounds/parks-2026/assessments/",
    },
    "auditor": {"/audit/", "/officer/register/", "/officer/rounds/parks-2026/assessments/"},
}
MIN_PAGES = {"visitor": 5, "resident": 5, "officer": 10, "auditor": 5}
# Staff pages must not even be linked for people who may not use them (a visitor would
# only be sent to sign in, so the links offered are checked, not where they lead).
MUST_NOT_REACH = {"visitor": ("/officer/", "/audit/"), "resident": ("/officer/", "/audit/")}

# Never followed: the admin has its own markup, logging out would end the crawl, static
# or media files are not pages, and the API answers JSON (its docs page is Swagger UI's,
# checked under the site's policy in tests/pb_platform/test_headers_browser.py).
SKIP_PREFIXES = ("/admin/", "/accounts/logout/", "/static/", "/media/", "/api/")
SKIP_SUFFIXES = (
    ".css", ".js", ".json", ".xml", ".txt", ".csv", ".pdf", ".zip", ".pb",
    ".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp", ".ico",
)  # fmt: skip


@pytest.fixture
def demo_site(transactional_db, django_db_serialized_rollback, live_server) -> str:
    """The demo data behind a real server; returns the server's base URL.

    Serialized rollback restores what migrations created (the role groups and their
    permissions), which the flush after each transactional test would otherwise remove.
    """
    call_command("seed_demo", allow_without_debug=True, stdout=io.StringIO())
    return live_server.url


def screenshot_dir(persona: str, prefix: str) -> Path:
    """The persona's folder, emptied of old screenshots whose names start with prefix."""
    folder = TEST_OUTPUT / "a11y" / persona
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob(f"{prefix}*.png"):
        old.unlink()
    return folder


def slug_for(path: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-") or "home"


def local_path(url: str) -> str:
    """Path and query of a URL, without the fragment."""
    parts = urlsplit(url)
    return urlunsplit(("", "", parts.path or "/", parts.query, ""))


def followable(url: str, origin: tuple[str, str]) -> str | None:
    """The link's local path if the crawl should follow it, otherwise None."""
    parts = urlsplit(url)
    if (parts.scheme, parts.netloc) != origin:
        return None
    path = parts.path or "/"
    if path.startswith(SKIP_PREFIXES) or path.lower().endswith(SKIP_SUFFIXES):
        return None
    return local_path(url)


class Checker:
    """Runs axe at every viewport on pages a context shows, saving screenshots, and
    collects the Content-Security-Policy violations the context's pages reported."""

    def __init__(
        self, persona: str, folder: Path, csp: CspViolations, language: str | None = None
    ) -> None:
        self.persona = persona
        self.folder = folder
        self.csp = csp
        self.language = language or settings.LANGUAGE_CODE
        self.findings: list[str] = []
        # Where the page is in another language than the site's own: what people typed,
        # taken out before looking for English (read once: the crawl changes nothing).
        self.typed = english_left.typed_texts() if self.language != settings.LANGUAGE_CODE else None

    def check(self, page: Any, label: str, name: str) -> None:
        if self.language != settings.LANGUAGE_CODE:
            name = f"{self.language}-{name}"
        for problem in english_left.language_problems(page, self.language, self.typed):
            self.findings.append(f"[{self.persona}, {self.language}] {label}\n  {problem}")
        for viewport_name, viewport in VIEWPORTS.items():
            page.set_viewport_size(viewport)
            for violation in axe_violations(page):
                self.findings.append(
                    f"[{self.persona}, {viewport_name}] {label}\n  {describe_violation(violation)}"
                )
            # axe cannot test reflow (WCAG 1.4.10): at phone width, only parts such as a
            # wide table may scroll sideways, never the whole page.
            width = page.evaluate("() => document.documentElement.scrollWidth")
            if width > viewport["width"]:
                self.findings.append(
                    f"[{self.persona}, {viewport_name}] {label}\n  reflow (WCAG 1.4.10): the "
                    f"page is {width}px wide in a {viewport['width']}px window"
                )
            page.screenshot(path=self.folder / f"{name}-{viewport_name}.png", full_page=True)
        page.set_viewport_size(VIEWPORTS["desktop"])
        self.csp_check()

    def csp_check(self) -> None:
        """Any violation reported so far (on this page or one before it, such as the
        sign-in form) is a finding: pages have no inline script or style."""
        for violation in self.csp.take():
            self.findings.append(f"[{self.persona}] Content-Security-Policy: {violation}")


def new_page(
    browser: Any, base_url: str, language: str = "en-gb"
) -> tuple[Any, Any, list[str], CspViolations]:
    """A fresh context and page, the browser set to ``language`` (its Accept-Language);
    the list collects same-origin files that failed to load."""
    context, csp = browser_context(
        browser, base_url=base_url, viewport=VIEWPORTS["desktop"], locale=language
    )
    page = context.new_page()
    broken: list[str] = []
    origin = urlsplit(base_url)[:2]

    def on_response(response: Any) -> None:
        if (
            response.status >= 400
            and response.request.resource_type != "document"
            and urlsplit(response.url)[:2] == origin
        ):
            broken.append(f"{local_path(response.url)} answered HTTP {response.status}")

    page.on("response", on_response)
    return context, page, broken, csp


def sign_in(page: Any, email: str, password: str) -> None:
    """Sign in through the real allauth form, as a person would."""
    page.goto("/accounts/login/")
    form = page.locator("main form").filter(has=page.locator("input[name=password]"))
    form.locator("input[name=login]").fill(email)
    form.locator("input[name=password]").fill(password)
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    with translation.override(page.evaluate("() => document.documentElement.lang")):
        sign_out = translation.gettext("Sign out")
    assert page.get_by_role("button", name=sign_out).count() == 1, (
        f"could not sign in as {email}: ended on {page.url}"
    )


def assert_stylesheet_applied(page: Any) -> None:
    # pytest-django's live_server serves /static/ through staticfiles' finders, as
    # runserver does; in production WhiteNoise serves the collected STATIC_ROOT.
    colour = page.evaluate(
        "() => getComputedStyle(document.querySelector('.site-header')).backgroundColor"
    )
    assert colour == "rgb(0, 89, 76)", f"site.css did not load (header background {colour})"


def page_kind(path: str) -> str:
    """The URL name a path resolves to (the path itself if it resolves to nothing)."""
    try:
        match = resolve(urlsplit(path).path)
    except Resolver404:
        return path
    return f"{match.namespace}:{match.url_name}"


def crawl(
    page: Any, base_url: str, checker: Checker, per_kind: int = PER_KIND
) -> tuple[list[str], set[str], list[str]]:
    """Breadth-first from ``/`` along same-origin links, up to ``per_kind`` pages per kind.

    Returns the pages visited (after redirects), every link offered and the problems.
    """
    origin = urlsplit(base_url)[:2]
    queue: deque[tuple[str, str]] = deque([("/", "(start)")])
    seen = {"/"}
    queued_per_kind: Counter[str] = Counter({page_kind("/"): 1})
    visited: list[str] = []
    problems: list[str] = []
    while queue and len(visited) < PAGE_CAP:
        path, referrer = queue.popleft()
        response = page.goto(path)
        status = response.status if response else None
        if status is None or status >= 400:
            problems.append(f"{path} (linked from {referrer}) answered HTTP {status}")
            continue
        if "text/html" not in response.headers.get("content-type", ""):
            continue
        if "content-security-policy" not in response.headers:
            problems.append(f"{path} was sent without a Content-Security-Policy")
        final = local_path(page.url)
        if final in visited:  # a redirect to a page already checked
            continue
        seen.add(final)
        visited.append(final)
        if len(visited) == 1:
            assert_stylesheet_applied(page)
        checker.check(page, final, f"crawl-{len(visited):02d}-{slug_for(final)}")
        hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
        for href in hrefs:
            link = followable(href, origin)
            if link is not None and link not in seen:
                seen.add(link)
                kind = page_kind(link)
                if queued_per_kind[kind] < per_kind:
                    queued_per_kind[kind] += 1
                    queue.append((link, final))
    if queue:
        problems.append(f"stopped at the cap of {PAGE_CAP} pages with {len(queue)} left")
    return visited, seen, problems


@pytest.mark.parametrize("persona", list(ACCOUNTS))
def test_every_reachable_page_is_accessible(browser, demo_site, persona):
    context, page, broken, csp = new_page(browser, demo_site)
    checker = Checker(persona, screenshot_dir(persona, "crawl-"), csp)
    try:
        if ACCOUNTS[persona]:
            sign_in(page, *ACCOUNTS[persona])
        visited, linked, problems = crawl(page, demo_site, checker)
        checker.csp_check()
    finally:
        context.close()

    print(f"{persona}: crawled {len(visited)} pages: {', '.join(visited)}")
    missing = MUST_REACH[persona] - set(visited)
    assert not missing, f"{persona} never reached {sorted(missing)}; visited {visited}"
    assert len(visited) >= MIN_PAGES[persona], f"{persona} only reached {visited}"
    forbidden = sorted(p for p in linked if p.startswith(MUST_NOT_REACH.get(persona, ())))
    assert not forbidden, f"{persona} was offered links to staff pages: {forbidden}"
    assert not problems + broken, f"{persona}: " + "\n".join(problems + broken)
    assert not checker.findings, (
        f"{len(checker.findings)} serious or critical accessibility finding(s) "
        f"(screenshots in {checker.folder}):\n" + "\n".join(checker.findings)
    )


@pytest.mark.parametrize("language", english_left.other_site_languages())
@pytest.mark.parametrize("persona", list(ACCOUNTS))
def test_every_kind_of_page_in_each_language(browser, demo_site, persona, language):
    """One page of each kind per persona, in a browser set to ``language``: accessible,
    in that language (``<html lang>``), and with no English word left on it."""
    context, page, broken, csp = new_page(browser, demo_site, language)
    checker = Checker(persona, screenshot_dir(persona, f"{language}-"), csp, language)
    try:
        if ACCOUNTS[persona]:
            sign_in(page, *ACCOUNTS[persona])
        visited, _linked, problems = crawl(page, demo_site, checker, per_kind=1)
        checker.csp_check()
    finally:
        context.close()

    print(f"{persona} in {language}: crawled {len(visited)} pages: {', '.join(visited)}")
    assert len(visited) >= MIN_PAGES[persona], f"{persona} only reached {visited}"
    assert not problems + broken, f"{persona}: " + "\n".join(problems + broken)
    assert not checker.findings, (
        f"{len(checker.findings)} finding(s) in {language} "
        f"(screenshots in {checker.folder}):\n" + "\n".join(checker.findings)
    )


def submit_without_browser_checks(page: Any, form_selector: str) -> None:
    """Submit a form as a browser without constraint validation would, so the server's
    error messages are what is shown (forms that already say novalidate are unchanged)."""
    form = page.locator(form_selector)
    form.evaluate("form => form.setAttribute('novalidate', '')")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()


def test_form_error_states_are_accessible(browser, demo_site):
    """Pages not reached by a plain crawl: forms showing their error messages."""
    findings: list[str] = []

    context, page, broken, csp = new_page(browser, demo_site)
    checker = Checker("visitor", screenshot_dir("visitor", "state-"), csp)
    try:
        page.goto("/accounts/signup/")
        checker.check(page, "/accounts/signup/ (empty)", "state-signup")
        submit_without_browser_checks(page, "main form:has(input[name=password1])")
        assert page.locator(".error-message").count() > 0, "signup showed no field errors"
        checker.check(page, "/accounts/signup/ (submitted empty)", "state-signup-errors")

        page.goto("/accounts/login/")
        page.fill("input[name=login]", "resident@example.org")
        page.fill("input[name=password]", "not-the-password")
        page.locator("main form button[type=submit]").click()
        page.wait_for_load_state()
        assert page.locator(".error-summary").count() == 1, "failed login showed no error"
        checker.check(page, "/accounts/login/ (wrong password)", "state-login-failed")
    finally:
        context.close()
    findings += checker.findings

    context, page, officer_broken, csp = new_page(browser, demo_site)
    checker = Checker("officer", screenshot_dir("officer", "state-"), csp)
    try:
        sign_in(page, *ACCOUNTS["officer"])
        page.goto("/officer/rounds/new/")
        submit_without_browser_checks(page, "main form")
        assert page.locator(".error-summary").count() == 1, "empty round form: no summary"
        checker.check(page, "/officer/rounds/new/ (submitted empty)", "state-round-errors")

        page.goto("/officer/areas/")
        submit_without_browser_checks(page, "main form[method=post]")
        assert page.locator(".error-summary").count() == 1, "empty area form: no summary"
        checker.check(page, "/officer/areas/ (submitted empty)", "state-area-errors")

        # The register's row-by-row report of a file with mistakes, and a code sheet.
        page.goto("/officer/register/")
        page.set_input_files(
            "input[name=file]",
            files=[
                {
                    "name": "register.csv",
                    "mimeType": "text/csv",
                    "buffer": b"reference,date_of_birth,area\nX-1,1980-01-01,Riverside\n"
                    b"X-2,not a date,Atlantis\n",
                }
            ],
        )
        page.get_by_role("button", name="Check only (dry run)").click()
        page.wait_for_load_state()
        assert page.locator("text=Some rows are refused").count() == 1, "no register report"
        checker.check(page, "/officer/register/ (report with refusals)", "state-register-report")
        page.select_option("select[name=area]", label="Riverside")
        page.fill("input[name=count]", "2")
        page.get_by_role("button", name="Generate codes to print").click()
        page.wait_for_load_state()
        assert page.locator(".code-letter").count() == 2, "no code sheet"
        checker.check(page, "/officer/register/codes/ (sheet)", "state-register-codes")
    finally:
        context.close()
    findings += checker.findings

    # A resident not yet eligibility-verified, on the verification page after a mismatch.
    jo = User.objects.get(email="jo.northfield@example.org")
    jo.set_password("jo-demo-2027-password")
    jo.save(update_fields=["password"])
    context, page, resident_broken, csp = new_page(browser, demo_site)
    checker = Checker("resident", screenshot_dir("resident", "state-"), csp)
    try:
        sign_in(page, "jo.northfield@example.org", "jo-demo-2027-password")
        page.goto("/accounts/verify/")
        checker.check(page, "/accounts/verify/", "state-verify")
        page.fill("input[name=register-reference]", "NF-200002")
        page.fill("input[name=register-date_of_birth]", "1991-01-15")
        page.get_by_role("button", name="Check my details").click()
        page.wait_for_load_state()
        assert page.locator("text=did not match").count() >= 1, "no mismatch message"
        checker.check(page, "/accounts/verify/ (did not match)", "state-verify-mismatch")
    finally:
        context.close()
    findings += checker.findings
    broken += resident_broken

    assert not broken + officer_broken, "\n".join(broken + officer_broken)
    assert not findings, (
        f"{len(findings)} serious or critical accessibility finding(s):\n" + "\n".join(findings)
    )


def test_a_proposal_written_together_is_accessible(browser, demo_site):
    """Sam co-writes the demo's street trees idea: from "My proposals", the proposal with
    its authors and versions, what version 3 changed (reached by keyboard), and the
    co-authors page."""
    context, page, broken, csp = new_page(browser, demo_site)
    checker = Checker("resident", screenshot_dir("resident", "together-"), csp)
    try:
        sign_in(page, *ACCOUNTS["resident"])
        page.goto("/my/proposals/")
        page.get_by_role("link", name="Street trees and planters on Mill Lane").click()
        page.wait_for_load_state()
        assert page.locator("text=Jo from Northfield and Sam Resident").count() == 1
        checker.check(page, page.url, "together-proposal")

        version = page.get_by_role("link", name="Version 3")
        version.focus()
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page.locator("main ins").count() >= 1
        checker.check(page, page.url, "together-version")

        page.go_back()
        page.get_by_role("link", name="Co-authors").click()
        page.wait_for_load_state()
        assert page.get_by_role("button", name="Leave this proposal").count() == 1
        checker.check(page, page.url, "together-coauthors")
    finally:
        context.close()
    assert not broken, "\n".join(broken)
    assert not checker.findings, (
        f"{len(checker.findings)} serious or critical accessibility finding(s):\n"
        + "\n".join(checker.findings)
    )
