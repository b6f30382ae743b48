"""One outbox for every email: a claim is a lease and ``sent_at`` is apart from it, so a
worker that dies after claiming loses nothing; failures back off and, after five, wait
for an officer; emails are rendered in the recipient's language; people choose which
kinds they get and can unsubscribe with one click; moving the old outboxes sent nothing
twice."""

from __future__ import annotations

import io
import re
import smtplib
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.apps import apps
from django.core import mail, signing
from django.core.mail.backends import locmem
from django.core.management import call_command
from django.db import connections
from django.test import Client
from django.utils import formats, timezone, translation

from pb_platform import outbox
from pb_platform.models import EmailLanguage, EmailPreference, OutboxEmail
from pb_platform.outbox import (
    BACKOFF_BASE,
    MAX_ATTEMPTS,
    lease_length,
    outbox_claim,
    outbox_due_ids,
    outbox_retry,
    outbox_send,
    outbox_sweep,
    unsubscribe_token,
)
from pb_platform.outbox_moves import outbox_items_from_ballots, outbox_items_from_events
from pb_platform.policies import PolicyDenied
from pb_platform.tasks import send_outbox_email
from proposals import services
from proposals.models import ProposalEvent, ProposalStatus
from proposals.phases import Phase
from tests.conftest import client_for
from tests.factories import BudgetRoundFactory, ProposalFactory, RoundAreaFactory, UserFactory
from voting.models import Ballot, BallotChannel
from voting.services.ballots import ballot_submit

Kind = ProposalEvent.Kind


@pytest.fixture(autouse=True)
def site_url(settings):
    settings.SITE_URL = "https://pb.example.org"


@pytest.fixture
def enqueued(monkeypatch):
    """The broker: takes the on-commit pokes (item ids) and runs nothing."""
    ids: list[int] = []
    monkeypatch.setattr(send_outbox_email, "delay", ids.append)
    return ids


@pytest.fixture
def worker(monkeypatch):
    """Broker and worker in one: each poke is sent here and now."""
    monkeypatch.setattr(
        send_outbox_email, "delay", lambda item_id: send_outbox_email.apply(args=[item_id])
    )


@pytest.fixture
def smtp_down(monkeypatch):
    """The mail server refuses everything (an SMTPException); records each attempt."""
    attempts: list[list[str]] = []

    def send_messages(self, messages):
        attempts.append([address for message in messages for address in message.to])
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")

    monkeypatch.setattr(locmem.EmailBackend, "send_messages", send_messages)
    return attempts


@pytest.fixture
def voting_area(area_a):
    budget_round = BudgetRoundFactory(phase=Phase.VOTING, name="Spring vote")
    round_area = RoundAreaFactory(budget_round=budget_round, area=area_a, budget=Decimal(5000))
    ProposalFactory(
        budget_round=budget_round,
        round_area=round_area,
        title="Benches",
        estimated_cost=Decimal(1000),
        status=ProposalStatus.FEASIBLE,
    )
    return round_area


@pytest.fixture
def proposal(resident_a, area_a):
    budget_round = BudgetRoundFactory(phase=Phase.REVIEW)
    return ProposalFactory(
        budget_round=budget_round,
        round_area=RoundAreaFactory(budget_round=budget_round, area=area_a),
        author=resident_a,
        title="Benches by the pond",
    )


def vote(voter, round_area, callbacks_fixture):
    with callbacks_fixture(execute=True):
        return ballot_submit(
            voter=voter,
            round_area=round_area,
            proposal_ids=list(round_area.proposals.values_list("pk", flat=True)),
            now=timezone.now(),
        )


def decide(proposal, officer, callbacks_fixture, *, reason="Fits the parks plan."):
    with callbacks_fixture(execute=True):
        return services.proposal_review(
            proposal=proposal,
            officer=officer,
            feasible=True,
            reason=reason,
            official_cost=Decimal("900.00"),
            now=timezone.now(),
        )


# --- A claim is a lease -----------------------------------------------------------------


