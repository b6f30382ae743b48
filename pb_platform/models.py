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
