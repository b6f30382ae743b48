"""import_pabulib and export_pabulib: historical elections in, anonymised files out, and
the round trip gives back the winners the platform stored."""

from __future__ import annotations

import io
import json
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count
from django.utils import timezone

from proposals.models import BudgetRound, Proposal, ProposalStatus
from proposals.phases import Phase
from tests.voting.conftest import require_pabulib_dir
from voting.models import Ballot, BallotChannel, BallotChoice
from voting.pabulib import parse_pabulib, read_pabulib
from voting.services.results import area_close_count_publish

SMALL = """\ufeffMETA
key;value
description;"Small; made-up election"
country;Nowhere
budget;100.0
vote_type;approval
currency;EUR
rule;greedy
PROJECTS
project_id;cost;name
1;60.0;"Park; benches"
2;50;Library
10;40;Trees
VOTES
voter_id;vote
v1;1,2
v2;1
v3;2,10
v4;10
v5;1,10
"""


@pytest.fixture
def small_file(tmp_path) -> Path:
    path = tmp_path / "Nowhere_2026.pb"
    path.write_text(SMALL, encoding="utf-8")
    return path


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_import_creates_a_past_round_with_projects_and_anonymous_ballots(db, small_file):
    round_id = int(run("import_pabulib", str(small_file), "--rule", "greedy").strip())

    budget_round = BudgetRound.objects.get(pk=round_id)
    assert budget_round.is_imported
    assert budget_round.counting_rule == "greedy"
    assert budget_round.phase_at(timezone.now()) == Phase.RESULTS
    assert (budget_round.currency, budget_round.total_budget) == ("EUR", Decimal("100.00"))
    round_area = budget_round.round_areas.get()
    proposals = {p.external_id: p for p in Proposal.objects.filter(round_area=round_area)}
    assert {k: (p.title, p.official_cost, p.status) for k, p in proposals.items()} == {
        "1": ("Park; benches", Decimal("60.00"), ProposalStatus.FEASIBLE),
        "2": ("Library", Decimal("50.00"), ProposalStatus.FEASIBLE),
        "10": ("Trees", Decimal("40.00"), ProposalStatus.FEASIBLE),
    }
    ballots = Ballot.objects.filter(round_area=round_area)
    assert ballots.count() == 5
    assert set(ballots.values_list("channel", flat=True)) == {BallotChannel.IMPORTED}
    assert not ballots.filter(voter__isnull=False).exists()
    recorded = Counter(
        frozenset(
            BallotChoice.objects.filter(ballot=b).values_list("proposal__external_id", flat=True)
        )
        for b in ballots
    )
    assert recorded == Counter(
        [frozenset(s) for s in ({"1", "2"}, {"1"}, {"2", "10"}, {"10"}, {"1", "10"})]
    )


def test_importing_the_same_file_twice_makes_a_second_round(db, small_file):
    first = int(run("import_pabulib", str(small_file)).strip())
    second = int(run("import_pabulib", str(small_file)).strip())
    assert first != second
    assert BudgetRound.objects.get(pk=second).counting_rule == "mes"  # the default rule
    assert Ballot.objects.count() == 10


def test_ballots_over_the_budget_are_kept_as_recorded(db, tmp_path):
    over = SMALL.replace("v5;1,10", "v5;1,2,10")  # 150 of a 100 budget
    path = tmp_path / "over.pb"
    path.write_text(over, encoding="utf-8")
    run("import_pabulib", str(path))
    sizes = sorted(
        BallotChoice.objects.values("ballot").annotate(n=Count("pk")).values_list("n", flat=True)
    )
    assert sizes == [1, 1, 2, 2, 3]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (SMALL.replace("v4;10", "v4;99"), "line 19"),
        (SMALL.replace("currency;EUR\n", "currency;XYZ\n"), "Currency 'XYZ' is not supported"),
        (SMALL.replace("budget;100.0", "budget;100.001"), "more than two decimal places"),
    ],
)
def test_a_bad_file_is_refused_and_creates_nothing(db, tmp_path, text, message):
    path = tmp_path / "bad.pb"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CommandError, match=message):
        run("import_pabulib", str(path))
    assert not BudgetRound.objects.exists()
    assert not Ballot.objects.exists()


@pytest.mark.parametrize("rule", ["greedy", "mes"])
def test_round_trip_tallying_the_export_gives_the_stored_winners(db, small_file, rule, tmp_path):
    round_id = int(run("import_pabulib", str(small_file), "--rule", rule).strip())
    round_area = BudgetRound.objects.get(pk=round_id).round_areas.get()
    stored = area_close_count_publish(round_area_id=round_area.pk, now=timezone.now())
    stored_winners = list(
        stored.lines.filter(funded=True)
        .order_by("selection_order")
        .values_list("proposal__external_id", flat=True)
    )

    exported = tmp_path / "export.pb"
    run("export_pabulib", str(round_id), "-o", str(exported))
    tally = json.loads(run("pabulib_tally", str(exported), "--rule", rule))

    assert tally["winners"] == stored_winners
    assert stored_winners  # the small election funds something under both rules


def test_export_is_anonymous_and_keeps_every_ballot(db, small_file):
    round_id = int(run("import_pabulib", str(small_file)).strip())
    text = run("export_pabulib", str(round_id))

    exported = parse_pabulib(io.StringIO(text))
    original = read_pabulib(small_file)
    assert Counter(v for _id, v in exported.votes) == Counter(v for _id, v in original.votes)
    assert not {voter for voter, _v in exported.votes} & {"v1", "v2", "v3", "v4", "v5"}
    assert "time" not in text.lower() and "date" not in text.lower()
    assert {p.id: p.cost for p in exported.projects} == {p.id: p.cost for p in original.projects}


def test_export_is_read_by_pabutools(db, small_file, tmp_path):
    from pabutools.election import parse_pabulib

    round_id = int(run("import_pabulib", str(small_file)).strip())
    exported = tmp_path / "export.pb"
    run("export_pabulib", str(round_id), "-o", str(exported))
    instance, profile = parse_pabulib(str(exported))
    assert len(instance) == 3
    assert profile.num_ballots() == 5


def test_export_of_an_unknown_round_says_so(db):
    with pytest.raises(CommandError, match="no round with id 999"):
        run("export_pabulib", "999")


def test_real_election_round_trip(db, tmp_path):
    folder = require_pabulib_dir()
    round_id = int(run("import_pabulib", str(folder / "Netherlands_Assen_2024.pb")).strip())
    round_area = BudgetRound.objects.get(pk=round_id).round_areas.get()
    stored = area_close_count_publish(round_area_id=round_area.pk, now=timezone.now())
    reference = json.loads((folder / "reference.json").read_text())["Netherlands_Assen_2024.pb"]
    winners = list(
        stored.lines.filter(funded=True)
        .order_by("selection_order")
        .values_list("proposal__external_id", flat=True)
    )
    assert winners == reference["mes"]["selection_order"]
    exported = tmp_path / "assen.pb"
    run("export_pabulib", str(round_id), "-o", str(exported))
    assert json.loads(run("pabulib_tally", str(exported), "--rule", "mes"))["winners"] == winners
