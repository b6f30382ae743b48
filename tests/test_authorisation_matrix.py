"""The authorisation matrix: every URL pattern × every role × GET and POST.

The URL patterns come from the URLconf (``get_resolver().url_patterns``, walked through
every ``include``); each is instantiated with real objects from one small world
(``tests/matrix_world.py``, built once for the module and rolled back after each
request). Every cell checks the response and, unless the table says the role may change
something with that request, that the database is exactly as it was (every table's row
count and a hash of its rows; see ``matrix_world`` for the few columns left out).

How to add a URL
----------------
1. Add its name to ``EXPECTED`` with the outcome per role for GET and POST (the helpers
   ``public``, ``signed_in``, ``officer_only``... cover the usual cases). A URL the
   URLconf has and ``EXPECTED`` lacks fails its cell with a message saying so.
2. If its pattern takes arguments, say in ``KWARGS`` how to build them from the world
   (several variants are allowed, e.g. a draft and a submitted proposal).
3. If a POST creates or changes something, give plausible form data in ``POST_DATA``
   (it is sent by every role: the wrong ones must change nothing).

Outcomes: ``200``, ``302`` (a redirect elsewhere than a sign-in page), ``302-login``
(to the site's sign-in), ``302-admin`` (to the admin's sign-in), ``403``, ``404``,
``405``; ``a|b`` accepts either; a trailing `` writes`` allows the request to change the
database (otherwise any change fails the cell).

The admin is walked as one changelist and one change page per registered model, plus
its index and sign-in; its other pages (add, delete, history, password, autocomplete,
jsi18n...) are Django's own and listed in ``ADMIN_NOT_WALKED``.

The expectations state the rules as issue 10 intends them (e.g. nobody but its author
sees a never-submitted draft, officers included). The terminal summary at the end of the
run gives the matrix's size and how many cells had each outcome.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from allauth.account.models import EmailAddress, EmailConfirmationHMAC
from django.contrib import admin
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from proposals.forms import RoundForm
from proposals.models import CountingRule
from proposals.phases import Phase
from tests.matrix_world import (
    ROLES,
    World,
    database_fingerprint,
    fingerprint_changes,
    rolled_back,
    world_build,
    world_user,
)

METHODS = ("GET", "POST")
# Marked so that pytest-django creates the test database; each cell also runs in its own
# savepoint inside the module's world (see ``matrix``).
pytestmark = pytest.mark.django_db

# --- Outcome helpers -------------------------------------------------------------------


def roles(default: str, **overrides: str) -> dict[str, str]:
    table = dict.fromkeys(ROLES, default)
    unknown = set(overrides) - set(ROLES)
    assert not unknown, f"unknown roles {unknown}"
    table.update(overrides)
    return table


def page(get: dict[str, str], post: dict[str, str] | None = None) -> dict[str, dict[str, str]]:
    """GET and POST outcomes; POST behaves as GET when not given."""
    return {"GET": get, "POST": post if post is not None else get}


PUBLIC = roles("200")
SIGNED_IN = roles("200", anonymous="302-login")
OFFICER = roles("403", anonymous="302-login", officer="200", superuser="200")
AUDITOR = roles("403", anonymous="302-login", auditor="200", superuser="200")
# Pages of an officer form: GET shows it, a plausible POST saves and redirects.
OFFICER_SAVES = roles("403", anonymous="302-login", officer="302 writes", superuser="302 writes")
SAFE_ONLY = roles("405")  # @require_safe / @require_GET: POST refused whoever you are
ADMIN = roles("302-admin", superuser="200")
# Signed-in people are sent on from allauth's "signed out" pages.
ALLAUTH_ANON_ONLY = roles("302", anonymous="200")


# --- The table: URL name -> {"GET": {role: outcome}, "POST": {role: outcome}} -----------

EXPECTED: dict[str, dict[str, dict[str, str]]] = {
    # Public pages
    "home": page(PUBLIC),
    "healthz": page(PUBLIC),
    "proposals:round_list": page(PUBLIC),
    "proposals:round_detail": page(PUBLIC),
    "proposals:round_proposals": page(PUBLIC),
    "ledgers:round_money": page(PUBLIC),
    "voting:round_results": page(PUBLIC, SAFE_ONLY),
    "voting:area_results": page(PUBLIC, SAFE_ONLY),
    "voting:area_results_csv": page(PUBLIC, SAFE_ONLY),
    "voting:area_results_pabulib": page(PUBLIC, SAFE_ONLY),
    "voting:area_receipts": page(PUBLIC, SAFE_ONLY),
    # A resident's own pages
    "proposals:my_account": page(SIGNED_IN),
    "proposals:my_proposals": page(SIGNED_IN),
    "voting:my_ballots": page(SIGNED_IN),
    "voting:vote": page(SIGNED_IN),
    # The ballot of area A in the voting round: only resident_a may vote there; the others
    # are sent back to the round's voting page (or to sign in).
    "voting:ballot": page(
        roles("302", anonymous="302-login", resident_a="200"),
        roles("302", anonymous="302-login", resident_a="302 writes"),
    ),
    # resident_a's receipt: nobody else has a ballot there.
    "voting:vote_receipt": page(roles("404", anonymous="302-login", resident_a="200")),
    # Proposals. Submitting: verified residents, to their own area or the whole council.
    "proposals:proposal_new": page(
        roles("403", anonymous="302-login", resident_a="200", resident_b="200"),
        # POST_DATA proposes for area A: resident_b lives in B and must be refused.
        roles("403", anonymous="302-login", resident_a="302 writes", resident_b="200|403"),
    ),
    "proposals:proposal_detail[draft]": page(
        roles("404", resident_a="200"),
        # Nobody comments on a draft (not even its author: comments are for submitted ones)
        roles("404", resident_a="200|403"),
    ),
    "proposals:proposal_detail[submitted]": page(
        PUBLIC,
        roles(
            "403",
            resident_a="302 writes",
            resident_b="302 writes",
            officer="302 writes",
            superuser="302 writes",
        ),
    ),
    "proposals:proposal_edit[draft]": page(
        roles("403|404", anonymous="302-login", resident_a="200"),
        roles("403|404", anonymous="302-login", resident_a="302 writes"),
    ),
    "proposals:proposal_withdraw[submitted]": page(
        roles("403", anonymous="302-login", resident_a="200"),
        roles("403", anonymous="302-login", resident_a="302 writes"),
    ),
    "proposals:proposal_review[submitted]": page(OFFICER, OFFICER_SAVES),
    # A never-submitted draft is its author's alone: officers get 404 too.
    "proposals:proposal_review[draft]": page(
        roles("403", anonymous="302-login", officer="404", superuser="404")
    ),
    "proposals:comment_hide": page(OFFICER, OFFICER_SAVES),
    "proposals:comment_flag": page(
        roles("405", anonymous="302-login"),
        # resident_b wrote the comment: they cannot report it (a message, nothing saved).
        roles("302 writes", anonymous="302-login", resident_b="302"),
    ),
    # Officers
    "proposals:officer_dashboard": page(OFFICER),
    "proposals:officer_round_create": page(OFFICER, OFFICER_SAVES),
    # The published round: counting rule and currency are frozen, so the officer's POST
    # changing them is refused (a page with the reason, or 403) and changes nothing.
    "proposals:officer_round_edit": page(
        OFFICER, roles("403", anonymous="302-login", officer="200|403", superuser="200|403")
    ),
    "proposals:officer_areas": page(OFFICER, OFFICER_SAVES),
    "proposals:officer_area_edit": page(OFFICER, OFFICER_SAVES),
    "proposals:officer_residents": page(OFFICER),
    # During voting the move is recorded as pending (or refused with the reason).
    "proposals:officer_resident_area": page(
        OFFICER,
        roles(
            "403", anonymous="302-login", officer="200|302 writes", superuser="200|302 writes"
        ),
    ),
    "proposals:officer_flagged_comments": page(OFFICER),
    "proposals:officer_categories": page(OFFICER, OFFICER_SAVES),
    "voting:paper_voters": page(OFFICER),
    "voting:paper_ballot": page(OFFICER, OFFICER_SAVES),
    # Only the officer who recorded the paper ballot sees its receipt.
    "voting:paper_ballot_done": page(
        roles("403", anonymous="302-login", officer="200", superuser="404")
    ),
    "voting:walk_in": page(OFFICER, OFFICER_SAVES),
    "voting:turnout": page(OFFICER),
    "ledgers:officer_round": page(OFFICER),
    "ledgers:officer_proposal[funded]": page(OFFICER, OFFICER_SAVES),
    # Never-submitted drafts are not in the officer ledger either.
    "ledgers:officer_proposal[draft]": page(
        roles("403", anonymous="302-login", officer="404", superuser="404")
    ),
    "ledgers:officer_reverse": page(OFFICER, OFFICER_SAVES),
    # Auditors
    "proposals:audit_overview": page(AUDITOR),
    "ledgers:audit_entries": page(AUDITOR, SAFE_ONLY),
    # Each export is logged (a row) before its first byte is sent.
    "ledgers:audit_export": page(
        roles("403", anonymous="302-login", auditor="200 writes", superuser="200 writes"),
        SAFE_ONLY,
    ),
    # allauth
    "account_login": page(ALLAUTH_ANON_ONLY),
    "account_signup": page(ALLAUTH_ANON_ONLY),
    "account_logout": page(roles("200", anonymous="302"), roles("302")),
    "account_change_password": page(SIGNED_IN),
    "account_set_password": page(roles("302", anonymous="302-login")),
    "account_email": page(SIGNED_IN),
    "account_email_verification_sent": page(PUBLIC),
    "account_confirm_email": page(PUBLIC, roles("302 writes")),
    "account_inactive": page(PUBLIC),
    "account_reset_password": page(PUBLIC),
    "account_reset_password_done": page(PUBLIC),
    "account_reset_password_from_key": page(PUBLIC),
    "account_reset_password_from_key_done": page(PUBLIC),
    "account_reauthenticate": page(SIGNED_IN),
    "account_confirm_login_code": page(roles("302|404")),
    "account_request_reauthentication_code": page(roles("302-login|404", superuser="302|404")),
    "account_confirm_reauthentication_code": page(roles("302-login|404", superuser="302|404")),
    # The admin (changelists and change pages are added per registered model below)
    "admin:index": page(ADMIN),
    "admin:login": page(roles("200", superuser="302")),
}

# The admin: what every registered model's changelist and change page should answer.
ADMIN_MODEL_PAGES = page(ADMIN)
ADMIN_NOT_WALKED = re.compile(
    r"^admin:(.*_(add|delete|history)|autocomplete|jsi18n|view_on_site|logout"
    r"|password_change|password_change_done|app_list|auth_user_password_change"
    r"|None:.*)$"
)


def _admin_names() -> dict[str, Any]:
    """URL name -> the model whose first object its page shows (None: a changelist)."""
    names: dict[str, Any] = {}
    for model in admin.site._registry:
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        names[f"{prefix}_changelist"] = None
        names[f"{prefix}_change"] = model
    return names


ADMIN_NAMES = _admin_names()
for _name in ADMIN_NAMES:
    EXPECTED.setdefault(_name, ADMIN_MODEL_PAGES)


# --- How to build each URL from the world -----------------------------------------------

Kwargs = Callable[[World], dict[str, Any]]


def _in(phase: Phase) -> Kwargs:
    return lambda w: {"slug": w.round(phase).slug}


def _area(phase: Phase, area: str = "area_a") -> Kwargs:
    return lambda w: {"slug": w.round(phase).slug, "area_slug": getattr(w, area).slug}


def _confirm_key(w: World) -> str:
    address = EmailAddress.objects.get(user=w.unverified)
    return EmailConfirmationHMAC(address).key


# name -> {variant: kwargs}; the variant "" is the only one of a URL without variants.
KWARGS: dict[str, dict[str, Kwargs]] = {
    "proposals:round_detail": {"": _in(Phase.SUBMISSION)},
    "proposals:round_proposals": {"": _in(Phase.SUBMISSION)},
    "proposals:officer_round_edit": {"": _in(Phase.RESULTS)},
    "proposals:officer_area_edit": {"": lambda w: {"pk": w.area_b.pk}},
    "proposals:officer_resident_area": {
        "": lambda w: {"pk": w.resident_a.resident_profile.pk}
    },
    "proposals:officer_categories": {"": _in(Phase.SUBMISSION)},
    "proposals:proposal_new": {"": _in(Phase.SUBMISSION)},
    "proposals:proposal_detail": {
        "draft": lambda w: {"pk": w.draft.pk},
        "submitted": lambda w: {"pk": w.submitted.pk},
    },
    "proposals:proposal_edit": {"draft": lambda w: {"pk": w.draft.pk}},
    "proposals:proposal_withdraw": {"submitted": lambda w: {"pk": w.submitted.pk}},
    "proposals:proposal_review": {
        "submitted": lambda w: {"pk": w.under_review.pk},
        "draft": lambda w: {"pk": w.draft.pk},
    },
    "proposals:comment_hide": {"": lambda w: {"pk": w.comment.pk}},
    "proposals:comment_flag": {"": lambda w: {"pk": w.comment.pk}},
    "ledgers:round_money": {"": _in(Phase.RESULTS)},
    "ledgers:officer_round": {"": _in(Phase.RESULTS)},
    "ledgers:officer_proposal": {
        "funded": lambda w: {"pk": w.funded.pk},
        "draft": lambda w: {"pk": w.draft.pk},
    },
    "ledgers:officer_reverse": {"": lambda w: {"pk": w.spend_entry.pk}},
    "ledgers:audit_export": {"": lambda w: {"file_format": "csv"}},
    "voting:vote": {"": _in(Phase.VOTING)},
    "voting:ballot": {"": _area(Phase.VOTING)},
    "voting:vote_receipt": {"": _area(Phase.VOTING)},
    "voting:paper_voters": {"": _in(Phase.VOTING)},
    "voting:paper_ballot": {
        "": lambda w: {
            "slug": w.round(Phase.VOTING).slug,
            "profile_pk": w.paper_voter.pk,
            "area_slug": w.area_a.slug,
        }
    },
    "voting:paper_ballot_done": {
        "": lambda w: {"slug": w.round(Phase.VOTING).slug, "ballot_pk": w.paper_ballot.pk}
    },
    "voting:walk_in": {"": _in(Phase.VOTING)},
    "voting:turnout": {"": _in(Phase.VOTING)},
    "voting:round_results": {"": _in(Phase.RESULTS)},
    "voting:area_results": {"": _area(Phase.RESULTS)},
    "voting:area_results_csv": {"": _area(Phase.RESULTS)},
    "voting:area_results_pabulib": {"": _area(Phase.RESULTS)},
    "voting:area_receipts": {"": _area(Phase.RESULTS)},
    "account_confirm_email": {"": lambda w: {"key": _confirm_key(w)}},
    "account_reset_password_from_key": {"": lambda w: {"uidb36": "1", "key": "set-a-bad-key"}},
}
for _name, _model in ADMIN_NAMES.items():
    if _model is not None:
        KWARGS[_name] = {
            "": lambda w, model=_model: {
                "object_id": model._default_manager.order_by("pk").first().pk
            }
        }


# --- Plausible POST data (sent by every role) -------------------------------------------

LOCAL = "%Y-%m-%dT%H:%M"


def _round_edit_data(w: World) -> dict[str, Any]:
    """The published round's own values, but Equal Shares and euros: both frozen."""
    budget_round = w.round(Phase.RESULTS)
    data = {
        key: value.astimezone(timezone.get_current_timezone()).strftime(LOCAL)
        if hasattr(value, "astimezone")
        else ("" if value is None else value)
        for key, value in RoundForm.initial_for(budget_round).items()
    }
    data.update(counting_rule=CountingRule.MES, currency="EUR")
    return data


