"""With a read replica configured, anonymous visitors' page views read from it; signed-in
people, form posts, and everything outside a request read and write the primary.

The replica here is the test database itself under a second alias, as Django's
``TEST: {"MIRROR": "default"}`` (which settings give the replica) makes it in any test
run: a second connection, so every query is seen on the alias it went to. The tests
commit their data (``transactional_db``), as a replica only ever sees committed rows.
That settings build the alias from ``DATABASE_REPLICA_URL`` is tested in
``test_settings.py``.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from decimal import Decimal

import pytest
from allauth.account.models import EmailAddress, EmailConfirmationHMAC
from django.db import connections, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.utils import load_backend
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from pb_platform.db_router import (
    PIN_COOKIE,
    PRIMARY,
    REPLICA,
    ReplicaReadsMiddleware,
    ReplicaRouter,
)
from pb_platform.roles import RESIDENT, role_grant
from proposals.models import BudgetRound, ProposalStatus
from proposals.phases import Phase
from tests.conftest import client_for
from tests.factories import (
    PASSWORD,
    AreaFactory,
    BudgetRoundFactory,
    ProposalFactory,
    ResidentProfileFactory,
    RoundAreaFactory,
    UserFactory,
)
from voting.models import Ballot

MIDDLEWARE_PATH = "pb_platform.db_router.ReplicaReadsMiddleware"


@pytest.fixture
def replica(transactional_db, django_db_serialized_rollback, settings) -> Iterator[None]:
    """The ``replica`` alias, router and middleware as settings add them when
    DATABASE_REPLICA_URL is set, with the replica mirroring the test database."""
    primary = connections[PRIMARY].settings_dict
    replica_settings = {**copy.deepcopy(primary), "TEST": {**primary["TEST"], "MIRROR": PRIMARY}}
    # A connection of this thread only (the test client serves requests in it), not an
    # alias in settings.DATABASES: pytest-django allows only the aliases it knew when the
    # test started, and the replica must exist in this test alone.
    replica_connection = load_backend(primary["ENGINE"]).DatabaseWrapper(replica_settings, REPLICA)
    connections[REPLICA] = replica_connection
    settings.DATABASE_ROUTERS = ["pb_platform.db_router.ReplicaRouter"]
    middleware = list(settings.MIDDLEWARE)
    middleware.insert(middleware.index("pb_platform.logs.RequestIdMiddleware") + 1, MIDDLEWARE_PATH)
    settings.MIDDLEWARE = middleware
    try:
        yield
    finally:
        replica_connection.close()
        del connections[REPLICA]


@pytest.fixture
def public_round(replica) -> BudgetRound:
    """A round in voting with one area and its feasible proposals, committed."""
    budget_round = BudgetRoundFactory(phase=Phase.VOTING, name="Spring vote", slug="spring")
    area = AreaFactory(name="Old Town", slug="old-town")
    round_area = RoundAreaFactory(budget_round=budget_round, area=area, budget=Decimal(5000))
    for title in ("Benches", "Trees"):
        ProposalFactory(
            budget_round=budget_round,
            round_area=round_area,
            title=title,
            status=ProposalStatus.FEASIBLE,
        )
    return budget_round


@pytest.fixture
def voter(public_round):
    profile = ResidentProfileFactory(area=public_round.round_areas.get().area)
    role_grant(user=profile.user, role=RESIDENT)
    return profile.user


def captured(alias: str) -> CaptureQueriesContext:
    return CaptureQueriesContext(connections[alias])


def queries_on_each(client: Client, method: str, url: str, **data) -> tuple[int, int, int]:
    """(status, queries on the primary, queries on the replica) of one request."""
    with captured(PRIMARY) as on_primary, captured(REPLICA) as on_replica:
        response = getattr(client, method)(url, data or None)
    return response.status_code, len(on_primary), len(on_replica)


def public_urls(budget_round: BudgetRound) -> list[str]:
    proposal = budget_round.proposals.order_by("pk").first()
    assert proposal is not None
    return [
        reverse("home"),
        reverse("proposals:round_detail", args=[budget_round.slug]),
        reverse("proposals:round_proposals", args=[budget_round.slug]),
        reverse("proposals:proposal_detail", args=[proposal.pk]),
        reverse("voting:round_results", args=[budget_round.slug]),
    ]


# --- Who reads where -----------------------------------------------------------------------


def test_an_anonymous_visitors_public_pages_read_the_replica_only(public_round):
    client = Client()
    for url in public_urls(public_round):
        status, on_primary, on_replica = queries_on_each(client, "get", url)
        assert status == 200, url
        assert on_replica > 0, f"{url} read nothing from the replica"
        assert on_primary == 0, f"{url} read the primary {on_primary} times"


def test_a_head_request_reads_the_replica_too(public_round):
    status, on_primary, on_replica = queries_on_each(
        Client(), "head", reverse("proposals:round_detail", args=[public_round.slug])
    )
    assert (status, on_primary) == (200, 0) and on_replica > 0


def test_a_signed_in_resident_reads_the_primary_only(public_round, voter):
    client = client_for(voter)
    urls = [*public_urls(public_round), reverse("voting:vote", args=[public_round.slug])]
    for url in urls:
        status, on_primary, on_replica = queries_on_each(client, "get", url)
        assert status == 200, url
        assert on_primary > 0 and on_replica == 0, (url, on_primary, on_replica)


def test_a_ballot_post_reads_and_writes_the_primary_only(public_round, voter):
    round_area = public_round.round_areas.get()
    url = reverse("voting:ballot", args=[public_round.slug, round_area.area.slug])
    choice = round_area.proposals.get(title="Benches").pk
    status, on_primary, on_replica = queries_on_each(
        client_for(voter), "post", url, proposals=[choice], action="save"
    )
    assert status == 302
    assert on_primary > 0 and on_replica == 0
    assert Ballot.objects.filter(voter=voter).count() == 1


def test_an_anonymous_form_post_reads_the_primary_and_pins_the_next_pages_to_it(public_round):
    """A form sent without signing in (here a wrong password), then the pages after it:
    they read the primary until the pin cookie expires, so the replica's lag never shows
    the visitor a page older than what they just did."""
    client = Client()
    status, on_primary, on_replica = queries_on_each(
        client, "post", reverse("account_login"), login="nobody@example.org", password="wrong"
    )
    assert status == 200  # the form again, with its error
    assert on_primary > 0 and on_replica == 0
    pin = client.cookies[PIN_COOKIE]
    assert 0 < int(pin["max-age"]) <= 60 and pin["httponly"]

    home = reverse("home")
    _status, on_primary, on_replica = queries_on_each(client, "get", home)
    assert on_primary > 0 and on_replica == 0

    del client.cookies[PIN_COOKIE]  # as the browser does when it expires
    _status, on_primary, on_replica = queries_on_each(client, "get", home)
    assert on_primary == 0 and on_replica > 0


def test_signing_out_leaves_the_visitor_on_the_primary_for_a_while(public_round, voter):
    client = Client()
    response = client.post(reverse("account_login"), {"login": voter.email, "password": PASSWORD})
    assert response.status_code == 302, response.content[:500]
    client.post(reverse("account_logout"))
    # Signed out: the session cookie expired, and a browser sends it no more.
    assert not client.cookies["sessionid"].value
    del client.cookies["sessionid"]
    status, on_primary, on_replica = queries_on_each(client, "get", reverse("home"))
    assert status == 200 and on_primary > 0 and on_replica == 0


def test_a_link_from_an_email_reads_the_primary_even_anonymously(replica):
    """An account page opened from an email (here the email check) looks up what was
    written moments before: on the primary, whatever the replica's lag."""
    user = UserFactory(email="new@example.org")
    address = EmailAddress.objects.get(user=user)
    address.verified = False
    address.save()
    url = reverse("account_confirm_email", args=[EmailConfirmationHMAC(address).key])
    status, on_primary, on_replica = queries_on_each(Client(), "get", url)
    assert status == 200 and "new@example.org" in Client().get(url).text
    assert on_primary > 0 and on_replica == 0


