"""The priorities stage before ideas: who may answer and when, the 100 points, paper
answers entered by officers, suggested themes, statements, and the phase it adds."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from pb_platform.tasks import send_outbox_email
from proposals import policies
from proposals.models import (
    BudgetRound,
    Category,
    PriorityChannel,
    PriorityPoints,
    PriorityResponse,
    PriorityStatement,
    ThemeStatus,
    ThemeSuggestion,
)
from proposals.phases import Phase, Timeline
from proposals.priorities import area_priorities, area_priorities_csv
from proposals.services import priorities as services
from tests.factories import BudgetRoundFactory, CategoryFactory, RoundAreaFactory, timeline_in


@pytest.fixture
def stage(area_a, area_b):
    """A round in its priorities stage, with two themes and areas A and B."""
    budget_round = BudgetRoundFactory(phase=Phase.PRIORITIES)
    themes = [
        CategoryFactory(budget_round=budget_round, name="Parks"),
        CategoryFactory(budget_round=budget_round, name="Streets"),
    ]
    area_a_share = RoundAreaFactory(budget_round=budget_round, area=area_a)
    RoundAreaFactory(budget_round=budget_round, area=area_b)
    return budget_round, themes, area_a_share


def points(themes, *values):
    return {theme.pk: value for theme, value in zip(themes, values, strict=True)}


# --- The phase -----------------------------------------------------------------------------


def test_a_round_without_priorities_starts_has_no_priorities_phase():
    timeline = timeline_in(Phase.SUBMISSION)
    assert timeline.priorities_starts is None
    assert next(name for name, *_rest in timeline.boundaries()) == "submission_starts"
    assert timeline.phase_at(timeline.submission_starts - timedelta(days=30)) == Phase.UPCOMING


def test_the_priorities_stage_runs_from_its_start_until_submission_opens():
    now = timezone.now()
    timeline = timeline_in(Phase.PRIORITIES, now=now)
    assert timeline.phase_at(now) == Phase.PRIORITIES
    assert timeline.phase_at(timeline.priorities_starts - timedelta(minutes=1)) == Phase.UPCOMING
    assert timeline.phase_at(timeline.submission_starts) == Phase.SUBMISSION
    label, at = timeline.next_deadline(now)
    assert at == timeline.submission_starts
    assert "submission opens" in label
    label, at = timeline.next_deadline(timeline.priorities_starts - timedelta(hours=1))
    assert at == timeline.priorities_starts


def test_a_priorities_start_after_submission_is_out_of_order():
    timeline = timeline_in(Phase.UPCOMING)
    wrong = Timeline.of(timeline)
    wrong = Timeline(
        *(at for _n, _p, at in timeline.boundaries()),
        priorities_starts=timeline.submission_starts + timedelta(hours=1),
    )
    assert wrong.out_of_order() == ["submission_starts"]


def test_the_database_refuses_priorities_after_submission(db):
    budget_round = BudgetRoundFactory(phase=Phase.UPCOMING)
    with pytest.raises(IntegrityError), transaction.atomic():
        BudgetRound.objects.filter(pk=budget_round.pk).update(
            priorities_starts=budget_round.submission_starts + timedelta(hours=1)
        )


def test_the_beat_task_moves_the_round_into_and_out_of_the_stage(db):
    from proposals.services import rounds_advance_phases

    budget_round = BudgetRoundFactory(phase=Phase.PRIORITIES)
    now = timezone.now()
    assert (budget_round.pk, Phase.UPCOMING, Phase.PRIORITIES) in rounds_advance_phases(now=now)
    later = budget_round.submission_starts + timedelta(minutes=1)
    assert (budget_round.pk, Phase.PRIORITIES, Phase.SUBMISSION) in rounds_advance_phases(now=later)


def test_the_stage_cannot_move_once_it_opened(stage):
    budget_round, _themes, _ra = stage
    frozen = policies.round_frozen_fields(budget_round, now=timezone.now())
    assert "priorities_starts" in frozen


def test_a_stage_cannot_be_added_once_submission_opened(db):
    budget_round = BudgetRoundFactory(phase=Phase.SUBMISSION)
    frozen = policies.round_frozen_fields(budget_round, now=timezone.now())
    assert "can no longer be added" in frozen["priorities_starts"]


# --- Residents answer ------------------------------------------------------------------------


def test_a_resident_spreads_100_points_and_may_change_them_until_the_stage_ends(stage, resident_a):
    budget_round, themes, round_area = stage
    now = timezone.now()
    services.priorities_respond(
        resident=resident_a, round_area=round_area, points=points(themes, 70, 30), now=now
    )
    response = services.priorities_respond(
        resident=resident_a,
        round_area=round_area,
        points=points(themes, 20, 80),
        need="The park gate is broken.",
        now=now + timedelta(hours=1),
    )
    assert PriorityResponse.objects.count() == 1
    assert response.channel == PriorityChannel.ONLINE
    assert response.need == "The park gate is broken."
    assert {p.category.name: p.points for p in response.points.all()} == {
        "Parks": 20,
        "Streets": 80,
    }
    with pytest.raises(PermissionDenied, match="closed"):
        services.priorities_respond(
            resident=resident_a,
            round_area=round_area,
            points=points(themes, 50, 50),
            now=budget_round.submission_starts,
        )
    assert PriorityPoints.objects.get(category=themes[0]).points == 20


@pytest.mark.parametrize(
    ("values", "message"),
    [((70, 20), "add up to 90"), ((70, 40), "add up to 110"), ((120, -20), "whole number")],
)
def test_points_must_add_up_to_exactly_100(stage, resident_a, values, message):
    _round, themes, round_area = stage
    with pytest.raises(ValidationError, match=message) as error:
        services.priorities_respond(
            resident=resident_a,
            round_area=round_area,
            points=points(themes, *values),
            now=timezone.now(),
        )
    assert "points" in error.value.message_dict
    assert not PriorityResponse.objects.exists()


def test_points_for_another_rounds_theme_are_refused(stage, resident_a):
    _round, themes, round_area = stage
    elsewhere = CategoryFactory()
    with pytest.raises(ValidationError, match="only to the themes"):
        services.priorities_respond(
            resident=resident_a,
            round_area=round_area,
            points={themes[0].pk: 50, elsewhere.pk: 50},
            now=timezone.now(),
        )


def test_a_need_is_limited_to_a_few_sentences(stage, resident_a):
    _round, themes, round_area = stage
    with pytest.raises(ValidationError) as error:
        services.priorities_respond(
            resident=resident_a,
            round_area=round_area,
            points=points(themes, 50, 50),
            need="x" * 601,
            now=timezone.now(),
        )
    assert "need" in error.value.message_dict


@pytest.mark.parametrize("who", ["resident_b", "officer", "auditor"])
def test_only_residents_of_the_area_answer(stage, who, request):
    _round, themes, round_area = stage
    user = request.getfixturevalue(who)
    with pytest.raises(PermissionDenied):
        services.priorities_respond(
            resident=user, round_area=round_area, points=points(themes, 50, 50), now=timezone.now()
        )
    assert not PriorityResponse.objects.exists()


def test_visitors_are_told_to_sign_in(stage):
    from django.contrib.auth.models import AnonymousUser

    _round, _themes, round_area = stage
    decision = policies.can_respond_priorities(AnonymousUser(), round_area, now=timezone.now())
    assert not decision
    assert "Sign in" in decision.reason


def test_before_the_stage_opens_nobody_answers(area_a, resident_a):
    budget_round = BudgetRoundFactory(phase=Phase.UPCOMING, with_priorities=True)
    round_area = RoundAreaFactory(budget_round=budget_round, area=area_a)
    now = budget_round.priorities_starts - timedelta(hours=1)
    decision = policies.can_respond_priorities(resident_a, round_area, now=now)
    assert "opens on" in decision.reason


def test_a_round_without_the_stage_takes_no_priorities(area_a, resident_a):
    round_area = RoundAreaFactory(area=area_a, budget_round=BudgetRoundFactory())
    decision = policies.can_respond_priorities(resident_a, round_area, now=timezone.now())
    assert "no priorities stage" in decision.reason


def test_the_database_allows_one_online_answer_per_resident_and_area(stage, resident_a):
    _round, _themes, round_area = stage
    PriorityResponse.objects.create(
        round_area=round_area, resident=resident_a, channel=PriorityChannel.ONLINE
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        PriorityResponse.objects.create(
            round_area=round_area, resident=resident_a, channel=PriorityChannel.ONLINE
        )


def test_the_database_refuses_a_paper_answer_without_the_officer_who_entered_it(stage):
    _round, _themes, round_area = stage
    with pytest.raises(IntegrityError), transaction.atomic():
        PriorityResponse.objects.create(round_area=round_area, channel=PriorityChannel.PAPER)


def test_the_database_refuses_negative_points(stage, resident_a):
    _round, themes, round_area = stage
    response = PriorityResponse.objects.create(
        round_area=round_area, resident=resident_a, channel=PriorityChannel.ONLINE
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        PriorityPoints.objects.create(response=response, category=themes[0], points=101)


# --- Officers enter answers from paper and events --------------------------------------------


def test_an_officer_enters_a_paper_answer_recorded_as_such(stage, officer):
    _round, themes, round_area = stage
    response = services.priorities_enter_paper(
        officer=officer,
        round_area=round_area,
        channel=PriorityChannel.EVENT,
        points=points(themes, 100, 0),
        now=timezone.now(),
    )
    assert response.channel == PriorityChannel.EVENT
    assert response.entered_by == officer
    assert response.resident is None


@pytest.mark.parametrize("who", ["resident_a", "auditor"])
def test_only_officers_enter_paper_answers(stage, who, request):
    _round, themes, round_area = stage
    with pytest.raises(PermissionDenied):
        services.priorities_enter_paper(
            officer=request.getfixturevalue(who),
            round_area=round_area,
            channel=PriorityChannel.PAPER,
            points=points(themes, 50, 50),
            now=timezone.now(),
        )
    assert not PriorityResponse.objects.exists()


def test_paper_answers_are_paper_or_event(stage, officer):
    _round, themes, round_area = stage
    with pytest.raises(ValidationError, match="paper or at an event"):
        services.priorities_enter_paper(
            officer=officer,
            round_area=round_area,
            channel=PriorityChannel.ONLINE,
            points=points(themes, 50, 50),
            now=timezone.now(),
        )


# --- Suggested themes ---------------------------------------------------------------------------


def test_a_resident_suggests_one_theme_and_an_approved_one_gets_points(
    stage, resident_a, resident_b, officer
):
    budget_round, themes, round_area = stage
    now = timezone.now()
    suggestion = services.theme_suggest(
        resident=resident_b, budget_round=budget_round, name="Lighting", now=now
    )
    with pytest.raises(ValidationError, match="one each"):
        services.theme_suggest(
            resident=resident_b, budget_round=budget_round, name="Benches", now=now
        )
    decided = services.theme_moderate(officer=officer, suggestion=suggestion, approve=True, now=now)
    assert decided.status == ThemeStatus.APPROVED
    lighting = Category.objects.get(budget_round=budget_round, name="Lighting")
    assert decided.category == lighting
    services.priorities_respond(
        resident=resident_a,
        round_area=round_area,
        points={themes[0].pk: 50, lighting.pk: 50},
        now=now,
    )


def test_a_theme_turned_down_needs_a_reason_and_cannot_be_decided_twice(stage, resident_a, officer):
    budget_round, _themes, _ra = stage
    now = timezone.now()
    suggestion = services.theme_suggest(
        resident=resident_a, budget_round=budget_round, name="Parking", now=now
    )
    with pytest.raises(ValidationError):
        services.theme_moderate(officer=officer, suggestion=suggestion, approve=False, now=now)
    services.theme_moderate(
        officer=officer, suggestion=suggestion, approve=False, reason="Not this fund.", now=now
    )
    with pytest.raises(PermissionDenied, match="already"):
        services.theme_moderate(officer=officer, suggestion=suggestion, approve=True, now=now)
    assert not Category.objects.filter(name="Parking").exists()


def test_a_suggestion_already_on_the_list_is_refused(stage, resident_a):
    budget_round, _themes, _ra = stage
    with pytest.raises(ValidationError, match="already on the list"):
        services.theme_suggest(
            resident=resident_a, budget_round=budget_round, name="parks", now=timezone.now()
        )


def test_the_resident_who_suggested_a_theme_is_emailed_the_decision_and_why(
    stage,
    resident_a,
    resident_b,
    officer,
    monkeypatch,
    settings,
    django_capture_on_commit_callbacks,
):
    settings.SITE_URL = "https://pb.example.org"
    monkeypatch.setattr(
        send_outbox_email, "delay", lambda item_id: send_outbox_email.apply(args=[item_id])
    )
    budget_round, _themes, _ra = stage
    now = timezone.now()
    added = services.theme_suggest(
        resident=resident_a, budget_round=budget_round, name="Lighting", now=now
    )
    refused = services.theme_suggest(
        resident=resident_b, budget_round=budget_round, name="Parking", now=now
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.theme_moderate(officer=officer, suggestion=added, approve=True, now=now)
        services.theme_moderate(
            officer=officer, suggestion=refused, approve=False, reason="Not this fund.", now=now
        )
    by_recipient = {message.to[0]: message for message in mail.outbox}
    assert set(by_recipient) == {resident_a.email, resident_b.email}
    yes, no = by_recipient[resident_a.email], by_recipient[resident_b.email]
    assert "Lighting" in yes.subject and "Added as a theme" in yes.subject
    assert "give it points" in yes.body
    assert "Parking" in no.subject and "Not added" in no.subject
    assert "Not this fund." in no.body
    assert f"https://pb.example.org/rounds/{budget_round.slug}/priorities/" in no.body


@pytest.mark.parametrize("who", ["resident_a", "auditor"])
def test_only_officers_decide_on_suggestions(stage, resident_b, who, request):
    budget_round, _themes, _ra = stage
    suggestion = services.theme_suggest(
        resident=resident_b, budget_round=budget_round, name="Lighting", now=timezone.now()
    )
    with pytest.raises(PermissionDenied):
        services.theme_moderate(
            officer=request.getfixturevalue(who),
            suggestion=suggestion,
            approve=True,
            now=timezone.now(),
        )
    suggestion.refresh_from_db()
    assert suggestion.status == ThemeStatus.PENDING


def test_officers_and_auditors_do_not_suggest_themes(stage, officer):
    budget_round, _themes, _ra = stage
    with pytest.raises(PermissionDenied):
        services.theme_suggest(
            resident=officer, budget_round=budget_round, name="Lighting", now=timezone.now()
        )
    assert not ThemeSuggestion.objects.exists()


# --- Results and statements --------------------------------------------------------------------


def answered(stage, officer, rows):
    _round, themes, round_area = stage
    for channel, values in rows:
        services.priorities_enter_paper(
            officer=officer,
            round_area=round_area,
            channel=channel,
            points=points(themes, *values),
            now=timezone.now(),
        )


def test_results_are_public_only_once_the_stage_ended(stage):
    budget_round, _themes, _ra = stage
    assert not policies.priorities_results_published(budget_round, now=timezone.now())
    assert policies.priorities_results_published(budget_round, now=budget_round.submission_starts)


def test_means_participants_turnout_and_channels_with_small_counts_hidden(stage, officer):
    _round, themes, round_area = stage
    answered(stage, officer, [(PriorityChannel.PAPER, (60, 40))] * 6)
    answered(stage, officer, [(PriorityChannel.EVENT, (30, 70))] * 2)
    result = area_priorities(round_area, themes=themes)
    assert result.participants == 8
    assert [(m.category.name, str(m.mean)) for m in result.means] == [
        ("Parks", "52.5"),
        ("Streets", "47.5"),
    ]
    assert str(result.turnout_percent) == "0.2"  # 8 of 5,000
    # Event (2) and online (0) are hidden: only their sum (2) can be worked out.
    assert result.channels == {"online": None, "paper": 6, "event": None}


def test_fewer_than_five_answers_show_nothing_but_that(stage, officer):
    _round, themes, round_area = stage
    answered(stage, officer, [(PriorityChannel.PAPER, (60, 40))] * 4)
    result = area_priorities(round_area, themes=themes)
    assert result.participants is None
    assert not result.shown
    assert area_priorities_csv(round_area, themes=themes).strip() == "channel,Parks,Streets"


def test_the_csv_has_one_anonymous_row_per_answer(stage, officer, resident_a):
    _round, themes, round_area = stage
    answered(stage, officer, [(PriorityChannel.PAPER, (10 * i, 100 - 10 * i)) for i in range(6)])
    services.priorities_respond(
        resident=resident_a,
        round_area=round_area,
        points=points(themes, 50, 50),
        need="Call me on 01234",
        now=timezone.now(),
    )
    text = area_priorities_csv(round_area, themes=themes)
    lines = text.strip().splitlines()
    assert lines[0] == "channel,Parks,Streets"
    assert len(lines) == 8
    assert "01234" not in text and resident_a.email not in text
    # One online answer is too few to label: its channel reads "not shown" (as events'
    # would), so the file tells no more than the table.
    channels = [line.split(",")[0] for line in lines[1:]]
    assert sorted(channels) == ["not shown"] + ["paper"] * 6
    assert lines[1:] == sorted(lines[1:], key=lambda line: [int(v) for v in line.split(",")[1:]])


def test_officers_publish_a_statement_once_results_are_public(stage, officer, resident_a):
    budget_round, _themes, round_area = stage
    with pytest.raises(PermissionDenied):
        services.priorities_statement_publish(
            officer=officer, round_area=round_area, text="Soon.", now=timezone.now()
        )
    after = budget_round.submission_starts + timedelta(hours=1)
    with pytest.raises(PermissionDenied):
        services.priorities_statement_publish(
            officer=resident_a, round_area=round_area, text="Mine.", now=after
        )
    services.priorities_statement_publish(
        officer=officer, round_area=round_area, text="We will fund parks ideas.", now=after
    )
    services.priorities_statement_publish(
        officer=officer, round_area=round_area, text="Corrected.", now=after
    )
    statement = PriorityStatement.objects.get()
    assert statement.text == "Corrected."
    assert statement.published_by == officer
