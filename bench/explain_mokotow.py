"""Time our Equal Shares explanation of a real election, and optionally record pabutools'
figures for it, for tests/voting/test_explain.py to compare with.

    .venv/bin/python bench/explain_mokotow.py               # our explanation of Mokotow, timed
    .venv/bin/python bench/explain_mokotow.py --pabutools   # also pabutools' figures (slow)
    .venv/bin/python bench/explain_mokotow.py --file ../shared/pabulib/Poland_Swiecie_2023.pb \\
        --pabutools --output tests/voting/explain_reference/Poland_Swiecie_2023.json

It prints how long the counting rule and our explanation take. With ``--pabutools`` it
then computes, with pabutools 1.2.3 alone, the kept add1 run's final budget, the outcome
(MES + add1, then greedy), ``calculate_project_loss`` on the kept run's details (its last,
winner-less iteration left out: pabutools fails on it) and ``calculate_effective_supports``
(one MES run per project, one voter per ballot), and writes them as JSON (fractions as
"n/d" strings) to ``--output`` (default bench/explain_mokotow_reference.json).

pabutools takes projects whose last known price per unit is equal in set order (their
names' hashes); the script pins that to id order, as our explanation takes them (see
voting/explain.py). On Mokotow, pabutools' MES takes minutes and gigabytes (the outcome,
the kept run and four effective supports took 862 s here); the effective supports rerun
it once per project (98), without grouping identical ballots: expect hours for all of
them, so the reference JSON is only written if you let it finish. With
``--supports-for ID,ID,...`` it computes the effective supports of those projects only
(each one more MES run, as ``calculate_effective_supports`` does per project), and the
JSON says which ones it holds:

    .venv/bin/python bench/explain_mokotow.py --pabutools --supports-for 12,40,77
"""

from __future__ import annotations

import argparse
import builtins
import json
import sys
import time
from collections.abc import Callable, Iterable
from fractions import Fraction
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

from voting import explain, rules  # noqa: E402
from voting.pabulib import read_pabulib  # noqa: E402

MOKOTOW = PROJECT_ROOT.parent / "shared" / "pabulib" / "Poland_Warszawa_2021_Mokotow.pb"
DEFAULT_OUTPUT = PROJECT_ROOT / "bench" / "explain_mokotow_reference.json"


def sorted_by_name_then(iterable: Iterable[Any], key: Callable[[Any], Any]) -> list[Any]:
    """Stands in for ``sorted`` in pabutools' MES module: projects with equal last prices
    by name (pabutools takes them in set order, which varies between processes)."""
    return builtins.sorted(builtins.sorted(iterable, key=lambda p: p.name), key=key)


def pabutools_reference(path: Path, supports_for: list[str] | None = None) -> dict[str, Any]:
    """pabutools' own figures for one .pb file (see the module docstring)."""
    from pabutools.election import parse_pabulib
    from pabutools.rules.mes import mes_rule

    mes_rule.sorted = sorted_by_name_then  # type: ignore[attr-defined]
    instance, profile = parse_pabulib(str(path))
    started = time.perf_counter()
    figures = pabutools_figures(instance, profile, supports_for)
    figures["file"] = path.name
    figures["pabutools_seconds"] = round(time.perf_counter() - started, 1)
    return figures


def pabutools_figures(
    instance: Any, profile: Any, supports_for: list[str] | None = None
) -> dict[str, Any]:
    """pabutools' figures for an instance and an approval profile with one ballot per
    voter (see the module docstring); the caller pins its project order. The effective
    supports of every project, or of those named in ``supports_for``."""
    from pabutools.analysis.mesanalytics import (
        calculate_effective_support,
        calculate_effective_supports,
        calculate_project_loss,
    )
    from pabutools.election import Cost_Sat, Instance
    from pabutools.rules import (
        completion_by_rule_combination,
        greedy_utilitarian_welfare,
        method_of_equal_shares,
    )

    # One call gives the outcome; a second, with analytics, the kept run's details.
    outcome = completion_by_rule_combination(
        instance,
        profile.as_multiprofile(),
        [method_of_equal_shares, greedy_utilitarian_welfare],
        [{"sat_class": Cost_Sat, "voter_budget_increment": 1}, {"sat_class": Cost_Sat}],
    )
    kept = method_of_equal_shares(
        instance,
        profile.as_multiprofile(),  # losses weigh each voter by its multiplicity
        sat_class=Cost_Sat,
        voter_budget_increment=1,
        analytics=True,
    )
    final_budget = kept.details.get_final_budget()
    iterations = kept.details.iterations
    if iterations and iterations[-1].selected_project is None:
        kept.details.iterations = iterations[:-1]
    losses = calculate_project_loss(kept.details)
    # Effective supports need one voter per ballot (pabutools ignores multiplicities in
    # them) and fail for projects MES does not consider: give it those it considers
    # (the others play no part in a single MES run).
    considered = Instance(
        [p for p in instance if p.cost > 0 and any(p in ballot for ballot in profile)],
        budget_limit=instance.budget_limit,
    )
    if supports_for is None:
        supports = calculate_effective_supports(
            considered,
            profile,
            outcome,
            mes_params={"sat_class": Cost_Sat},
            final_budget=final_budget,
        )
    else:
        # What calculate_effective_supports does for each project, for these only.
        considered.budget_limit = final_budget
        by_name = {p.name: p for p in considered}
        supports = {
            by_name[name]: calculate_effective_support(
                considered,
                profile,
                by_name[name],
                by_name[name] in outcome,
                {"sat_class": Cost_Sat},
            )
            for name in supports_for
        }
    return {
        "final_budget": str(Fraction(final_budget)),
        "winners": [p.name for p in outcome],
        "mes_winners": [p.name for p in kept],
        "losses": {
            loss.name: {
                "supporters_budget": str(Fraction(loss.supporters_budget)),
                "budget_lost": {
                    project.name: str(Fraction(amount))
                    for project, amount in loss.budget_lost.items()
                },
            }
            for loss in losses
        },
        "effective_supports": {project.name: int(value) for project, value in supports.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--file", type=Path, default=MOKOTOW, help="a Pabulib .pb file")
    parser.add_argument("--pabutools", action="store_true", help="record pabutools' figures")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument(
        "--supports-for",
        type=lambda text: [name.strip() for name in text.split(",") if name.strip()],
        default=None,
        help="comma-separated project ids: effective supports of these only (default all)",
    )
    args = parser.parse_args()

    election = read_pabulib(args.file)
    projects, ballots = election.rule_projects(), election.ballots()
    started = time.perf_counter()
    rules.method_of_equal_shares(projects, ballots, election.budget)
    rule_seconds = time.perf_counter() - started
    started = time.perf_counter()
    explanation = explain.mes_explanation(projects, ballots, election.budget)
    explain_seconds = time.perf_counter() - started
    print(
        f"{args.file.name}: rule {rule_seconds:.1f} s, explanation {explain_seconds:.1f} s "
        f"({len(explanation.steps)} Equal Shares steps, {len(explanation.completion)} greedy)"
    )
    if args.pabutools:
        reference = pabutools_reference(args.file, args.supports_for)
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(reference, indent=1, sort_keys=True) + "\n")
        print(f"pabutools took {reference['pabutools_seconds']} s; wrote {args.output}")


if __name__ == "__main__":
    main()
