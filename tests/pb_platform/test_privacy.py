"""Personal data: a resident downloads what the platform holds about them (never their
ballot's choices) and closes their account, which anonymises it (residents) or only
deactivates it (staff); ballots stay counted, ideas and comments stay, by "a former
resident"; pending emails are cancelled. A privacy page says so."""

from __future__ import annotations

import json

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from pb_platform import outbox, privacy
from pb_platform.models import EmailPreference, OutboxEmail
from proposals.models import CommentFlag, ProposalStatus, ProposalSupport, RegisterEntry
from tests.conftest import client_for
from tests.factories import (
    PASSWORD,
    CommentFactory,
    ProposalFactory,
    RoundAreaFactory,
    UserFactory,
)
from voting.models import Ballot, BallotChoice

RECEIPT = "AB12-CD34-EF56-GH78"


@pytest.fixture
def life(resident_a, resident_b, area_a):
    """resident_a's footprint: an idea, a comment, a flag, a ballot choosing resident_b's
    idea, an email choice, a queued and a sent email."""
    round_area = RoundAreaFactory(area=area_a)
    mine = ProposalFactory(
        author=resident_a,
        round_area=round_area,
        budget_round=round_area.budget_round,
        title="Benches by the pond",
    )
    theirs = ProposalFactory(
        author=resident_b,
        round_area=round_area,
        budget_round=round_area.budget_round,
        title="Secret choice: skate park",
        status=ProposalStatus.FEASIBLE,
    )
    comment = CommentFactory(proposal=theirs, author=resident_a, body="Yes please, near the pond.")
    other_comment = CommentFactory(proposal=mine, author=resident_b, body="Rude words")
    CommentFlag.objects.create(comment=other_comment, flagged_by=resident_a)
    ProposalSupport.objects.create(proposal=theirs, user=resident_a)
    ballot = Ballot.objects.create(
        round_area=round_area, voter=resident_a, channel="online", receipt_code=RECEIPT
    )
    BallotChoice.objects.create(ballot=ballot, proposal=theirs)
    assert EmailAddress.objects.filter(user=resident_a).exists()  # made by the factory
    now = timezone.now()
    outbox.email_preference_set(
        user=resident_a, kind=outbox.PROPOSAL_DECISION, enabled=False, now=now
    )
    queued = outbox.email_enqueue(
        kind=outbox.BALLOT_RECEIPT, recipient=resident_a, params={"ballot": ballot.pk}, now=now
    )
    sent = outbox.email_enqueue(
        kind=outbox.BALLOT_RECEIPT, recipient=resident_a, params={"ballot": ballot.pk}, now=now
    )
    OutboxEmail.objects.filter(pk=sent.pk).update(sent_at=now)
    return {
        "mine": mine,
        "theirs": theirs,
        "comment": comment,
        "ballot": ballot,
        "queued": queued,
        "sent": sent,
    }


# --- Download ---------------------------------------------------------------------------


def test_a_resident_downloads_their_data_as_json_without_their_ballot_choices(resident_a, life):
    response = client_for(resident_a).get(reverse("personal_data_download"))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert "attachment" in response["Content-Disposition"]
    text = response.content.decode()
    data = json.loads(text)
    assert data["account"]["email"] == resident_a.email
    assert data["profile"]["name_shown_publicly"] == "Alex of A"
    assert data["profile"]["area"] == "Area A"
    assert [p["title"] for p in data["proposals"]] == ["Benches by the pond"]
    assert [c["body"] for c in data["comments"]] == ["Yes please, near the pond."]
    assert len(data["comment_flags"]) == 1
    assert [s["proposal_id"] for s in data["proposals_supported"]] == [life["theirs"].pk]
    assert data["email_preferences"][outbox.PROPOSAL_DECISION.name] is False
    # The ballot's existence and receipt code, never what it chose.
    assert [(b["area"], b["receipt_code"]) for b in data["ballots"]] == [("Area A", RECEIPT)]
    assert "skate park" not in text
    assert str(life["theirs"].pk) not in {str(v) for b in data["ballots"] for v in b.values()}
    assert not any("choice" in key for b in data["ballots"] for key in b)


def test_the_download_is_always_the_signed_in_persons_own(resident_b, life):
    text = client_for(resident_b).get(reverse("personal_data_download")).content.decode()

    assert "Benches by the pond" not in text
    assert RECEIPT not in text
    assert json.loads(text)["profile"]["name_shown_publicly"] == "Bea of B"


def test_the_area_history_is_in_the_download(resident_a, area_b, officer):
    from proposals.models import ResidentAreaChange

    ResidentAreaChange.objects.create(
        profile=resident_a.resident_profile,
        from_area=resident_a.resident_profile.area,
        to_area=area_b,
        changed_by=officer,
        reason="Moved house in May.",
        effective_at=timezone.now(),
    )

    data = privacy.personal_data_export(user=resident_a)

    assert [(c["from"], c["to"], c["reason"]) for c in data["area_history"]] == [
        ("Area A", "Area B", "Moved house in May.")
    ]


def test_visitors_cannot_download_anything(client):
    response = client.get(reverse("personal_data_download"))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(PermissionDenied):
        privacy.personal_data_export(user=AnonymousUser())


# --- Closing ----------------------------------------------------------------------------


def close(user, password=PASSWORD, confirm=True):
    data = {"password": password}
    if confirm:
        data["confirm"] = "on"
    return client_for(user).post(reverse("account_close"), data)


