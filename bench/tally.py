"""Time our counting rules against pabutools on every real election in shared/pabulib.

    .venv/bin/python bench/tally.py                       # pabutools calls capped at 60 s
    .venv/bin/python bench/tally.py --pabutools-timeout 0 # no cap: the full comparison
    .venv/bin/python bench/tally.py --skip-pabutools      # our rules only

For each ``.pb`` file and each rule (greedy, mes) it prints our time and pabutools' time
for the rule call alone (parsing excluded; pabutools gets ``profile.as_multiprofile()``
and the exact calls of shared/pabulib/README.md), their ratio, and whether the winners,
in selection order, are the same. Then it prints the wall-clock time of a whole
``manage.py pabulib_tally Poland_Warszawa_2021_Mokotow.pb --rule mes`` process, the
figure the issue's 9.3 s limit applies to.

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
    args = parser.parse_args()
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


if __name__ == "__main__":
    main()
