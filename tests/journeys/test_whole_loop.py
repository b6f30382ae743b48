"""The whole participatory budgeting loop, done in a real browser by the people who use
it: sign up, set up a round, propose, review, vote (online, changed, refused, on paper),
count, check a receipt, allocate, record the money, see it and audit it.

Every page each person lands on is checked with axe-core and screenshotted (see
``conftest.Journey``). Only three things are not done through the site: the people other
than the new resident, the officer and the auditor are set up in the database, the clock
is moved by rewriting a round's dates, and the beat tasks are run by the test.
"""

from __future__ import annotations

import csv
import re
from datetime import timedelta
from decimal import Decimal
from itertools import pairwise

import pytest
from django.core import mail
from django.utils import timezone

from ledgers.tasks import allocate_published_results
from pb_platform.roles import AUDITOR, OFFICER
from proposals.models import Area, BudgetRound, Proposal, ProposalStatus
from proposals.phases import Phase
from proposals.tasks import advance_round_phases
from tests.factories import (
    PASSWORD,
    AreaFactory,
    BudgetRoundFactory,
    ProposalFactory,
    RoundAreaFactory,
)
from tests.journeys.conftest import (
    PHONE,
    Journey,
    beat,
    facts,
    money_value,
    resident_make,
    round_move_to,
    staff_make,
)
from voting.models import Ballot, BallotChannel
from voting.tasks import close_count_publish

pytestmark = pytest.mark.browser

ROUND_NAME = "Green Streets 2027"
TREES = "Trees on Mill Lane"
BENCHES = "Benches in Elm Park"
NEW_PASSWORD = "plenty-of-words-here-2027"
DATETIME_LOCAL = "%Y-%m-%dT%H:%M"


def local_input(moment) -> str:
    """A datetime as a person types it into a datetime-local field (the site's zone)."""
    return timezone.localtime(moment).strftime(DATETIME_LOCAL)


def receipt_code(journey: Journey) -> str:
    return journey.page.locator(".receipt code").inner_text().strip()


def section(journey: Journey, heading: str):
    page = journey.page
    return page.locator("section").filter(has=page.get_by_role("heading", name=heading))


def error_summary(journey: Journey) -> str:
    summary = journey.page.get_by_role("alert")
    summary.wait_for()
    return summary.inner_text()


# --- The people ------------------------------------------------------------------------------


@pytest.fixture
def town(live_site) -> dict[str, object]:
    """Two areas, an officer, an auditor and the residents the new resident will meet."""
    northfield = AreaFactory(name="Northfield", slug="northfield", population=12000)
    southbank = AreaFactory(name="Southbank", slug="southbank", population=8000)
    return {
        "northfield": northfield,
        "southbank": southbank,
        "officer": staff_make(email="officer@example.org", role=OFFICER),
        "auditor": staff_make(email="auditor@example.org", role=AUDITOR),
        "omar": resident_make(name="Omar Haddad", email="omar@example.org", area=northfield),
        "priya": resident_make(name="Priya Shah", email="priya@example.org", area=northfield),
        "bea": resident_make(name="Bea Lund", email="bea@example.org", area=southbank),
    }


# --- The whole loop --------------------------------------------------------------------------