def test_readiness_reads_the_primary_even_anonymously(replica):
    _status, on_primary, on_replica = queries_on_each(Client(), "get", reverse("readyz"))
    assert on_primary > 0 and on_replica == 0


def test_reads_in_a_transaction_and_every_write_go_to_the_primary(replica):
    """Inside an anonymous page view: plain reads to the replica, a read in a transaction
    (it may be a read-modify-write) and writes to the primary; after the response, and
    outside any request (Celery tasks, management commands), the primary."""
    seen: list[str] = []

    def view(request: HttpRequest) -> HttpResponse:
        seen.append(router.db_for_read(BudgetRound))
        with transaction.atomic():
            seen.append(router.db_for_read(BudgetRound))
        seen.append(router.db_for_write(BudgetRound))
        return HttpResponse()

    assert router.db_for_read(BudgetRound) == PRIMARY
    ReplicaReadsMiddleware(view)(RequestFactory().get("/"))
    assert seen == [REPLICA, PRIMARY, PRIMARY]
    assert router.db_for_read(BudgetRound) == PRIMARY


def test_migrations_run_on_the_primary_only_and_relations_across_aliases_are_allowed():
    replica_router = ReplicaRouter()
    assert replica_router.allow_migrate(PRIMARY, "voting", "ballot") is True
    assert replica_router.allow_migrate(REPLICA, "voting", "ballot") is False
    assert replica_router.allow_relation(BudgetRound(), BudgetRound()) is True


def test_the_replica_alias_is_a_second_connection(replica):
    """Guards the other tests: were both aliases one connection, they would prove nothing."""
    replica_connection: BaseDatabaseWrapper = connections[REPLICA]
    assert replica_connection is not connections[PRIMARY]
    assert replica_connection.settings_dict["NAME"] == connections[PRIMARY].settings_dict["NAME"]