def _round_new_data(w: World) -> dict[str, Any]:
    start = timezone.localtime() + timedelta(days=10)
    days = [(start + timedelta(days=i)).strftime(LOCAL) for i in range(6)]
    return {
        "name": "Matrix round",
        "description": "Made by the matrix.",
        "currency": "GBP",
        "total_budget": "10000",
        "counting_rule": CountingRule.GREEDY,
        "ballot_type": "approval_budget",
        "max_choices": "",
        "submission_starts": days[0],
        "review_starts": days[1],
        "voting_starts": days[2],
        "voting_ends": days[3],
        "delivery_starts": days[4],
        "delivery_ends": days[5],
        f"area_{w.area_a.pk}": "5000",
    }


def _today() -> str:
    return timezone.localdate().isoformat()


POST_DATA: dict[str, Callable[[World], dict[str, Any]]] = {
    "voting:ballot": lambda w: {
        "proposals": [p.pk for p in w.voting_a.proposals.all()][:1],
        "action": "save",
    },
    "proposals:proposal_new": lambda w: {
        "title": "Matrix idea",
        "description": "More trees.",
        "round_area": w.round(Phase.SUBMISSION).round_areas.get(area=w.area_a).pk,
        "estimated_cost": "1200",
        "action": "submit",
    },
    "proposals:proposal_detail[draft]": lambda w: {"body": "A comment on a draft."},
    "proposals:proposal_detail[submitted]": lambda w: {"body": "A matrix comment."},
    "proposals:proposal_edit[draft]": lambda w: {
        "title": "Secret draft, renamed",
        "description": "Still secret.",
        "round_area": w.draft.round_area_id,
        "estimated_cost": "900",
        "action": "save",
    },
    "proposals:proposal_review[submitted]": lambda w: {
        "action": "review",
        "decision": "feasible",
        "official_cost": "1000",
        "reason": "",
    },
    "proposals:proposal_review[draft]": lambda w: {
        "action": "return",
        "message": "Peeking at a draft.",
    },
    "proposals:comment_hide": lambda w: {"reason": "Off topic."},
    "proposals:officer_round_create": _round_new_data,
    "proposals:officer_round_edit": _round_edit_data,
    "proposals:officer_areas": lambda w: {"name": "Area C", "population": "100"},
    "proposals:officer_area_edit": lambda w: {"name": "Area B renamed", "population": "7"},
    "proposals:officer_resident_area": lambda w: {"area": w.area_b.pk, "reason": "Moved."},
    "proposals:officer_categories": lambda w: {"name": "Play"},
    "voting:paper_ballot": lambda w: {"proposals": [p.pk for p in w.voting_a.proposals.all()][:1]},
    "voting:walk_in": lambda w: {
        "name": "Wendy Walkin",
        "area": w.area_a.pk,
        "date_of_birth": "1980-03-27",
    },
    "ledgers:officer_proposal[funded]": lambda w: {
        "form": "commitment",
        "commitment-amount": "100.00",
        "commitment-supplier": "Matrix Ltd",
        "commitment-reference": "PO-M",
        "commitment-document_date": _today(),
    },
    "ledgers:officer_proposal[draft]": lambda w: {
        "form": "delivery",
        "delivery-status": "in_progress",
        "delivery-happened_on": _today(),
        "delivery-note": "Peeking at a draft.",
    },
    "ledgers:officer_reverse": lambda w: {"reason": "Typed the wrong amount."},
}


