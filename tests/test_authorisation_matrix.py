"""The authorisation matrix: every URL pattern × every role × GET and POST.

The URL patterns come from the URLconf (``get_resolver().url_patterns``, walked through
every ``include``); each is instantiated with real objects from one small world
(``tests/matrix_world.py``, built once for the module and rolled back after each
request). Roles: anonymous, a resident of the area (``resident_a``), a resident of
another area (``resident_b``), a resident whose email is not verified, an officer, an
auditor and a superuser. Every cell checks

- the response against ``EXPECTED``, the one table of outcomes;
- unless the table says the role may change something with that request, that the
  database is exactly as it was (every table's row count and a hash of its rows; see
  ``matrix_world`` for the few columns left out);
- that the page shows none of ``SECRETS`` the role may not read (a never-submitted
  draft's title, a hidden comment's words).

How to add a URL
----------------
1. Add its name to ``EXPECTED`` with the outcome per role for GET and POST (the helpers
   ``PUBLIC``, ``SIGNED_IN``, ``OFFICER``... cover the usual cases). A URL the URLconf
   has and ``EXPECTED`` lacks fails ``test_every_url_pattern_has_expected_outcomes``,
   which names it. A model newly registered in the admin goes in ``ADMIN_MODELS``.
2. If its pattern takes arguments, say in ``KWARGS`` how to build them from the world
   (several variants are allowed, e.g. a draft and a submitted proposal; each variant
   is its own row in ``EXPECTED``, ``name[variant]``).
3. If a POST creates or changes something, give plausible form data in ``POST_DATA``
   (it is sent by every role: the wrong ones must change nothing).

Outcomes: ``200``, ``302`` (a redirect elsewhere than a sign-in page), ``302-login``
(to the site's sign-in), ``302-admin`` (to the admin's sign-in), ``400``, ``403``,
``404``, ``405``; ``a|b`` accepts either; a trailing `` writes`` says the request
changes the database (and must: the same POST is then known to be one that saves, so
the other roles' unchanged database shows a refusal); without it any change fails.

The expectations state the rules the product enforces (the apps' ``policies.py`` and
views): e.g. nobody but its author sees a never-submitted draft, officers included. A
cell that shows a product bug not fixed yet keeps the correct expectation and is listed
in ``KNOWN_BUGS`` (a strict xfail). The terminal summary at the end of the run gives
the matrix's size and how many cells had each outcome (``tests/conftest.py``).
"""

from __future__ import annotations

import io
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from allauth.account.models import EmailAddress, EmailConfirmationHMAC
from django.apps import apps
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from PIL import Image

from pb_platform import outbox
from proposals.forms import RoundForm
from proposals.models import CountingRule, Proposal
from proposals.phases import Phase
from tests.factories import PASSWORD
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
OFFICER_OR_AUDITOR = roles(
    "403", anonymous="302-login", officer="200", auditor="200", superuser="200"
)
# Pages of an officer form: GET shows it, a plausible POST saves and redirects.
OFFICER_SAVES = roles("403", anonymous="302-login", officer="302 writes", superuser="302 writes")
SAFE_ONLY = roles("405")  # @require_safe / @require_GET: POST refused whoever you are
POST_ONLY = roles("405")  # @require_POST: GET refused whoever you are
ADMIN = roles("302-admin", superuser="200")
# Read-only admin screens (rounds, residents, histories, the ledger): even the
# superuser's POST is refused; changes go through the site's services and their history.
ADMIN_READ_ONLY = page(ADMIN, roles("302-admin", superuser="403"))
# Writable admin screens: the matrix's empty POST comes back with the form's errors.
ADMIN_WRITABLE = page(ADMIN)
# Signed-in people are sent on from allauth's "signed out" pages.
ALLAUTH_ANON_ONLY = roles("302", anonymous="200")


# --- The table: URL name -> {"GET": {role: outcome}, "POST": {role: outcome}} -----------

