"""Fixtures of the restoration workflow tests: a tape with a real capture, tiny model weights,
tasks run inline (django-q2 sync) with on_commit callbacks executed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import Institution
from portal.captures.models import Capture
from portal.captures.services import capture_create
from portal.catalog.models import Tape
from tests.media import make_video


def make_tiny_checkpoint(directory: Path, *, seed: int = 0) -> Path:
    """Random-initialised `tiny` weights with a real card (sha256 verified on load)."""
    import torch

    from restoration.engine.models import create_model, save_checkpoint

    torch.manual_seed(seed)
    model = create_model("tiny")
    return save_checkpoint(model, directory / "tiny", {"training": "random init (tests)"})


@pytest.fixture(scope="session")
def tiny_weights_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("weights")
    make_tiny_checkpoint(directory)
    return directory


@pytest.fixture(autouse=True)
def _restoration_settings(request: pytest.FixtureRequest) -> None:
    """Workflow tests use the tiny model on the CPU (not the engine's tests below engine/)."""
    if "engine" in request.node.path.relative_to(Path(__file__).parent).parts:
        return
    settings = request.getfixturevalue("settings")
    tmp_path: Path = request.getfixturevalue("tmp_path")
    tiny_weights_dir: Path = request.getfixturevalue("tiny_weights_dir")
    settings.RESTORATION_CHECKPOINT_DIR = str(tiny_weights_dir)
    settings.RESTORATION_DEFAULT_MODEL = "tiny"
    settings.RESTORATION_DEFAULT_SCORER = "none"
    settings.RESTORATION_WORK_DIR = tmp_path / "work"
    settings.RESTORATION_DEVICE = "cpu"
    settings.RESTORATION_PROGRESS_INTERVAL = 0.0


@pytest.fixture
def sync_tasks(monkeypatch: pytest.MonkeyPatch, transactional_db: None) -> Iterator[None]:
    """django-q2 runs tasks inline (its sync mode). Real commits (transactional_db), so jobs
    are enqueued by their on_commit callbacks exactly as in production."""
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", True)
    yield


@pytest.fixture
def tape(institution: Institution) -> Tape:
    return Tape.objects.create(institution=institution, identifier="VHS-042", title="Parade 1979")


@pytest.fixture
def other_tape(other_institution: Institution) -> Tape:
    return Tape.objects.create(institution=other_institution, identifier="U-7", title="Theirs")


@pytest.fixture
def make_capture(tmp_path: Path, archivist: Any) -> Callable[..., Capture]:
    """``make_capture(tape, frames=12, size=(64, 48))``: a real FFV1/MKV uploaded by the service."""
    counter = {"n": 0}

    def factory(
        tape: Tape, *, frames: int = 12, size: tuple[int, int] = (64, 48), actor: Any = None
    ) -> Capture:
        counter["n"] += 1
        path = make_video(tmp_path / f"capture-{counter['n']}.mkv", frames=frames, size=size)
        upload = SimpleUploadedFile(path.name, path.read_bytes(), content_type="video/x-matroska")
        return capture_create(tape=tape, upload=upload, actor=actor or archivist)

    return factory


@pytest.fixture
def capture(make_capture: Callable[..., Capture], tape: Tape) -> Capture:
    return make_capture(tape)