# --- Walking the URLconf ----------------------------------------------------------------


def url_names() -> list[str]:
    """Every pattern's namespaced name (an unnamed pattern is shown by its route)."""
    found: list[str] = []

    def walk(patterns: list[Any], namespace: str, prefix: str) -> None:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                inner = namespace
                if entry.namespace:
                    inner = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
                walk(entry.url_patterns, inner, prefix + str(entry.pattern))
            elif isinstance(entry, URLPattern):
                name = entry.name or f"None:{prefix}{entry.pattern}"
                found.append(f"{namespace}:{name}" if namespace else name)

    walk(get_resolver().url_patterns, "", "")
    return list(dict.fromkeys(found))


@dataclass(frozen=True)
class Cell:
    name: str
    variant: str
    role: str
    method: str
    problem: str = ""

    @property
    def key(self) -> str:
        return f"{self.name}[{self.variant}]" if self.variant else self.name

    def __str__(self) -> str:
        return f"{self.key}-{self.role}-{self.method}"


def matrix_cells() -> list[Cell]:
    cells: list[Cell] = []
    for name in url_names():
        if ADMIN_NOT_WALKED.match(name):
            continue
        variants = list(KWARGS.get(name, {"": None}))
        for variant in variants:
            key = f"{name}[{variant}]" if variant else name
            if key not in EXPECTED:
                cells.append(
                    Cell(
                        name,
                        variant,
                        "any",
                        "any",
                        problem=f"The URL {key!r} has no entry in EXPECTED in "
                        f"{__name__}: add its outcomes per role (and KWARGS/POST_DATA "
                        "if it needs them).",
                    )
                )
                continue
            cells.extend(Cell(name, variant, role, method) for role in ROLES for method in METHODS)
    return cells


