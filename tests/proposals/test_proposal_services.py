"""Residents submit, edit and withdraw ideas while submission is open; officers review
them. Every refusal says why (or is a PermissionDenied) and leaves the database as it was;
every status change leaves a line in the proposal's history."""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from PIL import Image

from pb_platform.roles import RESIDENT, role_grant
from proposals import services
from proposals.models import Category, Proposal, ProposalEvent, ProposalStatus
from proposals.models.proposals import IMAGE_MAX_BYTES
from proposals.phases import Phase
from proposals.services import ProposalContent
from tests.factories import (
    BudgetRoundFactory,
    CategoryFactory,
    ProposalFactory,
    RoundAreaFactory,
    UserFactory,
)

Kind = ProposalEvent.Kind
S = ProposalStatus
AREA_BUDGET = Decimal("50000.00")


# --- Helpers ----------------------------------------------------------------------------


def image_upload(name: str = "pond.png", image_format: str = "PNG") -> SimpleUploadedFile:
    """A real, tiny picture encoded by Pillow."""
    buffer = io.BytesIO()
    Image.new("RGB", (16, 12), (40, 140, 70)).save(buffer, format=image_format)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type=f"image/{image_format.lower()}")


def png_claiming_huge_dimensions() -> bytes:
    """A few bytes of valid PNG header announcing 30,000 × 30,000 pixels: decoding it
    would need gigabytes (a "decompression bomb")."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", 30_000, 30_000, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b""))
        + chunk(b"IEND", b"")
    )


def db_state() -> dict[str, list[dict]]:
    """Everything a refused action must leave untouched."""
    return {
        "proposals": list(Proposal.objects.order_by("pk").values()),
        "events": list(ProposalEvent.objects.order_by("pk").values()),
        "categories": list(Category.objects.order_by("pk").values()),
    }


def history(proposal: Proposal) -> list[tuple[str, str, str]]:
    return [(e.kind, e.from_status, e.to_status) for e in proposal.events.all()]


def errors_of(excinfo: pytest.ExceptionInfo[ValidationError]) -> dict[str, list[str]]:
    return excinfo.value.message_dict


def files_under(path) -> list:
    return [p for p in path.rglob("*") if p.is_file()]


# --- Fixtures ---------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    """Uploads go to a throwaway folder, never the project's media/."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def submission_round(db):
    return BudgetRoundFactory(phase=Phase.SUBMISSION, name="Parks 2027")


@pytest.fixture
def round_area(submission_round, area_a):
    return RoundAreaFactory(budget_round=submission_round, area=area_a, budget=AREA_BUDGET)


@pytest.fixture
def category(submission_round):
    return CategoryFactory(budget_round=submission_round, name="Parks")


@pytest.fixture
def idea(round_area, category) -> ProposalContent:
    return ProposalContent(
        title="Benches by the pond",
        description="Three benches facing the pond, so older people can rest.",
        round_area=round_area,
        category=category,
        estimated_cost=Decimal("4500.00"),
        location="Victoria Park, north gate",
    )


@pytest.fixture
def my_proposal(submission_round, round_area, resident_a):
    """Resident A's submitted proposal, while submission is still open."""
    return ProposalFactory(budget_round=submission_round, round_area=round_area, author=resident_a)


@pytest.fixture
def review_round(db):
    return BudgetRoundFactory(phase=Phase.REVIEW, name="Streets 2027")


@pytest.fixture
def under_review(review_round, area_a, resident_a):
    """Resident A's submitted proposal, now that the round is in review."""
    return ProposalFactory(
        budget_round=review_round,
        round_area=RoundAreaFactory(budget_round=review_round, area=area_a, budget=AREA_BUDGET),
        author=resident_a,
        estimated_cost=Decimal("12000.00"),
    )


def create(author, content, *, submit=True, budget_round=None, now=None) -> Proposal:
    return services.proposal_create(
        author=author,
        budget_round=budget_round or content.round_area.budget_round,
        content=content,
        submit=submit,
        now=now or timezone.now(),
    )


def review(proposal, officer, *, feasible=True, reason="", cost=Decimal("11000.00"), now=None):
    return services.proposal_review(
        proposal=proposal,
        officer=officer,
        feasible=feasible,
        reason=reason,
        official_cost=cost,
        now=now or timezone.now(),
    )


# --- Submission -------------------------------------------------------------------------


def test_resident_submits_an_idea_and_it_waits_for_review(resident_a, idea, category):
    now = timezone.now()

    proposal = create(resident_a, idea, now=now)

    proposal.refresh_from_db()
    assert proposal.status == S.SUBMITTED
    assert proposal.submitted_at == now
    assert proposal.author == resident_a
    assert proposal.title == "Benches by the pond"
    assert proposal.round_area == idea.round_area
    assert proposal.category == category
    assert proposal.estimated_cost == Decimal("4500.00")
    assert proposal.location == "Victoria Park, north gate"
    assert proposal.official_cost is None
    assert not proposal.on_ballot
    assert history(proposal) == [
        (Kind.CREATED, "", S.DRAFT),
        (Kind.SUBMITTED, S.DRAFT, S.SUBMITTED),
    ]
    assert all(e.actor == resident_a and not e.actor_is_officer for e in proposal.events.all())


