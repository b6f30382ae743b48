"""What the backup tests add to the demo before backing it up: a second round's ledger
(allocations, a payment and its reversal) and an uploaded image on one of its proposals.

Run inside the site's own process, against the database being backed up:
``manage.py shell -c "from tests.pb_platform.backup_world import extend; extend()"``.
It prints ``IMAGE=<name>``, the image's name under MEDIA_ROOT.
"""

from __future__ import annotations

import io

from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone
from PIL import Image

from ledgers.services import reversal_record, spend_record
from proposals.models import Proposal
from tests.factories import AreaFactory
from tests.ledgers.conftest import published_round


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 16), (40, 120, 60)).save(buffer, format="PNG")
    return buffer.getvalue()


def extend() -> None:
    officer = get_user_model().objects.get(email="officer@example.org")
    area = AreaFactory(name="Backup Vale", slug="backup-vale")
    _round, proposals = published_round(area=area, name="Backups 2026")
    trees = proposals["Trees"]
    now = timezone.now()
    mistaken = spend_record(
        officer=officer, proposal=trees, amount="1500.00", supplier="Green Co",
        reference="INV-1", document_date=timezone.localdate(), description="Saplings",
        now=now,
    )  # fmt: skip
    reversal_record(
        officer=officer, proposal=trees, original=mistaken, reason="Paid twice", now=now
    )
    name = default_storage.save("proposals/backups/trees.png", ContentFile(png_bytes()))
    Proposal.objects.filter(pk=trees.pk).update(
        image=name, image_description="Twelve oak saplings along the path"
    )
    print(f"IMAGE={name}")