def test_the_whole_loop_in_a_browser(trip, town):
    nadia = trip.journey("nadia")
    officer = trip.journey("officer")
    omar = trip.journey("omar")

    # 1. A new resident signs up, follows the link in the email and signs in.
    nadia.visit("/", "home")
    nadia.link("Create an account", "sign-up-form")
    page = nadia.page
    page.get_by_label("Email").fill("nadia@example.org")
    page.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label(re.compile(r"^Password \(again\)")).fill(NEW_PASSWORD)
    page.get_by_label("Your name").fill("Nadia Rahman")
    page.get_by_label("The area you live in").select_option(label="Northfield")
    nadia.press("Sign Up", "verify-your-email")
    assert "nadia@example.org" in nadia.text()
    # The email's link is absolute (https in production); the path is what matters here.
    [email] = [m for m in mail.outbox if m.to == ["nadia@example.org"]]
    link = re.search(r"https?://[^/\s]+(/accounts/confirm-email/\S+/)", email.body)
    assert link, email.body
    nadia.visit(link.group(1), "confirm-email")
    nadia.press("Confirm", "email-confirmed")
    assert "You have confirmed nadia@example.org" in nadia.messages()
    nadia.sign_in("nadia@example.org", NEW_PASSWORD)
    nadia.link("Your account", "account")
    assert "Northfield" in nadia.text()

    # 2. An officer sets up a round in the officer form and adds a category.
    officer.sign_in("officer@example.org", PASSWORD)
    officer.link("Officer", "officer-dashboard")
    officer.link("Set up a new budget round", "new-round-form")
    page = officer.page
    now = timezone.now()
    page.get_by_label("Name", exact=True).fill(ROUND_NAME)
    page.get_by_label(re.compile(r"^Description")).fill("Greener streets in every area.")
    page.get_by_label("Total budget").fill("60000")
    page.get_by_label(re.compile(r"^Northfield")).fill("40000")
    page.get_by_label(re.compile(r"^Southbank")).fill("20000")
    timetable = {
        "Proposal submission opens": now - timedelta(hours=1),
        "Submission closes and review starts": now + timedelta(days=7),
        "Voting opens": now + timedelta(days=14),
        "Voting closes (results are counted)": now + timedelta(days=21),
        "Delivery starts": now + timedelta(days=28),
        "Delivery ends": now + timedelta(days=365),
    }
    for label, moment in timetable.items():
        page.get_by_label(label, exact=True).fill(local_input(moment))
    page.get_by_label("Choose proposals up to the area's budget").check()
    page.get_by_label("Greedy by votes").check()
    officer.press("Create round", "round-created")
    assert f"The round “{ROUND_NAME}” was created." in officer.messages()
    budget_round = BudgetRound.objects.get(name=ROUND_NAME)
    assert budget_round.phase_at(timezone.now()) == Phase.SUBMISSION
    round_path = budget_round.get_absolute_url()
    officer.link("Categories", "categories")
    officer.page.get_by_label("Category name").fill("Trees and green spaces")
    officer.press("Add category", "category-added")
    assert "Trees and green spaces" in officer.text()

    # 3. The new resident submits a proposal; a second resident submits another.
    nadia.link("Budget rounds", "rounds")
    nadia.link(ROUND_NAME, "round-in-submission")
    nadia.link("Suggest an idea", "proposal-form")
    page = nadia.page
    page.get_by_label("Title", exact=True).fill(TREES)
    page.get_by_label("Describe your idea").fill("Plant twenty street trees along Mill Lane.")
    assert page.get_by_label("Area", exact=True).input_value() != ""  # her own, chosen for her
    page.get_by_label(re.compile(r"^Category")).select_option(label="Trees and green spaces")
    page.get_by_label("What do you think it would cost?").fill("18000")
    page.get_by_label(re.compile(r"^Where")).fill("Mill Lane")
    nadia.press("Submit for review", "proposal-submitted")
    assert "submitted for review" in nadia.messages()

    omar.sign_in("omar@example.org", PASSWORD)
    omar.visit(round_path, "round-in-submission")
    omar.link("Suggest an idea", "proposal-form")
    page = omar.page
    page.get_by_label("Title", exact=True).fill(BENCHES)
    page.get_by_label("Describe your idea").fill("Six benches around the pond in Elm Park.")
    page.get_by_label("What do you think it would cost?").fill("15000")
    omar.press("Submit for review", "proposal-submitted")
    assert "submitted for review" in omar.messages()

    # 4. Time moves to review (the officer changes the dates); both are found feasible,
    # after a cost over the area's budget is refused.
    officer.visit(round_path, "round")
    officer.link("Change this round's settings", "round-edit-form")
    officer.page.get_by_label("Submission closes and review starts", exact=True).fill(
        local_input(timezone.now() - timedelta(minutes=1))
    )
    officer.press("Save changes", "round-in-review")
    assert "Your changes" in officer.messages()
    assert beat(advance_round_phases) == 1
    officer.link("See the proposals", "proposals")
    for title, too_much, cost in ((TREES, "45000", "25000"), (BENCHES, None, "20000")):
        slug = re.sub(r"\W+", "-", title.lower())
        officer.link(title, f"proposal-{slug}")
        officer.link("Review this proposal", f"review-form-{slug}")
        decide = section(officer, "Decide feasibility and cost")
        decide.get_by_label("Feasible: put it on the ballot").check()
        if too_much:
            decide.get_by_label(re.compile(r"^Official cost")).fill(too_much)
            officer.press("Save decision", f"review-refused-{slug}")
            assert "budget" in error_summary(officer)
            decide.get_by_label("Feasible: put it on the ballot").check()
        decide.get_by_label(re.compile(r"^Official cost")).fill(cost)
        decide.get_by_label(re.compile(r"^Public reason")).fill("Costed by the parks team.")
        officer.press("Save decision", f"reviewed-{slug}")
        assert "The review was saved" in officer.messages()
        assert "Feasible" in officer.text()
        officer.link("Proposals", "proposals")
    assert set(Proposal.objects.values_list("status", "official_cost")) == {
        (ProposalStatus.FEASIBLE, Decimal("25000.00")),
        (ProposalStatus.FEASIBLE, Decimal("20000.00")),
    }
    # Both together cost £45,000, more than Northfield's £40,000: each voter picks one.

    # 5. Time moves to voting. Residents vote; one changes her vote; a resident of another
    # area is turned away; an officer records a paper ballot, and is refused a second one.
    round_move_to(budget_round, Phase.VOTING)
    beat(advance_round_phases)
    nadia.visit(round_path, "round-in-voting")
    nadia.link("Vote", "vote")
    nadia.link("Vote for Northfield", "ballot")
    nadia.page.get_by_role("checkbox", name=re.compile(BENCHES)).check()
    nadia.press("Save my vote", "receipt")
    first_code = receipt_code(nadia)
    nadia.link("Change your vote", "ballot-again")
    assert nadia.page.get_by_role("checkbox", name=re.compile(BENCHES)).is_checked()
    nadia.page.get_by_role("checkbox", name=re.compile(BENCHES)).uncheck()
    nadia.page.get_by_role("checkbox", name=re.compile(TREES)).check()
    nadia.press("Save my vote", "vote-changed")
    assert "Your vote was changed" in nadia.messages()
    nadia_code = receipt_code(nadia)
    assert nadia_code == first_code  # one ballot, one code, whatever the changes

    omar.visit(round_path, "round-in-voting")
    omar.link("Vote", "vote")
    omar.link("Vote for Northfield", "ballot")
    omar.page.get_by_role("checkbox", name=re.compile(BENCHES)).check()
    omar.press("Save my vote", "receipt")

    bea = trip.journey("bea")
    bea.sign_in("bea@example.org", PASSWORD)
    bea.visit(f"{round_path}vote/northfield/", "other-areas-ballot-refused")
    assert "You live in Southbank, so you cannot vote on proposals for Northfield" in (
        bea.messages()
    )
    assert bea.page.get_by_role("link", name="Vote for Northfield").count() == 0
    assert not Ballot.objects.filter(voter=town["bea"]).exists()

    officer.link("Officer", "officer-dashboard")
    officer.link(re.compile(r"^Paper ballots"), "paper-voters")
    officer.page.get_by_label("Search by name or email").fill("Priya")
    officer.press("Search", "paper-voters-found")
    officer.link("Record paper ballot for Priya Shah in Northfield", "paper-ballot-form")
    # The same form open at a second desk, before the first records the ballot.
    second_desk = officer.new_tab()
    second_desk.visit(officer.page.url, "paper-ballot-form-second-desk")
    officer.page.get_by_role("checkbox", name=re.compile(TREES)).check()
    officer.press("Record this paper ballot", "paper-ballot-recorded")
    paper_code = officer.page.locator("dd code").inner_text().strip()
    second_desk.page.get_by_role("checkbox", name=re.compile(TREES)).check()
    second_desk.press("Record this paper ballot", "second-paper-ballot-refused")
    assert "A paper ballot for Priya Shah in Northfield was already recorded" in error_summary(
        second_desk
    )
    officer.link("Record another paper ballot", "paper-voters")
    officer.page.get_by_label("Search by name or email").fill("Priya")
    officer.press("Search", "paper-voters-after")
    assert "has a ballot" in officer.text()
    assert officer.page.get_by_role("link", name=re.compile("Record paper ballot")).count() == 0
    assert Ballot.objects.get(voter=town["priya"]).channel == BallotChannel.PAPER

    # 6. Voting ends; the close task counts; the results show the winner and the resident
    # finds her receipt code among those counted.
    round_move_to(budget_round, Phase.RESULTS)
    beat(advance_round_phases)
    assert beat(close_count_publish) == 2  # Northfield and Southbank
    nadia.visit(round_path, "round-with-results")
    nadia.link("See the results", "results")
    nadia.link("Northfield", "area-results")
    rows = {
        row.get_by_role("rowheader").inner_text(): row.inner_text()
        for row in nadia.page.locator(".results-table tbody tr").all()
    }
    assert re.search(r"\b2\b.*£25,000\.00\s+Yes", rows[TREES], re.S), rows  # Nadia + Priya
    assert re.search(r"\b1\b.*£20,000\.00\s+No", rows[BENCHES], re.S), rows  # Omar
    nadia.page.get_by_label("Receipt code").fill(nadia_code.lower().replace("-", " "))
    nadia.press("Check", "receipt-checked")
    assert f"The ballot with receipt code {nadia_code} was counted in Northfield" in nadia.text()
    assert any(nadia_code in m.body for m in mail.outbox if m.to == ["nadia@example.org"])
    assert paper_code != nadia_code

    # 7. Allocation; the officer records a commitment, a payment typed wrongly, its
    # reversal and the right payment; residents see the money.
    assert beat(allocate_published_results) == 1
    officer.visit(round_path, "round-with-results")
    officer.link("Ledger", "round-ledger")
    officer.link(TREES, "proposal-ledger")
    commitment = section(officer, "Record a commitment (contract or order)")
    commitment.get_by_label("Amount").fill("24000.00")
    commitment.get_by_label("Supplier").fill("Greenways Ltd")
    commitment.get_by_label("Contract or purchase order number").fill("PO-1001")
    commitment.get_by_label("Date of the contract or order").fill(timezone.localdate().isoformat())
    officer.follow(commitment.get_by_role("button", name="Record"), "commitment-recorded")
    assert "The commitment was recorded." in officer.messages()
    record_payment(officer, "12500.00", "INV-77", "wrong-payment-recorded")
    wrong_row = officer.page.locator("tbody tr").filter(has_text="INV-77")
    officer.follow(wrong_row.get_by_role("link", name=re.compile("^Reverse")), "reverse-form")
    officer.page.get_by_label("What was wrong with the entry").fill(
        "Typed 12,500.00 for an invoice of 2,500.00."
    )
    officer.press("Record the reversal", "payment-reversed")
    assert re.search(r"Entry \d+ was reversed", officer.messages())
    record_payment(officer, "2500.00", "INV-77", "right-payment-recorded")
    assert facts(officer.page.locator("main dl.facts").first) == {
        "Allocated": "£25,000.00",
        "Committed": "£24,000.00",
        "Spent": "£2,500.00",
        "Remaining (allocated − spent)": "£22,500.00",
        "Uncommitted (allocated − committed)": "£1,000.00",
    }

    omar.visit(round_path, "round-with-results")
    omar.link("Where the money went", "where-the-money-went")
    shown = {
        term: money_value(value)
        for term, value in facts(omar.page.locator("main dl.facts").first).items()
    }
    assert shown == {
        "Allocated": Decimal("25000.00"),
        "Committed": Decimal("24000.00"),
        "Spent": Decimal("2500.00"),
        "Remaining (allocated − spent)": Decimal("22500.00"),
    }
    omar.link(TREES, "funded-proposal")
    money = facts(omar.page.locator(".money dl"))
    assert (money["Allocated"], money["Spent"]) == ("£25,000.00", "£2,500.00")

    # 8. The auditor opens the ledger, downloads it as CSV, and its sums match the public
    # page.
    auditor = trip.journey("auditor")
    auditor.sign_in("auditor@example.org", PASSWORD)
    auditor.link("Audit", "audit")
    auditor.link("Ledger entries and downloads", "ledger-entries")
    auditor.page.get_by_label("Round").select_option(label=ROUND_NAME)
    auditor.press("Show entries", "ledger-entries-of-the-round")
    assert "5 entries" in auditor.text()
    saved = auditor.download(
        auditor.page.get_by_role("link", name="CSV file (for spreadsheets)"), "ledger-csv"
    )
    with saved.open(newline="", encoding="utf-8") as file:
        entries = list(csv.DictReader(file))
    assert {row["round"] for row in entries} == {str(budget_round.pk)}
    sums = {
        column: sum((Decimal(row[f"{column}_delta"]) for row in entries), Decimal(0))
        for column in ("allocated", "committed", "spent")
    }
    assert sums == {
        "allocated": shown["Allocated"],
        "committed": shown["Committed"],
        "spent": shown["Spent"],
    }
    assert sums["allocated"] - sums["spent"] == shown["Remaining (allocated − spent)"]
    auditor.visit("/audit/ledger/", "ledger-entries-after-download")
    assert "auditor@example.org" in auditor.text()

    trip.finish()