def test_resident_saves_a_draft_and_submits_it_later(resident_a, idea):
    draft = create(resident_a, idea, submit=False)
    assert draft.status == S.DRAFT
    assert draft.submitted_at is None
    assert history(draft) == [(Kind.CREATED, "", S.DRAFT)]

    later = timezone.now()
    submitted = services.proposal_update(
        proposal=draft, author=resident_a, content=idea, submit=True, now=later
    )

    submitted.refresh_from_db()
    assert submitted.status == S.SUBMITTED
    assert submitted.submitted_at == later
    assert history(submitted) == [
        (Kind.CREATED, "", S.DRAFT),
        (Kind.EDITED, S.DRAFT, S.DRAFT),
        (Kind.SUBMITTED, S.DRAFT, S.SUBMITTED),
    ]


def test_history_records_each_status_change_once_and_in_order(
    resident_a, officer, idea, submission_round
):
    """Each status-changing line starts where the one before ended, so the history
    reads as one unbroken story of the proposal."""
    proposal = create(resident_a, idea, submit=False)
    proposal = services.proposal_update(
        proposal=proposal, author=resident_a, content=idea, submit=True, now=timezone.now()
    )
    proposal = services.proposal_return_to_author(
        proposal=proposal, officer=officer, message="Which pond?", now=timezone.now()
    )
    proposal = services.proposal_update(
        proposal=proposal,
        author=resident_a,
        content=replace(idea, description="The pond by the north gate."),
        submit=True,
        now=timezone.now(),
    )
    in_review = submission_round.review_starts + timedelta(minutes=1)
    review(proposal, officer, reason="Fits the parks plan.", now=in_review)

    changes = [(e.from_status, e.to_status) for e in proposal.events.all() if e.changes_status]
    assert changes == [
        ("", S.DRAFT),
        (S.DRAFT, S.SUBMITTED),
        (S.SUBMITTED, S.RETURNED),
        (S.RETURNED, S.SUBMITTED),
        (S.SUBMITTED, S.FEASIBLE),
    ]


def test_text_is_trimmed_and_the_cost_rounded_to_two_places(resident_a, idea):
    proposal = create(
        resident_a,
        replace(
            idea,
            title="  Benches  ",
            description="\n Three benches. \n",
            location=" North gate ",
            estimated_cost=Decimal("12.5"),
        ),
    )
    proposal.refresh_from_db()
    assert (proposal.title, proposal.description, proposal.location) == (
        "Benches",
        "Three benches.",
        "North gate",
    )
    assert str(proposal.estimated_cost) == "12.50"


def test_category_and_location_are_optional(resident_a, idea):
    proposal = create(resident_a, replace(idea, category=None, location=""))
    proposal.refresh_from_db()
    assert proposal.category is None
    assert proposal.location == ""


@pytest.mark.parametrize("cost", [Decimal("0.01"), AREA_BUDGET])
def test_estimates_from_a_penny_up_to_the_whole_area_budget_are_accepted(resident_a, idea, cost):
    proposal = create(resident_a, replace(idea, estimated_cost=cost))
    proposal.refresh_from_db()
    assert proposal.estimated_cost == cost


def test_longest_allowed_texts_are_accepted(resident_a, idea):
    proposal = create(
        resident_a,
        replace(idea, title="t" * 150, description="d" * 5000, location="l" * 200),
    )
    proposal.refresh_from_db()
    assert len(proposal.title) == 150
    assert len(proposal.description) == 5000


def test_markup_in_text_is_stored_exactly_as_typed(resident_a, idea):
    """Plain text: the service neither strips nor escapes tags; templates escape them."""
    title = '<script>alert("title")</script> Benches'
    description = "Nice & quiet <img src=x onerror=alert(1)>\n<b>not bold</b>"
    location = "<script>document.cookie</script>"

    proposal = create(
        resident_a, replace(idea, title=title, description=description, location=location)
    )

    proposal.refresh_from_db()
    assert proposal.title == title
    assert proposal.description == description
    assert proposal.location == location


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"title": ""}, "title", "Give your idea a short title."),
        ({"title": "   \n "}, "title", "Give your idea a short title."),
        ({"title": "t" * 151}, "title", "150 characters or fewer"),
        ({"title": "t" * 100_000}, "title", "150 characters or fewer"),
        ({"title": "Benches\nBcc: everyone@example.org"}, "title", "one line"),
        ({"description": ""}, "description", "Describe your idea."),
        ({"description": "d" * 5001}, "description", "5,000 characters or fewer"),
        ({"location": "l" * 201}, "location", "200 characters or fewer"),
        ({"estimated_cost": Decimal("0")}, "estimated_cost", "more than zero"),
        ({"estimated_cost": Decimal("-0.01")}, "estimated_cost", "more than zero"),
        ({"estimated_cost": Decimal("-5000")}, "estimated_cost", "more than zero"),
        ({"estimated_cost": Decimal("NaN")}, "estimated_cost", "in figures"),
        ({"estimated_cost": Decimal("Infinity")}, "estimated_cost", "in figures"),
        ({"estimated_cost": 4500.0}, "estimated_cost", "in figures"),
        ({"estimated_cost": Decimal("10.001")}, "estimated_cost", "two decimal places"),
        (
            {"estimated_cost": AREA_BUDGET + Decimal("0.01")},
            "estimated_cost",
            "cannot be more than the area's budget of £50,000.00",
        ),
        (
            {"estimated_cost": Decimal("1e30")},
            "estimated_cost",
            "cannot be more than the area's budget of £50,000.00",
        ),
    ],
)
def test_bad_content_is_refused_with_a_message_on_the_field_and_nothing_saved(
    resident_a, idea, overrides, field, message
):
    with pytest.raises(ValidationError) as excinfo:
        create(resident_a, replace(idea, **overrides))

    assert any(message in text for text in errors_of(excinfo)[field])
    assert Proposal.objects.count() == 0
    assert ProposalEvent.objects.count() == 0


