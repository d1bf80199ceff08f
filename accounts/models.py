"""Institutions, memberships and roles.

Every archive object (collection, tape, capture, job...) belongs to exactly one institution and is
read through ``.for_institution(institution)`` (``InstitutionScopedQuerySet``), the single
scoping rule of the project: an object of another institution simply does not exist (404).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models

from portal.db import InstitutionScopedQuerySet

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser


class Institution(models.Model):
    """An archive, library or museum whose staff catalog and restore their own tapes."""

    # Not unique: a uniqueness error would tell one tenant another tenant's name. The slug (fixed
    # at creation, used by the API's X-Institution header) is the unique key.
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    # Settings of the institution; later issues (publication, review) read them.
    public_access = models.BooleanField(
        default=False, help_text="Published restored versions may be shown to the public."
    )
    allow_self_approval = models.BooleanField(
        default=False,
        help_text="A reviewer may approve a restoration they requested themselves.",
    )
    max_upload_bytes = models.BigIntegerField(
        null=True,
        blank=True,
        help_text="Largest capture file this institution may upload, in bytes (empty: the "
        "site's CAPTURE_MAX_UPLOAD_SIZE).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    """Roles are ordered: each role can do everything the roles before it can."""

    ARCHIVIST = "archivist", "Archivist"
    REVIEWER = "reviewer", "Reviewer"
    MANAGER = "manager", "Manager"


ROLE_RANK: dict[str, int] = {Role.ARCHIVIST: 1, Role.REVIEWER: 2, Role.MANAGER: 3}


class MembershipQuerySet(InstitutionScopedQuerySet["Membership"]):
    def for_user(self, user: AbstractBaseUser | Any) -> MembershipQuerySet:
        if not getattr(user, "is_authenticated", False):
            return self.none()
        return self.filter(user=user)


class Membership(models.Model):
    """A user's role at one institution. A user may belong to several institutions."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    institution = models.ForeignKey(
        Institution, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.ARCHIVIST)
    #: The institution a user works in when they have not picked one in this session (pages) or
    #: named one (API ``X-Institution``): their own last choice, never derived from names that
    #: another tenant controls. At most one per user.
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        ordering = ["institution__name", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["user", "institution"], name="unique_membership"),
            models.UniqueConstraint(
                fields=["user"], condition=models.Q(is_default=True), name="one_default_membership"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.institution} ({self.role})"


class Invitation(models.Model):
    """A manager's offer of a role at their institution, which the invited person accepts.

    Addressed by user name, whether or not such an account exists: the manager learns nothing
    about accounts of other tenants, and the invited person sees it on their invitations page.
    Or a link (``token_hash`` set, no user name): whoever opens it, once, logged in or with a
    new account; sent by e-mail when ``email`` is given. Only the link's SHA-256 is stored.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        DECLINED = "declined", "Declined"
        REVOKED = "revoked", "Revoked"

    institution = models.ForeignKey(
        Institution, on_delete=models.CASCADE, related_name="invitations"
    )
    username = models.CharField(max_length=150, blank=True)
    email = models.EmailField(blank=True)
    token_hash = models.CharField(max_length=64, blank=True, db_index=True)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.ARCHIVIST)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    responded_at = models.DateTimeField(null=True, blank=True)

    objects = InstitutionScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["institution", "username"],
                condition=models.Q(status="pending") & ~models.Q(username=""),
                name="one_pending_invitation",
            ),
        ]
        indexes = [models.Index(fields=["username", "status"])]

    def __str__(self) -> str:
        return f"{self.addressee} to {self.institution} ({self.status})"

    @property
    def addressee(self) -> str:
        """Who it is for, as the members page and the history name it."""
        if self.username:
            return self.username
        return f"link sent to {self.email}" if self.email else "invitation link"
