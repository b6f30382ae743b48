"""Authors hear about officers' decisions by email. The decision queues the email in the
platform's outbox in its own transaction; it leaves after the officer's transaction
commits, through a Celery task; when the broker or the mail server is down the decision
is still saved, and the beat sweep sends what was missed, once."""

from __future__ import annotations

import smtplib
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.core.mail.backends import locmem
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

from pb_platform.models import OutboxEmail
from pb_platform.outbox import (
    MAX_ATTEMPTS,
    lease_length,
    outbox_claim,
    outbox_due_ids,
    outbox_sweep,
)
from pb_platform.tasks import send_outbox_email, sweep_outbox
from proposals import services
from proposals.models import ProposalEvent, ProposalStatus
from proposals.phases import Phase
from proposals.services import ProposalContent
from tests.factories import BudgetRoundFactory, ProposalFactory, RoundAreaFactory

Kind = ProposalEvent.Kind


@pytest.fixture(autouse=True)
def site_url(settings):
    settings.SITE_URL = "https://pb.example.org"
    return settings.SITE_URL


@pytest.fixture
def proposal(resident_a, area_a):
    """Resident A's submitted proposal, in a round under review."""
    budget_round = BudgetRoundFactory(phase=Phase.REVIEW)
    return ProposalFactory(
        budget_round=budget_round,
        round_area=RoundAreaFactory(
            budget_round=budget_round, area=area_a, budget=Decimal("50000.00")
        ),
        author=resident_a,
        title="Benches by the pond",
    )


@pytest.fixture
def enqueued(monkeypatch):
    """What the on-commit hook hands to the broker: outbox item ids, nothing run."""
    ids: list[int] = []
    monkeypatch.setattr(send_outbox_email, "delay", ids.append)
    return ids


@pytest.fixture
def worker(monkeypatch):
    """Stands in for broker + worker: each enqueued id is run here, at once, by Celery's
    local ``apply``."""
    results = []

    def delay(item_id):
        results.append(send_outbox_email.apply(args=[item_id]))

    monkeypatch.setattr(send_outbox_email, "delay", delay)
    return results


@pytest.fixture
def failing_smtp(monkeypatch):
    """The mail server refuses every message; records each attempt."""
    attempts: list[str] = []

    def send_messages(self, messages):
        attempts.extend(message.subject for message in messages)
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")

    monkeypatch.setattr(locmem.EmailBackend, "send_messages", send_messages)
    return attempts


def feasible(proposal, officer, *, cost=Decimal("11000.00"), reason="Fits the parks plan."):
    return services.proposal_review(
        proposal=proposal,
        officer=officer,
        feasible=True,
        reason=reason,
        official_cost=cost,
        now=timezone.now(),
    )


def item_of(proposal) -> OutboxEmail:
    (item,) = OutboxEmail.objects.filter(kind="proposal_decision", recipient=proposal.author)
    return item


# --- The fast path: after commit, one email ---------------------------------------------