def test_every_problem_is_reported_at_once(resident_a, idea):
    with pytest.raises(ValidationError) as excinfo:
        create(resident_a, replace(idea, title="", description="", estimated_cost=Decimal("0")))
    assert set(errors_of(excinfo)) == {"title", "description", "estimated_cost"}


def test_only_the_rounds_own_areas_and_categories_can_be_chosen(resident_a, idea, area_a):
    other_round = BudgetRoundFactory(phase=Phase.SUBMISSION)
    other_area = RoundAreaFactory(budget_round=other_round, area=area_a)
    other_category = CategoryFactory(budget_round=other_round)

    with pytest.raises(ValidationError) as excinfo:
        create(
            resident_a,
            replace(idea, round_area=other_area, category=other_category),
            budget_round=idea.round_area.budget_round,
        )

    assert errors_of(excinfo)["round_area"] == ["Choose one of this round's areas."]
    assert errors_of(excinfo)["category"] == ["Choose one of this round's categories."]
    assert Proposal.objects.count() == 0


def test_a_resident_whose_email_is_not_verified_cannot_submit(resident_a, idea):
    EmailAddress.objects.filter(user=resident_a).update(verified=False)

    with pytest.raises(PermissionDenied):
        create(resident_a, idea)

    assert Proposal.objects.count() == 0
    assert ProposalEvent.objects.count() == 0


def test_a_signed_up_person_without_a_resident_profile_cannot_submit(idea):
    user = UserFactory()
    role_grant(user=user, role=RESIDENT)

    with pytest.raises(PermissionDenied):
        create(user, idea)
    assert Proposal.objects.count() == 0


@pytest.mark.parametrize("who", ["officer", "auditor", "anonymous"])
def test_people_who_are_not_residents_cannot_submit(request, idea, who):
    user = AnonymousUser() if who == "anonymous" else request.getfixturevalue(who)

    with pytest.raises(PermissionDenied):
        create(user, idea)
    assert Proposal.objects.count() == 0


@pytest.mark.parametrize(
    "phase", [Phase.UPCOMING, Phase.REVIEW, Phase.VOTING, Phase.RESULTS, Phase.CLOSED]
)
def test_submitting_outside_the_submission_phase_is_refused(resident_a, area_a, phase):
    budget_round = BudgetRoundFactory(phase=phase)
    content = ProposalContent(
        title="Benches",
        description="By the pond.",
        round_area=RoundAreaFactory(budget_round=budget_round, area=area_a),
        category=None,
        estimated_cost=Decimal("100.00"),
    )

    for submit in (True, False):
        with pytest.raises(PermissionDenied) as excinfo:
            create(resident_a, content, submit=submit)
        assert "Proposal submission in “" in str(excinfo.value)

    assert Proposal.objects.count() == 0


def test_submission_closes_exactly_when_review_starts(resident_a, idea, submission_round):
    closes = submission_round.review_starts

    create(resident_a, idea, now=closes - timedelta(seconds=1))
    with pytest.raises(PermissionDenied) as excinfo:
        create(resident_a, idea, now=closes)

    assert Proposal.objects.count() == 1
    # The message says when submission closed, in words.
    assert str(excinfo.value).startswith("Proposal submission in “Parks 2027” closed on ")


# --- Images -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "image_format"),
    [("pond.png", "PNG"), ("pond.jpg", "JPEG"), ("pond.jpeg", "JPEG"), ("pond.webp", "WEBP")],
)
def test_a_photo_is_stored_with_the_storage_api_and_can_be_read_back(
    resident_a, idea, media, name, image_format
):
    proposal = create(
        resident_a,
        replace(idea, image=image_upload(name, image_format), image_description="A muddy bank."),
    )

    proposal.refresh_from_db()
    stored = proposal.image.name
    assert stored.startswith("proposals/")
    assert default_storage.exists(stored)
    assert (media / stored).is_file()
    with default_storage.open(stored) as handle, Image.open(handle) as picture:
        assert picture.format == image_format
        assert picture.size == (16, 12)
    assert proposal.image_description == "A muddy bank."


def test_an_image_of_exactly_the_size_limit_is_accepted_and_one_byte_more_refused(
    resident_a, idea, media
):
    """A real PNG padded after its end marker to the limit (5 MB); Pillow still reads it."""
    picture = image_upload().read()
    padding = IMAGE_MAX_BYTES - len(picture)

    at_limit = SimpleUploadedFile("at.png", picture + b"\0" * padding, "image/png")
    over = SimpleUploadedFile("over.png", picture + b"\0" * (padding + 1), "image/png")

    with pytest.raises(ValidationError) as excinfo:
        create(resident_a, replace(idea, image=over, image_description="Pond."))
    assert errors_of(excinfo)["image"] == ["The image must be 5 MB or smaller."]
    assert Proposal.objects.count() == 0
    assert files_under(media) == []

    proposal = create(resident_a, replace(idea, image=at_limit, image_description="Pond."))
    # Accepted, and re-encoded: the padding after the end marker is gone.
    assert 0 < proposal.image.size < len(picture) + 100


