"""Forms for voting: they parse the shape of input; the rules live in ``services``."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from pb_platform.dates import DateFormField
from pb_platform.text import CleanTextFormMixin
from proposals.models import Area, BudgetRound, Proposal
from voting.models import (
    EQUALITY_ANSWERS,
    OUTREACH_DESCRIPTION_MAX,
    EqualityQuestion,
    OutreachKind,
)

EQUALITY_LABELS = {
    EqualityQuestion.AGE_BAND: _("How old are you?"),
    EqualityQuestion.DISABILITY: _(
        "Do you have a health condition or disability that limits your daily activities?"
    ),
}

NOT_ON_BALLOT = _(
    "Some of your choices are not on this ballot (they may have been withdrawn). "
    "Please choose again from the list."
)


class BallotForm(forms.Form):
    """The proposals on one area's ballot as checkboxes; a forged or stale id is refused.

    Templates render the choices with ``voting/includes/ballot_choices.html``, which
    shows each proposal's cost beside it.
    """

    proposals = forms.TypedMultipleChoiceField(
        label=_("Your choices"),
        coerce=int,
        required=False,  # the service says "choose at least one" in plain words
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": NOT_ON_BALLOT},
    )

    def __init__(
        self,
        *args: Any,
        ballot_proposals: list[Proposal],
        declare_age: int | None = None,
        declared_by_officer: bool = False,
        ask_equality: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.ballot_proposals = ballot_proposals
        if ask_equality:
            # Optional, asked once (with the first ballot): only their counts are kept.
            for question, answers in EQUALITY_ANSWERS.items():
                self.fields[f"equality_{question}"] = forms.ChoiceField(
                    label=EQUALITY_LABELS[question],
                    choices=answers,
                    required=False,
                    widget=forms.RadioSelect,
                    error_messages={"invalid_choice": _("Choose one of the answers, or none.")},
                )
        self.fields["proposals"].choices = [(p.pk, p.title) for p in ballot_proposals]
        if declare_age is not None:
            # The round has a minimum age and no confirmed date of birth is known: the
            # voter declares it (recorded with the ballot); the service says if missing.
            self.fields["age_declared"] = forms.BooleanField(
                label=(
                    _("The voter declared being at least %(age)d years old")
                    if declared_by_officer
                    else _("I declare that I am at least %(age)d years old")
                )
                % {"age": declare_age},
                required=False,
            )

    def equality_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if name.startswith("equality_")]

    def equality_answers(self) -> dict[str, str]:
        """The equality questions answered (question -> answer); skipped ones left out."""
        return {
            question: answer
            for question in EQUALITY_ANSWERS
            if (answer := self.cleaned_data.get(f"equality_{question}"))
        }

    def age_is_declared(self) -> bool:
        return bool(self.cleaned_data.get("age_declared"))

    def clean_proposals(self) -> list[int]:
        # Each value was checked against the ballot already (a forged, stale or
        # non-numeric id is "not on this ballot"); the same proposal sent twice, or a
        # thousand times, is one choice.
        return sorted(set(self.cleaned_data.get("proposals") or []))

    def proposal_ids(self) -> list[int]:
        return list(self.cleaned_data.get("proposals") or [])

    def chosen_ids(self) -> set[int]:
        """What the page should show as ticked, even when the form has errors."""
        if self.is_bound:
            raw = self.data.getlist(self.add_prefix("proposals"))
            return {int(value) for value in raw if str(value).isdigit()}
        return {int(value) for value in self.initial.get("proposals", [])}


class WalkInVoterForm(CleanTextFormMixin, forms.Form):
    name = forms.CharField(label=_("Full name"), max_length=80)
    area = forms.ModelChoiceField(
        label=_("Area where they live"),
        queryset=Area.objects.filter(is_city_wide=False).order_by("name"),
        empty_label=_("Choose an area"),
        help_text=_("Check their proof of address."),
    )
    date_of_birth = DateFormField(
        label=_("Date of birth"),
        help_text=_("For example 27 3 1980. Used to tell apart people with the same name."),
    )
    register_reference = forms.CharField(
        label=_("Register reference"),
        max_length=100,
        required=False,
        help_text=_(
            "Needed when the round only counts residents matched on the council's register: "
            "the reference on their council letter. Checked with the date of birth."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )


class OutreachForm(CleanTextFormMixin, forms.Form):
    """An officer's record of outreach in one of the round's areas. The service checks
    the area, the date's range and the description again, whoever calls it."""

    area = forms.ModelChoiceField(
        label=_("Area"),
        queryset=Area.objects.none(),
        empty_label=_("Choose an area"),
        error_messages={"invalid_choice": _("Choose one of this round's areas.")},
    )
    kind = forms.ChoiceField(
        label=_("What was done"),
        choices=[("", _("Choose a kind")), *OutreachKind.choices],
        error_messages={"invalid_choice": _("Choose what kind of outreach it was.")},
    )
    happened_on = DateFormField(label=_("Date"), help_text=_("The day it happened."))
    description = forms.CharField(
        label=_("Description"),
        max_length=OUTREACH_DESCRIPTION_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Where, for whom, and what happened: shown publicly beside the area."),
    )

    def __init__(self, *args: Any, budget_round: BudgetRound, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["area"].queryset = Area.objects.filter(
            round_areas__budget_round=budget_round
        ).order_by("name")
