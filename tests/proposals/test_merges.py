"""Merging similar proposals.

An officer proposes merging one proposal (``absorbed``) into another (``into``) of the
same area, with the merged text, while their text may change; a writer of each side
agrees or declines (with a reply); the merge happens only when both sides agreed: the
continuing proposal takes the merged text as a new version, names everyone who wrote
either, gains the other's supporters, and the other leaves the ballot as "merged into".
Every wrong role changes nothing."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from pb_platform.models import OutboxEmail
from pb_platform.outbox import MERGE_ANSWERED, MERGE_PROPOSED
from pb_platform.tasks import send_outbox_email
from proposals import policies, services
from proposals.models import (
    CoauthorStatus,
    MergeStatus,
    Proposal,
    ProposalEvent,
    ProposalMerge,
    ProposalStatus,
    ProposalSupport,
    VersionKind,
)
from proposals.phases import Phase
from proposals.tasks import advance_round_phases
from tests.conftest import client_for
from tests.factories import (
    BudgetRoundFactory,
    ProposalFactory,
    RoundAreaFactory,
    UserFactory,
    round_history_rewrite,
)
from tests.proposals.test_amendments import written_in
from tests.proposals.test_coauthors import join, resident_in

S = ProposalStatus


def now():
    return timezone.now()


@pytest.fixture
def carol(area_a):
    return resident_in(area_a, display_name="Carol of A")


@pytest.fixture
def dev(area_a):
    return resident_in(area_a, display_name="Dev of A")


@pytest.fixture
def pair(area_a, carol, dev):
    """Two similar proposals of area A in review: Carol's continues, Dev's joins it."""
    into = written_in(Phase.REVIEW, area_a, carol, title="Benches by the pond")
    absorbed = ProposalFactory(
        budget_round=into.budget_round,
        round_area=into.round_area,
        author=dev,
        title="Seats near the pond",
        description="Two seats near the pond.",
    )
    return into, absorbed


def propose(into, absorbed, officer, **fields):
    values = {
        "title": "Benches and seats by the pond",
        "description": "Five benches around the pond.",
        "estimated_cost": "6000",
        "reason": "Two ideas for the same pond.",
    }
    values.update(fields)
    return services.merge_propose(
        into=into, absorbed=absorbed, officer=officer, now=now(), **values
    )


# --- Policies ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "allowed"),
    [
        ("visitor", False),
        ("resident_a", False),
        ("carol", False),
        ("officer", True),
        ("auditor", False),
    ],
)
def test_only_officers_propose_a_merge(request, persona, allowed, pair):
    user = AnonymousUser() if persona == "visitor" else request.getfixturevalue(persona)
    into, absorbed = pair
    assert bool(policies.can_propose_merge(user, into, absorbed, now=now())) is allowed


def test_only_proposals_of_the_same_area_and_live_ones_merge(pair, officer, area_b, dev):
    into, absorbed = pair
    elsewhere = ProposalFactory(
        budget_round=into.budget_round,
        round_area=RoundAreaFactory(budget_round=into.budget_round, area=area_b),
    )
    assert (
        "same round and area"
        in policies.can_propose_merge(officer, into, elsewhere, now=now()).reason
    )
    assert not policies.can_propose_merge(officer, into, into, now=now())
    absorbed.status = S.WITHDRAWN
    assert not policies.can_propose_merge(officer, into, absorbed, now=now())


@pytest.mark.parametrize("phase", [Phase.VOTING, Phase.RESULTS])
def test_no_merges_once_the_text_is_fixed(phase, area_a, carol, dev, officer):
    budget_round = BudgetRoundFactory(phase=phase)
    round_area = RoundAreaFactory(budget_round=budget_round, area=area_a)
    into, absorbed = (
        ProposalFactory(budget_round=budget_round, round_area=round_area, author=who)
        for who in (carol, dev)
    )
    assert not policies.can_propose_merge(officer, into, absorbed, now=now())


@pytest.mark.parametrize(
    ("persona", "allowed"),
    [
        ("visitor", False),
        ("resident_a", False),
        ("carol", True),
        ("dev", True),
        ("officer", False),
        ("auditor", False),
    ],
)
def test_only_the_writers_of_either_side_answer(request, persona, allowed, pair, officer):
    user = AnonymousUser() if persona == "visitor" else request.getfixturevalue(persona)
    merge = propose(*pair, officer)
    assert bool(policies.can_answer_merge(user, merge, now=now())) is allowed


# --- Services ---------------------------------------------------------------------------


def test_a_proposed_merge_needs_its_text_and_a_reason(pair, officer):
    with pytest.raises(ValidationError) as error:
        propose(*pair, officer, title=" ", reason="", estimated_cost="-1")
    assert set(error.value.message_dict) == {"title", "reason", "estimated_cost"}
    assert not ProposalMerge.objects.exists()


def test_the_writers_of_both_are_emailed_and_nothing_changes_before_both_agree(
    pair, officer, carol, dev
):
    into, absorbed = pair
    merge = propose(into, absorbed, officer)
    told = OutboxEmail.objects.filter(kind=MERGE_PROPOSED.name)
    assert set(told.values_list("recipient", flat=True)) == {carol.pk, dev.pk}
    merge = services.merge_agree(merge=merge, writer=carol, now=now())
    assert merge.status == MergeStatus.PROPOSED and merge.into_agreed_by == carol
    into.refresh_from_db()
    absorbed.refresh_from_db()
    assert into.title == "Benches by the pond" and absorbed.status == S.SUBMITTED
    decision = policies.can_answer_merge(carol, merge, now=now())
    assert not decision and "other proposal's authors" in decision.reason


def test_when_both_agree_the_proposals_become_one_that_credits_everyone(
    pair, officer, carol, dev, area_a
):
    into, absorbed = pair
    dev_friend = resident_in(area_a, display_name="Dev's friend")
    join(absorbed, dev, dev_friend)
    supporter, both = resident_in(area_a), resident_in(area_a)
    ProposalSupport.objects.create(proposal=absorbed, user=supporter)
    ProposalSupport.objects.create(proposal=absorbed, user=both)
    ProposalSupport.objects.create(proposal=into, user=both)
    merge = propose(into, absorbed, officer)
    services.merge_agree(merge=merge, writer=dev, now=now())
    merge = services.merge_agree(merge=merge, writer=carol, now=now())
    assert merge.status == MergeStatus.MERGED and merge.closed_at is not None
    into.refresh_from_db()
    absorbed.refresh_from_db()
    assert (into.title, into.description, into.estimated_cost) == (
        "Benches and seats by the pond",
        "Five benches around the pond.",
        Decimal("6000.00"),
    )
    version = into.versions.order_by("-number").first()
    assert (version.kind, version.credited_to) == (VersionKind.MERGE, dev)
    coauthors = set(
        into.coauthors.filter(status=CoauthorStatus.ACCEPTED).values_list("user", flat=True)
    )
    assert coauthors == {dev.pk, dev_friend.pk}
    assert set(into.supports.values_list("user", flat=True)) == {supporter.pk, both.pk}
    assert (absorbed.status, absorbed.duplicate_of, absorbed.on_ballot) == (S.MERGED, into, False)
    assert absorbed.events.filter(kind=ProposalEvent.Kind.MERGED_INTO).exists()
    assert into.events.filter(kind=ProposalEvent.Kind.MERGED).exists()
    assert OutboxEmail.objects.filter(kind=MERGE_ANSWERED.name).count() == 4  # 3 + officer
    page = client_for(UserFactory()).get(into.get_absolute_url()).content.decode()
    assert "Dev of A" in page and "Carol of A" in page and "Dev&#x27;s friend" in page
    gone = client_for(UserFactory()).get(absorbed.get_absolute_url()).content.decode()
    assert "Merged into another proposal" in gone and into.get_absolute_url() in gone


def test_a_decided_proposal_merged_goes_back_for_a_new_decision(area_a, carol, dev, officer):
    into = written_in(Phase.REVIEW, area_a, carol, status=S.FEASIBLE)
    absorbed = ProposalFactory(
        budget_round=into.budget_round, round_area=into.round_area, author=dev
    )
    merge = propose(into, absorbed, officer)
    services.merge_agree(merge=merge, writer=carol, now=now())
    services.merge_agree(merge=merge, writer=dev, now=now())
    into.refresh_from_db()
    assert (into.status, into.official_cost) == (S.SUBMITTED, None)


def test_someone_writing_both_agrees_for_both(pair, officer, carol, dev):
    into, absorbed = pair
    join(absorbed, dev, carol)
    merge = services.merge_agree(merge=propose(into, absorbed, officer), writer=carol, now=now())
    assert merge.status == MergeStatus.MERGED


def test_one_side_declining_closes_it_and_changes_nothing(pair, officer, carol, dev):
    into, absorbed = pair
    merge = propose(into, absorbed, officer)
    services.merge_agree(merge=merge, writer=carol, now=now())
    with pytest.raises(ValidationError) as error:
        services.merge_decline(merge=merge, writer=dev, reply="", now=now())
    assert set(error.value.message_dict) == {"reply"}
    merge = services.merge_decline(
        merge=merge, writer=dev, reply="Seats are not benches.", now=now()
    )
    assert (merge.status, merge.declined_by, merge.reply) == (
        MergeStatus.DECLINED,
        dev,
        "Seats are not benches.",
    )
    into.refresh_from_db()
    absorbed.refresh_from_db()
    assert into.title == "Benches by the pond" and absorbed.status == S.SUBMITTED
    assert into.versions.count() == 1
    with pytest.raises(PermissionDenied):
        services.merge_agree(merge=merge, writer=dev, now=now())


def test_one_open_merge_per_proposal(pair, officer, area_a):
    into, absorbed = pair
    third = ProposalFactory(budget_round=into.budget_round, round_area=into.round_area)
    propose(into, absorbed, officer)
    with pytest.raises(ValidationError, match="already in a merge"):
        propose(third, absorbed, officer)
    with pytest.raises(ValidationError, match="already in a merge"):
        propose(third, into, officer)
    with pytest.raises(IntegrityError), transaction.atomic():
        ProposalMerge.objects.create(
            officer=officer,
            into=into,
            absorbed=third,
            title="t",
            description="d",
            estimated_cost=1,
            reason="r",
        )
    assert ProposalMerge.objects.count() == 1


def test_the_database_refuses_a_merge_without_both_agreements(pair, officer, carol):
    merge = propose(*pair, officer)
    with pytest.raises(IntegrityError), transaction.atomic():
        ProposalMerge.objects.filter(pk=merge.pk).update(
            status=MergeStatus.MERGED, closed_at=now(), into_agreed_at=now()
        )


@pytest.mark.parametrize("persona", ["resident_a", "officer", "auditor"])
def test_wrong_role_cannot_answer(request, persona, pair, officer):
    into, absorbed = pair
    merge = propose(into, absorbed, officer)
    user = request.getfixturevalue(persona)
    with pytest.raises(PermissionDenied):
        services.merge_agree(merge=merge, writer=user, now=now())
    with pytest.raises(PermissionDenied):
        services.merge_decline(merge=merge, writer=user, reply="No.", now=now())
    merge.refresh_from_db()
    assert merge.status == MergeStatus.PROPOSED and merge.into_agreed_at is None


@pytest.mark.parametrize("persona", ["resident_a", "carol", "auditor"])
def test_wrong_role_cannot_propose_or_withdraw(request, persona, pair, officer):
    into, absorbed = pair
    user = request.getfixturevalue(persona)
    with pytest.raises(PermissionDenied):
        propose(into, absorbed, user)
    merge = propose(into, absorbed, officer)
    with pytest.raises(PermissionDenied):
        services.merge_withdraw(merge=merge, officer=user, now=now())
    assert ProposalMerge.objects.get().status == MergeStatus.PROPOSED


def test_an_officer_withdraws_a_waiting_merge(pair, officer, carol):
    merge = propose(*pair, officer)
    services.merge_withdraw(merge=merge, officer=officer, now=now())
    merge.refresh_from_db()
    assert merge.status == MergeStatus.WITHDRAWN
    with pytest.raises(PermissionDenied):
        services.merge_agree(merge=merge, writer=carol, now=now())


def test_a_merge_still_open_when_voting_opens_lapses(pair, officer, carol):
    into, absorbed = pair
    merge = propose(into, absorbed, officer)
    round_history_rewrite(
        into.budget_round,
        review_starts=now() - timedelta(days=1),
        voting_starts=now() - timedelta(minutes=1),
    )
    merge = ProposalMerge.objects.select_related("into__budget_round", "absorbed").get()
    assert not policies.can_answer_merge(carol, merge, now=now())
    advance_round_phases()
    merge.refresh_from_db()
    assert merge.status == MergeStatus.LAPSED


# --- Pages ------------------------------------------------------------------------------


def test_officer_proposes_on_the_review_page_and_both_authors_agree_on_theirs(
    pair, officer, carol, dev
):
    into, absorbed = pair
    review = reverse("proposals:proposal_review", args=[into.pk])
    officer_client = client_for(officer)
    page = officer_client.get(review).content.decode()
    assert "Seats near the pond" in page and 'value="Benches by the pond"' in page
    data = {
        "action": "merge",
        "absorbed": absorbed.pk,
        "merge_title": "Benches and seats",
        "merge_description": "Five benches.",
        "merge_cost": "6000",
        "merge_reason": "",
    }
    response = officer_client.post(review, data)
    assert response.status_code == 200 and not ProposalMerge.objects.exists()
    assert "This field is required" in response.content.decode()
    response = officer_client.post(review, {**data, "merge_reason": "Same pond."})
    assert response.status_code == 302
    merge = ProposalMerge.objects.get()
    for writer, proposal in ((dev, absorbed), (carol, into)):
        page = client_for(writer).get(proposal.get_absolute_url()).content.decode()
        assert "Agree to merge" in page and "Same pond." in page
        client_for(writer).post(
            reverse("proposals:merge_answer", args=[merge.pk]), {"action": "agree"}
        )
    merge.refresh_from_db()
    assert merge.status == MergeStatus.MERGED
    public = client_for(UserFactory()).get(into.get_absolute_url()).content.decode()
    assert "Agree to merge" not in public and "Merged: both proposals" in public


@pytest.mark.parametrize("persona", ["resident_a", "officer", "auditor"])
def test_a_stranger_cannot_answer_from_the_page(request, persona, pair, officer):
    merge = propose(*pair, officer)
    response = client_for(request.getfixturevalue(persona)).post(
        reverse("proposals:merge_answer", args=[merge.pk]), {"action": "agree"}
    )
    assert response.status_code == 403
    merge.refresh_from_db()
    assert merge.into_agreed_at is None and merge.absorbed_agreed_at is None


def test_declining_from_the_page_without_a_reply_changes_nothing(pair, officer, dev):
    merge = propose(*pair, officer)
    client_for(dev).post(
        reverse("proposals:merge_answer", args=[merge.pk]), {"action": "decline", "reply": ""}
    )
    merge.refresh_from_db()
    assert merge.status == MergeStatus.PROPOSED


def test_the_review_page_offers_to_withdraw_a_waiting_merge(pair, officer):
    into, absorbed = pair
    propose(into, absorbed, officer)
    review = reverse("proposals:proposal_review", args=[absorbed.pk])
    page = client_for(officer).get(review).content.decode()
    assert "Withdraw the proposed merge" in page
    client_for(officer).post(review, {"action": "merge_withdraw"})
    assert ProposalMerge.objects.get().status == MergeStatus.WITHDRAWN


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(queries)


def test_pages_make_the_same_queries_with_2_and_20_past_merges(area_a, carol, officer):
    counts = []
    for size in (2, 20):
        into = written_in(Phase.REVIEW, area_a, carol)
        for n in range(size):
            other_author = resident_in(area_a)
            other = ProposalFactory(
                budget_round=into.budget_round, round_area=into.round_area, author=other_author
            )
            merge = propose(into, other, officer, title=f"Merged {n}")
            services.merge_decline(merge=merge, writer=other_author, reply="No.", now=now())
        propose(
            into,
            ProposalFactory(budget_round=into.budget_round, round_area=into.round_area),
            officer,
        )
        review = reverse("proposals:proposal_review", args=[into.pk])
        counts.append(
            (
                _queries(client_for(carol), into.get_absolute_url()),
                _queries(client_for(officer), review),
            )
        )
    assert counts[0] == counts[1]


# --- Emails -----------------------------------------------------------------------------


def test_the_writers_hear_of_the_merge_and_everyone_of_the_refusal(
    pair, officer, carol, dev, monkeypatch, settings, django_capture_on_commit_callbacks
):
    settings.SITE_URL = "https://pb.example.org"
    monkeypatch.setattr(
        send_outbox_email, "delay", lambda item_id: send_outbox_email.apply(args=[item_id])
    )
    into, absorbed = pair
    with django_capture_on_commit_callbacks(execute=True):
        merge = propose(into, absorbed, officer)
    assert sorted(m.to[0] for m in mail.outbox) == sorted([carol.email, dev.email])
    proposed = mail.outbox[0]
    assert "Seats near the pond" in proposed.subject and "Benches by the pond" in proposed.subject
    assert "Five benches around the pond." in proposed.body and "£6,000.00" in proposed.body
    assert f"https://pb.example.org{into.get_absolute_url()}#merges" in proposed.body
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.merge_decline(merge=merge, writer=dev, reply="Seats are not benches.", now=now())
    assert sorted(m.to[0] for m in mail.outbox) == sorted([carol.email, dev.email, officer.email])
    assert all(
        "Dev of A declined" in m.body and "Seats are not benches." in m.body for m in mail.outbox
    )


def test_residents_choose_whether_they_get_merge_emails(resident_a):
    page = client_for(resident_a).get(reverse("email_preferences")).content.decode()
    assert 'name="merge_proposed"' in page and 'name="merge_answered"' in page


def test_merged_proposals_are_never_on_a_ballot(pair, officer, carol, dev):
    into, absorbed = pair
    merge = propose(into, absorbed, officer)
    services.merge_agree(merge=merge, writer=carol, now=now())
    services.merge_agree(merge=merge, writer=dev, now=now())
    assert not Proposal.objects.filter(pk=absorbed.pk, status=S.FEASIBLE).exists()
    assert not policies.can_review_proposal(
        officer, Proposal.objects.get(pk=absorbed.pk), now=now()
    )
