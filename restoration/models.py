"""Restoration workflow: jobs, restored versions, review decisions, publications, webhooks.

Life of a restoration:

    RestorationJob (queued → running → succeeded | failed | cancelled)
        └─ RestoredVersion (one per succeeded job; immutable; a PREMIS "restoration" event)
              ├─ ReviewDecision* (append-only: approve / reject / request changes)
              └─ Publication*    (the tape's published version; one current per tape)

Writes go through ``restoration.services``; reads through ``restoration.selectors``. Every model
here carries an ``institution`` foreign key so ``.for_institution()`` (accounts) scopes it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from portal.db import AppendOnlyModel, InstitutionScopedQuerySet

# --------------------------------------------------------------------------------------------
# Jobs


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


ACTIVE_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING)
FINAL_STATUSES = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)


class RestorationJobQuerySet(InstitutionScopedQuerySet["RestorationJob"]):
    def active(self) -> RestorationJobQuerySet:
        return self.filter(status__in=ACTIVE_STATUSES)


class RestorationJob(models.Model):
    """A request to restore one capture (or a preview segment of it) on a restoration worker.

    ``parameters`` is the validated, complete option set (see ``restoration.parameters``) so a
    job can be re-run identically ("retry" creates a new job with the same parameters).
    Progress fields are written by the worker at a bounded rate; ``heartbeat_at`` is how the
    reaper tells a live worker from a dead one.
    """

    institution = models.ForeignKey(
        "accounts.Institution", on_delete=models.PROTECT, related_name="restoration_jobs"
    )
    capture = models.ForeignKey(
        "captures.Capture", on_delete=models.PROTECT, related_name="restoration_jobs"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="restoration_jobs",
    )
    retry_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="retries"
    )
    parameters = models.JSONField(default=dict)
    is_preview = models.BooleanField(default=False)

    status = models.CharField(
        max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED, db_index=True
    )
    created_at = models.DateTimeField(db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    frames_done = models.PositiveIntegerField(default=0)
    frames_total = models.PositiveIntegerField(null=True, blank=True)
    eta_seconds = models.FloatField(null=True, blank=True)
    stage = models.CharField(max_length=32, blank=True, default="")

    task_id = models.CharField(max_length=64, blank=True, default="")
    worker_host = models.CharField(max_length=255, blank=True, default="")
    worker_pid = models.PositiveIntegerField(null=True, blank=True)
    device = models.CharField(max_length=32, blank=True, default="")

    cancel_requested = models.BooleanField(default=False)
    cancel_requested_at = models.DateTimeField(null=True, blank=True)
    cancel_requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    error_message = models.TextField(blank=True, default="")
    error_permanent = models.BooleanField(null=True, blank=True)
    # Seconds spent per stage (scoring, restoring, encoding, storing) and progress-write stats.
    timings = models.JSONField(default=dict, blank=True)

    objects = RestorationJobQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["institution", "status", "created_at"])]

    def __str__(self) -> str:
        # No status here: this text is kept as the label of append-only audit events, and a
        # "job.succeeded" event labelled "(running)" misleads whoever reads the history.
        # Same text as the label the services give the job's other events (one name per job).
        kind = "preview" if self.is_preview else "restoration"
        return f"{kind} job #{self.pk} of {self.capture}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def progress_fraction(self) -> float | None:
        if not self.frames_total:
            return None
        return min(1.0, self.frames_done / self.frames_total)

    @property
    def model_variant(self) -> str:
        return str(self.parameters.get("model", ""))


# --------------------------------------------------------------------------------------------
# Restored versions


class RestoredVersionQuerySet(InstitutionScopedQuerySet["RestoredVersion"]):
    pass


def _version_upload_to(instance: RestoredVersion, filename: str) -> str:
    return f"restorations/{instance.institution_id}/job-{instance.job_id}/{filename}"


class RestoredVersion(AppendOnlyModel):
    """The derivative a succeeded job produced: master + access copy and their provenance.

    Immutable: the row and its files never change once created (review decisions and
    publications point at it from their own tables). Its fields are what a PREMIS
    "restoration" event needs (``restoration.provenance`` renders them).
    """

    institution = models.ForeignKey(
        "accounts.Institution", on_delete=models.PROTECT, related_name="restored_versions"
    )
    job = models.OneToOneField(RestorationJob, on_delete=models.PROTECT, related_name="version")
    capture = models.ForeignKey(
        "captures.Capture", on_delete=models.PROTECT, related_name="restored_versions"
    )
    tape = models.ForeignKey(
        "catalog.Tape", on_delete=models.PROTECT, related_name="restored_versions"
    )
    is_preview = models.BooleanField(default=False)
    frame_start = models.PositiveIntegerField(default=0)
    frame_end = models.PositiveIntegerField()  # exclusive
    frame_count = models.PositiveIntegerField()
    frame_rate = models.CharField(max_length=32)  # "num/den"

    master = models.FileField(upload_to=_version_upload_to, max_length=500)
    master_sha256 = models.CharField(max_length=64)
    master_size = models.BigIntegerField()
    access = models.FileField(upload_to=_version_upload_to, max_length=500)
    access_sha256 = models.CharField(max_length=64)
    access_size = models.BigIntegerField()

    model_variant = models.CharField(max_length=64)
    weights_sha256 = models.CharField(max_length=64, blank=True, default="")
    scorer = models.CharField(max_length=64, blank=True, default="")
    engine_version = models.CharField(max_length=64)
    parameters = models.JSONField(default=dict)
    # Per-frame artifact scores (0 clean .. 1 degraded), index = frame number - frame_start.
    scores_before = models.JSONField(default=list)
    scores_after = models.JSONField(default=list)
    timings = models.JSONField(default=dict)
    created_at = models.DateTimeField()

    objects = RestoredVersionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        kind = "preview" if self.is_preview else "version"
        return f"Restored {kind} #{self.pk} of {self.capture}"


# --------------------------------------------------------------------------------------------
# Review


class Decision(models.TextChoices):
    APPROVE = "approve", "Approve"
    REJECT = "reject", "Reject"
    REQUEST_CHANGES = "request_changes", "Request changes"


class ReviewDecisionQuerySet(InstitutionScopedQuerySet["ReviewDecision"]):
    pass


class ReviewDecision(AppendOnlyModel):
    """One reviewer's decision on a version. Decisions are added, never edited: the latest
    one is the version's review state, the earlier ones stay on the record."""

    institution = models.ForeignKey(
        "accounts.Institution", on_delete=models.PROTECT, related_name="review_decisions"
    )
    version = models.ForeignKey(RestoredVersion, on_delete=models.PROTECT, related_name="decisions")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="review_decisions"
    )
    decision = models.CharField(max_length=16, choices=Decision.choices)
    comment = models.TextField(blank=True, default="")
    created_at = models.DateTimeField()

    objects = ReviewDecisionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_decision_display()} on version #{self.version_id}"