def record_payment(officer: Journey, amount: str, invoice: str, step: str) -> None:
    payment = section(officer, "Record a payment")
    payment.get_by_label("Amount").fill(amount)
    payment.get_by_label("Supplier").fill("Greenways Ltd")
    payment.get_by_label("Invoice number").fill(invoice)
    payment.get_by_label("Date paid").fill(timezone.localdate().isoformat())
    payment.get_by_label("What was paid for").fill("First ten trees, planted")
    officer.follow(payment.get_by_role("button", name="Record"), step)
    assert "The payment was recorded." in officer.messages()


# --- Keyboard only and on a phone ------------------------------------------------------------


@pytest.fixture
def voting_open(live_site) -> dict[str, object]:
    """A round in its voting phase with three proposals on Northfield's ballot."""
    northfield: Area = AreaFactory(name="Northfield", slug="northfield")
    budget_round = BudgetRoundFactory(
        name=ROUND_NAME, slug="green-streets-2027", phase=Phase.VOTING, counting_rule="greedy"
    )
    round_area = RoundAreaFactory(
        budget_round=budget_round, area=northfield, budget=Decimal("40000.00")
    )
    ballot = ((TREES, "25000"), (BENCHES, "20000"), ("Bike racks by the library", "4000"))
    for title, cost in ballot:
        ProposalFactory(
            budget_round=budget_round,
            round_area=round_area,
            title=title,
            estimated_cost=Decimal(cost),
            status=ProposalStatus.FEASIBLE,
        )
    resident_make(name="Nadia Rahman", email="nadia@example.org", area=northfield)
    return {"round": budget_round}


