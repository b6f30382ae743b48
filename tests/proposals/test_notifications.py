"""Authors hear about officers' decisions by email. The email leaves after the officer's
transaction commits, through a Celery task that retries; when the broker or the mail
server is down the decision is still saved, and the beat sweep sends what was missed,
once."""

from __future__ import annotations

import smtplib
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

from proposals import notifications, services
from proposals.models import ProposalEvent, ProposalStatus
from proposals.notifications import SWEEP_GRACE, pending_event_ids
from proposals.phases import Phase
from proposals.services import ProposalContent
from proposals.tasks import notify_proposal_author, send_pending_notifications
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
    """What the on-commit hook hands to the broker: event ids, nothing run."""
    ids: list[int] = []
    monkeypatch.setattr(notify_proposal_author, "delay", ids.append)
    return ids


@pytest.fixture
def worker(monkeypatch):
    """Stands in for broker + worker: each enqueued id is run here, at once, by Celery's
    local ``apply`` (which also runs any retries in-process)."""
    results = []

    def delay(event_id):
        results.append(notify_proposal_author.apply(args=[event_id]))

    monkeypatch.setattr(notify_proposal_author, "delay", delay)
    return results


@pytest.fixture
def failing_smtp(monkeypatch):
    """The mail server refuses every message; records each attempt."""
    attempts: list[str] = []

    def send_mail(**kwargs):
        attempts.append(kwargs["subject"])
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")

    monkeypatch.setattr(notifications, "send_mail", send_mail)
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


def age(event: ProposalEvent, by: timedelta) -> None:
    ProposalEvent.objects.filter(pk=event.pk).update(at=event.at - by)


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
    event = proposal.events.get()
    assert event.notified_at is not None
    assert [result.result for result in worker] == [True]


