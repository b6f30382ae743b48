"""Sign-in that resists abuse and outages: the admin signs in through the same limited
page, a stranger's wrong passwords lock out only the stranger, Redis or the mail server
being down never makes a sign-in, sign-up or reset page fail, a reset for an unknown
address sends nothing, and officers can be made to use two-factor sign-in."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import smtplib
import struct
import time
from datetime import timedelta
from types import SimpleNamespace

import pytest
from allauth.core.internal import ratelimit
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.contrib.auth import get_user_model
from django.core.cache.backends.redis import RedisCache
from django.core.mail.backends import locmem
from django.db import connection
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone
from redis.exceptions import ConnectionError as RedisConnectionError

from pb_platform.models import OutboxEmail
from pb_platform.outbox import outbox_sweep
from pb_platform.tasks import send_outbox_email
from tests.accounts.mailbox import delivered
from tests.factories import PASSWORD, UserFactory

User = get_user_model()

STRANGER = "203.0.113.66"
OWNER = "198.51.100.7"
TOO_MANY = "Too many failed login attempts"
WRONG = "not correct"
# Nothing listens here: a Redis that is configured but down.
CLOSED_REDIS = "redis://127.0.0.1:9/0"


def client_at(ip: str) -> Client:
    return Client(REMOTE_ADDR=ip)


def sign_in(client: Client, email: str, password: str, *, next_url: str = ""):
    url = reverse("account_login") + (f"?next={next_url}" if next_url else "")
    return client.post(url, {"login": email, "password": password})


def signed_in_as(client: Client) -> str | None:
    user_id = client.session.get("_auth_user_id")
    return User.objects.get(pk=user_id).email if user_id else None


def later(monkeypatch, seconds: float) -> None:
    """allauth's rate limits read this clock: move it ``seconds`` on."""
    monkeypatch.setattr(
        ratelimit,
        "time",
        SimpleNamespace(
            time=lambda: time.time() + seconds, monotonic=time.monotonic, sleep=time.sleep
        ),
    )


# --- 1. The admin signs in through allauth ----------------------------------------------


@pytest.fixture
def superuser(db):
    return UserFactory(email="admin@example.org", is_staff=True, is_superuser=True)


def test_sixty_wrong_passwords_for_the_admin_are_refused_after_five(superuser, monkeypatch):
    attacker = client_at(STRANGER)

    # The admin's own form checks no password any more: it sends everyone to ours.
    for _ in range(60):
        response = attacker.post(
            "/admin/login/", {"username": superuser.username, "password": "guess"}
        )
        assert response.status_code == 302
        assert response.url.startswith(reverse("account_login"))
    assert signed_in_as(attacker) is None

    answers = [
        sign_in(attacker, superuser.email, f"guess-{n}", next_url="/admin/") for n in range(60)
    ]
    # Five passwords are checked; the form refuses the next 25 unchecked; from the 31st
    # in a minute, the address gets "429 Too Many Requests" before any form.
    assert [WRONG in answer.content.decode() for answer in answers[:5]] == [True] * 5
    assert all(TOO_MANY in answer.content.decode() for answer in answers[5:30])
    assert [answer.status_code for answer in answers[30:]] == [429] * 30

    # The right password from that address waits out the limits…
    assert sign_in(attacker, superuser.email, PASSWORD).status_code == 429
    later(monkeypatch, 61)
    assert TOO_MANY in sign_in(attacker, superuser.email, PASSWORD).content.decode()
    assert signed_in_as(attacker) is None
    # …while the administrator, elsewhere, is not locked out and reaches the admin.
    admin = client_at(OWNER)
    response = sign_in(admin, superuser.email, PASSWORD, next_url="/admin/")
    assert response.status_code == 302 and response.url == "/admin/"
    assert admin.get("/admin/").status_code == 200

    later(monkeypatch, 5 * 60 + 1)
    assert sign_in(attacker, superuser.email, PASSWORD).status_code == 302
    assert signed_in_as(attacker) == superuser.email


