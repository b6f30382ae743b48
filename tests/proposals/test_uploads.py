"""Uploaded photos are re-encoded (only pixels survive: no EXIF, no GPS, nothing
appended), limited to 40 megapixels, and requests larger than ``MAX_REQUEST_BYTES`` are
refused with 413 from their Content-Length before the body is read."""

from __future__ import annotations

import io
import time
from dataclasses import replace
from wsgiref.util import is_hop_by_hop

import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import RequestFactory
from PIL import Image

from pb_platform.request_size import RequestSizeLimitMiddleware
from proposals.models import Proposal
from tests.proposals import test_proposal_services as proposal_tests
from tests.proposals.test_proposal_services import create, errors_of, files_under

# The proposal services' fixtures: a round open for ideas, an idea, uploads in tmp.
submission_round = proposal_tests.submission_round
round_area = proposal_tests.round_area
category = proposal_tests.category
idea = proposal_tests.idea
media = proposal_tests.media

GPS_IFD = 0x8825
ORIENTATION = 0x0112


def jpeg_with_gps_and_html() -> bytes:
    """A 16 × 12 JPEG carrying a GPS position and "rotate 90°" in its EXIF, with an HTML
    page appended after its end marker (browsers sniffing content would run it)."""
    exif = Image.Exif()
    exif[ORIENTATION] = 6  # the camera was turned: show rotated 90° clockwise
    exif[0x010F] = "PhoneMaker"
    gps = exif.get_ifd(GPS_IFD)
    gps[1] = "N"
    gps[2] = (51.0, 30.0, 12.5)
    gps[3] = "W"
    gps[4] = (0.0, 7.0, 40.0)
    buffer = io.BytesIO()
    Image.new("RGB", (16, 12), (200, 30, 30)).save(buffer, format="JPEG", exif=exif)
    return buffer.getvalue() + b"<html><script>alert(document.cookie)</script></html>"


def test_a_jpeg_keeps_its_pixels_but_loses_its_gps_exif_and_appended_html(resident_a, idea):
    original = jpeg_with_gps_and_html()
    with Image.open(io.BytesIO(original)) as before:  # the fixture really carries them
        assert before.getexif().get_ifd(GPS_IFD)[1] == "N"
    assert b"<html>" in original

    proposal = create(
        resident_a,
        replace(
            idea,
            image=SimpleUploadedFile("walk.jpg", original, "image/jpeg"),
            image_description="The path.",
        ),
    )

    with default_storage.open(proposal.image.name) as handle:
        stored = handle.read()
    assert b"<html>" not in stored
    assert b"<script>" not in stored
    assert b"PhoneMaker" not in stored
    with Image.open(io.BytesIO(stored)) as after:
        assert after.format == "JPEG"
        assert len(after.getexif()) == 0
        assert after.getexif().get_ifd(GPS_IFD) == {}
        # The orientation was applied to the pixels before the EXIF went: still upright.
        assert after.size == (12, 16)
        red, green, blue = after.convert("RGB").getpixel((6, 8))
        assert red > 150 and green < 80 and blue < 80


def test_a_png_keeps_its_format_and_loses_text_chunks_and_trailing_bytes(resident_a, idea):
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "home address: 1 Secret Lane")
    buffer = io.BytesIO()
    Image.new("RGBA", (10, 10), (0, 0, 255, 128)).save(buffer, format="PNG", pnginfo=info)
    upload = SimpleUploadedFile("map.png", buffer.getvalue() + b"<html></html>", "image/png")

    proposal = create(resident_a, replace(idea, image=upload, image_description="Map."))

    with default_storage.open(proposal.image.name) as handle:
        stored = handle.read()
    assert b"Secret Lane" not in stored
    assert b"<html>" not in stored
    with Image.open(io.BytesIO(stored)) as after:
        assert after.format == "PNG"
        assert after.getpixel((0, 0)) == (0, 0, 255, 128)


