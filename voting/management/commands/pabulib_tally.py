"""Count a Pabulib ``.pb`` election with one of our counting rules and print the result.

    python manage.py pabulib_tally Poland_Swiecie_2023.pb --rule mes

stdout gets exactly one JSON object and nothing else::

    {"rule": "mes", "winners": ["c12", "c10", ...], "cost": "1040337", "budget": "1070000"}

``winners`` are project ids in the order the rule selected them; ``cost`` (their total)
and ``budget`` are decimal strings in plain notation with no exponent and no trailing
fractional zeros ("1070000" for a file's 1070000.0, "12.5" for 12.50). The file's META
``rule`` and ``min_project_score_threshold`` are ignored: the rule is the one asked for.

A malformed file stops the command with a non-zero exit status and one line on stderr
naming the line of the file ("CommandError: line 42: ..."); stdout stays empty.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from voting import rules
from voting.pabulib import PabulibError, read_pabulib

RULES = {"greedy": rules.greedy, "mes": rules.method_of_equal_shares}


class Command(BaseCommand):
    help = "Count a Pabulib .pb election (approval ballots) with greedy or MES; prints JSON."
    # Counting a file needs neither the database nor the system checks.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="path of the .pb file")
        parser.add_argument("--rule", required=True, choices=sorted(RULES), help="counting rule")

    def handle(self, *args: Any, **options: Any) -> None:
        path, rule = options["file"], options["rule"]
        try:
            election = read_pabulib(path)
        except PabulibError as error:
            raise CommandError(f"{path}: {error}") from None
        except OSError as error:
            raise CommandError(f"{path}: {error.strerror}") from None
        budget = election.budget
        outcome = RULES[rule](election.rule_projects(), election.ballots(), budget)
        result = {
            "rule": rule,
            "winners": list(outcome.winners),
            "cost": money_text(outcome.cost),
            "budget": money_text(budget),
        }
        self.stdout.write(json.dumps(result, ensure_ascii=False))


def money_text(amount: Decimal) -> str:
    """Plain decimal notation, no exponent, no trailing fractional zeros."""
    text = format(amount, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text
