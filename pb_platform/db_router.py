"""Public pages read from a read replica; everything else stays on the primary.

Used only when ``DATABASE_REPLICA_URL`` is set: settings then add the ``replica``
database alias, ``ReplicaRouter`` and ``ReplicaReadsMiddleware``. Without it nothing
here is loaded and every query goes to the one database, as before.

Who reads the replica is decided once per request, before anything touches the
database, and only for a visitor who cannot see anything private or just written:

- a GET or HEAD request (a form post writes, and reads what it is about to change);
- carrying no session cookie: signed-in people, and anyone in the middle of signing in
  or up, have one, and their pages show their own data, which must be current;
- that has not sent a form in the last ``DATABASE_REPLICA_PIN_SECONDS`` (see below);
- outside the account pages (links from emails there look up keys written seconds
  before) and ``/readyz`` (it reports the primary and the heartbeat a worker just wrote).

Everything else reads and writes the primary: signed-in people, every POST, Celery
tasks and management commands (no request, so the flag keeps its default), any read
inside a transaction (it may be a read-modify-write, and the transaction is on the
primary), and migrations (the replica copies the primary's schema itself).

Replica lag. A replica is a moment behind the primary. The cases where that would show:
- A form post followed by its redirect, or a visitor who has just signed out (sign-out
  is a POST that removes the session cookie): every response to a POST, PUT, PATCH or
  DELETE sets a short-lived pin cookie, and a browser carrying it reads the primary, so
  a visitor never sees a page older than what they just did.
- Results just published by the close job: an anonymous visitor may see "not published
  yet" for as long as the lag, then the results. Nothing is lost, nothing is wrong.
Set ``DATABASE_REPLICA_PIN_SECONDS`` above the replica's normal lag (the default, 10 s,
is far above a healthy streaming replica's).
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.db import connections
from django.db.models import Model
from django.http import HttpRequest, HttpResponseBase

PRIMARY = "default"
REPLICA = "replica"

# Set by browsers for DATABASE_REPLICA_PIN_SECONDS after they send a form.
PIN_COOKIE = "read_primary"

REPLICA_METHODS = frozenset({"GET", "HEAD"})
PRIMARY_ONLY_PATH_PREFIXES = ("/accounts/", "/readyz")

# Django's database cache (the fallback of the sign-in limits) is written by every
# process and must be read where it was written.
PRIMARY_ONLY_APP_LABELS = frozenset({"django_cache"})

# Whether this request's reads may go to the replica. A context variable, so each
# request (thread or task) has its own, and anything outside a request (Celery tasks,
# management commands) sees the default: the primary.
_reads_from_replica: ContextVar[bool] = ContextVar("reads_from_replica", default=False)


def replica_may_serve(request: HttpRequest) -> bool:
    """Whether this request is an anonymous visitor's page view (see the module's notes)."""
    return (
        request.method in REPLICA_METHODS
        and settings.SESSION_COOKIE_NAME not in request.COOKIES
        and PIN_COOKIE not in request.COOKIES
        and not request.path_info.startswith(PRIMARY_ONLY_PATH_PREFIXES)
    )


class ReplicaReadsMiddleware:
    """Decides, before any other middleware reads the database, where this request's
    reads go, and forgets it when the response is made. Placed right after the request
    id middleware (which reads nothing).

    A streaming response's body is produced after this returns: its reads go to the
    primary, which is always safe.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        token = _reads_from_replica.set(replica_may_serve(request))
        try:
            response = self.get_response(request)
        finally:
            _reads_from_replica.reset(token)
        if request.method not in REPLICA_METHODS:
            # The visitor's next pages (the redirect after this form, or the page after
            # signing out) read the primary until the replica has caught up.
            response.set_cookie(
                PIN_COOKIE,
                "1",
                max_age=settings.DATABASE_REPLICA_PIN_SECONDS,
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        return response


class ReplicaRouter:
    """Reads of anonymous page views go to the replica; all else to the primary."""

    def db_for_read(self, model: type[Model], **hints: Any) -> str:
        if (
            _reads_from_replica.get()
            and model._meta.app_label not in PRIMARY_ONLY_APP_LABELS
            # A read inside a transaction belongs to it (it may be read, then written).
            and not connections[PRIMARY].in_atomic_block
        ):
            return REPLICA
        return PRIMARY

    def db_for_write(self, model: type[Model], **hints: Any) -> str:
        return PRIMARY

    def allow_relation(self, obj1: Model, obj2: Model, **hints: Any) -> bool:
        # The replica is a copy of the primary: an object read from one may point at
        # an object read from the other.
        return True

    def allow_migrate(
        self, db: str, app_label: str, model_name: str | None = None, **hints: Any
    ) -> bool:
        # The replica gets the schema by replication; migrating it directly would fail
        # (it is read-only) or, worse, diverge from the primary.
        return db == PRIMARY
