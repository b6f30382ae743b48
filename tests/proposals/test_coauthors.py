"""Proposals written together, every version kept, and when the text may change.

Personas: a visitor, another resident, the author, a co-author, an invitee signed in
with the wrong account, an officer and an auditor."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth.models import AnonymousUser
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from pb_platform.models import OutboxEmail
from pb_platform.outbox import COAUTHOR_ACCEPTED, COAUTHOR_INVITATION, outbox_send
from pb_platform.roles import RESIDENT, role_grant
from proposals import policies, services
from proposals.diff import words_diff
from proposals.models import (
    CoauthorStatus,
    Proposal,
    ProposalCoauthor,
    ProposalEvent,
    ProposalStatus,
    ProposalVersion,
)
from proposals.phases import Phase
from proposals.services.coauthors import MAX_COAUTHORS, token_hash
from tests.conftest import client_for
from tests.factories import (
    BudgetRoundFactory,
    ProposalFactory,
    ResidentProfileFactory,
    RoundAreaFactory,
    UserFactory,
)

AREA_BUDGET = Decimal("50000.00")


def resident_in(area, **kwargs):
    user = ResidentProfileFactory(area=area, **kwargs).user
    role_grant(user=user, role=RESIDENT)
    return user


def content_of(proposal: Proposal, **changes) -> services.ProposalContent:
    return replace(
        services.ProposalContent(
            title=proposal.title,
            description=proposal.description,
            round_area=proposal.round_area,
            category=proposal.category,
            estimated_cost=proposal.estimated_cost,
            location=proposal.location,
        ),
        **changes,
    )


def state() -> dict[str, list]:
    """What a refused action must leave as it was."""
    return {
        "proposals": list(Proposal.objects.order_by("pk").values()),
        "versions": list(ProposalVersion.objects.order_by("pk").values()),
        "coauthors": list(ProposalCoauthor.objects.order_by("pk").values()),
        "events": list(ProposalEvent.objects.order_by("pk").values()),
        "emails": OutboxEmail.objects.count(),
    }


@pytest.fixture
def submission_round(area_a):
    budget_round = BudgetRoundFactory(phase=Phase.SUBMISSION, slug="together")
    RoundAreaFactory(budget_round=budget_round, area=area_a, budget=AREA_BUDGET)
    return budget_round


@pytest.fixture
def proposal(submission_round, resident_a):
    return services.proposal_create(
        author=resident_a,
        budget_round=submission_round,
        content=services.ProposalContent(
            title="Benches by the pond",
            description="Three benches facing the pond.",
            round_area=submission_round.round_areas.get(),
            category=None,
            estimated_cost=Decimal("4500.00"),
        ),
        submit=True,
        now=timezone.now() - timedelta(minutes=5),
    )


@pytest.fixture
def friend(area_a):
    """A resident of the same area, about to be invited."""
    return resident_in(area_a, display_name="Frankie Friend")


@pytest.fixture
def invitation(proposal, resident_a, friend):
    return services.coauthor_invite(
        proposal=proposal, author=resident_a, email=friend.email.upper(), now=timezone.now()
    )


@pytest.fixture
def coauthor(invitation, friend):
    services.coauthor_accept(invitation=invitation, user=friend, now=timezone.now())
    return friend


@pytest.fixture
def wrong_account(area_a):
    """Signed in as a resident, but not with the invited address."""
    return resident_in(area_a)


def fresh(proposal: Proposal) -> Proposal:
    return Proposal.objects.select_related("budget_round").get(pk=proposal.pk)


def join(proposal: Proposal, author, user) -> None:
    """``author`` invites ``user``, who accepts."""
    invitation = services.coauthor_invite(
        proposal=proposal, author=author, email=user.email, now=timezone.now()
    )
    services.coauthor_accept(invitation=invitation, user=user, now=timezone.now())


def found_feasible(proposal: Proposal, officer, cost: str, *, now=None) -> None:
    services.proposal_review(
        proposal=fresh(proposal),
        officer=officer,
        feasible=True,
        reason="",
        official_cost=Decimal(cost),
        now=now or timezone.now(),
    )


# --- Versions ---------------------------------------------------------------------------


def test_writing_and_each_edit_are_versions_with_who_and_when(proposal, resident_a, coauthor):
    later = timezone.now()
    services.proposal_update(
        proposal=proposal,
        author=coauthor,
        content=content_of(proposal, description="Three benches facing the pond, in oak."),
        submit=False,
        now=later,
    )
    versions = list(proposal.versions.order_by("number"))
    assert [(v.number, v.kind, v.made_by) for v in versions] == [
        (1, "created", resident_a),
        (2, "edit", coauthor),
    ]
    assert versions[0].description == "Three benches facing the pond."
    assert versions[1].description == "Three benches facing the pond, in oak."
    assert versions[1].at == later and versions[1].estimated_cost == Decimal("4500.00")


def test_saving_without_a_change_makes_no_version(proposal, resident_a):
    services.proposal_update(
        proposal=proposal,
        author=resident_a,
        content=content_of(proposal),
        submit=False,
        now=timezone.now(),
    )
    assert proposal.versions.count() == 1


def test_the_diff_marks_added_and_removed_words():
    segments = words_diff("Three benches facing the pond.", "Four benches facing the pond.")
    assert [(s.change, s.text) for s in segments] == [
        ("removed", "Three"),
        ("added", "Four"),
        ("same", " benches facing the pond."),
    ]


def test_the_version_page_shows_what_changed_for_everyone(proposal, resident_a, coauthor):
    services.proposal_update(
        proposal=proposal,
        author=coauthor,
        content=content_of(proposal, description="Four benches facing the pond."),
        submit=False,
        now=timezone.now(),
    )
    page = client_for(UserFactory()).get(
        reverse("proposals:proposal_version", args=[proposal.pk, 2])
    )
    assert page.status_code == 200
    html = page.content.decode()
    assert '<del><span class="visually-hidden">removed: </span>Three' in html
    assert '<ins><span class="visually-hidden">added: </span>Four' in html
    assert "Frankie Friend" in html
    detail = client_for(resident_a).get(proposal.get_absolute_url()).content.decode()
    assert "Versions of the text" in detail
    assert reverse("proposals:proposal_version", args=[proposal.pk, 2]) in detail
    missing = client_for(resident_a).get(
        reverse("proposals:proposal_version", args=[proposal.pk, 3])
    )
    assert missing.status_code == 404


def test_a_drafts_versions_are_hidden_like_the_draft(submission_round, resident_a, resident_b):
    draft = services.proposal_create(
        author=resident_a,
        budget_round=submission_round,
        content=services.ProposalContent(
            title="Secret",
            description="Not yet.",
            round_area=submission_round.round_areas.get(),
            category=None,
            estimated_cost=Decimal("10"),
        ),
        submit=False,
        now=timezone.now(),
    )
    url = reverse("proposals:proposal_version", args=[draft.pk, 1])
    assert client_for(resident_b).get(url).status_code == 404
    assert client_for(resident_a).get(url).status_code == 200


# --- Inviting and answering -------------------------------------------------------------


def test_an_invitation_to_an_address_without_an_account_is_emailed_with_a_one_time_link(
    proposal, resident_a
):
    invitation = services.coauthor_invite(
        proposal=proposal, author=resident_a, email=" New.Person@Example.org ", now=timezone.now()
    )
    assert invitation.email == "new.person@example.org"
    assert invitation.token_hash == token_hash(invitation.token)
    assert invitation.token not in str(list(ProposalCoauthor.objects.values()))
    item = OutboxEmail.objects.get(kind=COAUTHOR_INVITATION.name)
    assert (item.recipient, item.to_email) == (None, "new.person@example.org")

    assert outbox_send(item_id=item.pk, now=timezone.now()) == "sent"
    assert mail.outbox[-1].to == ["new.person@example.org"]
    assert reverse("proposals:coauthor_invitation", args=[invitation.token]) in mail.outbox[-1].body
    item.refresh_from_db()
    assert item.params == {}  # the link is forgotten once sent


def test_an_invitation_to_an_existing_account_is_theirs(invitation, friend):
    item = OutboxEmail.objects.get(kind=COAUTHOR_INVITATION.name)
    assert item.recipient == friend


def test_the_invitee_accepts_and_becomes_a_co_author_and_the_author_hears(
    invitation, friend, resident_a
):
    services.coauthor_accept(invitation=invitation, user=friend, now=timezone.now())
    invitation.refresh_from_db()
    assert (invitation.status, invitation.user, invitation.token_hash) == ("accepted", friend, "")
    assert OutboxEmail.objects.get(kind=COAUTHOR_ACCEPTED.name).recipient == resident_a
    page = client_for(friend).get(invitation.proposal.get_absolute_url())
    assert "Frankie Friend" in page.content.decode()
    assert "Change your proposal" in page.content.decode()


def test_the_link_works_once(invitation, friend):
    services.coauthor_decline(invitation=invitation, user=friend, now=timezone.now())
    response = client_for(friend).get(
        reverse("proposals:coauthor_invitation", args=[invitation.token])
    )
    assert response.status_code == 404
    assert ProposalCoauthor.objects.get().status == CoauthorStatus.DECLINED


def test_someone_signed_in_with_another_address_cannot_accept(invitation, wrong_account):
    before = state()
    with pytest.raises(PermissionDenied, match="another email address"):
        services.coauthor_accept(invitation=invitation, user=wrong_account, now=timezone.now())
    response = client_for(wrong_account).post(
        reverse("proposals:coauthor_invitation", args=[invitation.token]), {"action": "accept"}
    )
    assert response.status_code == 403
    assert state() == before


def test_an_unverified_address_does_not_count(invitation, friend):
    EmailAddress.objects.filter(user=friend).update(verified=False)
    with pytest.raises(PermissionDenied):
        services.coauthor_accept(invitation=invitation, user=friend, now=timezone.now())


def test_the_invitation_page_asks_a_visitor_to_sign_in_and_accepts_by_post(invitation, friend):
    url = reverse("proposals:coauthor_invitation", args=[invitation.token])
    page = Client().get(url)
    assert "Sign in" in page.content.decode() and "Benches by the pond" in page.content.decode()
    assert Client().post(url, {"action": "accept"}).status_code == 302
    assert ProposalCoauthor.objects.get().status == CoauthorStatus.INVITED

    response = client_for(friend).post(url, {"action": "accept"})
    assert response.status_code == 302
    assert ProposalCoauthor.objects.get().status == CoauthorStatus.ACCEPTED


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("not an address", "Enter an email address"),
        ("USER{author}@example.org", "your own address"),
    ],
)
def test_bad_invitations_are_refused_with_a_message(proposal, resident_a, email, message):
    before = state()
    address = email.replace("USER{author}@example.org", resident_a.email.upper())
    with pytest.raises(ValidationError, match=message):
        services.coauthor_invite(
            proposal=proposal, author=resident_a, email=address, now=timezone.now()
        )
    assert state() == before


def test_an_address_is_invited_once_and_co_authors_are_limited(
    proposal, resident_a, invitation, friend
):
    with pytest.raises(ValidationError, match="already invited"):
        services.coauthor_invite(
            proposal=proposal, author=resident_a, email=friend.email, now=timezone.now()
        )
    for n in range(MAX_COAUTHORS - 1):
        services.coauthor_invite(
            proposal=proposal, author=resident_a, email=f"p{n}@example.org", now=timezone.now()
        )
    before = state()
    with pytest.raises(ValidationError, match="at most"):
        services.coauthor_invite(
            proposal=proposal, author=resident_a, email="one.more@example.org", now=timezone.now()
        )
    assert state() == before


def test_the_invite_form_shows_errors_and_invites(proposal, resident_a):
    client = client_for(resident_a)
    url = reverse("proposals:proposal_coauthors", args=[proposal.pk])
    bad = client.post(url, {"email": "nope"})
    assert bad.status_code == 200 and "Enter a valid email address" in bad.content.decode()
    good = client.post(url, {"email": "pat@example.org"})
    assert good.status_code == 302
    assert ProposalCoauthor.objects.get().email == "pat@example.org"


# --- What co-authors may do -------------------------------------------------------------


def test_a_co_author_cannot_withdraw_and_cannot_invite(proposal, coauthor):
    before = state()
    with pytest.raises(PermissionDenied, match="Only the author can withdraw"):
        services.proposal_withdraw(proposal=proposal, author=coauthor, now=timezone.now())
    with pytest.raises(PermissionDenied, match="Only the author can invite"):
        services.coauthor_invite(
            proposal=proposal, author=coauthor, email="x@example.org", now=timezone.now()
        )
    assert state() == before


def test_the_author_removes_a_co_author_who_then_cannot_edit(proposal, resident_a, coauthor):
    membership = ProposalCoauthor.objects.get(user=coauthor)
    response = client_for(resident_a).post(
        reverse("proposals:coauthor_remove", args=[membership.pk])
    )
    assert response.status_code == 302
    membership.refresh_from_db()
    assert (membership.status, membership.removed_by) == ("removed", resident_a)
    with pytest.raises(PermissionDenied):
        services.proposal_update(
            proposal=fresh(proposal),
            author=coauthor,
            content=content_of(proposal, title="Mine now"),
            submit=False,
            now=timezone.now(),
        )


def test_a_co_author_may_leave_but_not_remove_others(proposal, resident_a, coauthor, area_a):
    other = resident_in(area_a)
    pending = services.coauthor_invite(
        proposal=proposal, author=resident_a, email=other.email, now=timezone.now()
    )
    before = state()
    response = client_for(coauthor).post(reverse("proposals:coauthor_remove", args=[pending.pk]))
    assert response.status_code == 403
    assert state() == before
    mine = ProposalCoauthor.objects.get(user=coauthor)
    client_for(coauthor).post(reverse("proposals:coauthor_remove", args=[mine.pk]))
    assert ProposalCoauthor.objects.get(pk=mine.pk).status == CoauthorStatus.REMOVED


def test_a_co_author_sees_and_edits_a_draft(submission_round, resident_a, friend):
    draft = services.proposal_create(
        author=resident_a,
        budget_round=submission_round,
        content=services.ProposalContent(
            title="Draft",
            description="To write together.",
            round_area=submission_round.round_areas.get(),
            category=None,
            estimated_cost=Decimal("10"),
        ),
        submit=False,
        now=timezone.now(),
    )
    assert client_for(friend).get(draft.get_absolute_url()).status_code == 404
    join(draft, resident_a, friend)
    assert client_for(friend).get(draft.get_absolute_url()).status_code == 200
    response = client_for(friend).get(reverse("proposals:proposal_edit", args=[draft.pk]))
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("persona", "edit", "withdraw", "invite"),
    [
        ("visitor", False, False, False),
        ("other_resident", False, False, False),
        ("author", True, True, True),
        ("coauthor", True, False, False),
        ("wrong_account", False, False, False),
        ("officer", False, False, False),
        ("auditor", False, False, False),
    ],
)
def test_who_may_do_what_with_a_proposal_written_together(
    request, proposal, resident_a, coauthor, persona, edit, withdraw, invite
):
    user = {
        "visitor": lambda: AnonymousUser(),
        "other_resident": lambda: request.getfixturevalue("resident_b"),
        "author": lambda: resident_a,
        "coauthor": lambda: coauthor,
        "wrong_account": lambda: request.getfixturevalue("wrong_account"),
        "officer": lambda: request.getfixturevalue("officer"),
        "auditor": lambda: request.getfixturevalue("auditor"),
    }[persona]()
    now = timezone.now()
    proposal = fresh(proposal)
    assert bool(policies.can_edit_proposal(user, proposal, now=now)) is edit
    assert bool(policies.can_withdraw_proposal(user, proposal, now=now)) is withdraw
    assert bool(policies.can_invite_coauthor(user, proposal, now=now)) is invite
    membership = ProposalCoauthor.objects.select_related("proposal__budget_round").get()
    removable = persona in ("author", "coauthor")
    assert bool(policies.can_remove_coauthor(user, membership, now=now)) is removable


def test_an_outsider_posting_to_the_co_author_pages_changes_nothing(
    proposal, invitation, resident_b, officer, auditor
):
    before = state()
    for user in (resident_b, officer, auditor):
        client = client_for(user)
        invite = client.post(
            reverse("proposals:proposal_coauthors", args=[proposal.pk]), {"email": "x@example.org"}
        )
        remove = client.post(reverse("proposals:coauthor_remove", args=[invitation.pk]))
        accept = client.post(
            reverse("proposals:coauthor_invitation", args=[invitation.token]), {"action": "accept"}
        )
        assert (invite.status_code, remove.status_code, accept.status_code) == (403, 403, 403)
    assert state() == before


# --- When the text may change -----------------------------------------------------------


@pytest.fixture
def review_round(area_a):
    budget_round = BudgetRoundFactory(phase=Phase.REVIEW, slug="reviewing")
    RoundAreaFactory(budget_round=budget_round, area=area_a, budget=AREA_BUDGET)
    return budget_round


@pytest.mark.parametrize("decision", [True, False])
def test_a_change_after_the_officers_decision_asks_for_a_new_one(
    review_round, resident_a, officer, decision
):
    proposal = ProposalFactory(
        budget_round=review_round, round_area=review_round.round_areas.get(), author=resident_a
    )
    services.proposal_review(
        proposal=proposal,
        officer=officer,
        feasible=decision,
        reason="Checked.",
        official_cost=Decimal("900.00") if decision else None,
        now=timezone.now(),
    )
    services.proposal_update(
        proposal=fresh(proposal),
        author=resident_a,
        content=content_of(proposal, title="A better title"),
        submit=False,
        now=timezone.now(),
    )
    proposal.refresh_from_db()
    assert (proposal.status, proposal.official_cost) == (ProposalStatus.SUBMITTED, None)
    event = proposal.events.filter(kind=ProposalEvent.Kind.SUBMITTED).last()
    assert event.from_status in (ProposalStatus.FEASIBLE, ProposalStatus.NOT_FEASIBLE)
    assert "needs a new decision" in event.reason
    assert policies.can_review_proposal(officer, fresh(proposal), now=timezone.now())


def test_a_submitted_proposal_edited_during_review_stays_submitted(review_round, resident_a):
    proposal = ProposalFactory(
        budget_round=review_round, round_area=review_round.round_areas.get(), author=resident_a
    )
    services.proposal_update(
        proposal=fresh(proposal),
        author=resident_a,
        content=content_of(proposal, title="Clearer"),
        submit=True,
        now=timezone.now(),
    )
    proposal.refresh_from_db()
    assert (proposal.title, proposal.status) == ("Clearer", ProposalStatus.SUBMITTED)


@pytest.mark.parametrize("status", [ProposalStatus.DRAFT, ProposalStatus.RETURNED])
def test_drafts_and_sent_back_ideas_cannot_change_during_review(review_round, resident_a, status):
    proposal = ProposalFactory(
        budget_round=review_round,
        round_area=review_round.round_areas.get(),
        author=resident_a,
        status=status,
    )
    before = state()
    with pytest.raises(PermissionDenied, match="Proposal submission in"):
        services.proposal_update(
            proposal=fresh(proposal),
            author=resident_a,
            content=content_of(proposal, title="Late"),
            submit=True,
            now=timezone.now(),
        )
    assert state() == before


def test_the_ballot_shows_the_reviewed_text_which_can_no_longer_change(area_a, resident_a, officer):
    voting_round = BudgetRoundFactory(phase=Phase.VOTING, slug="vote-now")
    round_area = RoundAreaFactory(budget_round=voting_round, area=area_a, budget=AREA_BUDGET)
    proposal = ProposalFactory(
        budget_round=voting_round, round_area=round_area, author=resident_a, title="First words"
    )
    during_review = voting_round.review_starts + timedelta(hours=1)
    services.proposal_update(
        proposal=fresh(proposal),
        author=resident_a,
        content=content_of(proposal, title="Reviewed words"),
        submit=False,
        now=during_review,
    )
    found_feasible(proposal, officer, "800.00", now=during_review + timedelta(hours=1))
    before = state()
    with pytest.raises(PermissionDenied, match="Changing proposals in"):
        services.proposal_update(
            proposal=fresh(proposal),
            author=resident_a,
            content=content_of(fresh(proposal), title="Sneaky words"),
            submit=False,
            now=timezone.now(),
        )
    assert state() == before
    ballot = client_for(resident_a).get(
        reverse("voting:ballot", args=[voting_round.slug, area_a.slug])
    )
    assert "Reviewed words" in ballot.content.decode()
    assert "Sneaky words" not in ballot.content.decode()
    latest = proposal.versions.order_by("number").last()
    assert latest.title == "Reviewed words" and latest.at < fresh(proposal).events.last().at


# --- Constant queries -------------------------------------------------------------------


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(queries)


def _edit_times(proposal: Proposal, author, count: int) -> None:
    for n in range(count):
        services.proposal_update(
            proposal=fresh(proposal),
            author=author,
            content=content_of(fresh(proposal), description=f"Version text {n}"),
            submit=False,
            now=timezone.now(),
        )


def test_the_proposal_page_makes_the_same_queries_at_2_and_20_versions(
    submission_round, resident_a, area_a
):
    def make(title: str) -> Proposal:
        proposal = services.proposal_create(
            author=resident_a,
            budget_round=submission_round,
            content=services.ProposalContent(
                title=title,
                description="Start.",
                round_area=submission_round.round_areas.get(),
                category=None,
                estimated_cost=Decimal("10"),
            ),
            submit=True,
            now=timezone.now(),
        )
        return proposal

    small, large = make("Small"), make("Large")
    _edit_times(small, resident_a, 1)
    _edit_times(large, resident_a, 19)
    for _n in range(3):
        join(large, resident_a, resident_in(area_a))
    assert large.versions.count() == 20
    client = client_for(resident_a)
    assert _queries(client, small.get_absolute_url()) == _queries(client, large.get_absolute_url())
    version = "proposals:proposal_version"
    assert _queries(client, reverse(version, args=[small.pk, 2])) == _queries(
        client, reverse(version, args=[large.pk, 20])
    )
    coauthors = "proposals:proposal_coauthors"
    assert _queries(client, reverse(coauthors, args=[small.pk])) == _queries(
        client, reverse(coauthors, args=[large.pk])
    )


def test_the_preferences_page_lists_both_co_author_emails(resident_a):
    page = client_for(resident_a).get(reverse("email_preferences")).content.decode()
    # The invitation cannot be turned off (it may reach an address with no account);
    # hearing that someone accepted can.
    assert "Invitations to write a proposal with someone" in page
    assert 'name="coauthor_invitation"' not in page
    assert 'name="coauthor_accepted"' in page


def test_an_officers_decision_is_emailed_to_the_author_and_each_co_author_only(
    area_a, resident_a, officer, friend, wrong_account
):
    review_round = BudgetRoundFactory(phase=Phase.REVIEW, slug="told-review")
    round_area = RoundAreaFactory(budget_round=review_round, area=area_a, budget=AREA_BUDGET)
    proposal = ProposalFactory(budget_round=review_round, round_area=round_area, author=resident_a)
    join(proposal, resident_a, friend)
    # Still only invited: not a co-author, so not told about decisions.
    services.coauthor_invite(
        proposal=proposal, author=resident_a, email=wrong_account.email, now=timezone.now()
    )
    OutboxEmail.objects.all().delete()

    found_feasible(proposal, officer, "1000.00")

    decisions = OutboxEmail.objects.filter(kind="proposal_decision")
    assert sorted(decisions.values_list("to_email", flat=True)) == sorted(
        [resident_a.email, friend.email]
    )


def test_a_co_author_changes_a_decided_proposal_through_the_page(
    area_a, resident_a, officer, friend
):
    review_round = BudgetRoundFactory(phase=Phase.REVIEW, slug="page-review")
    round_area = RoundAreaFactory(budget_round=review_round, area=area_a, budget=AREA_BUDGET)
    proposal = ProposalFactory(budget_round=review_round, round_area=round_area, author=resident_a)
    join(proposal, resident_a, friend)
    found_feasible(proposal, officer, "1000.00")
    client = client_for(friend)
    form = client.get(reverse("proposals:proposal_edit", args=[proposal.pk])).content.decode()
    assert "goes back to “submitted”" in form and "Save changes" in form
    response = client.post(
        reverse("proposals:proposal_edit", args=[proposal.pk]),
        {
            "title": "Benches, now in oak",
            "description": "Oak benches.",
            "round_area": round_area.pk,
            "estimated_cost": "1200",
            "action": "save",
        },
        follow=True,
    )
    page = response.content.decode()
    assert "decide again" in page
    assert "Frankie Friend (co-author)" in page
    proposal.refresh_from_db()
    assert (proposal.title, proposal.status) == ("Benches, now in oak", ProposalStatus.SUBMITTED)
    assert [v.made_by for v in proposal.versions.order_by("number")] == [friend]


def test_the_migration_gives_existing_proposals_their_first_version(submission_round, resident_a):
    """Proposals written before versions were kept get version 1: their text now, by
    their author, when they were created."""
    from importlib import import_module

    from django.apps import apps

    migration = import_module("proposals.migrations.0016_coauthors_versions")
    older = ProposalFactory(
        budget_round=submission_round,
        round_area=submission_round.round_areas.get(),
        author=resident_a,
        location="By the pond",
    )
    migration.first_versions(apps, None)
    version = ProposalVersion.objects.get(proposal=older)
    assert (version.number, version.kind, version.made_by, version.at) == (
        1,
        "created",
        resident_a,
        older.created_at,
    )
    assert (version.title, version.location) == (older.title, "By the pond")


def test_a_co_author_answers_comments_like_the_author(proposal, coauthor, resident_b):
    question = services.comment_add(
        proposal=fresh(proposal), author=resident_b, body="Which pond?", now=timezone.now()
    )
    services.comment_reply(
        parent=question, author=coauthor, body="The one in the park.", now=timezone.now()
    )
    assert question.replies.get().author == coauthor


def test_closing_an_account_forgets_the_address_a_co_author_was_invited_at(
    proposal, coauthor, friend
):
    from pb_platform import privacy
    from tests.factories import PASSWORD

    privacy.account_close(user=friend, password=PASSWORD, now=timezone.now())
    membership = ProposalCoauthor.objects.get(user=friend)
    assert membership.email.startswith("closed-") and friend.email not in membership.email
    assert membership.status == CoauthorStatus.ACCEPTED


def test_the_personal_data_download_lists_co_authorships_and_versions_made(proposal, coauthor):
    from pb_platform import privacy

    services.proposal_update(
        proposal=fresh(proposal),
        author=coauthor,
        content=content_of(proposal, title="Oak benches"),
        submit=False,
        now=timezone.now(),
    )
    data = privacy.personal_data_export(user=coauthor)
    assert [c["proposal_id"] for c in data["coauthorships"]] == [proposal.pk]
    assert [(v["proposal_id"], v["number"]) for v in data["proposal_versions"]] == [
        (proposal.pk, 2)
    ]