class FrameCommentQuerySet(InstitutionScopedQuerySet["FrameComment"]):
    pass


class FrameComment(AppendOnlyModel):
    """A reviewer's note anchored to one frame of a version (a marker when it has no text).

    ``frame`` is the capture's frame number (the one the review page shows), so notes on two
    versions of the same capture line up. Added, never edited, like decisions."""

    institution = models.ForeignKey(
        "accounts.Institution", on_delete=models.PROTECT, related_name="frame_comments"
    )
    version = models.ForeignKey(
        RestoredVersion, on_delete=models.PROTECT, related_name="frame_comments"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="frame_comments"
    )
    frame = models.PositiveIntegerField()
    text = models.TextField(blank=True, default="")
    created_at = models.DateTimeField()

    objects = FrameCommentQuerySet.as_manager()

    class Meta:
        ordering = ["frame", "created_at", "id"]

    def __str__(self) -> str:
        return f"frame {self.frame} of version #{self.version_id}: {self.text[:40]}"


# --------------------------------------------------------------------------------------------
# Publication


class PublicationQuerySet(InstitutionScopedQuerySet["Publication"]):
    def current(self) -> PublicationQuerySet:
        return self.filter(unpublished_at__isnull=True)


class Publication(models.Model):
    """A period during which a version was the tape's published version.

    Publishing creates a row; unpublishing (or publishing another version, which replaces it)
    closes the row by setting ``unpublished_at``. Rows are never deleted, so the tape's
    publication history is complete. At most one open row per tape (database constraint).
    """

    class EndReason(models.TextChoices):
        UNPUBLISHED = "unpublished", "Unpublished"
        REPLACED = "replaced", "Replaced by another version"

    institution = models.ForeignKey(
        "accounts.Institution", on_delete=models.PROTECT, related_name="publications"
    )
    tape = models.ForeignKey("catalog.Tape", on_delete=models.PROTECT, related_name="publications")
    version = models.ForeignKey(
        RestoredVersion, on_delete=models.PROTECT, related_name="publications"
    )
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    published_at = models.DateTimeField()
    comment = models.TextField(blank=True, default="")
    unpublished_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    unpublished_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=16, choices=EndReason.choices, blank=True)

    objects = PublicationQuerySet.as_manager()

    class Meta:
        ordering = ["-published_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tape"],
                condition=Q(unpublished_at__isnull=True),
                name="one_current_publication_per_tape",
            )
        ]

    def __str__(self) -> str:
        return f"Publication of version #{self.version_id} on tape #{self.tape_id}"

    @property
    def is_current(self) -> bool:
        return self.unpublished_at is None
