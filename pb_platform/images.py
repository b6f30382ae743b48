"""Uploaded pictures (proposal images, milestone photos): the one way they are checked
and re-encoded on the way in, whichever service stores them.

A picture is accepted only when it is small enough in bytes and in pixels, Pillow reads
it as a JPEG, PNG or WebP, and its name has one of ``IMAGE_EXTENSIONS`` (the web server,
and ``pb_platform.media``, pick the content type from it). What is stored is never the
upload itself but the pixels saved again by Pillow (``image_reencoded``).
"""

from __future__ import annotations

import io
import os
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from proposals.models.proposals import IMAGE_EXTENSIONS, IMAGE_MAX_BYTES

IMAGE_FORMATS = {"JPEG", "PNG", "WEBP"}
# What file inputs offer to pick (browsers still let people choose anything).
IMAGE_ACCEPT = "image/jpeg,image/png,image/webp"
# 40 megapixels: more than any phone camera, far less than a decompression bomb needs.
IMAGE_MAX_PIXELS = 40_000_000
# Pillow's own guard, tightened to match: it warns above this and refuses twice this in
# ``Image.open`` (the default, 89 megapixels, let a 100-megapixel PNG through).
Image.MAX_IMAGE_PIXELS = IMAGE_MAX_PIXELS


def _too_many_pixels() -> str:
    return _(
        "The image has too many pixels: at most %(megapixels)d megapixels. "
        "Make it smaller and try again."
    ) % {"megapixels": IMAGE_MAX_PIXELS // 1_000_000}


def image_pixels_problem(image: UploadedFile) -> str | None:
    """The refusal of an image with more than ``IMAGE_MAX_PIXELS``, read from its header
    alone (``Image.open`` decodes nothing): a few bytes can announce billions of pixels.
    None when the count is fine or the file is no image (other checks say so)."""
    try:
        image.seek(0)
        with Image.open(image) as opened:
            width, height = opened.size
    # Pillow's own guard (``Image.MAX_IMAGE_PIXELS``) refuses the worst bombs in ``open``.
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return _too_many_pixels()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return None
    finally:
        image.seek(0)
    return _too_many_pixels() if width * height > IMAGE_MAX_PIXELS else None


def image_problem(image: UploadedFile, *, max_bytes: int = IMAGE_MAX_BYTES) -> str | None:
    """Why ``image`` cannot be stored (too large, too many pixels, not a picture Pillow
    reads, or not named as one), or None when it can."""
    if image.size is None or image.size > max_bytes:
        return _("The image must be %(mb)d MB or smaller.") % {"mb": max_bytes // 2**20}
    if (problem := image_pixels_problem(image)) is not None:
        return problem
    try:
        image.seek(0)
        with Image.open(image) as opened:
            image_format = opened.format
            opened.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return _("The file is not an image we can read. Use a JPEG, PNG or WebP photo.")
    finally:
        image.seek(0)
    # The stored name keeps the uploaded extension, and the web server picks the content
    # type from it: a valid PNG named "x.html" or "x.svg" must not be stored as such.
    extension = os.path.splitext(image.name or "")[1].lower().lstrip(".")
    if image_format not in IMAGE_FORMATS or extension not in IMAGE_EXTENSIONS:
        return _("Use a JPEG, PNG or WebP image.")
    return None


def image_reencoded(image: UploadedFile) -> ContentFile[bytes]:
    """The picture decoded and saved again by Pillow, in its own format: only pixels
    survive. Bytes after the image's end (an appended HTML page), EXIF (GPS position,
    camera serial), comments and other metadata chunks are dropped. The EXIF
    orientation is applied to the pixels first, so a phone photo stays upright.

    Call only on an upload that ``image_problem`` accepted."""
    image.seek(0)
    with Image.open(image) as opened:
        image_format = opened.format or "PNG"
        upright = ImageOps.exif_transpose(opened)
        if image_format == "JPEG" and upright.mode not in ("RGB", "L"):
            upright = upright.convert("RGB")
        buffer = io.BytesIO()
        options: dict[str, object] = {"quality": 90} if image_format in ("JPEG", "WEBP") else {}
        # No ``exif=``/``icc_profile=``/``pnginfo=``: Pillow writes none unless asked.
        upright.save(buffer, format=image_format, **options)
    image.seek(0)
    return ContentFile(buffer.getvalue(), name=os.path.basename(image.name or "image"))


class PhotoField(forms.ImageField):
    """Django's ``ImageField``, but a picture with too many pixels is refused with that
    reason (Django's own check would call it "not a valid image") before Pillow decodes
    anything."""

    def to_python(self, data: Any) -> Any:
        if data not in self.empty_values and hasattr(data, "read"):
            problem = image_pixels_problem(data)
            if problem is not None:
                raise ValidationError(problem, code="too_many_pixels")
        return super().to_python(data)
