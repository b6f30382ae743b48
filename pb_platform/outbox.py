"""One outbox for every email the platform sends, with per-kind preferences.

How an email travels:

1. The service that causes it calls ``email_enqueue`` inside its own transaction, so the
   email is stored with the event or not at all. It stores the kind, the template name,
   the parameters (ids and plain values) and the recipient's language, not rendered text.
2. After that transaction commits, a Celery task is poked with the item's id. If the
   broker is down then, nothing is lost: the beat sweep (``outbox_sweep``) finds it.
3. A sender claims the item with a **lease**: a conditional UPDATE that sets
   ``claimed_until`` only if nobody holds an unexpired claim. It renders the email in
   the recipient's language, hands it to the mail server, and only then writes
   ``sent_at``. A worker killed between claim and send leaves the lease to expire and a
   later sweep sends the email: delivery is at least once. A duplicate is possible only
   if the worker dies after the mail server accepted the message and before ``sent_at``
   was written (or if one send outlasts its lease, which is why the lease is a multiple
   of ``EMAIL_TIMEOUT``).
4. A failed send is recorded (attempts, last error, next try with back-off). After
   ``MAX_ATTEMPTS`` failures the item is given up and waits for an officer's
   ``outbox_retry``. Each item is claimed, sent and recorded on its own, so one bad
   item never stops the sweep.

Kinds are declared in ``KINDS`` (a later notification adds one line, or calls
``email_kind_register``). Kinds people may turn off carry a one-click unsubscribe link
(RFC 8058 ``List-Unsubscribe`` headers) with a signed token, so no login is needed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from kombu.exceptions import OperationalError as BrokerUnavailable

from pb_platform.models import EmailLanguage, EmailPreference, OutboxEmail
from pb_platform.policies import ALLOW, Decision, deny, enforce
from pb_platform.users import AnyUser, User

logger = logging.getLogger(__name__)

# After this many failed sends an item waits for an officer.
MAX_ATTEMPTS = 5
# Back-off after the n-th failure: 1, 2, 4, 8 minutes.
BACKOFF_BASE = timedelta(minutes=1)
# Items per sweep; the next sweep takes the rest.
SWEEP_LIMIT = 500
UNSUBSCRIBE_SALT = "pb_platform.outbox.unsubscribe"


def lease_length() -> timedelta:
    """How long a claim holds. A send is several socket operations, each allowed
    ``EMAIL_TIMEOUT``; four of them (at least twice the timeout, as promised) make a
    second sender taking over a slow but live send unlikely."""
    return timedelta(seconds=4 * settings.EMAIL_TIMEOUT)


# --- Kinds ------------------------------------------------------------------------------


@dataclass(frozen=True)
class EmailKind:
    name: str
    label: Any  # lazy translated string, shown on the preferences page
    template_name: str
    # Dotted path to ``(params) -> dict | None``: the template's context, built at send
    # time from the stored ids; None when there is nothing left to tell.
    context: str
    unsubscribable: bool = True
    # For kinds that cannot be turned off: why, in words for residents.
    always_because: Any = ""
    # The body template is "<template_name><body_suffix>.txt" (allauth's end in "_message").
    body_suffix: str = ""
    subject_prefix: str = ""
    # Sent to the address it was queued for, not the account's current one (a code that
    # verifies a new address must reach that address).
    to_queued_address: bool = False
    # The params hold a one-time link or code: erased once the item is sent, cancelled
    # or given up, so the outbox does not keep working keys to anyone's account.
    secret_params: bool = False
    # Sent only to those who asked for it (no preference row means off, not on).
    opt_in: bool = False
    # May be queued for an address with no account behind it (an invitation to someone
    # who has not signed up yet): sent to the queued address, in the site's language.
    without_account: bool = False

    def wanted_without_a_choice(self) -> bool:
        return not self.opt_in


KINDS: dict[str, EmailKind] = {}


def email_kind_register(kind: EmailKind) -> EmailKind:
    KINDS[kind.name] = kind
    return kind


PROPOSAL_DECISION = email_kind_register(
    EmailKind(
        name="proposal_decision",
        label=gettext_lazy("Officers' decisions about your proposals"),
        template_name="proposals/email/status_changed",
        context="proposals.notifications.decision_context",
    )
)
# A resident who suggested a theme for a round's priorities hears whether officers added
# it (and why not, when they did not): one email per suggestion, one suggestion each.
THEME_DECIDED = email_kind_register(
    EmailKind(
        name="theme_decided",
        label=gettext_lazy("Officers' decisions on the themes you suggest"),
        template_name="proposals/email/theme_decided",
        context="proposals.notifications.theme_decided_context",
    )
)
# Co-design during review: the authors hear of an officer's offer (they must answer
# before review ends), and the officer of the authors' answer.
CODESIGN_OFFERED = email_kind_register(
    EmailKind(
        name="codesign_offered",
        label=gettext_lazy("Officers' co-design offers for your proposals"),
        template_name="proposals/email/codesign_offered",
        context="proposals.notifications.codesign_context",
    )
)
CODESIGN_ANSWERED = email_kind_register(
    EmailKind(
        name="codesign_answered",
        label=gettext_lazy("Authors' answers to your co-design offers (officers)"),
        template_name="proposals/email/codesign_answered",
        context="proposals.notifications.codesign_context",
    )
)
# Amendments: the authors hear of a resident's suggested change (they answer it on the
# site), and the resident of the authors' answer.
AMENDMENT_SUGGESTED = email_kind_register(
    EmailKind(
        name="amendment_suggested",
        label=gettext_lazy("Residents' suggested changes to your proposals"),
        template_name="proposals/email/amendment_suggested",
        context="proposals.notifications.amendment_context",
    )
)
AMENDMENT_ANSWERED = email_kind_register(
    EmailKind(
        name="amendment_answered",
        label=gettext_lazy("Authors' answers to the changes you suggest"),
        template_name="proposals/email/amendment_answered",
        context="proposals.notifications.amendment_context",
    )
)
# Merges: the writers of both proposals hear of an officer's proposed merge (each side
# answers on the site); everyone involved hears the outcome.
MERGE_PROPOSED = email_kind_register(
    EmailKind(
        name="merge_proposed",
        label=gettext_lazy("Officers' proposals to merge your proposal with another"),
        template_name="proposals/email/merge_proposed",
        context="proposals.notifications.merge_context",
    )
)
MERGE_ANSWERED = email_kind_register(
    EmailKind(
        name="merge_answered",
        label=gettext_lazy("Whether a proposed merge went ahead"),
        template_name="proposals/email/merge_answered",
        context="proposals.notifications.merge_context",
    )
)
# Delivery of a funded proposal someone follows: a milestone planned, moved or reached,
# or a progress note. Only to those who clicked "Follow"; unfollowing stops it too.
DELIVERY_NEWS = email_kind_register(
    EmailKind(
        name="delivery_news",
        label=gettext_lazy("News of the delivery of proposals you follow"),
        template_name="ledgers/email/delivery_news",
        context="ledgers.notifications.delivery_news_context",
    )
)
# An officer's one-time invitation to assess a delivered proposal, sent to an address that
# may have no account yet.
ASSESSMENT_INVITATION = email_kind_register(
    EmailKind(
        name="assessment_invitation",
        label=gettext_lazy("Invitations to assess what was built"),
        template_name="ledgers/email/assessment_invitation",
        context="ledgers.notifications.assessment_invitation_context",
        unsubscribable=False,
        always_because=gettext_lazy(
            "Always sent: an officer invites you, once, to assess a delivered proposal."
        ),
        to_queued_address=True,
        secret_params=True,
        without_account=True,
    )
)
# Receipts cannot be turned off: they are the voter's proof that their vote was saved,
# and the only way someone learns that a ballot was cast or recorded in their name.
BALLOT_RECEIPT = email_kind_register(
    EmailKind(
        name="ballot_receipt",
        label=gettext_lazy("Receipts for your votes"),
        template_name="voting/email/receipt",
        context="voting.services.receipts.receipt_context",
        unsubscribable=False,
        always_because=gettext_lazy(
            "Always sent: a receipt is your proof that your vote was saved, and how you "
            "would learn that someone voted in your name."
        ),
    )
)

# Opt-in: a voter asks for it on the ballot page or the preferences page. The email
# says where to read the results and never what anyone chose.
RESULTS_PUBLISHED = email_kind_register(
    EmailKind(
        name="results_published",
        label=gettext_lazy("When the results of an area you voted in are published"),
        template_name="voting/email/results_published",
        context="voting.services.notifications.results_published_context",
        opt_in=True,
    )
)

# Verification links, password resets, sign-in codes and security notices (allauth's
# emails, queued by pb_platform.account_emails.AccountAdapter).
ACCOUNT_EMAIL = email_kind_register(
    EmailKind(
        name="account",
        label=gettext_lazy("Signing in and your account's security"),
        template_name="",  # each item names allauth's template
        context="pb_platform.account_emails.account_email_context",
        unsubscribable=False,
        always_because=gettext_lazy(
            "Always sent: these emails verify your address, reset your password, sign you "
            "in, and tell you when your account's security settings change."
        ),
        body_suffix="_message",
        subject_prefix=settings.ACCOUNT_EMAIL_SUBJECT_PREFIX,
        to_queued_address=True,
        secret_params=True,
    )
)


# An author invites someone by email to write a proposal with them. Not a choice on the
# preferences page: the address may have no account (so no preferences) and the email is
# the only way the invitee learns of it. Abuse is bounded where invitations are made: an
# address is invited once per proposal, and a proposal has few co-authors.
COAUTHOR_INVITATION = email_kind_register(
    EmailKind(
        name="coauthor_invitation",
        label=gettext_lazy("Invitations to write a proposal with someone"),
        template_name="proposals/email/coauthor_invitation",
        context="proposals.notifications.invitation_context",
        unsubscribable=False,
        always_because=gettext_lazy(
            "Always sent: an author invites you, once per proposal, to write it with them; "
            "you answer on the site."
        ),
        to_queued_address=True,
        secret_params=True,
        without_account=True,
    )
)
COAUTHOR_ACCEPTED = email_kind_register(
    EmailKind(
        name="coauthor_accepted",
        label=gettext_lazy("When someone accepts to write your proposal with you"),
        template_name="proposals/email/coauthor_accepted",
        context="proposals.notifications.accepted_context",
    )
)


def email_kind(name: str) -> EmailKind:
    return KINDS[name]


# --- Preferences and language -----------------------------------------------------------


# Where a read that already joined the person's email language leaves it on the user
# object for the request (``email_language_remember``), so queueing their email asks the
# database no more.
_LANGUAGE_CACHE = "_outbox_email_language"


def recipient_language(user: User) -> str:
    remembered = getattr(user, _LANGUAGE_CACHE, None)
    if remembered is not None:
        return str(remembered)
    chosen = EmailLanguage.objects.filter(user=user).values_list("language", flat=True).first()
    return chosen or settings.LANGUAGE_CODE


def email_language_remember(user: User, chosen: str | None) -> None:
    """Keep ``user``'s email language (their ``EmailLanguage`` row's, None without one),
    read along with something else, for ``recipient_language``."""
    setattr(user, _LANGUAGE_CACHE, chosen or settings.LANGUAGE_CODE)


def email_language_set(*, user: User, language: str) -> None:
    """Remember the language ``user`` reads: emails queued from now on are written in it
    (the language switcher, and signing up, call this with the page's language)."""
    if language not in dict(settings.LANGUAGES):
        raise ValueError(f"{language!r} is not one of the site's languages")
    EmailLanguage.objects.update_or_create(user=user, defaults={"language": language})


def email_wanted(*, user: User | None, kind: EmailKind) -> bool:
    if not kind.unsubscribable or user is None:
        return True
    chosen = (
        EmailPreference.objects.filter(user=user, kind=kind.name)
        .values_list("enabled", flat=True)
        .first()
    )
    return kind.wanted_without_a_choice() if chosen is None else chosen


def email_preferences_of(user: User) -> list[tuple[EmailKind, bool]]:
    """Every kind with whether this person gets it, in the registry's order."""
    chosen = dict(EmailPreference.objects.filter(user=user).values_list("kind", "enabled"))
    return [
        (kind, not kind.unsubscribable or chosen.get(kind.name, kind.wanted_without_a_choice()))
        for kind in KINDS.values()
    ]


def email_preference_set(*, user: User, kind: EmailKind, enabled: bool, now: datetime) -> bool:
    """Turn a kind on or off for ``user``. Returns whether anything changed. Turning a
    kind off also cancels the emails of that kind still waiting to be sent."""
    if not kind.unsubscribable:
        raise ValueError(f"{kind.name} emails cannot be turned off")
    with transaction.atomic():
        preference = (
            EmailPreference.objects.select_for_update().filter(user=user, kind=kind.name).first()
        )
        if preference is None and enabled == kind.wanted_without_a_choice():
            changed = False  # no row means the default: a row is written only to differ
        else:
            # get_or_create: a concurrent first choice may have written the row meanwhile.
            preference, created = EmailPreference.objects.get_or_create(
                user=user, kind=kind.name, defaults={"enabled": enabled, "changed_at": now}
            )
            changed = created or preference.enabled != enabled
            if not created and changed:
                preference.enabled = enabled
                preference.changed_at = now
                preference.save(update_fields=["enabled", "changed_at"])
        if not enabled:
            _pending().filter(recipient=user, kind=kind.name).update(
                cancelled_at=now, cancel_reason="unsubscribed", claimed_until=None
            )
    return changed


def email_preferences_save(*, user: User, enabled: Mapping[str, bool], now: datetime) -> int:
    """Save the preferences page: ``enabled`` maps kind names to on/off."""
    changed = 0
    for name, on in enabled.items():
        kind = KINDS.get(name)
        if kind is not None and kind.unsubscribable:
            changed += email_preference_set(user=user, kind=kind, enabled=on, now=now)
    return changed


# --- One-click unsubscribe --------------------------------------------------------------


def unsubscribe_token(*, user_id: int, kind: str) -> str:
    # No expiry: emails stay in mailboxes for years and their link must keep working.
    return signing.dumps({"u": user_id, "k": kind}, salt=UNSUBSCRIBE_SALT, compress=True)


def unsubscribe_token_read(token: str) -> tuple[int, EmailKind] | None:
    """The (user id, kind) a token was signed for, or None for a tampered or unknown one."""
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict):
        return None
    user_id, name = data.get("u"), data.get("k")
    if not isinstance(user_id, int) or name not in KINDS or not KINDS[name].unsubscribable:
        return None
    return user_id, KINDS[name]


