"""Every real election in shared/pabulib, both rules: the winners pabutools 1.2.3 chose
(``reference.json``), and the selection order where the reference records it."""

from __future__ import annotations

import json

import pytest

from tests.voting.conftest import PABULIB_DIR, require_pabulib_dir
from voting import rules
from voting.pabulib import read_pabulib

RULES = {"greedy": rules.greedy, "mes": rules.method_of_equal_shares}
SLOW = {("Poland_Warszawa_2021_Mokotow.pb", "mes")}


def _cases() -> list[object]:
    reference = PABULIB_DIR / "reference.json"
    if not reference.is_file():
        return [pytest.param(None, None, id="shared-pabulib-missing")]
    names = sorted(json.loads(reference.read_text(encoding="utf-8")))
    return [
        pytest.param(
            name,
            rule,
            id=f"{name}-{rule}",
            marks=[pytest.mark.slow] if (name, rule) in SLOW else [],
        )
        for name in names
        for rule in RULES
    ]


@pytest.mark.parametrize(("name", "rule"), _cases())
def test_rule_matches_pabutools_on_real_election(name: str | None, rule: str | None) -> None:
    folder = require_pabulib_dir()
    assert name is not None and rule is not None
    expected = json.loads((folder / "reference.json").read_text(encoding="utf-8"))[name][rule]
    election = read_pabulib(folder / name)

    outcome = RULES[rule](election.rule_projects(), election.ballots(), election.budget)

    assert sorted(outcome.winners) == expected["winners"]
    if "selection_order" in expected:
        assert list(outcome.winners) == expected["selection_order"]
    assert outcome.cost <= election.budget


def test_every_shared_election_has_a_reference() -> None:
    folder = require_pabulib_dir()
    reference = json.loads((folder / "reference.json").read_text(encoding="utf-8"))
    assert sorted(path.name for path in folder.glob("*.pb")) == sorted(reference)
