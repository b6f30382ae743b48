"""Read and write participatory budgeting elections in the Pabulib ``.pb`` format.

The format (https://pabulib.org/format): UTF-8 text, possibly starting with a byte order
mark, in three sections ``META``, ``PROJECTS`` and ``VOTES``. Each section is a title line
and then a ``;``-separated header line; fields use CSV quoting (``"a;b"``, ``""``). META
rows are ``key;value``; PROJECTS needs the columns ``project_id`` and ``cost``; VOTES
needs ``voter_id`` and ``vote`` (comma-separated project ids). Amounts may be decimals
(``60000.0``); a decimal comma is read as a point, as pabutools does.

Pure Python, no Django: the ``pabulib_tally`` command and the exporter build on it.
Parsing streams the file row by row (real files have up to ~90,000 voters). A malformed
file raises ``PabulibError`` with a one-line message that starts with the line number.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TextIO

from voting import rules

__all__ = [
    "PabulibError",
    "PabulibFile",
    "PabulibProject",
    "parse_pabulib",
    "read_pabulib",
    "write_pabulib",
]

SECTIONS = ("meta", "projects", "votes")
# Vote types whose VOTES rows are plain approval sets.
APPROVAL_VOTE_TYPES = ("approval", "choose-1")


class PabulibError(ValueError):
    """A malformed Pabulib file; the message is one line and names the line number."""

    def __init__(self, line: int, message: str) -> None:
        self.line = line
        super().__init__(f"line {line}: {message}")


@dataclass(frozen=True, slots=True)
class PabulibProject:
    id: str
    name: str
    cost: Decimal
    # Every other column of the PROJECTS section, as written (e.g. "votes", "category").
    extra: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PabulibFile:
    meta: Mapping[str, str]
    projects: Sequence[PabulibProject]
    votes: Sequence[tuple[str, frozenset[str]]]  # (voter id, approved project ids)

    @property
    def budget(self) -> Decimal:
        return _amount(self.meta["budget"])

    def rule_projects(self) -> list[rules.Project]:
        """The projects as the counting rules take them."""
        return [rules.Project(project.id, project.cost) for project in self.projects]

    def ballots(self) -> list[frozenset[str]]:
        return [approved for _, approved in self.votes]


def read_pabulib(path: str | Path) -> PabulibFile:
    """Parse the ``.pb`` file at ``path``."""
    with open(path, encoding="utf-8-sig", newline="") as stream:
        return parse_pabulib(stream)


def parse_pabulib(stream: Iterable[str]) -> PabulibFile:
    """Parse Pabulib text from an iterable of lines (an open file, ``str.splitlines(True)``).

    A leading byte order mark is skipped. Raises ``PabulibError`` naming the line.
    """
    reader = csv.reader(_without_bom(stream), delimiter=";")
    meta: dict[str, str] = {}
    projects: list[PabulibProject] = []
    project_ids: set[str] = set()
    votes: list[tuple[str, frozenset[str]]] = []
    voter_ids: set[str] = set()
    section = ""
    seen: dict[str, int] = {}
    header: list[str] = []
    columns: dict[str, int] = {}
    line = 0
    try:
        for row in reader:
            line = reader.line_num
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            title = row[0].strip().lower()
            if len(row) == 1 and title in SECTIONS:
                section = _open_section(title, seen, line, meta)
                header = _header(reader)
                line = reader.line_num
                columns = _columns(section, header, line)
                continue
            if not section:
                raise PabulibError(line, "expected the META section title")
            if len(row) != len(header):
                raise PabulibError(
                    line, f"{len(row)} fields where the {section.upper()} header has {len(header)}"
                )
            if section == "meta":
                key, value = row[0].strip(), row[1].strip()
                if key in meta:
                    raise PabulibError(line, f"META key {key!r} appears twice")
                meta[key] = value
            elif section == "projects":
                project = _project(row, header, columns, line)
                if project.id in project_ids:
                    raise PabulibError(line, f"duplicate project id {project.id!r}")
                project_ids.add(project.id)
                projects.append(project)
            else:
                voter_id = row[columns["voter_id"]].strip()
                if not voter_id:
                    raise PabulibError(line, "empty voter_id")
                if voter_id in voter_ids:
                    raise PabulibError(line, f"duplicate voter id {voter_id!r}")
                voter_ids.add(voter_id)
                approved = frozenset(
                    part for part in map(str.strip, row[columns["vote"]].split(",")) if part
                )
                if not approved <= project_ids:
                    unknown = sorted(approved - project_ids)[0]
                    raise PabulibError(
                        line, f"voter {voter_id!r} approves unknown project {unknown!r}"
                    )
                votes.append((voter_id, approved))
    except csv.Error as error:
        raise PabulibError(reader.line_num, f"malformed CSV: {error}") from None
    except UnicodeDecodeError:
        raise PabulibError(line + 1, "not valid UTF-8") from None
    for title in SECTIONS:
        if title not in seen:
            raise PabulibError(max(line, 1), f"the file has no {title.upper()} section")
    return PabulibFile(meta=meta, projects=projects, votes=votes)


def write_pabulib(data: PabulibFile, stream: TextIO) -> None:
    """Write ``data`` as a ``.pb`` file that both ``parse_pabulib`` and pabutools'
    ``parse_pabulib`` read back.

    META is written as given, with ``budget`` required, ``vote_type`` defaulting to
    ``approval`` and ``num_projects``/``num_votes`` filled in. Voter ids are written as
    given: an export should pass random ones, and no timestamps. Fields must not contain
    line breaks (pabutools reads the file line by line).
    """
    if "budget" not in data.meta:
        raise ValueError("META needs a budget")
    meta = {
        "vote_type": "approval",
        **data.meta,
        "num_projects": str(len(data.projects)),
        "num_votes": str(len(data.votes)),
    }
    extra_columns: list[str] = []
    for project in data.projects:
        extra_columns.extend(key for key in project.extra if key not in extra_columns)
    writer = csv.writer(stream, delimiter=";", lineterminator="\n")
    rows: list[list[str]] = [["META"], ["key", "value"]]
    rows.extend([key, value] for key, value in meta.items())
    rows += [["PROJECTS"], ["project_id", "cost", "name", *extra_columns]]
    for project in data.projects:
        rows.append(
            [
                project.id,
                _format_amount(project.cost),
                project.name,
                *(project.extra.get(key, "") for key in extra_columns),
            ]
        )
    rows += [["VOTES"], ["voter_id", "vote"]]
    rows.extend([voter_id, ",".join(sorted(approved))] for voter_id, approved in data.votes)
    for row in rows:
        for value in row:
            if "\n" in value or "\r" in value:
                raise ValueError(f"line break in a field: {value!r}")
    writer.writerows(rows)


# --- Helpers ----------------------------------------------------------------------------


def _without_bom(stream: Iterable[str]) -> Iterator[str]:
    lines = iter(stream)
    for first in lines:
        yield first.removeprefix("\ufeff")
        break
    yield from lines


def _open_section(title: str, seen: dict[str, int], line: int, meta: dict[str, str]) -> str:
    if title in seen:
        raise PabulibError(line, f"second {title.upper()} section (first at line {seen[title]})")
    expected = SECTIONS[len(seen)]
    if title != expected:
        raise PabulibError(line, f"{title.upper()} section where {expected.upper()} was expected")
    seen[title] = line
    if title == "projects":
        # META is complete: check what the rest of the file depends on.
        if "budget" not in meta:
            raise PabulibError(line, "META has no budget")
        try:
            budget = _amount(meta["budget"])
        except (InvalidOperation, ValueError):
            raise PabulibError(line, f"META budget {meta['budget']!r} is not a number") from None
        if budget < 0:
            raise PabulibError(line, f"META budget {meta['budget']!r} is negative")
        vote_type = meta.get("vote_type", "approval").lower()
        if vote_type not in APPROVAL_VOTE_TYPES:
            raise PabulibError(line, f"vote_type {vote_type!r} is not supported (approval only)")
    return title


def _header(reader: Iterator[list[str]]) -> list[str]:
    for row in reader:
        if row and (len(row) > 1 or row[0].strip()):
            return [cell.strip() for cell in row]
    return []


def _columns(section: str, header: list[str], line: int) -> dict[str, int]:
    required = {
        "meta": ("key", "value"),
        "projects": ("project_id", "cost"),
        "votes": ("voter_id", "vote"),
    }
    columns = {name: i for i, name in enumerate(header)}
    if section == "meta":
        if len(header) != 2:
            raise PabulibError(line, "the META header must be key;value")
        return columns
    missing = [name for name in required[section] if name not in columns]
    if missing:
        raise PabulibError(line, f"the {section.upper()} header lacks {', '.join(missing)}")
    return columns


def _project(
    row: list[str], header: list[str], columns: dict[str, int], line: int
) -> PabulibProject:
    project_id = row[columns["project_id"]].strip()
    if not project_id:
        raise PabulibError(line, "empty project_id")
    text = row[columns["cost"]].strip()
    try:
        cost = _amount(text)
    except (InvalidOperation, ValueError):
        raise PabulibError(
            line, f"cost {text!r} of project {project_id!r} is not a number"
        ) from None
    if cost <= 0:
        raise PabulibError(line, f"cost {text!r} of project {project_id!r} is not positive")
    name = row[columns["name"]].strip() if "name" in columns else ""
    extra = {
        key: value
        for key, value in zip(header, row, strict=True)
        if key not in ("project_id", "cost", "name")
    }
    return PabulibProject(id=project_id, name=name, cost=cost, extra=extra)


def _amount(text: str) -> Decimal:
    value = Decimal(text.strip().replace(",", "."))
    if not value.is_finite():
        raise ValueError(text)
    return value


def _format_amount(value: Decimal) -> str:
    """Plain notation (no exponent), which pabutools' gmpy2 parser requires."""
    return format(value, "f")