def unsubscribe_url(*, user_id: int, kind: str) -> str:
    token = unsubscribe_token(user_id=user_id, kind=kind)
    return settings.SITE_URL + reverse("email_unsubscribe", kwargs={"token": token})


# --- Enqueue ----------------------------------------------------------------------------


def email_enqueue(
    *,
    kind: EmailKind,
    recipient: User | None,
    params: dict[str, Any],
    now: datetime,
    address: str = "",
    template_name: str = "",
) -> OutboxEmail | None:
    """Queue an email to ``recipient`` (at ``address`` if given, else the account's).
    Call it inside the transaction of the event that causes it; the send is started
    after that transaction commits. Returns None when there is nobody to send to (no
    address) or they turned this kind off. ``recipient`` may be None only for kinds
    sent ``without_account``, with an ``address``."""
    if recipient is None and not kind.without_account:
        raise ValueError(f"{kind.name} emails need an account to send to")
    address = address or (recipient.email if recipient is not None else "")
    if not address or not email_wanted(user=recipient, kind=kind):
        return None
    item = OutboxEmail.objects.create(
        kind=kind.name,
        recipient=recipient,
        to_email=address,
        template_name=template_name or kind.template_name,
        params=params,
        language=recipient_language(recipient) if recipient else settings.LANGUAGE_CODE,
        created_at=now,
        next_try_at=now,
    )
    _send_after_commit(item.pk)
    return item