def test_an_officers_decision_emails_the_author_once_with_status_reason_cost_and_link(
    officer, resident_a, proposal, worker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        feasible(proposal, officer, cost=Decimal("11250.00"))

    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == [resident_a.email]
    assert email.subject == "Your proposal “Benches by the pond”: Feasible: on the ballot"
    assert "Status: Feasible: on the ballot" in email.body
    assert "Official cost: £11,250.00" in email.body
    assert "Fits the parks plan." in email.body
    link = f"https://pb.example.org{proposal.get_absolute_url()}"
    assert link in email.body.split()
    assert item_of(proposal).sent_at is not None
    assert [result.result for result in worker] == ["sent"]


def test_nothing_is_sent_until_the_decision_commits(
    officer, proposal, enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        feasible(proposal, officer)
        assert enqueued == []

    assert len(callbacks) == 1
    assert mail.outbox == []
    # Queued in the officer's transaction, with the event's id and no rendered text.
    item = item_of(proposal)
    assert item.params == {"event_id": proposal.events.get().pk}
    assert item.template_name == "proposals/email/status_changed"
    callbacks[0]()
    assert enqueued == [item.pk]


def test_a_decision_that_is_rolled_back_sends_nothing(
    officer, proposal, worker, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        feasible(proposal, officer)
        raise RuntimeError("something after the review failed")

    assert callbacks == []
    assert mail.outbox == []
    assert not OutboxEmail.objects.exists()  # the email went with the decision
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.SUBMITTED


def test_not_feasible_emails_the_reason_and_no_cost(
    officer, proposal, worker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.proposal_review(
            proposal=proposal,
            officer=officer,
            feasible=False,
            reason="The land belongs to the railway.",
            official_cost=None,
            now=timezone.now(),
        )

    (email,) = mail.outbox
    assert "Status: Not feasible" in email.body
    assert "The land belongs to the railway." in email.body
    assert "Official cost" not in email.body


def test_sending_back_emails_the_officers_message(
    officer, resident_a, area_a, worker, django_capture_on_commit_callbacks
):
    budget_round = BudgetRoundFactory(phase=Phase.SUBMISSION)
    proposal = ProposalFactory(
        budget_round=budget_round,
        round_area=RoundAreaFactory(budget_round=budget_round, area=area_a),
        author=resident_a,
    )

    with django_capture_on_commit_callbacks(execute=True):
        services.proposal_return_to_author(
            proposal=proposal, officer=officer, message="Which pond?", now=timezone.now()
        )

    (email,) = mail.outbox
    assert email.to == [resident_a.email]
    assert "Sent back to the author" in email.subject
    assert "Which pond?" in email.body


def test_marking_a_duplicate_emails_the_author_and_so_does_pointing_it_elsewhere(
    officer, proposal, worker, django_capture_on_commit_callbacks
):
    first, second = ProposalFactory.create_batch(
        2, budget_round=proposal.budget_round, round_area=proposal.round_area
    )

    with django_capture_on_commit_callbacks(execute=True):
        services.proposal_mark_duplicate(
            proposal=proposal, officer=officer, original=first, reason="Same.", now=timezone.now()
        )
    with django_capture_on_commit_callbacks(execute=True):
        services.proposal_mark_duplicate(
            proposal=proposal,
            officer=officer,
            original=second,
            reason="Closer to the second one.",
            now=timezone.now(),
        )

    assert [("Duplicate" in e.subject, e.body.count("Closer")) for e in mail.outbox] == [
        (True, 0),
        (True, 1),
    ]
    # The fast path and the sweep agree: nothing is left for the sweep to send later.
    assert outbox_due_ids(now=timezone.now() + timedelta(days=1)) == []


def test_a_new_official_cost_is_emailed_even_when_the_status_stays_feasible(
    officer, proposal, worker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        feasible(proposal, officer, cost=Decimal("11000.00"))
    with django_capture_on_commit_callbacks(execute=True):
        feasible(proposal, officer, cost=Decimal("9500.00"), reason="Cheaper supplier.")

    assert len(mail.outbox) == 2
    assert "£9,500.00" in mail.outbox[1].body
    assert "Cheaper supplier." in mail.outbox[1].body


def test_the_authors_own_actions_send_nothing_now_or_later(
    resident_a, resident_b, area_a, enqueued, django_capture_on_commit_callbacks
):
    budget_round = BudgetRoundFactory(phase=Phase.SUBMISSION)
    content = ProposalContent(
        title="Benches",
        description="By the pond.",
        round_area=RoundAreaFactory(budget_round=budget_round, area=area_a),
        category=None,
        estimated_cost=Decimal("900.00"),
    )

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        draft = services.proposal_create(
            author=resident_a,
            budget_round=budget_round,
            content=content,
            submit=False,
            now=timezone.now(),
        )
        submitted = services.proposal_update(
            proposal=draft, author=resident_a, content=content, submit=True, now=timezone.now()
        )
        services.comment_add(proposal=submitted, author=resident_b, body="Nice", now=timezone.now())
        services.proposal_withdraw(proposal=submitted, author=resident_a, now=timezone.now())

    assert [e.kind for e in draft.events.all()] == [
        Kind.CREATED,
        Kind.EDITED,
        Kind.SUBMITTED,
        Kind.WITHDRAWN,
    ]
    assert callbacks == []
    assert enqueued == []
    assert mail.outbox == []
    assert not OutboxEmail.objects.exists()


def test_the_beat_schedule_runs_the_sweep(settings):
    schedules = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "pb_platform.tasks.sweep_outbox" in schedules


# --- When sending fails -----------------------------------------------------------------


def test_a_failing_mail_server_never_blocks_the_officer_and_the_email_is_retried(
    officer, proposal, worker, failing_smtp, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        reviewed = feasible(proposal, officer)  # does not raise

    assert reviewed.status == ProposalStatus.FEASIBLE
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.FEASIBLE
    assert proposal.official_cost == Decimal("11000.00")
    # The failure is recorded on the item, which waits for its back-off.
    item = item_of(proposal)
    assert (item.sent_at, item.attempts, item.claimed_until) == (None, 1, None)
    assert "SMTPServerDisconnected" in item.last_error
    assert [result.result for result in worker] == ["failed"]
    # The sweep keeps trying, later each time, until it gives up and waits for an officer.
    for _ in range(MAX_ATTEMPTS + 2):
        OutboxEmail.objects.filter(pk=item.pk).update(  # its back-off has passed
            next_try_at=timezone.now() - timedelta(seconds=1)
        )
        sweep_outbox.apply()
    item.refresh_from_db()
    assert item.attempts == MAX_ATTEMPTS
    assert item.gave_up_at is not None
    assert len(failing_smtp) == MAX_ATTEMPTS
    assert mail.outbox == []


@pytest.mark.parametrize(
    "error",
    [smtplib.SMTPServerDisconnected("closed"), ConnectionRefusedError(111, "refused")],
    ids=["smtp-error", "connection-refused"],
)
def test_a_send_that_fails_once_is_retried_and_the_email_goes_out_once(
    officer, proposal, enqueued, monkeypatch, error, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        feasible(proposal, officer)
    (item_id,) = enqueued
    real_send_messages = locmem.EmailBackend.send_messages
    attempts = []

    def flaky_send_messages(self, messages):
        attempts.append(messages)
        if len(attempts) == 1:
            raise error
        return real_send_messages(self, messages)

    monkeypatch.setattr(locmem.EmailBackend, "send_messages", flaky_send_messages)

    assert send_outbox_email.apply(args=[item_id]).result == "failed"
    # Not before its back-off; then the sweep sends it.
    assert send_outbox_email.apply(args=[item_id]).result == "busy"
    item = OutboxEmail.objects.get(pk=item_id)
    assert outbox_sweep(now=item.next_try_at) == 1

    assert len(attempts) == 2
    assert len(mail.outbox) == 1
    assert OutboxEmail.objects.get(pk=item_id).sent_at is not None


def test_a_failed_send_releases_the_item_for_the_next_try(
    officer, proposal, enqueued, failing_smtp, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        feasible(proposal, officer)
    (item_id,) = enqueued

    assert send_outbox_email(item_id) == "failed"

    item = OutboxEmail.objects.get(pk=item_id)
    assert item.claimed_until is None and item.sent_at is None
    assert outbox_due_ids(now=item.next_try_at - timedelta(seconds=1)) == []
    assert outbox_due_ids(now=item.next_try_at) == [item_id]


def test_a_broker_outage_at_enqueue_time_does_not_fail_the_officers_action(
    officer, proposal, monkeypatch, django_capture_on_commit_callbacks
):
    def broker_down(item_id):
        raise OperationalError("Error 111 connecting to redis:6379. Connection refused.")

    monkeypatch.setattr(send_outbox_email, "delay", broker_down)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        feasible(proposal, officer)  # does not raise

    assert len(callbacks) == 1
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.FEASIBLE
    item = item_of(proposal)
    assert item.sent_at is None
    assert mail.outbox == []
    # Left in the outbox for the sweep.
    assert outbox_due_ids(now=timezone.now()) == [item.pk]


def test_the_sweep_sends_what_the_broker_outage_left_behind(
    officer, proposal, monkeypatch, django_capture_on_commit_callbacks
):
    def broker_down(item_id):
        raise OperationalError("Connection refused.")

    monkeypatch.setattr(send_outbox_email, "delay", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        feasible(proposal, officer)

    assert sweep_outbox() == 1

    (email,) = mail.outbox
    assert "Feasible" in email.subject
    assert item_of(proposal).sent_at is not None
    assert sweep_outbox() == 0
    assert len(mail.outbox) == 1


# --- The sweep and sending exactly once -------------------------------------------------


def test_the_sweep_picks_up_due_unsent_items_only(officer, resident_a, proposal, enqueued):
    now = timezone.now()
    event = ProposalEvent.objects.create(
        proposal=proposal, actor=officer, actor_is_officer=True, kind=Kind.REVIEWED, at=now
    )

    def item(**fields):
        defaults = {
            "kind": "proposal_decision",
            "recipient": resident_a,
            "to_email": resident_a.email,
            "template_name": "proposals/email/status_changed",
            "params": {"event_id": event.pk},
            "language": "en-gb",
            "created_at": now - timedelta(hours=1),
            "next_try_at": now - timedelta(minutes=1),
        }
        return OutboxEmail.objects.create(**(defaults | fields))

    oldest = item(next_try_at=now - timedelta(hours=1))
    due = item()
    item(next_try_at=now + timedelta(minutes=1))  # in its back-off
    item(sent_at=now - timedelta(minutes=5))  # already sent
    item(gave_up_at=now, attempts=MAX_ATTEMPTS)  # waits for an officer
    item(cancelled_at=now, cancel_reason="unsubscribed")
    item(claimed_until=now + timedelta(seconds=30))  # a live sender holds it
    expired = item(claimed_until=now - timedelta(seconds=1), next_try_at=now - timedelta(minutes=2))

    assert outbox_due_ids(now=now) == [oldest.pk, expired.pk, due.pk]


def test_an_item_is_due_exactly_at_its_next_try(resident_a, proposal, enqueued, officer):
    now = timezone.now()
    event = ProposalEvent.objects.create(
        proposal=proposal, actor=officer, actor_is_officer=True, kind=Kind.REVIEWED, at=now
    )
    item = OutboxEmail.objects.create(
        kind="proposal_decision",
        recipient=resident_a,
        to_email=resident_a.email,
        template_name="proposals/email/status_changed",
        params={"event_id": event.pk},
        language="en-gb",
        created_at=now,
        next_try_at=now,
    )
    assert outbox_due_ids(now=now) == [item.pk]
    assert outbox_due_ids(now=now - timedelta(seconds=1)) == []


def test_a_second_send_of_the_same_decision_sends_nothing(
    officer, proposal, enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        feasible(proposal, officer)
    (item_id,) = enqueued

    first = send_outbox_email.apply(args=[item_id])
    second = send_outbox_email.apply(args=[item_id])

    assert (first.result, second.result) == ("sent", "busy")
    assert len(mail.outbox) == 1


def test_an_item_claimed_by_another_worker_is_neither_swept_nor_sent_while_its_lease_holds(
    officer, proposal, enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        feasible(proposal, officer)
    (item_id,) = enqueued
    now = timezone.now()
    assert outbox_claim(item_id=item_id, now=now) is True

    assert outbox_claim(item_id=item_id, now=now) is False
    assert send_outbox_email.apply(args=[item_id]).result == "busy"
    assert outbox_due_ids(now=now + lease_length() - timedelta(seconds=1)) == []
    assert mail.outbox == []
    # Once the lease has passed, the item is the sweep's again.
    assert outbox_due_ids(now=now + lease_length() + timedelta(seconds=1)) == [item_id]


def test_the_email_uses_the_configured_sender(
    officer, proposal, worker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        feasible(proposal, officer)
    assert mail.outbox[0].from_email == django_settings.DEFAULT_FROM_EMAIL