EXPECTED: dict[str, dict[str, dict[str, str]]] = {
    # Public pages
    "home": page(PUBLIC),
    "healthz": page(PUBLIC, SAFE_ONLY),
    # Readiness is public (monitors do not sign in); the world has no beat running, so 503.
    "readyz": page(roles("503"), SAFE_ONLY),
    "proposals:round_list": page(PUBLIC),
    "proposals:round_detail": page(PUBLIC),
    "proposals:round_proposals": page(PUBLIC),
    "ledgers:round_money": page(PUBLIC),
    "ledgers:you_said_we_did": page(PUBLIC, SAFE_ONLY),
    # Open data: the page for every round; the ledger once voting has closed.
    "ledgers:round_open_data": page(PUBLIC, SAFE_ONLY),
    "ledgers:round_ledger_csv": page(PUBLIC, SAFE_ONLY),
    "proposals:round_proposals_csv": page(PUBLIC, SAFE_ONLY),
    # Before the vote closes the page says when it will have something to show.
    "ledgers:you_said_we_did[before_the_vote]": page(PUBLIC, SAFE_ONLY),
    "voting:round_results": page(PUBLIC, SAFE_ONLY),
    "voting:round_participation": page(PUBLIC, SAFE_ONLY),
    "voting:area_results": page(PUBLIC, SAFE_ONLY),
    "voting:area_results_csv": page(PUBLIC, SAFE_ONLY),
    "voting:area_results_pabulib": page(PUBLIC, SAFE_ONLY),
    "voting:area_receipts": page(PUBLIC, SAFE_ONLY),
    # A resident's own pages
    "proposals:my_account": page(SIGNED_IN),
    "proposals:my_proposals": page(SIGNED_IN),
    "voting:my_ballots": page(SIGNED_IN),
    "voting:vote": page(SIGNED_IN),
    # Which kinds of email one gets: everyone signed in, for themselves only.
    "email_preferences": page(SIGNED_IN, roles("302 writes", anonymous="302-login")),
    # Personal data: everyone signed in downloads their own (GET only) and may close their
    # own account with their password (staff are only deactivated); a superuser may not
    # close theirs here (the admin's last superuser would lock the council out).
    "privacy": page(PUBLIC, SAFE_ONLY),
    # The language switcher: anyone may choose (a cookie); a signed-in person's emails
    # follow the choice (a row). The ballot's JavaScript strings are public.
    "language_choose": page(POST_ONLY, roles("302 writes", anonymous="302")),
    "javascript_catalog": page(PUBLIC, SAFE_ONLY),
    # Uploaded images (pb_platform/media.py) follow their proposal: a draft's photo is its
    # author's alone, like the draft; a file no proposal shows as an image is nobody's.
    "media_upload[draft]": page(roles("404", resident_a="200"), SAFE_ONLY),
    "media_upload[submitted]": page(PUBLIC, SAFE_ONLY),
    "media_upload[not_an_image]": page(roles("404"), SAFE_ONLY),
    "personal_data_download": page(SIGNED_IN, roles("405", anonymous="302-login")),
    "account_close": page(SIGNED_IN, roles("302 writes", anonymous="302-login", superuser="403")),
    # One-click unsubscribe (RFC 8058): the signed token in the address authorises turning
    # that one kind of email off for its owner (resident_a), whoever sends it; GET only
    # asks to confirm (link checkers follow links). A tampered token changes nothing.
    "email_unsubscribe[valid]": page(PUBLIC, roles("200 writes")),
    "email_unsubscribe[tampered]": page(roles("400")),
    # The ballot of area A in the voting round: only resident_a may vote there; the others
    # are sent back to the round's voting page (or to sign in).
    "voting:ballot": page(
        roles("302", anonymous="302-login", resident_a="200"),
        roles("302", anonymous="302-login", resident_a="302 writes"),
    ),
    # The whole-council area: every verified resident votes there, whatever their area.
    "voting:ballot[council]": page(
        roles("302", anonymous="302-login", resident_a="200", resident_b="200"),
        roles("302", anonymous="302-login", resident_a="302 writes", resident_b="302 writes"),
    ),
    # Voting closed in the published round: nobody's ballot changes.
    "voting:ballot[closed]": page(roles("302", anonymous="302-login")),
    # resident_a's receipt: nobody else has a ballot there.
    "voting:vote_receipt": page(roles("404", anonymous="302-login", resident_a="200")),
    # Proposals. Submitting: verified residents, to their own area or the whole council.
    # Everyone signed in sees the page: the form, or the reason they cannot submit.
    "proposals:proposal_new": page(
        SIGNED_IN,
        # POST_DATA proposes for area A: resident_b lives in B and gets the form back
        # with the reason; the others are refused outright.
        roles("403", anonymous="302-login", resident_a="302 writes", resident_b="200"),
    ),
    # Anyone may propose for the whole council, during submission only.
    "proposals:proposal_new[council]": page(
        SIGNED_IN,
        roles("403", anonymous="302-login", resident_a="302 writes", resident_b="302 writes"),
    ),
    "proposals:proposal_new[closed]": page(SIGNED_IN, roles("403", anonymous="302-login")),
    # A never-submitted draft is its author's alone: 404 for everyone else, officers too.
    "proposals:proposal_detail[draft]": page(
        roles("404", resident_a="200"),
        # Nobody comments on a draft (not even its author: comments are for submitted ones)
        roles("404", resident_a="403"),
    ),
    # Verified residents (of any area) and officers comment during submission and review.
    "proposals:proposal_detail[submitted]": page(
        PUBLIC,
        roles("302 writes", anonymous="302-login", unverified="403", auditor="403"),
    ),
    "proposals:proposal_edit[draft]": page(
        roles("404", anonymous="302-login", resident_a="200"),
        roles("404", anonymous="302-login", resident_a="302 writes"),
    ),
    # Submitted, still in submission: its author may still improve it.
    "proposals:proposal_edit[submitted]": page(
        roles("403", anonymous="302-login", resident_a="200"),
        roles("403", anonymous="302-login", resident_a="302 writes"),
    ),
    "proposals:proposal_withdraw[submitted]": page(
        roles("403", anonymous="302-login", resident_a="200"),
        roles("403", anonymous="302-login", resident_a="302 writes"),
    ),
    # Writing together: the author invites and removes; the invited address alone answers
    # (the world's invitee has no account yet, so every signed-in role is refused).
    "proposals:proposal_coauthors[submitted]": page(
        roles("403", anonymous="302-login", resident_a="200"),
        roles("403", anonymous="302-login", resident_a="302 writes"),
    ),
    "proposals:proposal_coauthors[draft]": page(
        roles("404", anonymous="302-login", resident_a="200"),
        roles("404", anonymous="302-login", resident_a="302 writes"),
    ),
    "proposals:coauthor_remove": page(
        roles("405", anonymous="302-login"),
        roles("403", anonymous="302-login", resident_a="302 writes"),
    ),
    "proposals:coauthor_invitation": page(PUBLIC, roles("403", anonymous="302-login")),
    "proposals:proposal_version[submitted]": page(PUBLIC, SAFE_ONLY),
    "proposals:proposal_version[draft]": page(roles("404", resident_a="200"), SAFE_ONLY),
    "proposals:proposal_review[submitted]": page(OFFICER, OFFICER_SAVES),
    "proposals:proposal_review[draft]": page(
        roles("403", anonymous="302-login", officer="404", superuser="404")
    ),
    # Voting has opened: officers see the page with the reason; a forged POST is refused.
    "proposals:proposal_review[in_voting]": page(OFFICER, roles("403", anonymous="302-login")),
    # An officer's co-design offer from the review page (the one open offer per proposal).
    "proposals:proposal_review[codesign]": page(OFFICER, OFFICER_SAVES),
    # Support: a verified resident of the proposal's area (resident_a, in A), not the
    # author (carol); everyone else is refused, and GET is never a click.
    "proposals:proposal_support": page(
        roles("405", anonymous="302-login"),
        roles("403", anonymous="302-login", resident_a="302 writes"),
    ),
    # Only the proposal's author (resident_a) answers an officer's co-design offer.
    "proposals:codesign_answer": page(
        roles("405", anonymous="302-login"),
        roles("403", anonymous="302-login", resident_a="302 writes"),
    ),
    # Amendments: any verified resident but the writers suggests (resident_a is not
    # the author of ``under_review``; resident_b lives in another area, which is fine);
    # only the writers of ``submitted`` (resident_a) answer resident_b's suggestion, and
    # only resident_b withdraws it.
    "proposals:amendment_new": page(
        PUBLIC,
        roles("403", anonymous="302-login", resident_a="302 writes", resident_b="302 writes"),
    ),
    "proposals:amendment_detail": page(PUBLIC, SAFE_ONLY),
    "proposals:amendment_answer": page(
        roles("405", anonymous="302-login"),
        roles("403", anonymous="302-login", resident_a="302 writes"),
    ),
    "proposals:amendment_withdraw": page(
        roles("405", anonymous="302-login"),
        roles("403", anonymous="302-login", resident_b="302 writes"),
    ),
    # Merges: a writer of either side (resident_a writes "Park lights") agrees; an
    # officer proposes one from the review page of a proposal not in an open merge.
    "proposals:merge_answer": page(
        roles("405", anonymous="302-login"),
        roles("403", anonymous="302-login", resident_a="302 writes"),
    ),
    "proposals:proposal_review[merge]": page(OFFICER, OFFICER_SAVES),
    "proposals:comment_hide": page(OFFICER, OFFICER_SAVES),
    "proposals:comment_hide[hidden]": page(OFFICER, roles("403", anonymous="302-login")),
    # Anyone signed in with the permission (residents, verified or not, officers and
    # auditors) may report someone else's comment.
    "proposals:comment_flag": page(
        roles("405", anonymous="302-login"),
        # resident_b wrote the comment: they cannot report it (a message, nothing saved).
        roles("302 writes", anonymous="302-login", resident_b="302"),
    ),
    # A hidden comment cannot be reported (a message, nothing saved).
    "proposals:comment_flag[hidden]": page(
        roles("405", anonymous="302-login"), roles("302", anonymous="302-login")
    ),
    # Officers
    "proposals:officer_dashboard": page(OFFICER),
    "proposals:officer_round_create": page(OFFICER, OFFICER_SAVES),
    # The published round: counting rule and currency are frozen, so the officer's POST
    # changing them comes back with the reason on the fields and changes nothing.
    "proposals:officer_round_edit[results]": page(OFFICER),
    # Voting is open: an area's budget is frozen, the cut is refused the same way.
    "proposals:officer_round_edit[voting]": page(OFFICER),
    # A round still in submission: its name may change (a new entry in its history).
    "proposals:officer_round_edit[submission]": page(OFFICER, OFFICER_SAVES),
    "proposals:officer_areas": page(OFFICER, OFFICER_SAVES),
    "proposals:officer_area_edit": page(OFFICER, OFFICER_SAVES),
    # Whole-council is frozen once the area took part in voting: the form says why.
    "proposals:officer_area_edit[council_in_voting]": page(OFFICER),
    "proposals:officer_residents": page(OFFICER),
    # During voting the move is recorded as pending.
    "proposals:officer_resident_area": page(OFFICER, OFFICER_SAVES),
    "proposals:officer_flagged_comments": page(OFFICER),
    # The resident register: officers import (a POST without a file gets the form's
    # message), auditors read the import log; letter codes and in-person checks write.
    "proposals:officer_register": page(
        OFFICER_OR_AUDITOR, roles("403", anonymous="302-login", officer="200", superuser="200")
    ),
    "proposals:officer_register_codes": page(
        POST_ONLY,
        roles("403", anonymous="302-login", officer="200 writes", superuser="200 writes"),
    ),
    "proposals:officer_resident_verify": page(POST_ONLY, OFFICER_SAVES),
    # Anyone signed in sees the form; a wrong code is "did not match" and saves nothing.
    "proposals:eligibility_verify": page(SIGNED_IN),
    "proposals:officer_categories": page(OFFICER, OFFICER_SAVES),
    # The priorities stage. Its round page is public; residents suggest a theme while it
    # runs (a forged POST from anyone else is refused). A round without one has no page.
    "proposals:priorities": page(
        PUBLIC, roles("403", resident_a="302 writes", resident_b="302 writes")
    ),
    "proposals:priorities[no_stage]": page(roles("404")),
    # Everyone signed in sees the page (the form, or why not); only area A's resident
    # saves points for area A while the stage runs.
    "proposals:priorities_respond": page(
        SIGNED_IN, roles("403", anonymous="302-login", resident_a="302 writes")
    ),
    "proposals:priorities_respond[closed]": page(SIGNED_IN, roles("403", anonymous="302-login")),
    # Results are public once the stage ended; while it runs the page says when.
    "proposals:priorities_results": page(PUBLIC, SAFE_ONLY),
    "proposals:priorities_results[open]": page(PUBLIC, SAFE_ONLY),
    "proposals:priorities_csv": page(PUBLIC, SAFE_ONLY),
    "proposals:priorities_csv[open]": page(roles("404"), SAFE_ONLY),
    # Officers decide on carol's suggested theme, type in paper answers while the stage
    # runs and publish a statement once it ended.
    "proposals:officer_priorities": page(OFFICER, OFFICER_SAVES),
    "proposals:officer_priorities_paper": page(OFFICER, OFFICER_SAVES),
    "proposals:officer_priorities_paper[closed]": page(
        OFFICER, roles("403", anonymous="302-login")
    ),
    "proposals:officer_priorities_statement": page(POST_ONLY, OFFICER_SAVES),
    "proposals:officer_priorities_statement[open]": page(
        POST_ONLY, roles("403", anonymous="302-login")
    ),
    # Failed job items: officers and auditors read the history, only officers retry.
    "job_history": page(OFFICER_OR_AUDITOR, SAFE_ONLY),
    "job_item_retry": page(POST_ONLY, OFFICER_SAVES),
    "voting:paper_voters": page(OFFICER),
    "voting:paper_ballot": page(OFFICER, OFFICER_SAVES),
    # Paper ballots the policy refuses: the officer sees why, nothing is recorded. One
    # vote per person (resident_a voted online); home area or whole council only; a
    # pending move does not count yet; not after voting closed.
    "voting:paper_ballot[voted_online]": page(OFFICER),
    "voting:paper_ballot[other_area]": page(OFFICER),
    "voting:paper_ballot[pending_move]": page(OFFICER),
    "voting:paper_ballot[closed_round]": page(OFFICER),
    # Only the officer who recorded the paper ballot sees its receipt.
    "voting:paper_ballot_done": page(
        roles("403", anonymous="302-login", officer="200", superuser="404")
    ),
    # An online ballot has no paper receipt for anyone.
    "voting:paper_ballot_done[online_ballot]": page(
        roles("403", anonymous="302-login", officer="404", superuser="404")
    ),
    "voting:walk_in": page(OFFICER, OFFICER_SAVES),
    # Outreach against an area of the voting round: officers record it from the public
    # participation page (the form posts here; GET has nothing to show).
    "voting:participation_outreach": page(POST_ONLY, OFFICER_SAVES),
    "voting:turnout": page(OFFICER_OR_AUDITOR),
    "ledgers:officer_round": page(OFFICER, SAFE_ONLY),
    "ledgers:officer_proposal[funded]": page(OFFICER, OFFICER_SAVES),
    # Not funded (lost the vote; still in review): officers see the page with the
    # reason, and a forged commitment is refused.
    "ledgers:officer_proposal[lost]": page(OFFICER, roles("403", anonymous="302-login")),
    "ledgers:officer_proposal[in_review]": page(OFFICER, roles("403", anonymous="302-login")),
    # Never-submitted drafts are not in the officer ledger either.
    "ledgers:officer_proposal[draft]": page(
        roles("403", anonymous="302-login", officer="404", superuser="404")
    ),
    "ledgers:officer_reverse": page(OFFICER, OFFICER_SAVES),
    "ledgers:officer_milestone": page(OFFICER, OFFICER_SAVES),
    # Anyone signed in with a verified email follows a funded proposal's delivery.
    "ledgers:proposal_follow": page(
        roles("405", anonymous="302-login"),
        roles("302 writes", anonymous="302-login", unverified="403"),
    ),
    # Assessment of a delivered proposal: residents of its area (and invited service
    # users) assess; everyone else signed in is told why not; staff never assess.
    "ledgers:assessment_edit": page(
        SIGNED_IN, roles("403", anonymous="302-login", resident_a="302 writes")
    ),
    # The emailed one-time link: anyone may read it; anyone signed in but staff takes it up.
    "ledgers:assessment_invitation": page(
        PUBLIC,
        roles("302 writes", anonymous="302-login", officer="403", auditor="403", superuser="403"),
    ),
    "ledgers:officer_assessments": page(OFFICER, OFFICER_SAVES),
    # Reporting an assessment's comment, as for comments: anyone signed in (carol wrote it).
    "ledgers:assessment_flag": page(
        roles("405", anonymous="302-login"), roles("302 writes", anonymous="302-login")
    ),
    # The report: officers and auditors; officers (only) change the settings.
    "ledgers:round_assessments": page(
        OFFICER_OR_AUDITOR,
        roles("403", anonymous="302-login", officer="302 writes", superuser="302 writes"),
    ),
    "ledgers:round_assessments_csv": page(OFFICER_OR_AUDITOR, SAFE_ONLY),
    # The public read-only API: everyone reads, nobody writes (pb_platform/api.py).
    **{
        f"api:{name}": page(PUBLIC, roles("405"))
        for name in (
            "api-root",
            "index",
            "openapi-json",
            "openapi-view",
            "rounds",
            "round_detail",
            "round_proposals",
            "proposal_detail",
            "round_results",
            "round_participation",
            "round_money",
        )
    },
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
    "account_inactive": page(PUBLIC, SAFE_ONLY),
    "account_change_password": page(SIGNED_IN),
    "account_set_password": page(roles("302", anonymous="302-login")),
    "account_email": page(SIGNED_IN, roles("302", anonymous="302-login")),
    "account_email_verification_sent": page(PUBLIC, SAFE_ONLY),
    # The key in the address confirms the unverified resident's email, whoever sends it
    # (the key is the proof); other people are then asked to sign in as its owner.
    "account_confirm_email": page(PUBLIC, roles("302-login writes", unverified="302 writes")),
    "account_reset_password": page(PUBLIC),
    "account_reset_password_done": page(PUBLIC, SAFE_ONLY),
    "account_reset_password_from_key": page(PUBLIC),  # a bad key: the page says so
    "account_reset_password_from_key_done": page(PUBLIC, SAFE_ONLY),
    "account_reauthenticate": page(SIGNED_IN),
    # No sign-in by code is under way: back to the sign-in page.
    "account_confirm_login_code": page(roles("302", anonymous="302-login")),
    # A code is sent to a verified address only.
    "account_request_reauthentication_code": page(
        roles("200", anonymous="302-login", unverified="302")
    ),
    "account_confirm_reauthentication_code": page(roles("302", anonymous="302-login")),
    # The admin: the site's own superuser only.
    "admin:index": page(ADMIN),
    # The admin signs in through allauth (its limits, lockout and two-factor step).
    # (A signed-in superuser's POST is Django's admin form again, with its errors.)
    "admin:login": page(
        roles("403", anonymous="302-login", superuser="302"),
        roles("403", anonymous="302-login", superuser="200"),
    ),
    "account_request_login_code": page(ALLAUTH_ANON_ONLY),
    # allauth's two-factor pages, each about the signed-in person's own account. Changes
    # first ask for the password again (302 to reauthenticate: force_login is not a fresh
    # sign-in); what the account does not have is 404. Only the superuser has TOTP here.
    "mfa_index": page(SIGNED_IN, roles("405", anonymous="302-login")),
    "mfa_authenticate": page(roles("302", anonymous="302-login")),  # only mid-sign-in
    "mfa_reauthenticate": page(roles("302", anonymous="302-login", superuser="200")),
    "mfa_activate_totp": page(roles("302", anonymous="302-login")),
    "mfa_deactivate_totp": page(roles("404", anonymous="302-login", superuser="302")),
    "mfa_view_recovery_codes": page(
        roles("404", anonymous="302-login"), roles("405", anonymous="302-login")
    ),
    "mfa_generate_recovery_codes": page(roles("302", anonymous="302-login")),
    "mfa_download_recovery_codes": page(roles("404", anonymous="302-login")),
}

