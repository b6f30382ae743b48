"""Journeys: people using the real site in Chromium, each in their own browser context.

A ``Journey`` wraps one person's page. Every page it lands on (after typing an address,
following a link or submitting a form) is checked with axe-core, keeping serious and
critical findings, is checked for sideways scrolling (WCAG 1.4.10, which axe cannot
test) and for Content-Security-Policy violations (and the policy header), and is saved
as a numbered full-page screenshot under
``test-output/journeys/<test>/NN-<person>-<step>.png``. ``Trip.finish()`` fails the test
listing every finding with the page it was on; the fixture's teardown calls it too, so a
test cannot forget.

The live server runs in the test's process: emails land in ``django.core.mail.outbox``,
tasks enqueued after a commit run at once in the server's thread (``live_site``), and the
test moves a round's clock and runs the beat tasks itself (``round_move_to``, ``beat``).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from celery.app.task import Task
from django.conf import settings
from django.utils import timezone, translation

from pb_platform.roles import RESIDENT, role_grant
from proposals.models import Area, BudgetRound
from proposals.phases import BOUNDARIES, Phase
from tests import english_left
from tests.browser import (
    TEST_OUTPUT,
    CspViolations,
    axe_violations,
    browser_context,
    describe_violation,
)
from tests.factories import ResidentProfileFactory, UserFactory, round_history_rewrite

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


# --- The site ------------------------------------------------------------------------------


def _run_now(task: Task, *args: Any, **kwargs: Any) -> Any:
    return task.apply(args=args, kwargs=kwargs)


@pytest.fixture
def live_site(transactional_db, django_db_serialized_rollback, live_server, monkeypatch) -> str:
    """The site behind a real server; returns its base URL.

    Serialized rollback restores what migrations created (the role groups and their
    permissions), which the flush after each transactional test would otherwise remove.
    ``.delay()`` runs the task there and then, in the server's thread, instead of handing
    it to a broker no worker reads here (receipt and review emails reach mail.outbox).
    """
    monkeypatch.setattr(Task, "delay", _run_now)
    return live_server.url


def beat(task: Task) -> Any:
    """Run a periodic task once, as beat would, and return what it returned."""
    return task.apply(throw=True).get()


def round_move_to(budget_round: BudgetRound, phase: Phase) -> None:
    """Move the round's clock: ``phase`` starts a second ago. Boundaries already past stay
    where they are unless they must move earlier to stay in order; later ones stay in the
    future. (Ballots keep their real times, so they still fall inside the voting phase.)"""
    now = timezone.now()
    names = [name for name, _phase in BOUNDARIES]
    index = [p for _name, p in BOUNDARIES].index(phase)
    values: list[datetime] = [getattr(budget_round, name) for name in names]
    values[index] = now - timedelta(seconds=1)
    for k in range(index - 1, -1, -1):
        values[k] = min(values[k], values[k + 1] - timedelta(seconds=1))
    for k in range(index + 1, len(values)):
        values[k] = max(values[k], values[k - 1] + timedelta(hours=1), now + timedelta(hours=1))
    round_history_rewrite(budget_round, **dict(zip(names, values, strict=True)))
    assert budget_round.phase_at(timezone.now()) == phase


# --- People ----------------------------------------------------------------------------------


def resident_make(*, name: str, email: str, area: Area, **profile: Any) -> Any:
    """A resident with a verified email and the factories' password."""
    user = UserFactory(email=email)
    ResidentProfileFactory(user=user, display_name=name, area=area, **profile)
    role_grant(user=user, role=RESIDENT)
    return user


def staff_make(*, email: str, role: str) -> Any:
    user = UserFactory(email=email)
    role_grant(user=user, role=role)
    return user


# --- Reading pages ---------------------------------------------------------------------------


def money_value(text: str) -> Decimal:
    """£12,500.00 (or -£5.00, or 12,500.00 PLN) as a Decimal."""
    cleaned = re.sub(r"[^0-9.\-]", "", text)
    return Decimal(cleaned)


def facts(scope: Any) -> dict[str, str]:
    """A description list's terms and descriptions, as shown."""
    return scope.evaluate(
        """el => Object.fromEntries([...el.querySelectorAll('dt')].map(
            dt => [dt.innerText.trim(), dt.nextElementSibling.innerText.trim()]))"""
    )


