"""Refuse oversized requests from their ``Content-Length``, before the body is read.

Django's own ``DATA_UPLOAD_MAX_MEMORY_SIZE`` only counts non-file fields and applies
while the body is parsed, so a 60 MB upload was read in full (to a temporary file)
before the form refused it. This middleware answers 413 from the header alone; the
body is never touched. ``MAX_REQUEST_BYTES`` (default 6 MB: a 5 MB photo plus the
form) sets the limit; the web server in front should have the same or a lower one.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils.html import escape
from django.utils.translation import gettext as _


def request_too_large(limit: int) -> HttpResponse:
    """A plain page (no script, no style: it passes the Content-Security-Policy)."""
    message = _(
        "This request is too large. Send at most %(mb)d MB at once "
        "(a photo can be at most 5 MB): go back and choose a smaller file."
    ) % {"mb": limit // 2**20}
    title = _("Request too large")
    body = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title></head>"
        f"<body><main><h1>{escape(title)}</h1><p>{escape(message)}</p></main></body></html>"
    )
    # No "Connection: close": WSGI servers refuse hop-by-hop headers from the app (and
    # close the connection themselves when a body was left unread).
    return HttpResponse(body, status=413, content_type="text/html; charset=utf-8")


class RequestSizeLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        self.limit = int(settings.MAX_REQUEST_BYTES)

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        declared = request.META.get("CONTENT_LENGTH") or ""
        try:
            length = int(declared)
        except ValueError:
            length = 0
        if length > self.limit:
            return request_too_large(self.limit)
        return self.get_response(request)
