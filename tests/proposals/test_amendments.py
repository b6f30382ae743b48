"""Residents' suggested changes (amendments).

Any verified resident but the proposal's writers suggests a new description (and,
optionally, estimate) with a reason while the text may change; the writers take it in
(a new version credited to the resident; a decided proposal goes back for a new
decision) or decline it with a reply; the resident may withdraw it; one still waiting
when voting opens lapses. Every wrong role changes nothing."""

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
from pb_platform.outbox import AMENDMENT_ANSWERED, AMENDMENT_SUGGESTED
from pb_platform.tasks import send_outbox_email
from proposals import policies, services
from proposals.models import (
    AmendmentStatus,
    Proposal,
    ProposalAmendment,
    ProposalEvent,
    ProposalStatus,
    ProposalVersion,
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
from tests.proposals.test_coauthors import join, resident_in

S = ProposalStatus
BUDGET = Decimal("50000.00")


def now():
    return timezone.now()


def written_in(phase: Phase, area, author, **fields) -> Proposal:
    """A submitted proposal with its first version, in a round at ``phase``."""
    budget_round = BudgetRoundFactory(phase=phase)
    round_area = RoundAreaFactory(budget_round=budget_round, area=area, budget=BUDGET)
    proposal = ProposalFactory(
        budget_round=budget_round,
        round_area=round_area,
        author=author,
        description="Three benches facing the pond.",
        estimated_cost=Decimal("4500.00"),
        **fields,
    )
    ProposalVersion.objects.create(
        proposal=proposal,
        number=1,
        made_by=author,
        kind=VersionKind.CREATED,
        title=proposal.title,
        description=proposal.description,
        estimated_cost=proposal.estimated_cost,
        round_area=round_area,
    )
    return proposal


@pytest.fixture
def author(area_a):
    return resident_in(area_a, display_name="Carol of A")


@pytest.fixture
def neighbour(area_a):
    return resident_in(area_a, display_name="Nina Neighbour")


def suggest(proposal, resident, **fields):
    values = {
        "description": "Four benches facing the pond, one with arms.",
        "estimated_cost": None,
        "reason": "Older people need arms to stand up.",
    }
    values.update(fields)
    return services.amendment_suggest(proposal=proposal, resident=resident, now=now(), **values)


# --- Policies ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "allowed"),
    [
        ("visitor", False),
        ("neighbour", True),
        ("resident_b", True),  # another area: people use services beyond their street
        ("author", False),  # writers change it directly
        ("officer", False),  # officers co-design instead
        ("auditor", False),
    ],
)
@pytest.mark.parametrize("phase", [Phase.SUBMISSION, Phase.REVIEW])
def test_any_resident_but_the_writers_suggests_during_submission_and_review(
    request, persona, allowed, phase, area_a, author
):
    user = AnonymousUser() if persona == "visitor" else request.getfixturevalue(persona)
    proposal = written_in(phase, area_a, author)
    assert bool(policies.can_suggest_amendment(user, proposal, now=now())) is allowed


@pytest.mark.parametrize("phase", [Phase.VOTING, Phase.RESULTS])
def test_no_suggestions_once_the_text_is_fixed_for_the_vote(phase, area_a, author, neighbour):
    proposal = written_in(phase, area_a, author, status=S.FEASIBLE)
    decision = policies.can_suggest_amendment(neighbour, proposal, now=now())
    assert not decision and "Changing proposals" in decision.reason


@pytest.mark.parametrize("status", [S.DRAFT, S.WITHDRAWN])
def test_drafts_and_withdrawn_proposals_take_no_suggestions(status, area_a, author, neighbour):
    proposal = written_in(Phase.SUBMISSION, area_a, author, status=status)
    assert not policies.can_suggest_amendment(neighbour, proposal, now=now())


def test_a_co_author_answers_but_does_not_suggest(area_a, author, neighbour, resident_b):
    proposal = written_in(Phase.SUBMISSION, area_a, author)
    join(proposal, author, neighbour)
    assert not policies.can_suggest_amendment(neighbour, proposal, now=now())
    amendment = suggest(proposal, resident_b)
    assert policies.can_answer_amendment(neighbour, amendment, now=now())


