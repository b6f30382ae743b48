"""Time our counting rules against pabutools on every real election in shared/pabulib.

    .venv/bin/python bench/tally.py                       # pabutools calls capped at 60 s
    .venv/bin/python bench/tally.py --pabutools-timeout 0 # no cap: the full comparison
    .venv/bin/python bench/tally.py --skip-pabutools      # our rules only
    .venv/bin/python bench/tally.py --add1-only           # only the add1 comparison

For each ``.pb`` file and each rule (greedy, mes) it prints our time and pabutools' time
for the rule call alone (parsing excluded; pabutools gets ``profile.as_multiprofile()``
and the exact calls of shared/pabulib/README.md), their ratio, and whether the winners,
in selection order, are the same. Then it prints the wall-clock time of a whole
``manage.py pabulib_tally Poland_Warszawa_2021_Mokotow.pb --rule mes`` process, the
figure the issue's 9.3 s limit applies to.

Then add1 skipping increments against stepping one unit at a time (as pabutools does), on
every shared file and on generated elections, each as it is and with every cost and the
budget multiplied by ``--scale`` (10,000: a currency with a unit 10,000 times smaller):
the increments add1 went through, the MES runs each way, the reruns saved, both times, and
whether the outcomes are the same. A stepping call past ``--stepping-timeout`` seconds is
stopped and shown with the runs it had done.

pabutools runs in a child process so that a call can be stopped: by default a call that
takes more than 60 s is stopped and reported as a timeout, with the time recorded in
reference.json beside it. That only ever hits MES on Mokotow, which takes pabutools about
466 s and 7.5 GB of memory on a 2-core machine: run with ``--pabutools-timeout 0`` for the
full comparison only where that much memory is free.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

import random  # noqa: E402
from decimal import Decimal  # noqa: E402

from voting import rules  # noqa: E402
from voting.pabulib import read_pabulib  # noqa: E402

PABULIB_DIR = PROJECT_ROOT.parent / "shared" / "pabulib"
BIG_FILE = "Poland_Warszawa_2021_Mokotow.pb"
OURS: dict[str, Callable[..., rules.Outcome]] = {
    "greedy": rules.greedy,
    "mes": rules.method_of_equal_shares,
}


def pabutools_rule(path: str, rule: str, answer: Connection) -> None:
    """Child process: parse with pabutools, run the README's call, send (seconds, ids)."""
    from pabutools.election import Cost_Sat, parse_pabulib
    from pabutools.rules import (
        completion_by_rule_combination,
        greedy_utilitarian_welfare,
        method_of_equal_shares,
    )

    instance, profile = parse_pabulib(path)
    profile = profile.as_multiprofile()
    started = time.perf_counter()
    if rule == "greedy":
        outcome = greedy_utilitarian_welfare(instance, profile, sat_class=Cost_Sat)
    else:
        outcome = completion_by_rule_combination(
            instance,
            profile,
            [method_of_equal_shares, greedy_utilitarian_welfare],
            [{"sat_class": Cost_Sat, "voter_budget_increment": 1}, {"sat_class": Cost_Sat}],
        )
    answer.send((time.perf_counter() - started, [project.name for project in outcome]))


def run_pabutools(path: Path, rule: str, timeout: float | None) -> tuple[float, list[str]] | None:
    """(seconds, winners), or None when the call ran past ``timeout``."""
    receive, send = multiprocessing.Pipe(duplex=False)
    child = multiprocessing.Process(target=pabutools_rule, args=(str(path), rule, send))
    child.start()
    send.close()
    try:
        if not receive.poll(timeout):
            return None
        return receive.recv()
    finally:
        if child.is_alive():
            child.kill()
        child.join()


