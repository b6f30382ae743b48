from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

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


class AccountCloseForm(forms.Form):
    """Closing an account cannot be undone: the person confirms and re-enters their
    password (someone at an unlocked computer should not be able to do it)."""

    confirm = forms.BooleanField(
        label=_("I understand that closing my account cannot be undone"),
        required=True,
        error_messages={"required": _("Tick the box to confirm that you want to close it.")},
    )
    password = forms.CharField(
        label=_("Your password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        error_messages={"required": _("Enter your password.")},
    )