@pytest.mark.parametrize(
    ("persona", "allowed"),
    [
        ("visitor", False),
        ("neighbour", False),  # who suggested it does not answer it
        ("resident_b", False),
        ("author", True),
        ("officer", False),
        ("auditor", False),
    ],
)
def test_only_the_writers_answer(request, persona, allowed, area_a, author, neighbour):
    user = AnonymousUser() if persona == "visitor" else request.getfixturevalue(persona)
    amendment = suggest(written_in(Phase.REVIEW, area_a, author), neighbour)
    assert bool(policies.can_answer_amendment(user, amendment, now=now())) is allowed


# --- Services ---------------------------------------------------------------------------


def test_a_suggestion_needs_a_change_and_a_reason(area_a, author, neighbour):
    proposal = written_in(Phase.SUBMISSION, area_a, author)
    with pytest.raises(ValidationError) as error:
        suggest(proposal, neighbour, description=" Three benches facing the pond. ", reason="")
    assert set(error.value.message_dict) == {"reason"}
    with pytest.raises(ValidationError, match="changes nothing"):
        suggest(proposal, neighbour, description=proposal.description, estimated_cost="4500")
    with pytest.raises(ValidationError) as error:
        suggest(proposal, neighbour, estimated_cost="-3")
    assert set(error.value.message_dict) == {"estimated_cost"}
    assert not ProposalAmendment.objects.exists()


def test_a_suggestion_is_emailed_to_every_writer(area_a, author, neighbour, resident_b):
    proposal = written_in(Phase.SUBMISSION, area_a, author)
    join(proposal, author, neighbour)
    amendment = suggest(proposal, resident_b)
    assert amendment.base_version == 1
    told = OutboxEmail.objects.filter(kind=AMENDMENT_SUGGESTED.name)
    assert set(told.values_list("recipient", flat=True)) == {author.pk, neighbour.pk}


def test_one_waiting_suggestion_per_resident(area_a, author, neighbour):
    proposal = written_in(Phase.SUBMISSION, area_a, author)
    suggest(proposal, neighbour)
    with pytest.raises(ValidationError, match="one at a time"):
        suggest(proposal, neighbour, description="Five benches.")
    with pytest.raises(IntegrityError), transaction.atomic():
        ProposalAmendment.objects.create(
            proposal=proposal, author=neighbour, base_version=1, description="x", reason="y"
        )
    assert ProposalAmendment.objects.count() == 1


def test_the_database_refuses_a_decline_without_a_reply(area_a, author, neighbour):
    amendment = suggest(written_in(Phase.SUBMISSION, area_a, author), neighbour)
    with pytest.raises(IntegrityError), transaction.atomic():
        ProposalAmendment.objects.filter(pk=amendment.pk).update(
            status=AmendmentStatus.DECLINED, closed_at=now()
        )


def test_taking_it_in_makes_a_version_credited_to_the_resident(area_a, author, neighbour):
    proposal = written_in(Phase.SUBMISSION, area_a, author)
    amendment = suggest(proposal, neighbour, estimated_cost="5200")
    services.amendment_accept(amendment=amendment, writer=author, reply="Good idea.", now=now())
    proposal.refresh_from_db()
    amendment.refresh_from_db()
    assert proposal.description == "Four benches facing the pond, one with arms."
    assert proposal.estimated_cost == Decimal("5200.00") and proposal.official_cost is None
    version = proposal.versions.get(number=2)
    assert (version.kind, version.made_by, version.credited_to) == (
        VersionKind.AMENDMENT,
        author,
        neighbour,
    )
    assert (amendment.status, amendment.reply, amendment.answered_by) == (
        AmendmentStatus.ACCEPTED,
        "Good idea.",
        author,
    )
    assert proposal.events.filter(kind=ProposalEvent.Kind.AMENDMENT_ACCEPTED).exists()
    assert OutboxEmail.objects.filter(kind=AMENDMENT_ANSWERED.name, recipient=neighbour).exists()


