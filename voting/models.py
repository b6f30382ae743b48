"""Ballots and results.

Secrecy: a ``Ballot`` knows its voter only so that each person votes once per area (a
database constraint) and may change their vote until voting closes. No page, export or
admin screen shows the voter beside the choices; receipts let voters check their
ballot was counted without revealing it.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from pb_platform.money import money_field
from proposals.models import Area, BudgetRound, CountingRule, Proposal, RoundArea


class BallotChannel(models.TextChoices):
    ONLINE = "online", _("Online")
    PAPER = "paper", _("Paper, recorded by an officer")
    IMPORTED = "imported", _("Imported historical ballot")


class Ballot(models.Model):
    round_area = models.ForeignKey(RoundArea, on_delete=models.PROTECT, related_name="ballots")
    # Empty only for imported historical ballots, which are anonymous.
    voter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="ballots",
    )
    channel = models.CharField(max_length=10, choices=BallotChannel.choices)
    # The officer who recorded a paper ballot.
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    receipt_code = models.CharField(max_length=24, unique=True)
    cast_at = models.DateTimeField(default=timezone.now)
    changed_at = models.DateTimeField(default=timezone.now)
    # History only: when the receipt was emailed, for ballots saved before emails moved to
    # the platform's outbox (``pb_platform.OutboxEmail``). Nothing reads or needs it now.
    receipt_emailed_at = models.DateTimeField(null=True, blank=True)
    # The voter declared being at least the round's minimum age (asked only when no
    # confirmed date of birth is known; the officer ticks it for a paper ballot).
    age_declared = models.BooleanField(default=False)

    class Meta:
        permissions = [
            ("cast_ballot", "Can vote online"),
            ("record_paper_ballot", "Can record paper ballots and register walk-in voters"),
            ("view_turnout", "Can see turnout per area and channel"),
        ]
        constraints = [
            # One ballot per person per area, whatever the channel.
            models.UniqueConstraint(fields=["round_area", "voter"], name="one_ballot_per_voter"),
            models.CheckConstraint(
                condition=Q(channel__in=BallotChannel.values), name="ballot_channel_known"
            ),
            models.CheckConstraint(
                condition=(Q(channel=BallotChannel.IMPORTED) & Q(voter__isnull=True))
                | (~Q(channel=BallotChannel.IMPORTED) & Q(voter__isnull=False)),
                name="ballot_voter_unless_imported",
            ),
            models.CheckConstraint(
                condition=~Q(channel=BallotChannel.PAPER) | Q(recorded_by__isnull=False),
                name="paper_ballot_has_officer",
            ),
        ]

    def __str__(self) -> str:
        return f"Ballot {self.receipt_code}"


class BallotChoice(models.Model):
    ballot = models.ForeignKey(Ballot, on_delete=models.CASCADE, related_name="choices")
    proposal = models.ForeignKey(Proposal, on_delete=models.PROTECT, related_name="ballot_choices")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["ballot", "proposal"], name="choice_once_per_ballot")
        ]

    def __str__(self) -> str:
        return f"{self.ballot_id} -> {self.proposal_id}"


class AreaResult(models.Model):
    """The count of one area of a round, by the round's declared rule."""

    round_area = models.OneToOneField(RoundArea, on_delete=models.PROTECT, related_name="result")
    rule = models.CharField(max_length=16, choices=CountingRule.choices)
    ballots_counted = models.PositiveIntegerField()
    budget = money_field()
    budget_used = money_field()
    counted_at = models.DateTimeField()
    published_at = models.DateTimeField(null=True, blank=True)
    # When the voters who asked were emailed about it (claimed once, by the notify job).
    voters_notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(budget_used__gte=0) & Q(budget_used__lte=models.F("budget")),
                name="result_within_budget",
            ),
            models.CheckConstraint(
                condition=Q(voters_notified_at__isnull=True) | Q(published_at__isnull=False),
                name="result_notified_only_when_published",
            ),
        ]

    def __str__(self) -> str:
        return f"Result for {self.round_area_id}"


class ResultExplanation(models.Model):
    """Why each proposal of a published area won or lost, and how fair the outcome is:
    computed once after publication (its own job item, so it never delays a result) from
    the same ballots, and stored as exact fractions in JSON ("n/d" strings).

    ``data["rule"]`` is ``voting.explain``'s explanation of the round's rule (Equal Shares
    or greedy); ``data["fairness"]`` the fairness figures of the published outcome and of
    what the other rule would have funded (``voting.fairness``, rounded to 12 places);
    ``data["step_payers"]``, under Equal Shares, how many voters paid for each step and how
    many of them in full. Never a voter-by-proposal table: a voter's payments are replayed from
    the steps' prices and their own ballot when they look.
    """

    result = models.OneToOneField(AreaResult, on_delete=models.CASCADE, related_name="explanation")
    data = models.JSONField()
    software_version = models.CharField(max_length=40)
    computed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"Explanation of result {self.result_id}"


