from __future__ import annotations

from typing import Any

from rest_framework.renderers import BaseRenderer


class PassthroughRenderer(BaseRenderer):
    """Lets a file download action accept any ``Accept`` header; the view returns the bytes."""

    media_type = "*/*"
    format = "bin"

    def render(
        self, data: Any, accepted_media_type: Any = None, renderer_context: Any = None
    ) -> Any:
        return data