def test_the_size_limit_is_the_configured_one(resident_a, idea, monkeypatch):
    upload = image_upload()
    monkeypatch.setattr("proposals.services.proposals.IMAGE_MAX_BYTES", upload.size - 1)

    with pytest.raises(ValidationError) as excinfo:
        create(resident_a, replace(idea, image=upload, image_description="Pond."))
    assert "MB or smaller" in errors_of(excinfo)["image"][0]
    assert Proposal.objects.count() == 0


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (
            SimpleUploadedFile("pond.png", b"this is not a picture at all", "image/png"),
            "not an image we can read",
        ),
        (
            SimpleUploadedFile(
                "pond.svg",
                b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
                "image/svg+xml",
            ),
            "not an image we can read",
        ),
        (
            SimpleUploadedFile("empty.png", b"", "image/png"),
            "not an image we can read",
        ),
        (
            SimpleUploadedFile("bomb.png", png_claiming_huge_dimensions(), "image/png"),
            "too many pixels",
        ),
        (image_upload("pond.gif", "GIF"), "Use a JPEG, PNG or WebP image."),
        (image_upload("pond.png", "GIF"), "Use a JPEG, PNG or WebP image."),
        (image_upload("pond.bmp", "BMP"), "Use a JPEG, PNG or WebP image."),
        # Real PNG bytes, but a name the web server would serve as a page or a script.
        (image_upload("pond.html", "PNG"), "Use a JPEG, PNG or WebP image."),
        (image_upload("pond.svg", "PNG"), "Use a JPEG, PNG or WebP image."),
        (image_upload("pond", "PNG"), "Use a JPEG, PNG or WebP image."),
    ],
    ids=[
        "text-named-png",
        "svg",
        "empty",
        "decompression-bomb",
        "gif",
        "gif-named-png",
        "bmp",
        "png-named-html",
        "png-named-svg",
        "no-extension",
    ],
)
def test_files_that_are_not_accepted_photos_are_refused_and_nothing_is_stored(
    resident_a, idea, media, upload, message
):
    upload.seek(0)  # the parametrised upload object may have been read by an earlier run

    with pytest.raises(ValidationError) as excinfo:
        create(resident_a, replace(idea, image=upload, image_description="Pond."))

    assert any(message in text for text in errors_of(excinfo)["image"])
    assert Proposal.objects.count() == 0
    assert files_under(media) == []


def test_an_image_needs_a_description_for_people_who_cannot_see_it(resident_a, idea, media):
    with pytest.raises(ValidationError) as excinfo:
        create(resident_a, replace(idea, image=image_upload(), image_description="  "))

    assert errors_of(excinfo)["image_description"] == [
        "Describe the image for people who cannot see it."
    ]
    assert Proposal.objects.count() == 0
    assert files_under(media) == []


def test_author_replaces_and_then_removes_the_photo(resident_a, idea):
    proposal = create(
        resident_a, replace(idea, image=image_upload("first.png"), image_description="Before.")
    )
    first = proposal.image.name

    proposal = services.proposal_update(
        proposal=proposal,
        author=resident_a,
        content=replace(idea, image=image_upload("second.jpg", "JPEG"), image_description="After."),
        submit=True,
        now=timezone.now(),
    )
    proposal.refresh_from_db()
    assert proposal.image.name != first
    assert proposal.image.name.endswith(".jpg")
    assert default_storage.exists(proposal.image.name)
    assert proposal.image_description == "After."

    proposal = services.proposal_update(
        proposal=proposal,
        author=resident_a,
        content=replace(idea, remove_image=True),
        submit=True,
        now=timezone.now(),
    )
    proposal.refresh_from_db()
    assert not proposal.image
    assert proposal.image_description == ""


def test_editing_without_a_new_upload_keeps_the_photo(resident_a, idea):
    proposal = create(resident_a, replace(idea, image=image_upload(), image_description="Pond."))
    kept = proposal.image.name

    services.proposal_update(
        proposal=proposal,
        author=resident_a,
        content=replace(idea, title="Two benches", image_description="The pond in May."),
        submit=True,
        now=timezone.now(),
    )

    proposal.refresh_from_db()
    assert proposal.title == "Two benches"
    assert proposal.image.name == kept
    assert proposal.image_description == "The pond in May."


def test_clearing_the_description_of_a_kept_photo_is_refused_with_a_message(resident_a, idea):
    proposal = create(resident_a, replace(idea, image=image_upload(), image_description="Pond."))
    before = db_state()

    with pytest.raises(ValidationError) as excinfo:
        services.proposal_update(
            proposal=proposal,
            author=resident_a,
            content=replace(idea, image_description=""),
            submit=True,
            now=timezone.now(),
        )

    assert errors_of(excinfo)["image_description"] == [
        "Describe the image for people who cannot see it."
    ]
    assert db_state() == before


# --- Editing and withdrawing ------------------------------------------------------------


def test_author_edits_a_submitted_proposal_while_submission_is_open(resident_a, my_proposal, idea):
    services.proposal_update(
        proposal=my_proposal,
        author=resident_a,
        content=replace(idea, title="Four benches", estimated_cost=Decimal("6000")),
        submit=False,
        now=timezone.now(),
    )

    my_proposal.refresh_from_db()
    assert my_proposal.title == "Four benches"
    assert my_proposal.estimated_cost == Decimal("6000.00")
    assert my_proposal.status == S.SUBMITTED  # editing does not take it out of the queue
    assert history(my_proposal) == [(Kind.EDITED, S.SUBMITTED, S.SUBMITTED)]
    assert my_proposal.events.get().actor == resident_a


def test_author_withdraws_and_can_then_no_longer_change_it(resident_a, my_proposal, idea):
    services.proposal_withdraw(proposal=my_proposal, author=resident_a, now=timezone.now())

    my_proposal.refresh_from_db()
    assert my_proposal.status == S.WITHDRAWN
    assert history(my_proposal) == [(Kind.WITHDRAWN, S.SUBMITTED, S.WITHDRAWN)]
    before = db_state()

    with pytest.raises(PermissionDenied) as excinfo:
        services.proposal_update(
            proposal=my_proposal, author=resident_a, content=idea, submit=True, now=timezone.now()
        )
    assert "can no longer be changed" in str(excinfo.value)
    with pytest.raises(PermissionDenied):
        services.proposal_withdraw(proposal=my_proposal, author=resident_a, now=timezone.now())
    assert db_state() == before