def test_taking_one_in_after_a_decision_asks_for_a_new_one(area_a, author, neighbour):
    proposal = written_in(Phase.REVIEW, area_a, author, status=S.FEASIBLE)
    amendment = suggest(proposal, neighbour)
    services.amendment_accept(amendment=amendment, writer=author, reply="", now=now())
    proposal.refresh_from_db()
    assert (proposal.status, proposal.official_cost) == (S.SUBMITTED, None)


def test_declining_needs_a_reply_and_keeps_the_text(area_a, author, neighbour):
    proposal = written_in(Phase.SUBMISSION, area_a, author)
    amendment = suggest(proposal, neighbour)
    with pytest.raises(ValidationError) as error:
        services.amendment_decline(amendment=amendment, writer=author, reply=" ", now=now())
    assert set(error.value.message_dict) == {"reply"}
    services.amendment_decline(
        amendment=amendment, writer=author, reply="Arms block wheelchairs.", now=now()
    )
    proposal.refresh_from_db()
    amendment.refresh_from_db()
    assert proposal.description == "Three benches facing the pond."
    assert proposal.versions.count() == 1
    assert (amendment.status, amendment.reply) == (
        AmendmentStatus.DECLINED,
        "Arms block wheelchairs.",
    )
    with pytest.raises(PermissionDenied, match="closed"):
        services.amendment_accept(amendment=amendment, writer=author, reply="", now=now())


def test_a_suggestion_written_before_an_edit_replaces_the_edited_text(area_a, author, neighbour):
    proposal = written_in(Phase.SUBMISSION, area_a, author)
    amendment = suggest(proposal, neighbour)
    page = client_for(author).get(reverse("proposals:amendment_detail", args=[amendment.pk]))
    assert "changed the text after" not in page.content.decode()
    ProposalVersion.objects.create(
        proposal=proposal,
        number=2,
        made_by=author,
        kind=VersionKind.EDIT,
        title=proposal.title,
        description="Three green benches.",
        estimated_cost=proposal.estimated_cost,
        round_area=proposal.round_area,
    )
    Proposal.objects.filter(pk=proposal.pk).update(description="Three green benches.")
    page = client_for(author).get(reverse("proposals:amendment_detail", args=[amendment.pk]))
    assert "changed the text after" in page.content.decode()
    services.amendment_accept(amendment=amendment, writer=author, reply="", now=now())
    proposal.refresh_from_db()
    assert proposal.description == amendment.description


def test_the_resident_withdraws_their_waiting_suggestion(area_a, author, neighbour, resident_b):
    amendment = suggest(written_in(Phase.SUBMISSION, area_a, author), neighbour)
    with pytest.raises(PermissionDenied):
        services.amendment_withdraw(amendment=amendment, resident=resident_b, now=now())
    services.amendment_withdraw(amendment=amendment, resident=neighbour, now=now())
    amendment.refresh_from_db()
    assert amendment.status == AmendmentStatus.WITHDRAWN
    with pytest.raises(PermissionDenied):
        services.amendment_accept(amendment=amendment, writer=author, reply="", now=now())


@pytest.mark.parametrize("persona", ["neighbour", "resident_b", "officer", "auditor"])
def test_wrong_role_cannot_answer(request, persona, area_a, author, neighbour):
    proposal = written_in(Phase.SUBMISSION, area_a, author)
    amendment = suggest(proposal, neighbour)
    for answer in (services.amendment_accept, services.amendment_decline):
        with pytest.raises(PermissionDenied):
            answer(
                amendment=amendment,
                writer=request.getfixturevalue(persona),
                reply="no",
                now=now(),
            )
    proposal.refresh_from_db()
    assert proposal.description == "Three benches facing the pond."
    assert ProposalAmendment.objects.get().status == AmendmentStatus.PROPOSED


