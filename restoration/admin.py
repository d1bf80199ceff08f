"""Admin for superusers: jobs, versions, decisions and publications are on the record and shown
read-only (webhook endpoints are managed in portal.webhooks)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from restoration.models import (
    Publication,
    RestorationJob,
    RestoredVersion,
    ReviewDecision,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(RestorationJob)
class RestorationJobAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "institution",
        "capture",
        "status",
        "stage",
        "frames_done",
        "frames_total",
        "worker_host",
        "created_at",
        "finished_at",
    ]
    list_filter = ["status", "is_preview", "institution"]
    search_fields = ["id", "worker_host", "error_message"]


@admin.register(RestoredVersion)
class RestoredVersionAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "institution",
        "tape",
        "capture",
        "model_variant",
        "is_preview",
        "created_at",
    ]
    list_filter = ["institution", "model_variant", "is_preview"]


@admin.register(ReviewDecision)
class ReviewDecisionAdmin(ReadOnlyAdmin):
    list_display = ["id", "version", "reviewer", "decision", "created_at"]
    list_filter = ["decision"]


@admin.register(Publication)
class PublicationAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "tape",
        "version",
        "published_by",
        "published_at",
        "unpublished_at",
        "end_reason",
    ]