def test_author_can_withdraw_a_draft(resident_a, idea):
    draft = create(resident_a, idea, submit=False)
    services.proposal_withdraw(proposal=draft, author=resident_a, now=timezone.now())
    draft.refresh_from_db()
    assert draft.status == S.WITHDRAWN


@pytest.mark.parametrize("who", ["resident_b", "officer", "auditor", "anonymous"])
def test_nobody_but_the_author_can_edit_or_withdraw(request, my_proposal, idea, who):
    user = AnonymousUser() if who == "anonymous" else request.getfixturevalue(who)
    before = db_state()

    with pytest.raises(PermissionDenied):
        services.proposal_update(
            proposal=my_proposal,
            author=user,
            content=replace(idea, title="Hijacked"),
            submit=True,
            now=timezone.now(),
        )
    with pytest.raises(PermissionDenied):
        services.proposal_withdraw(proposal=my_proposal, author=user, now=timezone.now())

    assert db_state() == before


@pytest.mark.parametrize("phase", [Phase.VOTING, Phase.CLOSED])
def test_after_review_ends_the_proposal_is_read_only_for_its_author(resident_a, area_a, phase):
    budget_round = BudgetRoundFactory(phase=phase)
    proposal = ProposalFactory(
        budget_round=budget_round,
        round_area=RoundAreaFactory(budget_round=budget_round, area=area_a),
        author=resident_a,
    )
    content = ProposalContent(
        title="Changed",
        description="Changed.",
        round_area=proposal.round_area,
        category=None,
        estimated_cost=Decimal("10.00"),
    )
    before = db_state()

    with pytest.raises(PermissionDenied) as excinfo:
        services.proposal_update(
            proposal=proposal, author=resident_a, content=content, submit=True, now=timezone.now()
        )
    assert "Changing proposals in “" in str(excinfo.value)
    with pytest.raises(PermissionDenied):
        services.proposal_withdraw(proposal=proposal, author=resident_a, now=timezone.now())

    assert db_state() == before


def test_edits_close_exactly_when_voting_starts(resident_a, my_proposal, idea, submission_round):
    closes = submission_round.voting_starts
    services.proposal_update(
        proposal=my_proposal,
        author=resident_a,
        content=replace(idea, title="Last-minute title"),
        submit=True,
        now=closes - timedelta(seconds=1),
    )
    before = db_state()

    with pytest.raises(PermissionDenied):
        services.proposal_update(
            proposal=my_proposal,
            author=resident_a,
            content=replace(idea, title="Too late"),
            submit=True,
            now=closes,
        )
    # Withdrawing closed earlier, with submission.
    with pytest.raises(PermissionDenied):
        services.proposal_withdraw(
            proposal=my_proposal, author=resident_a, now=submission_round.review_starts
        )

    assert db_state() == before
    my_proposal.refresh_from_db()
    assert my_proposal.title == "Last-minute title"


def test_an_edit_with_bad_content_changes_nothing(resident_a, my_proposal, idea):
    before = db_state()

    with pytest.raises(ValidationError) as excinfo:
        services.proposal_update(
            proposal=my_proposal,
            author=resident_a,
            content=replace(idea, title="", estimated_cost=AREA_BUDGET + 1),
            submit=True,
            now=timezone.now(),
        )

    assert set(errors_of(excinfo)) == {"title", "estimated_cost"}
    assert db_state() == before


@pytest.mark.parametrize("status", [S.FEASIBLE, S.NOT_FEASIBLE, S.WITHDRAWN])
def test_decided_or_withdrawn_proposals_cannot_be_edited(
    resident_a, submission_round, round_area, idea, status
):
    proposal = ProposalFactory(
        budget_round=submission_round, round_area=round_area, author=resident_a, status=status
    )
    before = db_state()

    with pytest.raises(PermissionDenied) as excinfo:
        services.proposal_update(
            proposal=proposal, author=resident_a, content=idea, submit=True, now=timezone.now()
        )

    assert "can no longer be changed" in str(excinfo.value)
    assert db_state() == before


# --- Officer review ---------------------------------------------------------------------


def test_officer_marks_feasible_with_an_official_cost_and_it_goes_on_the_ballot(
    officer, under_review
):
    now = timezone.now()

    review(under_review, officer, reason="Fits the streets plan.", cost=Decimal("11250.5"), now=now)

    under_review.refresh_from_db()
    assert under_review.status == S.FEASIBLE
    assert under_review.official_cost == Decimal("11250.50")
    assert under_review.status_reason == "Fits the streets plan."
    assert under_review.on_ballot
    event = under_review.events.get()
    assert (event.kind, event.from_status, event.to_status) == (
        Kind.REVIEWED,
        S.SUBMITTED,
        S.FEASIBLE,
    )
    assert event.actor == officer
    assert event.actor_is_officer
    assert event.at == now
    assert event.reason == "Fits the streets plan."
    assert event.official_cost == Decimal("11250.50")


