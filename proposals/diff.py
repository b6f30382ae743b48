"""Word-level differences between two texts, for showing what a change did.

``words_diff`` is pure Python (``difflib``); the page marks added words with ``<ins>`` and
removed words with ``<del>``, each with words for screen readers.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

# Words and the spaces between them, so the text reads the same once put back together.
_TOKENS = re.compile(r"\s+|[^\s]+")


@dataclass(frozen=True)
class Segment:
    """A run of text that is the same in both, only in the new one, or only in the old."""

    change: str  # "same", "added" or "removed"
    text: str


def words_diff(old: str, new: str) -> list[Segment]:
    """``new`` compared with ``old`` word by word, as runs of same, removed and added
    text (a replaced passage is its removed words followed by its added ones)."""
    before, after = _TOKENS.findall(old), _TOKENS.findall(new)
    segments: list[Segment] = []

    def add(change: str, tokens: list[str]) -> None:
        text = "".join(tokens)
        if not text:
            return
        if segments and segments[-1].change == change:
            segments[-1] = Segment(change, segments[-1].text + text)
        else:
            segments.append(Segment(change, text))

    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            add("same", before[i1:i2])
        else:
            add("removed", before[i1:i2])
            add("added", after[j1:j2])
    return segments


@dataclass(frozen=True)
class FieldChange:
    """One field a version changed: a word diff for texts, before and after otherwise."""

    label: str
    segments: list[Segment] | None = None
    before: str = ""
    after: str = ""


def version_changes(
    previous: Any | None, version: Any, *, money: Callable[[Decimal], str]
) -> list[FieldChange]:
    """What ``version`` changed since ``previous`` (what it holds, when it is the first).
    Both are ``ProposalVersion``s with area and category loaded; ``money`` formats an
    amount in the round's currency."""
    from django.utils.translation import gettext as _

    changes: list[FieldChange] = []
    for name, label in (
        ("title", _("Title")),
        ("description", _("The idea")),
        ("location", _("Where")),
        ("image_description", _("Image description")),
    ):
        old = getattr(previous, name) if previous is not None else ""
        new = getattr(version, name)
        if old != new:
            changes.append(FieldChange(label=label, segments=words_diff(old, new)))

    def area(item: Any) -> str:
        return item.round_area.area.name

    def category(item: Any) -> str:
        return item.category.name if item.category else _("none")

    def cost(item: Any) -> str:
        return money(item.estimated_cost)

    for label, show in (
        (_("Author's cost estimate"), cost),
        (_("Area"), area),
        (_("Category"), category),
    ):
        old, new = (show(previous) if previous is not None else ""), show(version)
        if old != new:
            changes.append(FieldChange(label=label, before=old, after=new))
    old_image = previous.image if previous is not None else ""
    if old_image != version.image:
        changes.append(
            FieldChange(
                label=_("Image"),
                before=_("a picture") if old_image else _("no picture"),
                after=_("a new picture") if version.image else _("no picture"),
            )
        )
    return changes
