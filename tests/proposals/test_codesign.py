"""Showing support before review, and officers' co-design during review.

Support: verified residents of the proposal's area (any resident for a whole-council
area) support an idea with one click while it is submitted and reviewed, and may
withdraw it; the count is public. Co-design: during review an officer offers the
authors a revised description, cost or both; the authors accept (the proposal changes;
a cost becomes the official cost) or decline (the review goes on); an offer left
unanswered lapses when review ends. Every wrong role changes nothing."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth.models import AnonymousUser
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from pb_platform.models import OutboxEmail
from pb_platform.outbox import CODESIGN_ANSWERED, CODESIGN_OFFERED, PROPOSAL_DECISION
from pb_platform.roles import RESIDENT, role_grant
from pb_platform.tasks import send_outbox_email
from proposals import policies, services
from proposals.models import (
    CoDesignOffer,
    CoDesignStatus,
    EligibilityMethod,
    ProposalEvent,
    ProposalStatus,
    ProposalSupport,
    VerificationRequired,
)
from proposals.phases import Phase
from proposals.tasks import advance_round_phases
from tests.conftest import client_for
from tests.factories import (
    AreaFactory,
    BudgetRoundFactory,
    ProposalFactory,
    ResidentProfileFactory,
    RoundAreaFactory,
    UserFactory,
    round_history_rewrite,
)

S = ProposalStatus


def now():
    return timezone.now()


@pytest.fixture
def author(area_a):
    profile = ResidentProfileFactory(area=area_a, display_name="Carol of A")
    role_grant(user=profile.user, role=RESIDENT)
    return profile.user


@pytest.fixture
def unverified(area_a):
    profile = ResidentProfileFactory(area=area_a, display_name="Uma of A")
    role_grant(user=profile.user, role=RESIDENT)
    EmailAddress.objects.filter(user=profile.user).update(verified=False)
    return profile.user


def proposal_in(phase: Phase, area, author, **fields):
    budget_round = BudgetRoundFactory(phase=phase)
    round_area = RoundAreaFactory(budget_round=budget_round, area=area, budget=Decimal("50000"))
    return ProposalFactory(
        budget_round=budget_round, round_area=round_area, author=author, **fields
    )


# --- Support: policies ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "allowed"),
    [
        ("visitor", False),
        ("resident_b", False),  # lives in another area
        ("unverified", False),  # email not verified
        ("resident_a", True),
        ("author", False),  # their support goes without saying
        ("officer", False),
        ("auditor", False),
    ],
)
@pytest.mark.parametrize("phase", [Phase.SUBMISSION, Phase.REVIEW])
def test_only_verified_residents_of_the_area_support_during_submission_and_review(
    request, persona, allowed, phase, area_a, author
):
    user = AnonymousUser() if persona == "visitor" else request.getfixturevalue(persona)
    proposal = proposal_in(phase, area_a, author)
    decision = policies.can_support(user, proposal, now=now())
    assert bool(decision) is allowed
    if not allowed:
        assert decision.reason


@pytest.mark.parametrize("phase", [Phase.UPCOMING, Phase.VOTING, Phase.RESULTS])
def test_support_is_closed_outside_submission_and_review(phase, area_a, author, resident_a):
    proposal = proposal_in(phase, area_a, author)
    decision = policies.can_support(resident_a, proposal, now=now())
    assert not decision
    assert "Showing support" in decision.reason


def test_everyone_supports_a_whole_council_idea(author, resident_b):
    council = AreaFactory(is_city_wide=True)
    proposal = proposal_in(Phase.SUBMISSION, council, author)
    assert policies.can_support(resident_b, proposal, now=now())


@pytest.mark.parametrize("status", [S.DRAFT, S.WITHDRAWN, S.DUPLICATE])
def test_drafts_withdrawn_and_duplicates_take_no_support(status, area_a, author, resident_a):
    other = proposal_in(Phase.REVIEW, area_a, author)
    fields = {"duplicate_of": other} if status == S.DUPLICATE else {}
    proposal = ProposalFactory(
        budget_round=other.budget_round,
        round_area=other.round_area,
        author=author,
        status=status,
        **fields,
    )
    assert not policies.can_support(resident_a, proposal, now=now())


def test_a_round_that_needs_eligibility_asks_it_of_supporters(area_a, author, resident_a):
    proposal = proposal_in(Phase.SUBMISSION, area_a, author)
    round_history_rewrite(proposal.budget_round, verification_required=VerificationRequired.ANY)
    proposal.budget_round.refresh_from_db()
    decision = policies.can_support(resident_a, proposal, now=now())
    assert not decision
    assert "eligibility-verified" in decision.reason
    profile = resident_a.resident_profile
    profile.eligibility_verified_at = now()
    profile.eligibility_method = EligibilityMethod.CODE
    profile.save()
    assert policies.can_support(resident_a, proposal, now=now())


# --- Support: services ------------------------------------------------------------------


def test_support_is_counted_once_and_can_be_withdrawn(area_a, author, resident_a):
    proposal = proposal_in(Phase.SUBMISSION, area_a, author)
    assert services.proposal_support_add(proposal=proposal, user=resident_a, now=now())
    assert not services.proposal_support_add(proposal=proposal, user=resident_a, now=now())
    assert ProposalSupport.objects.filter(proposal=proposal).count() == 1
    assert services.proposal_support_withdraw(proposal=proposal, user=resident_a, now=now())
    assert not services.proposal_support_withdraw(proposal=proposal, user=resident_a, now=now())
    assert not ProposalSupport.objects.exists()


def test_the_database_refuses_a_second_support_by_the_same_person(area_a, author, resident_a):
    proposal = proposal_in(Phase.SUBMISSION, area_a, author)
    ProposalSupport.objects.create(proposal=proposal, user=resident_a)
    with pytest.raises(IntegrityError), transaction.atomic():
        ProposalSupport.objects.create(proposal=proposal, user=resident_a)


@pytest.mark.parametrize("persona", ["resident_b", "unverified", "author", "officer", "auditor"])
def test_wrong_role_cannot_support(request, persona, area_a, author):
    proposal = proposal_in(Phase.SUBMISSION, area_a, author)
    with pytest.raises(PermissionDenied):
        services.proposal_support_add(
            proposal=proposal, user=request.getfixturevalue(persona), now=now()
        )
    assert not ProposalSupport.objects.exists()


def test_support_cannot_be_withdrawn_once_voting_opened(area_a, author, resident_a):
    proposal = proposal_in(Phase.VOTING, area_a, author)
    ProposalSupport.objects.create(proposal=proposal, user=resident_a)
    with pytest.raises(PermissionDenied):
        services.proposal_support_withdraw(proposal=proposal, user=resident_a, now=now())
    assert ProposalSupport.objects.count() == 1


# --- Co-design: policies ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "allowed"),
    [
        ("visitor", False),
        ("resident_a", False),
        ("author", False),
        ("officer", True),
        ("auditor", False),
    ],
)
def test_only_officers_offer_a_co_design(request, persona, allowed, area_a, author):
    user = AnonymousUser() if persona == "visitor" else request.getfixturevalue(persona)
    proposal = proposal_in(Phase.REVIEW, area_a, author)
    assert bool(policies.can_offer_codesign(user, proposal, now=now(), open_offer=None)) is allowed


@pytest.mark.parametrize("phase", [Phase.SUBMISSION, Phase.VOTING])
def test_co_design_happens_only_during_review(phase, area_a, author, officer):
    proposal = proposal_in(phase, area_a, author)
    assert not policies.can_offer_codesign(officer, proposal, now=now(), open_offer=None)


def offer_on(proposal, officer, **fields):
    values = {"cost": Decimal("800.00"), "description": "", "reason": "Smaller works."}
    values.update(fields)
    return services.codesign_offer(proposal=proposal, officer=officer, now=now(), **values)


@pytest.mark.parametrize(
    ("persona", "allowed"),
    [("visitor", False), ("resident_a", False), ("author", True), ("officer", False)],
)
def test_only_the_authors_answer_an_offer(request, persona, allowed, area_a, author, officer):
    user = AnonymousUser() if persona == "visitor" else request.getfixturevalue(persona)
    offer = offer_on(proposal_in(Phase.REVIEW, area_a, author), officer)
    assert bool(policies.can_answer_codesign(user, offer, now=now())) is allowed


# --- Co-design: services ----------------------------------------------------------------


def test_an_offer_needs_a_change_and_a_reason(area_a, author, officer):
    proposal = proposal_in(Phase.REVIEW, area_a, author)
    with pytest.raises(ValidationError) as error:
        offer_on(proposal, officer, cost=None, description=proposal.description, reason="")
    assert set(error.value.message_dict) == {"reason"}
    with pytest.raises(ValidationError) as error:
        offer_on(proposal, officer, cost=None, description=proposal.description)
    assert "description" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        offer_on(proposal, officer, cost="60000")
    assert "cost" in error.value.message_dict
    assert not CoDesignOffer.objects.exists()


def test_an_offer_emails_the_authors_and_only_one_is_open_at_a_time(area_a, author, officer):
    proposal = proposal_in(Phase.REVIEW, area_a, author)
    offer_on(proposal, officer)
    assert OutboxEmail.objects.filter(kind=CODESIGN_OFFERED.name, recipient=author).count() == 1
    with pytest.raises(PermissionDenied):
        offer_on(proposal, officer)
    assert CoDesignOffer.objects.count() == 1


def test_the_database_keeps_one_open_offer_per_proposal(area_a, author, officer):
    proposal = proposal_in(Phase.REVIEW, area_a, author)
    CoDesignOffer.objects.create(proposal=proposal, officer=officer, cost=1, reason="r")
    with pytest.raises(IntegrityError), transaction.atomic():
        CoDesignOffer.objects.create(proposal=proposal, officer=officer, cost=2, reason="r")


def test_the_database_refuses_an_offer_that_changes_nothing(area_a, author, officer):
    proposal = proposal_in(Phase.REVIEW, area_a, author)
    with pytest.raises(IntegrityError), transaction.atomic():
        CoDesignOffer.objects.create(proposal=proposal, officer=officer, reason="r")


def test_accepting_applies_the_scope_and_sets_the_official_cost(area_a, author, officer):
    proposal = proposal_in(Phase.REVIEW, area_a, author, status=S.NOT_FEASIBLE)
    offer = offer_on(proposal, officer, description="Six trees, not twelve.")
    services.codesign_accept(offer=offer, author=author, reply="Agreed.", now=now())
    proposal.refresh_from_db()
    offer.refresh_from_db()
    assert proposal.description == "Six trees, not twelve."
    assert proposal.official_cost == Decimal("800.00")
    assert proposal.status == S.FEASIBLE and proposal.on_ballot
    assert (offer.status, offer.reply, offer.answered_by) == (
        CoDesignStatus.ACCEPTED,
        "Agreed.",
        author,
    )
    event = proposal.events.get(kind=ProposalEvent.Kind.CODESIGN_ACCEPTED)
    assert (event.actor, event.official_cost, event.to_status) == (
        author,
        Decimal("800.00"),
        S.FEASIBLE,
    )
    assert OutboxEmail.objects.filter(kind=CODESIGN_ANSWERED.name, recipient=officer).exists()
    # The author's own acceptance is not an officer's decision to email them about.
    assert not OutboxEmail.objects.filter(kind=PROPOSAL_DECISION.name).exists()


def test_accepting_a_scope_only_offer_keeps_the_decision(area_a, author, officer):
    proposal = proposal_in(Phase.REVIEW, area_a, author)
    offer = offer_on(proposal, officer, cost=None, description="Only the south side.")
    services.codesign_accept(offer=offer, author=author, reply="", now=now())
    proposal.refresh_from_db()
    assert proposal.description == "Only the south side."
    assert (proposal.status, proposal.official_cost) == (S.SUBMITTED, None)


def test_declining_leaves_the_proposal_and_the_review_goes_on(area_a, author, officer):
    proposal = proposal_in(Phase.REVIEW, area_a, author, status=S.FEASIBLE)
    before = (proposal.description, proposal.official_cost, proposal.status)
    offer = offer_on(proposal, officer, description="Fewer.")
    services.codesign_decline(offer=offer, author=author, reply="We need all twelve.", now=now())
    proposal.refresh_from_db()
    assert (proposal.description, proposal.official_cost, proposal.status) == before
    assert CoDesignOffer.objects.get().status == CoDesignStatus.DECLINED
    # A new offer may follow, and the officer can still decide.
    offer_on(proposal, officer, cost="900")
    assert policies.can_review_proposal(officer, proposal, now=now())


@pytest.mark.parametrize("persona", ["resident_a", "officer", "auditor"])
def test_wrong_role_cannot_answer(request, persona, area_a, author, officer):
    proposal = proposal_in(Phase.REVIEW, area_a, author)
    offer = offer_on(proposal, officer)
    for answer in (services.codesign_accept, services.codesign_decline):
        with pytest.raises(PermissionDenied):
            answer(offer=offer, author=request.getfixturevalue(persona), reply="", now=now())
    proposal.refresh_from_db()
    assert proposal.official_cost is None
    assert CoDesignOffer.objects.get().status == CoDesignStatus.PROPOSED


@pytest.mark.parametrize("persona", ["resident_a", "author", "auditor"])
def test_wrong_role_cannot_offer(request, persona, area_a, author):
    proposal = proposal_in(Phase.REVIEW, area_a, author)
    with pytest.raises(PermissionDenied):
        offer_on(proposal, request.getfixturevalue(persona))
    assert not CoDesignOffer.objects.exists()


def test_an_unanswered_offer_lapses_when_review_ends(area_a, author, officer):
    proposal = proposal_in(Phase.REVIEW, area_a, author, status=S.NOT_FEASIBLE)
    offer = offer_on(proposal, officer)
    after_review = proposal.budget_round.voting_starts + timedelta(minutes=1)
    # Shown lapsed from the clock, and the authors can no longer accept...
    assert policies.codesign_state(offer, proposal, now=after_review) == CoDesignStatus.LAPSED
    with pytest.raises(PermissionDenied):
        services.codesign_accept(offer=offer, author=author, reply="", now=after_review)
    # ...and the phase-end work records it, once.
    assert services.codesign_offers_lapse(now=now()) == 0
    assert services.codesign_offers_lapse(now=after_review) == 1
    assert services.codesign_offers_lapse(now=after_review) == 0
    offer.refresh_from_db()
    assert offer.status == CoDesignStatus.LAPSED and offer.answered_by is None
    proposal.refresh_from_db()
    assert (proposal.status, proposal.official_cost) == (S.NOT_FEASIBLE, None)


# --- Pages ------------------------------------------------------------------------------


def test_a_resident_supports_and_withdraws_from_the_page(area_a, author, resident_a):
    proposal = proposal_in(Phase.SUBMISSION, area_a, author)
    client = client_for(resident_a)
    page = client.get(proposal.get_absolute_url()).content.decode()
    assert "Support this idea" in page and "0 residents support this idea" in page
    url = reverse("proposals:proposal_support", args=[proposal.pk])
    response = client.post(url, {"action": "support"}, follow=True)
    assert "1 resident supports this idea" in response.content.decode()
    assert "Withdraw my support" in response.content.decode()
    client.post(url, {"action": "withdraw"})
    assert not ProposalSupport.objects.exists()


def test_the_page_says_why_someone_cannot_support(area_a, author, resident_b):
    proposal = proposal_in(Phase.SUBMISSION, area_a, author)
    page = client_for(resident_b).get(proposal.get_absolute_url()).content.decode()
    assert "Support this idea" not in page
    assert "Only residents of Area A can support this proposal." in page
    response = client_for(resident_b).post(
        reverse("proposals:proposal_support", args=[proposal.pk]), {"action": "support"}
    )
    assert response.status_code == 403
    assert not ProposalSupport.objects.exists()


def test_officer_offers_on_the_review_page_and_the_author_accepts(area_a, author, officer):
    proposal = proposal_in(Phase.REVIEW, area_a, author)
    review = reverse("proposals:proposal_review", args=[proposal.pk])
    officer_client = client_for(officer)
    response = officer_client.post(
        review,
        {"action": "codesign", "cost": "", "description": proposal.description, "reason": "x"},
    )
    assert response.status_code == 200  # nothing changed: the form says why
    assert "changes nothing" in response.content.decode()
    response = officer_client.post(
        review,
        {"action": "codesign", "cost": "750", "description": "Half.", "reason": "Cheaper."},
    )
    assert response.status_code == 302
    offer = CoDesignOffer.objects.get()
    page = client_for(author).get(proposal.get_absolute_url()).content.decode()
    assert "Accept the change" in page and "Cheaper." in page
    public = client_for(UserFactory()).get(proposal.get_absolute_url()).content.decode()
    assert "Cheaper." in public and "Accept the change" not in public
    client_for(author).post(
        reverse("proposals:codesign_answer", args=[offer.pk]),
        {"action": "accept", "reply": "Fine by us."},
    )
    proposal.refresh_from_db()
    assert (proposal.official_cost, proposal.description) == (Decimal("750.00"), "Half.")


def test_an_officer_withdraws_a_waiting_offer_and_the_authors_can_no_longer_accept_it(
    area_a, author, officer
):
    proposal = proposal_in(Phase.REVIEW, area_a, author)
    wrong = offer_on(proposal, officer, cost=Decimal("8.00"), reason="A typo in the cost.")
    review = reverse("proposals:proposal_review", args=[proposal.pk])
    officer_client = client_for(officer)
    assert "Withdraw the waiting offer" in officer_client.get(review).content.decode()
    response = officer_client.post(review, {"action": "codesign_withdraw"})
    assert response.status_code == 302
    wrong.refresh_from_db()
    assert wrong.status == CoDesignStatus.WITHDRAWN and wrong.closed_at is not None
    with pytest.raises(PermissionDenied):
        services.codesign_accept(offer=wrong, author=author, reply="", now=now())
    page = client_for(author).get(proposal.get_absolute_url()).content.decode()
    assert "Withdrawn by the council" in page and "Accept the change" not in page
    offer_on(proposal, officer, cost=Decimal("800.00"))  # the right one can now be made
    proposal.refresh_from_db()
    assert proposal.official_cost is None


@pytest.mark.parametrize("persona", ["resident_a", "author", "auditor"])
def test_wrong_role_cannot_withdraw_an_offer(request, persona, area_a, author, officer):
    proposal = proposal_in(Phase.REVIEW, area_a, author)
    offer = offer_on(proposal, officer)
    user = request.getfixturevalue(persona)
    with pytest.raises(PermissionDenied):
        services.codesign_withdraw(offer=offer, officer=user, now=now())
    response = client_for(user).post(
        reverse("proposals:proposal_review", args=[proposal.pk]), {"action": "codesign_withdraw"}
    )
    assert response.status_code in (403, 404)
    offer.refresh_from_db()
    assert offer.status == CoDesignStatus.PROPOSED


def test_an_answered_offer_cannot_be_withdrawn(area_a, author, officer):
    offer = offer_on(proposal_in(Phase.REVIEW, area_a, author), officer)
    services.codesign_decline(offer=offer, author=author, reply="No.", now=now())
    with pytest.raises(PermissionDenied, match="still waiting"):
        services.codesign_withdraw(offer=offer, officer=officer, now=now())
    offer.refresh_from_db()
    assert offer.status == CoDesignStatus.DECLINED


def test_the_review_page_gives_each_field_its_own_id(area_a, author, officer):
    """Its forms (co-design, decision, send back, merge, duplicate) share field names;
    a label must point at its own field, so no id may appear twice."""
    import re
    from collections import Counter

    proposal = proposal_in(Phase.REVIEW, area_a, author)
    ProposalFactory(budget_round=proposal.budget_round, round_area=proposal.round_area)
    page = client_for(officer).get(reverse("proposals:proposal_review", args=[proposal.pk]))
    ids = Counter(re.findall(r'\sid="([^"]+)"', page.content.decode()))
    assert "id_codesign_reason" in ids and "id_reason" in ids
    assert [name for name, count in ids.items() if count > 1] == []


def test_a_stranger_cannot_answer_an_offer(area_a, author, officer, resident_a):
    offer = offer_on(proposal_in(Phase.REVIEW, area_a, author), officer)
    response = client_for(resident_a).post(
        reverse("proposals:codesign_answer", args=[offer.pk]), {"action": "accept"}
    )
    assert response.status_code == 403
    offer.refresh_from_db()
    assert offer.status == CoDesignStatus.PROPOSED


def test_lists_show_and_sort_by_support(area_a, author, resident_a):
    quiet = proposal_in(Phase.SUBMISSION, area_a, author, title="Quiet idea")
    popular = ProposalFactory(
        budget_round=quiet.budget_round,
        round_area=quiet.round_area,
        author=author,
        title="Popular idea",
        submitted_at=quiet.submitted_at - timedelta(days=1),
    )
    for _ in range(3):
        ProposalSupport.objects.create(proposal=popular, user=UserFactory())
    url = reverse("proposals:round_proposals", args=[quiet.budget_round.slug])
    page = client_for(resident_a).get(url, {"sort": "support"}).content.decode()
    assert page.index("Popular idea") < page.index("Quiet idea")


def _supported_round(size: int, area, slug: str):
    budget_round = BudgetRoundFactory(phase=Phase.REVIEW, slug=slug)
    round_area = RoundAreaFactory(budget_round=budget_round, area=area)
    supporters = UserFactory.create_batch(3)
    officer = UserFactory()
    proposals = []
    for _ in range(size):
        proposal = ProposalFactory(budget_round=budget_round, round_area=round_area)
        ProposalSupport.objects.bulk_create(
            ProposalSupport(proposal=proposal, user=user) for user in supporters
        )
        for status in (CoDesignStatus.DECLINED, CoDesignStatus.PROPOSED):
            CoDesignOffer.objects.create(
                proposal=proposal,
                officer=officer,
                cost=1,
                reason="r",
                status=status,
                closed_at=None if status == CoDesignStatus.PROPOSED else now(),
            )
        proposals.append(proposal)
    return budget_round, proposals


def count_queries(client, url, **params) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
    assert response.status_code == 200
    return len(queries), response.content.decode()


@pytest.mark.parametrize("persona", ["author", "officer"])
def test_lists_and_pages_with_supports_and_offers_make_constant_queries(
    request, persona, area_a, author
):
    client = client_for(request.getfixturevalue(persona))
    counts = []
    for size in (3, 30):
        budget_round, proposals = _supported_round(size, area_a, f"r{size}")
        listed, page = count_queries(
            client,
            reverse("proposals:round_proposals", args=[budget_round.slug]),
            sort="support",
        )
        assert page.count("<dt>Supporters</dt><dd>3</dd>") == min(size, 20)
        detail, _page = count_queries(client, proposals[0].get_absolute_url())
        review = 0
        if persona == "officer":
            review, _page = count_queries(
                client, reverse("proposals:proposal_review", args=[proposals[0].pk])
            )
        counts.append((listed, detail, review))
    assert counts[0] == counts[1]


# --- Emails -----------------------------------------------------------------------------


def test_the_authors_are_emailed_the_offer_and_the_officer_the_answer(
    area_a, author, officer, monkeypatch, settings, django_capture_on_commit_callbacks
):
    settings.SITE_URL = "https://pb.example.org"
    monkeypatch.setattr(
        send_outbox_email, "delay", lambda item_id: send_outbox_email.apply(args=[item_id])
    )
    proposal = proposal_in(Phase.REVIEW, area_a, author, title="Mill Lane trees")
    with django_capture_on_commit_callbacks(execute=True):
        offer = offer_on(proposal, officer, description="Six trees.", reason="Roots and pipes.")
    (offered,) = mail.outbox
    assert offered.to == [author.email]
    assert "Mill Lane trees" in offered.subject
    assert "Roots and pipes." in offered.body and "£800.00" in offered.body
    assert "Six trees." in offered.body
    assert f"https://pb.example.org{proposal.get_absolute_url()}#codesign" in offered.body
    with django_capture_on_commit_callbacks(execute=True):
        services.codesign_decline(offer=offer, author=author, reply="Twelve or none.", now=now())
    answered = mail.outbox[1]
    assert answered.to == [officer.email]
    assert "Declined by the authors" in answered.subject
    assert "Twelve or none." in answered.body


def test_the_phase_beat_task_closes_offers_left_open_when_review_ended(area_a, author, officer):
    in_review = proposal_in(Phase.REVIEW, area_a, author)
    waiting = offer_on(in_review, officer)
    past = proposal_in(Phase.VOTING, area_a, author)
    forgotten = CoDesignOffer.objects.create(
        proposal=past, officer=officer, cost=Decimal(5), reason="r"
    )
    advance_round_phases()
    waiting.refresh_from_db()
    forgotten.refresh_from_db()
    assert (waiting.status, forgotten.status) == (CoDesignStatus.PROPOSED, CoDesignStatus.LAPSED)
    page = client_for(author).get(past.get_absolute_url()).content.decode()
    assert "Not answered before review ended" in page and "Accept the change" not in page


def test_residents_choose_whether_they_get_co_design_emails(resident_a):
    page = client_for(resident_a).get(reverse("email_preferences")).content.decode()
    assert "Officers&#x27; co-design offers for your proposals" in page
