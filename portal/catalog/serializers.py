"""API representations of collections and tapes. Serializers validate and shape data; writes go
through the services."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from portal.catalog.dates import to_edtf
from portal.catalog.models import Collection, Tape

TAPE_WRITABLE = [name for name in Tape.FIELDS]


class CollectionSerializer(serializers.ModelSerializer):
    tape_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Collection
        fields = ["id", "name", "description", "tape_count", "created_at", "updated_at"]
        read_only_fields = ["id", "tape_count", "created_at", "updated_at"]
        # Uniqueness per institution is checked by the service (full_clean), which knows the
        # institution; the serializer's own check would need it too.
        validators: list[Any] = []

    def to_representation(self, instance: Collection) -> dict[str, Any]:
        data = super().to_representation(instance)
        if not hasattr(instance, "tape_count"):  # a created/updated row, not from the list
            data["tape_count"] = instance.tapes.count()
        return data


class ScopedCollectionField(serializers.PrimaryKeyRelatedField):
    """A collection id of the active institution only (others read as "does not exist")."""

    def get_queryset(self) -> Any:
        return Collection.objects.for_institution(self.context["institution"])


class MetadataField(serializers.DictField):
    """Tape key/value metadata as a JSON object (read from the prefetched TapeMetadata rows)."""

    def to_representation(self, value: Any) -> dict[str, str]:
        return {item.key: item.value for item in value.all()}


class TapeSerializer(serializers.ModelSerializer):
    collection = ScopedCollectionField(allow_null=True, required=False)
    metadata = MetadataField(
        child=serializers.CharField(allow_blank=True, max_length=10000),
        required=False,
        help_text="Free key/value metadata; on update the given dict replaces all keys.",
    )
    capture_count = serializers.IntegerField(read_only=True)
    recording_date_edtf = serializers.SerializerMethodField(
        help_text='The recording date in EDTF ("1975~", "198X", "1978/1982"); "" if none.'
    )

    class Meta:
        model = Tape
        fields = [
            "id",
            *TAPE_WRITABLE,
            "date_start",
            "date_end",
            "recording_date_edtf",
            "metadata",
            "capture_count",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "id",
            "date_start",
            "date_end",
            "recording_date_edtf",
            "capture_count",
            "created_at",
            "updated_at",
        ]
        validators: list[Any] = []  # (institution, identifier) is unique: checked by the service

    def to_representation(self, instance: Tape) -> dict[str, Any]:
        data = super().to_representation(instance)
        if not hasattr(instance, "capture_count"):
            data["capture_count"] = instance.captures.count()
        return data

    def get_recording_date_edtf(self, tape: Tape) -> str:
        try:
            return to_edtf(tape.recording_date)
        except DjangoValidationError:  # a date stored before it was checked: leave it out
            return ""

    def validate_metadata(self, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if not key.strip() or len(key.strip()) > 100:
                raise serializers.ValidationError(f"Keys are 1 to 100 characters (got {key!r}).")
        return value
