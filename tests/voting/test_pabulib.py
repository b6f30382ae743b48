"""The Pabulib parser and writer: BOM, CSV quoting, decimal money, one-line errors that
name the line, and a round trip that pabutools reads too."""

from __future__ import annotations

import io
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from pabutools.election import parse_pabulib as pabutools_parse

from voting.pabulib import (
    PabulibError,
    PabulibFile,
    PabulibProject,
    parse_pabulib,
    read_pabulib,
    write_pabulib,
)

VALID = '''META
key;value
description;"Budget; with a semicolon"
num_projects;3
num_votes;3
budget;1000.50
vote_type;approval
rule;greedy
PROJECTS
project_id;cost;name;category
p1;500.0;"Park; benches and ""shade""";green
p2;300;Library;
p3;200,25;"";culture
VOTES
voter_id;vote
v1;p1,p2
v2;p2, p3
v3;
'''


def parse_text(text: str) -> PabulibFile:
    return parse_pabulib(io.StringIO(text, newline=""))


def test_parses_sections_quoting_and_decimal_money() -> None:
    election = parse_text(VALID)

    assert election.meta["description"] == "Budget; with a semicolon"
    assert election.budget == Decimal("1000.50")
    assert election.projects[0] == PabulibProject(
        id="p1",
        name='Park; benches and "shade"',
        cost=Decimal("500.0"),
        extra={"category": "green"},
    )
    assert election.projects[2].cost == Decimal("200.25")  # decimal comma, as pabutools reads it
    assert election.votes == [
        ("v1", frozenset({"p1", "p2"})),
        ("v2", frozenset({"p2", "p3"})),
        ("v3", frozenset()),
    ]


def test_a_byte_order_mark_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "bom.pb"
    path.write_bytes("\ufeff".encode() + VALID.encode())

    assert read_pabulib(path) == parse_text(VALID)


def test_blank_lines_are_ignored() -> None:
    assert parse_text(VALID.replace("PROJECTS\n", "\nPROJECTS\n\n")) == parse_text(VALID)


@pytest.mark.parametrize(
    ("broken", "line", "message"),
    [
        (VALID.replace("v2;p2, p3", "v2;p2,p9"), 17, "voter 'v2' approves unknown project 'p9'"),
        (VALID.split("VOTES")[0], 13, "the file has no VOTES section"),
        (VALID.replace("META\n", ""), 1, "expected the META section title"),
        (VALID.replace("p2;300;Library;", "p1;300;Library;"), 12, "duplicate project id 'p1'"),
        (VALID.replace("v3;", "v1;"), 18, "duplicate voter id 'v1'"),
        (
            VALID.replace("p2;300", "p2;three hundred"),
            12,
            "cost 'three hundred' of project 'p2' is not a number",
        ),
        (VALID.replace("p2;300", "p2;0"), 12, "cost '0' of project 'p2' is not positive"),
        (VALID.replace("p2;300", "p2;-5"), 12, "is not positive"),
        (VALID.replace("budget;1000.50\n", ""), 8, "META has no budget"),
        (VALID.replace("budget;1000.50", "budget;lots"), 9, "META budget 'lots' is not a number"),
        (
            VALID.replace("project_id;cost;name", "project_id;price;name"),
            10,
            "the PROJECTS header lacks cost",
        ),
        (VALID.replace("voter_id;vote", "voter_id;ballot"), 15, "the VOTES header lacks vote"),
        (
            VALID.replace("p2;300;Library;", "p2;300;Library"),
            12,
            "3 fields where the PROJECTS header has 4",
        ),
        (
            VALID.replace("vote_type;approval", "vote_type;ordinal"),
            9,
            "vote_type 'ordinal' is not supported",
        ),
        (VALID + "VOTES\nvoter_id;vote\n", 19, "second VOTES section (first at line 14)"),
    ],
)
def test_malformed_files_name_the_line(broken: str, line: int, message: str) -> None:
    with pytest.raises(PabulibError) as raised:
        parse_text(broken)

    text = str(raised.value)
    assert "\n" not in text
    assert text.startswith(f"line {line}: ")
    assert message in text


def test_invalid_utf8_is_a_pabulib_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.pb"
    path.write_bytes(VALID.replace("Library", "Bibliothèque").encode("latin-1"))

    with pytest.raises(PabulibError, match="not valid UTF-8"):
        read_pabulib(path)


def election_to_write() -> PabulibFile:
    return PabulibFile(
        meta={
            "description": "Round; export",
            "country": "UK",
            "budget": "1000.50",
            "currency": "GBP",
        },
        projects=[
            PabulibProject("11", 'Trees; "lots"', Decimal("400.25"), {"category": "green"}),
            PabulibProject("2", "Bins", Decimal("1E+2"), {}),
            PabulibProject("x", "", Decimal("0.75"), {"category": ""}),
        ],
        votes=[
            ("7f3a", frozenset({"11", "2"})),
            ("09bc", frozenset()),
            ("c1d2", frozenset({"x"})),
        ],
    )


def test_round_trip_through_our_parser() -> None:
    original = election_to_write()
    out = io.StringIO(newline="")
    write_pabulib(original, out)

    again = parse_text(out.getvalue())

    assert again.projects == [
        PabulibProject(p.id, p.name, p.cost, {"category": p.extra.get("category", "")})
        for p in original.projects
    ]
    assert again.votes == original.votes
    assert again.budget == original.budget
    assert {key: again.meta[key] for key in original.meta} == dict(original.meta)
    assert again.meta["vote_type"] == "approval"
    assert (again.meta["num_projects"], again.meta["num_votes"]) == ("3", "3")


def test_pabutools_reads_what_we_write(tmp_path: Path) -> None:
    original = election_to_write()
    path = tmp_path / "export.pb"
    with open(path, "w", encoding="utf-8", newline="") as stream:
        write_pabulib(original, stream)

    instance, profile = pabutools_parse(str(path))

    assert instance.budget_limit == Fraction("1000.50")
    assert {(p.name, Fraction(p.cost)) for p in instance} == {
        (p.id, Fraction(p.cost)) for p in original.projects
    }
    assert sorted(sorted(p.name for p in ballot) for ballot in profile) == sorted(
        sorted(approved) for _, approved in original.votes
    )


def test_writer_refuses_line_breaks_and_a_missing_budget() -> None:
    broken = election_to_write()
    with pytest.raises(ValueError, match="line break"):
        write_pabulib(
            PabulibFile(broken.meta, [PabulibProject("a", "two\nlines", Decimal(1))], []),
            io.StringIO(),
        )
    with pytest.raises(ValueError, match="budget"):
        write_pabulib(PabulibFile({}, broken.projects, broken.votes), io.StringIO())
