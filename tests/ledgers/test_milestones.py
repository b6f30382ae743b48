"""Delivery residents can follow: officers keep a plan of milestones for each funded
proposal (planned and reached dates, progress); a new planned date needs a public reason
kept in the history; a milestone past its planned date and not reached is late; the
proposal page shows milestones and progress notes as one timeline, with each milestone's
photo (re-encoded like proposal images, always described for people who cannot see it).
Wrong roles change nothing."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from PIL import Image

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
        # Every step with a photo: its address comes from the row, not a query per photo.
        proposal.milestones.update(photo="milestones/2026/05/step.png", photo_alt="A step.")
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


# --- Photos of the work ------------------------------------------------------------------


@pytest.fixture
def media(settings, tmp_path):
    """Uploads go to a throwaway folder, never the project's media/."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def files_under(path) -> list:
    return [p for p in path.rglob("*") if p.is_file()]


def photo(name="benches.png", colour=(20, 120, 60), trailer=b"") -> SimpleUploadedFile:
    """A small PNG with a text chunk (metadata) and ``trailer`` after its end."""
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "taken at 1 Secret Lane")
    buffer = io.BytesIO()
    Image.new("RGB", (8, 6), colour).save(buffer, format="PNG", pnginfo=info)
    return SimpleUploadedFile(name, buffer.getvalue() + trailer, "image/png")


UNDESCRIBED = ["Describe what the photo shows for people who cannot see it."]


def test_a_described_photo_is_re_encoded_shown_on_the_timeline_and_served(parks, officer, media):
    _round, proposals = parks
    trees = proposals["Trees"]
    page = reverse("ledgers:officer_proposal", args=[trees.pk])
    form = client_for(officer).get(page).text
    assert 'enctype="multipart/form-data"' in form
    assert "Describe what the photo shows for people who cannot see it." in form

    response = client_for(officer).post(
        page,
        {
            "form": "milestone",
            "milestone-title": "Saplings delivered",
            "milestone-planned_on": (TODAY + timedelta(days=9)).isoformat(),
            "milestone-photo": photo(trailer=b"<html><script>alert(1)</script></html>"),
            "milestone-photo_alt": "Forty saplings on a trailer by the pond",
        },
    )

    assert response.status_code == 302
    milestone = Milestone.objects.get()
    assert milestone.photo_alt == "Forty saplings on a trailer by the pond"
    with default_storage.open(milestone.photo.name) as handle:
        stored = handle.read()
    assert b"<script>" not in stored and b"Secret Lane" not in stored  # only pixels kept
    with Image.open(io.BytesIO(stored)) as picture:
        assert (picture.format, picture.size) == ("PNG", (8, 6))
    text = Client().get(trees.get_absolute_url()).text
    assert (
        f'<img src="{escape(milestone.photo.url)}" '
        'alt="Forty saplings on a trailer by the pond" loading="lazy">'
    ) in text
    served = Client().get(milestone.photo.url)
    assert served.status_code == 200
    assert served["Content-Type"] == "image/png"
    assert served["Cache-Control"] == "public, max-age=3600"
    assert b"".join(served.streaming_content) == stored


def test_a_photo_without_a_description_is_refused_on_that_field_and_nothing_is_saved(
    parks, officer, media
):
    _round, proposals = parks
    with pytest.raises(ValidationError) as error:
        milestone_add(
            officer=officer,
            proposal=proposals["Trees"],
            title="Benches ordered",
            planned_on=TODAY + timedelta(days=30),
            today=TODAY,
            now=timezone.now(),
            photo=photo(),
            photo_alt="   ",
        )
    assert error.value.message_dict == {"photo_alt": UNDESCRIBED}

    response = client_for(officer).post(
        reverse("ledgers:officer_proposal", args=[proposals["Trees"].pk]),
        {
            "form": "milestone",
            "milestone-title": "Benches ordered",
            "milestone-planned_on": (TODAY + timedelta(days=9)).isoformat(),
            "milestone-photo": photo(),
            "milestone-photo_alt": "",
        },
    )
    assert response.status_code == 200
    assert response.context["forms"]["milestone"].errors["photo_alt"] == UNDESCRIBED
    assert 'id="id_milestone-photo_alt_error"' in response.text
    assert not Milestone.objects.exists()
    assert files_under(media) == []


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (SimpleUploadedFile("notes.png", b"just some text", "image/png"), "not an image we can"),
        (photo(name="page.html"), "Use a JPEG, PNG or WebP image."),
    ],
)
def test_a_file_that_is_not_an_image_is_refused(parks, officer, media, upload, message):
    _round, proposals = parks
    with pytest.raises(ValidationError) as error:
        milestone_add(
            officer=officer,
            proposal=proposals["Trees"],
            title="Benches ordered",
            planned_on=TODAY + timedelta(days=30),
            today=TODAY,
            now=timezone.now(),
            photo=upload,
            photo_alt="A bench.",
        )
    assert set(error.value.message_dict) == {"photo"}
    assert message in error.value.message_dict["photo"][0]
    assert not Milestone.objects.exists()
    assert files_under(media) == []