# The admin is walked as one changelist and one change page per registered model
# (``app_label.model_name``); each one's change page is read-only or writable.
ADMIN_MODELS: dict[str, dict[str, dict[str, str]]] = {
    "auth.group": ADMIN_WRITABLE,
    "auth.user": ADMIN_WRITABLE,
    "account.emailaddress": ADMIN_WRITABLE,
    "mfa.authenticator": ADMIN_WRITABLE,
    # Areas are changed on the officer pages, where the service keeps the whole-council
    # rule frozen once voting opened and the address (slug) stable.
    "proposals.area": ADMIN_READ_ONLY,
    "proposals.budgetround": ADMIN_READ_ONLY,
    "proposals.residentprofile": ADMIN_READ_ONLY,
    "proposals.roundchange": ADMIN_READ_ONLY,
    "proposals.residentareachange": ADMIN_READ_ONLY,
    "ledgers.ledgerentry": ADMIN_READ_ONLY,
    "ledgers.deliveryupdate": ADMIN_READ_ONLY,
    "ledgers.ledgerexport": ADMIN_READ_ONLY,
}
for _label, _change in ADMIN_MODELS.items():
    _prefix = "admin:" + _label.replace(".", "_")
    EXPECTED[f"{_prefix}_changelist"] = page(ADMIN)
    EXPECTED[f"{_prefix}_change"] = _change