class ResultLine(models.Model):
    result = models.ForeignKey(AreaResult, on_delete=models.CASCADE, related_name="lines")
    proposal = models.ForeignKey(Proposal, on_delete=models.PROTECT, related_name="result_lines")
    votes = models.PositiveIntegerField()
    cost = money_field()
    funded = models.BooleanField()
    # 1, 2, ... in the order the rule selected the funded proposals.
    selection_order = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["selection_order", "-votes", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["result", "proposal"], name="result_line_once"),
            models.CheckConstraint(
                condition=Q(funded=True, selection_order__isnull=False)
                | Q(funded=False, selection_order__isnull=True),
                name="funded_lines_have_order",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.proposal_id}: {self.votes}"


class ResultFileImmutableError(Exception):
    """A stored result file is never changed or deleted: it is what people downloaded."""


class ResultFile(models.Model):
    """The anonymised Pabulib ``.pb`` file of a published result, generated once when
    the result is published and served byte for byte ever after, so that a SHA-256
    noted by one resident matches the file every other resident downloads.

    ``content`` is the file's text; its bytes are ``content`` in UTF-8 (lines end in
    ``\\n``), and ``sha256`` is their hex digest. Never updated: the model refuses, and
    on PostgreSQL a trigger refuses UPDATE and DELETE for every role.
    """

    result = models.OneToOneField(
        AreaResult, on_delete=models.PROTECT, primary_key=True, related_name="file"
    )
    content = models.TextField()
    sha256 = models.CharField(max_length=64)
    generated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(sha256__regex=r"^[0-9a-f]{64}$"), name="result_file_sha256_hex"
            )
        ]

    def __str__(self) -> str:
        return f"Result file {self.result_id} ({self.sha256[:12]})"

    def save(self, *args: object, **kwargs: object) -> None:
        if not self._state.adding:
            raise ResultFileImmutableError("A stored result file is never changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise ResultFileImmutableError("A stored result file is never deleted.")

    @property
    def data(self) -> bytes:
        """The file's bytes, exactly as served and hashed."""
        return self.content.encode("utf-8")


class OutreachKind(models.TextChoices):
    EVENT = "event", _("Event")
    LEAFLET = "leaflet", _("Leaflet drop")
    ASSISTED_VOTING = "assisted_voting", _("Assisted-voting session")
    OTHER = "other", _("Other")


OUTREACH_DESCRIPTION_MAX = 500


class OutreachAction(models.Model):
    """Something the council did to reach the people of an area during a round (a stall,
    leaflets, a session helping people vote), shown publicly beside that area's
    participation, so that an under-represented area can be seen to have been worked on.
    Recorded by an officer (``voting.services.outreach.outreach_record``); who recorded
    it is kept for the record, never shown publicly."""

    budget_round = models.ForeignKey(
        BudgetRound, on_delete=models.CASCADE, related_name="outreach_actions"
    )
    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="outreach_actions")
    kind = models.CharField(max_length=20, choices=OutreachKind.choices)
    happened_on = models.DateField()
    description = models.TextField(max_length=OUTREACH_DESCRIPTION_MAX)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["happened_on", "pk"]
        permissions = [("record_outreach", "Can record outreach actions against areas")]
        indexes = [models.Index(fields=["budget_round", "area"], name="outreach_round_area")]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=OutreachKind.values), name="outreach_kind_known"
            ),
            models.CheckConstraint(
                condition=~Q(description=""), name="outreach_description_required"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} in {self.area_id} on {self.happened_on}"


# --- Equality monitoring: counts only ---------------------------------------------------


class EqualityQuestion(models.TextChoices):
    AGE_BAND = "age_band", _("Age")
    DISABILITY = "disability", _("Disability")


# The answers of each question, in the order they are offered and published.
EQUALITY_ANSWERS: dict[str, list[tuple[str, Any]]] = {
    EqualityQuestion.AGE_BAND: [
        ("16-24", _("16 to 24")),
        ("25-34", _("25 to 34")),
        ("35-49", _("35 to 49")),
        ("50-64", _("50 to 64")),
        ("65-74", _("65 to 74")),
        ("75+", _("75 or over")),
        ("under-16", _("Under 16")),
        ("not-said", _("Prefer not to say")),
    ],
    EqualityQuestion.DISABILITY: [
        ("yes", _("Yes")),
        ("no", _("No")),
        ("not-said", _("Prefer not to say")),
    ],
}


class EqualityTally(models.Model):
    """How many online voters of a round gave each answer to an optional equality
    question. Only counts: no row per person, no time, nothing that leads back to a
    ballot or a voter (a row per answer would betray its order, and so its ballot)."""

    budget_round = models.ForeignKey(
        BudgetRound, on_delete=models.CASCADE, related_name="equality_tallies"
    )
    question = models.CharField(max_length=12, choices=EqualityQuestion.choices)
    answer = models.CharField(max_length=12)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["budget_round", "question", "answer"], name="equality_tally_once"
            ),
            models.CheckConstraint(
                condition=Q(question__in=EqualityQuestion.values),
                name="equality_tally_question_known",
            ),
            models.CheckConstraint(
                condition=Q(
                    question=EqualityQuestion.AGE_BAND,
                    answer__in=[a for a, _l in EQUALITY_ANSWERS[EqualityQuestion.AGE_BAND]],
                )
                | Q(
                    question=EqualityQuestion.DISABILITY,
                    answer__in=[a for a, _l in EQUALITY_ANSWERS[EqualityQuestion.DISABILITY]],
                ),
                name="equality_tally_answer_known",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.budget_round_id} {self.question}={self.answer}: {self.count}"
