from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from portal.captures.models import Capture


@admin.register(Capture)
class CaptureAdmin(admin.ModelAdmin):
    """Read-only: captures are created and deleted through the audited services only."""

    list_display = [
        "original_filename",
        "tape",
        "institution",
        "video_codec",
        "duration_s",
        "proxy_status",
        "created_at",
    ]
    list_filter = ["institution", "proxy_status", "video_codec"]
    search_fields = ["original_filename", "sha256", "tape__identifier"]
    raw_id_fields = ["tape", "uploaded_by"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in Capture._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
