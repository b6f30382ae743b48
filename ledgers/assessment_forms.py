"""Forms for assessments: they parse the shape; ``ledgers.assessments`` decides."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from ledgers.assessments import CRITERIA_MAX, score_field
from ledgers.models import (
    ASSESSMENT_COMMENT_MAX,
    ASSESSMENT_WINDOW_MONTHS_MAX,
    SCORE_MAX,
    SCORE_MIN,
    AssessmentCriterion,
)
from pb_platform.text import CleanTextFormMixin

SCORE_LABELS = {
    1: _("1 – very poor"),
    2: _("2 – poor"),
    3: _("3 – fair"),
    4: _("4 – good"),
    5: _("5 – very good"),
}


class AssessmentForm(CleanTextFormMixin, forms.Form):
    """One radio group per criterion (1 to 5) and a comment."""

    comment = forms.CharField(
        label=_("Comment (optional)"),
        required=False,
        max_length=ASSESSMENT_COMMENT_MAX,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_(
            "What works, what does not, for whom. Shown publicly with your first name and "
            "area (or “invited service user”); the council replies."
        ),
    )

    def __init__(self, *args: Any, criteria: list[AssessmentCriterion], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.criteria = criteria
        scores: dict[str, forms.Field] = {}
        for criterion in criteria:
            scores[score_field(criterion)] = forms.TypedChoiceField(
                label=criterion.name,
                choices=[(score, SCORE_LABELS[score]) for score in range(SCORE_MIN, SCORE_MAX + 1)],
                coerce=int,
                widget=forms.RadioSelect,
                error_messages={
                    "required": _("Choose a score for “%(name)s”.") % {"name": criterion.name},
                    "invalid_choice": _("Choose a score from 1 to 5."),
                },
            )
        # Scores first, then the comment.
        self.fields = {**scores, "comment": self.fields["comment"]}

    def scores(self) -> dict[int, int]:
        return {c.position: self.cleaned_data[score_field(c)] for c in self.criteria}

    def score_fields(self) -> list[forms.BoundField]:
        return [self[score_field(c)] for c in self.criteria]


class AssessmentInviteForm(CleanTextFormMixin, forms.Form):
    email = forms.EmailField(
        label=_("Email address"),
        max_length=254,
        help_text=_("The link is sent here and works once, for 30 days."),
    )
    note = forms.CharField(
        label=_("Note for officers (optional)"),
        required=False,
        max_length=200,
        help_text=_("Who this is, e.g. “Day centre user group”. Not shown publicly."),
    )


class AssessmentReplyForm(CleanTextFormMixin, forms.Form):
    reply = forms.CharField(
        label=_("Public reply"),
        max_length=ASSESSMENT_COMMENT_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Shown under the assessment on the proposal's page."),
    )


class AssessmentHideForm(CleanTextFormMixin, forms.Form):
    reason = forms.CharField(
        label=_("Why hide this comment"),
        max_length=500,
        help_text=_("Shown instead of the comment. The scores still count."),
    )


class AssessmentSetupForm(CleanTextFormMixin, forms.Form):
    window_months = forms.IntegerField(
        label=_("Months open after delivery"),
        min_value=1,
        max_value=ASSESSMENT_WINDOW_MONTHS_MAX,
        help_text=_("How long after a proposal is delivered people can assess it (1 to 36)."),
    )
    criteria = forms.CharField(
        label=_("Criteria, one per line"),
        widget=forms.Textarea(attrs={"rows": CRITERIA_MAX}),
        # CRITERIA_MAX, in words: a lazy text cannot be interpolated at import.
        help_text=_(
            "Each is rated from 1 to 5; at most six. They cannot change once someone has "
            "assessed one of the round's proposals."
        ),
    )

    def criteria_lines(self) -> list[str]:
        return self.cleaned_data["criteria"].splitlines()