def whole_process_seconds(path: Path) -> float:
    env = {"DEBUG": "true", **os.environ}
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "manage.py", "pabulib_tally", str(path), "--rule", "mes"],
        cwd=PROJECT_ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--pabutools-timeout",
        type=float,
        default=60.0,
        help="stop a pabutools call after this many seconds; 0: no limit (default 60)",
    )
    parser.add_argument("--skip-pabutools", action="store_true", help="time our rules only")
    parser.add_argument("--add1-only", action="store_true", help="only skipping vs stepping")
    parser.add_argument("--scale", type=int, default=10_000, help="cost multiplier (10000)")
    parser.add_argument(
        "--stepping-timeout", type=float, default=60.0, help="stop stepping after (60) s"
    )
    parser.add_argument("--only", default="", help="add1 comparison: elections whose name has this")
    args = parser.parse_args()
    if args.add1_only:
        compare_add1(args.scale, args.stepping_timeout, args.only)
        return
    timeout = args.pabutools_timeout or None
    reference = json.loads((PABULIB_DIR / "reference.json").read_text(encoding="utf-8"))

    print(f"{'file':40} {'rule':6} {'ours s':>8} {'pabutools s':>12} {'ratio':>7}  same winners")
    for path in sorted(PABULIB_DIR.glob("*.pb")):
        election = read_pabulib(path)
        for rule, count in OURS.items():
            started = time.perf_counter()
            outcome = count(election.rule_projects(), election.ballots(), election.budget)
            ours = time.perf_counter() - started
            theirs_text, ratio, same = "-", "-", "-"
            if not args.skip_pabutools:
                result = run_pabutools(path, rule, timeout)
                if result is None:
                    # Stopped: compare with the winners pabutools recorded in reference.json.
                    recorded = reference.get(path.name, {}).get(rule, {})
                    expected = recorded.get("selection_order") or recorded.get("winners")
                    ours_winners = list(outcome.winners)
                    if "selection_order" not in recorded:
                        ours_winners = sorted(ours_winners)
                    theirs_text = f">{timeout:.0f}"
                    same = (
                        f"{'yes' if ours_winners == expected else 'NO'} (vs reference.json; "
                        f"pabutools took {recorded.get('pabutools_seconds')} s there)"
                    )
                else:
                    theirs, winners = result
                    theirs_text, ratio = f"{theirs:.3f}", f"{theirs / ours:.1f}x"
                    same = "yes" if winners == list(outcome.winners) else "NO"
            print(f"{path.name:40} {rule:6} {ours:8.3f} {theirs_text:>12} {ratio:>7}  {same}")

    big = PABULIB_DIR / BIG_FILE
    print(
        f"\nwhole process, manage.py pabulib_tally {BIG_FILE} --rule mes: "
        f"{whole_process_seconds(big):.2f} s (limit 9.3 s)"
    )
    print()
    compare_add1(args.scale, args.stepping_timeout, args.only)


Election = tuple[list[rules.Project], list[frozenset[str]], Decimal]


class _OutOfTime(Exception):
    pass


def add1_runs(
    election: Election, *, jump: bool, timeout: float
) -> tuple[int, int, float, list[int]]:
    """(increment kept, MES runs, seconds, winners) of add1; runs stop at ``timeout``."""
    instance = rules._Instance(*election)
    instance.jump = jump
    original = rules._MesEngine.run
    runs = 0
    started = time.perf_counter()

    def counted(engine: rules._MesEngine, start: int, **options: object) -> list[int]:
        nonlocal runs
        if time.perf_counter() - started > timeout:
            raise _OutOfTime(runs)
        runs += 1
        return original(engine, start, **options)  # type: ignore[arg-type]

    rules._MesEngine.run = counted  # type: ignore[method-assign]
    try:
        winners, increment = instance.mes_add1_kept()
    finally:
        rules._MesEngine.run = original  # type: ignore[method-assign]
    return increment, runs, time.perf_counter() - started, winners


def generated(seed: int, projects: int, voters: int) -> Election:
    """A city-like election: costs from 10,000 to 500,000, a budget of 30% of their sum,
    3 to 8 approvals per ballot drawn by popularity."""
    rng = random.Random(seed)  # noqa: S311 (a reproducible test election, no secret)
    ids = [str(i) for i in range(1, projects + 1)]
    costs = [rng.randrange(10_000, 500_001, 100) for _ in ids]
    popularity = [rng.random() ** 2 for _ in ids]
    ballots = [
        frozenset(rng.choices(ids, weights=popularity, k=rng.randint(3, 8))) for _ in range(voters)
    ]
    budget = Decimal(sum(costs) * 3 // 10)
    return [rules.Project(i, Decimal(c)) for i, c in zip(ids, costs, strict=True)], ballots, budget


def scaled(election: Election, factor: int) -> Election:
    projects, ballots, budget = election
    return [rules.Project(p.id, p.cost * factor) for p in projects], ballots, budget * factor


def compare_add1(scale: int, timeout: float, only: str = "") -> None:
    elections: list[tuple[str, Election]] = []
    for path in sorted(PABULIB_DIR.glob("*.pb")):
        election = read_pabulib(path)
        elections.append(
            (path.stem, (election.rule_projects(), list(election.ballots()), election.budget))
        )
    for seed, (projects, voters) in enumerate([(30, 2_000), (60, 10_000)], start=1):
        elections.append((f"generated {projects} x {voters}", generated(seed, projects, voters)))
    print(
        f"{'add1 on':40} {'scale':>6} {'increments':>11} {'runs':>6} {'saved':>11} "
        f"{'skipping s':>10} {'stepping s':>11}  same"
    )
    for name, election in elections:
        if only not in name:
            continue
        for factor in (1, scale):
            instance = scaled(election, factor)
            increment, runs, seconds, winners = add1_runs(instance, jump=True, timeout=float("inf"))
            try:
                step_increment, _, step_seconds, step_winners = add1_runs(
                    instance, jump=False, timeout=timeout
                )
                stepping = f"{step_seconds:11.2f}"
                same = "yes" if (step_increment, step_winners) == (increment, winners) else "NO"
            except _OutOfTime as stopped:
                stepping = f">{timeout:.0f} ({stopped.args[0]} runs)"
                same = "-"
            print(
                f"{name[:40]:40} {factor:>6} {increment + 1:>11,} {runs:>6} "
                f"{increment + 1 - runs:>11,} {seconds:10.2f} {stepping:>11}  {same}"
            )


if __name__ == "__main__":
    main()
