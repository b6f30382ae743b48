"""Delivery residents can follow: officers keep a plan of milestones for each funded
proposal (planned and reached dates, progress); a new planned date needs a public reason
kept in the history; a milestone past its planned date and not reached is late; the
proposal page shows milestones and progress notes as one timeline. Wrong roles change
nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from ledgers.models import DeliveryStatus, Milestone, MilestoneChange, MilestoneChangeKind
from ledgers.services import delivery_update_record, milestone_add, milestone_update
from pb_platform.policies import PolicyDenied
from tests.conftest import client_for

TODAY = timezone.localdate()


def add(officer, proposal, title="Benches ordered", planned_on=None):
    return milestone_add(
        officer=officer,
        proposal=proposal,
        title=title,
        planned_on=planned_on or TODAY + timedelta(days=30),
        today=TODAY,
        now=timezone.now(),
    )


def update(officer, milestone, **fields):
    values = {
        "progress": milestone.progress,
        "done_on": milestone.done_on,
        "planned_on": milestone.planned_on,
        "reason": "",
    }
    values.update(fields)
    return milestone_update(
        officer=officer, milestone=milestone, today=TODAY, now=timezone.now(), **values
    )


def test_an_officer_plans_progresses_and_reaches_a_milestone(parks, officer):
    _round, proposals = parks
    milestone = add(officer, proposals["Trees"])
    milestone = update(officer, milestone, progress=40)
    milestone = update(officer, milestone, done_on=TODAY)
    assert (milestone.progress, milestone.done_on) == (100, TODAY)
    kinds = list(milestone.changes.values_list("kind", "progress_to"))
    assert kinds == [
        (MilestoneChangeKind.PLANNED, 0),
        (MilestoneChangeKind.PROGRESS, 40),
        (MilestoneChangeKind.REACHED, 100),
    ]


def test_a_new_planned_date_needs_a_reason_kept_in_the_history(parks, officer):
    _round, proposals = parks
    milestone = add(officer, proposals["Trees"])
    later = milestone.planned_on + timedelta(days=21)
    with pytest.raises(ValidationError) as error:
        update(officer, milestone, planned_on=later)
    assert set(error.value.message_dict) == {"reason"}
    milestone.refresh_from_db()
    assert milestone.planned_on == TODAY + timedelta(days=30)
    update(officer, milestone, planned_on=later, reason="The supplier is three weeks late.")
    change = milestone.changes.get(kind=MilestoneChangeKind.REPLANNED)
    assert (change.planned_from, change.planned_to, change.reason) == (
        TODAY + timedelta(days=30),
        later,
        "The supplier is three weeks late.",
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        MilestoneChange.objects.create(
            milestone=milestone,
            kind=MilestoneChangeKind.REPLANNED,
            planned_from=TODAY,
            planned_to=later,
            changed_by=officer,
            changed_at=timezone.now(),
        )


def test_bad_input_is_refused_on_the_field_and_changes_nothing(parks, officer):
    _round, proposals = parks
    with pytest.raises(ValidationError) as error:
        add(officer, proposals["Trees"], title=" ", planned_on=TODAY.replace(year=TODAY.year + 40))
    assert set(error.value.message_dict) == {"title", "planned_on"}
    milestone = add(officer, proposals["Trees"])
    with pytest.raises(ValidationError) as error:
        update(officer, milestone, done_on=TODAY + timedelta(days=1))
    assert set(error.value.message_dict) == {"done_on"}
    with pytest.raises(ValidationError, match="Nothing changed"):
        update(officer, milestone)
    milestone.refresh_from_db()
    assert (milestone.progress, milestone.done_on) == (0, None)
    with pytest.raises(IntegrityError), transaction.atomic():
        Milestone.objects.filter(pk=milestone.pk).update(done_on=TODAY, progress=50)


@pytest.mark.parametrize("persona", ["resident_a", "auditor"])
def test_only_officers_keep_the_plan(request, persona, parks, officer):
    _round, proposals = parks
    user = request.getfixturevalue(persona)
    with pytest.raises(PolicyDenied):
        add(user, proposals["Trees"])
    milestone = add(officer, proposals["Trees"])
    with pytest.raises(PolicyDenied):
        update(user, milestone, progress=50)
    milestone.refresh_from_db()
    assert milestone.progress == 0 and Milestone.objects.count() == 1


def test_a_proposal_that_was_not_funded_has_no_plan(parks, officer):
    _round, proposals = parks
    with pytest.raises(PolicyDenied, match="was not funded"):
        add(officer, proposals["Lights"])


def test_the_public_page_shows_one_timeline_with_late_milestones_flagged(parks, officer, client):
    _round, proposals = parks
    trees = proposals["Trees"]
    ordered = add(officer, trees, "Saplings ordered", TODAY + timedelta(days=10))
    update(officer, ordered, done_on=TODAY - timedelta(days=2))
    late = add(officer, trees, "Ground prepared", TODAY + timedelta(days=5))
    Milestone.objects.filter(pk=late.pk).update(planned_on=TODAY - timedelta(days=1))
    delivery_update_record(
        officer=officer,
        proposal=trees,
        status=DeliveryStatus.IN_PROGRESS,
        note="Work started on Mill Lane.",
        happened_on=TODAY - timedelta(days=3),
        today=TODAY,
        now=timezone.now(),
    )
    replanned = add(officer, trees, "Trees planted", TODAY + timedelta(days=40))
    update(officer, replanned, planned_on=TODAY + timedelta(days=60), reason="Planting season.")
    text = client.get(trees.get_absolute_url()).text
    order = [text.index(s) for s in ("Work started", "Saplings ordered", "Ground prepared")]
    assert order == sorted(order)  # one history, by date
    assert "1 milestone late" in text and "Late</strong>" in text
    assert "In progress" in text and "“Planting season.”" in text
    assert "reached on" in text
    officer_page = client_for(officer).get(reverse("ledgers:officer_proposal", args=[trees.pk]))
    assert officer_page.text.count("Late</strong>") == 1  # the same rule on the officer's page


def test_officer_pages_add_and_update_milestones_and_refuse_others(parks, officer, resident_a):
    _round, proposals = parks
    trees = proposals["Trees"]
    page = reverse("ledgers:officer_proposal", args=[trees.pk])
    officer_client = client_for(officer)
    response = officer_client.post(
        page,
        {"form": "milestone", "milestone-title": "", "milestone-planned_on": "tomorrow"},
    )
    assert response.status_code == 200 and not Milestone.objects.exists()
    planned = (TODAY + timedelta(days=9)).isoformat()
    response = officer_client.post(
        page,
        {
            "form": "milestone",
            "milestone-title": "Benches ordered",
            "milestone-planned_on": planned,
        },
    )
    assert response.status_code == 302
    milestone = Milestone.objects.get()
    edit = reverse("ledgers:officer_milestone", args=[milestone.pk])
    assert "Benches ordered" in officer_client.get(page).text
    response = officer_client.post(edit, {"progress": "60", "planned_on": planned, "reason": ""})
    assert response.status_code == 302
    milestone.refresh_from_db()
    assert milestone.progress == 60
    response = client_for(resident_a).post(edit, {"progress": "90", "planned_on": planned})
    assert response.status_code == 403
    milestone.refresh_from_db()
    assert milestone.progress == 60


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_pages_make_the_same_queries_with_2_and_20_milestones(parks, officer, client):
    _round, proposals = parks
    counts = []
    for proposal, size in ((proposals["Trees"], 2), (proposals["Benches"], 20)):
        for n in range(size):
            milestone = add(officer, proposal, f"Step {n}", TODAY + timedelta(days=n + 1))
            update(
                officer,
                milestone,
                planned_on=milestone.planned_on + timedelta(days=3),
                reason="Later.",
            )
        first = proposal.milestones.first()
        counts.append(
            (
                _queries(client, proposal.get_absolute_url()),
                _queries(
                    client_for(officer), reverse("ledgers:officer_proposal", args=[proposal.pk])
                ),
                _queries(
                    client_for(officer), reverse("ledgers:officer_milestone", args=[first.pk])
                ),
            )
        )
    assert counts[0] == counts[1]


# --- Following the delivery ---------------------------------------------------------------


def test_a_follower_is_emailed_each_milestone_change_and_progress_note(
    parks, officer, resident_a, monkeypatch, settings, django_capture_on_commit_callbacks
):
    from django.core import mail

    from ledgers.services import delivery_follow, delivery_unfollow
    from pb_platform.tasks import send_outbox_email

    settings.SITE_URL = "https://pb.example.org"
    monkeypatch.setattr(
        send_outbox_email, "delay", lambda item_id: send_outbox_email.apply(args=[item_id])
    )
    _round, proposals = parks
    trees = proposals["Trees"]
    assert delivery_follow(user=resident_a, proposal=trees, now=timezone.now())
    assert not delivery_follow(user=resident_a, proposal=trees, now=timezone.now())  # once
    with django_capture_on_commit_callbacks(execute=True):
        milestone = add(officer, trees, "Saplings ordered")
        update(officer, milestone, planned_on=TODAY + timedelta(days=50), reason="Frost.")
        delivery_update_record(
            officer=officer,
            proposal=trees,
            status=DeliveryStatus.IN_PROGRESS,
            note="Work started.",
            happened_on=TODAY,
            today=TODAY,
            now=timezone.now(),
        )
    assert [m.to for m in mail.outbox] == [[resident_a.email]] * 3
    planned, moved, note = (m.body for m in mail.outbox)
    assert "Saplings ordered: planned for" in planned
    assert "moved from" in moved and "Why: Frost." in moved
    assert "In progress" in note and "Work started." in note
    assert f"https://pb.example.org{trees.get_absolute_url()}#money-title" in note
    delivery_unfollow(user=resident_a, proposal=trees)
    mail.outbox.clear()
    milestone.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        update(officer, milestone, progress=30)
    assert mail.outbox == []


def test_following_from_the_page(parks, resident_a, client):
    from ledgers.models import DeliveryFollower

    _round, proposals = parks
    trees, lights = proposals["Trees"], proposals["Lights"]
    assert "Sign in to follow its delivery" in client.get(trees.get_absolute_url()).text
    follow = reverse("ledgers:proposal_follow", args=[trees.pk])
    assert client.post(follow, {"action": "follow"}).status_code == 302  # to sign in
    assert not DeliveryFollower.objects.exists()
    resident = client_for(resident_a)
    assert "Follow its delivery by email" in resident.get(trees.get_absolute_url()).text
    resident.post(follow, {"action": "follow"})
    assert DeliveryFollower.objects.filter(user=resident_a, proposal=trees).exists()
    assert "Stop following" in resident.get(trees.get_absolute_url()).text
    not_funded = resident.post(reverse("ledgers:proposal_follow", args=[lights.pk]))
    assert not_funded.status_code == 403
    resident.post(follow, {"action": "unfollow"})
    assert not DeliveryFollower.objects.exists()


def test_residents_choose_whether_they_get_delivery_news(resident_a):
    page = client_for(resident_a).get(reverse("email_preferences")).text
    assert 'name="delivery_news"' in page
