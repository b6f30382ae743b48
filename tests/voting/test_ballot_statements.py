"""How many SQL statements casting a ballot costs: casting is the busiest write of a
round (every resident, in the last evening), so it is kept to a handful whatever the
ballot, counted from the view to its response: transaction statements and savepoints
included, the session and the signed-in user (loaded for every page) left out."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth.models import Permission, User
from django.core.handlers.base import BaseHandler
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from pb_platform.policies import ALLOW, PolicyDenied
from pb_platform.roles import RESIDENT, role_grant
from proposals.models import ProposalStatus, ResidentProfile
from proposals.phases import Phase
from tests.conftest import client_for
from tests.factories import (
    BudgetRoundFactory,
    ProposalFactory,
    ResidentProfileFactory,
    RoundAreaFactory,
    UserFactory,
)
from voting.models import Ballot, BallotChoice
from voting.permissions import has_resident_role, has_verified_email
from voting.selectors import ballot_voter
from voting.services import ballots
from voting.services.ballots import paper_ballot_record

LIMIT = 8

# Every request loads its session and signed-in user whatever the page (a plain read of
# one row of one table); the count is of the view's own work.
PER_REQUEST = re.compile(r'^SELECT [^()]* FROM "(django_session|auth_user)" WHERE')


@contextmanager
def statements_of_views(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The SQL each view runs while it runs. The test's own transaction turns the view's
    transaction into a SAVEPOINT and a RELEASE, which are counted like the BEGIN and
    COMMIT they stand for; a view that commits would add BEGIN and COMMIT the same way."""
    seen: list[str] = []
    inside = False

    def record(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        if inside and not PER_REQUEST.match(sql):
            seen.append(sql)
        return execute(sql, params, many, context)

    original = BaseHandler.make_view_atomic

    def counted(handler: BaseHandler, view: Callable[..., Any]) -> Callable[..., Any]:
        wrapped = original(handler, view)

        def run(*args: Any, **kwargs: Any) -> Any:
            nonlocal inside
            inside = True
            try:
                return wrapped(*args, **kwargs)
            finally:
                inside = False

        return run

    monkeypatch.setattr(BaseHandler, "make_view_atomic", counted)
    with connection.execute_wrapper(record):
        yield seen


@pytest.fixture
def ballot_area(db, area_a):
    voting_round = BudgetRoundFactory(phase=Phase.VOTING, slug="spring")
    round_area = RoundAreaFactory(budget_round=voting_round, area=area_a, budget=Decimal(5000))
    for cost in (1000, 2000, 1500):
        ProposalFactory(
            budget_round=voting_round,
            round_area=round_area,
            estimated_cost=Decimal(cost),
            status=ProposalStatus.FEASIBLE,
        )
    return round_area


@pytest.mark.postgresql  # elsewhere (SQLite, in development) the ORM writes it in more
def test_casting_and_changing_a_ballot_take_at_most_eight_statements(
    resident_a, ballot_area, monkeypatch
) -> None:
    client = client_for(resident_a)
    url = reverse("voting:ballot", args=["spring", ballot_area.area.slug])
    first, second, third = ballot_area.proposals.order_by("pk").values_list("pk", flat=True)
    client.get(url)  # the session and its CSRF token exist before the count

    with statements_of_views(monkeypatch) as cast:
        response = client.post(url, {"proposals": [first, second], "action": "save"})
    assert response.status_code == 302
    with statements_of_views(monkeypatch) as changed:
        response = client.post(url, {"proposals": [second, third], "action": "save"})
    assert response.status_code == 302

    ballot = Ballot.objects.get(voter=resident_a)
    assert set(BallotChoice.objects.filter(ballot=ballot).values_list("proposal", flat=True)) == {
        second,
        third,
    }
    assert len(cast) <= LIMIT, "\n".join(cast)
    assert len(changed) <= LIMIT, "\n".join(changed)


@pytest.mark.postgresql  # elsewhere the policies ask Django's permission backend itself
def test_the_role_and_email_read_with_the_profile_are_what_django_says(
    resident_a, officer, auditor, ballot_area
) -> None:
    # ballot_voter reads the role and the verified email in the same statement as the
    # profile instead of asking Django's permission backend and allauth: both must agree
    # for every kind of account.
    direct = UserFactory(email="direct@example.org")
    direct.user_permissions.add(Permission.objects.get(codename="cast_ballot"))
    superuser = UserFactory(email="root@example.org", is_superuser=True)
    inactive = UserFactory(email="gone@example.org")
    role_grant(user=inactive, role=RESIDENT)
    inactive.is_active = False
    inactive.save()
    nobody = UserFactory(email="nobody@example.org")
    accounts = [resident_a, officer, auditor, direct, superuser, inactive, nobody]
    for user in accounts:
        if not ResidentProfile.objects.filter(user=user).exists():
            ResidentProfileFactory(user=user, area=ballot_area.area)
    EmailAddress.objects.filter(user=nobody).update(verified=False)

    for account in accounts:
        read = User.objects.get(pk=account.pk)
        profile, _ballot = ballot_voter(user=read, round_area=ballot_area)
        assert profile is not None and profile.user_id == account.pk
        asked = User.objects.get(pk=account.pk)
        assert has_resident_role(read) == asked.has_perm("voting.cast_ballot"), account.email
        verified = EmailAddress.objects.filter(user=asked, verified=True).exists()
        assert has_verified_email(read) == verified, account.email
    granted = [User.objects.get(pk=u.pk).has_perm("voting.cast_ballot") for u in accounts]
    assert granted == [True, False, False, True, True, False, False]


@pytest.mark.postgresql  # SQLite has one writer at a time: no read can be stale
@pytest.mark.parametrize("stored_first", ["paper ballot here", "ballot for another home area"])
def test_a_ballot_stored_by_a_writer_the_lock_waited_for_still_refuses_the_online_one(
    resident_a, officer, ballot_area, monkeypatch, stored_first
) -> None:
    # The locking read's snapshot can predate the writer it waited for: the write then
    # finds, afresh, what that writer stored, and refuses with the policies' reason.
    now = timezone.now()
    first, second, _third = ballot_area.proposals.order_by("pk").values_list("pk", flat=True)
    if stored_first == "paper ballot here":
        paper_ballot_record(
            officer=officer, voter=resident_a, round_area=ballot_area, proposal_ids=[first], now=now
        )
        reason = "It cannot be changed online."
    else:
        other = RoundAreaFactory(budget_round=ballot_area.budget_round, budget=Decimal(100))
        Ballot.objects.create(
            round_area=other, voter=resident_a, channel="online", receipt_code="OTHR-OTHR-OTHR-OTHR"
        )
        reason = "Each person votes for one home area."
    before = list(BallotChoice.objects.values_list("ballot_id", "proposal_id"))
    # What the lock would have read before that writer committed: nothing.
    monkeypatch.setattr(
        ballots, "_online_lock", lambda voter, round_area: ballots._Locked(None, ALLOW)
    )

    with pytest.raises(PolicyDenied, match=reason):
        ballots.ballot_submit(
            voter=resident_a, round_area=ballot_area, proposal_ids=[second], now=now
        )
    assert list(BallotChoice.objects.values_list("ballot_id", "proposal_id")) == before
    assert Ballot.objects.filter(voter=resident_a, round_area=ballot_area).count() == (
        1 if stored_first == "paper ballot here" else 0
    )
