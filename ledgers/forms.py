"""Forms for officers' ledger entries: they parse the shape; rules live in services.

Amounts are taken as text so that the service, not the form, decides and explains what
is wrong with "10.001" or "-5" (and the same message appears whichever way it came).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ledgers.models import DeliveryStatus
from proposals.models import Area, BudgetRound

AMOUNT_HELP = _("In pounds and pence (or the round's currency), e.g. 1250.00.")


def _amount() -> forms.CharField:
    return forms.CharField(
        label=_("Amount"),
        max_length=20,
        help_text=AMOUNT_HELP,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )


def _date(label: str) -> forms.DateField:
    return forms.DateField(label=label, widget=forms.DateInput(attrs={"type": "date"}))


class CommitmentForm(forms.Form):
    amount = _amount()
    supplier = forms.CharField(label=_("Supplier"), max_length=200)
    reference = forms.CharField(label=_("Contract or purchase order number"), max_length=100)
    document_date = _date(_("Date of the contract or order"))
    description = forms.CharField(label=_("Description"), max_length=500, required=False)


class SpendForm(forms.Form):
    amount = _amount()
    supplier = forms.CharField(label=_("Supplier"), max_length=200)
    reference = forms.CharField(label=_("Invoice number"), max_length=100)
    document_date = _date(_("Date paid"))
    description = forms.CharField(label=_("What was paid for"), max_length=500)
    reason = forms.CharField(
        label=_("Reason for spending beyond the allocation"),
        max_length=500,
        required=False,
        help_text=_("Needed only when this payment takes spending over the allocation."),
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class ReleaseForm(forms.Form):
    amount = _amount()
    reason = forms.CharField(
        label=_("Why the money is not needed"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class ReversalForm(forms.Form):
    reason = forms.CharField(
        label=_("What was wrong with the entry"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("The entry stays in the ledger; this correction undoes its effect."),
    )


class DeliveryUpdateForm(forms.Form):
    status = forms.ChoiceField(label=_("Delivery status"), choices=DeliveryStatus.choices)
    happened_on = _date(_("Date"))
    note = forms.CharField(
        label=_("Progress note (public)"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


DATE_ERROR = _("Enter a date as year-month-day, for example 2026-03-31.")


class LedgerFilterForm(forms.Form):
    """The auditor's filters, from the query string; the same for the page and exports."""

    round = forms.TypedChoiceField(label=_("Round"), required=False, coerce=int, empty_value=None)
    area = forms.ChoiceField(label=_("Area"), required=False)
    recorded_from = forms.DateField(
        label=_("Recorded from"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": DATE_ERROR},
    )
    recorded_to = forms.DateField(
        label=_("Recorded to"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": DATE_ERROR},
    )

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
