"""Forms for officers' ledger entries: they parse the shape; rules live in services.

Amounts are taken as text so that the service, not the form, decides and explains what
is wrong with "10.001" or "-5" (and the same message appears whichever way it came).
"""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from ledgers.models import DeliveryStatus

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
