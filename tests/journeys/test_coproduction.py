"""Co-production before the vote, done in a real browser by the people who do it: a
resident gives a round's themes their points (with the keyboard alone), reads the area's
priorities and the council's statement, writes a proposal with a co-author, takes in a
neighbour's amendment, and accepts an officer's co-designed cost, which becomes official.

Every page each person lands on is checked with axe-core and screenshotted (see
``conftest.Journey``). The people are set up in the database, five paper answers are
entered there so the area's results can be published, and the clock is moved by
rewriting the round's dates.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from pb_platform.roles import OFFICER
from proposals.models import (
    Category,
    PriorityChannel,
    PriorityPoints,
    PriorityResponse,
    Proposal,
    ProposalStatus,
)
from proposals.phases import Phase
from tests.factories import PASSWORD, AreaFactory, BudgetRoundFactory, RoundAreaFactory
from tests.journeys.conftest import (
    PHONE,
    facts,
    money_value,
    resident_make,
    round_move_to,
    staff_make,
)

pytestmark = pytest.mark.browser

# In the order the form lists them (by name).
THEMES = ["Rooms for young people", "Study space", "Warm spaces in winter"]
TITLE = "A homework club in the library basement"


@pytest.fixture
def stage(live_site):
    riverside = AreaFactory(name="Riverside", slug="riverside")
    budget_round = BudgetRoundFactory(
        name="Community Rooms", slug="community-rooms", phase=Phase.PRIORITIES
    )
    round_area = RoundAreaFactory(
        budget_round=budget_round, area=riverside, budget=Decimal("50000.00")
    )
    themes = [Category.objects.create(budget_round=budget_round, name=name) for name in THEMES]
    officer = staff_make(email="olu@example.org", role=OFFICER)
    # Four neighbours answered on paper; with the resident's answer the area has five,
    # enough to publish.
    for points in [(50, 30, 20), (20, 60, 20), (40, 40, 20), (10, 30, 60)]:
        response = PriorityResponse.objects.create(
            round_area=round_area, channel=PriorityChannel.PAPER, entered_by=officer
        )
        PriorityPoints.objects.bulk_create(
            PriorityPoints(response=response, category=theme, points=value)
            for theme, value in zip(themes, points, strict=True)
        )
    people = {
        "sam": resident_make(name="Sam Rivers", email="sam@example.org", area=riverside),
        "lena": resident_make(name="Lena Brook", email="lena@example.org", area=riverside),
        "tom": resident_make(name="Tom Weir", email="tom@example.org", area=riverside),
    }
    return budget_round, people


def test_co_production_before_the_vote_in_a_browser(trip, stage):
    budget_round, _people = stage
    sam = trip.journey("sam", viewport=PHONE)
    officer = trip.journey("officer")
    lena = trip.journey("lena")

    # 1. Sam gives the themes 100 points, with the keyboard alone; 90 is refused.
    sam.sign_in("sam@example.org", PASSWORD)
    sam.visit(budget_round.get_absolute_url(), "round-in-priorities")
    sam.link(re.compile("priorities", re.I), "priorities-stage")
    sam.link("Give your points", "priorities-form")
    page = sam.page
    page.get_by_label(THEMES[0]).focus()
    for value in ["40", "30", "20"]:
        page.keyboard.type(value)
        page.keyboard.press("Tab")
    with page.expect_navigation():
        page.get_by_label(THEMES[0]).press("Enter")
    sam.check("priorities-refused")
    assert "add up to 90" in sam.text()
    page.get_by_label(THEMES[2]).focus()
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type("30")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    sam.check("priorities-saved")
    assert "Your priorities were saved" in sam.messages()

    # 2. The stage ends; an officer publishes what the council will do; Sam reads both.
    round_move_to(budget_round, Phase.SUBMISSION)
    officer.sign_in("olu@example.org", PASSWORD)
    officer.visit(f"/rounds/{budget_round.slug}/priorities/riverside/", "priorities-results")
    officer.page.get_by_label("What we will do with this").fill(
        "Rooms for young people come first: we will ask the library for evening space."
    )
    officer.press("Publish the statement", "statement-published")
    sam.visit(f"/rounds/{budget_round.slug}/priorities/riverside/", "priorities-results")
    results = sam.text()
    assert "5" in results and "ask the library for evening space" in results
    sam.visit(budget_round.get_absolute_url(), "round-with-statement")
    assert "ask the library for evening space" in sam.text()

    # 3. Sam writes a proposal, with the area's priorities beside the form.
    sam.link("Suggest an idea", "proposal-form")
    assert "Residents' priorities in Riverside" in sam.text()
    page = sam.page
    page.get_by_label("Title", exact=True).fill(TITLE)
    page.get_by_label("Describe your idea").fill("A club two evenings a week.")
    page.get_by_label("What do you think it would cost?").fill("9000")
    sam.press("Submit for review", "proposal-submitted")
    proposal = Proposal.objects.get(title=TITLE)

    # 4. Sam invites Lena, who follows the emailed link and accepts.
    sam.link("Invite co-authors", "coauthors")
    sam.page.get_by_label("Their email address").fill("lena@example.org")
    sam.press("Send the invitation", "invited")
    [invitation] = [m for m in mail.outbox if m.to == ["lena@example.org"]]
    link = re.search(r"https?://[^/\s]+(/invitations/\S+/)", invitation.body)
    assert link, invitation.body
    lena.sign_in("lena@example.org", PASSWORD)
    lena.visit(link.group(1), "invitation")
    lena.press(re.compile("^Accept", re.I), "invitation-accepted")
    assert facts(lena.page.locator("main dl").first)["Written by"] == "Sam Rivers and Lena Brook"

    # 5. Tom, a neighbour, suggests a change; unchanged text is refused; Sam takes it in.
    tom = trip.journey("tom", viewport=PHONE)
    tom.sign_in("tom@example.org", PASSWORD)
    tom.visit(proposal.get_absolute_url(), "proposal")
    tom.link("Suggest a change", "amendment-form")
    page = tom.page
    page.get_by_label("Why you suggest it").fill("More children could come.")
    tom.press("Send my suggestion to the authors", "amendment-refused")
    assert "This changes nothing" in tom.text()
    page.get_by_label("The description as you would write it").fill(
        "A club three evenings a week, with a volunteer from the secondary school."
    )
    tom.press("Send my suggestion to the authors", "amendment-sent")
    assert "sent to the authors" in tom.messages()
    assert any(m.to == ["sam@example.org"] for m in mail.outbox if "suggests" in m.subject)
    sam.visit(proposal.get_absolute_url(), "proposal-with-suggestion")
    sam.link(re.compile("^By Tom Weir"), "amendment")
    assert sam.page.locator("ins").count() and sam.page.locator("del").count()
    sam.page.get_by_label("Your reply").fill("Yes: the school offered a volunteer.")
    sam.press("Take it in", "amendment-taken-in")
    assert "suggested by Tom Weir" in sam.text()
    proposal.refresh_from_db()
    assert proposal.description.startswith("A club three evenings a week")

    # 6. Review starts; the officer offers a co-designed cost; Sam accepts; it is official.
    round_move_to(budget_round, Phase.REVIEW)
    officer.visit(f"/proposals/{proposal.pk}/review/", "review")
    officer.page.get_by_label("Cost the council would set").fill("7500")
    officer.page.get_by_label("Why you suggest it").fill("The library lends the room free.")
    officer.press("Send the offer to the authors", "codesign-offered")
    sam.visit(f"/proposals/{proposal.pk}/", "codesign-offer")
    sam.page.get_by_label("Your answer (optional)").fill("Thank you.")
    sam.press("Accept the change", "codesign-accepted")
    shown = facts(sam.page.locator("main dl").first)
    assert money_value(shown["Official cost"]) == Decimal("7500.00")
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.FEASIBLE
    # A cost is not part of the text: the history says so, and no version is added.
    assert "Accepted the council's co-design" in sam.text()
    assert timezone.now() < budget_round.voting_starts
