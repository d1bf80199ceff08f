"""API tokens people manage (named, scoped, expiring, stored hashed) and idempotency records."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class TokenScope(models.TextChoices):
    READ = "read", "Read only"
    READ_WRITE = "read_write", "Read and write"


class ApiToken(models.Model):
    """A user's API token. Only a SHA-256 of the secret is kept: it is shown once, at creation.

    The secret has 256 random bits, so an unsalted SHA-256 cannot be reversed or guessed (the
    reason passwords need a slow hash does not apply), and it allows an indexed lookup.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    scope = models.CharField(max_length=16, choices=TokenScope.choices)
    key_hash = models.CharField(max_length=64, unique=True)
    #: The first characters of the secret, shown in lists so a person can tell tokens apart.
    prefix = models.CharField(max_length=12)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…) of {self.user_id}"


class IdempotencyRecord(models.Model):
    """The first answer to a create sent with an ``Idempotency-Key`` (replayed for 24 hours)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    institution = models.ForeignKey(
        "accounts.Institution", on_delete=models.CASCADE, related_name="+"
    )
    key = models.CharField(max_length=255)
    #: SHA-256 of method, path and body: the same key with another request is refused (422).
    fingerprint = models.CharField(max_length=64)
    #: Null while the first request runs (a concurrent replay answers 409).
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    location = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "institution", "key"], name="unique_idempotency_key"
            )
        ]
