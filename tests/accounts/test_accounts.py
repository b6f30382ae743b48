"""Sign-up with email verification and a home area, sign-in, password reset, roles."""

import re
from io import StringIO

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from pb_platform.roles import roles_of
from proposals.models import ResidentProfile
from tests.accounts.mailbox import delivered
from tests.factories import PASSWORD, UserFactory

User = get_user_model()


def signup(client: Client, home_area, **overrides):
    data = {
        "email": "new.resident@example.org",
        "password1": "plenty-of-words-here-7",
        "password2": "plenty-of-words-here-7",
        "display_name": "New Resident",
        "area": home_area.pk,
    }
    data.update(overrides)
    return client.post(reverse("account_signup"), data)


def confirmation_link() -> str:
    body = delivered()[-1].body
    match = re.search(r"https?://[^/\s]+(/accounts/confirm-email/\S+/)", body)
    assert match, body
    return match.group(1)


def test_sign_up_records_the_area_and_asks_to_verify_the_email(area_a):
    client = Client()
    response = signup(client, area_a)

    assert response.status_code == 302
    user = User.objects.get(email="new.resident@example.org")
    profile = ResidentProfile.objects.get(user=user)
    assert (profile.display_name, profile.area) == ("New Resident", area_a)
    assert roles_of(user) == ["resident"]
    assert not EmailAddress.objects.get(user=user).verified
    assert delivered()[-1].to == ["new.resident@example.org"]


def test_an_unverified_account_cannot_sign_in_until_the_link_is_followed(area_a):
    signup(Client(), area_a)
    client = Client()
    login = {"login": "new.resident@example.org", "password": "plenty-of-words-here-7"}

    client.post(reverse("account_login"), login)
    assert client.get(reverse("proposals:my_account")).status_code == 302  # not signed in

    link = confirmation_link()
    client.post(link)
    assert EmailAddress.objects.get(email="new.resident@example.org").verified

    client.post(reverse("account_login"), login)
    page = client.get(reverse("proposals:my_account"))
    assert page.status_code == 200
    assert "Area A" in page.content.decode()


def test_sign_up_without_an_area_is_refused_and_creates_nothing(area_a):
    response = signup(Client(), area_a, area="")
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert not User.objects.filter(email="new.resident@example.org").exists()


def test_sign_up_with_an_absurdly_long_name_is_refused(area_a):
    response = signup(Client(), area_a, display_name="x" * 10_000)
    assert "at most 80 characters" in response.content.decode()
    assert not User.objects.exists()


@pytest.mark.parametrize(
    "email",
    ["new.resident@example.org\u202e", "new.resident@\u2066example.org"],
    ids=["override", "isolate"],
)
def test_sign_up_with_a_hidden_character_in_the_email_is_refused(area_a, email):
    # Found by the form fuzz: the address passed Django's EmailValidator, the account was
    # stored, and sending the confirmation email failed with a server error.
    response = Client(raise_request_exception=False).post(
        reverse("account_signup"),
        {
            "email": email,
            "password1": "plenty-of-words-here-7",
            "password2": "plenty-of-words-here-7",
            "display_name": "New Resident",
            "area": area_a.pk,
        },
    )

    assert response.status_code == 200
    assert "invisible control or text-direction character" in response.content.decode()
    assert not User.objects.exists()
    assert not delivered()


def test_password_reset_for_an_address_with_a_hidden_character_is_refused(resident_a):
    response = Client(raise_request_exception=False).post(
        reverse("account_reset_password"), {"email": f"{resident_a.email}\u202e"}
    )

    assert response.status_code == 200
    assert "invisible control or text-direction character" in response.content.decode()
    assert not delivered()


@pytest.mark.parametrize("name", ["Bob\u202e", "\u2066Bob\u2069", "Bo\x00b", "Bob\nSmith"])
def test_sign_up_with_a_hidden_character_in_the_name_is_refused(area_a, name):
    response = signup(Client(), area_a, display_name=name)

    assert response.status_code == 200
    assert not User.objects.exists()
    assert not ResidentProfile.objects.exists()


def test_registering_a_resident_refuses_control_characters_whoever_calls(area_a):
    from django.core.exceptions import ValidationError

    from proposals.services.residents import resident_register

    with pytest.raises(ValidationError) as refused:
        resident_register(user=UserFactory(), display_name="Eve\u202e", area=area_a)

    assert "display_name" in refused.value.message_dict
    assert not ResidentProfile.objects.exists()


def test_sign_in_and_out(resident_a):
    client = Client()
    client.post(reverse("account_login"), {"login": resident_a.email, "password": PASSWORD})
    assert client.get(reverse("proposals:my_account")).status_code == 200
    client.post(reverse("account_logout"))
    assert client.get(reverse("proposals:my_account")).status_code == 302


def test_wrong_password_shows_a_message(resident_a):
    response = Client().post(
        reverse("account_login"), {"login": resident_a.email, "password": "wrong"}
    )
    assert response.status_code == 200
    assert "not correct" in response.content.decode()


def test_password_reset_sends_a_link_that_sets_a_new_password(resident_a):
    client = Client()
    client.post(reverse("account_reset_password"), {"email": resident_a.email})
    match = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S+/)", delivered()[-1].body)
    assert match
    form_page = client.get(match.group(1), follow=True)
    client.post(
        form_page.redirect_chain[-1][0],
        {"password1": "a-brand-new-passphrase-9", "password2": "a-brand-new-passphrase-9"},
    )
    resident_a.refresh_from_db()
    assert resident_a.check_password("a-brand-new-passphrase-9")


def test_grant_role_command_makes_an_officer_and_is_idempotent(db):
    user = UserFactory(email="clerk@example.org")
    out = StringIO()
    call_command("grant_role", "Clerk@Example.org", "officer", stdout=out)
    call_command("grant_role", "clerk@example.org", "officer", stdout=out)

    assert roles_of(user) == ["officer"]
    assert out.getvalue().splitlines() == [
        "clerk@example.org now has the officer role.",
        "clerk@example.org already had the officer role.",
    ]
    assert user.has_perm("proposals.change_budgetround")

    call_command("grant_role", "clerk@example.org", "officer", "--revoke", stdout=out)
    user = User.objects.get(pk=user.pk)  # fresh permission cache
    assert not user.has_perm("proposals.change_budgetround")


def test_grant_role_names_an_unknown_email(db):
    with pytest.raises(CommandError, match="No user has the email"):
        call_command("grant_role", "nobody@example.org", "auditor")


def test_grant_role_refuses_an_unknown_role(db):
    UserFactory(email="clerk@example.org")
    with pytest.raises(CommandError):
        call_command("grant_role", "clerk@example.org", "mayor")


def test_roles_carry_explicit_permissions(officer, auditor, resident_a):
    assert officer.has_perm("proposals.change_budgetround")
    assert not officer.has_perm("proposals.audit_round")
    assert auditor.has_perm("proposals.audit_round")
    assert not auditor.has_perm("proposals.change_budgetround")
    assert not resident_a.has_perm("proposals.change_budgetround")
    assert not resident_a.has_perm("proposals.view_residentprofile")