# Set while a caller queues emails it will cancel before committing (the demo's made-up
# history): no send is started for them, so no worker wades through dead messages.
_sends_held: ContextVar[bool] = ContextVar("outbox_sends_held", default=False)


@contextmanager
def sends_held() -> Iterator[None]:
    """Queue emails without starting their sends after commit (the sweep still would)."""
    token = _sends_held.set(True)
    try:
        yield
    finally:
        _sends_held.reset(token)


def _send_after_commit(item_id: int) -> None:
    if _sends_held.get():
        return

    def poke() -> None:
        from pb_platform.tasks import send_outbox_email

        try:
            send_outbox_email.delay(item_id)
        except BrokerUnavailable:
            logger.warning("broker unavailable; email %s left for the outbox sweep", item_id)

    transaction.on_commit(poke)


# --- Send -------------------------------------------------------------------------------


def _pending() -> Any:
    return OutboxEmail.objects.filter(
        sent_at__isnull=True, gave_up_at__isnull=True, cancelled_at__isnull=True
    )


def _claimable(now: datetime) -> Any:
    return _pending().filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now), next_try_at__lte=now
    )


def outbox_claim(*, item_id: int, now: datetime) -> bool:
    """Take the lease on an item that is due and not held by a live claim. The
    conditional UPDATE is the lock: of two senders, exactly one changes the row."""
    return _claimable(now).filter(pk=item_id).update(claimed_until=now + lease_length()) == 1


