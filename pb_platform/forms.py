from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from pb_platform.outbox import EmailKind


def form_add_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Show a service's ``ValidationError`` on the form: on the field it names when the
    form has that field, otherwise at the top of the form."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, messages in error.message_dict.items():
        target = field if field in form.fields else None
        for message in messages:
            form.add_error(target, message)


class EmailPreferencesForm(forms.Form):
    """One tick box per kind of email a person may turn off."""

    def __init__(self, *args: Any, kinds: list[tuple[EmailKind, bool]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for kind, enabled in kinds:
            if kind.unsubscribable:
                self.fields[kind.name] = forms.BooleanField(
                    label=kind.label, required=False, initial=enabled
                )