# --- 2. A stranger cannot keep an owner locked out ---------------------------------------


def test_a_strangers_wrong_passwords_do_not_lock_out_the_owner(resident_a):
    stranger = client_at(STRANGER)
    for n in range(20):
        sign_in(stranger, resident_a.email, f"guess-{n}")
    assert TOO_MANY in sign_in(stranger, resident_a.email, "guess").content.decode()

    owner = client_at(OWNER)
    assert sign_in(owner, resident_a.email, PASSWORD).status_code == 302
    assert signed_in_as(owner) == resident_a.email


def test_locked_out_of_passwords_the_owner_still_signs_in_with_an_emailed_code(resident_a):
    shared = client_at(STRANGER)  # e.g. the same café wifi as the stranger
    for n in range(6):
        sign_in(shared, resident_a.email, f"guess-{n}")
    assert TOO_MANY in sign_in(shared, resident_a.email, PASSWORD).content.decode()

    response = shared.post(reverse("account_request_login_code"), {"email": resident_a.email})
    assert response.status_code == 302
    (email,) = delivered()
    assert email.to == [resident_a.email]
    code = re.search(r"^\s*([A-Z0-9]{3,}(?:-[A-Z0-9]+)*)\s*$", email.body, re.MULTILINE)
    assert code, email.body
    response = shared.post(reverse("account_confirm_login_code"), {"code": code.group(1)})
    assert response.status_code == 302
    assert signed_in_as(shared) == resident_a.email


def test_locked_out_of_passwords_the_owner_can_reset_and_then_sign_in(resident_a):
    shared = client_at(STRANGER)
    for n in range(6):
        sign_in(shared, resident_a.email, f"guess-{n}")

    shared.post(reverse("account_reset_password"), {"email": resident_a.email})
    (email,) = delivered()
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S+/)", email.body)
    form = shared.get(link.group(1), follow=True)
    new = "a-brand-new-passphrase-9"
    shared.post(form.redirect_chain[-1][0], {"password1": new, "password2": new})

    # A successful reset clears the failures counted for this account from here.
    assert sign_in(shared, resident_a.email, new).status_code == 302
    assert signed_in_as(shared) == resident_a.email


# --- 3. Redis down, mail server down ------------------------------------------------------


# These swap the cache with override_settings inside the fixture (not pytest-django's
# ``settings``) so the swap is undone before the shared fixture clears the cache.