def _render(item: OutboxEmail, kind: EmailKind) -> EmailMessage | None:
    with translation.override(item.language):
        context = import_string(kind.context)(item.params)
        if context is None:
            return None
        headers: dict[str, str] = {}
        if kind.unsubscribable and item.recipient_id is not None:
            url = unsubscribe_url(user_id=item.recipient_id, kind=kind.name)
            context["unsubscribe_url"] = url
            # RFC 8058: mail programs show an "Unsubscribe" button that POSTs to the link.
            headers["List-Unsubscribe"] = f"<{url}>"
            headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        context["preferences_url"] = settings.SITE_URL + reverse("email_preferences")
        subject = render_to_string(f"{item.template_name}_subject.txt", context)
        body = render_to_string(f"{item.template_name}{kind.body_suffix}.txt", context)
    # The account's address now: it may have changed since the email was queued.
    address = item.recipient.email if item.recipient and item.recipient.email else item.to_email
    if kind.to_queued_address:
        address = item.to_email
    return EmailMessage(
        subject=kind.subject_prefix + " ".join(subject.split()),
        body=body,
        to=[address],
        headers=headers,
    )


def outbox_send(*, item_id: int, now: datetime) -> str:
    """Claim, render and send one item; record what happened. Returns the outcome:
    "sent", "cancelled", "failed", "gave_up" or "busy" (not due, or another sender
    holds it)."""
    if not outbox_claim(item_id=item_id, now=now):
        return "busy"
    item = OutboxEmail.objects.select_related("recipient").get(pk=item_id)
    kind = KINDS.get(item.kind)
    try:
        if kind is None:
            raise LookupError(f"unknown email kind {item.kind!r}")
        if item.recipient is None and not kind.without_account:
            return _cancel(item, reason="account deleted", now=now)
        if not email_wanted(user=item.recipient, kind=kind):
            return _cancel(item, reason="unsubscribed", now=now)
        message = _render(item, kind)
        if message is None:
            return _cancel(item, reason="nothing left to tell", now=now)
        message.send()
    # Any failure of this one item, a mail server's or a bug in its template, is recorded
    # against it and retried with back-off; it must not stop the other items of a sweep.
    # Bugs are still logged with their traceback.
    except Exception as error:
        logger.exception("sending email %s (%s) failed", item_id, item.kind)
        return _fail(item, error, now=now)
    with transaction.atomic():
        OutboxEmail.objects.filter(pk=item_id).update(
            sent_at=now, claimed_until=None, **_forget_secrets(item.kind)
        )
    return "sent"


