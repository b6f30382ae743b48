"""The public, read-only API at ``/api/v1/``: open data for researchers, journalists and
other councils' tools.

Built on django-ninja: typed schemas give the OpenAPI 3 document
(``/api/v1/openapi.json``) from the same code that answers, and its browsable docs
(``/api/v1/docs``) load Swagger UI from the site's own static files (no CDN, within the
site's Content-Security-Policy). Each app serves its part (``proposals/api.py``,
``voting/api.py``, ``ledgers/api.py``) by calling the same selectors and policies as its
pages, so the API never holds a second copy of a rule.

HTTP around every answer (``ApiHttpMiddleware``): GET only; an ``ETag`` on each
successful answer and ``304 Not Modified`` for a matching ``If-None-Match``; CORS open
for reading (``Access-Control-Allow-Origin: *``); a minute of public caching; rate limits
per client address (``API_RATE_LIMIT``), answering ``429`` with ``Retry-After``.
Every figure is locale-independent: money as a decimal string with a dot, dates and
times in ISO 8601, codes instead of translated labels.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.utils.cache import get_conditional_response, patch_cache_control, set_response_etag
from django.utils.http import http_date
from django.views.decorators.http import require_safe
from ninja import NinjaAPI, Schema
from ninja.throttling import AnonRateThrottle

API_PREFIX = "/api/v1/"


class ClientRateThrottle(AnonRateThrottle):
    """Requests per client address, at the rate ``API_RATE_LIMIT`` says when the request
    comes (so a deployment, or a test, changes it without a restart of this module)."""

    def __init__(self) -> None:
        super().__init__(settings.API_RATE_LIMIT)

    def allow_request(self, request: HttpRequest) -> bool:
        self.rate = settings.API_RATE_LIMIT
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request)


api = NinjaAPI(
    title="Commonpurse open data",
    version="1",
    description=(
        "Read-only open data of the participatory budgeting rounds run on this site: "
        "rounds, public proposals, published results, the money of funded proposals and "
        "who took part. Money is a decimal string in the round's currency; dates and "
        "times are ISO 8601. No personal data is ever returned."
    ),
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
    throttle=[ClientRateThrottle()],
    # The document and the docs page answer GET and HEAD only, like every operation.
    docs_decorator=require_safe,
)


class Index(Schema):
    """Where to start: the operations' document, its docs, and the list of rounds."""

    openapi: str
    docs: str
    rounds: str
    licence: str


@api.get("/", response=Index, tags=["Index"], summary="Where to start")
def index(request: HttpRequest) -> Index:
    base = settings.SITE_URL + API_PREFIX
    return Index(
        openapi=base + "openapi.json",
        docs=base + "docs",
        rounds=base + "rounds/",
        licence=settings.OPEN_DATA_LICENCE,
    )


def _register() -> None:
    # Imported here: the apps import pb_platform at load time.
    from ledgers.api import router as ledgers_router
    from proposals.api import router as proposals_router
    from voting.api import router as voting_router

    api.add_router("/", proposals_router)
    api.add_router("/", voting_router)
    api.add_router("/", ledgers_router)


_register()


class ApiHttpMiddleware:
    """ETag and conditional GET, CORS for reading, and public caching, on the API only."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(API_PREFIX):
            return self.get_response(request)
        head = request.method == "HEAD"
        if head:
            # The operations answer GET; HEAD is the same answer without its body.
            request.method = "GET"
        response = self._answer(request)
        if head and not response.streaming:
            length = len(response.content)
            response.content = b""
            response["Content-Length"] = str(length)
        return response

    def _answer(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response["Access-Control-Allow-Origin"] = "*"
        if request.method != "GET" or response.status_code != 200:
            return response
        if response.streaming:
            return response
        if not response.has_header("Cache-Control"):
            # Open data: the same for everyone (PrivateCacheMiddleware marks signed-in
            # people's answers private; those stay so).
            patch_cache_control(response, public=True, max_age=settings.API_MAX_AGE_SECONDS)
        set_response_etag(response)
        etag = response["ETag"]
        since = unchanged_since(request.get_full_path(), etag)
        # Seen new within this very second: no date, which may not lie ahead of the answer's.
        last_modified = since if since <= time.time() else None
        if last_modified is not None:
            response["Last-Modified"] = http_date(last_modified)
        conditional = get_conditional_response(
            request, etag=etag, last_modified=last_modified, response=response
        )
        return conditional if conditional is not None else response


# How long the API remembers when an answer last changed (then it says "now" again).
UNCHANGED_SINCE_SECONDS = 30 * 24 * 60 * 60


def unchanged_since(address: str, etag: str) -> int:
    """Since when (whole Unix seconds, rounded up) ``address`` has answered with this
    ``etag``: the moment it was first served after a different answer, as the cache
    remembers it.

    The answers are computed from the data each time, so "last modified" is when this
    answer was first seen to be new. Never earlier than the truth: a server that has
    not seen it (a new process, an emptied cache) says now, and a client then fetches
    once more than it needed to instead of keeping a stale copy.
    """
    key = "api-unchanged-since:" + hashlib.sha256(address.encode()).hexdigest()
    remembered = cache.get(key)
    if isinstance(remembered, tuple) and remembered[0] == etag:
        return int(remembered[1])
    since = math.ceil(time.time())
    cache.set(key, (etag, since), timeout=UNCHANGED_SINCE_SECONDS)
    return since
