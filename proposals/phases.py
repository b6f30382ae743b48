"""A budget round's phases, derived from the clock.

The current phase is always computed from the round's timeline and the time now,
never from someone remembering to press a button. The stored ``BudgetRound.state``
only records how far the beat task has moved the round, so phase-end work runs once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from typing import TYPE_CHECKING

from django.db import models
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class Phase(models.TextChoices):
    UPCOMING = "upcoming", _("Not open yet")
    PRIORITIES = "priorities", _("Residents' priorities")
    SUBMISSION = "submission", _("Proposal submission")
    REVIEW = "review", _("Review")
    VOTING = "voting", _("Voting")
    RESULTS = "results", _("Counting and results")
    DELIVERY = "delivery", _("Delivery")
    CLOSED = "closed", _("Closed")


PHASE_ORDER: tuple[Phase, ...] = (
    Phase.UPCOMING,
    Phase.PRIORITIES,
    Phase.SUBMISSION,
    Phase.REVIEW,
    Phase.VOTING,
    Phase.RESULTS,
    Phase.DELIVERY,
    Phase.CLOSED,
)

# The timeline's boundaries every round has, in the order they must fall. Each one
# starts the phase named beside it; ``delivery_ends`` closes the round.
BOUNDARIES: tuple[tuple[str, Phase], ...] = (
    ("submission_starts", Phase.SUBMISSION),
    ("review_starts", Phase.REVIEW),
    ("voting_starts", Phase.VOTING),
    ("voting_ends", Phase.RESULTS),
    ("delivery_starts", Phase.DELIVERY),
    ("delivery_ends", Phase.CLOSED),
)

# The optional first boundary: a round may ask residents what matters most before it
# takes ideas (commissioning). When set, the priorities stage runs from it until
# ``submission_starts``; when empty the round has no such stage.
PRIORITIES_BOUNDARY: tuple[str, Phase] = ("priorities_starts", Phase.PRIORITIES)

DEADLINE_LABELS: dict[Phase, StrOrPromise] = {
    Phase.UPCOMING: _("Proposal submission opens"),
    Phase.PRIORITIES: _("Priorities close and proposal submission opens"),
    Phase.SUBMISSION: _("Proposal submission closes"),
    Phase.REVIEW: _("Voting opens"),
    Phase.VOTING: _("Voting closes"),
    Phase.RESULTS: _("Delivery starts"),
    Phase.DELIVERY: _("Delivery ends"),
}


def phase_rank(phase: str) -> int:
    return PHASE_ORDER.index(Phase(phase))


@dataclass(frozen=True)
class Timeline:
    submission_starts: datetime
    review_starts: datetime
    voting_starts: datetime
    voting_ends: datetime
    delivery_starts: datetime
    delivery_ends: datetime
    # Last so that positional construction keeps meaning the six boundaries every round has.
    priorities_starts: datetime | None = None

    @classmethod
    def of(cls, obj: object) -> Timeline:
        """The timeline of anything with the six boundary attributes (a round, a form),
        and the optional ``priorities_starts`` when it has one."""
        return cls(
            **{name: getattr(obj, name) for name, _phase in BOUNDARIES},
            priorities_starts=getattr(obj, PRIORITIES_BOUNDARY[0], None),
        )

    @property
    def has_priorities(self) -> bool:
        return self.priorities_starts is not None

    def boundaries(self) -> list[tuple[str, Phase, datetime]]:
        """The boundaries this timeline has, in order (the priorities stage's only when set)."""
        first = (
            [(*PRIORITIES_BOUNDARY, self.priorities_starts)]
            if self.priorities_starts is not None
            else []
        )
        return first + [(name, phase, getattr(self, name)) for name, phase in BOUNDARIES]

    def out_of_order(self) -> list[str]:
        """Names of boundaries that do not come strictly after the one before."""
        wrong = []
        items = self.boundaries()
        for (_prev_name, _p, prev_at), (name, _phase, at) in pairwise(items):
            if not at > prev_at:
                wrong.append(name)
        return wrong

    def phase_at(self, now: datetime) -> Phase:
        current = Phase.UPCOMING
        for _name, phase, starts in self.boundaries():
            if now >= starts:
                current = phase
        return current

    def next_deadline(self, now: datetime) -> tuple[str, datetime] | None:
        """What happens next and when, or None once the round has closed."""
        phase = self.phase_at(now)
        if phase == Phase.CLOSED:
            return None
        upcoming = [(name, at) for name, _phase, at in self.boundaries() if at > now]
        name, at = upcoming[0]
        if name == PRIORITIES_BOUNDARY[0]:
            return str(_("Residents' priorities open")), at
        return str(DEADLINE_LABELS[phase]), at