@pytest.fixture
def redis_down():
    cache = {
        "BACKEND": "pb_platform.cache.RedisWithDatabaseFallback",
        "LOCATION": CLOSED_REDIS,
        "KEY_PREFIX": "commonpurse",
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
    # The plain Redis cache (what we had) really cannot reach it: every write fails.
    with pytest.raises(RedisConnectionError):
        RedisCache(CLOSED_REDIS, {}).add("probe", 1)
    with override_settings(CACHES={"default": cache}):
        yield


@pytest.fixture
def database_cache():
    """What the settings choose when REDIS_URL is unset (test_settings.py checks that)."""
    cache = {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "pb_cache",
        "KEY_PREFIX": "commonpurse",
    }
    with override_settings(CACHES={"default": cache}):
        yield


def rate_limit_rows() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM pb_cache WHERE cache_key LIKE %s", ["%allauth:rl%"])
        return cursor.fetchone()[0]


def test_with_redis_down_sign_in_works_and_limits_hold_in_the_database(
    redis_down, resident_a, caplog
):
    with caplog.at_level(logging.WARNING, logger="pb_platform.cache"):
        owner = client_at(OWNER)
        assert sign_in(owner, resident_a.email, PASSWORD).status_code == 302
        assert signed_in_as(owner) == resident_a.email
    assert "Redis cache unreachable" in caplog.text

    stranger = client_at(STRANGER)
    answers = [sign_in(stranger, resident_a.email, "guess").content.decode() for _ in range(7)]
    assert [WRONG in a for a in answers] == [True] * 5 + [False] * 2
    assert all(TOO_MANY in a for a in answers[5:])
    # Counted where every web process sees them, not in this process's memory.
    assert rate_limit_rows() > 0


def test_with_redis_down_sign_up_and_reset_work(redis_down, area_a, resident_a):
    response = Client().post(
        reverse("account_signup"),
        {
            "email": "new.resident@example.org",
            "password1": "plenty-of-words-here-7",
            "password2": "plenty-of-words-here-7",
            "display_name": "New Resident",
            "area": area_a.pk,
        },
    )
    assert response.status_code == 302
    assert User.objects.filter(email="new.resident@example.org").exists()

    response = Client().post(reverse("account_reset_password"), {"email": resident_a.email})
    assert response.status_code == 302
    assert sorted(email.to[0] for email in delivered()) == [
        "new.resident@example.org",
        resident_a.email,
    ]


def test_without_redis_limits_live_in_the_database_cache(database_cache, resident_a):
    for _ in range(6):
        sign_in(client_at(STRANGER), resident_a.email, "guess")
    assert rate_limit_rows() > 0


@pytest.fixture
def smtp_down(monkeypatch):
    attempts: list[str] = []

    def send_messages(self, messages):
        attempts.extend(message.to[0] for message in messages)
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")

    monkeypatch.setattr(locmem.EmailBackend, "send_messages", send_messages)
    # The fast path runs the send task at once, as a worker would.
    monkeypatch.setattr(
        send_outbox_email, "delay", lambda item_id: send_outbox_email.apply(args=[item_id])
    )
    return attempts


def test_with_the_mail_server_down_sign_up_succeeds_and_the_email_follows_later(
    smtp_down, area_a, monkeypatch, django_capture_on_commit_callbacks
):
    client = Client()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("account_signup"),
            {
                "email": "new.resident@example.org",
                "password1": "plenty-of-words-here-7",
                "password2": "plenty-of-words-here-7",
                "display_name": "New Resident",
                "area": area_a.pk,
            },
            follow=True,
        )
    assert response.status_code == 200
    assert "on its way" in response.content.decode()
    assert smtp_down == ["new.resident@example.org"]  # tried once, refused
    item = OutboxEmail.objects.get(kind="account")
    assert item.attempts == 1 and "SMTPServerDisconnected" in item.last_error
    assert item.params["values"]["activate_url"]

    monkeypatch.undo()  # the mail server is back
    outbox_sweep(now=timezone.now() + timedelta(minutes=2))
    (email,) = delivered()
    assert email.subject.startswith("[Commonpurse] ")
    link = re.search(r"https?://[^/\s]+(/accounts/confirm-email/\S+/)", email.body)
    client.post(link.group(1))
    user = User.objects.get(email="new.resident@example.org")
    assert user.emailaddress_set.get().verified
    # The working link is not kept once it has been sent.
    item.refresh_from_db()
    assert item.sent_at is not None and item.params == {}


def test_with_the_mail_server_down_a_reset_and_a_sign_in_code_do_not_fail(
    smtp_down, resident_a, django_capture_on_commit_callbacks
):
    client = client_at(OWNER)
    with django_capture_on_commit_callbacks(execute=True):
        reset = client.post(
            reverse("account_reset_password"), {"email": resident_a.email}, follow=True
        )
        code = client.post(reverse("account_request_login_code"), {"email": resident_a.email})
    assert reset.status_code == 200 and "on its way" in reset.content.decode()
    assert code.status_code == 302
    assert smtp_down == [resident_a.email, resident_a.email]
    assert OutboxEmail.objects.filter(kind="account", attempts=1, sent_at=None).count() == 2


# --- 4. Nothing is sent for an unknown address -----------------------------------------