def test_a_worker_that_claims_and_dies_loses_nothing_the_sweep_sends_it_once_later(
    resident_a, voting_area, enqueued, django_capture_on_commit_callbacks
):
    ballot = vote(resident_a, voting_area, django_capture_on_commit_callbacks)
    (item_id,) = enqueued
    now = timezone.now()

    # A worker takes the task, claims the item, and is killed before sending.
    assert outbox_claim(item_id=item_id, now=now) is True

    # While its lease holds, nobody else sends it (the worker might still be sending)...
    assert outbox_sweep(now=now + timedelta(seconds=1)) == 0
    assert mail.outbox == []
    # ...and once it has expired, the next sweep does: exactly one email.
    assert outbox_sweep(now=now + lease_length() + timedelta(seconds=1)) == 1
    (email,) = mail.outbox
    assert ballot.receipt_code in email.body
    assert OutboxEmail.objects.get(pk=item_id).sent_at is not None
    assert outbox_sweep(now=now + timedelta(days=1)) == 0
    assert len(mail.outbox) == 1


def test_the_lease_is_at_least_twice_the_mail_timeout(settings):
    for seconds in (1, 20, 30, 90):
        settings.EMAIL_TIMEOUT = seconds
        assert lease_length() >= timedelta(seconds=2 * seconds)


def test_sent_at_is_written_only_after_the_mail_server_accepted(
    resident_a, voting_area, enqueued, smtp_down, django_capture_on_commit_callbacks
):
    vote(resident_a, voting_area, django_capture_on_commit_callbacks)
    (item_id,) = enqueued

    assert outbox_send(item_id=item_id, now=timezone.now()) == "failed"

    item = OutboxEmail.objects.get(pk=item_id)
    assert item.sent_at is None and item.claimed_until is None


# --- Failures: back-off, give up after five, an officer retries -----------------------


