"""Published tapes (real captures, versions from the restoration factories) for the public
interfaces: OAI-PMH and IIIF."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from portal.captures.services import capture_create
from portal.catalog.models import Collection, Tape
from restoration.models import Publication
from tests.restoration.factories import finished_job, version_for


@pytest.fixture
def publish(
    archivist: Any, manager: Any, video_factory: Callable[..., Path]
) -> Callable[..., Tape]:
    video = video_factory("pub.mkv", frames=6)
    counter = {"n": 0}

    def factory(
        institution: Any, collection: Collection | None = None, actor: Any = None, **fields: Any
    ) -> Tape:
        counter["n"] += 1
        tape = Tape.objects.create(
            institution=institution,
            identifier=f"PUB-{counter['n']}",
            title=f"Published {counter['n']}",
            collection=collection,
            **fields,
        )
        capture = capture_create(
            tape=tape,
            upload=SimpleUploadedFile("pub.mkv", video.read_bytes()),
            actor=actor or archivist,
        )
        version = version_for(finished_job(capture, actor or archivist))
        Publication.objects.create(
            institution=institution,
            tape=tape,
            version=version,
            published_by=actor or manager,
            published_at=timezone.now(),
        )
        return tape

    return factory