def test_the_officer_replaces_redescribes_and_removes_the_photo(parks, officer, media):
    _round, proposals = parks
    milestone = add(officer, proposals["Trees"])
    edit = reverse("ledgers:officer_milestone", args=[milestone.pk])
    kept = {"progress": "0", "planned_on": milestone.planned_on.isoformat(), "reason": ""}
    officer_client = client_for(officer)
    assert 'enctype="multipart/form-data"' in officer_client.get(edit).text

    response = officer_client.post(
        edit, {**kept, "photo": photo(colour=(200, 0, 0)), "photo_alt": "Red fence."}
    )
    assert response.status_code == 302
    milestone.refresh_from_db()
    first_url = milestone.photo.url
    assert milestone.photo_alt == "Red fence."

    response = officer_client.post(
        edit, {**kept, "photo": photo(colour=(0, 0, 200)), "photo_alt": "Blue fence."}
    )
    assert response.status_code == 302
    milestone.refresh_from_db()
    assert milestone.photo.url != first_url
    assert Client().get(first_url).status_code == 404  # replaced: no longer served
    assert Client().get(milestone.photo.url).status_code == 200

    # Only the description: allowed, and not a change of the plan's history.
    response = officer_client.post(edit, {**kept, "photo_alt": "A blue fence by the gate."})
    assert response.status_code == 302
    milestone.refresh_from_db()
    assert milestone.photo_alt == "A blue fence by the gate."
    assert milestone.changes.count() == 1  # planned, nothing else

    # A kept photo still needs its description.
    response = officer_client.post(edit, {**kept, "photo_alt": ""})
    assert response.status_code == 200
    assert response.context["form"].errors["photo_alt"] == UNDESCRIBED

    second_url = milestone.photo.url
    response = officer_client.post(edit, {**kept, "photo-clear": "on", "photo_alt": "x"})
    assert response.status_code == 302
    milestone.refresh_from_db()
    assert (milestone.photo.name, milestone.photo_alt) == ("", "")
    assert Client().get(second_url).status_code == 404
    assert "<img" not in Client().get(proposals["Trees"].get_absolute_url()).text


def test_the_services_replace_and_remove_the_photo(parks, officer, media):
    _round, proposals = parks
    milestone = add(officer, proposals["Trees"])
    milestone = update(officer, milestone, photo=photo(), photo_alt="The pond.")
    first = milestone.photo.name
    milestone = update(officer, milestone, photo=photo(colour=(1, 2, 3)))  # keeps the text
    assert milestone.photo.name != first and milestone.photo_alt == "The pond."
    with pytest.raises(ValidationError, match="Nothing changed"):
        update(officer, milestone, photo_alt="The pond.")
    milestone = update(officer, milestone, remove_photo=True)
    assert (milestone.photo.name, milestone.photo_alt) == ("", "")


@pytest.mark.parametrize("persona", ["resident_a", "anonymous"])
def test_others_posting_a_photo_to_the_officer_pages_change_nothing(
    request, persona, parks, officer, media
):
    _round, proposals = parks
    trees = proposals["Trees"]
    milestone = add(officer, trees)
    client = Client() if persona == "anonymous" else client_for(request.getfixturevalue(persona))

    added = client.post(
        reverse("ledgers:officer_proposal", args=[trees.pk]),
        {
            "form": "milestone",
            "milestone-title": "Fake step",
            "milestone-planned_on": (TODAY + timedelta(days=9)).isoformat(),
            "milestone-photo": photo(),
            "milestone-photo_alt": "Not ours.",
        },
    )
    edited = client.post(
        reverse("ledgers:officer_milestone", args=[milestone.pk]),
        {
            "progress": "0",
            "planned_on": milestone.planned_on.isoformat(),
            "photo": photo(),
            "photo_alt": "Not ours.",
        },
    )

    expected = 302 if persona == "anonymous" else 403  # visitors are sent to sign in
    assert (added.status_code, edited.status_code) == (expected, expected)
    if persona == "anonymous":
        assert added["Location"].startswith(reverse("account_login"))
    milestone.refresh_from_db()
    assert Milestone.objects.count() == 1
    assert (milestone.photo.name, milestone.photo_alt) == ("", "")
    assert files_under(media) == []


def test_the_database_refuses_a_photo_without_a_description(parks, officer):
    _round, proposals = parks
    milestone = add(officer, proposals["Trees"])
    with pytest.raises(IntegrityError), transaction.atomic():
        Milestone.objects.filter(pk=milestone.pk).update(photo="milestones/a.png", photo_alt="")
    milestone.refresh_from_db()
    assert milestone.photo.name == ""


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
