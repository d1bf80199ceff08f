"""Webhook endpoints of an institution (several, each with its event selection) and their
delivery attempts. Messages are signed as Standard Webhooks (https://www.standardwebhooks.com)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from portal.db import InstitutionScopedQuerySet


class EventType(models.TextChoices):
    PROXY_READY = "proxy.ready", "A capture's browser copy is ready"
    JOB_SUCCEEDED = "job.succeeded", "A restoration job finished"
    JOB_FAILED = "job.failed", "A restoration job failed"
    JOB_CANCELLED = "job.cancelled", "A restoration job was cancelled"
    REVIEW_DECIDED = "review.decided", "A reviewer decided on a restored version"
    VERSION_PUBLISHED = "version.published", "A restored version was published"
    VERSION_UNPUBLISHED = "version.unpublished", "A published version was withdrawn"
    FIXITY_FAILED = "fixity.failed", "A stored file failed its fixity check"


class Endpoint(models.Model):
    institution = models.ForeignKey(
        "accounts.Institution", on_delete=models.CASCADE, related_name="webhook_endpoints"
    )
    url = models.URLField(max_length=500)
    description = models.CharField(max_length=200, blank=True)
    #: ``whsec_`` + base64 of 24 random bytes (the Standard Webhooks secret format).
    secret = models.CharField(max_length=100)
    #: Event types sent to this endpoint; empty: every event.
    event_types = models.JSONField(default=list, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = InstitutionScopedQuerySet.as_manager()

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return self.url

    def wants(self, event_type: str) -> bool:
        return self.is_active and (not self.event_types or event_type in self.event_types)


class Delivery(models.Model):
    """One attempt to deliver one message to one endpoint (kept for diagnosis)."""

    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    message_id = models.CharField(max_length=40, db_index=True)
    event_type = models.CharField(max_length=40)
    attempt = models.PositiveSmallIntegerField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    delivered = models.BooleanField(default=False)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]
