"""Every change to a proposal's text is kept as a version (who, when, how).

``version_record`` is the one place versions are written: ``proposal_content_commit``
(``proposals.services.proposals``) calls it for each content change, whichever way the
change came (the author's or a co-author's edit now; amendments, co-design with an
officer and merges later, each naming its ``VersionKind``).
"""

from __future__ import annotations

from datetime import datetime

from pb_platform.users import User
from proposals.models import Proposal, ProposalVersion, VersionKind

# The proposal's fields a version keeps (``image`` is kept as the stored file's name).
VERSIONED_FIELDS = (
    "title",
    "description",
    "location",
    "estimated_cost",
    "round_area_id",
    "category_id",
    "image",
    "image_description",
)


def _content_of(proposal: Proposal) -> dict[str, object]:
    content: dict[str, object] = {name: getattr(proposal, name) for name in VERSIONED_FIELDS}
    content["image"] = proposal.image.name if proposal.image else ""
    return content


def version_record(
    *,
    proposal: Proposal,
    made_by: User | None,
    kind: str,
    now: datetime,
    as_officer: bool = False,
    credited_to: User | None = None,
    note: str = "",
) -> ProposalVersion | None:
    """Append the proposal's saved content as its next version, or None when it is the
    same as the latest version (saving without changing anything makes no version).

    Call it inside the transaction that saved ``proposal``, with the proposal's row
    locked (or just created): the lock orders concurrent changes, so numbers follow
    one another; the unique (proposal, number) constraint guarantees it."""
    if kind not in VersionKind.values:
        raise ValueError(f"unknown version kind {kind!r}")
    content = _content_of(proposal)
    latest = ProposalVersion.objects.filter(proposal=proposal).order_by("-number").first()
    if (
        latest is not None
        and kind != VersionKind.CREATED
        and all(getattr(latest, name) == value for name, value in content.items())
    ):
        return None
    number = latest.number + 1 if latest is not None else 1
    return ProposalVersion.objects.create(
        proposal=proposal,
        number=number,
        at=now,
        made_by=made_by,
        made_by_officer=as_officer,
        kind=kind,
        credited_to=credited_to,
        note=note,
        **content,
    )
