"""Voters who asked are emailed once when their area's result is published; nobody else,
never with anyone's choices, and never at the cost of the result."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from pb_platform.models import EmailPreference, JobItem, OutboxEmail
from pb_platform.outbox import (
    RESULTS_PUBLISHED,
    email_preference_set,
    email_preferences_of,
    email_wanted,
    outbox_send,
)
from tests.ledgers.conftest import published_round
from voting.models import AreaResult, Ballot
from voting.services.notifications import NOTIFY_JOB, result_voters_notify
from voting.tasks import notify_published_results

pytestmark = pytest.mark.django_db


def voters_of(budget_round) -> list:
    return [
        ballot.voter
        for ballot in Ballot.objects.filter(round_area__budget_round=budget_round).order_by("pk")
    ]


def asks(user) -> None:
    email_preference_set(user=user, kind=RESULTS_PUBLISHED, enabled=True, now=timezone.now())


def test_results_emails_are_opt_in(resident_a):
    assert email_wanted(user=resident_a, kind=RESULTS_PUBLISHED) is False
    assert (RESULTS_PUBLISHED, False) in email_preferences_of(resident_a)
    asks(resident_a)
    assert email_wanted(user=resident_a, kind=RESULTS_PUBLISHED) is True
    assert (RESULTS_PUBLISHED, True) in email_preferences_of(resident_a)


def test_only_voters_who_asked_are_emailed_once_with_a_link_and_no_choices(area_a):
    budget_round, _proposals = published_round(area=area_a, allocate=False)
    result = AreaResult.objects.get(round_area__budget_round=budget_round)
    result.voters_notified_at = None  # published now: not yet told
    result.save(update_fields=["voters_notified_at"])
    first, second, *_others = voters_of(budget_round)
    asks(first)
    asks(second)
    email_preference_set(user=second, kind=RESULTS_PUBLISHED, enabled=False, now=timezone.now())

    assert notify_published_results() == 1
    assert notify_published_results() == 0  # claimed: a second run queues nothing

    items = OutboxEmail.objects.filter(kind=RESULTS_PUBLISHED.name)
    assert [item.recipient for item in items] == [first]
    mail.outbox.clear()
    outbox_send(item_id=items.get().pk, now=timezone.now())
    (sent,) = mail.outbox
    assert sent.to == [first.email]
    assert "Parks" in sent.subject and area_a.name in sent.subject
    assert f"/rounds/{budget_round.slug}/results/{area_a.slug}/" in sent.body
    for title in ("Trees", "Benches", "Lights"):  # what anyone chose, or even won
        assert title not in sent.body
    assert "List-Unsubscribe" in sent.extra_headers
    result.refresh_from_db()
    assert result.voters_notified_at is not None


def test_a_failure_is_a_job_item_and_the_result_stays_published(area_a, monkeypatch):
    budget_round, _proposals = published_round(area=area_a, allocate=False)
    result = AreaResult.objects.get(round_area__budget_round=budget_round)
    AreaResult.objects.filter(pk=result.pk).update(voters_notified_at=None)
    asks(voters_of(budget_round)[0])

    def broken(**kwargs):
        raise RuntimeError("template missing")

    monkeypatch.setattr("voting.services.notifications.email_enqueue", broken)
    assert notify_published_results() == 0
    item = JobItem.objects.get(job=NOTIFY_JOB)
    assert "template missing" in item.last_error
    result.refresh_from_db()
    assert result.published_at is not None
    assert result.voters_notified_at is None  # rolled back: the next run tries again
    assert not OutboxEmail.objects.filter(kind=RESULTS_PUBLISHED.name).exists()


def test_an_unpublished_result_is_never_announced(area_a):
    budget_round, _proposals = published_round(area=area_a, allocate=False)
    asks(voters_of(budget_round)[0])
    AreaResult.objects.filter(round_area__budget_round=budget_round).update(
        voters_notified_at=None, published_at=None
    )
    result = AreaResult.objects.get(round_area__budget_round=budget_round)
    assert result_voters_notify(result_id=result.pk, now=timezone.now()) == 0
    assert not OutboxEmail.objects.filter(kind=RESULTS_PUBLISHED.name).exists()


def test_a_resident_who_asks_on_the_preferences_page_gets_it(client, resident_a):
    client.force_login(resident_a)
    page = client.get("/accounts/emails/")
    assert "When the results of an area you voted in are published" in page.text
    client.post("/accounts/emails/", {RESULTS_PUBLISHED.name: "on"})
    assert EmailPreference.objects.get(user=resident_a, kind=RESULTS_PUBLISHED.name).enabled


def test_results_published_before_this_change_are_not_announced_again(area_a):
    budget_round, _proposals = published_round(area=area_a, allocate=False)
    asks(voters_of(budget_round)[0])
    AreaResult.objects.filter(round_area__budget_round=budget_round).update(
        voters_notified_at=timezone.now() - timedelta(days=30)
    )
    assert notify_published_results() == 0
