"""Assessment by the people who use what was built: once a funded proposal is delivered,
verified residents of its area and service users an officer invited (one-time link,
30 days) rate it 1-5 on the round's criteria and comment; the latest version counts and
every version is kept; officers reply publicly and hide comments that break the rules;
results appear beside the money and in a per-round report (printable, CSV). Wrong roles
change nothing."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from ledgers import selectors
from ledgers.assessments import (
    assessment_hide,
    assessment_invite,
    assessment_reply,
    assessment_setup_save,
    assessment_submit,
    invitation_take_up,
)
from ledgers.models import (
    Assessment,
    AssessmentCriterion,
    AssessmentInvitation,
    AssessmentRevision,
    AssessmentScore,
    AssessorKind,
    DeliveryStatus,
    DeliveryUpdate,
)
from ledgers.services import delivery_update_record
from pb_platform.models import OutboxEmail
from pb_platform.policies import PolicyDenied
from pb_platform.roles import RESIDENT, role_grant
from tests.conftest import client_for
from tests.factories import ResidentProfileFactory, UserFactory

TODAY = timezone.localdate()
ALL_FOUR = {1: 4, 2: 5, 3: 3, 4: 4}


@pytest.fixture
def delivered(parks, officer):
    """Trees, funded and marked delivered today."""
    _round, proposals = parks
    trees = proposals["Trees"]
    delivery_update_record(
        officer=officer,
        proposal=trees,
        status=DeliveryStatus.DELIVERED,
        note="Twelve trees planted.",
        happened_on=TODAY,
        today=TODAY,
        now=timezone.now(),
    )
    return trees


def assess(user, proposal, scores=None, comment="Shady at last."):
    return assessment_submit(
        user=user,
        proposal=proposal,
        scores=scores or ALL_FOUR,
        comment=comment,
        now=timezone.now(),
    )


def neighbour(area, name="Nia"):
    profile = ResidentProfileFactory(area=area, display_name=name)
    role_grant(user=profile.user, role=RESIDENT)
    return profile.user


def invite(officer, proposal, email="daycentre@example.org"):
    invitation = assessment_invite(
        officer=officer, proposal=proposal, email=email, note="Day centre", now=timezone.now()
    )
    item = OutboxEmail.objects.get(kind="assessment_invitation", to_email=email)
    token = re.search(r"/assess/invitation/([^/]+)/", item.params["url"]).group(1)
    return invitation, token


def test_a_resident_assesses_and_the_page_shows_it_beside_the_money(delivered, resident_a):
    assessment = assess(resident_a, delivered)
    assert assessment.kind == AssessorKind.RESIDENT
    page = client_for(resident_a).get(delivered.get_absolute_url()).content.decode()
    assert "Assessment by the people who use it" in page
    assert "Residents: 1 assessment" in page and "average 4.0 out of 5" in page
    assert "Shady at last." in page and "Alex of A" in page
    assert "Update your assessment" in page


def test_updating_keeps_every_version_and_only_the_latest_counts(delivered, resident_a):
    assess(resident_a, delivered)
    assess(resident_a, delivered, scores={1: 1, 2: 1, 3: 1, 4: 1}, comment="Trees died.")
    assessment = Assessment.objects.get()
    assert assessment.revision == 2 and assessment.comment == "Trees died."
    assert list(AssessmentRevision.objects.values_list("number", "comment")) == [
        (1, "Shady at last."),
        (2, "Trees died."),
    ]
    criteria = selectors.assessment_criteria(budget_round=delivered.budget_round)
    result = selectors.assessment_results(proposal_ids=[delivered.pk], criteria=criteria)
    assert result[delivered.pk].count == 1
    assert result[delivered.pk].average == 1
    page = client_for(resident_a).get(reverse("ledgers:assessment_edit", args=[delivered.pk]))
    assert "Your earlier versions" in page.content.decode()


def test_averages_and_distribution_per_criterion_and_group(delivered, resident_a, area_a):
    assess(resident_a, delivered, scores={1: 5, 2: 4, 3: 3, 4: 2})
    assess(neighbour(area_a), delivered, scores={1: 4, 2: 4, 3: 2, 4: 2})
    criteria = selectors.assessment_criteria(budget_round=delivered.budget_round)
    result = selectors.assessment_results(proposal_ids=[delivered.pk], criteria=criteria)
    residents, invited = result[delivered.pk].groups
    assert (residents.count, invited.count) == (2, 0)
    need = residents.criteria[0]
    assert need.criterion.name == "Meets the need"
    assert need.distribution == (0, 0, 0, 1, 1) and str(need.average) == "4.5"
    assert str(residents.average) == "3.3"  # 26 / 8 = 3.25, half up


def test_nobody_assesses_before_delivery_or_after_the_window(parks, officer, resident_a):
    _round, proposals = parks
    benches = proposals["Benches"]
    with pytest.raises(PolicyDenied, match="marks this proposal delivered"):
        assess(resident_a, benches)
    DeliveryUpdate.objects.create(
        proposal=benches,
        status=DeliveryStatus.DELIVERED,
        note="Done",
        happened_on=TODAY - timedelta(days=400),
        recorded_by=officer,
        recorded_at=timezone.now(),
    )
    with pytest.raises(PolicyDenied, match="closed on"):
        assess(resident_a, benches)
    assert not Assessment.objects.exists()


@pytest.mark.parametrize("who", ["resident_b", "officer", "auditor"])
def test_others_cannot_assess(delivered, who, request):
    user = request.getfixturevalue(who)
    with pytest.raises(PolicyDenied):
        assess(user, delivered)
    response = client_for(user).post(
        reverse("ledgers:assessment_edit", args=[delivered.pk]),
        {"score_1": 5, "score_2": 5, "score_3": 5, "score_4": 5},
    )
    assert response.status_code == 403
    assert not Assessment.objects.exists()


def test_a_visitor_is_sent_to_sign_in(delivered, anonymous_client):
    url = reverse("ledgers:assessment_edit", args=[delivered.pk])
    response = anonymous_client.post(url, {"score_1": 5})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert (
        "Sign in to assess it"
        in anonymous_client.get(delivered.get_absolute_url()).content.decode()
    )
    assert not Assessment.objects.exists()


def test_a_missing_or_wrong_score_is_shown_on_its_field_and_nothing_is_saved(delivered, resident_a):
    client = client_for(resident_a)
    url = reverse("ledgers:assessment_edit", args=[delivered.pk])
    response = client.post(url, {"score_1": 5, "score_2": 9, "score_3": "x", "comment": "Hi"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "Choose a score for “Accessibility”." in page
    assert page.count("Choose a score from 1 to 5.") >= 2
    assert not Assessment.objects.exists()
    with pytest.raises(ValidationError) as error:
        assess(resident_a, delivered, scores={1: 5, 2: 5, 3: 5})
    assert "score_4" in error.value.message_dict
    assert not Assessment.objects.exists()


def test_the_form_publishes_and_redirects_to_the_proposal(delivered, resident_a):
    client = client_for(resident_a)
    url = reverse("ledgers:assessment_edit", args=[delivered.pk])
    response = client.post(
        url, {"score_1": 5, "score_2": 4, "score_3": 4, "score_4": 3, "comment": "Lovely"}
    )
    assert response.status_code == 302
    assert response["Location"].endswith("#assessment-title")
    assert sorted(AssessmentScore.objects.values_list("score", flat=True)) == [3, 4, 4, 5]


def test_the_database_keeps_one_assessment_per_person_and_scores_in_range(delivered, resident_a):
    assessment = assess(resident_a, delivered)
    now = timezone.now()
    with pytest.raises(IntegrityError), transaction.atomic():
        Assessment.objects.create(
            proposal=delivered,
            assessor=resident_a,
            kind=AssessorKind.RESIDENT,
            created_at=now,
            updated_at=now,
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        AssessmentScore.objects.filter(assessment=assessment).update(score=6)
    with pytest.raises(IntegrityError), transaction.atomic():
        Assessment.objects.filter(pk=assessment.pk).update(reply="Thanks")  # unsigned


def test_an_invited_service_user_assesses_once_through_the_link(delivered, officer, resident_b):
    invitation, token = invite(officer, delivered)
    assert invitation.token_hash != token and token not in invitation.token_hash
    url = reverse("ledgers:assessment_invitation", args=[token])
    visitor_page = client_for(resident_b).get(url).content.decode()
    assert "Take up the invitation" in visitor_page
    response = client_for(resident_b).post(url)
    assert response.status_code == 302
    assessment = assess(resident_b, delivered)
    assert assessment.kind == AssessorKind.INVITED
    assert assessment.invitation_id == invitation.pk
    other = UserFactory()
    again = client_for(other).post(url)
    assert again.status_code == 403
    assert AssessmentInvitation.objects.get().used_by == resident_b
    page = client_for(other).get(delivered.get_absolute_url()).content.decode()
    assert "Invited service users: 1 assessment" in page
    # The email no longer holds the working link once sent.
    assert "daycentre@example.org" not in page


def test_an_expired_invitation_or_a_wrong_token_does_nothing(delivered, officer, resident_b):
    invitation, token = invite(officer, delivered)
    AssessmentInvitation.objects.filter(pk=invitation.pk).update(
        created_at=timezone.now() - timedelta(days=31),
        expires_at=timezone.now() - timedelta(days=1),
    )
    url = reverse("ledgers:assessment_invitation", args=[token])
    assert "expired on" in client_for(resident_b).get(url).content.decode()
    assert client_for(resident_b).post(url).status_code == 403
    assert (
        client_for(resident_b)
        .get(reverse("ledgers:assessment_invitation", args=["not-a-token"]))
        .status_code
        == 404
    )
    invitation.refresh_from_db()
    with pytest.raises(PolicyDenied):
        invitation_take_up(user=resident_b, invitation=invitation, now=timezone.now())
    assert AssessmentInvitation.objects.get().used_by is None


def test_residents_cannot_invite_reply_or_hide(delivered, officer, resident_a, area_a):
    assessment = assess(neighbour(area_a), delivered)
    client = client_for(resident_a)
    url = reverse("ledgers:officer_assessments", args=[delivered.pk])
    for data in (
        {"form": "invite", "invite-email": "x@example.org"},
        {"form": "reply", "assessment": assessment.pk, f"reply-{assessment.pk}-reply": "Hi"},
        {"form": "hide", "assessment": assessment.pk, f"hide-{assessment.pk}-reason": "No"},
    ):
        assert client.post(url, data).status_code == 403
    assessment.refresh_from_db()
    assert (assessment.reply, assessment.hidden_at) == ("", None)
    assert not AssessmentInvitation.objects.exists()
    with pytest.raises(PolicyDenied):
        assessment_reply(officer=resident_a, assessment=assessment, reply="x", now=timezone.now())


def test_an_officer_replies_and_hides_a_comment_and_the_public_sees_both(
    delivered, officer, resident_a
):
    assessment = assess(resident_a, delivered, comment="Rude words here")
    client = client_for(officer)
    url = reverse("ledgers:officer_assessments", args=[delivered.pk])
    empty = client.post(url, {"form": "reply", "assessment": assessment.pk})
    assert "This field is required." in empty.content.decode()
    client.post(
        url,
        {"form": "reply", "assessment": assessment.pk, f"reply-{assessment.pk}-reply": "Fixed."},
    )
    assessment_hide(officer=officer, assessment=assessment, reason="Abusive", now=timezone.now())
    page = client_for(resident_a).get(delivered.get_absolute_url()).content.decode()
    assert "The council replied:" in page and "Fixed." in page
    assert "Rude words here" not in page and "Comment hidden by an officer: Abusive" in page
    assert "average 4.0 out of 5" in page  # the scores still count


def test_an_officer_sets_the_window_and_criteria_until_the_first_assessment(
    delivered, officer, resident_a
):
    budget_round = delivered.budget_round
    client = client_for(officer)
    url = reverse("ledgers:round_assessments", args=[budget_round.slug])
    bad = client.post(url, {"window_months": 6, "criteria": "Safe\nsafe"})
    assert "is listed twice" in bad.content.decode()
    client.post(url, {"window_months": 6, "criteria": "Safe\nUseful"})
    assert [c.name for c in AssessmentCriterion.objects.all()] == ["Safe", "Useful"]
    assess(resident_a, delivered, scores={1: 5, 2: 4})
    refused = client.post(url, {"window_months": 24, "criteria": "Safe\nUseful\nCheap"})
    assert "can no longer change" in refused.content.decode()
    assert AssessmentCriterion.objects.count() == 2
    assessment_setup_save(
        officer=officer,
        budget_round=budget_round,
        window_months=24,
        criteria=["Safe", "Useful"],
        now=timezone.now(),
    )
    assert selectors.assessment_window_months(budget_round=budget_round) == 24
    with pytest.raises(PolicyDenied):
        assessment_setup_save(
            officer=resident_a,
            budget_round=budget_round,
            window_months=3,
            criteria=["A"],
            now=timezone.now(),
        )


def test_the_report_csv_neutralises_formulas_and_separates_groups(
    delivered, officer, auditor, resident_a, resident_b
):
    type(delivered).objects.filter(pk=delivered.pk).update(title="=HYPERLINK(1)")
    assess(resident_a, delivered)
    _invitation, token = invite(officer, delivered)
    client_for(resident_b).post(reverse("ledgers:assessment_invitation", args=[token]))
    assess(resident_b, delivered, scores={1: 2, 2: 2, 3: 2, 4: 2})
    url = reverse("ledgers:round_assessments_csv", args=[delivered.budget_round.slug])
    assert client_for(resident_a).get(url).status_code == 403
    response = client_for(auditor).get(url)
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    trees = [row for row in rows if row[0] == str(delivered.pk)]
    assert [(row[1], row[3], row[4], row[5]) for row in trees] == [
        ("'=HYPERLINK(1)", "resident", "1", "4.0"),
        ("'=HYPERLINK(1)", "invited", "1", "2.0"),
    ]
    printable = client_for(auditor).get(
        reverse("ledgers:round_assessments", args=[delivered.budget_round.slug])
    )
    assert "Invited service users: 1 assessment" in printable.content.decode()


def test_the_proposal_page_makes_the_same_queries_for_2_and_10_assessments(
    delivered, area_a, resident_a
):
    def queries() -> int:
        client = client_for(resident_a)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(delivered.get_absolute_url()).status_code == 200
        return len(captured)

    for _ in range(2):
        assess(neighbour(area_a), delivered)
    few = queries()
    for _ in range(8):
        assess(neighbour(area_a), delivered)
    assert queries() == few


def test_the_download_lists_ones_assessments_and_closing_keeps_them_anonymously(
    delivered, officer, resident_b
):
    from pb_platform.privacy import account_close, personal_data_export
    from tests.factories import PASSWORD

    _invitation, token = invite(officer, delivered, email=resident_b.email)
    client_for(resident_b).post(reverse("ledgers:assessment_invitation", args=[token]))
    assess(resident_b, delivered, comment="Good for the day centre.")
    data = personal_data_export(user=resident_b)
    assert data["assessments"][0]["comment"] == "Good for the day centre."
    assert data["assessments"][0]["scores"]["Meets the need"] == 4
    assert data["assessments"][0]["as"] == "invited"
    resident_b.set_password(PASSWORD)
    resident_b.save()
    account_close(user=resident_b, password=PASSWORD, now=timezone.now())
    assert not AssessmentInvitation.objects.filter(email=resident_b.email).exists()
    page = client_for(officer).get(delivered.get_absolute_url()).content.decode()
    assert "Good for the day centre." in page and "Invited service users: 1 assessment" in page


def test_anyone_signed_in_reports_a_comment_once_and_officers_see_it(
    delivered, officer, resident_a, resident_b
):
    from ledgers.models import AssessmentFlag

    assessment = assess(resident_a, delivered, comment="Rude words here")
    url = reverse("ledgers:assessment_flag", args=[assessment.pk])
    own = client_for(resident_a).post(url, follow=True)
    assert "You cannot report your own assessment." in own.content.decode()
    page = client_for(resident_b).get(delivered.get_absolute_url()).content.decode()
    assert "Report this comment" in page
    first = client_for(resident_b).post(url, follow=True).content.decode()
    assert "An officer will look at this assessment." in first
    again = client_for(resident_b).post(url, follow=True).content.decode()
    assert "You have already reported this assessment." in again
    assert AssessmentFlag.objects.count() == 1
    officers = client_for(officer).get(reverse("ledgers:officer_assessments", args=[delivered.pk]))
    assert "Reported by 1 person as breaking the rules." in officers.content.decode()
    report = client_for(officer).get(
        reverse("ledgers:round_assessments", args=[delivered.budget_round.slug])
    )
    assert "1 reported comment to look at" in report.content.decode()
    assert client_for(resident_b).get(url).status_code == 405