@pytest.mark.parametrize("persona", ["author", "officer", "auditor"])
def test_wrong_role_cannot_suggest(request, persona, area_a, author):
    proposal = written_in(Phase.SUBMISSION, area_a, author)
    with pytest.raises(PermissionDenied):
        suggest(proposal, request.getfixturevalue(persona))
    assert not ProposalAmendment.objects.exists()


def test_a_waiting_suggestion_lapses_when_voting_opens(area_a, author, neighbour):
    proposal = written_in(Phase.REVIEW, area_a, author)
    amendment = suggest(proposal, neighbour)
    round_history_rewrite(
        proposal.budget_round,
        review_starts=now() - timedelta(days=1),
        voting_starts=now() - timedelta(minutes=1),
    )
    proposal.refresh_from_db()
    assert policies.amendment_state(amendment, proposal, now=now()) == AmendmentStatus.LAPSED
    assert not policies.can_answer_amendment(author, amendment, now=now(), proposal=proposal)
    advance_round_phases()
    amendment.refresh_from_db()
    assert amendment.status == AmendmentStatus.LAPSED and amendment.closed_at is not None


# --- Pages ------------------------------------------------------------------------------


def test_a_resident_suggests_from_the_page_and_the_author_takes_it_in(area_a, author, neighbour):
    proposal = written_in(Phase.SUBMISSION, area_a, author)
    page = client_for(neighbour).get(proposal.get_absolute_url()).content.decode()
    assert "Suggest a change" in page
    new = reverse("proposals:amendment_new", args=[proposal.pk])
    form = client_for(neighbour).get(new).content.decode()
    assert "Three benches facing the pond." in form  # starts from the current text
    response = client_for(neighbour).post(
        new, {"description": proposal.description, "estimated_cost": "", "reason": "x"}
    )
    assert response.status_code == 200 and "changes nothing" in response.content.decode()
    response = client_for(neighbour).post(
        new,
        {"description": "Four benches.", "estimated_cost": "", "reason": "More people sit."},
    )
    amendment = ProposalAmendment.objects.get()
    detail = reverse("proposals:amendment_detail", args=[amendment.pk])
    assert response.status_code == 302 and response["Location"] == detail
    shown = client_for(author).get(detail).content.decode()
    assert "<ins>" in shown and "<del>" in shown and "Take it in" in shown
    public = client_for(UserFactory()).get(detail).content.decode()
    assert "More people sit." in public and "Take it in" not in public
    response = client_for(author).post(
        reverse("proposals:amendment_answer", args=[amendment.pk]),
        {"action": "accept", "reply": "Thanks, Nina."},
    )
    assert response.status_code == 302
    proposal.refresh_from_db()
    assert proposal.description == "Four benches."
    page = client_for(UserFactory()).get(proposal.get_absolute_url()).content.decode()
    assert "suggested by Nina Neighbour" in page
    assert "Taken in by the authors" in page and "Thanks, Nina." in page


def test_declining_from_the_page_without_a_reply_changes_nothing(area_a, author, neighbour):
    amendment = suggest(written_in(Phase.SUBMISSION, area_a, author), neighbour)
    client_for(author).post(
        reverse("proposals:amendment_answer", args=[amendment.pk]),
        {"action": "decline", "reply": ""},
    )
    amendment.refresh_from_db()
    assert amendment.status == AmendmentStatus.PROPOSED


@pytest.mark.parametrize("persona", ["neighbour", "resident_b", "officer", "auditor"])
def test_a_stranger_cannot_answer_from_the_page(request, persona, area_a, author, neighbour):
    amendment = suggest(written_in(Phase.SUBMISSION, area_a, author), neighbour)
    response = client_for(request.getfixturevalue(persona)).post(
        reverse("proposals:amendment_answer", args=[amendment.pk]),
        {"action": "accept", "reply": ""},
    )
    assert response.status_code == 403
    amendment.refresh_from_db()
    assert amendment.status == AmendmentStatus.PROPOSED


