"""Small counts are hidden before anything is published, through this one helper.

A count under five can point at someone ("the one paper response from Riverside"), so
such counts, zero included, are shown as hidden (primary suppression): were zeros shown,
every hidden cell would be known to hold at least one, and two hidden cells adding up to
two would both be found to be one. When a group's total is shown, a single hidden cell
could be recovered by subtracting the others from it, so the next-smallest cell is
hidden too (secondary suppression): then at least two cells are hidden and only their
sum can be worked out, never either one.

Pages and downloads that publish counts of people call ``suppressed_counts`` (cells
of a group with a shown total) or ``suppressed_count`` (a single figure).
"""

from __future__ import annotations

from collections.abc import Mapping

# Counts of people under this are never published.
SMALL_COUNT = 5


def is_small(count: int, *, threshold: int = SMALL_COUNT) -> bool:
    """A count that is not published: under ``threshold`` (zero too, see above)."""
    return count < threshold


def suppressed_count(count: int, *, threshold: int = SMALL_COUNT) -> int | None:
    """The count, or None when it is too small to publish."""
    return None if is_small(count, threshold=threshold) else count


def suppressed_counts(
    counts: Mapping[str, int], *, threshold: int = SMALL_COUNT
) -> dict[str, int | None]:
    """The cells of one group (whose total may be published), each kept or None.

    Primary: every cell under ``threshold`` is hidden. Secondary: if exactly one cell
    ends up hidden, the smallest shown cell (ties broken by key) is hidden too, so the
    hidden one cannot be found as the total minus the rest. A total under ``threshold``
    must not be published either (``suppressed_count`` of it).
    """
    shown: dict[str, int | None] = {
        key: None if is_small(count, threshold=threshold) else count
        for key, count in counts.items()
    }
    hidden = [key for key, value in shown.items() if value is None]
    if len(hidden) == 1:
        candidates = sorted((count, key) for key, count in shown.items() if count is not None)
        if candidates:
            _count, key = candidates[0]
            shown[key] = None
    return shown