def test_failed_sends_back_off_give_up_after_five_and_an_officer_sends_it_again(
    resident_a, resident_b, officer, voting_area, enqueued, monkeypatch, smtp_down,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    vote(resident_a, voting_area, django_capture_on_commit_callbacks)
    (item_id,) = enqueued
    at = timezone.now()
    waits = []
    for attempt in range(1, MAX_ATTEMPTS + 1):
        outcome = outbox_send(item_id=item_id, now=at)
        item = OutboxEmail.objects.get(pk=item_id)
        assert item.attempts == attempt
        assert "SMTPServerDisconnected: Connection unexpectedly closed" in item.last_error
        waits.append(item.next_try_at - at)
        # Not before its next try.
        assert outbox_send(item_id=item_id, now=item.next_try_at - timedelta(seconds=1)) == "busy"
        at = item.next_try_at
    assert outcome == "gave_up"
    assert waits[:4] == [BACKOFF_BASE, 2 * BACKOFF_BASE, 4 * BACKOFF_BASE, 8 * BACKOFF_BASE]
    item = OutboxEmail.objects.get(pk=item_id)
    assert item.gave_up_at is not None
    # Given up: never retried automatically, however long the sweep waits.
    assert outbox_due_ids(now=at + timedelta(days=365)) == []
    assert outbox_sweep(now=at + timedelta(days=365)) == 0
    assert len(smtp_down) == MAX_ATTEMPTS
    assert item in outbox.outbox_given_up()

    # A resident (even the recipient) cannot send it again; nothing changes.
    before = OutboxEmail.objects.values().get(pk=item_id)
    for someone in (resident_a, resident_b):
        with pytest.raises(PolicyDenied, match="Only council officers"):
            outbox_retry(item=item, officer=someone, now=at)
    assert OutboxEmail.objects.values().get(pk=item_id) == before

    # The officer does; the mail server is back; it is sent once, and the retry recorded.
    monkeypatch.undo()
    monkeypatch.setattr(send_outbox_email, "delay", enqueued.append)
    with django_capture_on_commit_callbacks(execute=True):
        outbox_retry(item=item, officer=officer, now=at)
    item.refresh_from_db()
    assert (item.gave_up_at, item.attempts, item.retried_by) == (None, 0, officer)
    assert enqueued[-1] == item_id  # poked at once
    assert outbox_sweep(now=at) == 1
    assert len(mail.outbox) == 1
    item.refresh_from_db()
    with pytest.raises(PolicyDenied, match="already sent"):
        outbox_retry(item=item, officer=officer, now=at)


def test_an_officer_cannot_retry_an_email_that_is_still_being_tried(
    resident_a, officer, voting_area, enqueued, django_capture_on_commit_callbacks
):
    vote(resident_a, voting_area, django_capture_on_commit_callbacks)
    item = OutboxEmail.objects.get()
    with pytest.raises(PolicyDenied, match="still being tried"):
        outbox_retry(item=item, officer=officer, now=timezone.now())


def test_one_bad_item_never_stops_the_sweep(
    resident_a, resident_b, officer, voting_area, proposal, enqueued, monkeypatch,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    """The first item due fails to render (a bug), the second's mail server refuses: the
    third is still sent, and the two failures are recorded."""
    vote(resident_a, voting_area, django_capture_on_commit_callbacks)
    decide(proposal, officer, django_capture_on_commit_callbacks)
    other_round = RoundAreaFactory(
        budget_round=BudgetRoundFactory(phase=Phase.VOTING), area=resident_b.resident_profile.area
    )
    ProposalFactory(
        budget_round=other_round.budget_round,
        round_area=other_round,
        estimated_cost=Decimal(10),
        status=ProposalStatus.FEASIBLE,
    )
    vote(resident_b, other_round, django_capture_on_commit_callbacks)
    receipt_a, decision_a, _receipt_b = OutboxEmail.objects.order_by("pk")
    OutboxEmail.objects.filter(pk=receipt_a.pk).update(params={"ballot_id": "not a number"})
    real_send_messages = locmem.EmailBackend.send_messages

    def refuse_decisions(self, messages):
        if any("Your proposal" in message.subject for message in messages):
            raise smtplib.SMTPRecipientsRefused({resident_a.email: (550, b"mailbox full")})
        return real_send_messages(self, messages)

    monkeypatch.setattr(locmem.EmailBackend, "send_messages", refuse_decisions)

    assert outbox_sweep(now=timezone.now()) == 1

    assert [email.to for email in mail.outbox] == [[resident_b.email]]
    receipt_a.refresh_from_db()
    decision_a.refresh_from_db()
    assert receipt_a.attempts == 1 and receipt_a.last_error
    assert decision_a.attempts == 1 and "SMTPRecipientsRefused" in decision_a.last_error


# --- Rendered at send time, in the recipient's language --------------------------------


def test_an_email_is_rendered_in_the_language_its_recipient_had_when_it_was_queued(
    resident_a, resident_b, voting_area, enqueued, monkeypatch, django_capture_on_commit_callbacks
):
    EmailLanguage.objects.create(user=resident_a, language="pl")
    languages_seen = []
    real_render = outbox.render_to_string

    def render(template_name, context):
        languages_seen.append((template_name, translation.get_language()))
        return real_render(template_name, context)

    monkeypatch.setattr(outbox, "render_to_string", render)

    vote(resident_a, voting_area, django_capture_on_commit_callbacks)
    item = OutboxEmail.objects.get(recipient=resident_a)
    assert item.language == "pl"
    # A later change of language does not change what was queued.
    EmailLanguage.objects.filter(user=resident_a).update(language="en-gb")

    assert outbox_sweep(now=timezone.now()) == 1

    assert languages_seen == [
        ("voting/email/receipt_subject.txt", "pl"),
        ("voting/email/receipt.txt", "pl"),
    ]
    (email,) = mail.outbox
    closes = timezone.localtime(voting_area.budget_round.voting_ends)
    with translation.override("pl"):
        polish_month = formats.date_format(closes, "E")  # "grudnia": a date's genitive
    with translation.override("en-gb"):
        english_month = formats.date_format(closes, "F")
    assert polish_month != english_month
    assert polish_month in email.body  # the date is written the Polish way
    assert translation.get_language() != "pl"  # and the override ended with the send


def test_without_a_chosen_language_the_site_language_is_used(
    resident_a, voting_area, enqueued, settings, django_capture_on_commit_callbacks
):
    vote(resident_a, voting_area, django_capture_on_commit_callbacks)
    assert OutboxEmail.objects.get().language == settings.LANGUAGE_CODE


# --- Preferences page and one-click unsubscribe -----------------------------------------


def ticked(page: str, name: str) -> bool:
    box = re.search(rf'<input type="checkbox" name="{name}"[^>]*>', page)
    assert box, f"no tick box {name}"
    return " checked" in box.group(0)


def test_the_preferences_page_turns_a_kind_off_and_no_such_email_is_queued_after(
    resident_a, officer, proposal, worker, anonymous_client, django_capture_on_commit_callbacks
):
    assert anonymous_client.get("/accounts/emails/").status_code == 302  # sign in first
    client = client_for(resident_a)
    assert "/accounts/emails/" in client.get("/accounts/profile/").content.decode()
    page = client.get("/accounts/emails/").content.decode()
    assert "Officers&#x27; decisions about your proposals" in page
    assert ticked(page, "proposal_decision")
    assert "Receipts for your votes" in page and "Always sent" in page
    assert 'name="ballot_receipt"' not in page  # receipts cannot be turned off

    response = client.post("/accounts/emails/", {"ballot_receipt": ""})  # nothing ticked
    assert response.status_code == 302

    # Every kind sent unless turned off is now off (opt-in kinds stay as they were: off).
    assert set(EmailPreference.objects.values_list("user", "kind", "enabled")) == {
        (resident_a.pk, kind.name, False)
        for kind in outbox.KINDS.values()
        if kind.unsubscribable and not kind.opt_in
    }
    assert (
        'name="proposal_decision" checked' not in client.get("/accounts/emails/").content.decode()
    )
    decide(proposal, officer, django_capture_on_commit_callbacks)
    assert not OutboxEmail.objects.exists()
    assert mail.outbox == []

    # Ticked again: the next decision is emailed.
    client.post("/accounts/emails/", {"proposal_decision": "on"})
    decide(proposal, officer, django_capture_on_commit_callbacks, reason="Cheaper.")
    assert len(mail.outbox) == 1


def test_each_decision_email_carries_one_click_unsubscribe_headers_and_receipts_do_not(
    resident_a, officer, proposal, voting_area, worker, django_capture_on_commit_callbacks
):
    decide(proposal, officer, django_capture_on_commit_callbacks)
    vote(resident_a, voting_area, django_capture_on_commit_callbacks)

    decision, receipt = mail.outbox
    link = decision.extra_headers["List-Unsubscribe"]
    assert link.startswith("<https://pb.example.org/emails/unsubscribe/") and link.endswith("/>")
    assert decision.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert link.strip("<>") in decision.body
    assert "List-Unsubscribe" not in receipt.extra_headers
    assert "Receipts are always sent" in receipt.body


def test_a_tampered_unsubscribe_link_is_refused_and_changes_nothing(
    resident_a, resident_b, anonymous_client
):
    token = unsubscribe_token(user_id=resident_a.pk, kind="proposal_decision")
    forged = unsubscribe_token(user_id=resident_a.pk, kind="proposal_decision").replace(
        ":", ":x", 1
    )
    # Someone else's id, signed with a key that is not the site's.
    other_user = signing.dumps(
        {"u": resident_b.pk, "k": "proposal_decision"},
        key="not-the-site-key",
        salt=outbox.UNSUBSCRIBE_SALT,
    )
    # Validly signed, but for a kind that cannot be turned off.
    receipts = unsubscribe_token(user_id=resident_a.pk, kind="ballot_receipt")
    for bad in (forged, token[:-1] + ("A" if token[-1] != "A" else "B"), other_user, receipts):
        for method in (anonymous_client.get, anonymous_client.post):
            response = method(f"/emails/unsubscribe/{bad}/")
            assert response.status_code == 400
            assert "This link does not work" in response.content.decode()
    assert not EmailPreference.objects.exists()


def test_a_good_unsubscribe_link_asks_then_unsubscribes_in_one_click_without_login(
    resident_a, officer, proposal, worker, django_capture_on_commit_callbacks
):
    decide(proposal, officer, django_capture_on_commit_callbacks)
    (email,) = mail.outbox
    path = (
        email.extra_headers["List-Unsubscribe"].strip("<>").removeprefix("https://pb.example.org")
    )

    # A mail program's one-click POST carries no CSRF token and no session.
    mail_program = Client(enforce_csrf_checks=True)
    page = mail_program.get(path)
    assert page.status_code == 200
    assert "Stop sending" in page.content.decode()
    assert not EmailPreference.objects.exists()  # GET (link previews) changes nothing

    # A decision queued before the click is not sent after it.
    decide(proposal, officer, django_capture_on_commit_callbacks, reason="Still fits.")
    assert len(mail.outbox) == 2
    waiting = OutboxEmail.objects.create(
        **{
            **OutboxEmail.objects.values(
                "kind", "recipient_id", "to_email", "template_name", "params", "language"
            ).first(),
            "created_at": timezone.now(),
            "next_try_at": timezone.now(),
        }
    )

    response = mail_program.post(path)
    assert response.status_code == 200
    assert "will no longer get emails" in response.content.decode()
    assert EmailPreference.objects.get(user=resident_a, kind="proposal_decision").enabled is False
    waiting.refresh_from_db()
    assert waiting.cancelled_at is not None and waiting.sent_at is None

    decide(proposal, officer, django_capture_on_commit_callbacks, reason="Cheaper.")
    assert outbox_sweep(now=timezone.now() + timedelta(days=1)) == 0
    assert len(mail.outbox) == 2  # nothing more of that kind
    # Clicking again is harmless.
    assert mail_program.post(path).status_code == 200


def test_an_email_queued_before_unsubscribing_elsewhere_is_not_sent(
    resident_a, officer, proposal, enqueued, django_capture_on_commit_callbacks
):
    decide(proposal, officer, django_capture_on_commit_callbacks)
    (item_id,) = enqueued
    # Turned off while the email waited (no cancel: as if saved by an older process).
    EmailPreference.objects.create(
        user=resident_a, kind="proposal_decision", enabled=False, changed_at=timezone.now()
    )

    assert outbox_send(item_id=item_id, now=timezone.now()) == "cancelled"
    assert mail.outbox == []


# --- Moving the old outboxes ------------------------------------------------------------


def test_the_migration_queues_only_what_was_never_sent(
    resident_a, resident_b, officer, proposal, voting_area
):
    now = timezone.now()

    def event(**fields):
        return ProposalEvent.objects.create(
            **{
                "proposal": proposal,
                "actor": officer,
                "actor_is_officer": True,
                "kind": Kind.REVIEWED,
                "from_status": ProposalStatus.SUBMITTED,
                "to_status": ProposalStatus.FEASIBLE,
                "at": now - timedelta(days=1),
            }
            | fields
        )

    event(notified_at=now - timedelta(hours=20))  # emailed under the old outbox
    unsent = event()
    event(actor=resident_a, actor_is_officer=False, kind=Kind.EDITED)  # the author's own

    def ballot(voter, round_area, code, **fields):
        return Ballot.objects.create(
            round_area=round_area,
            voter=voter,
            channel=BallotChannel.ONLINE,
            receipt_code=code,
            cast_at=now - timedelta(hours=2),
            changed_at=now - timedelta(hours=1),
            **fields,
        )

    other_area = RoundAreaFactory(
        budget_round=voting_area.budget_round, area=resident_b.resident_profile.area
    )
    ballot(resident_a, voting_area, "AAAA-AAAA-AAAA-AAAA", receipt_emailed_at=now)  # sent
    waiting = ballot(resident_b, other_area, "BBBB-BBBB-BBBB-BBBB")  # never sent

    outbox_items_from_events(apps, None)
    outbox_items_from_ballots(apps, None)

    assert sorted(OutboxEmail.objects.values_list("kind", "params")) == [
        ("ballot_receipt", {"ballot_id": waiting.pk, "changed": True, "paper": False}),
        ("proposal_decision", {"event_id": unsent.pk}),
    ]
    assert outbox_sweep(now=timezone.now()) == 2
    assert sorted(email.to[0] for email in mail.outbox) == sorted(
        [resident_a.email, resident_b.email]
    )
    (decision,) = [email for email in mail.outbox if email.to == [resident_a.email]]
    assert "Feasible" in decision.subject
    (receipt,) = [email for email in mail.outbox if email.to == [resident_b.email]]
    assert "BBBB-BBBB-BBBB-BBBB" in receipt.body and "changed vote" in receipt.body
    assert "AAAA-AAAA-AAAA-AAAA" not in "".join(email.body for email in mail.outbox)


def test_the_demo_queues_no_email_for_its_made_up_history(db):
    call_command("seed_demo", allow_without_debug=True, stdout=io.StringIO())

    assert OutboxEmail.objects.exists()  # its services did queue them...
    assert outbox_due_ids(now=timezone.now() + timedelta(days=1)) == []  # ...all cancelled


def test_an_email_goes_to_the_address_the_account_has_when_it_is_sent(
    resident_a, voting_area, enqueued, django_capture_on_commit_callbacks
):
    vote(resident_a, voting_area, django_capture_on_commit_callbacks)
    resident_a.email = "alex.new@example.org"
    resident_a.save()

    assert outbox_sweep(now=timezone.now()) == 1
    assert mail.outbox[0].to == ["alex.new@example.org"]


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_of_eight_senders_racing_for_one_email_exactly_one_sends_it():
    user = UserFactory(email="racer@example.org")
    now = timezone.now()
    item = OutboxEmail.objects.create(
        kind="proposal_decision",
        recipient=user,
        to_email=user.email,
        template_name="proposals/email/status_changed",
        params={"event_id": 0},
        language="en-gb",
        created_at=now,
        next_try_at=now,
    )
    barrier = threading.Barrier(8)
    results: list[object] = [None] * 8

    def sender(i: int) -> None:
        try:
            barrier.wait()
            results[i] = outbox_claim(item_id=item.pk, now=now)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sender, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(results, key=str) == [False] * 7 + [True]