# Django's own admin pages, not walked: add, delete and history of each model, the
# site-wide ones below, and its unnamed redirects (an object's bare address to its
# change page, any other address to the sign-in or a 404).
ADMIN_NOT_WALKED = re.compile(
    r"^admin:(.*_(add|delete|history)|autocomplete|jsi18n|view_on_site|logout"
    r"|password_change|password_change_done|app_list|auth_user_password_change"
    r"|\(unnamed\) admin/.*)$"
)

# Text from the world that only some roles may read, on any page they open: a never-
# submitted draft is its author's alone; a hidden comment's words are for officers and
# auditors (the public sees that a comment was hidden, not what it said).
SECRETS: dict[str, frozenset[str]] = {
    "Secret draft": frozenset({"resident_a"}),
    "Rude words.": frozenset({"officer", "auditor", "superuser"}),
}

# Cells that show a product bug not fixed yet: (URL key, role, method) -> why. Each is
# expected to fail (xfail, strict: a fix makes it pass and the entry must go).
KNOWN_BUGS: dict[tuple[str, str, str], str] = {}


# --- How to build each URL from the world -----------------------------------------------

Kwargs = Callable[[World], dict[str, Any]]


def _in(phase: Phase) -> Kwargs:
    return lambda w: {"slug": w.round(phase).slug}


def _area(phase: Phase, area: str = "area_a") -> Kwargs:
    return lambda w: {"slug": w.round(phase).slug, "area_slug": getattr(w, area).slug}


