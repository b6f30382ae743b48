"""Platform-wide records that belong to no single app."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class SubmissionToken(models.Model):
    """A one-time token a creating form carried, and where its first submission led.

    The unique primary key is the guarantee: a repeated POST (a double click, a resend
    after a slow response) finds its token taken and is sent to the first result.
    """

    token = models.UUIDField(primary_key=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    used_at = models.DateTimeField()
    # Where the first submission's success redirected; empty while it is being processed.
    result_url = models.CharField(max_length=500, blank=True)

    class Meta:
        indexes = [models.Index(fields=["used_at"], name="submission_token_used_at")]

    def __str__(self) -> str:
        return str(self.token)


class JobItemStatus(models.TextChoices):
    OK = "ok", "OK"
    FAILING = "failing", "Failing, tried again automatically"
    NEEDS_OFFICER = "needs_officer", "Waiting for an officer to retry it"


class JobItem(models.Model):
    """One item of a periodic job (an area to count, a proposal to allocate) that has
    failed at least once: its failures so far and when it is tried next.

    A row exists only for items that have failed; a success after failures puts it back
    to ``ok``. The job's own claims and constraints still make the work happen once;
    this only decides whether the job tries the item now (see ``pb_platform.jobs``).
    """

    job = models.CharField(max_length=100)
    item_key = models.CharField(max_length=100)
    # What the item is, for officers: "Counting Old Town in Neighbourhood Fund 2026".
    label = models.CharField(max_length=300, blank=True)
    status = models.CharField(
        max_length=20, choices=JobItemStatus.choices, default=JobItemStatus.OK
    )
    # Failures since the last success or officer's retry.
    attempts = models.PositiveIntegerField(default=0)
    # The exception's type and message, never a stack trace (officers read it).
    last_error = models.TextField(blank=True)
    last_failed_at = models.DateTimeField(null=True, blank=True)
    # Empty when the item is not waiting for a back-off (ok, or waiting for an officer).
    next_try_at = models.DateTimeField(null=True, blank=True)
    retried_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    retried_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "item_key"], name="job_item_unique_key"),
            models.CheckConstraint(
                condition=models.Q(status__in=["ok", "failing", "needs_officer"]),
                name="job_item_status_valid",
            ),
        ]
        indexes = [models.Index(fields=["status", "updated_at"], name="job_item_status")]
        permissions = [("retry_jobitem", "Can retry a job item that failed")]

    def __str__(self) -> str:
        return f"{self.job} {self.item_key}"

    @property
    def waits_for_officer(self) -> bool:
        return self.status == JobItemStatus.NEEDS_OFFICER


class JobItemEventKind(models.TextChoices):
    FAILED = "failed", "Failed"
    SUCCEEDED = "succeeded", "Succeeded after failing"
    RETRIED = "retried", "Retried by an officer"


class JobItemEvent(models.Model):
    """The history of a job item, append-only: each failure, the success that ended
    them, and each officer's retry with who asked and when."""

    item = models.ForeignKey(JobItem, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=20, choices=JobItemEventKind.choices)
    at = models.DateTimeField()
    # The failure's number since the last success or retry (0 for the other kinds).
    attempt = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        indexes = [models.Index(fields=["item", "at"], name="job_item_event_item_at")]

    def __str__(self) -> str:
        return f"{self.item} {self.kind} {self.at:%Y-%m-%d %H:%M}"

    @property
    def is_failure(self) -> bool:
        return self.kind == JobItemEventKind.FAILED


# --- Emails: one outbox, per-kind preferences -------------------------------------------


class OutboxEmail(models.Model):
    """One email to one person, stored in the transaction of the event that causes it and
    sent afterwards (see ``pb_platform.outbox``).

    A sender claims an item with a lease (``claimed_until``), not a "sent" flag: a worker
    that dies after claiming leaves the lease to expire, and a later sweep sends the email.
    ``sent_at`` is written only after the mail server accepted it.
    """

    kind = models.CharField(max_length=40)
    # Who it is for; the address is read from the account at send time (it may have
    # changed), ``to_email`` keeps the address it was queued for.
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="outbox_emails",
    )
    to_email = models.EmailField()
    # Rendered at send time: "<template_name>_subject.txt" and "<template_name>.txt".
    template_name = models.CharField(max_length=200)
    # Ids and plain values only; the kind's context builder loads the objects.
    params = models.JSONField(default=dict)
    # The recipient's language when the email was queued: it is rendered in it.
    language = models.CharField(max_length=16)
    created_at = models.DateTimeField()
    # A sender's lease: nobody else may send the item until it has passed.
    claimed_until = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # Failed sends so far, the last error, and when to try again (back-off).
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_try_at = models.DateTimeField()
    # Set after too many failures: not retried until an officer says so.
    gave_up_at = models.DateTimeField(null=True, blank=True)
    # Not to be sent after all (the person unsubscribed, nothing left to tell, demo data).
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=200, blank=True)
    # The officer who last sent a given-up email back to the queue, and when.
    retried_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    retried_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        permissions = [("retry_outboxemail", "Can retry emails the outbox gave up on")]
        indexes = [
            # What the sweep reads: unsent, still to try, by when it is due.
            models.Index(
                fields=["next_try_at"],
                name="outbox_email_due",
                condition=models.Q(
                    sent_at__isnull=True, gave_up_at__isnull=True, cancelled_at__isnull=True
                ),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(sent_at__isnull=True) | models.Q(gave_up_at__isnull=True),
                name="outbox_email_sent_or_given_up",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.to_email}"


class EmailPreference(models.Model):
    """Whether a person wants emails of one kind. No row means the kind's default: on, or
    off for a kind only sent to those who ask (``EmailKind.opt_in``)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="email_preferences"
    )
    kind = models.CharField(max_length=40)
    enabled = models.BooleanField(default=True)
    changed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="one_email_preference_per_kind")
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {'on' if self.enabled else 'off'}"


class EmailLanguage(models.Model):
    """The language a person reads their emails in; without a row, the site's language."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="email_language",
    )
    language = models.CharField(max_length=16)

    def __str__(self) -> str:
        return self.language


class Heartbeat(models.Model):
    """When a periodic process last showed it is alive (``beat``: the scheduler and a
    worker together, written by a beat task each tick). Read by ``/readyz``."""

    name = models.CharField(max_length=40, primary_key=True)
    at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} at {self.at:%Y-%m-%d %H:%M:%S}"