def test_closing_anonymises_the_resident_but_keeps_ballots_ideas_and_comments(resident_a, life):
    user_pk = resident_a.pk
    response = close(resident_a)

    assert response.status_code == 302
    user = User.objects.get(pk=user_pk)  # the row stays
    assert not user.is_active
    assert user.email == "" and user.first_name == "" and user.last_name == ""
    assert not user.has_usable_password()
    assert not EmailAddress.objects.filter(user=user).exists()
    assert not EmailPreference.objects.filter(user=user).exists()
    profile = user.resident_profile
    assert profile.display_name == "A former resident"
    assert profile.area.name == "Area A"  # still counts where the ballot was cast
    # The ballot stays, counted, with its choice, and nothing links it to a name.
    ballot = Ballot.objects.get(pk=life["ballot"].pk)
    assert ballot.voter_id == user_pk and ballot.choices.count() == 1
    # Ideas and comments stay, shown as by a former resident.
    page = client_for(life["theirs"].author).get(life["theirs"].get_absolute_url())
    assert "Yes please, near the pond." in page.content.decode()
    assert "A former resident" in page.content.decode()
    assert "Alex of A" not in page.content.decode()
    # Pending emails are cancelled; no row keeps the address.
    queued = OutboxEmail.objects.get(pk=life["queued"].pk)
    assert queued.cancelled_at is not None and queued.cancel_reason == "account closed"
    assert OutboxEmail.objects.get(pk=life["sent"].pk).cancelled_at is None
    assert not OutboxEmail.objects.filter(recipient=user).exclude(to_email="").exists()


def test_a_closed_account_cannot_sign_in_and_its_session_ends(resident_a, life, client):
    email = resident_a.email
    client.force_login(resident_a)
    client.post(reverse("account_close"), {"password": PASSWORD, "confirm": "on"})

    assert client.get(reverse("proposals:my_account")).status_code == 302
    assert not client.login(username=email, password=PASSWORD)
    assert not client.login(email=email, password=PASSWORD)


@pytest.mark.parametrize(
    ("password", "confirm", "field"),
    [("wrong password", True, "password"), (PASSWORD, False, "confirm")],
    ids=["wrong-password", "not-confirmed"],
)
def test_a_wrong_password_or_no_confirmation_changes_nothing(
    resident_a, life, password, confirm, field
):
    response = close(resident_a, password=password, confirm=confirm)

    assert response.status_code == 200
    assert field in response.context["form"].errors
    resident_a.refresh_from_db()
    assert resident_a.is_active and resident_a.email
    assert resident_a.resident_profile.display_name == "Alex of A"
    assert EmailAddress.objects.filter(user=resident_a).exists()
    assert OutboxEmail.objects.get(pk=life["queued"].pk).cancelled_at is None


def test_the_service_also_checks_the_password(resident_a):
    with pytest.raises(ValidationError):
        privacy.account_close(user=resident_a, password="nope", now=timezone.now())
    resident_a.refresh_from_db()
    assert resident_a.is_active


@pytest.mark.parametrize("persona", ["officer", "auditor"])
# ``db`` named here: pytest-django orders tests by the fixtures they name, and one that
# only asks for its persona at run time would run after the transactional tests.
def test_staff_accounts_are_only_deactivated(db, request, persona):
    user = request.getfixturevalue(persona)
    pending = outbox.email_enqueue(
        kind=outbox.PROPOSAL_DECISION, recipient=user, params={}, now=timezone.now()
    )

    assert close(user).status_code == 302

    user.refresh_from_db()
    assert not user.is_active
    assert user.email == f"{persona}@example.org"  # what they did stays attributable
    assert user.has_usable_password()
    assert OutboxEmail.objects.get(pk=pending.pk).cancelled_at is not None


def test_a_superuser_cannot_close_their_account_here(db):
    root = UserFactory(email="root@example.org", is_superuser=True, is_staff=True)

    assert (
        "ask another superuser" in client_for(root).get(reverse("account_close")).content.decode()
    )
    assert close(root).status_code == 403
    root.refresh_from_db()
    assert root.is_active and root.email == "root@example.org"


def test_visitors_cannot_close_anything(client, resident_a):
    response = client.post(reverse("account_close"), {"password": PASSWORD, "confirm": "on"})

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
    resident_a.refresh_from_db()
    assert resident_a.is_active


# --- Pages ------------------------------------------------------------------------------


def test_the_privacy_page_is_linked_from_every_page_and_explains_what_is_kept(client, db):
    home = client.get(reverse("home")).content.decode()
    assert reverse("privacy") in home

    page = client.get(reverse("privacy")).content.decode()
    assert "Your vote is secret" in page
    assert "former resident" in page
    assert "ledger" in page


def test_the_account_page_links_to_the_download_and_to_closing(resident_a):
    page = client_for(resident_a).get(reverse("proposals:my_account")).content.decode()

    assert reverse("personal_data_download") in page
    assert reverse("account_close") in page


def test_closing_keeps_the_register_link_so_nobody_can_sign_up_again_and_vote_twice(
    officer, resident_a, area_a, area_b
):
    from proposals.services.register import register_import
    from tests.proposals.test_register_verify import REGISTER, another_resident, by_register

    register_import(
        officer=officer, csv_bytes=REGISTER, file_name="r.csv", dry_run=False, now=timezone.now()
    )
    by_register(resident_a)

    assert close(resident_a).status_code == 302

    entry = RegisterEntry.objects.get(verified_account_id=resident_a.pk)
    assert entry.verified_at is not None
    newcomer = another_resident(area_a)  # the same person, signed up again
    with pytest.raises(ValidationError):
        by_register(newcomer)
    newcomer.resident_profile.refresh_from_db()
    assert newcomer.resident_profile.eligibility_verified_at is None
