"""The round's page, the round cards and the officer dashboard offer each next step only
when the policy that owns it allows it (proposals, voting and ledgers policies); the
templates compare no phase names of their own."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from proposals.phases import Phase
from tests.conftest import client_for
from tests.factories import BudgetRoundFactory, RoundAreaFactory

# The link texts each step is offered by, on the round's own page.
STEPS = {
    "vote": "Vote</a>",
    "results": "See the results</a>",
    "propose": "Suggest an idea</a>",
    "money": "Where the money went</a>",
    "ledger": "Ledger</a>",
    "turnout": "Turnout</a>",
}


def offered(page: str) -> set[str]:
    return {step for step, text in STEPS.items() if text in page}


def round_in(phase: Phase, area, **extra):
    return RoundAreaFactory(
        area=area, budget_round=BudgetRoundFactory(phase=phase, slug=f"r-{phase}", **extra)
    ).budget_round


@pytest.mark.parametrize(
    ("phase", "persona", "expected"),
    [
        (Phase.SUBMISSION, "anonymous", {"propose"}),
        (Phase.SUBMISSION, "resident_a", {"propose"}),
        (Phase.SUBMISSION, "officer", set()),
        (Phase.REVIEW, "resident_a", set()),
        (Phase.REVIEW, "officer", set()),
        (Phase.VOTING, "resident_a", {"vote"}),
        (Phase.VOTING, "officer", {"vote", "turnout"}),
        (Phase.VOTING, "auditor", {"vote", "turnout"}),
        (Phase.RESULTS, "anonymous", {"results", "money"}),
        (Phase.RESULTS, "officer", {"results", "money", "ledger", "turnout"}),
        (Phase.DELIVERY, "auditor", {"results", "money", "turnout"}),
        (Phase.CLOSED, "officer", {"results", "money", "ledger", "turnout"}),
    ],
)
def test_the_round_page_offers_what_the_policies_allow(request, area_a, phase, persona, expected):
    budget_round = round_in(phase, area_a)
    client = Client() if persona == "anonymous" else client_for(request.getfixturevalue(persona))

    page = client.get(budget_round.get_absolute_url()).content.decode()

    assert offered(page) == expected


def test_an_imported_round_offers_its_results_and_never_a_vote(area_a, resident_a):
    budget_round = round_in(Phase.VOTING, area_a, is_imported=True)

    page = client_for(resident_a).get(budget_round.get_absolute_url()).content.decode()

    assert offered(page) == {"results", "money"}


def test_the_round_cards_offer_a_vote_or_the_results(area_a):
    round_in(Phase.VOTING, area_a, name="Voting now")
    round_in(Phase.RESULTS, area_a, name="Counted")
    round_in(Phase.REVIEW, area_a, name="In review")

    page = Client().get(reverse("proposals:round_list")).content.decode()

    assert page.count("See the results<span") == 1
    assert re.search(r"Vote<span[^>]*> in Voting now", page)
    assert "in In review" not in page and "of In review" not in page


def test_the_dashboard_links_each_round_to_what_officers_may_open(area_a, officer):
    round_in(Phase.REVIEW, area_a, name="In review")
    round_in(Phase.VOTING, area_a, name="Voting now")
    round_in(Phase.RESULTS, area_a, name="Counted")

    page = client_for(officer).get(reverse("proposals:officer_dashboard")).content.decode()

    assert 'Paper ballots<span class="visually-hidden"> – Voting now' in page
    assert 'Turnout<span class="visually-hidden"> – Voting now' in page
    assert 'Ledger<span class="visually-hidden"> – Counted' in page
    assert 'Turnout<span class="visually-hidden"> – Counted' in page
    assert "– In review" not in page
    assert 'Paper ballots<span class="visually-hidden"> – Counted' not in page
    assert 'Ledger<span class="visually-hidden"> – Voting now' not in page


def test_templates_compare_no_phase_names():
    """What a page offers is the policies' answer: a template that tests a phase name
    (``phase == "voting"``) would be a second copy of a rule."""
    comparison = re.compile(r"phase\s*(==|!=|in)\s*['\"]")
    offenders = [
        str(path.relative_to(settings.BASE_DIR))
        for path in Path(settings.BASE_DIR, "templates").rglob("*.html")
        if comparison.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
