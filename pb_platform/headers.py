"""Security headers on every response: Content-Security-Policy, Permissions-Policy, and
``Cache-Control: private, no-store`` for signed-in people.

A small middleware rather than django-csp: our pages have no inline script or style at
all (scripts and styles are files under ``static/``), so we need neither nonces nor
per-view policies, only one fixed header, and the policy reads best in one place
(``settings.CONTENT_SECURITY_POLICY``).
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.utils.cache import patch_cache_control

# The statuses Django answers with its debug pages when DEBUG is on (technical_404.html,
# technical_500.html, which SuspiciousOperation's 400 also uses).
DEBUG_PAGE_STATUSES = frozenset({400, 404, 500})


def policy_header(directives: dict[str, list[str]]) -> str:
    """``{"default-src": ["'self'"], ...}`` as ``default-src 'self'; ...``."""
    return "; ".join(
        " ".join([name, *sources]) if sources else name for name, sources in directives.items()
    )


class SecurityHeadersMiddleware:
    """Content-Security-Policy and Permissions-Policy on every response.

    The Django admin gets its own policy (``CONTENT_SECURITY_POLICY_ADMIN``), see the
    settings for why. A response that already carries a Content-Security-Policy (a view
    that needs something else) keeps it.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        self.site_policy = policy_header(settings.CONTENT_SECURITY_POLICY)
        self.admin_policy = policy_header(settings.CONTENT_SECURITY_POLICY_ADMIN)
        self.admin_prefix = settings.CONTENT_SECURITY_POLICY_ADMIN_PREFIX
        self.debug_policy = policy_header(
            {
                **settings.CONTENT_SECURITY_POLICY,
                "script-src": ["'self'", "'unsafe-inline'"],
                "style-src": ["'self'", "'unsafe-inline'"],
            }
        )
        self.permissions_policy = ", ".join(
            f"{feature}=()" for feature in settings.PERMISSIONS_POLICY_DENIED
        )

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = self.policy_for(request, response)
        response.headers.setdefault("Permissions-Policy", self.permissions_policy)
        return response

    def policy_for(self, request: HttpRequest, response: HttpResponseBase) -> str:
        if settings.DEBUG and response.status_code in DEBUG_PAGE_STATUSES:
            # Django's debug pages (the traceback, "Page not found" with the URL list;
            # DEBUG=true only, never on a public site) are built with inline style and
            # script: let a developer read them as designed.
            return self.debug_policy
        if request.path_info.startswith(self.admin_prefix):
            return self.admin_policy
        return self.site_policy


class PrivateCacheMiddleware:
    """``Cache-Control: private, no-store`` on every response to a signed-in person.

    Their pages show their name, ballots, drafts and exports: no shared cache (a proxy)
    may keep them, and neither may the browser's, so Back after signing out on a shared
    computer shows nothing. Directives a view set are kept (``never_cache`` adds more,
    never fewer), and ``public`` is dropped. Signed in when the request arrived or when
    the response leaves (a sign-in's own redirect counts). Must come after
    ``AuthenticationMiddleware``.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        signed_in_before = request.user.is_authenticated
        response = self.get_response(request)
        if signed_in_before or request.user.is_authenticated:
            patch_cache_control(response, private=True, no_store=True)
        return response
