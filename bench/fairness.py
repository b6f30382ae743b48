"""Time what publishing adds for the fairness panel and the money-sources chart, on the
shared real elections, beside pabutools computing the same fairness figures.

    .venv/bin/python bench/fairness.py               # every shared file
    .venv/bin/python bench/fairness.py --no-pabutools

For each file: the fairness figures of the Equal Shares outcome, the other rule's count
and figures (greedy for an Equal Shares round; for a greedy round it is Equal Shares,
which takes as long as the count), each step's payers, and pabutools 1.2.3's
``percent_non_empty_handed``, ``avg_satisfaction``, ``gini_coefficient_of_satisfaction``
and ``satisfaction_histogram`` on the same outcome (Relative_Cost_Approx_Normaliser_Sat).
"""

from __future__ import annotations

import argparse
import sys
import time
from fractions import Fraction
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

from voting import explain, fairness  # noqa: E402
from voting.pabulib import read_pabulib  # noqa: E402

SHARED = PROJECT_ROOT.parent / "shared" / "pabulib"


def pabutools_seconds(path: Path, winners: tuple[str, ...], ours: fairness.Fairness) -> float:
    from pabutools.analysis.votersatisfaction import (
        avg_satisfaction,
        gini_coefficient_of_satisfaction,
        percent_non_empty_handed,
        satisfaction_histogram,
    )
    from pabutools.election import Relative_Cost_Approx_Normaliser_Sat, parse_pabulib

    instance, profile = parse_pabulib(str(path))
    by_name = {p.name: p for p in instance}
    chosen = [by_name[w] for w in winners]
    sat = Relative_Cost_Approx_Normaliser_Sat
    started = time.perf_counter()
    theirs = (
        percent_non_empty_handed(instance, profile, chosen),
        avg_satisfaction(instance, profile, chosen, sat),
        gini_coefficient_of_satisfaction(instance, profile, chosen, sat),
        satisfaction_histogram(instance, profile, chosen, sat, 1, num_bins=11),
    )
    seconds = time.perf_counter() - started
    exact = [Fraction(int(v.numerator), int(v.denominator)) for v in theirs[:3]]
    same = exact == [ours.non_empty_handed, ours.average_satisfaction, ours.gini] and theirs[3] == [
        count / ours.voters for count in ours.histogram
    ]
    if not same:
        raise SystemExit(f"{path.name}: the figures differ from pabutools'")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-pabutools", action="store_true")
    args = parser.parse_args()
    files = sorted(SHARED.glob("*.pb"))
    if not files:
        raise SystemExit(f"no .pb files in {SHARED}")
    print(
        f"{'file':42} {'ballots':>8} {'fairness':>9} {'greedy+fair':>12} "
        f"{'step payers':>12} {'pabutools':>10}"
    )
    for path in files:
        election = read_pabulib(path)
        projects, ballots, budget = election.rule_projects(), election.ballots(), election.budget
        mes = explain.mes_explanation(projects, ballots, budget)
        started = time.perf_counter()
        figures = fairness.outcome_fairness(projects, ballots, mes.winners, budget)
        fairness_seconds = time.perf_counter() - started
        started = time.perf_counter()
        fairness.other_rule_comparison("mes", projects, ballots, budget)
        other_seconds = time.perf_counter() - started
        started = time.perf_counter()
        explain.step_payers(mes, ballots)
        payers_seconds = time.perf_counter() - started
        theirs = (
            "-" if args.no_pabutools else f"{pabutools_seconds(path, mes.winners, figures):.2f} s"
        )
        print(
            f"{path.name:42} {len(ballots):>8} {fairness_seconds:>7.2f} s "
            f"{other_seconds:>10.2f} s {payers_seconds:>10.2f} s {theirs:>10}"
        )


if __name__ == "__main__":
    main()