FOCUSABLE = "input:not([type=hidden]):not([disabled]), a[href], button:not([disabled])"

DESCRIBE_FOCUS = """(selector) => {
    const form = document.querySelector('.ballot-form');
    const items = [...form.querySelectorAll(selector)];
    const el = document.activeElement;
    const box = el.getBoundingClientRect();
    const s = getComputedStyle(el);
    return {
        index: items.indexOf(el),
        name: (el.labels && el.labels[0] ? el.labels[0].innerText : el.innerText).trim(),
        top: box.top + window.scrollY, bottom: box.bottom + window.scrollY,
        style: {outline: s.outlineStyle, outlineWidth: parseFloat(s.outlineWidth),
                shadow: s.boxShadow, background: s.backgroundColor, colour: s.color},
    };
}"""

RESTING_STYLES = """(selector) => {
    document.activeElement.blur();
    const form = document.querySelector('.ballot-form');
    return [...form.querySelectorAll(selector)].map(el => {
        const s = getComputedStyle(el);
        return {outline: s.outlineStyle, outlineWidth: parseFloat(s.outlineWidth),
                shadow: s.boxShadow, background: s.backgroundColor, colour: s.color};
    });
}"""


def test_the_ballot_works_with_the_keyboard_alone(trip, voting_open):
    nadia = trip.journey("nadia")
    nadia.sign_in("nadia@example.org", PASSWORD)
    nadia.visit(voting_open["round"].get_absolute_url(), "round-in-voting")
    nadia.link("Vote", "vote")
    nadia.link("Vote for Northfield", "ballot")
    page = nadia.page
    in_form = page.eval_on_selector_all(
        f".ballot-form :is({FOCUSABLE})", "els => els.map(el => el.outerHTML.slice(0, 80))"
    )
    # Three checkboxes, three "Read more" links, two buttons.
    assert len(in_form) == 8, in_form

    reached: list[dict[str, object]] = []
    page.locator("body").focus()
    for _press in range(80):
        page.keyboard.press("Tab")
        focused = page.evaluate(DESCRIBE_FOCUS, FOCUSABLE)
        if focused["index"] >= 0:
            reached.append(focused)
        elif reached:
            break  # Tab has left the ballot form
    print("Tab reached, in the ballot form:", [item["name"] for item in reached])
    order = [item["index"] for item in reached]
    assert order == list(range(len(in_form))), (
        "Tab should reach every checkbox, link and button of the ballot once, in the order "
        f"they are read: reached {[item['name'] for item in reached]}"
    )
    for before, after in pairwise(reached):
        assert after["bottom"] > before["top"], (
            f"focus moved up the page, from {before['name']!r} to {after['name']!r}"
        )

    resting = page.evaluate(RESTING_STYLES, FOCUSABLE)
    unseen = []
    for item in reached:
        focused, rest = item["style"], resting[item["index"]]
        outline = focused["outline"] != "none" and focused["outlineWidth"] >= 2
        changed = {key for key in focused if focused[key] != rest[key]}
        if not (outline and changed & {"outline", "outlineWidth"}) and not (
            changed & {"shadow", "background"}
        ):
            unseen.append(f"{item['name']} (focused {focused}, resting {rest})")
    assert not unseen, f"no visible focus indicator on {unseen}"

    # And the vote can be cast from the keyboard: Space ticks, Enter on the button saves.
    page.get_by_role("checkbox", name=re.compile(TREES)).focus()
    page.keyboard.press("Space")
    page.get_by_role("button", name="Save my vote").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    nadia.check("receipt-after-keyboard-vote")
    assert "Your vote was saved." in nadia.messages()
    trip.finish()