# --- Journeys --------------------------------------------------------------------------------


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


class Trip:
    """The people of one test, their pages and everything found on them."""

    def __init__(self, browser: Any, base_url: str, folder: Path) -> None:
        self.browser = browser
        self.base_url = base_url
        self.folder = folder
        self.scanned: list[str] = []
        self.findings: list[str] = []
        self.finished = False
        self._contexts: list[Any] = []
        self._csp: list[CspViolations] = []

    def journey(
        self, person: str, *, viewport: dict[str, int] = DESKTOP, language: str = "en-gb"
    ) -> Journey:
        """A person in their own browser, set to ``language`` (its Accept-Language)."""
        context, csp = browser_context(
            self.browser,
            base_url=self.base_url,
            viewport=viewport,
            locale=language,
            timezone_id="Europe/London",
            accept_downloads=True,
        )
        # Waits for elements and navigations stay generous (a cold page, a slow machine);
        # nothing in a journey sleeps.
        context.set_default_timeout(15_000)
        self._contexts.append(context)
        self._csp.append(csp)
        return Journey(self, person, context.new_page(), csp, language)

    def close(self) -> None:
        for context in self._contexts:
            context.close()
        self._contexts.clear()

    def finish(self) -> None:
        """Fail with every finding; write the list of pages checked beside the screenshots."""
        self.finished = True
        for csp in self._csp:  # reported after each person's last checked page
            for violation in csp.take():
                self.findings.append(f"after the last page: Content-Security-Policy: {violation}")
        (self.folder / "pages-checked.txt").write_text("\n".join(self.scanned) + "\n")
        print(f"axe checked {len(self.scanned)} pages:\n  " + "\n  ".join(self.scanned))
        assert not self.findings, (
            f"{len(self.findings)} accessibility or page problem(s) "
            f"(screenshots in {self.folder}):\n" + "\n".join(self.findings)
        )


