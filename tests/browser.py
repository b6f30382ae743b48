"""Browser helpers: Debian's Chromium driven by Playwright, and axe-core from node_modules.

Every context comes from ``browser_context``, which records each Content-Security-Policy
violation the page reports (``securitypolicyviolation``): the tests that drive pages fail
on any, so an inline script or style="" that slipped into a template is caught.

Nothing here downloads anything: Chromium is the system package (``playwright install``
cannot reach its CDN here) and axe-core is the copy ``npm ci`` put in ``node_modules``.
If either is missing the browser tests skip with the reason, or fail under CI=true.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
AXE_JS = REPO_ROOT / "node_modules" / "axe-core" / "axe.min.js"
TEST_OUTPUT = REPO_ROOT / "test-output"

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# WCAG 2.2 AA plus axe's best practices.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
BLOCKING_IMPACTS = ("serious", "critical")

IN_CI = os.environ.get("CI", "").lower() == "true"


def missing_browser_dependencies() -> list[str]:
    missing = []
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the playwright Python package (pip install -e '.[dev]')")
    if not CHROMIUM.is_file():
        missing.append(f"Chromium at {CHROMIUM} (`make browser-deps` installs Debian's package)")
    if not AXE_JS.is_file():
        missing.append(f"axe-core at {AXE_JS} (`npm ci` installs it from package-lock.json)")
    return missing


def require_browser_dependencies() -> None:
    """Skip, or fail under CI=true, when something the browser tests need is missing."""
    missing = missing_browser_dependencies()
    if not missing:
        return
    message = "browser tests need " + "; ".join(missing)
    if IN_CI:
        pytest.fail(f"CI=true but {message}", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def browser(django_db_setup) -> Iterator[Any]:
    """One headless Chromium for the whole session; tests open their own contexts."""
    require_browser_dependencies()
    from django.db import connections
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs everything after it starts (the rest of the session) in
    # another contextvars context, and Django keeps its connections in context-local
    # storage (asgiref's Local): from then on tests get fresh connection objects. Carry
    # over the copy of the migrated data pytest-django keeps on the old ones for
    # serialized rollback, or it is silently skipped, and close the new connections
    # before leaving, or PostgreSQL refuses to drop the test database at the end.
    serialized = {
        alias: connections[alias]._test_serialized_contents
        for alias in connections
        if hasattr(connections[alias], "_test_serialized_contents")
    }
    with sync_playwright() as playwright:
        for alias, contents in serialized.items():
            connections[alias]._test_serialized_contents = contents
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
            connections.close_all()


# Runs in every document before the page's own scripts (through the DevTools protocol, so
# the page's policy does not apply to it) and reports each violation to the test.
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__reportCspViolation(
    `${event.effectiveDirective} refused ${event.blockedURI || "inline code"}` +
    ` (${event.sourceFile || document.location.href}:${event.lineNumber}` +
    ` ${JSON.stringify((event.sample || "").slice(0, 80))})`
  );
});
"""


class CspViolations:
    """The violations a browser context's pages reported, oldest first, until taken."""

    def __init__(self) -> None:
        self._found: list[str] = []

    def report(self, source: dict[str, Any], text: str) -> None:
        self._found.append(f"{source['frame'].url}: {text}")

    def take(self) -> list[str]:
        """Every violation reported since the last call (the page's work is waited for
        first: a violation is delivered with the next message from the browser)."""
        found, self._found = self._found, []
        return found


def browser_context(browser: Any, **options: Any) -> tuple[Any, CspViolations]:
    """A new context (``browser.new_context(**options)``) watched for CSP violations."""
    context = browser.new_context(**options)
    violations = CspViolations()
    context.expose_binding("__reportCspViolation", violations.report)
    context.add_init_script(CSP_LISTENER)
    return context, violations


@functools.cache
def axe_source() -> str:
    return AXE_JS.read_text(encoding="utf-8")


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """Run axe-core on the page as it is now; return only serious and critical findings."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        # Evaluated through the DevTools protocol: an inline <script> tag (add_script_tag)
        # would be refused by the site's Content-Security-Policy, as it should be.
        page.evaluate(axe_source())
    results = page.evaluate(
        """async (tags) => await axe.run(document, {
            runOnly: {type: "tag", values: tags},
            resultTypes: ["violations"],
        })""",
        AXE_TAGS,
    )
    found = [v for v in results["violations"] if v.get("impact") in BLOCKING_IMPACTS]
    return found + _duplicate_ids(page)


def _duplicate_ids(page: Any) -> list[dict[str, Any]]:
    """Ids used twice (axe 4 no longer reports them): a <label for> then names the
    first field with that id, so another field has no name and its own label is lost
    (WCAG 4.1.1 / 1.3.1; technique H93). Reported in axe's shape."""
    repeated = page.evaluate(
        """() => {
            const seen = {};
            for (const el of document.querySelectorAll("[id]")) {
                seen[el.id] = (seen[el.id] || 0) + 1;
            }
            return Object.keys(seen).filter(id => seen[id] > 1);
        }"""
    )
    if not repeated:
        return []
    return [
        {
            "id": "duplicate-id (checked by the tests)",
            "impact": "serious",
            "help": "Every id is used once, so each label names its own field",
            "nodes": [
                {"target": [f"#{name}"], "failureSummary": "used more than once"}
                for name in repeated
            ],
            "helpUrl": "https://www.w3.org/WAI/WCAG21/Techniques/html/H93",
        }
    ]


def describe_violation(violation: dict[str, Any], *, max_nodes: int = 3) -> str:
    """One readable paragraph: rule, impact, what it means and the first few elements."""
    nodes = violation.get("nodes", [])
    lines = [f"{violation['id']} ({violation['impact']}): {violation['help']}"]
    for node in nodes[:max_nodes]:
        target = " ".join(str(part) for part in node.get("target", []))
        summary = (node.get("failureSummary") or "").replace("\n", " ").strip()
        lines.append(f"    at {target}: {summary[:300]}")
    if len(nodes) > max_nodes:
        lines.append(f"    ... and {len(nodes) - max_nodes} more element(s)")
    lines.append(f"    see {violation.get('helpUrl', '')}")
    return "\n".join(lines)
