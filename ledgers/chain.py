"""The ledger's hash chain: the canonical form of an entry and its SHA-256 hash.

Pure Python, no Django, so anyone can check an export with this file alone (the README
has a short script doing the same).

Canonical form: a JSON object with exactly these keys, in this order, no whitespace
(separators "," and ":"), non-ASCII characters as themselves (UTF-8):

    round            integer   the round's id
    sequence         integer   1, 2, 3... within the round
    proposal         integer   the proposal's id
    kind             string    allocation | commitment | spend | release | reversal
    amount           string    positive, exactly two decimal places, e.g. "1250.00"
    currency         string    ISO 4217 code, e.g. "GBP"
    allocated_delta  string    signed, two decimal places, e.g. "-300.00" or "0.00"
    committed_delta  string    same
    spent_delta      string    same
    supplier         string    may be ""
    reference        string    may be ""
    document_date    string    "YYYY-MM-DD", or null
    description      string    may be ""
    reason           string    may be ""
    reverses         integer   the sequence number of the entry reversed, or null
    recorded_by      integer   the id of the person who recorded it, or null (the system)
    recorded_at      string    UTC, "YYYY-MM-DDTHH:MM:SS.ffffffZ"

entry_hash = lowercase hex SHA-256 of the UTF-8 bytes of previous_hash followed directly
by the canonical form. The first entry of a round has previous_hash = 64 zeros.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

GENESIS_HASH = "0" * 64

CANONICAL_FIELDS = (
    "round",
    "sequence",
    "proposal",
    "kind",
    "amount",
    "currency",
    "allocated_delta",
    "committed_delta",
    "spent_delta",
    "supplier",
    "reference",
    "document_date",
    "description",
    "reason",
    "reverses",
    "recorded_by",
    "recorded_at",
)
MONEY_FIELDS = ("amount", "allocated_delta", "committed_delta", "spent_delta")


def money_text(amount: Decimal) -> str:
    """Two decimal places, no exponent, "-" for negatives, "0.00" for any zero."""
    text = f"{amount.quantize(Decimal('0.01')):f}"
    return "0.00" if text in {"-0.00", "0.00"} else text


def date_text(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def recorded_time(moment: datetime) -> datetime:
    """``moment`` cut to whole milliseconds, as entries are recorded since December 2026.

    Django's JSON, JSONL and YAML serialisers keep only milliseconds, so an entry whose
    hashed time had microseconds would no longer verify after a ``dumpdata``/``loaddata``
    round trip. The canonical form keeps six digits, so older entries' hashes stand.
    """
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


# Said with a hash that does not match, when the stored time has whole milliseconds.
DUMPDATA_HINT = (
    "; its recorded time has whole milliseconds: if this database was loaded from "
    "`dumpdata` output, entries recorded before December 2026 lost their microseconds "
    "(dumpdata is not a backup: restore from pg_dump)"
)


def timestamp_text(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_json(fields: Mapping[str, Any]) -> str:
    """The canonical form of an entry whose values are already canonical text/ints."""
    missing = [name for name in CANONICAL_FIELDS if name not in fields]
    if missing:
        raise ValueError(f"canonical form needs {', '.join(missing)}")
    ordered = {name: fields[name] for name in CANONICAL_FIELDS}
    return json.dumps(ordered, ensure_ascii=False, separators=(",", ":"))


def entry_hash(previous_hash: str, canonical: str) -> str:
    return hashlib.sha256((previous_hash + canonical).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ChainBreak:
    round: int
    sequence: int
    problem: str


def verify_chain(rows: Iterable[Mapping[str, Any]]) -> ChainBreak | None:
    """Check rows of one or more rounds, ordered by round then sequence; each row has the
    canonical fields plus ``previous_hash`` and ``entry_hash``. Returns the first break."""
    last: dict[int, tuple[int, str]] = {}
    for row in rows:
        round_id, sequence = row["round"], row["sequence"]
        expected_sequence, expected_previous = last.get(round_id, (0, GENESIS_HASH))
        if sequence != expected_sequence + 1:
            return ChainBreak(round_id, sequence, f"expected entry {expected_sequence + 1} next")
        if row["previous_hash"] != expected_previous:
            return ChainBreak(round_id, sequence, "previous_hash does not match the entry before")
        recomputed = entry_hash(row["previous_hash"], canonical_json(row))
        if recomputed != row["entry_hash"]:
            hint = DUMPDATA_HINT if str(row["recorded_at"]).endswith("000Z") else ""
            return ChainBreak(round_id, sequence, f"entry_hash does not match its contents{hint}")
        last[round_id] = (sequence, row["entry_hash"])
    return None
