"""Uploaded images served by the app itself (pb_platform/media.py), with DEBUG off as in
production: only proposal images the visitor may see and the milestone photos of funded
proposals, as the image type their extension names, never sniffed, never run; everything
else is the same 404.

The same view under real gunicorn: tests/pb_platform/test_production_serving.py.
"""

from __future__ import annotations

import io
import os

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.utils import timezone
from django.utils.http import http_date
from PIL import Image

from ledgers.models import Milestone
from pb_platform.media import CONTENT_TYPES, upload_content_type
from proposals.models import ProposalStatus
from proposals.models.proposals import IMAGE_EXTENSIONS
from tests.conftest import client_for
from tests.factories import ProposalFactory
from tests.ledgers.conftest import published_round


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 3), (20, 120, 60)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def media(settings, tmp_path, db):
    """Uploads go to a throwaway folder, never the project's media/."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def with_image(proposal, filename: str = "bench.png", content: bytes | None = None):
    proposal.image_description = "A green bench by the pond"
    proposal.image.save(filename, ContentFile(png_bytes() if content is None else content))
    return proposal


@pytest.fixture
def public_image(media, resident_a):
    return with_image(ProposalFactory(author=resident_a, status=ProposalStatus.SUBMITTED))


@pytest.fixture
def draft_image(media, resident_a):
    return with_image(ProposalFactory(author=resident_a, status=ProposalStatus.DRAFT))


def test_every_extension_an_upload_may_have_has_a_content_type():
    assert set(IMAGE_EXTENSIONS) <= set(CONTENT_TYPES)
    assert all(value.startswith("image/") for value in CONTENT_TYPES.values())


def test_a_visitor_sees_a_public_image_as_an_image_that_cannot_be_sniffed_or_run(public_image):
    response = Client().get(public_image.image.url)

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == public_image.image.open("rb").read()
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == (
        "default-src 'none'; frame-ancestors 'none'; sandbox"
    )
    # Anyone may see it, so browsers and proxies may keep it for a while.
    assert response["Cache-Control"] == "public, max-age=3600"
    assert response["Last-Modified"]


def test_make_run_shows_photos_the_same_way(public_image, draft_image, settings):
    """DEBUG (make run) serves uploads with the same view: no separate development path."""
    settings.DEBUG = True

    assert Client().get(public_image.image.url)["Content-Type"] == "image/png"
    assert Client().get(draft_image.image.url).status_code == 404


def test_a_signed_in_visitors_copy_is_kept_by_nobody_else(public_image, resident_b):
    response = client_for(resident_b).get(public_image.image.url)

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert "public" not in response["Cache-Control"]


def test_an_unchanged_image_is_not_sent_again(public_image):
    modified = os.stat(public_image.image.path).st_mtime

    response = Client().get(public_image.image.url, HTTP_IF_MODIFIED_SINCE=http_date(modified))

    assert response.status_code == 304
    assert response.content == b""


def test_a_drafts_image_is_its_authors_alone(draft_image, resident_a, resident_b, officer):
    url = draft_image.image.url

    own = client_for(resident_a).get(url)
    assert own.status_code == 200
    assert own["Cache-Control"] == "private, no-store"
    # Not even officers see a never-submitted draft, nor its picture.
    for client in (Client(), client_for(resident_b), client_for(officer)):
        assert client.get(url).status_code == 404


def test_an_image_its_author_removed_is_no_longer_served(public_image):
    url, path = public_image.image.url, public_image.image.path
    public_image.image = ""
    public_image.image_description = ""
    public_image.save()

    assert os.path.exists(path)  # Django leaves the file on disk
    assert Client().get(url).status_code == 404


def test_a_file_no_proposal_has_is_not_served_even_when_it_is_an_image(media):
    (media / "proposals").mkdir(parents=True)
    (media / "proposals" / "stray.png").write_bytes(png_bytes())

    assert Client().get("/media/proposals/stray.png").status_code == 404


@pytest.mark.parametrize("filename", ["page.html", "drawing.svg", "notes.txt", "bench.png.html"])
def test_a_proposals_file_that_is_not_an_allowed_image_is_not_served(media, filename):
    """Uploads are checked on the way in; this holds even if the database says otherwise."""
    proposal = with_image(ProposalFactory(), filename, b"<script>alert(1)</script>")
    assert os.path.exists(proposal.image.path)

    assert Client().get(proposal.image.url).status_code == 404


def test_an_upper_case_extension_still_gets_the_image_type(media):
    proposal = with_image(ProposalFactory(), "PHOTO.PNG")

    response = Client().get(proposal.image.url)

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"


def test_a_link_out_of_the_media_folder_is_not_followed(media, tmp_path):
    outside = tmp_path / "outside.png"
    outside.write_bytes(png_bytes())
    (media / "proposals").mkdir(parents=True)
    (media / "proposals" / "linked.png").symlink_to(outside)
    proposal = ProposalFactory(image="proposals/linked.png", image_description="A bench")

    assert Client().get(proposal.image.url).status_code == 404


def test_a_post_is_refused(public_image):
    assert Client().post(public_image.image.url).status_code == 405


@pytest.mark.parametrize(
    "name",
    [
        "../secret.png",
        "proposals/../../secret.png",
        "proposals/./bench.png",
        "/etc/bench.png",
        "proposals//bench.png",
        "proposals/.hidden.png",
        "proposals\\bench.png",
        "proposals/bench.png\x00.html",
        "proposals/bench",
        "proposals/bench.",
        "",
    ],
)
def test_names_that_are_not_plain_image_paths_are_refused_before_any_lookup(name):
    assert upload_content_type(name) is None


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("proposals/2026/05/bench.jpg", "image/jpeg"),
        ("proposals/2026/05/bench.JPEG", "image/jpeg"),
        ("proposals/2026/05/bench.png", "image/png"),
        ("proposals/2026/05/bench.webp", "image/webp"),
        ("proposals/2026/05/bench.tar.png", "image/png"),
    ],
)
def test_the_content_type_comes_from_the_extension(name, content_type):
    assert upload_content_type(name) == content_type


# --- Milestone photos ---------------------------------------------------------------------


def with_milestone_photo(proposal, officer) -> Milestone:
    milestone = Milestone(
        proposal=proposal,
        title="Benches installed",
        planned_on=timezone.localdate(),
        created_by=officer,
        created_at=timezone.now(),
        photo_alt="Two new benches by the pond",
    )
    milestone.photo.save("benches.png", ContentFile(png_bytes()))  # saves the milestone
    return milestone


def test_a_funded_proposals_milestone_photo_is_public_like_its_delivery_plan(
    media, area_a, officer
):
    _round, proposals = published_round(area=area_a)
    milestone = with_milestone_photo(proposals["Trees"], officer)

    response = Client().get(milestone.photo.url)

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == png_bytes()
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == (
        "default-src 'none'; frame-ancestors 'none'; sandbox"
    )
    assert response["Cache-Control"] == "public, max-age=3600"


def test_a_milestone_photo_is_not_served_for_a_proposal_not_funded_or_never_submitted(
    media, area_a, officer, resident_a
):
    _round, proposals = published_round(area=area_a)
    lost = with_milestone_photo(proposals["Lights"], officer)  # submitted, not funded
    draft = with_milestone_photo(
        ProposalFactory(author=resident_a, status=ProposalStatus.DRAFT), officer
    )

    for milestone in (lost, draft):
        assert os.path.exists(milestone.photo.path)
        for client in (Client(), client_for(resident_a), client_for(officer)):
            assert client.get(milestone.photo.url).status_code == 404


def test_a_milestone_photo_removed_is_no_longer_served(media, area_a, officer):
    _round, proposals = published_round(area=area_a)
    milestone = with_milestone_photo(proposals["Trees"], officer)
    url = milestone.photo.url
    milestone.photo = ""
    milestone.photo_alt = ""
    milestone.save()

    assert Client().get(url).status_code == 404