def test_a_reset_for_an_unknown_address_sends_nothing_and_looks_the_same(resident_a):
    unknown = Client().post(reverse("account_reset_password"), {"email": "nobody@example.org"})
    known = Client().post(reverse("account_reset_password"), {"email": resident_a.email})

    assert (unknown.status_code, unknown.url) == (known.status_code, known.url)
    assert [email.to for email in delivered()] == [[resident_a.email]]
    assert not OutboxEmail.objects.filter(to_email="nobody@example.org").exists()


# --- 5. Two-factor sign-in for officers and auditors -------------------------------------


def totp_code(secret: str) -> str:
    """RFC 6238 (30-second steps, 6 digits, HMAC-SHA1), computed here, as an
    authenticator app would. Waits out the last second of a step so the server sees
    the same step."""
    if time.time() % 30 > 29:
        time.sleep(1.1)
    counter = int(time.time() // 30)
    digest = hmac.new(
        base64.b32decode(secret, casefold=True), struct.pack(">Q", counter), hashlib.sha1
    ).digest()
    offset = digest[-1] & 0x0F
    value = (struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 1_000_000
    return f"{value:06d}"


@pytest.fixture
def mfa_required(settings):
    settings.MFA_REQUIRED_FOR_STAFF = True


def test_when_required_an_officer_sets_up_two_factor_before_using_their_pages(
    mfa_required, officer, resident_a
):
    client = Client()
    sign_in(client, officer.email, PASSWORD)
    response = client.get(reverse("proposals:officer_dashboard"))
    assert response.status_code == 302 and response.url == reverse("mfa_activate_totp")

    # Turning it on asks for the password again (allauth's rule for security changes).
    reauthenticate = client.get(response.url)
    assert reauthenticate.url.startswith(reverse("account_reauthenticate"))
    client.post(reauthenticate.url, {"password": PASSWORD})
    page = client.get(response.url)
    assert "two-factor sign-in" in page.content.decode()
    secret = client.session["mfa.totp.secret"]
    assert client.post(response.url, {"code": "000000"}).status_code == 200  # wrong code
    assert not Authenticator.objects.filter(user=officer).exists()
    client.post(response.url, {"code": totp_code(secret)})
    assert Authenticator.objects.filter(user=officer, type=Authenticator.Type.TOTP).exists()
    assert client.get(reverse("proposals:officer_dashboard")).status_code == 200

    # Residents are never asked.
    resident = Client()
    sign_in(resident, resident_a.email, PASSWORD)
    assert resident.get(reverse("proposals:my_account")).status_code == 200


def test_when_required_the_admin_site_asks_its_staff_for_two_factor_too(mfa_required, superuser):
    client = client_at(OWNER)
    sign_in(client, superuser.email, PASSWORD)
    response = client.get("/admin/proposals/area/")
    assert response.status_code == 302 and response.url == reverse("mfa_activate_totp")

    TOTP.activate(superuser, generate_totp_secret())
    assert client.get("/admin/proposals/area/").status_code == 200


def test_when_not_required_an_officer_without_two_factor_uses_their_pages(officer, auditor):
    for user, page in [
        (officer, "proposals:officer_dashboard"),
        (auditor, "proposals:audit_overview"),
    ]:
        client = Client()
        sign_in(client, user.email, PASSWORD)
        assert client.get(reverse(page)).status_code == 200


def test_an_auditor_with_two_factor_needs_the_code_as_well_as_the_password(mfa_required, auditor):
    secret = generate_totp_secret()
    TOTP.activate(auditor, secret)
    client = Client()

    response = sign_in(client, auditor.email, PASSWORD)
    assert response.status_code == 302 and response.url == reverse("mfa_authenticate")
    assert signed_in_as(client) is None  # the password alone is not enough
    assert client.post(response.url, {"code": "000000"}).status_code == 200
    assert signed_in_as(client) is None

    client.post(response.url, {"code": totp_code(secret)})
    assert signed_in_as(client) == auditor.email
    assert client.get(reverse("proposals:audit_overview")).status_code == 200
