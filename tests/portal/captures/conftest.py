"""Fixtures of the captures tests: a tape per institution and helpers to upload real files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import Institution
from portal.captures.models import Capture
from portal.captures.services import capture_create
from portal.catalog.models import Tape


@pytest.fixture
def tape(institution: Institution) -> Tape:
    return Tape.objects.create(institution=institution, identifier="VHS-001", title="Holiday 1984")


@pytest.fixture
def other_tape(other_institution: Institution) -> Tape:
    return Tape.objects.create(institution=other_institution, identifier="VHS-999", title="Theirs")


def stored_files(media_root: Path) -> list[Path]:
    return [path for path in Path(media_root).rglob("*") if path.is_file()]


@pytest.fixture
def make_capture(video_factory: Callable[..., Path], archivist: Any) -> Callable[..., Capture]:
    """``make_capture(tape)`` uploads a real 12-frame FFV1/MKV through the service."""

    def factory(tape: Tape, *, actor: Any = None, name: str = "capture.mkv") -> Capture:
        path = video_factory(name)
        upload = SimpleUploadedFile(name, path.read_bytes(), content_type="video/x-matroska")
        return capture_create(tape=tape, upload=upload, actor=actor or archivist)

    return factory