def _forget_secrets(kind_name: str) -> dict[str, Any]:
    """The fields to update once an item's one-time link or code is no longer needed."""
    kind = KINDS.get(kind_name)
    return {"params": {}} if kind is not None and kind.secret_params else {}


def _cancel(item: OutboxEmail, *, reason: str, now: datetime) -> str:
    with transaction.atomic():
        OutboxEmail.objects.filter(pk=item.pk).update(
            cancelled_at=now, cancel_reason=reason, claimed_until=None, **_forget_secrets(item.kind)
        )
    return "cancelled"


def _fail(item: OutboxEmail, error: BaseException, *, now: datetime) -> str:
    attempts = item.attempts + 1
    gave_up = attempts >= MAX_ATTEMPTS
    with transaction.atomic():
        OutboxEmail.objects.filter(pk=item.pk).update(
            attempts=attempts,
            last_error=f"{type(error).__name__}: {error}"[:2000],
            next_try_at=now + BACKOFF_BASE * 2 ** (attempts - 1),
            gave_up_at=now if gave_up else None,
            claimed_until=None,
            **(_forget_secrets(item.kind) if gave_up else {}),
        )
    return "gave_up" if gave_up else "failed"


def outbox_due_ids(*, now: datetime, limit: int = SWEEP_LIMIT) -> list[int]:
    return list(_claimable(now).order_by("next_try_at", "pk").values_list("pk", flat=True)[:limit])