CELLS = matrix_cells()
OUTCOMES: Counter[str] = Counter()
TIMING: dict[str, float] = {}


# --- Running a cell --------------------------------------------------------------------


class _Summary:
    """Prints the matrix's size and outcome counts at the end of the run."""

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not OUTCOMES:
            return
        urls = len({cell.key for cell in CELLS})
        terminalreporter.write_sep("-", "authorisation matrix")
        terminalreporter.write_line(
            f"{urls} URLs x {len(ROLES)} roles x {len(METHODS)} methods = "
            f"{urls * len(ROLES) * len(METHODS)} cells; ran {sum(OUTCOMES.values())} "
            f"in {time.monotonic() - TIMING.get('start', time.monotonic()):.0f}s"
        )
        terminalreporter.write_line(
            "outcomes: " + ", ".join(f"{k}: {v}" for k, v in sorted(OUTCOMES.items()))
        )


@dataclass
class Matrix:
    world: World
    sessions: dict[str, str]
    before: dict[str, tuple[int, str]]

    def client(self, role: str) -> Client:
        client = Client(raise_request_exception=False)
        if role != "anonymous":
            from django.conf import settings

            client.cookies[settings.SESSION_COOKIE_NAME] = self.sessions[role]
        return client


@pytest.fixture(scope="module")
def matrix(request, django_db_setup, django_db_blocker):
    plugins = request.config.pluginmanager
    if not plugins.has_plugin("authorisation-matrix-summary"):
        plugins.register(_Summary(), "authorisation-matrix-summary")
    TIMING["start"] = time.monotonic()
    hashers = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with django_db_blocker.unblock(), override_settings(PASSWORD_HASHERS=hashers):
        with rolled_back():
            world = world_build()
            sessions = {}
            for role in ROLES:
                if role != "anonymous":
                    client = Client()
                    client.force_login(world_user(world, role))
                    sessions[role] = client.session.session_key
            yield Matrix(world=world, sessions=sessions, before=database_fingerprint())