def test_officer_marks_not_feasible_with_a_public_reason_and_it_stays_off_the_ballot(
    officer, under_review
):
    review(under_review, officer, feasible=False, reason="The land is private.", cost=None)

    under_review.refresh_from_db()
    assert under_review.status == S.NOT_FEASIBLE
    assert under_review.official_cost is None
    assert under_review.status_reason == "The land is private."
    assert not under_review.on_ballot
    event = under_review.events.get()
    assert (event.from_status, event.to_status, event.reason) == (
        S.SUBMITTED,
        S.NOT_FEASIBLE,
        "The land is private.",
    )
    assert event.official_cost is None


def test_a_cost_given_with_not_feasible_is_not_kept(officer, under_review):
    review(under_review, officer, feasible=False, reason="No.", cost=Decimal("500.00"))
    under_review.refresh_from_db()
    assert under_review.official_cost is None
    assert not under_review.on_ballot


def test_officer_corrects_a_decision_and_every_decision_stays_in_the_history(officer, under_review):
    review(under_review, officer, cost=Decimal("11000.00"), reason="First look.")
    review(under_review, officer, feasible=False, reason="Turns out the land is private.")
    review(under_review, officer, cost=Decimal("9000.00"), reason="Council bought the land.")

    under_review.refresh_from_db()
    assert under_review.status == S.FEASIBLE
    assert under_review.official_cost == Decimal("9000.00")
    assert [(e.from_status, e.to_status, e.official_cost) for e in under_review.events.all()] == [
        (S.SUBMITTED, S.FEASIBLE, Decimal("11000.00")),
        (S.FEASIBLE, S.NOT_FEASIBLE, None),
        (S.NOT_FEASIBLE, S.FEASIBLE, Decimal("9000.00")),
    ]


def test_official_cost_may_be_the_whole_area_budget(officer, under_review):
    review(under_review, officer, cost=AREA_BUDGET)
    under_review.refresh_from_db()
    assert under_review.official_cost == AREA_BUDGET


@pytest.mark.parametrize(
    ("feasible", "reason", "cost", "field", "message"),
    [
        (False, "", None, "reason", "Give a reason"),
        (False, "   ", None, "reason", "Give a reason"),
        (False, "r" * 2001, None, "reason", "2,000 characters or fewer"),
        (True, "", None, "official_cost", "Feasible proposals need an official cost."),
        (True, "", Decimal("0"), "official_cost", "more than zero"),
        (True, "", Decimal("-100.00"), "official_cost", "more than zero"),
        (True, "", Decimal("NaN"), "official_cost", "in figures"),
        (True, "", Decimal("99.999"), "official_cost", "two decimal places"),
        (
            True,
            "",
            AREA_BUDGET + Decimal("0.01"),
            "official_cost",
            "cannot be more than the area's budget of £50,000.00",
        ),
        (
            True,
            "",
            Decimal("1e30"),
            "official_cost",
            "cannot be more than the area's budget of £50,000.00",
        ),
    ],
)
def test_bad_review_input_is_refused_with_a_message_and_nothing_changes(
    officer, under_review, feasible, reason, cost, field, message
):
    before = db_state()

    with pytest.raises(ValidationError) as excinfo:
        review(under_review, officer, feasible=feasible, reason=reason, cost=cost)

    assert any(message in text for text in errors_of(excinfo)[field])
    assert db_state() == before


@pytest.mark.parametrize("who", ["resident_a", "resident_b", "auditor", "anonymous"])
def test_only_officers_can_review(request, under_review, who):
    user = AnonymousUser() if who == "anonymous" else request.getfixturevalue(who)
    before = db_state()

    with pytest.raises(PermissionDenied):
        review(under_review, user, reason="Looks fine to me.")
    with pytest.raises(PermissionDenied):
        review(under_review, user, feasible=False, reason="I don't like it.")

    assert db_state() == before


@pytest.mark.parametrize("phase", [Phase.SUBMISSION, Phase.VOTING, Phase.CLOSED])
def test_reviewing_outside_the_review_phase_is_refused(officer, area_a, phase):
    budget_round = BudgetRoundFactory(phase=phase)
    proposal = ProposalFactory(
        budget_round=budget_round,
        round_area=RoundAreaFactory(budget_round=budget_round, area=area_a),
    )
    before = db_state()

    with pytest.raises(PermissionDenied) as excinfo:
        review(proposal, officer, cost=Decimal("100.00"))

    assert "Review in “" in str(excinfo.value)
    assert db_state() == before


@pytest.mark.parametrize("status", [S.DRAFT, S.WITHDRAWN, S.RETURNED])
def test_drafts_withdrawn_and_returned_proposals_cannot_be_reviewed(
    officer, review_round, area_a, status
):
    proposal = ProposalFactory(
        budget_round=review_round,
        round_area=RoundAreaFactory(budget_round=review_round, area=area_a),
        status=status,
    )
    before = db_state()

    with pytest.raises(PermissionDenied) as excinfo:
        review(proposal, officer, cost=Decimal("100.00"))

    assert "cannot be reviewed" in str(excinfo.value) or "draft" in str(excinfo.value)
    assert db_state() == before


@pytest.mark.parametrize(
    ("status", "on_ballot"),
    [
        (S.FEASIBLE, True),
        (S.SUBMITTED, False),
        (S.NOT_FEASIBLE, False),
        (S.RETURNED, False),
        (S.WITHDRAWN, False),
        (S.DRAFT, False),
    ],
)
def test_only_feasible_proposals_with_an_official_cost_are_on_the_ballot(db, status, on_ballot):
    assert ProposalFactory(status=status).on_ballot is on_ballot


# --- Sending back to the author ---------------------------------------------------------