def outbox_sweep(*, now: datetime, clock: Callable[[], datetime] | None = None) -> int:
    """Send every item that is due: new ones the on-commit poke missed, failed ones
    whose back-off has passed, and those whose sender died (expired lease). Returns how
    many were sent. ``clock`` gives each send its own time (default: ``now``)."""
    sent = 0
    for item_id in outbox_due_ids(now=now):
        outcome = outbox_send(item_id=item_id, now=clock() if clock else now)
        sent += outcome == "sent"
    return sent


# --- Officers: emails given up on -------------------------------------------------------


def can_retry_email(user: AnyUser, item: OutboxEmail) -> Decision:
    if not (user.is_authenticated and user.has_perm("pb_platform.retry_outboxemail")):
        return deny(_("Only council officers can send a failed email again."))
    if item.sent_at is not None:
        return deny(
            _("This email was already sent on %(when)s.")
            % {"when": formats.date_format(timezone.localtime(item.sent_at), "DATETIME_FORMAT")}
        )
    if item.cancelled_at is not None:
        return deny(_("This email was cancelled (%(reason)s).") % {"reason": item.cancel_reason})
    if item.gave_up_at is None:
        return deny(_("This email is still being tried; it needs no help yet."))
    return ALLOW


def outbox_retry(*, item: OutboxEmail, officer: User, now: datetime) -> OutboxEmail:
    """Send a given-up email back to the queue, recording who did it. Its failure count
    starts again, so it gets ``MAX_ATTEMPTS`` more tries."""
    with transaction.atomic():
        locked = OutboxEmail.objects.select_for_update().get(pk=item.pk)
        enforce(can_retry_email(officer, locked))
        locked.gave_up_at = None
        locked.attempts = 0
        locked.next_try_at = now
        locked.claimed_until = None
        locked.retried_by = officer
        locked.retried_at = now
        locked.save(
            update_fields=[
                "gave_up_at",
                "attempts",
                "next_try_at",
                "claimed_until",
                "retried_by",
                "retried_at",
            ]
        )
        _send_after_commit(locked.pk)
    return locked


def outbox_given_up() -> Any:
    """Emails waiting for an officer, newest first (for the officer dashboard)."""
    return (
        OutboxEmail.objects.filter(gave_up_at__isnull=False, sent_at__isnull=True)
        .select_related("recipient")
        .order_by("-gave_up_at", "-pk")
    )


def outbox_cancel_created_after(*, item_id: int, reason: str, now: datetime) -> int:
    """Cancel unsent items newer than ``item_id`` (e.g. those demo data just queued)."""
    return (
        _pending()
        .filter(pk__gt=item_id)
        .update(cancelled_at=now, cancel_reason=reason, claimed_until=None)
    )


def outbox_last_id() -> int:
    return OutboxEmail.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
