"""The security headers as Chromium applies them: the violation watch the browser tests
rely on does catch inline code, and the Django admin works under its policy."""

from __future__ import annotations

import pytest

from tests.browser import browser_context
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.browser

INLINE_PAGE = """<!doctype html><html lang="en"><head><title>t</title>
<style>body { color: red }</style></head>
<body><p style="color: blue">styled</p><script>document.title = "ran"</script></body></html>"""


def test_the_violation_watch_reports_inline_script_and_style(browser):
    """Without this, a browser test could pass while the policy blocks half a page."""
    context, csp = browser_context(browser)
    try:
        page = context.new_page()
        # A made-up origin answered by the test itself, under the site's own policy.
        page.route(
            "http://csp.test/",
            lambda route: route.fulfill(
                status=200,
                content_type="text/html",
                headers={"Content-Security-Policy": "default-src 'self'"},
                body=INLINE_PAGE,
            ),
        )
        page.goto("http://csp.test/")
        assert page.title() == "t", "the inline script ran"
        violations = csp.take()
    finally:
        context.close()
    assert len(violations) == 3, violations
    assert sum("script-src" in v for v in violations) == 1, violations
    assert sum("style-src" in v for v in violations) == 2, violations
    assert csp.take() == []


def test_the_admin_works_under_its_policy(
    browser, transactional_db, django_db_serialized_rollback, live_server
):
    """A superuser signs in to the admin, lists users, opens one and filters the list: no
    violation, and the admin's scripts ran (the sidebar filter is added by nav_sidebar.js).
    Serialized rollback, as every test with a live server here: it puts back what
    migrations created, so the tests after it find it as they expect."""
    UserFactory(username="root", email="root@example.org", is_staff=True, is_superuser=True)
    someone = UserFactory(email="someone@example.org")
    context, csp = browser_context(browser, base_url=live_server.url)
    try:
        page = context.new_page()
        # The admin signs in through allauth's page (its limits and two-factor step).
        response = page.goto("/admin/login/?next=/admin/")
        assert "script-src 'self';" in response.headers["content-security-policy"]
        page.fill("input[name=login]", "root@example.org")
        page.fill("input[name=password]", PASSWORD)
        page.locator("main form button[type=submit]").click()
        page.wait_for_url("**/admin/")
        page.goto("/admin/auth/user/")
        assert page.locator("#result_list tr").count() >= 3
        # actions.js: ticking "select all" ticks every row (JavaScript under the policy).
        page.check("#action-toggle")
        assert page.locator("input.action-select:checked").count() >= 2
        page.locator("#result_list a", has_text=someone.username).click()
        page.wait_for_load_state()
        assert page.locator("input[name=email]").input_value() == "someone@example.org"
        assert page.locator("#nav-filter").count() == 1, "nav_sidebar.js did not run"
        violations = csp.take()
    finally:
        context.close()
    assert violations == []


def test_the_api_docs_work_under_the_sites_policy(
    browser, transactional_db, django_db_serialized_rollback, live_server
):
    """The API's docs page (Swagger UI, served from the site's own static files) lists
    the operations under the site's Content-Security-Policy, with no violation and no
    request to another origin."""
    context, csp = browser_context(browser, base_url=live_server.url)
    elsewhere: list[str] = []
    try:
        page = context.new_page()
        page.on(
            "request",
            lambda request: (
                None if request.url.startswith(live_server.url) else elsewhere.append(request.url)
            ),
        )
        response = page.goto("/api/v1/docs")
        assert "script-src 'self';" in response.headers["content-security-policy"]
        page.wait_for_selector("text=/api/v1/rounds/{slug}/money/", timeout=15_000)
        violations = csp.take()
    finally:
        context.close()
    assert violations == [] and elsewhere == []
