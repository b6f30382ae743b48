"""The public results pages and downloads: only published results are shown, the figures
are those of the real count, voters can check their receipt code, the files are safe to
open and recount, and no page or file says who voted for what."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from pb_platform.roles import RESIDENT, role_grant
from proposals.models import CountingRule, ProposalStatus
from proposals.phases import Phase
from tests.conftest import client_for
from tests.factories import (
    AreaFactory,
    BudgetRoundFactory,
    ProposalFactory,
    ResidentProfileFactory,
    RoundAreaFactory,
    round_history_rewrite,
)
from voting import rules
from voting.models import AreaResult, Ballot, BallotChannel, BallotChoice
from voting.pabulib import parse_pabulib
from voting.services.ballots import ballot_submit, paper_ballot_record, receipt_code_new
from voting.services.results import area_close_count_publish
from voting.tasks import explain_published_results

# --- Reading pages ------------------------------------------------------------------------


class _TableReader(HTMLParser):
    """The text of each body row of the first table with the given class."""

    def __init__(self, table_class: str) -> None:
        super().__init__()
        self.table_class = table_class
        self.depth = 0  # > 0 inside the wanted table
        self.in_body = False
        self.rows: list[list[str]] = []
        self.cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        classes = (dict(attrs).get("class") or "").split()
        if tag == "table" and (self.depth or (self.table_class in classes and not self.rows)):
            self.depth += 1
        elif self.depth and tag == "tbody":
            self.in_body = True
        elif self.depth and self.in_body and tag == "tr":
            self.rows.append([])
        elif self.depth and self.in_body and tag in ("th", "td"):
            self.cell = []

    def handle_endtag(self, tag):
        if self.depth and tag == "table":
            self.depth -= 1
        elif self.depth and tag == "tbody":
            self.in_body = False
        elif self.cell is not None and tag in ("th", "td"):
            self.rows[-1].append(" ".join(" ".join(self.cell).split()))
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def table_rows(response, table_class: str) -> list[list[str]]:
    reader = _TableReader(table_class)
    reader.feed(response.content.decode())
    return reader.rows


class _TextReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data):
        self.parts.append(data)


def page_text(response) -> str:
    """What the page says, without its markup, in single spaces."""
    reader = _TextReader()
    reader.feed(response.content.decode())
    return " ".join(" ".join(reader.parts).split())


# --- The election -------------------------------------------------------------------------


@pytest.fixture
def election(db, area_a, area_b, officer):
    """A greedy round with a 5,000 budget in area A and seven voters (six online, one on
    paper): Lights 3,000 gets 4 votes, Trees 2,500 gets 3, Benches 1,000 gets 1 and
    Fountain 4,000 none. Greedy funds Lights, skips Trees (no longer fits), funds
    Benches, and Fountain does not fit. Area B is in the round but nobody voted there."""
    budget_round = BudgetRoundFactory(
        phase=Phase.VOTING, name="Spring vote", slug="spring", counting_rule=CountingRule.GREEDY
    )
    round_area = RoundAreaFactory(budget_round=budget_round, area=area_a, budget=Decimal(5000))
    RoundAreaFactory(budget_round=budget_round, area=area_b, budget=Decimal(3000))
    costs = {"Lights": 3000, "Trees": 2500, "Benches": 1000, "Fountain": 4000}
    proposals = {
        title: ProposalFactory(
            budget_round=budget_round,
            round_area=round_area,
            title=title,
            estimated_cost=Decimal(cost),
            status=ProposalStatus.FEASIBLE,
        )
        for title, cost in costs.items()
    }
    now = timezone.now()
    choices = [
        ["Lights", "Benches"],
        ["Lights"],
        ["Lights"],
        ["Lights"],
        ["Trees"],
        ["Trees"],
    ]
    voters = [
        ResidentProfileFactory(area=area_a, display_name=f"Voter Person {n}").user for n in range(7)
    ]
    for voter in voters:
        role_grant(user=voter, role=RESIDENT)  # voting online needs the resident role
    ballots = [
        ballot_submit(
            voter=voter,
            round_area=round_area,
            proposal_ids=[proposals[title].pk for title in chosen],
            now=now,
        )
        for voter, chosen in zip(voters[:6], choices, strict=True)
    ]
    ballots.append(
        paper_ballot_record(
            officer=officer,
            voter=voters[6],
            round_area=round_area,
            proposal_ids=[proposals["Trees"].pk],
            now=now,
        )
    )
    return {
        "round": budget_round,
        "round_area": round_area,
        "proposals": proposals,
        "voters": voters,
        "ballots": ballots,
    }


def count_and_publish(round_area):
    after_voting = round_area.budget_round.voting_ends + timedelta(seconds=1)
    result = area_close_count_publish(round_area_id=round_area.pk, now=after_voting)
    assert result is not None
    return result


@pytest.fixture
def published(election):
    count_and_publish(election["round_area"])
    return election


def area_url(name: str, area_slug: str = "area-a", round_slug: str = "spring") -> str:
    return reverse(f"voting:{name}", args=[round_slug, area_slug])


DOWNLOADS = ["area_results_csv", "area_results_pabulib", "area_receipts"]


# --- Not published: nothing shown ---------------------------------------------------------


def test_before_the_count_the_pages_say_results_are_not_published_and_files_are_404(
    election, anonymous_client
):
    round_page = anonymous_client.get(reverse("voting:round_results", args=["spring"]))
    area_page = anonymous_client.get(area_url("area_results"))

    for response in (round_page, area_page):
        assert response.status_code == 200
        assert "The results are not published yet" in page_text(response)
        assert "Lights" not in page_text(response)
    for name in DOWNLOADS:
        assert anonymous_client.get(area_url(name)).status_code == 404


def test_a_counted_but_unpublished_result_is_not_shown(election, anonymous_client):
    round_area = election["round_area"]
    AreaResult.objects.create(
        round_area=round_area,
        rule=CountingRule.GREEDY,
        ballots_counted=7,
        budget=round_area.budget,
        budget_used=Decimal(4000),
        counted_at=timezone.now(),
        published_at=None,
    )

    area_page = anonymous_client.get(area_url("area_results"))
    round_page = anonymous_client.get(reverse("voting:round_results", args=["spring"]))

    assert "The results are not published yet" in page_text(area_page)
    assert "The results are not published yet" in page_text(round_page)
    for name in DOWNLOADS:
        assert anonymous_client.get(area_url(name)).status_code == 404


def test_unknown_rounds_and_areas_are_404(published, anonymous_client):
    assert anonymous_client.get(reverse("voting:round_results", args=["nope"])).status_code == 404
    assert anonymous_client.get(area_url("area_results", "nowhere")).status_code == 404
    other_area = AreaFactory(slug="not-in-round")
    assert anonymous_client.get(area_url("area_results", other_area.slug)).status_code == 404
    assert anonymous_client.get(area_url("area_results_csv", "nowhere")).status_code == 404


# --- Published: the real count ------------------------------------------------------------


def test_round_page_gives_each_areas_headline(published, anonymous_client):
    response = anonymous_client.get(reverse("voting:round_results", args=["spring"]))

    assert response.status_code == 200
    assert table_rows(response, "stack") == [
        [
            "Area A",
            "£5,000.00",
            "£4,000.00",
            "£1,000.00",
            "2",
            "7",
        ],
        ["Area B", "Not published yet."],
    ]
    assert area_url("area_results") in response.content.decode()


def test_area_page_shows_winners_and_non_winners_from_the_count(published, anonymous_client):
    proposals = published["proposals"]

    response = anonymous_client.get(area_url("area_results"))

    assert response.status_code == 200
    assert table_rows(response, "results-table") == [
        ["Lights", proposals["Lights"].pabulib_id, "4", "£3,000.00", "Yes", "1"],
        ["Benches", proposals["Benches"].pabulib_id, "1", "£1,000.00", "Yes", "2"],
        ["Trees", proposals["Trees"].pabulib_id, "3", "£2,500.00", "No", "– not chosen"],
        ["Fountain", proposals["Fountain"].pabulib_id, "0", "£4,000.00", "No", "– not chosen"],
    ]
    text = page_text(response)
    assert "Spent on funded proposals £4,000.00" in text
    assert "Left over £1,000.00" in text
    assert "2 of 4 proposals" in text
    assert "most votes first, funded if it still fits" in text
    # The chart says in words which bars were funded.
    assert "4 votes · funded" in text
    assert "3 votes · not funded" in text
    assert 'role="img"' in response.content.decode()


def test_area_page_gives_turnout_by_channel(published, anonymous_client):
    response = anonymous_client.get(area_url("area_results"))

    assert table_rows(response, "turnout-table") == [
        ["Online", "6"],
        ["On paper, recorded by an officer", "1"],
        ["Imported from historical records", "0"],
    ]


def test_area_page_explains_the_method_of_equal_shares_when_used(election, anonymous_client):
    round_history_rewrite(election["round"], counting_rule=CountingRule.MES)
    count_and_publish(election["round_area"])

    text = page_text(anonymous_client.get(area_url("area_results")))

    assert "Method of Equal Shares" in text
    assert "split equally between the voters" in text
    assert "most votes first, funded if it still fits" in text
    # Every setting of the rule, in words.
    assert "Method of Equal Shares with cost utilities" in text
    assert "the budget, £5,000.00, divided by the 7 ballots counted" in text
    assert "First “add1”" in text and "raised by 1 GBP" in text
    assert "Then greedy by votes funds whatever still fits" in text
    assert "smallest id goes first, with ids compared as text (so 11 comes before 2)" in text
    assert "exactly the results of pabutools 1.2.3" in text


def test_round_page_links_to_the_results_once_voting_is_over(published, anonymous_client):
    budget_round = published["round"]
    round_page = reverse("proposals:round_detail", args=[budget_round.slug])
    results = reverse("voting:round_results", args=[budget_round.slug])
    assert results not in anonymous_client.get(round_page).content.decode()

    round_history_rewrite(budget_round, voting_ends=timezone.now() - timedelta(minutes=1))

    assert results in anonymous_client.get(round_page).content.decode()


def test_no_page_or_file_names_a_voter(published, anonymous_client, resident_a):
    pages = [
        reverse("voting:round_results", args=["spring"]),
        area_url("area_results"),
        *(area_url(name) for name in DOWNLOADS),
    ]
    people = [published["voters"][0], published["voters"][6], resident_a]
    for client in (anonymous_client, client_for(resident_a)):
        for url in pages:
            body = client.get(url).content.decode()
            for user in people:
                assert user.resident_profile.display_name not in body, url
                assert user.email not in body, url
                assert user.username not in body, url


# --- Receipts -----------------------------------------------------------------------------


def test_a_counted_receipt_code_is_found_however_it_is_typed(published, anonymous_client):
    code = published["ballots"][0].receipt_code
    typed = " " + code.lower().replace("-", " ") + " "

    response = anonymous_client.get(area_url("area_results"), {"receipt": typed})

    text = page_text(response)
    assert f"Counted. The ballot with receipt code {code} was counted in Area A." in text
    assert "Not found" not in text


def test_a_code_not_counted_in_this_area_is_not_found(published, anonymous_client, area_b):
    other_round_area = RoundAreaFactory(area=AreaFactory(slug="elsewhere"))
    elsewhere = Ballot.objects.create(
        round_area=other_round_area, channel=BallotChannel.IMPORTED, receipt_code=receipt_code_new()
    )

    for code in ("ABCD-EFGH-JKLM-NPQR", elsewhere.receipt_code):
        text = page_text(anonymous_client.get(area_url("area_results"), {"receipt": code}))
        assert f"Not found. No ballot with receipt code {code} was counted in Area A." in text
        assert "Counted." not in text


def test_something_that_is_not_a_code_is_explained(published, anonymous_client):
    response = anonymous_client.get(area_url("area_results"), {"receipt": "<b>hello</b>"})

    assert "That is not a receipt code. “<b>hello</b>” does not look like one" in page_text(
        response
    )
    assert "<b>hello</b>" not in response.content.decode()  # shown as text, not markup


def test_receipts_txt_holds_exactly_the_counted_codes_sorted(published, anonymous_client):
    Ballot.objects.create(  # another area's ballot stays out
        round_area=RoundAreaFactory(area=AreaFactory()),
        channel=BallotChannel.IMPORTED,
        receipt_code=receipt_code_new(),
    )

    response = anonymous_client.get(area_url("area_receipts"))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="spring-area-a-receipts.txt"'
    expected = sorted(ballot.receipt_code for ballot in published["ballots"])
    assert response.content.decode().splitlines() == expected


# --- Downloads ----------------------------------------------------------------------------


def test_csv_holds_the_result_lines(published, anonymous_client):
    proposals = published["proposals"]

    response = anonymous_client.get(area_url("area_results_csv"))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="spring-area-a-results.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows == [
        ["project_id", "title", "votes", "cost", "funded", "selection_order"],
        [proposals["Lights"].pabulib_id, "Lights", "4", "3000.00", "yes", "1"],
        [proposals["Benches"].pabulib_id, "Benches", "1", "1000.00", "yes", "2"],
        [proposals["Trees"].pabulib_id, "Trees", "3", "2500.00", "no", ""],
        [proposals["Fountain"].pabulib_id, "Fountain", "0", "4000.00", "no", ""],
    ]


@pytest.mark.parametrize(
    "title", ['=HYPERLINK("http://evil.example")', "+1+2", "-3", "@SUM(A1)", "\tTab"]
)
def test_csv_cells_that_look_like_formulas_are_quoted(election, anonymous_client, title):
    proposal = election["proposals"]["Fountain"]
    proposal.title = title
    proposal.external_id = "=1+1"
    proposal.save(update_fields=["title", "external_id"])
    count_and_publish(election["round_area"])

    response = anonymous_client.get(area_url("area_results_csv"))

    rows = list(csv.reader(io.StringIO(response.content.decode())))
    (row,) = [row for row in rows if row[1].endswith(title)]
    assert row[0] == "'=1+1"
    assert row[1] == "'" + title


def test_pabulib_file_parses_back_and_recounts_to_the_stored_winners(published, anonymous_client):
    proposals = published["proposals"]

    response = anonymous_client.get(area_url("area_results_pabulib"))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="spring-area-a-ballots.pb"'
    data = parse_pabulib(io.StringIO(response.content.decode()))
    assert len(data.votes) == 7
    outcome = rules.greedy(data.rule_projects(), data.ballots(), data.budget)
    funded = {proposals["Lights"].pabulib_id, proposals["Benches"].pabulib_id}
    assert set(outcome.winners) == funded
    assert {p.id for p in data.projects if p.extra.get("selected") == "1"} == funded
    votes = {p.id: p.extra["votes"] for p in data.projects}
    assert votes == {
        proposals[title].pabulib_id: str(n)
        for title, n in (("Lights", 4), ("Trees", 3), ("Benches", 1), ("Fountain", 0))
    }
    voter_ids = {str(user.pk) for user in published["voters"]} | {
        user.username for user in published["voters"]
    }
    assert not voter_ids & {voter_id for voter_id, _ in data.votes}


# --- Query counts -------------------------------------------------------------------------


def make_counted_area(*, slug: str, proposals: int, ballots: int, officer) -> None:
    """A counted and published area with this many proposals and ballots, on every
    channel; ballots are written directly, as the data, not the voting, is under test."""
    budget_round = BudgetRoundFactory(phase=Phase.VOTING, slug=slug)
    round_area = RoundAreaFactory(budget_round=budget_round, area__slug=f"{slug}-area")
    on_ballot = [
        ProposalFactory(
            budget_round=budget_round,
            round_area=round_area,
            estimated_cost=Decimal(100 + n),
            status=ProposalStatus.FEASIBLE,
        )
        for n in range(proposals)
    ]
    users = get_user_model().objects.bulk_create(
        get_user_model()(username=f"{slug}-voter-{n}", email=f"{slug}-{n}@example.org")
        for n in range(ballots)
    )
    channels = [BallotChannel.ONLINE, BallotChannel.PAPER, BallotChannel.IMPORTED]
    written = Ballot.objects.bulk_create(
        Ballot(
            round_area=round_area,
            channel=channels[n % 3],
            voter=None if channels[n % 3] == BallotChannel.IMPORTED else users[n],
            recorded_by=officer if channels[n % 3] == BallotChannel.PAPER else None,
            receipt_code=receipt_code_new(),
        )
        for n in range(ballots)
    )
    BallotChoice.objects.bulk_create(
        BallotChoice(ballot=ballot, proposal=proposal)
        for n, ballot in enumerate(written)
        for proposal in on_ballot[n % proposals : n % proposals + 3]
    )
    count_and_publish(round_area)


def count_queries(client: Client, url: str, data: dict | None = None) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, data or {})
    assert response.status_code == 200, url
    return len(queries)


PAGES = [
    ("round_results", False, None),
    ("area_results", True, None),
    ("area_results", True, {"receipt": "ABCD-EFGH-JKLM-NPQR"}),
    ("area_results_csv", True, None),
    ("area_results_pabulib", True, None),
    ("area_receipts", True, None),
]


@pytest.mark.parametrize(("name", "per_area", "data"), PAGES)
@pytest.mark.parametrize("persona", ["anonymous", "resident_a"])
def test_results_pages_make_the_same_queries_whatever_the_data_size(
    name, per_area, data, persona, officer, request
):
    client = Client() if persona == "anonymous" else client_for(request.getfixturevalue(persona))

    def url(slug: str) -> str:
        args = [slug, f"{slug}-area"] if per_area else [slug]
        return reverse(f"voting:{name}", args=args)

    make_counted_area(slug="small", proposals=3, ballots=5, officer=officer)
    make_counted_area(slug="big", proposals=40, ballots=200, officer=officer)
    # Explained too, so the "Why" column (and reading its explanation) is counted.
    assert explain_published_results() == 2

    small = count_queries(client, url("small"), data)
    large = count_queries(client, url("big"), data)

    assert small == large, f"{name}: {small} queries with little data, {large} with more"


def test_checking_a_receipt_is_one_indexed_query(published, anonymous_client):
    url = area_url("area_results")
    code = published["ballots"][3].receipt_code
    without = count_queries(anonymous_client, url)

    with CaptureQueriesContext(connection) as queries:
        anonymous_client.get(url, {"receipt": code})

    assert len(queries) == without + 1
    lookup = [q["sql"] for q in queries if "receipt_code" in q["sql"]]
    assert len(lookup) == 1
    assert code in lookup[0]
    assert "LIMIT 1" in lookup[0]