def test_officer_sends_a_proposal_back_and_the_author_improves_and_resubmits(
    officer, resident_a, my_proposal, idea
):
    services.proposal_return_to_author(
        proposal=my_proposal, officer=officer, message="  Which pond exactly?  ", now=timezone.now()
    )

    my_proposal.refresh_from_db()
    assert my_proposal.status == S.RETURNED
    assert my_proposal.status_reason == "Which pond exactly?"
    event = my_proposal.events.get()
    assert (event.kind, event.from_status, event.to_status) == (
        Kind.RETURNED,
        S.SUBMITTED,
        S.RETURNED,
    )
    assert (event.actor, event.actor_is_officer, event.reason) == (
        officer,
        True,
        "Which pond exactly?",
    )

    services.proposal_update(
        proposal=my_proposal,
        author=resident_a,
        content=replace(idea, description="The pond by the north gate."),
        submit=True,
        now=timezone.now(),
    )
    my_proposal.refresh_from_db()
    assert my_proposal.status == S.SUBMITTED
    assert my_proposal.status_reason == ""


def test_a_returned_proposal_edited_without_resubmitting_stays_with_the_author(
    officer, resident_a, my_proposal, idea
):
    services.proposal_return_to_author(
        proposal=my_proposal, officer=officer, message="Add a location.", now=timezone.now()
    )
    services.proposal_update(
        proposal=my_proposal, author=resident_a, content=idea, submit=False, now=timezone.now()
    )
    my_proposal.refresh_from_db()
    assert my_proposal.status == S.RETURNED
    assert my_proposal.status_reason == "Add a location."


def test_sending_back_needs_a_message(officer, my_proposal):
    before = db_state()
    with pytest.raises(ValidationError) as excinfo:
        services.proposal_return_to_author(
            proposal=my_proposal, officer=officer, message="  ", now=timezone.now()
        )
    assert "reason" in errors_of(excinfo)
    assert db_state() == before


@pytest.mark.parametrize("who", ["resident_a", "resident_b", "auditor"])
def test_only_officers_can_send_back(request, my_proposal, who):
    before = db_state()
    with pytest.raises(PermissionDenied):
        services.proposal_return_to_author(
            proposal=my_proposal,
            officer=request.getfixturevalue(who),
            message="Please redo.",
            now=timezone.now(),
        )
    assert db_state() == before


def test_sending_back_is_only_possible_during_submission(officer, under_review):
    before = db_state()
    with pytest.raises(PermissionDenied) as excinfo:
        services.proposal_return_to_author(
            proposal=under_review, officer=officer, message="Too late?", now=timezone.now()
        )
    assert "Sending proposals back to their authors in “" in str(excinfo.value)
    assert db_state() == before


@pytest.mark.parametrize("status", [S.DRAFT, S.WITHDRAWN, S.RETURNED])
def test_only_submitted_proposals_can_be_sent_back(officer, submission_round, round_area, status):
    proposal = ProposalFactory(budget_round=submission_round, round_area=round_area, status=status)
    before = db_state()
    with pytest.raises(PermissionDenied) as excinfo:
        services.proposal_return_to_author(
            proposal=proposal, officer=officer, message="Please redo.", now=timezone.now()
        )
    assert str(excinfo.value) in (
        "Only submitted proposals can be sent back to the author.",
        "This proposal is a draft: only its authors can see it.",
    )
    assert db_state() == before


# --- Duplicates -------------------------------------------------------------------------


@pytest.fixture
def original(under_review):
    return ProposalFactory(
        budget_round=under_review.budget_round,
        round_area=under_review.round_area,
        title="Benches in the park (first)",
    )


def test_officer_marks_a_duplicate_of_another_proposal(officer, under_review, original):
    services.proposal_mark_duplicate(
        proposal=under_review,
        officer=officer,
        original=original,
        reason="Same benches as the first proposal.",
        now=timezone.now(),
    )

    under_review.refresh_from_db()
    assert under_review.status == S.DUPLICATE
    assert under_review.duplicate_of == original
    assert under_review.status_reason == "Same benches as the first proposal."
    assert not under_review.on_ballot
    event = under_review.events.get()
    assert (event.kind, event.from_status, event.to_status) == (
        Kind.DUPLICATE,
        S.SUBMITTED,
        S.DUPLICATE,
    )
    assert (event.actor, event.actor_is_officer) == (officer, True)
    assert event.reason == "Same benches as the first proposal."
    original.refresh_from_db()
    assert original.status == S.SUBMITTED


def test_a_feasible_proposal_marked_duplicate_loses_its_cost_and_a_later_review_unlinks_it(
    officer, under_review, original
):
    review(under_review, officer, cost=Decimal("10000.00"))
    services.proposal_mark_duplicate(
        proposal=under_review,
        officer=officer,
        original=original,
        reason="Same.",
        now=timezone.now(),
    )
    under_review.refresh_from_db()
    assert under_review.official_cost is None
    assert not under_review.on_ballot

    review(under_review, officer, cost=Decimal("8000.00"), reason="Not the same after all.")
    under_review.refresh_from_db()
    assert under_review.status == S.FEASIBLE
    assert under_review.duplicate_of is None


def test_officers_may_mark_duplicates_during_submission_too(
    officer, my_proposal, submission_round, round_area
):
    first = ProposalFactory(budget_round=submission_round, round_area=round_area)
    services.proposal_mark_duplicate(
        proposal=my_proposal, officer=officer, original=first, reason="Same.", now=timezone.now()
    )
    my_proposal.refresh_from_db()
    assert my_proposal.status == S.DUPLICATE