def _paper(
    profile: Callable[[World], Any], *, area: str = "area_a", phase: Phase = Phase.VOTING
) -> Kwargs:
    """The paper ballot page of a person for an area."""
    return lambda w: {
        "slug": w.round(phase).slug,
        "profile_pk": profile(w).pk,
        "area_slug": getattr(w, area).slug,
    }


def _confirm_key(w: World) -> str:
    address = EmailAddress.objects.get(user=w.unverified)
    return EmailConfirmationHMAC(address).key


def _unsubscribe_token(w: World) -> str:
    return outbox.unsubscribe_token(user_id=w.resident_a.pk, kind=outbox.PROPOSAL_DECISION.name)


# An uploaded file that is no image, put beside the world's photos (``world_photos``).
NOT_AN_IMAGE = "proposals/matrix/page.html"


def world_photos(world: World) -> None:
    """A photo on a never-submitted draft (resident_a's) and on a public proposal (one
    whose form no cell posts: a photo asks for its description there), in
    ``MEDIA_ROOT``, and a page that is no image beside them (for ``media_upload``)."""
    buffer = io.BytesIO()
    Image.new("RGB", (2, 2), (0, 128, 0)).save(buffer, format="PNG")
    png = buffer.getvalue()
    for proposal in (world.ledger_draft, world.lost):
        name = default_storage.save(f"proposals/matrix/{proposal.pk}.png", ContentFile(png))
        Proposal.objects.filter(pk=proposal.pk).update(image=name, image_description="A photo")
        proposal.image.name = name
    default_storage.save(NOT_AN_IMAGE, ContentFile(b"<script>alert(1)</script>"))


# name -> {variant: kwargs}; the variant "" is the only one of a URL without variants.
KWARGS: dict[str, dict[str, Kwargs]] = {
    "proposals:round_detail": {"": _in(Phase.SUBMISSION)},
    "proposals:round_proposals": {"": _in(Phase.SUBMISSION)},
    "proposals:officer_round_edit": {
        "results": _in(Phase.RESULTS),
        "voting": _in(Phase.VOTING),
        "submission": _in(Phase.SUBMISSION),
    },
    "proposals:officer_area_edit": {
        "": lambda w: {"pk": w.area_b.pk},
        "council_in_voting": lambda w: {"pk": w.council.pk},
    },
    "proposals:officer_resident_area": {"": lambda w: {"pk": w.resident_a.resident_profile.pk}},
    "proposals:officer_resident_verify": {"": lambda w: {"pk": w.resident_b.resident_profile.pk}},
    "proposals:officer_categories": {"": _in(Phase.SUBMISSION)},
    "proposals:priorities": {"": _in(Phase.PRIORITIES), "no_stage": _in(Phase.REVIEW)},
    "proposals:priorities_respond": {
        "": _area(Phase.PRIORITIES),
        "closed": _area(Phase.SUBMISSION),
    },
    "proposals:priorities_results": {"": _area(Phase.SUBMISSION), "open": _area(Phase.PRIORITIES)},
    "proposals:priorities_csv": {"": _area(Phase.SUBMISSION), "open": _area(Phase.PRIORITIES)},
    "proposals:officer_priorities": {"": _in(Phase.PRIORITIES)},
    "proposals:officer_priorities_paper": {
        "": _area(Phase.PRIORITIES),
        "closed": _area(Phase.SUBMISSION),
    },
    "proposals:officer_priorities_statement": {
        "": _area(Phase.SUBMISSION),
        "open": _area(Phase.PRIORITIES),
    },
    "proposals:proposal_new": {
        "": _in(Phase.SUBMISSION),
        "council": _in(Phase.SUBMISSION),
        "closed": _in(Phase.REVIEW),
    },
    "proposals:proposal_detail": {
        "draft": lambda w: {"pk": w.draft.pk},
        "submitted": lambda w: {"pk": w.submitted.pk},
    },
    "proposals:proposal_edit": {
        "draft": lambda w: {"pk": w.draft.pk},
        "submitted": lambda w: {"pk": w.submitted.pk},
    },
    "proposals:proposal_withdraw": {"submitted": lambda w: {"pk": w.submitted.pk}},
    "proposals:proposal_coauthors": {
        "submitted": lambda w: {"pk": w.submitted.pk},
        "draft": lambda w: {"pk": w.draft.pk},
    },
    "proposals:coauthor_remove": {"": lambda w: {"pk": w.invitation.pk}},
    "proposals:coauthor_invitation": {"": lambda w: {"token": w.invitation_token}},
    "proposals:proposal_version": {
        "submitted": lambda w: {"pk": w.submitted.pk, "number": 1},
        "draft": lambda w: {"pk": w.draft.pk, "number": 1},
    },
    "proposals:proposal_review": {
        "submitted": lambda w: {"pk": w.under_review.pk},
        "draft": lambda w: {"pk": w.draft.pk},
        "in_voting": lambda w: {"pk": w.on_ballot.pk},
        "codesign": lambda w: {"pk": w.under_review.pk},
        "merge": lambda w: {"pk": w.proposals_by_status["feasible"].pk},
    },
    "proposals:proposal_support": {"": lambda w: {"pk": w.under_review.pk}},
    "proposals:codesign_answer": {"": lambda w: {"pk": w.codesign_offer.pk}},
    "proposals:amendment_new": {"": lambda w: {"pk": w.under_review.pk}},
    "proposals:merge_answer": {"": lambda w: {"pk": w.merge.pk}},
    "proposals:amendment_detail": {"": lambda w: {"pk": w.amendment.pk}},
    "proposals:amendment_answer": {"": lambda w: {"pk": w.amendment.pk}},
    "proposals:amendment_withdraw": {"": lambda w: {"pk": w.amendment.pk}},
    "proposals:comment_hide": {
        "": lambda w: {"pk": w.comment.pk},
        "hidden": lambda w: {"pk": w.hidden_comment.pk},
    },
    "proposals:comment_flag": {
        "": lambda w: {"pk": w.comment.pk},
        "hidden": lambda w: {"pk": w.hidden_comment.pk},
    },
    "media_upload": {
        "draft": lambda w: {"name": w.ledger_draft.image.name},
        "submitted": lambda w: {"name": w.lost.image.name},
        "not_an_image": lambda w: {"name": NOT_AN_IMAGE},
    },
    "ledgers:round_money": {"": _in(Phase.RESULTS)},
    **{
        f"api:{name}": {"": _in(Phase.RESULTS)}
        for name in (
            "round_detail",
            "round_proposals",
            "round_results",
            "round_participation",
            "round_money",
        )
    },
    "api:proposal_detail": {"": lambda w: {"proposal_id": w.funded.pk}},
    "ledgers:round_open_data": {"": _in(Phase.RESULTS)},
    "ledgers:round_ledger_csv": {"": _in(Phase.RESULTS)},
    "proposals:round_proposals_csv": {"": _in(Phase.SUBMISSION)},
    "ledgers:you_said_we_did": {
        "": _in(Phase.RESULTS),
        "before_the_vote": _in(Phase.SUBMISSION),
    },
    "ledgers:officer_round": {"": _in(Phase.RESULTS)},
    "ledgers:officer_proposal": {
        "funded": lambda w: {"pk": w.funded.pk},
        "draft": lambda w: {"pk": w.ledger_draft.pk},
        "lost": lambda w: {"pk": w.lost.pk},
        "in_review": lambda w: {"pk": w.under_review.pk},
    },
    "ledgers:officer_reverse": {"": lambda w: {"pk": w.spend_entry.pk}},
    "ledgers:officer_milestone": {"": lambda w: {"pk": w.milestone.pk}},
    "ledgers:proposal_follow": {"": lambda w: {"pk": w.funded.pk}},
    "ledgers:audit_export": {"": lambda w: {"file_format": "csv"}},
    "ledgers:assessment_edit": {"": lambda w: {"pk": w.delivered.pk}},
    "ledgers:assessment_invitation": {"": lambda w: {"token": w.assessment_token}},
    "ledgers:officer_assessments": {"": lambda w: {"pk": w.delivered.pk}},
    "ledgers:assessment_flag": {"": lambda w: {"pk": w.assessment.pk}},
    "ledgers:round_assessments": {"": _in(Phase.RESULTS)},
    "ledgers:round_assessments_csv": {"": _in(Phase.RESULTS)},
    "voting:vote": {"": _in(Phase.VOTING)},
    "voting:ballot": {
        "": _area(Phase.VOTING),
        "council": _area(Phase.VOTING, "council"),
        "closed": _area(Phase.RESULTS),
    },
    "voting:vote_receipt": {"": _area(Phase.VOTING)},
    "voting:paper_voters": {"": _in(Phase.VOTING)},
    "voting:paper_ballot": {
        "": _paper(lambda w: w.paper_voter),
        "voted_online": _paper(lambda w: w.resident_a.resident_profile),
        "other_area": _paper(lambda w: w.paper_voter, area="area_b"),
        "pending_move": _paper(lambda w: w.area_move.profile, area="area_b"),
        "closed_round": _paper(lambda w: w.paper_voter, phase=Phase.RESULTS),
    },
    "voting:paper_ballot_done": {
        "": lambda w: {"slug": w.round(Phase.VOTING).slug, "ballot_pk": w.paper_ballot.pk},
        "online_ballot": lambda w: {
            "slug": w.round(Phase.VOTING).slug,
            "ballot_pk": w.online_ballot.pk,
        },
    },
    "voting:walk_in": {"": _in(Phase.VOTING)},
    "voting:turnout": {"": _in(Phase.VOTING)},
    "voting:round_results": {"": _in(Phase.RESULTS)},
    "voting:round_participation": {"": _in(Phase.VOTING)},
    "voting:participation_outreach": {"": _in(Phase.VOTING)},
    "voting:area_results": {"": _area(Phase.RESULTS)},
    "voting:area_results_csv": {"": _area(Phase.RESULTS)},
    "voting:area_results_pabulib": {"": _area(Phase.RESULTS)},
    "voting:area_receipts": {"": _area(Phase.RESULTS)},
    "job_item_retry": {"": lambda w: {"pk": w.job_item.pk}},
    "email_unsubscribe": {
        "valid": lambda w: {"token": _unsubscribe_token(w)},
        "tampered": lambda w: {"token": _unsubscribe_token(w)[:-3] + "xyz"},
    },
    "account_confirm_email": {"": lambda w: {"key": _confirm_key(w)}},
    "account_reset_password_from_key": {"": lambda w: {"uidb36": "1", "key": "set-a-bad-key"}},
}
for _label in ADMIN_MODELS:
    KWARGS["admin:" + _label.replace(".", "_") + "_change"] = {
        "": lambda w, label=_label: {
            "object_id": apps.get_model(label)._default_manager.order_by("pk").first().pk
        }
    }


