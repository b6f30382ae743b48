"""Forms parse and check the shape of input; the rules live in ``services``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import HttpRequest
from django.utils import formats, timezone
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

from pb_platform.dates import DateFormField, DateTimeFormField
from pb_platform.images import IMAGE_ACCEPT, PhotoField
from pb_platform.money import MoneyFormField, currency_choices, money_format
from pb_platform.text import CleanTextFormMixin, text_clean
from proposals import policies, services
from proposals.models import (
    PUBLIC_STATUSES,
    Area,
    BallotType,
    BudgetRound,
    Category,
    CountingRule,
    Proposal,
    ProposalStatus,
    RoundArea,
    VerificationRequired,
)
from proposals.models.priorities import (
    NEED_MAX_LENGTH,
    POINTS_TOTAL,
    STATEMENT_MAX_LENGTH,
    THEME_NAME_MAX_LENGTH,
    PriorityChannel,
    PriorityResponse,
)
from proposals.models.proposals import (
    COMMENT_MAX_LENGTH,
    REASON_MAX_LENGTH,
    TITLE_MAX_LENGTH,
)
from proposals.models.proposals import DESCRIPTION_MAX_LENGTH as PROPOSAL_DESCRIPTION_MAX_LENGTH
from proposals.phases import BOUNDARIES, PRIORITIES_BOUNDARY, Timeline
from proposals.services import areas as area_services
from proposals.services import rounds as round_services

MONEY_FIELD_KWARGS: dict[str, Any] = {
    "max_digits": settings.MONEY_MAX_DIGITS,
    "decimal_places": settings.MONEY_DECIMAL_PLACES,
    "min_value": Decimal("0.01"),
}


class ResidentSignupForm(forms.Form):
    """Extra sign-up fields (allauth calls ``signup`` once the account exists)."""

    display_name = forms.CharField(
        label=_("Your name"),
        max_length=80,
        help_text=_("Shown next to proposals and comments you write."),
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    area = forms.ModelChoiceField(
        label=_("The area you live in"),
        queryset=Area.objects.filter(is_city_wide=False).order_by("name"),
        empty_label=_("Choose your area"),
        help_text=_("You can vote on proposals for this area. An officer can change it later."),
    )

    def clean_display_name(self) -> str:
        # Shown beside everything the person writes: no control or direction characters.
        try:
            return text_clean(
                self.cleaned_data["display_name"], field="display_name", max_length=80
            )
        except ValidationError as error:
            raise ValidationError(error.message_dict["display_name"]) from None

    def signup(self, request: HttpRequest, user: Any) -> None:
        services.resident_register(
            user=user,
            display_name=self.cleaned_data["display_name"],
            area=self.cleaned_data["area"],
        )


class AreaForm(CleanTextFormMixin, forms.Form):
    name = forms.CharField(label=_("Name"), max_length=area_services.NAME_MAX_LENGTH)
    population = forms.IntegerField(
        label=_("Population"),
        required=False,
        min_value=0,
        max_value=area_services.POPULATION_MAX,
        error_messages={
            "max_value": _("That is more people than any area holds: the most is %(limit_value)s.")
        },
        help_text=_("Used to explain how the budget is shared between areas."),
    )
    is_city_wide = forms.BooleanField(
        label=_("This is the whole council"),
        required=False,
        help_text=_(
            "For a council-wide budget: every resident may vote on it, whatever their area. "
            "Nobody can have it as their home area."
        ),
    )

    def __init__(self, *args: Any, whole_council_frozen: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Why "whole council" can no longer change (the area took part in voting), or "".
        self.whole_council_frozen = whole_council_frozen


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%dT%H:%M")


@dataclass(frozen=True)
class FrozenField:
    """A round setting shown as plain text, with the reason it can no longer change."""

    name: str
    label: str
    value: str
    reason: str
    errors: tuple[str, ...] = ()
    frozen: bool = True


# The round form's dates, the optional priorities stage first.
_ALL_BOUNDARIES = (PRIORITIES_BOUNDARY, *BOUNDARIES)


def _round_datetime_field(label: str) -> DateTimeFormField:
    return DateTimeFormField(label=label, widget=DateTimeLocalInput())


class RoundForm(CleanTextFormMixin, forms.Form):
    name = forms.CharField(label=_("Name"), max_length=services.NAME_MAX_LENGTH)
    description = forms.CharField(
        label=_("Description"),
        required=False,
        max_length=services.DESCRIPTION_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Plain language: what the money is for and who can take part."),
    )
    currency = forms.ChoiceField(label=_("Currency"), choices=currency_choices, initial="GBP")
    total_budget = MoneyFormField(label=_("Total budget"))
    counting_rule = forms.ChoiceField(
        label=_("Counting rule"),
        choices=CountingRule.choices,
        initial=CountingRule.MES,
        widget=forms.RadioSelect,
        help_text=_(
            "Greedy funds the most-voted proposals first. Equal Shares gives every voter an "
            "equal share of the budget, so groups get proposals in proportion to their size."
        ),
    )
    ballot_type = forms.ChoiceField(
        label=_("Ballot"),
        choices=BallotType.choices,
        initial=BallotType.APPROVAL_WITHIN_BUDGET,
        widget=forms.RadioSelect,
    )
    max_choices = forms.IntegerField(
        label=_("Most proposals each voter may choose"),
        required=False,
        min_value=1,
        max_value=1000,
        help_text=_("Needed when voters choose up to a set number of proposals."),
    )
    verification_required = forms.ChoiceField(
        label=_("Eligibility check voters need"),
        choices=VerificationRequired.choices,
        initial=VerificationRequired.NONE,
        # Not sent (an older form, a script): none, as rounds had before this setting.
        required=False,
        widget=forms.RadioSelect,
        help_text=_(
            "Residents without it can still read, comment and propose; they are told why "
            "they cannot vote. Fixed once voting opens."
        ),
    )
    asks_equality_questions = forms.BooleanField(
        label=_("Ask voters the optional equality questions (age band, disability)"),
        required=False,
        help_text=_(
            "Online voters may answer or skip them when they first vote. Only the counts "
            "are kept, never who answered, and they are published on “Who took part” "
            "once voting has closed. Fixed once voting opens."
        ),
    )
    minimum_age = forms.IntegerField(
        label=_("Minimum age to vote"),
        required=False,
        min_value=1,
        max_value=120,
        help_text=_(
            "Checked against the date of birth the register confirmed; voters without one "
            "declare it on their ballot. Fixed once voting opens."
        ),
    )
    priorities_starts = DateTimeFormField(
        label=_("Residents' priorities open (optional)"),
        required=False,
        widget=DateTimeLocalInput(),
        help_text=_(
            "Leave empty for no priorities stage. When set, residents spread 100 points over "
            "the round's categories from this time until proposal submission opens."
        ),
    )
    submission_starts = _round_datetime_field(_("Proposal submission opens"))
    review_starts = _round_datetime_field(_("Submission closes and review starts"))
    voting_starts = _round_datetime_field(_("Voting opens"))
    voting_ends = _round_datetime_field(_("Voting closes (results are counted)"))
    delivery_starts = _round_datetime_field(_("Delivery starts"))
    delivery_ends = _round_datetime_field(_("Delivery ends"))
    reason = forms.CharField(
        label=_("Reason for the change"),
        required=False,
        max_length=round_services.REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Needed when you extend voting after it opened. Shown in the round's history."),
    )

    def __init__(
        self,
        *args: Any,
        areas: list[Area],
        frozen: Mapping[str, str] | None = None,
        editing: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.areas = areas
        # Field name -> why it can no longer change (``policies.round_frozen_fields``).
        self.frozen = dict(frozen or {})
        self.editing = editing
        if not editing:
            del self.fields["reason"]
        for area in areas:
            self.fields[self.area_field_name(area)] = MoneyFormField(
                label=area.name,
                required=False,
                help_text=_("Leave empty if this area is not part of the round."),
            )
        for name in self._frozen_field_names():
            self.fields[name].required = False

    def _frozen_field_names(self) -> list[str]:
        names = [name for name in self.frozen if name in self.fields]
        if policies.AREA_BUDGETS in self.frozen:
            names += [self.area_field_name(area) for area in self.areas]
        return names

    @staticmethod
    def area_field_name(area: Area) -> str:
        return f"area_{area.pk}"

    @classmethod
    def initial_for(cls, budget_round: BudgetRound) -> dict[str, Any]:
        initial: dict[str, Any] = {
            name: getattr(budget_round, name)
            for name in (
                "name",
                "description",
                "currency",
                "total_budget",
                "counting_rule",
                "ballot_type",
                "max_choices",
                "verification_required",
                "minimum_age",
                "asks_equality_questions",
                *(boundary for boundary, _p in _ALL_BOUNDARIES),
            )
        }
        for round_area in budget_round.round_areas.all():
            initial[cls.area_field_name(round_area.area)] = round_area.budget
        return initial

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        for name in self._frozen_field_names():
            if isinstance(self.fields[name], forms.BooleanField):
                # A frozen tick box is shown as text, so it is never sent: nothing to
                # compare, the stored value stands.
                cleaned[name] = self.initial.get(name)
                continue
            sent = cleaned.get(name)
            stored = self.initial.get(name)
            if sent not in (None, "") and not _same(sent, stored):
                reason = self.frozen.get(name) or self.frozen[policies.AREA_BUDGETS]
                self.add_error(
                    name, _("This can no longer be changed. %(reason)s") % {"reason": reason}
                )
            # What the round holds, whatever was sent: the service compares with it.
            cleaned[name] = stored
        # A time shown to the minute and sent back unchanged keeps its stored seconds.
        for name, _p in _ALL_BOUNDARIES:
            sent, stored = cleaned.get(name), self.initial.get(name)
            if isinstance(sent, datetime) and isinstance(stored, datetime) and _same(sent, stored):
                cleaned[name] = stored
        return cleaned

    def rows(self, names: list[str]) -> list[forms.BoundField | FrozenField]:
        return [self._row(name) for name in names]

    def _row(self, name: str) -> forms.BoundField | FrozenField:
        if name not in self.frozen:
            return self[name]
        field = self.fields[name]
        value = self.initial.get(name)
        if isinstance(value, datetime):
            text = formats.date_format(timezone.localtime(value), "DATETIME_FORMAT")
        elif name == "total_budget" and value is not None:
            text = money_format(value, self.initial.get("currency", ""))
        elif isinstance(field, forms.ChoiceField):
            text = str(dict(field.choices).get(value, value))
        elif isinstance(field, forms.BooleanField):
            text = str(_("Yes") if value else _("No"))
        else:
            text = "–" if value in (None, "") else str(value)
        return FrozenField(
            name=name,
            label=str(field.label),
            value=text,
            reason=self.frozen[name],
            errors=tuple(self.errors.get(name, ())) if self.is_bound else (),
        )

    def money_rows(self) -> list[forms.BoundField | FrozenField]:
        return self.rows(["currency", "total_budget"])

    def ballot_rows(self) -> list[forms.BoundField | FrozenField]:
        return self.rows(["ballot_type", "max_choices", "counting_rule"])

    def eligibility_rows(self) -> list[forms.BoundField | FrozenField]:
        return self.rows(["verification_required", "minimum_age", "asks_equality_questions"])

    def timeline_fields(self) -> list[forms.BoundField | FrozenField]:
        return self.rows([name for name, _p in _ALL_BOUNDARIES])

    def area_fields(self) -> list[forms.BoundField | FrozenField]:
        if policies.AREA_BUDGETS not in self.frozen:
            return [self[self.area_field_name(area)] for area in self.areas]
        shares = [
            f"{area.name}: {money_format(budget, self.initial.get('currency', ''))}"
            for area in self.areas
            if (budget := self.initial.get(self.area_field_name(area))) is not None
        ]
        errors = [
            f"{area.name}: {message}"
            for area in self.areas
            for message in (
                self.errors.get(self.area_field_name(area), []) if self.is_bound else []
            )
        ]
        return [
            FrozenField(
                name=policies.AREA_BUDGETS,
                label=str(_("Areas and their budgets")),
                value="; ".join(shares),
                reason=self.frozen[policies.AREA_BUDGETS],
                errors=tuple(errors),
            )
        ]

    def to_config(self) -> services.RoundConfig:
        data = self.cleaned_data
        return services.RoundConfig(
            name=data["name"],
            description=data["description"],
            currency=data["currency"],
            total_budget=data["total_budget"],
            counting_rule=data["counting_rule"],
            ballot_type=data["ballot_type"],
            max_choices=data["max_choices"],
            timeline=Timeline(
                **{name: data[name] for name, _p in BOUNDARIES},
                priorities_starts=data.get(PRIORITIES_BOUNDARY[0]),
            ),
            verification_required=data["verification_required"] or VerificationRequired.NONE,
            minimum_age=data["minimum_age"],
            asks_equality_questions=bool(data.get("asks_equality_questions")),
        )

    def to_area_budgets(self) -> dict[Area, Decimal]:
        budgets = {}
        for area in self.areas:
            amount = self.cleaned_data.get(self.area_field_name(area))
            if amount is not None:
                budgets[area] = amount
        return budgets


def _same(sent: Any, stored: Any) -> bool:
    """Whether a value sent back by the form is the stored one (times to the minute the
    form shows them in)."""
    if isinstance(sent, datetime) and isinstance(stored, datetime):
        return sent.replace(second=0, microsecond=0) == stored.replace(second=0, microsecond=0)
    if isinstance(stored, Decimal) and isinstance(sent, Decimal):
        return sent == stored
    return str(sent) == str(stored)


class ResidentAreaForm(CleanTextFormMixin, forms.Form):
    area = forms.ModelChoiceField(
        label=_("New area"), queryset=Area.objects.filter(is_city_wide=False).order_by("name")
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Recorded in the audit history, e.g. “moved house, proof of address seen”."),
    )


# --- Proposals --------------------------------------------------------------------------


class RoundAreaChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return obj.area.name


class ProposalForm(CleanTextFormMixin, forms.Form):
    title = forms.CharField(
        label=_("Title"),
        max_length=TITLE_MAX_LENGTH,
        help_text=_("A short name for your idea, e.g. “Benches along the river path”."),
    )
    description = forms.CharField(
        label=_("Describe your idea"),
        max_length=PROPOSAL_DESCRIPTION_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_("What should be done, where, and who would it help? Plain text."),
    )
    round_area = RoundAreaChoiceField(
        label=_("Area"), queryset=RoundArea.objects.none(), empty_label=None
    )
    category = forms.ModelChoiceField(
        label=_("Category"),
        queryset=Category.objects.none(),
        required=False,
        empty_label=_("No category"),
    )
    estimated_cost = MoneyFormField(
        label=_("What do you think it would cost?"),
        help_text=_(
            "Your best guess in the round's currency, in figures such as 1250.50. "
            "Officers will check it."
        ),
    )
    location = forms.CharField(
        label=_("Where"),
        max_length=200,
        required=False,
        help_text=_("A street, park or landmark."),
    )
    image = PhotoField(
        label=_("Photo or drawing"),
        required=False,
        help_text=_("JPEG, PNG or WebP, up to 5 MB."),
        widget=forms.ClearableFileInput(attrs={"accept": IMAGE_ACCEPT}),
    )
    image_description = forms.CharField(
        label=_("Describe the image"),
        max_length=200,
        required=False,
        help_text=_("For people who cannot see it. Needed if you add an image."),
    )

    def __init__(
        self,
        *args: Any,
        budget_round: BudgetRound,
        user: Any = None,
        proposal: Proposal | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.budget_round = budget_round
        # Only the areas this person may propose in (``policies.can_propose_in``): their
        # home area and any whole-council area, and, when editing, where the idea is.
        profile = getattr(user, "resident_profile", None) if user is not None else None
        home_area_id = profile.area_id if profile is not None else None
        allowed = Q(area__is_city_wide=True) | Q(area_id=home_area_id)
        if proposal is not None:
            allowed |= Q(pk=proposal.round_area_id)
        self.fields["round_area"].queryset = budget_round.round_areas.filter(
            allowed
        ).select_related("area")
        if proposal is None and "round_area" not in self.initial:
            self.initial["round_area"] = next(
                (ra.pk for ra in budget_round.round_areas.all() if ra.area_id == home_area_id),
                None,
            )
        categories = budget_round.categories.all()
        self.fields["category"].queryset = categories
        self.fields["image"].widget.clear_checkbox_label = _("Remove the current image")

    @classmethod
    def initial_for(cls, proposal: Proposal) -> dict[str, Any]:
        return {
            "title": proposal.title,
            "description": proposal.description,
            "round_area": proposal.round_area_id,
            "category": proposal.category_id,
            "estimated_cost": proposal.estimated_cost,
            "location": proposal.location,
            "image": proposal.image,
            "image_description": proposal.image_description,
        }

    def to_content(self) -> services.ProposalContent:
        data = self.cleaned_data
        image = data.get("image")
        return services.ProposalContent(
            title=data["title"],
            description=data["description"],
            round_area=data["round_area"],
            category=data["category"],
            estimated_cost=data["estimated_cost"],
            location=data["location"],
            # False means "clear" (ClearableFileInput); an existing FieldFile means "keep".
            image=image if image and hasattr(image, "content_type") else None,
            image_description=data["image_description"],
            remove_image=image is False,
        )


class ProposalFilterForm(CleanTextFormMixin, forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    area = forms.TypedChoiceField(label=_("Area"), required=False, coerce=int, empty_value=None)
    category = forms.TypedChoiceField(
        label=_("Category"), required=False, coerce=int, empty_value=None
    )
    status = forms.ChoiceField(label=_("Status"), required=False)
    sort = forms.ChoiceField(
        label=_("Sort by"),
        required=False,
        choices=[
            ("newest", _("Newest first")),
            ("support", _("Most supported first")),
            ("cost", _("Cost, lowest first")),
            ("cost_desc", _("Cost, highest first")),
            ("title", _("Title, A to Z")),
        ],
    )

    def __init__(self, *args: Any, budget_round: BudgetRound, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        everything = [("", _("All"))]
        self.fields["area"].choices = everything + [
            (ra.pk, ra.area.name) for ra in budget_round.round_areas.all()
        ]
        self.fields["category"].choices = everything + [
            (c.pk, c.name) for c in budget_round.categories.all()
        ]
        self.fields["status"].choices = everything + [
            (value, label) for value, label in ProposalStatus.choices if value in PUBLIC_STATUSES
        ]

    def filters(self) -> dict[str, Any]:
        if not self.is_valid():
            return {}
        data = self.cleaned_data
        return {
            "round_area_id": data["area"],
            "category_id": data["category"],
            "status": data["status"] or None,
            "search": data["q"],
            "sort": data["sort"] or "newest",
        }


class ReviewForm(CleanTextFormMixin, forms.Form):
    decision = forms.ChoiceField(
        label=_("Decision"),
        widget=forms.RadioSelect,
        choices=[
            ("feasible", _("Feasible: put it on the ballot")),
            ("not_feasible", _("Not feasible")),
        ],
    )
    official_cost = MoneyFormField(
        label=_("Official cost"),
        required=False,
        help_text=_("Needed when feasible. It must fit in the area's budget."),
    )
    reason = forms.CharField(
        label=_("Public reason"),
        required=False,
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Shown to everyone. Needed when not feasible."),
    )


class ReturnForm(CleanTextFormMixin, forms.Form):
    message = forms.CharField(
        label=_("Message to the author"),
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What should they improve? Shown publicly in the history."),
    )


class DuplicateForm(CleanTextFormMixin, forms.Form):
    original = forms.ModelChoiceField(label=_("Duplicate of"), queryset=Proposal.objects.none())
    duplicate_reason = forms.CharField(
        label=_("Public reason"),
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, proposal: Proposal, **kwargs: Any) -> None:
        from proposals.selectors import proposals_for_duplicate_choice

        super().__init__(*args, **kwargs)
        self.fields["original"].queryset = proposals_for_duplicate_choice(proposal=proposal)


class MergeForm(CleanTextFormMixin, forms.Form):
    """An officer proposes merging another proposal of the same area into this one."""

    absorbed = forms.ModelChoiceField(
        label=_("The proposal to merge into this one"),
        queryset=Proposal.objects.none(),
        help_text=_("Proposals of the same area whose text can still change."),
    )
    merge_title = forms.CharField(label=_("Merged title"), max_length=TITLE_MAX_LENGTH)
    merge_description = forms.CharField(
        label=_("Merged description"),
        max_length=PROPOSAL_DESCRIPTION_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 8}),
    )
    merge_cost = MoneyFormField(label=_("Merged cost estimate"))
    merge_reason = forms.CharField(
        label=_("Why merge them"),
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Shown to everyone, with each side's answer."),
    )

    def __init__(self, *args: Any, proposal: Proposal, **kwargs: Any) -> None:
        from proposals.selectors import proposals_to_merge_with

        super().__init__(*args, **kwargs)
        self.fields["absorbed"].queryset = proposals_to_merge_with(proposal=proposal)


def _up_to_characters(most: int) -> str:
    """ "Up to 2,000 characters." in the reader's language and number format, worked out
    when shown ("%" on a lazy message would translate it once, at import)."""
    return _("Up to %(n)s characters.") % {"n": formats.number_format(most, force_grouping=True)}


class CommentForm(CleanTextFormMixin, forms.Form):
    body = forms.CharField(
        label=_("Your comment"),
        max_length=COMMENT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=lazy(lambda: _up_to_characters(COMMENT_MAX_LENGTH), str)(),
    )
    # Set by the reply box: the comment answered. Its own message, never a server error,
    # for an id that is not a number.
    parent = forms.IntegerField(
        label=_("Reply to"),
        required=False,
        min_value=1,
        widget=forms.HiddenInput,
        error_messages={
            "invalid": _("The comment you replied to could not be found. Nothing was saved."),
            "min_value": _("The comment you replied to could not be found. Nothing was saved."),
        },
    )


class HideCommentForm(CleanTextFormMixin, forms.Form):
    reason = forms.CharField(
        label=_("Why hide this comment?"),
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Recorded in the proposal's public history."),
    )


class CategoryForm(CleanTextFormMixin, forms.Form):
    name = forms.CharField(
        label=_("Category name"),
        max_length=80,
        help_text=_("Up to 80 characters, e.g. “Parks and green spaces”."),
    )


# --- The resident register and eligibility ------------------------------------------------


class RegisterUploadForm(forms.Form):
    file = forms.FileField(
        label=_("Register file (CSV)"),
        help_text=_(
            "UTF-8 text (with or without a byte order mark) with a header row naming the "
            "columns reference, date_of_birth (YYYY-MM-DD) or postcode, and area (its name or "
            "its short name). “Check only” reports what the file would do and changes nothing."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )


class EligibilityRegisterForm(forms.Form):
    """What the council's register knows of a person: a reference and a second fact."""

    reference = forms.CharField(
        label=_("Reference number"),
        max_length=100,
        help_text=_("As printed on your council tax bill or electoral registration letter."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    date_of_birth = DateFormField(label=_("Date of birth"), required=False)
    postcode = forms.CharField(
        label=_("Postcode"),
        max_length=10,
        required=False,
        help_text=_("Only if you do not give your date of birth."),
        widget=forms.TextInput(attrs={"autocomplete": "postal-code"}),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        given = cleaned.get("date_of_birth") or (cleaned.get("postcode") or "").strip()
        if not given and "date_of_birth" not in self.errors:
            raise forms.ValidationError(_("Give your date of birth or your postcode."))
        return cleaned


class EligibilityCodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code from your letter"),
        max_length=30,
        help_text=_("For example ABCD-EFGH-JKLM. Capitals or not, with or without the dashes."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )


class VerificationCodesForm(forms.Form):
    area = forms.ModelChoiceField(
        label=_("Area the letters go to"),
        queryset=Area.objects.filter(is_city_wide=False).order_by("name"),
    )
    count = forms.IntegerField(
        label=_("Number of codes"),
        min_value=1,
        max_value=500,
        help_text=_("At most 500 at a time. Each code is shown once, on the sheet to print."),
    )


class CoauthorInviteForm(forms.Form):
    email = forms.EmailField(
        label=_("Their email address"),
        max_length=254,
        help_text=_(
            "We email them a link. They sign in (or create an account) with this address to accept."
        ),
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )


class CoDesignForm(CleanTextFormMixin, forms.Form):
    """An officer's offer: a revised description, a cost, or both, and why."""

    cost = MoneyFormField(
        label=_("Cost the council would set"),
        required=False,
        help_text=_(
            "If the authors accept, this becomes the official cost and the proposal goes on "
            "the ballot. Leave it empty to suggest only a new description."
        ),
    )
    description = forms.CharField(
        label=_("Revised description"),
        required=False,
        max_length=PROPOSAL_DESCRIPTION_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("Leave it as it is to suggest only a cost."),
    )
    reason = forms.CharField(
        label=_("Why you suggest it"),
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Shown to everyone on the proposal's page, with the authors' answer."),
    )


class CoDesignAnswerForm(CleanTextFormMixin, forms.Form):
    reply = forms.CharField(
        label=_("Your answer (optional)"),
        required=False,
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Shown to everyone with the offer."),
    )


class AmendmentForm(CleanTextFormMixin, forms.Form):
    """A resident's suggested change: the whole description as they would have it, an
    estimate if they think it costs something else, and why."""

    description = forms.CharField(
        label=_("The description as you would write it"),
        max_length=PROPOSAL_DESCRIPTION_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 10}),
        help_text=_(
            "It starts as the proposal reads now: change what you would change. The "
            "authors see exactly what your version changes."
        ),
    )
    estimated_cost = MoneyFormField(
        label=_("A different estimate"),
        required=False,
        help_text=_("Only if you think the idea would cost something else. Leave it empty."),
    )
    reason = forms.CharField(
        label=_("Why you suggest it"),
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Shown to everyone on the proposal's page, with the authors' answer."),
    )


class ReplyForm(CleanTextFormMixin, forms.Form):
    """The authors' public answer to a suggested change or a proposed merge (the
    services require it when they decline)."""

    reply = forms.CharField(
        label=_("Your reply"),
        required=False,
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Public. Needed when you decline: say why."),
    )


# --- Residents' priorities ------------------------------------------------------------------


class PrioritiesForm(CleanTextFormMixin, forms.Form):
    """100 points over the round's themes (one number box each) and an optional need.
    Whether they add up to 100 is the service's rule (its message goes above the boxes)."""

    need = forms.CharField(
        label=_("A need in your area, in a few sentences"),
        required=False,
        max_length=NEED_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_(
            "Up to 600 characters. Council officers read it; it is never published. "
            "Please do not name anyone."
        ),
    )

    def __init__(
        self, *args: Any, themes: list[Category], paper: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.themes = themes
        points = {
            self.theme_field_name(theme): forms.IntegerField(
                label=theme.name,
                required=False,
                min_value=0,
                max_value=POINTS_TOTAL,
                widget=forms.NumberInput(attrs={"inputmode": "numeric", "step": 1}),
                error_messages={"invalid": _("Enter a whole number of points.")},
            )
            for theme in themes
        }
        need = self.fields.pop("need")
        self.fields.update(points)
        if paper:
            self.fields["channel"] = forms.ChoiceField(
                label=_("Collected"),
                choices=[
                    (PriorityChannel.PAPER, PriorityChannel.PAPER.label),
                    (PriorityChannel.EVENT, PriorityChannel.EVENT.label),
                ],
                widget=forms.RadioSelect,
            )
        self.fields["need"] = need

    @staticmethod
    def theme_field_name(theme: Category) -> str:
        return f"theme_{theme.pk}"

    @classmethod
    def initial_for(cls, response: PriorityResponse | None) -> dict[str, Any]:
        if response is None:
            return {}
        initial: dict[str, Any] = {"need": response.need}
        for given in response.points.all():
            initial[f"theme_{given.category_id}"] = given.points
        return initial

    def theme_fields(self) -> list[forms.BoundField]:
        return [self[self.theme_field_name(theme)] for theme in self.themes]

    def other_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in ("channel", "need") if name in self.fields]

    def to_points(self) -> dict[int, int]:
        return {
            theme.pk: self.cleaned_data.get(self.theme_field_name(theme)) or 0
            for theme in self.themes
        }


class ThemeSuggestionForm(CleanTextFormMixin, forms.Form):
    name = forms.CharField(
        label=_("A theme that is missing"),
        max_length=THEME_NAME_MAX_LENGTH,
        help_text=_(
            "One per person. An officer adds it to the list or says why not; we email you "
            "their decision."
        ),
    )


class ThemeDecisionForm(CleanTextFormMixin, forms.Form):
    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[("approve", _("Add it as a theme")), ("reject", _("Do not add it"))],
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        label=_("Reason (shown to the resident)"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Needed when you do not add it."),
    )


class PrioritiesStatementForm(CleanTextFormMixin, forms.Form):
    text = forms.CharField(
        label=_("What we will do with this"),
        max_length=STATEMENT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("A few plain sentences. Shown on the round page and the area's results."),
    )