def test_a_100_megapixel_png_is_refused_with_a_message_and_nothing_is_saved(
    resident_a, idea, media
):
    buffer = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(buffer, format="PNG")  # tiny file, 100 MP
    upload = SimpleUploadedFile("huge.png", buffer.getvalue(), "image/png")
    assert upload.size < 5 * 2**20  # small enough for the byte limit: only pixels count

    with pytest.raises(ValidationError) as excinfo:
        create(resident_a, replace(idea, image=upload, image_description="Huge."))

    assert errors_of(excinfo)["image"] == [
        "The image has too many pixels: at most 40 megapixels. Make it smaller and try again."
    ]
    assert Proposal.objects.count() == 0
    assert files_under(media) == []


def test_an_image_of_exactly_40_megapixels_is_accepted(resident_a, idea):
    buffer = io.BytesIO()
    Image.new("1", (8_000, 5_000)).save(buffer, format="PNG")
    upload = SimpleUploadedFile("big.png", buffer.getvalue(), "image/png")

    proposal = create(resident_a, replace(idea, image=upload, image_description="Big."))

    with default_storage.open(proposal.image.name) as handle, Image.open(handle) as after:
        assert after.size == (8_000, 5_000)


class BodyThatMustNotBeRead(io.RawIOBase):
    def read(self, *args, **kwargs):
        raise AssertionError("the body was read")

    readline = readinto = read


def test_a_60_mb_request_gets_413_without_its_body_being_read(client):
    request = RequestFactory().post("/proposals/", data=b"", content_type="multipart/form-data")
    request.META["CONTENT_LENGTH"] = str(60 * 2**20)
    request.META["wsgi.input"] = BodyThatMustNotBeRead()
    request._stream = BodyThatMustNotBeRead()  # what request.body/POST would read

    def view(_request):
        assert _request.POST is None  # parsing the body would raise: it must not happen
        raise AssertionError("the view ran")

    started = time.monotonic()
    response = RequestSizeLimitMiddleware(view)(request)

    assert response.status_code == 413
    assert "too large" in response.content.decode()
    assert time.monotonic() - started < 1


def test_through_the_whole_stack_the_413_page_carries_the_security_headers(client):
    response = client.generic(
        "POST",
        "/",
        data=b"x",
        content_type="application/octet-stream",
        CONTENT_LENGTH=str(60 * 2**20),
    )

    assert response.status_code == 413
    assert "Request too large" in response.content.decode()
    assert "<script" not in response.content.decode()
    assert "style" not in response.content.decode()
    assert "default-src" in response["Content-Security-Policy"]
    # A WSGI server answers 500 instead if the app sets a hop-by-hop header.
    assert not [name for name in response.headers if is_hop_by_hop(name)]


def test_a_request_at_the_limit_goes_through(settings):
    settings.MAX_REQUEST_BYTES = 2 * 2**20
    request = RequestFactory().post("/", data=b"x" * 10, content_type="text/plain")
    request.META["CONTENT_LENGTH"] = str(2 * 2**20)
    seen = []

    def view(_request):
        seen.append(True)
        from django.http import HttpResponse

        return HttpResponse("ok")

    response = RequestSizeLimitMiddleware(view)(request)

    assert response.status_code == 200
    assert seen == [True]
    request.META["CONTENT_LENGTH"] = str(2 * 2**20 + 1)
    assert RequestSizeLimitMiddleware(view)(request).status_code == 413


def test_the_form_shows_the_pixel_limit_on_the_photo_field(
    resident_a, submission_round, round_area
):
    from django.urls import reverse

    from tests.conftest import client_for
    from tests.proposals.test_proposal_pages import proposal_post

    buffer = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(buffer, format="PNG")
    response = client_for(resident_a).post(
        reverse("proposals:proposal_new", args=[submission_round.slug]),
        {
            **proposal_post(submission_round),
            "image": SimpleUploadedFile("huge.png", buffer.getvalue(), "image/png"),
            "image_description": "Huge.",
        },
    )

    assert response.status_code == 200
    assert response.context["form"].errors["image"] == [
        "The image has too many pixels: at most 40 megapixels. Make it smaller and try again."
    ]
    assert not Proposal.objects.exists()