def observed(response: Any) -> str:
    if response.status_code in (301, 302):
        location = response.get("Location", "")
        if location.startswith(reverse("account_login")):
            return f"{response.status_code}-login"
        if location.startswith(reverse("admin:login")):
            return f"{response.status_code}-admin"
    return str(response.status_code)


def _url(cell: Cell, world: World) -> str:
    build = KWARGS.get(cell.name, {}).get(cell.variant)
    return reverse(cell.name, kwargs=build(world) if build else None)


@pytest.mark.parametrize("cell", CELLS, ids=str)
def test_matrix_cell(cell: Cell, matrix: Matrix, django_db_blocker) -> None:
    if cell.problem:
        pytest.fail(cell.problem)
    expected = EXPECTED[cell.key][cell.method][cell.role]
    allowed, _sep, writes = expected.partition(" ")
    with django_db_blocker.unblock(), rolled_back():
        url = _url(cell, matrix.world)
        client = matrix.client(cell.role)
        if cell.method == "GET":
            response = client.get(url)
        else:
            data = POST_DATA.get(cell.key, lambda w: {})(matrix.world)
            response = client.post(url, data)
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)
        outcome = observed(response)
        changes = fingerprint_changes(matrix.before, database_fingerprint())
    OUTCOMES[outcome] += 1
    where = f"{cell.method} {url} as {cell.role}"
    assert outcome in allowed.split("|"), (
        f"{where}: expected {expected}, got {outcome}"
        f" (Location: {response.get('Location', '-')})"
    )
    if writes != "writes":
        assert not changes, f"{where} changed the database:\n" + "\n".join(changes)