def test_the_author_cannot_edit_a_proposal_marked_duplicate(
    officer, resident_a, my_proposal, submission_round, round_area, idea
):
    first = ProposalFactory(budget_round=submission_round, round_area=round_area)
    services.proposal_mark_duplicate(
        proposal=my_proposal, officer=officer, original=first, reason="Same.", now=timezone.now()
    )
    before = db_state()

    with pytest.raises(PermissionDenied):
        services.proposal_update(
            proposal=my_proposal, author=resident_a, content=idea, submit=True, now=timezone.now()
        )
    assert db_state() == before


def _other_round_proposal(under_review):
    other = BudgetRoundFactory(phase=Phase.REVIEW)
    return ProposalFactory(budget_round=other, round_area=RoundAreaFactory(budget_round=other))


@pytest.mark.parametrize(
    ("make_original", "message"),
    [
        (lambda p: p, "Choose another proposal of the same round."),
        (_other_round_proposal, "Choose another proposal of the same round."),
        (
            lambda p: ProposalFactory(
                budget_round=p.budget_round, round_area=p.round_area, status=S.DRAFT
            ),
            "must be a live proposal",
        ),
        (
            lambda p: ProposalFactory(
                budget_round=p.budget_round, round_area=p.round_area, status=S.WITHDRAWN
            ),
            "must be a live proposal",
        ),
        (
            lambda p: ProposalFactory(
                budget_round=p.budget_round,
                round_area=p.round_area,
                status=S.DUPLICATE,
                duplicate_of=ProposalFactory(budget_round=p.budget_round, round_area=p.round_area),
            ),
            "must be a live proposal",
        ),
    ],
    ids=["itself", "other-round", "draft", "withdrawn", "a-duplicate"],
)
def test_a_duplicate_must_point_at_a_live_proposal_of_the_same_round(
    officer, under_review, make_original, message
):
    original = make_original(under_review)
    before = db_state()

    with pytest.raises(ValidationError) as excinfo:
        services.proposal_mark_duplicate(
            proposal=under_review,
            officer=officer,
            original=original,
            reason="Same.",
            now=timezone.now(),
        )

    assert any(message in text for text in errors_of(excinfo)["original"])
    assert db_state() == before


def test_marking_a_duplicate_needs_a_reason_an_officer_and_the_right_phase(
    officer, resident_b, under_review, original
):
    before = db_state()

    with pytest.raises(ValidationError):
        services.proposal_mark_duplicate(
            proposal=under_review, officer=officer, original=original, reason="", now=timezone.now()
        )
    with pytest.raises(PermissionDenied):
        services.proposal_mark_duplicate(
            proposal=under_review,
            officer=resident_b,
            original=original,
            reason="Same.",
            now=timezone.now(),
        )
    with pytest.raises(PermissionDenied):
        services.proposal_mark_duplicate(
            proposal=under_review,
            officer=officer,
            original=original,
            reason="Same.",
            now=under_review.budget_round.voting_starts,
        )

    assert db_state() == before


# --- Categories -------------------------------------------------------------------------


def test_officer_defines_categories_per_round(officer, submission_round):
    parks = services.category_create(
        budget_round=submission_round, name=" Parks ", officer=officer, now=timezone.now()
    )
    other_round = BudgetRoundFactory()
    services.category_create(
        budget_round=other_round, name="Parks", officer=officer, now=timezone.now()
    )

    assert parks.name == "Parks"
    assert list(submission_round.categories.values_list("name", flat=True)) == ["Parks"]
    assert Category.objects.count() == 2


@pytest.mark.parametrize(
    ("name", "message"),
    [("", "Give the category a name."), ("c" * 81, "80 characters"), ("PARKS", "already has")],
)
def test_bad_category_names_are_refused(officer, category, name, message):
    before = db_state()
    with pytest.raises(ValidationError) as excinfo:
        services.category_create(
            budget_round=category.budget_round, name=name, officer=officer, now=timezone.now()
        )
    assert message in errors_of(excinfo)["name"][0]
    assert db_state() == before


@pytest.mark.parametrize("who", ["resident_a", "auditor"])
def test_only_officers_define_categories(request, submission_round, who):
    with pytest.raises(PermissionDenied):
        services.category_create(
            budget_round=submission_round,
            name="Parks",
            officer=request.getfixturevalue(who),
            now=timezone.now(),
        )
    assert Category.objects.count() == 0


# --- What the database guarantees on its own --------------------------------------------


def test_the_database_refuses_a_feasible_proposal_without_an_official_cost(db):
    proposal = ProposalFactory(status=S.FEASIBLE)
    with pytest.raises(IntegrityError), transaction.atomic():
        Proposal.objects.filter(pk=proposal.pk).update(official_cost=None)


def test_the_database_refuses_a_duplicate_that_names_no_original(db):
    proposal = ProposalFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Proposal.objects.filter(pk=proposal.pk).update(status=S.DUPLICATE)
    with pytest.raises(IntegrityError), transaction.atomic():
        Proposal.objects.filter(pk=proposal.pk).update(duplicate_of=proposal)


@pytest.mark.parametrize("field", ["estimated_cost", "official_cost"])
@pytest.mark.parametrize("amount", [Decimal("0"), Decimal("-1.00")])
def test_the_database_refuses_non_positive_costs(db, field, amount):
    proposal = ProposalFactory(status=S.FEASIBLE)
    with pytest.raises(IntegrityError), transaction.atomic():
        Proposal.objects.filter(pk=proposal.pk).update(**{field: amount})
    proposal.refresh_from_db()
    assert proposal.estimated_cost == Decimal("1000.00")


def test_the_database_refuses_an_image_without_a_description(db):
    proposal = ProposalFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Proposal.objects.filter(pk=proposal.pk).update(image="proposals/x.png")