class Journey:
    """One person's page. Navigate only through these methods so every page is checked."""

    def __init__(
        self, trip: Trip, person: str, page: Any, csp: CspViolations, language: str = "en-gb"
    ) -> None:
        self.trip = trip
        self.person = person
        self.page = page
        self.csp = csp
        self.language = language
        self._policy_missing: str | None = None
        self._navigations = 0
        self._checked_navigations = 0
        self._status: int | None = None
        origin = urlsplit(trip.base_url)[:2]

        def on_navigated(frame: Any) -> None:
            if frame == page.main_frame:
                self._navigations += 1

        def on_response(response: Any) -> None:
            request = response.request
            if request.frame == page.main_frame and request.is_navigation_request():
                self._status = response.status
                if "content-security-policy" not in response.headers:
                    self._policy_missing = response.url
            elif response.status >= 400 and urlsplit(response.url)[:2] == origin:
                trip.findings.append(
                    f"[{person}] {page.url}: {response.url} answered HTTP {response.status}"
                )

        page.on("framenavigated", on_navigated)
        page.on("response", on_response)

    # Navigation ----------------------------------------------------------------------------

    def visit(self, path: str, step: str) -> None:
        """Type an address into the browser."""
        self._check_missed()
        self.page.goto(path)
        self.check(step)

    def follow(self, target: Any, step: str) -> None:
        """Click a link or a submit button (a locator) and wait for the page it leads to."""
        self._check_missed()
        with self.page.expect_navigation():
            target.click()
        self.check(step)

    def link(self, name: str | re.Pattern[str], step: str) -> None:
        """Follow the link with this accessible name (the whole name, if a string)."""
        self.follow(self.page.get_by_role("link", name=name, exact=True), step)

    def press(self, name: str | re.Pattern[str], step: str) -> None:
        """Press the button with this accessible name (the whole name, if a string)."""
        self.follow(self.page.get_by_role("button", name=name, exact=True), step)

    def download(self, target: Any, step: str) -> Path:
        """Click a download link; the file is kept beside the screenshots."""
        self._check_missed()
        with self.page.expect_download() as info:
            target.click()
        download = info.value
        saved = self.trip.folder / f"{self._next_number():02d}-{self.person}-{_slug(step)}"
        saved = saved.with_name(saved.name + "-" + download.suggested_filename)
        download.save_as(saved)
        return saved

    def new_tab(self) -> Journey:
        """Another tab of the same browser (same person, same session)."""
        return Journey(
            self.trip, self.person, self.page.context.new_page(), self.csp, self.language
        )

    # People --------------------------------------------------------------------------------

    def t(self, text: str) -> str:
        """``text`` (an English message of the site, allauth or Django) as this person's
        page shows it."""
        if self.language == settings.LANGUAGE_CODE:
            return text
        with translation.override(self.language):
            return translation.gettext(text)

    def sign_in(self, email: str, password: str) -> None:
        """Sign in through the allauth form (going to it unless already there)."""
        if urlsplit(self.page.url).path != "/accounts/login/":
            self.visit("/accounts/login/", "sign-in-form")
        password_label = self.t("Password")
        form = self.page.locator("main form").filter(has=self.page.get_by_label(password_label))
        form.get_by_label(self.t("Email")).fill(email)
        form.get_by_label(password_label).fill(password)
        sign_in = re.compile(rf"^{re.escape(self.t('Sign In'))}$", re.I)
        self.follow(form.get_by_role("button", name=sign_in), "signed-in")
        self.expect_signed_in()

    def expect_signed_in(self) -> None:
        assert self.page.get_by_role("button", name=self.t("Sign out")).count() == 1, (
            f"{self.person} is not signed in: on {self.page.url}"
        )

    # Checking ------------------------------------------------------------------------------

    def text(self, scope: str = "main") -> str:
        return self.page.locator(scope).inner_text()

    def messages(self) -> str:
        box = self.page.locator(".messages")
        return box.inner_text() if box.count() else ""

    def check(self, step: str, *, allow_status: int | None = None) -> None:
        """axe-core, sideways scrolling, the page's HTTP status and a screenshot."""
        page = self.page
        page.wait_for_load_state("load")
        self._checked_navigations = self._navigations
        number = self._next_number()
        label = f"{number:02d} [{self.person}] {step} – {page.url}"
        self.trip.scanned.append(label)
        if self._status is not None and self._status >= 400 and self._status != allow_status:
            self.trip.findings.append(f"{label}\n  the page answered HTTP {self._status}")
        for violation in axe_violations(page):
            self.trip.findings.append(f"{label}\n  {describe_violation(violation)}")
        if self.language != settings.LANGUAGE_CODE:
            self._check_language(page, label)
        scroll_width, window_width = page.evaluate(
            "() => [document.scrollingElement.scrollWidth, window.innerWidth]"
        )
        if scroll_width > window_width:
            self.trip.findings.append(
                f"{label}\n  reflow (WCAG 1.4.10): the page is {scroll_width}px wide in a "
                f"{window_width}px window, so it scrolls sideways"
            )
        page.screenshot(
            path=self.trip.folder / f"{number:02d}-{self.person}-{_slug(step)}.png",
            full_page=True,
        )
        if self._policy_missing:
            self.trip.findings.append(
                f"{label}\n  {self._policy_missing} was sent without a Content-Security-Policy"
            )
            self._policy_missing = None
        for violation in self.csp.take():
            self.trip.findings.append(f"{label}\n  Content-Security-Policy: {violation}")

    def _check_language(self, page: Any, label: str) -> None:
        """The page is in this person's language, with no English left outside what
        people typed (tests/english_left.py)."""
        typed = english_left.typed_texts()
        for problem in english_left.language_problems(page, self.language, typed):
            self.trip.findings.append(f"{label}\n  {problem}")

    def _check_missed(self) -> None:
        """A page reached some other way (a redirect by script, a raw page.click) is
        checked before moving on, so none goes unchecked."""
        if self._navigations > self._checked_navigations:
            self.check("reached-without-a-journey-step")

    def _next_number(self) -> int:
        return len(self.trip.scanned) + 1


@pytest.fixture
def trip(browser, live_site, request) -> Iterator[Trip]:
    folder = TEST_OUTPUT / "journeys" / _slug(request.node.name)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    journeys = Trip(browser, live_site, folder)
    try:
        yield journeys
    finally:
        journeys.close()
    if not journeys.finished:
        journeys.finish()
