"""Each published result gets its explanation once, after publication, as a job item of
its own; results published before explanations existed are filled in too."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from django.core.management import call_command
from django.utils import timezone

from pb_platform.models import JobItem
from proposals.models import CountingRule
from tests.ledgers.conftest import published_round
from voting import explain
from voting.models import AreaResult, ResultExplanation
from voting.services.explanations import EXPLAIN_JOB, area_rule_input, result_explain
from voting.tasks import explain_published_results

pytestmark = pytest.mark.django_db


def test_a_greedy_result_is_explained_once_with_ranks_and_money_left(area_a):
    budget_round, proposals = published_round(area=area_a, allocate=False)
    assert explain_published_results() == 1
    assert explain_published_results() == 0  # stored: a second run does nothing
    explanation = ResultExplanation.objects.get(result__round_area__budget_round=budget_round)
    greedy = explain.GreedyExplanation.from_dict(explanation.data["rule"])
    by_title = {p.pabulib_id: title for title, p in proposals.items()}
    # Trees (3 votes, 2,000), Benches (2 votes, 1,000), Lights (1 vote, 3,000): budget 5,000
    assert [(by_title[r.project], r.rank, r.funded, r.money_left) for r in greedy.ranks] == [
        ("Trees", 1, True, Fraction(5000)),
        ("Benches", 2, True, Fraction(3000)),
        ("Lights", 3, False, Fraction(2000)),
    ]
    assert explanation.software_version.startswith("commonpurse")


def test_an_equal_shares_result_stores_steps_payments_can_be_replayed_from(area_a):
    budget_round, _proposals = published_round(area=area_a, allocate=False)
    result = AreaResult.objects.get(round_area__budget_round=budget_round)
    AreaResult.objects.filter(pk=result.pk).update(rule=CountingRule.MES)
    stored = result_explain(result_id=result.pk, now=timezone.now())
    assert stored is not None
    mes = explain.MesExplanation.from_dict(stored.data["rule"])
    projects, ballots, _ = area_rule_input(round_area=result.round_area)
    assert list(mes.winners) == [
        line.proposal.pabulib_id
        for line in result.lines.filter(funded=True).order_by("selection_order")
    ]
    paid: dict[str, Fraction] = {}
    for ballot in ballots:
        for project, amount in explain.ballot_payments(mes, ballot).items():
            paid[project] = paid.get(project, Fraction(0)) + amount
    for step in mes.steps:
        assert paid[step.project] == Fraction(Decimal(proposals_cost(projects, step.project)))


def proposals_cost(projects, pabulib_id: str) -> Decimal:
    return next(p.cost for p in projects if p.id == pabulib_id)


def test_an_explanation_that_disagrees_with_the_result_is_a_failed_item_never_stored(area_a):
    budget_round, proposals = published_round(area=area_a, allocate=False)
    result = AreaResult.objects.get(round_area__budget_round=budget_round)
    # A forged result: Benches unfunded (its place in the order goes with it).
    result.lines.filter(proposal=proposals["Benches"]).update(funded=False, selection_order=None)
    assert explain_published_results() == 0
    item = JobItem.objects.get(job=EXPLAIN_JOB)
    assert "the explanation funds" in item.last_error
    assert not ResultExplanation.objects.exists()
    result.refresh_from_db()
    assert result.published_at is not None  # the result itself stays published


def test_the_backfill_command_explains_results_published_before(area_a, capsys):
    published_round(area=area_a, allocate=False)
    published_round(area=area_a, name="Lanes", allocate=False)
    call_command("results_explain")
    printed = capsys.readouterr().out
    assert "2 result(s) without an explanation: 2 explained, 0 still without" in printed
    assert ResultExplanation.objects.count() == 2
    call_command("results_explain")
    assert "0 result(s) without an explanation" in capsys.readouterr().out


def test_an_explanation_stored_before_fairness_is_completed_and_a_complete_one_kept(area_a):
    published_round(area=area_a, allocate=False)
    explain_published_results()
    complete = ResultExplanation.objects.get()
    # As stored before the fairness figures existed: the rule's explanation only.
    ResultExplanation.objects.filter(pk=complete.pk).update(data={"rule": complete.data["rule"]})

    call_command("results_explain")

    completed = ResultExplanation.objects.get()
    assert completed.data["rule"] == complete.data["rule"]
    figures = completed.data["fairness"]
    # Greedy funded Trees and Benches: 3 of the 4 voters have something; Equal Shares
    # (the other rule) funds the same here.
    assert figures["published"]["non_empty_handed"] == "0.750000000000"
    assert figures["other"]["rule"] == "mes"
    assert sorted(figures["other"]["winners"]) == sorted(
        line.proposal.pabulib_id for line in completed.result.lines.filter(funded=True)
    )
    computed_at = completed.computed_at
    assert explain_published_results() == 0  # complete: left alone
    assert ResultExplanation.objects.get().computed_at == computed_at


def test_a_greedy_area_compares_with_equal_shares_and_has_no_money_sources(client, area_a):
    budget_round, _proposals = published_round(area=area_a, allocate=False)
    url = f"/rounds/{budget_round.slug}/results/{area_a.slug}/"
    assert "How fair is the outcome?" not in client.get(url).content.decode()  # not yet
    explain_published_results()
    page = " ".join(client.get(url).content.decode().split())
    assert "How fair is the outcome?" in page
    assert "Equal Shares would have funded 2 proposals, in this order:" in page
    # The one who chose only Lights gets nothing: 1 of 4 in the "Nothing" band.
    assert 'Nothing</th> <td class="num">1 voter (25.0%)</td>' in page
    assert 'id="money-sources"' not in page  # greedy: nobody's share paid for anything


# --- On the proposal page ------------------------------------------------------------------


def page_text(client, proposal) -> str:
    response = client.get(proposal.get_absolute_url())
    assert response.status_code == 200
    return " ".join(response.content.decode().split())


def test_a_visitor_reads_why_each_proposal_won_or_lost_under_greedy(client, area_a):
    _round, proposals = published_round(area=area_a, allocate=False)
    assert "Why it" not in page_text(client, proposals["Trees"])  # not explained yet
    explain_published_results()
    trees = page_text(client, proposals["Trees"])
    assert "Why it won" in trees
    assert "It had 3 votes." in trees and "came 1 in that order" in trees
    assert "£5,000.00 was left and it cost £2,000.00, so it was funded" in trees
    lights = page_text(client, proposals["Lights"])
    assert "Why it was not funded" in lights
    assert "only £2,000.00 was left and it cost £3,000.00, so it did not fit" in lights


def test_a_visitor_reads_where_the_supporters_shares_went_under_equal_shares(client, area_a):
    budget_round, proposals = published_round(area=area_a, allocate=False)
    result = AreaResult.objects.get(round_area__budget_round=budget_round)
    AreaResult.objects.filter(pk=result.pk).update(rule=CountingRule.MES)
    result_explain(result_id=result.pk, now=timezone.now())
    # 4 voters share 5,000 (1,250 each). Trees (3 supporters, 2,000) and Benches (2,
    # 1,000) are chosen by Equal Shares; Lights' one supporter has 1,250 for 3,000.
    trees = page_text(client, proposals["Trees"])
    assert "Why it won" in trees and "(£1,250.00 each)" in trees
    assert "It was chosen at step 1" in trees
    lights = page_text(client, proposals["Lights"])
    assert "Why it was not funded" in lights
    assert "Its effective support was" in lights


def test_a_voter_sees_how_much_of_their_share_went_to_each_funded_choice(area_a):
    from tests.conftest import client_for
    from voting.models import Ballot

    budget_round, proposals = published_round(area=area_a, allocate=False)
    result = AreaResult.objects.get(round_area__budget_round=budget_round)
    AreaResult.objects.filter(pk=result.pk).update(rule=CountingRule.MES)
    result_explain(result_id=result.pk, now=timezone.now())
    # The first voter chose Trees and Benches: 4 voters share 5,000 (1,250 each); Trees'
    # 3 supporters pay 666.67 each, Benches' 2 pay 500 each.
    voter = Ballot.objects.filter(round_area__budget_round=budget_round).order_by("pk")[0].voter
    page = " ".join(client_for(voter).get("/my/ballots/").content.decode().split())
    assert "What your ballot paid for" in page
    assert "started with a share of £1,250.00" in page
    assert f"{proposals['Trees'].title}</a>: £666.67" in page
    assert f"{proposals['Benches'].title}</a>: £500.00" in page
    assert "£83.33 of your share was not needed" in page


def test_the_area_results_table_says_in_a_few_words_why_with_a_link_to_the_whole(client, area_a):
    budget_round, proposals = published_round(area=area_a, allocate=False)
    url = f"/rounds/{budget_round.slug}/results/{area_a.slug}/"
    before = " ".join(client.get(url).content.decode().split())
    assert "Why, in full" not in before  # nothing to say until explained
    explain_published_results()
    page = " ".join(client.get(url).content.decode().split())
    assert "Place 1 by votes; £5,000.00 was left and it fitted." in page
    assert "Place 3 by votes; only £2,000.00 was left." in page
    assert f'href="{proposals["Lights"].get_absolute_url()}#outcome-title"' in page
