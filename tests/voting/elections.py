"""Random small elections for the property tests of the counting rules, their
explanations and their fairness figures, and the same election as pabutools takes it."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from hypothesis import strategies as st
from pabutools.election import ApprovalBallot, ApprovalProfile, Instance
from pabutools.election import Project as PabuProject

from voting import rules

# Ids chosen so that string order and number order disagree ("10" < "9"), and case counts.
IDS = ["1", "2", "9", "10", "11", "a", "B", "b", "x_1"]

Election = tuple[list[rules.Project], list[frozenset[str]], Decimal]


@st.composite
def elections(
    draw: st.DrawFn, *, max_projects: int = 8, free_projects: bool = True, min_ballots: int = 0
) -> Election:
    ids = draw(st.lists(st.sampled_from(IDS), min_size=1, max_size=max_projects, unique=True))
    # Whole amounts make exact ties common; tenths exercise decimal money.
    amount = st.one_of(
        st.integers(0 if free_projects else 1, 40).map(Decimal),
        st.integers(1, 400).map(lambda n: Decimal(n) / 10),
    )
    projects = [rules.Project(project_id, draw(amount)) for project_id in ids]
    # A few shared ballot shapes make identical ballots (grouping) and ties likely.
    shapes = draw(st.lists(st.frozensets(st.sampled_from(ids)), min_size=1, max_size=4))
    ballot = st.one_of(st.sampled_from(shapes), st.frozensets(st.sampled_from(ids)))
    ballots = draw(st.lists(ballot, min_size=min_ballots, max_size=12))
    budget = draw(
        st.one_of(
            st.integers(0, 90).map(Decimal), st.integers(0, 900).map(lambda n: Decimal(n) / 10)
        )
    )
    return projects, ballots, budget


def pabutools_election(
    projects: list[rules.Project], ballots: list[frozenset[str]], budget: Decimal
) -> tuple[Instance, ApprovalProfile, dict[str, PabuProject]]:
    """The election as a pabutools instance and profile, and its projects by id."""
    instance = Instance(budget_limit=Fraction(budget))
    by_id = {p.id: PabuProject(p.id, Fraction(p.cost)) for p in projects}
    for project in by_id.values():
        instance.add(project)
    profile = ApprovalProfile(
        [ApprovalBallot([by_id[i] for i in sorted(b)]) for b in ballots], instance=instance
    )
    return instance, profile, by_id