def test_voting_and_results_on_a_phone(trip, voting_open):
    budget_round: BudgetRound = voting_open["round"]
    nadia = trip.journey("nadia-phone", viewport=PHONE)
    nadia.sign_in("nadia@example.org", PASSWORD)
    round_path = budget_round.get_absolute_url()
    nadia.visit(round_path, "round-in-voting")
    nadia.link("Vote", "vote")
    nadia.link("Vote for Northfield", "ballot")
    nadia.page.get_by_role("checkbox", name=re.compile(TREES)).check()
    nadia.page.get_by_role("checkbox", name=re.compile(BENCHES)).check()
    nadia.press("Check my total", "ballot-over-budget")
    assert "over the budget" in nadia.text()
    nadia.page.get_by_role("checkbox", name=re.compile(BENCHES)).uncheck()
    nadia.page.get_by_role("checkbox", name=re.compile("Bike racks")).check()
    nadia.press("Save my vote", "receipt")
    code = receipt_code(nadia)
    nadia.link("All your ballots", "my-ballots")

    round_move_to(budget_round, Phase.RESULTS)
    assert beat(close_count_publish) == 1
    assert beat(allocate_published_results) == 2
    nadia.visit(round_path, "round-with-results")
    nadia.link("See the results", "results")
    nadia.link("Northfield", "area-results")
    nadia.page.get_by_label("Receipt code").fill(code)
    nadia.press("Check", "receipt-checked")
    assert "Counted." in nadia.text()
    nadia.link("Results", "results-again")
    nadia.link("See where the money went", "where-the-money-went")
    nadia.link(TREES, "funded-proposal")
    trip.finish()


# --- The checks themselves -------------------------------------------------------------------


def test_a_journey_reports_what_it_finds(trip):
    """So a clean run means clean pages, not checks that never fire."""
    visitor = trip.journey("visitor")
    visitor.visit("/rounds/no-such-round/", "missing-page")
    visitor.visit("/", "home")
    visitor.page.locator("main").evaluate(
        """main => main.insertAdjacentHTML('beforeend',
            '<input type="text"><div style="width: 3000px">wide</div>')"""
    )
    visitor.check("broken-on-purpose")

    found = "\n".join(trip.findings)
    assert "missing-page – http://" in found and "answered HTTP 404" in found
    assert "broken-on-purpose – http://" in found
    assert "label (critical)" in found  # axe: a field with no label
    assert "reflow (WCAG 1.4.10)" in found
    assert len(trip.scanned) == 3
    trip.findings.clear()
    trip.finish()
