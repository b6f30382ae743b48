"""The site in each of its languages: every message translated, the switcher (a form, no
JavaScript), the browser's language on a first visit, emails in the reader's language,
and dates and money written as the language writes them.

Every page in every language is crawled in tests/test_accessibility.py (accessible, in
that language, no English left); the data formats are checked the same in every
language in tests/test_api.py.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import formats, translation
from django.views.defaults import server_error

from pb_platform.dates import named_format
from pb_platform.models import EmailLanguage
from pb_platform.money import money_format, money_parse
from tests import english_left
from tests.accounts.mailbox import delivered
from tests.accounts.test_accounts import confirmation_link, signup
from tests.conftest import client_for

REPO_ROOT = Path(__file__).resolve().parents[2]
LOCALE = REPO_ROOT / "locale"
POLISH = "pl-PL,pl;q=0.9,en;q=0.5"


def catalogs() -> list[Path]:
    return sorted(LOCALE.glob("*/LC_MESSAGES/*.po"))


# --- Every string translated ----------------------------------------------------------


def test_every_language_of_the_site_has_its_catalogs():
    for language in english_left.other_site_languages():
        folder = LOCALE / translation.to_locale(language) / "LC_MESSAGES"
        assert {p.name for p in folder.glob("*.po")} == {"django.po", "djangojs.po"}, folder


@pytest.mark.parametrize("po_file", catalogs(), ids=lambda p: str(p.relative_to(LOCALE)))
def test_every_message_is_translated_and_none_is_fuzzy(po_file):
    """``msgfmt --statistics`` counts untranslated and fuzzy messages; --check refuses a
    translation whose placeholders differ from the English."""
    result = subprocess.run(
        ["msgfmt", "--check", "--statistics", "-o", "/dev/null", str(po_file)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    statistics = result.stderr.strip().splitlines()[-1]
    assert re.fullmatch(r"\d+ translated messages?\.", statistics), f"{po_file}: {statistics}"


def msgids(po_file: Path) -> set[str]:
    """The English messages of a catalog."""
    return set(english_left.catalog_texts(po_file)[0])


def test_the_catalogs_hold_every_message_the_code_and_templates_have(tmp_path):
    """A message added to a template or to the code without `make messages` would reach
    readers in English: gather the messages afresh (in a copy) and compare."""
    copy = tmp_path / "site"
    ignored = shutil.ignore_patterns(
        ".venv", "node_modules", ".git", "tests", "bench", "media", "staticfiles", "var",
        "test-output", "*.mo", "__pycache__", ".env",
    )  # fmt: skip
    shutil.copytree(REPO_ROOT, copy, ignore=ignored)
    environment = {"DEBUG": "true", "PATH": "/usr/bin:/bin"}
    for domain in ("django", "djangojs"):
        subprocess.run(
            [sys.executable, "manage.py", "makemessages", "--all", "--domain", domain,
             "--no-obsolete", "--no-location"],
            cwd=copy, check=True, capture_output=True, env=environment,
        )  # fmt: skip
    for po_file in catalogs():
        fresh = copy / po_file.relative_to(REPO_ROOT)
        missing = msgids(fresh) - msgids(po_file)
        assert not missing, f"run `make messages`: {po_file} lacks {sorted(missing)[:10]}"


# --- Choosing the language ------------------------------------------------------------


def html_lang(response) -> str:
    match = re.search(r'<html lang="([^"]+)"', response.content.decode())
    assert match, "no <html lang>"
    return match.group(1)


def test_a_first_visit_is_in_the_browsers_language(db):
    assert html_lang(Client().get("/", HTTP_ACCEPT_LANGUAGE=POLISH)) == "pl"
    assert html_lang(Client().get("/", HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9")) == "en-gb"
    assert html_lang(Client().get("/")) == "en-gb"


def test_the_switcher_is_a_form_that_works_without_javascript(db):
    client = Client(enforce_csrf_checks=True)
    page = client.get("/rounds/", HTTP_ACCEPT_LANGUAGE=POLISH).content.decode()
    form = re.search(r'<form class="language-form".*?</form>', page, re.S)
    assert form, "no language switcher"
    assert f'action="{reverse("language_choose")}"' in form.group()
    assert '<option value="pl" lang="pl" selected>Polski</option>' in form.group()
    assert '<option value="en-gb" lang="en-gb">English</option>' in form.group()
    assert 'name="next" value="/rounds/"' in form.group()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.group()).group(1)

    # A Polish browser chooses English: the choice is kept and beats Accept-Language.
    response = client.post(
        reverse("language_choose"),
        {"language": "en-gb", "next": "/rounds/", "csrfmiddlewaretoken": token},
        HTTP_ACCEPT_LANGUAGE=POLISH,
    )
    assert response.status_code == 302 and response["Location"] == "/rounds/"
    cookie = response.cookies[settings.LANGUAGE_COOKIE_NAME]
    assert cookie.value == "en-gb" and cookie["httponly"] and cookie["samesite"] == "Lax"
    assert int(cookie["max-age"]) >= 300 * 24 * 3600
    assert html_lang(client.get("/rounds/", HTTP_ACCEPT_LANGUAGE=POLISH)) == "en-gb"


def test_the_switcher_refuses_what_it_does_not_offer_and_stays_on_the_site(db):
    client = Client()
    unknown = client.post(reverse("language_choose"), {"language": "xx", "next": "/rounds/"})
    assert unknown.status_code == 302 and settings.LANGUAGE_COOKIE_NAME not in unknown.cookies
    away = client.post(
        reverse("language_choose"), {"language": "pl", "next": "https://evil.example/"}
    )
    assert away.status_code == 302 and away["Location"] == "/"
    assert client.get(reverse("language_choose")).status_code == 405
    without_token = Client(enforce_csrf_checks=True).post(
        reverse("language_choose"), {"language": "pl"}
    )
    assert without_token.status_code == 403


# --- Emails in the reader's language --------------------------------------------------


def test_a_signed_in_persons_choice_is_the_language_of_their_emails(resident_a):
    client = client_for(resident_a)
    client.post(reverse("language_choose"), {"language": "pl", "next": "/"})
    assert EmailLanguage.objects.get(user=resident_a).language == "pl"
    client.post(reverse("language_choose"), {"language": "en-gb", "next": "/"})
    assert EmailLanguage.objects.get(user=resident_a).language == "en-gb"


def test_signing_up_in_polish_sends_the_confirmation_in_polish(area_a):
    client = Client(HTTP_ACCEPT_LANGUAGE=POLISH)
    assert signup(client, area_a).status_code == 302
    assert EmailLanguage.objects.get(user__email="new.resident@example.org").language == "pl"
    (email,) = delivered()
    with translation.override("pl"):
        subject = translation.gettext("Please Confirm Your Email Address")
    assert subject != "Please Confirm Your Email Address" and subject in email.subject
    assert "Please" not in email.body and "receiving this" not in email.body
    assert confirmation_link()  # the link works whatever the language


# --- Dates, numbers and money as each language writes them ----------------------------


@pytest.mark.parametrize(
    ("language", "currency", "amount", "shown"),
    [
        ("pl", "PLN", "1250", "1\u00a0250,00\u00a0zł"),
        ("en-gb", "GBP", "1250", "£1,250.00"),
        ("pl", "GBP", "1250", "1\u00a0250,00\u00a0GBP"),
        ("en-gb", "PLN", "1250", "PLN\u00a01,250.00"),
        ("pl", "EUR", "12500.5", "12\u00a0500,50\u00a0€"),
        ("en-gb", "GBP", "-5", "-£5.00"),
    ],
)
def test_money_is_written_in_the_readers_way_with_the_rounds_currency(
    language, currency, amount, shown
):
    with translation.override(language):
        assert money_format(Decimal(amount), currency) == shown


def test_an_amount_typed_in_polish_is_read_with_its_decimal_comma():
    with translation.override("pl"):
        assert money_parse("1250,50") == Decimal("1250.50")
    with translation.override("en-gb"):
        assert money_parse("1250.50") == Decimal("1250.50")


def test_dates_are_written_in_the_readers_way():
    moment = datetime(2026, 12, 4, 17, 5)
    with translation.override("pl"):
        assert formats.date_format(moment, "DATE_FORMAT") == "4 grudnia 2026"
        assert formats.date_format(moment, "SHORT_DATETIME_FORMAT") == "04.12.2026, 17:05"
        assert (
            formats.date_format(moment, named_format("WEEKDAY_DATETIME_FORMAT"))
            == "4 grudnia 2026, 17:05"
        )
    with translation.override("en-gb"):
        assert formats.date_format(moment, "DATE_FORMAT") == "4 December 2026"
        assert (
            formats.date_format(moment, named_format("WEEKDAY_DATETIME_FORMAT"))
            == "Friday 4 December 2026, 17:05"
        )


def test_the_ballots_live_total_speaks_the_readers_language(db):
    catalog = Client().get(reverse("javascript_catalog"), HTTP_ACCEPT_LANGUAGE=POLISH)
    assert catalog.status_code == 200
    text = catalog.content.decode()
    for message in ("Your choices add up to %(spent)s of %(budget)s.", "Left: %(left)s."):
        match = re.search(re.escape(f'"{message}": "') + r'([^"]+)"', text)
        assert match and match.group(1) != message and "%(" in match.group(1), message


# --- Error pages ----------------------------------------------------------------------


def test_error_pages_are_in_the_readers_language(db, rf):
    polish = Client(HTTP_ACCEPT_LANGUAGE=POLISH)
    not_found = polish.get("/no-such-page/")
    refused = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE=POLISH).post(
        reverse("language_choose"), {"language": "pl"}
    )
    with translation.override("pl"):
        broken = server_error(rf.get("/"))
    for response in (not_found, refused, broken):
        html = response.content.decode()
        assert '<html lang="pl">' in html, response.status_code
        leaks = english_left.english_on_page(english_left.html_texts(html), language="pl", typed=[])
        assert not leaks, f"{response.status_code}: {leaks}"
