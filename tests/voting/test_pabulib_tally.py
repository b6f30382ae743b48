"""``manage.py pabulib_tally`` in real processes: stdout is exactly one JSON object; a
malformed file exits non-zero with one line on stderr naming the line, stdout empty."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.voting.conftest import PROJECT_ROOT, require_pabulib_dir

ELECTION = '''META
key;value
description;"Two areas; one budget"
budget;100.0
vote_type;approval
rule;greedy
min_project_score_threshold;50
PROJECTS
project_id;cost;name
A1;50;"Bikes; racks"
A2;50;"Bus ""shelter"""
B;40;Benches
Z;10;Nobody's idea
VOTES
voter_id;vote
1;A1,A2
2;A1,A2
3;A1,A2
4;A1,A2
5;A1,A2
6;A1,A2
7;B
8;B
9;B
10;B
'''


def tally(path: Path, rule: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", "pabulib_tally", str(path), "--rule", rule],
        cwd=PROJECT_ROOT,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def write(tmp_path: Path, text: str, *, bom: bool = False) -> Path:
    path = tmp_path / "election.pb"
    path.write_bytes(("\ufeff" if bom else "").encode() + text.encode())
    return path


@pytest.mark.parametrize(
    ("rule", "winners", "cost"),
    [("greedy", ["A1", "A2"], "100"), ("mes", ["A1", "B", "Z"], "100")],
)
def test_prints_exactly_one_json_object(
    tmp_path: Path, rule: str, winners: list[str], cost: str
) -> None:
    # Given a file with a BOM, quoted fields holding ';' and the file's own META rule
    # (greedy) and score threshold, which the command ignores
    path = write(tmp_path, ELECTION, bom=True)

    result = tally(path, rule)

    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith("\n") and result.stdout.count("\n") == 1
    assert json.loads(result.stdout) == {
        "rule": rule,
        "winners": winners,
        "cost": cost,
        "budget": "100",
    }


def test_real_election_if_present() -> None:
    folder = require_pabulib_dir()
    reference = json.loads((folder / "reference.json").read_text(encoding="utf-8"))

    result = tally(folder / "Poland_Swiecie_2023.pb", "mes")

    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    assert output["winners"] == reference["Poland_Swiecie_2023.pb"]["mes"]["selection_order"]
    assert (output["cost"], output["budget"]) == ("1040337", "1070000")


@pytest.mark.parametrize(
    ("broken", "expected"),
    [
        (ELECTION.replace("10;B", "10;B,C"), "line 25: voter '10' approves unknown project 'C'"),
        (ELECTION.split("VOTES")[0], "line 13: the file has no VOTES section"),
        (ELECTION.replace("B;40;Benches", "A1;40;Benches"), "line 12: duplicate project id 'A1'"),
        (ELECTION.replace("9;B", "8;B"), "line 24: duplicate voter id '8'"),
        (
            ELECTION.replace("B;40;", "B;forty;"),
            "line 12: cost 'forty' of project 'B' is not a number",
        ),
        (ELECTION.replace("budget;100.0\n", ""), "line 7: META has no budget"),
        (
            ELECTION.replace("project_id;cost;name", "project_id;name"),
            "line 9: the PROJECTS header lacks cost",
        ),
    ],
    ids=[
        "unknown-project",
        "missing-section",
        "duplicate-project",
        "duplicate-voter",
        "cost",
        "budget",
        "column",
    ],
)
def test_malformed_file_fails_with_one_line_naming_it(
    tmp_path: Path, broken: str, expected: str
) -> None:
    path = write(tmp_path, broken)

    result = tally(path, "mes")

    assert result.returncode != 0
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr == f"CommandError: {path}: {expected}\n"


def test_missing_file_fails_cleanly(tmp_path: Path) -> None:
    result = tally(tmp_path / "nope.pb", "greedy")

    assert result.returncode != 0
    assert result.stdout == ""
    assert result.stderr.strip().endswith("No such file or directory")
    assert result.stderr.count("\n") == 1
