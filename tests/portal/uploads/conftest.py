"""Helpers of the resumable upload tests: a tape, a real video, a tus client on Django's Client."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

import pytest

from accounts.models import Institution
from portal.catalog.models import Tape

TUS = {"HTTP_TUS_RESUMABLE": "1.0.0"}


def metadata(**values: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


@pytest.fixture(autouse=True)
def _partial_dir(settings: Any, tmp_path: Path) -> Path:
    settings.UPLOAD_PARTIAL_DIR = tmp_path / "partial"
    return settings.UPLOAD_PARTIAL_DIR


@pytest.fixture
def tape(institution: Institution) -> Tape:
    return Tape.objects.create(institution=institution, identifier="U-MATIC-7", title="Concert")


def tus_create(client: Any, tape: Tape, size: int, **meta: str) -> Any:
    return client.post(
        "/api/v1/uploads/",
        HTTP_UPLOAD_LENGTH=str(size),
        HTTP_UPLOAD_METADATA=metadata(tape=str(tape.pk), **meta),
        **TUS,
    )


def tus_patch(client: Any, location: str, offset: int, body: bytes, **extra: str) -> Any:
    return client.generic(
        "PATCH",
        location,
        body,
        content_type="application/offset+octet-stream",
        HTTP_UPLOAD_OFFSET=str(offset),
        **TUS,
        **extra,
    )


def upload_checksum(algorithm: str, body: bytes) -> str:
    """The tus checksum extension's Upload-Checksum value of ``body``."""
    digest = hashlib.new(algorithm, body).digest()
    return f"{algorithm} {base64.b64encode(digest).decode()}"


def tus_head(client: Any, location: str) -> Any:
    return client.head(location, **TUS)
