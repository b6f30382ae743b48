"""Uploads on disk (``MEDIA_STORAGE=filesystem``) served by the app itself, with or
without DEBUG, so a deployment needs no web-server rule of its own for them.

The only uploads are proposal images and the photos of funded proposals' delivery
milestones, both re-encoded by Pillow on the way in (``pb_platform/images.py``). A file
is served only when

- its name is a plain relative path (no ``..``, ``.``, empty or hidden segment, no
  backslash) ending in an image extension of ``CONTENT_TYPES``;
- a proposal has it as its image and the visitor may see that proposal (a draft's image
  is its author's alone, like the draft; an image replaced or removed is gone), or a
  milestone of a submitted, funded proposal has it as its photo (public, like the
  delivery plan; a photo replaced or removed is gone);
- it is a regular file inside ``MEDIA_ROOT`` once symbolic links are resolved.

Anything else is a 404, the same answer as for a file that does not exist, so nobody can
probe what else is on the disk. The content type comes from the extension, never from
the bytes, and the browser is told not to guess another one (``nosniff``) and to run
nothing in it (a CSP of its own).
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db.models import Exists, OuterRef
from django.http import FileResponse, Http404, HttpRequest, HttpResponseBase
from django.http.response import HttpResponseNotModified
from django.utils.cache import patch_cache_control
from django.utils.http import http_date
from django.views.decorators.http import require_safe
from django.views.static import was_modified_since

from ledgers.models import EntryKind, LedgerEntry, Milestone
from proposals import policies, selectors

# Extension (lower case) -> the only content type a file with it is ever served as.
CONTENT_TYPES = {
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
}
# Images are pictures, never documents: nothing in one may load or run anything, even
# opened on its own in a tab.
UPLOAD_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'; sandbox"
# A public image may be kept by browsers and proxies for an hour: a file name is never
# reused for other content, and an image its author replaced stops being served here
# within that hour everywhere.
PUBLIC_MAX_AGE_SECONDS = 3600


def upload_content_type(name: str) -> str | None:
    """The content type to serve the upload ``name`` as, or None when ``name`` is not a
    plain relative path to a file with an allowed image extension."""
    if not name or "\\" in name or "\x00" in name:
        return None
    parts = name.split("/")
    if any(part in ("", ".", "..") or part.startswith(".") for part in parts):
        return None
    extension = PurePosixPath(name).suffix.lower().removeprefix(".")
    return CONTENT_TYPES.get(extension)


def upload_file(name: str) -> Path | None:
    """The regular file ``name`` inside ``MEDIA_ROOT``, links resolved, or None."""
    root = Path(settings.MEDIA_ROOT).resolve()
    path = (root / name).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        return None
    return path


def is_public_milestone_photo(name: str) -> bool:
    """Whether the upload ``name`` is the photo of a milestone that everyone may see: a
    milestone of a submitted proposal that was funded (one query). Milestones are only
    added to funded proposals; the rule is repeated here so that serving does not rest
    on how the photo got there."""
    funded = LedgerEntry.objects.filter(proposal=OuterRef("proposal"), kind=EntryKind.ALLOCATION)
    return (
        Milestone.objects.filter(photo=name, proposal__submitted_at__isnull=False)
        .filter(Exists(funded))
        .exists()
    )


@require_safe
def upload(request: HttpRequest, name: str) -> HttpResponseBase:
    """An uploaded proposal image or milestone photo, or 404."""
    content_type = upload_content_type(name)
    if content_type is None:
        raise Http404("No such file.")
    # The database before the disk: a file nobody may see answers exactly as one that
    # does not exist.
    visible = [
        proposal
        for proposal in selectors.proposals_with_image(name=name)
        if policies.can_see_proposal(request.user, proposal)
    ]
    public = any(
        policies.can_see_proposal(AnonymousUser(), proposal) for proposal in visible
    ) or is_public_milestone_photo(name)
    if not visible and not public:
        raise Http404("No such file.")
    path = upload_file(name)
    if path is None:
        raise Http404("No such file.")
    modified = path.stat().st_mtime
    if not was_modified_since(request.META.get("HTTP_IF_MODIFIED_SINCE"), modified):
        response: HttpResponseBase = HttpResponseNotModified()
    else:
        response = FileResponse(path.open("rb"), content_type=content_type)
        response["Last-Modified"] = http_date(modified)
    response["X-Content-Type-Options"] = "nosniff"
    # Kept by SecurityHeadersMiddleware, which sets the site's policy only when a
    # response has none.
    response["Content-Security-Policy"] = UPLOAD_CONTENT_SECURITY_POLICY
    if public:
        patch_cache_control(response, public=True, max_age=PUBLIC_MAX_AGE_SECONDS)
    else:
        # A draft's image: its author's alone (PrivateCacheMiddleware says so too).
        patch_cache_control(response, private=True, no_store=True)
    return response