# --- Plausible POST data (sent by every role) -------------------------------------------

LOCAL = "%Y-%m-%dT%H:%M"


def _round_form_data(budget_round: Any) -> dict[str, Any]:
    """The round's edit form as the page shows it, sent back unchanged."""
    return {
        key: value.astimezone(timezone.get_current_timezone()).strftime(LOCAL)
        if hasattr(value, "astimezone")
        else ("" if value is None else value)
        for key, value in RoundForm.initial_for(budget_round).items()
    }


def _frozen_round_edit_data(w: World) -> dict[str, Any]:
    """The published round's own values, but Equal Shares and euros: both frozen."""
    data = _round_form_data(w.round(Phase.RESULTS))
    data.update(counting_rule=CountingRule.MES, currency="EUR")
    return data


def _open_round_edit_data(w: World) -> dict[str, Any]:
    """A round in submission renamed: allowed (its address stays)."""
    data = _round_form_data(w.round(Phase.SUBMISSION))
    data.update(name="Submission round, renamed", reason="A clearer name.")
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


def _voting_round_edit_data(w: World) -> dict[str, Any]:
    """The voting round's own values, but area A's budget cut: frozen since voting opened."""
    data = _round_form_data(w.round(Phase.VOTING))
    data[f"area_{w.area_a.pk}"] = "1000"
    return data


def _ballot_data(round_area: Any) -> dict[str, Any]:
    return {"proposals": [p.pk for p in round_area.proposals.all()][:1], "action": "save"}


def _paper_data(round_area: Any) -> dict[str, Any]:
    return {"proposals": [p.pk for p in round_area.proposals.all()][:1]}


def _proposal_data(w: World, phase: Phase, area: Any) -> dict[str, Any]:
    return {
        "title": "Matrix idea",
        "description": "More trees.",
        "round_area": w.round(phase).round_areas.get(area=area).pk,
        "estimated_cost": "1200",
        "action": "submit",
    }


def _review_data(w: World) -> dict[str, Any]:
    return {"action": "review", "decision": "feasible", "official_cost": "1000", "reason": ""}


def _commitment_data(w: World) -> dict[str, Any]:
    return {
        "form": "commitment",
        "commitment-amount": "100.00",
        "commitment-supplier": "Matrix Ltd",
        "commitment-reference": "PO-M",
        "commitment-document_date": _today(),
    }


def _priorities_data(w: World) -> dict[str, Any]:
    """70 and 30 points over the open stage's two themes (the closed one's theme is
    refused by the policy before any number is read)."""
    themes = list(w.round(Phase.PRIORITIES).categories.order_by("pk"))
    return {f"theme_{themes[0].pk}": "70", f"theme_{themes[1].pk}": "30"}


