"""API representations of captures: the capture as stored, and the upload's form fields."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from portal.captures.models import Capture


@extend_schema_field(
    {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {
                "index": {"type": "integer"},
                "codec": {"type": "string"},
                "sample_rate": {"type": "integer", "nullable": True},
                "channels": {"type": "integer", "nullable": True},
                "layout": {"type": "string", "nullable": True},
            },
        },
    }
)
class AudioStreamsField(serializers.JSONField):
    """The audio streams the probe found (index, codec, sample rate, channels, layout)."""


class CaptureSerializer(serializers.ModelSerializer):
    audio_streams = AudioStreamsField(read_only=True)
    tape = serializers.PrimaryKeyRelatedField(read_only=True)
    uploaded_by = serializers.SlugRelatedField(
        slug_field="username",
        read_only=True,
        allow_null=True,  # null: account deleted
    )
    links = serializers.SerializerMethodField()

    class Meta:
        model = Capture
        fields = [
            "id",
            "uuid",
            "tape",
            "original_filename",
            "size_bytes",
            "sha256",
            "container",
            "video_codec",
            "pixel_format",
            "width",
            "height",
            "sample_aspect",
            "display_aspect",
            "frame_rate",
            "frame_count",
            "duration_s",
            "interlaced",
            "field_order",
            "bit_rate",
            "audio_streams",
            "proxy_status",
            "proxy_error",
            "uploaded_by",
            "created_at",
            "links",
        ]
        read_only_fields = fields

    @extend_schema_field(
        {
            "type": "object",
            "properties": {
                "download": {"type": "string"},
                "proxy": {"type": "string", "nullable": True},
                "poster": {"type": "string", "nullable": True},
                "page": {"type": "string"},
            },
        }
    )
    def get_links(self, capture: Capture) -> dict[str, str | None]:
        request = self.context.get("request")

        def absolute(url: str) -> str:
            return request.build_absolute_uri(url) if request is not None else url

        return {
            "download": absolute(reverse("api:capture-download", args=[capture.pk])),
            "proxy": absolute(reverse("api:capture-proxy", args=[capture.pk]))
            if capture.proxy_ready
            else None,
            "poster": absolute(reverse("api:capture-poster", args=[capture.pk]))
            if capture.poster
            else None,
            "page": absolute(reverse("captures:detail", args=[capture.pk])),
        }


class CaptureUploadSerializer(serializers.Serializer):
    """multipart/form-data: ``tape`` (id) and ``file`` (the video)."""

    tape = serializers.IntegerField(help_text="Id of a tape of your institution.")
    file = serializers.FileField(help_text="The capture file, streamed to storage as it arrives.")