def test_nothing_is_sent_until_the_decision_commits(
    officer, proposal, enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        feasible(proposal, officer)
        assert enqueued == []

    assert len(callbacks) == 1
    assert mail.outbox == []
    callbacks[0]()
    assert enqueued == [proposal.events.get().pk]


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
    assert pending_event_ids(now=timezone.now() + timedelta(days=1)) == []


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
    assert pending_event_ids(now=timezone.now() + timedelta(days=1)) == []


def test_the_beat_schedule_runs_the_sweep(settings):
    schedules = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "proposals.tasks.send_pending_notifications" in schedules


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
    # Each attempt released the event; after the last retry it waits for the sweep.
    event = proposal.events.get()
    assert event.notified_at is None
    assert len(failing_smtp) == 1 + notify_proposal_author.max_retries
    (result,) = worker
    assert result.state == "FAILURE"
    assert isinstance(result.result, smtplib.SMTPException)
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
    (event_id,) = enqueued
    real_send_mail = notifications.send_mail
    attempts = []

    def flaky_send_mail(**kwargs):
        attempts.append(kwargs)
        if len(attempts) == 1:
            raise error
        return real_send_mail(**kwargs)

    monkeypatch.setattr(notifications, "send_mail", flaky_send_mail)

    result = notify_proposal_author.apply(args=[event_id])

    assert result.state == "SUCCESS"
    assert result.result is True
    assert len(attempts) == 2
    assert len(mail.outbox) == 1
    assert ProposalEvent.objects.get(pk=event_id).notified_at is not None


def test_a_failed_send_releases_the_event_for_the_next_try(
    officer, proposal, enqueued, failing_smtp, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        feasible(proposal, officer)
    (event_id,) = enqueued

    # A worker's first attempt (Celery re-raises the error when nothing can schedule a retry).
    with pytest.raises(smtplib.SMTPException):
        notify_proposal_author(event_id)

    assert ProposalEvent.objects.get(pk=event_id).notified_at is None
    event = ProposalEvent.objects.get(pk=event_id)
    age(event, SWEEP_GRACE)
    assert pending_event_ids(now=timezone.now()) == [event_id]


def test_a_broker_outage_at_enqueue_time_does_not_fail_the_officers_action(
    officer, proposal, monkeypatch, django_capture_on_commit_callbacks
):
    def broker_down(event_id):
        raise OperationalError("Error 111 connecting to redis:6379. Connection refused.")

    monkeypatch.setattr(notify_proposal_author, "delay", broker_down)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        feasible(proposal, officer)  # does not raise

    assert len(callbacks) == 1
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.FEASIBLE
    event = proposal.events.get()
    assert event.notified_at is None
    assert mail.outbox == []
    # Left in the outbox for the sweep, once the fast path has had its chance.
    assert pending_event_ids(now=event.at + SWEEP_GRACE) == [event.pk]


def test_the_sweep_sends_what_the_broker_outage_left_behind(
    officer, proposal, monkeypatch, django_capture_on_commit_callbacks
):
    def broker_down(event_id):
        raise OperationalError("Connection refused.")

    monkeypatch.setattr(notify_proposal_author, "delay", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        feasible(proposal, officer)
    event = proposal.events.get()
    age(event, SWEEP_GRACE + timedelta(minutes=1))
    monkeypatch.setattr(
        notify_proposal_author,
        "delay",
        lambda event_id: notify_proposal_author.apply(args=[event_id]),
    )

    assert send_pending_notifications() == 1

    (email,) = mail.outbox
    assert "Feasible" in email.subject
    event.refresh_from_db()
    assert event.notified_at is not None
    assert send_pending_notifications() == 0
    assert len(mail.outbox) == 1


# --- The sweep and sending exactly once -------------------------------------------------


def test_the_sweep_picks_up_old_unsent_decisions_only(officer, resident_a, proposal, enqueued):
    now = timezone.now()
    old = now - SWEEP_GRACE - timedelta(minutes=1)

    def event(**fields):
        defaults = {
            "proposal": proposal,
            "actor": officer,
            "actor_is_officer": True,
            "kind": Kind.REVIEWED,
            "from_status": ProposalStatus.SUBMITTED,
            "to_status": ProposalStatus.FEASIBLE,
            "at": old,
        }
        return ProposalEvent.objects.create(**(defaults | fields))

    oldest = event(at=old - timedelta(hours=1))
    unsent = event()
    event(at=now)  # fresh: the on-commit path is still on it
    event(notified_at=old)  # already sent
    event(actor=resident_a, actor_is_officer=False, kind=Kind.EDITED)  # the author's own

    assert send_pending_notifications() == 2
    assert enqueued == [oldest.pk, unsent.pk]


def test_the_sweep_takes_events_exactly_at_the_grace_boundary(officer, proposal):
    now = timezone.now()
    event = ProposalEvent.objects.create(
        proposal=proposal,
        actor=officer,
        actor_is_officer=True,
        kind=Kind.REVIEWED,
        to_status=ProposalStatus.FEASIBLE,
        at=now - SWEEP_GRACE,
    )
    assert pending_event_ids(now=now) == [event.pk]
    assert pending_event_ids(now=now - timedelta(seconds=1)) == []


def test_a_second_send_of_the_same_decision_sends_nothing(
    officer, proposal, enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        feasible(proposal, officer)
    (event_id,) = enqueued

    first = notify_proposal_author.apply(args=[event_id])
    second = notify_proposal_author.apply(args=[event_id])

    assert (first.result, second.result) == (True, False)
    assert len(mail.outbox) == 1


def test_an_event_claimed_by_another_worker_is_neither_swept_nor_sent_again(
    officer, proposal, enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        feasible(proposal, officer)
    (event_id,) = enqueued
    claimed = notifications.event_claim(event_id=event_id, now=timezone.now())
    assert claimed is not None and claimed.pk == event_id

    assert notifications.event_claim(event_id=event_id, now=timezone.now()) is None
    assert notify_proposal_author.apply(args=[event_id]).result is False
    assert pending_event_ids(now=timezone.now() + timedelta(days=1)) == []
    assert mail.outbox == []


def test_the_email_uses_the_configured_sender(
    officer, proposal, worker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        feasible(proposal, officer)
    assert mail.outbox[0].from_email == django_settings.DEFAULT_FROM_EMAIL