POST_DATA: dict[str, Callable[[World], dict[str, Any]]] = {
    "voting:ballot": lambda w: _ballot_data(w.voting_a),
    "voting:ballot[council]": lambda w: _ballot_data(w.voting_council),
    "voting:ballot[closed]": lambda w: _ballot_data(w.results_a),
    "proposals:proposal_new": lambda w: _proposal_data(w, Phase.SUBMISSION, w.area_a),
    "proposals:proposal_new[council]": lambda w: _proposal_data(w, Phase.SUBMISSION, w.council),
    "proposals:proposal_new[closed]": lambda w: _proposal_data(w, Phase.REVIEW, w.area_a),
    "proposals:proposal_detail[draft]": lambda w: {"body": "A comment on a draft."},
    "proposals:proposal_detail[submitted]": lambda w: {"body": "A matrix comment."},
    "proposals:proposal_edit[draft]": lambda w: {
        "title": "Secret draft, renamed",
        "description": "Still secret.",
        "round_area": w.draft.round_area_id,
        "estimated_cost": "900",
        "action": "save",
    },
    "proposals:proposal_edit[submitted]": lambda w: {
        "title": "Benches by the river, and a bin",
        "description": "Two benches and a bin.",
        "round_area": w.submitted.round_area_id,
        "estimated_cost": "1100",
        "action": "submit",
    },
    "proposals:proposal_coauthors[submitted]": lambda w: {"email": "friend@example.org"},
    "proposals:proposal_coauthors[draft]": lambda w: {"email": "friend@example.org"},
    "proposals:coauthor_invitation": lambda w: {"action": "accept"},
    "proposals:proposal_review[submitted]": _review_data,
    # Voting has opened: its feasibility and cost are what voters saw.
    "proposals:proposal_review[in_voting]": _review_data,
    "proposals:proposal_review[draft]": lambda w: {
        "action": "return",
        "message": "Peeking at a draft.",
    },
    "proposals:proposal_review[codesign]": lambda w: {
        "action": "codesign",
        "cost": "500",
        "description": "",
        "reason": "A smaller rack would do.",
    },
    "proposals:proposal_support": lambda w: {"action": "support"},
    "proposals:codesign_answer": lambda w: {"action": "decline", "reply": "We need ten."},
    "proposals:amendment_new": lambda w: {
        "description": "Bike racks and a pump.",
        "estimated_cost": "",
        "reason": "Flat tyres.",
    },
    "proposals:amendment_answer": lambda w: {"action": "decline", "reply": "A table blocks it."},
    "proposals:merge_answer": lambda w: {"action": "agree"},
    "proposals:proposal_review[merge]": lambda w: {
        "action": "merge",
        "absorbed": w.proposals_by_status["not_feasible"].pk,
        "merge_title": "Both ideas",
        "merge_description": "The two together.",
        "merge_cost": "700",
        "merge_reason": "Same place.",
    },
    "proposals:comment_hide": lambda w: {"reason": "Off topic."},
    "proposals:comment_hide[hidden]": lambda w: {"reason": "Hidden twice."},
    "proposals:officer_round_create": _round_new_data,
    "proposals:officer_round_edit[results]": _frozen_round_edit_data,
    "proposals:officer_round_edit[submission]": _open_round_edit_data,
    "proposals:officer_round_edit[voting]": _voting_round_edit_data,
    "proposals:officer_areas": lambda w: {"name": "Area C", "population": "100"},
    "proposals:officer_area_edit": lambda w: {"name": "Area B renamed", "population": "7"},
    # The whole-council area of the voting round, no longer whole-council: frozen.
    "proposals:officer_area_edit[council_in_voting]": lambda w: {
        "name": w.council.name,
        "population": "",
    },
    "proposals:officer_resident_area": lambda w: {"area": w.area_b.pk, "reason": "Moved."},
    "proposals:officer_categories": lambda w: {"name": "Play"},
    "proposals:priorities": lambda w: {"name": "Benches"},
    "proposals:priorities_respond": _priorities_data,
    "proposals:priorities_respond[closed]": _priorities_data,
    "proposals:officer_priorities": lambda w: {
        "suggestion": w.theme_suggestion.pk,
        f"s{w.theme_suggestion.pk}-decision": "approve",
    },
    "proposals:officer_priorities_paper": lambda w: {"channel": "paper", **_priorities_data(w)},
    "proposals:officer_priorities_paper[closed]": lambda w: {
        "channel": "paper",
        **_priorities_data(w),
    },
    "proposals:officer_priorities_statement": lambda w: {"text": "We will do this."},
    "proposals:officer_priorities_statement[open]": lambda w: {"text": "Too early."},
    "proposals:officer_register": lambda w: {"action": "check"},
    "proposals:officer_register_codes": lambda w: {"area": w.area_a.pk, "count": "2"},
    "proposals:eligibility_verify": lambda w: {"method": "code", "code-code": "NOT-A-CODE"},
    "voting:paper_ballot": lambda w: _paper_data(w.voting_a),
    "voting:paper_ballot[voted_online]": lambda w: _paper_data(w.voting_a),
    "voting:paper_ballot[other_area]": lambda w: _paper_data(
        w.round(Phase.VOTING).round_areas.get(area=w.area_b)
    ),
    "voting:paper_ballot[pending_move]": lambda w: _paper_data(
        w.round(Phase.VOTING).round_areas.get(area=w.area_b)
    ),
    "voting:paper_ballot[closed_round]": lambda w: _paper_data(w.results_a),
    "voting:participation_outreach": lambda w: {
        "area": w.area_a.pk,
        "kind": "event",
        "happened_on": _today(),
        "description": "A stall at the market.",
    },
    "voting:walk_in": lambda w: {
        "name": "Wendy Walkin",
        "area": w.area_a.pk,
        "date_of_birth": "1980-03-27",
    },
    "ledgers:officer_proposal[funded]": _commitment_data,
    "ledgers:officer_proposal[lost]": _commitment_data,
    "ledgers:officer_proposal[in_review]": _commitment_data,
    "ledgers:officer_proposal[draft]": lambda w: {
        "form": "delivery",
        "delivery-status": "in_progress",
        "delivery-happened_on": _today(),
        "delivery-note": "Peeking at a draft.",
    },
    "ledgers:officer_reverse": lambda w: {"reason": "Typed the wrong amount."},
    "ledgers:proposal_follow": lambda w: {"action": "follow"},
    "ledgers:assessment_edit": lambda w: {
        "score_1": "5",
        "score_2": "4",
        "score_3": "3",
        "score_4": "2",
        "comment": "Well built.",
    },
    "ledgers:officer_assessments": lambda w: {
        "form": "reply",
        "assessment": w.assessment.pk,
        f"reply-{w.assessment.pk}-reply": "Thank you.",
    },
    "ledgers:round_assessments": lambda w: {
        "window_months": "18",
        "criteria": "Meets the need\nQuality\nValue for money\nAccessibility",
    },
    "ledgers:officer_milestone": lambda w: {
        "progress": "50",
        "planned_on": w.milestone.planned_on.isoformat(),
        "reason": "",
    },
    # An unticked box: resident-facing emails about proposals turned off.
    "email_preferences": lambda w: {outbox.PROPOSAL_DECISION.name: "false"},
    "account_close": lambda w: {"confirm": "on", "password": PASSWORD},
    "language_choose": lambda w: {"language": "pl", "next": "/rounds/"},
    # Through the admin, a voting round's area made whole-council and given a new
    # address: both bypass the officer page's rules.
    "admin:proposals_area_change": lambda w: {
        "name": w.area_a.name,
        "slug": "area-a-moved",
        "population": "",
        "is_city_wide": "on",
    },
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
                name = entry.name or f"(unnamed) {prefix}{entry.pattern}"
                found.append(f"{namespace}:{name}" if namespace else name)

    walk(get_resolver().url_patterns, "", "")
    return list(dict.fromkeys(found))


def walked_names() -> list[str]:
    return [name for name in url_names() if not ADMIN_NOT_WALKED.match(name)]


def url_keys(name: str) -> list[tuple[str, str]]:
    """(variant, key in EXPECTED) for each way the matrix instantiates the URL."""
    return [
        (variant, f"{name}[{variant}]" if variant else name)
        for variant in KWARGS.get(name, {"": None})
    ]


@dataclass(frozen=True)
class Cell:
    name: str
    variant: str
    role: str
    method: str

    @property
    def key(self) -> str:
        return f"{self.name}[{self.variant}]" if self.variant else self.name

    def __str__(self) -> str:
        return f"{self.key}-{self.role}-{self.method}"


def matrix_cells() -> list[Cell]:
    """Every URL (each variant) the table has outcomes for, x roles x methods. URLs the
    table lacks are listed by ``test_every_url_pattern_has_expected_outcomes``."""
    return [
        Cell(name, variant, role, method)
        for name in walked_names()
        for variant, key in url_keys(name)
        if key in EXPECTED
        for role in ROLES
        for method in METHODS
    ]


def _param(cell: Cell) -> Any:
    reason = KNOWN_BUGS.get((cell.key, cell.role, cell.method))
    marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
    return pytest.param(cell, marks=marks, id=str(cell))


CELLS = matrix_cells()
# Observed outcomes, counted for the terminal summary (``tests/conftest.py``).
OUTCOMES: Counter[str] = Counter()
TIMING: dict[str, float] = {}


def summary_lines(results: Counter[str]) -> list[str]:
    """The matrix's size, its observed outcomes and its test results, for the summary."""
    urls = len({cell.key for cell in CELLS})
    patterns = len({cell.name for cell in CELLS})
    elapsed = time.monotonic() - TIMING["start"] if "start" in TIMING else 0.0
    return [
        f"{urls} URLs ({patterns} URL patterns) x {len(ROLES)} roles x {len(METHODS)} "
        f"methods = {urls * len(ROLES) * len(METHODS)} cells; {sum(OUTCOMES.values())} "
        f"requests made in {elapsed:.0f}s (world built in {TIMING.get('world', 0):.1f}s)",
        "responses: " + ", ".join(f"{k}: {v}" for k, v in sorted(OUTCOMES.items())),
        "cells: " + ", ".join(f"{k}: {v}" for k, v in sorted(results.items())),
    ]


# --- The table covers the URLconf -------------------------------------------------------


def test_every_url_pattern_has_expected_outcomes() -> None:
    """A URL added to the site without its row in EXPECTED fails here, by name."""
    missing = [key for name in walked_names() for _v, key in url_keys(name) if key not in EXPECTED]
    assert not missing, (
        "These URLs have no outcomes in EXPECTED (tests/test_authorisation_matrix.py): "
        + ", ".join(missing)
        + ". Add each one's outcome per role for GET and POST (and KWARGS / POST_DATA if "
        "it takes arguments or a POST creates something)."
    )


def test_the_table_names_only_urls_that_exist() -> None:
    """A row for a URL that was removed or renamed would silently test nothing."""
    known = {key for name in url_names() for _v, key in url_keys(name)}
    stale = sorted(
        (set(EXPECTED) | set(POST_DATA) | {name for name in KWARGS}) - known - set(url_names())
    )
    assert not stale, f"EXPECTED, KWARGS or POST_DATA name URLs the site lacks: {stale}"
    unknown_bugs = sorted(key for key, _role, _method in KNOWN_BUGS if key not in EXPECTED)
    assert not unknown_bugs, f"KNOWN_BUGS names URLs without a row: {unknown_bugs}"


# --- Running a cell --------------------------------------------------------------------


@dataclass
class Matrix:
    world: World
    sessions: dict[str, str]
    before: dict[str, tuple[int, str]]

    def client(self, role: str) -> Client:
        client = Client(raise_request_exception=False)
        if role != "anonymous":
            client.cookies[settings.SESSION_COOKIE_NAME] = self.sessions[role]
        return client


@pytest.fixture(scope="module")
def matrix(django_db_setup, django_db_blocker, tmp_path_factory):
    """The world, built once for the module inside a transaction rolled back at the end,
    with a signed-in session per role (and uploads in a throwaway folder)."""
    TIMING["start"] = time.monotonic()
    hashers = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with (
        django_db_blocker.unblock(),
        override_settings(
            PASSWORD_HASHERS=hashers, MEDIA_ROOT=tmp_path_factory.mktemp("matrix-media")
        ),
        rolled_back(),
    ):
        world = world_build()
        world_photos(world)
        sessions = {}
        for role in ROLES:
            if role != "anonymous":
                client = Client()
                client.force_login(world_user(world, role))
                sessions[role] = client.session.session_key
        TIMING["world"] = time.monotonic() - TIMING["start"]
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


@pytest.mark.parametrize("cell", [_param(cell) for cell in CELLS])
def test_matrix_cell(cell: Cell, matrix: Matrix, django_db_blocker) -> None:
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
            body = b"".join(response.streaming_content)
        else:
            body = response.content
        outcome = observed(response)
        changes = fingerprint_changes(matrix.before, database_fingerprint())
    OUTCOMES[outcome] += 1
    where = f"{cell.method} {url} as {cell.role}"
    assert outcome in allowed.split("|"), (
        f"{where}: expected {expected}, got {outcome} (Location: {response.get('Location', '-')})"
    )
    if writes == "writes":
        # The same request the other roles send is one that does change something, so
        # their "nothing changed" means they were refused, not that the data was wrong.
        assert changes, f"{where} was expected to save something and changed nothing"
    else:
        assert not changes, f"{where} changed the database:\n" + "\n".join(changes)
    text = body.decode(errors="replace")
    shown = [secret for secret, readers in SECRETS.items() if cell.role not in readers]
    leaked = [secret for secret in shown if secret in text]
    assert not leaked, f"{where} shows {leaked}, which {cell.role} may not read"