@pytest.mark.parametrize("persona", ["author", "officer", "auditor"])
def test_wrong_role_gets_the_reason_and_cannot_post(request, persona, area_a, author):
    proposal = written_in(Phase.SUBMISSION, area_a, author)
    client = client_for(request.getfixturevalue(persona))
    new = reverse("proposals:amendment_new", args=[proposal.pk])
    page = client.get(new)
    assert page.status_code == 200 and "Send my suggestion" not in page.content.decode()
    response = client.post(new, {"description": "Other.", "reason": "Because."})
    assert response.status_code == 403
    assert not ProposalAmendment.objects.exists()


def test_a_visitor_is_asked_to_sign_in(area_a, author, client):
    proposal = written_in(Phase.SUBMISSION, area_a, author)
    new = reverse("proposals:amendment_new", args=[proposal.pk])
    assert "Sign in to suggest a change" in client.get(proposal.get_absolute_url()).content.decode()
    response = client.post(new, {"description": "Other.", "reason": "Because."})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not ProposalAmendment.objects.exists()


def test_only_its_resident_withdraws_it_from_the_page(area_a, author, neighbour, resident_b):
    amendment = suggest(written_in(Phase.SUBMISSION, area_a, author), neighbour)
    withdraw = reverse("proposals:amendment_withdraw", args=[amendment.pk])
    assert client_for(resident_b).post(withdraw).status_code == 403
    amendment.refresh_from_db()
    assert amendment.status == AmendmentStatus.PROPOSED
    assert client_for(neighbour).post(withdraw).status_code == 302
    amendment.refresh_from_db()
    assert amendment.status == AmendmentStatus.WITHDRAWN


def test_a_draft_s_amendment_pages_do_not_exist(area_a, author, neighbour):
    proposal = written_in(Phase.SUBMISSION, area_a, author, status=S.DRAFT)
    url = reverse("proposals:amendment_new", args=[proposal.pk])
    assert client_for(neighbour).get(url).status_code == 404


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(queries)


def test_the_proposal_page_makes_the_same_queries_at_2_and_20_suggestions(area_a, author):
    counts = []
    for size in (2, 20):
        proposal = written_in(Phase.SUBMISSION, area_a, author)
        for n in range(size):
            amendment = suggest(proposal, resident_in(area_a), description=f"Text {n}.")
            if n % 2:
                services.amendment_decline(
                    amendment=amendment, writer=author, reply="No.", now=now()
                )
        client = client_for(author)
        detail = reverse("proposals:amendment_detail", args=[amendment.pk])
        counts.append((_queries(client, proposal.get_absolute_url()), _queries(client, detail)))
    assert counts[0] == counts[1]


# --- Emails -----------------------------------------------------------------------------


def test_the_writers_are_emailed_the_suggestion_and_the_resident_the_answer(
    area_a, author, neighbour, monkeypatch, settings, django_capture_on_commit_callbacks
):
    settings.SITE_URL = "https://pb.example.org"
    monkeypatch.setattr(
        send_outbox_email, "delay", lambda item_id: send_outbox_email.apply(args=[item_id])
    )
    proposal = written_in(Phase.SUBMISSION, area_a, author, title="Pond benches")
    with django_capture_on_commit_callbacks(execute=True):
        amendment = suggest(proposal, neighbour, estimated_cost="5200")
    (suggested,) = mail.outbox
    assert suggested.to == [author.email]
    assert "Nina Neighbour" in suggested.subject and "Pond benches" in suggested.subject
    assert "Older people need arms" in suggested.body and "£5,200.00" in suggested.body
    assert f"https://pb.example.org/amendments/{amendment.pk}/" in suggested.body
    assert neighbour.email not in suggested.body
    with django_capture_on_commit_callbacks(execute=True):
        services.amendment_decline(
            amendment=amendment, writer=author, reply="Arms block wheelchairs.", now=now()
        )
    answered = mail.outbox[1]
    assert answered.to == [neighbour.email]
    assert "Declined by the authors" in answered.subject
    assert "Arms block wheelchairs." in answered.body


def test_residents_choose_whether_they_get_amendment_emails(resident_a):
    page = client_for(resident_a).get(reverse("email_preferences")).content.decode()
    assert 'name="amendment_suggested"' in page and 'name="amendment_answered"' in page
