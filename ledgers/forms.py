"""Forms for officers' ledger entries: they parse the shape; rules live in services.

Amounts are parsed by ``MoneyFormField`` (``money_parse``, the same parser the services
use, so "1e30" or "1,000" get the same message whichever way they came), dates by
``DateFormField`` and texts checked by ``CleanTextFormMixin``; the services check again
whoever calls them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ledgers import services
from ledgers.models import MILESTONE_TITLE_MAX, DeliveryStatus, Milestone
from pb_platform.dates import DateFormField
from pb_platform.images import IMAGE_ACCEPT, PhotoField
from pb_platform.money import MoneyFormField
from pb_platform.text import CleanTextFormMixin
from proposals.models import Area, BudgetRound

# A label or help text: plain or translated lazily.
Label = str | Promise

AMOUNT_HELP = _("In pounds and pence (or the round's currency), e.g. 1250.00.")


def _amount() -> MoneyFormField:
    return MoneyFormField(label=_("Amount"), help_text=AMOUNT_HELP)


def _date(label: Label, help_text: Label = "") -> DateFormField:
    return DateFormField(label=label, help_text=help_text)


def _reason(
    label: Label, *, required: bool, help_text: Label = "", rows: int = 2
) -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=services.REASON_MAX,
        required=required,
        help_text=help_text,
        widget=forms.Textarea(attrs={"rows": rows}),
    )


def _supplier() -> forms.CharField:
    return forms.CharField(label=_("Supplier"), max_length=services.SUPPLIER_MAX)


class CommitmentForm(CleanTextFormMixin, forms.Form):
    amount = _amount()
    supplier = _supplier()
    reference = forms.CharField(
        label=_("Contract or purchase order number"), max_length=services.REFERENCE_MAX
    )
    document_date = _date(_("Date of the contract or order"), _("Today or earlier."))
    description = forms.CharField(
        label=_("Description"), max_length=services.DESCRIPTION_MAX, required=False
    )
    reason = _reason(
        _("Reason for committing beyond the allocation"),
        required=False,
        help_text=_(
            "Needed only when this commitment takes commitments over the allocation "
            "(more than the uncommitted: allocated − committed)."
        ),
    )


class SpendForm(CleanTextFormMixin, forms.Form):
    amount = _amount()
    supplier = _supplier()
    reference = forms.CharField(label=_("Invoice number"), max_length=services.REFERENCE_MAX)
    document_date = _date(_("Date paid"), _("Today or earlier: a payment cannot be in the future."))
    description = forms.CharField(label=_("What was paid for"), max_length=services.DESCRIPTION_MAX)
    reason = _reason(
        _("Reason for spending beyond the allocation"),
        required=False,
        help_text=_("Needed only when this payment takes spending over the allocation."),
    )


class ReleaseForm(CleanTextFormMixin, forms.Form):
    amount = _amount()
    reason = _reason(_("Why the money is not needed"), required=True)


class ReversalForm(CleanTextFormMixin, forms.Form):
    reason = _reason(
        _("What was wrong with the entry"),
        required=True,
        rows=3,
        help_text=_("The entry stays in the ledger; this correction undoes its effect."),
    )


class DeliveryUpdateForm(CleanTextFormMixin, forms.Form):
    status = forms.ChoiceField(label=_("Delivery status"), choices=DeliveryStatus.choices)
    happened_on = _date(_("Date"), _("Today or earlier."))
    note = forms.CharField(
        label=_("Progress note (public)"),
        max_length=services.NOTE_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


def _photo(widget: forms.FileInput) -> PhotoField:
    widget.attrs["accept"] = IMAGE_ACCEPT
    return PhotoField(
        label=_("Photo of the work"),
        required=False,
        help_text=_("JPEG, PNG or WebP, up to 5 MB. Shown publicly on the delivery plan."),
        widget=widget,
    )


def _photo_alt() -> forms.CharField:
    return forms.CharField(
        label=_("Describe the photo"),
        max_length=services.PHOTO_ALT_MAX,
        required=False,
        help_text=_(
            "Describe what the photo shows for people who cannot see it. "
            "Needed if there is a photo."
        ),
    )


class MilestoneForm(CleanTextFormMixin, forms.Form):
    """A new step in the delivery plan, with a photo if there is one."""

    title = forms.CharField(
        label=_("Milestone"),
        max_length=MILESTONE_TITLE_MAX,
        help_text=_("What residents will see done, e.g. “Benches ordered”."),
    )
    planned_on = DateFormField(label=_("Planned date"))
    photo = _photo(forms.FileInput())
    photo_alt = _photo_alt()


class MilestoneUpdateForm(CleanTextFormMixin, forms.Form):
    """Progress on one milestone: how far, when reached, or a new planned date (with
    the reason, which residents read)."""

    progress = forms.IntegerField(
        label=_("Progress (%)"), min_value=0, max_value=100, help_text=_("From 0 to 100.")
    )
    done_on = DateFormField(
        label=_("Date reached"),
        required=False,
        help_text=_("Only once it is done; today or earlier."),
    )
    planned_on = DateFormField(label=_("Planned date"))
    reason = _reason(
        _("Why the planned date changes"),
        required=False,
        help_text=_("Needed when you change the planned date; shown publicly."),
    )
    photo = _photo(forms.ClearableFileInput())
    photo_alt = _photo_alt()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["photo"].widget.clear_checkbox_label = _("Remove the photo")

    @classmethod
    def initial_for(cls, milestone: Milestone) -> dict[str, Any]:
        return {
            "progress": milestone.progress,
            "done_on": milestone.done_on,
            "planned_on": milestone.planned_on,
            "photo": milestone.photo,
            "photo_alt": milestone.photo_alt,
        }

    def to_update(self) -> dict[str, Any]:
        """Keyword arguments for ``services.milestone_update``."""
        data = dict(self.cleaned_data)
        photo = data.pop("photo", None)
        # False means "remove" (ClearableFileInput); the current FieldFile means "keep".
        data["photo"] = photo if photo and hasattr(photo, "content_type") else None
        data["remove_photo"] = photo is False
        return data


class LedgerFilterForm(forms.Form):
    """The auditor's filters, from the query string; the same for the page and exports."""

    round = forms.TypedChoiceField(label=_("Round"), required=False, coerce=int, empty_value=None)
    area = forms.ChoiceField(label=_("Area"), required=False)
    recorded_from = DateFormField(label=_("Recorded from"), required=False)
    recorded_to = DateFormField(label=_("Recorded to"), required=False)

    def __init__(
        self, data: Mapping[str, Any], *, rounds: Sequence[BudgetRound], areas: Sequence[Area]
    ) -> None:
        super().__init__(data)
        self.fields["round"].choices = [
            ("", gettext("All rounds")),
            *((r.pk, r.name) for r in rounds),
        ]
        self.fields["area"].choices = [
            ("", gettext("All areas")),
            *((a.slug, a.name) for a in areas),
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        start, end = cleaned.get("recorded_from"), cleaned.get("recorded_to")
        if start and end and start > end:
            self.add_error(
                "recorded_to", gettext("The end date must be on or after the start date.")
            )
        return cleaned

    def selection(self) -> dict[str, Any]:
        """Keyword arguments for ``selectors.entries_filtered``."""
        return {
            "round_id": self.cleaned_data["round"],
            "area_slug": self.cleaned_data["area"],
            "date_from": self.cleaned_data["recorded_from"],
            "date_to": self.cleaned_data["recorded_to"],
        }

    def filters_record(self) -> dict[str, Any]:
        """The filters as ``LedgerExport.filters`` stores them."""
        return {
            "round": self.cleaned_data["round"],
            "area": self.cleaned_data["area"],
            "from": _iso(self.cleaned_data["recorded_from"]),
            "to": _iso(self.cleaned_data["recorded_to"]),
        }

    def query_string(self) -> str:
        """The filters in use, for pagination and download links ("" when none)."""
        filters = self.filters_record()
        named = {
            "round": filters["round"],
            "area": filters["area"],
            "recorded_from": filters["from"],
            "recorded_to": filters["to"],
        }
        return urlencode({name: value for name, value in named.items() if value not in (None, "")})

    def problems(self) -> str:
        """The errors in one plain sentence, for an export refused with 400."""
        parts = [
            f"{self.fields[name].label if name in self.fields else name}: {' '.join(errors)}"
            for name, errors in self.errors.items()
        ]
        return gettext("The filters are not valid. %(problems)s") % {"problems": " ".join(parts)}


def _iso(value: date | None) -> str:
    return value.isoformat() if value else ""
