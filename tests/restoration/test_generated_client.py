"""A client generated from /api/schema/ by openapi-python-client (pinned) imports cleanly and
runs the main flow against the live test server: create a tape, upload a real capture, request
a restoration job, poll it, list the restored versions."""

from __future__ import annotations

import importlib
import json
import pkgutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from accounts.models import Role
from tests.personas import api_token, make_user

pytestmark = [pytest.mark.slow]

PACKAGE = "tape_archive_portal_api_client"
SCHEMA_JSON = {"Accept": "application/vnd.oai.openapi+json"}


@pytest.fixture
def generated_client(live_server: Any, tmp_path: Path) -> Iterator[Any]:
    schema = requests.get(f"{live_server.url}/api/schema/", headers=SCHEMA_JSON, timeout=30)
    schema.raise_for_status()
    (tmp_path / "schema.json").write_text(json.dumps(schema.json()))
    bin_dir = Path(sys.executable).parent
    result = subprocess.run(
        [
            str(bin_dir / "openapi-python-client"),
            "generate",
            "--path",
            str(tmp_path / "schema.json"),
            "--meta",
            "none",
            "--output-path",
            str(tmp_path / PACKAGE),
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [name for name in sys.modules if name.startswith(PACKAGE)]:
            del sys.modules[name]


def test_every_generated_module_imports(generated_client: Any) -> None:
    modules = [
        info.name for info in pkgutil.walk_packages(generated_client.__path__, f"{PACKAGE}.")
    ]
    for name in modules:
        importlib.import_module(name)
    assert len(modules) > 60
    assert f"{PACKAGE}.api.tapes.tapes_bulk_create" in modules


def test_main_flow_through_the_generated_client(
    generated_client: Any,
    live_server: Any,
    institution: Any,
    sync_tasks: None,
    video_factory: Callable[..., Path],
) -> None:
    from importlib import import_module

    def api(module: str) -> Any:
        return import_module(f"{PACKAGE}.api.{module}")

    models = import_module(f"{PACKAGE}.models")  # re-exports every model
    types = import_module(f"{PACKAGE}.types")
    archivist = make_user("client-archivist", institution, Role.MANAGER)
    client = generated_client.AuthenticatedClient(
        base_url=live_server.url, token=api_token(archivist), timeout=120
    )
    with client:
        tape = api("tapes.tapes_create").sync(
            client=client,
            body=models.TapeRequest(identifier="GEN-1", title="Generated", recording_date="1975~"),
        )
        assert isinstance(tape, models.Tape), tape
        assert tape.recording_date_edtf == "1975~" and str(tape.date_start) == "1975-01-01"
        video = video_factory("generated.mkv", frames=8, size=(64, 48))
        with video.open("rb") as handle:
            upload = models.CaptureUploadRequest(
                tape=tape.id,
                file=types.File(payload=handle, file_name="generated.mkv"),
            )
            capture = api("captures.captures_create").sync(
                client=client, body=upload, idempotency_key="gen-upload-1"
            )
        assert isinstance(capture, models.Capture), capture
        assert capture.frame_count == 8
        job = api("restoration_jobs.restoration_jobs_create").sync(
            client=client, body=models.JobCreateRequest(capture=capture.id)
        )
        assert isinstance(job, models.Job), job
        deadline = time.monotonic() + 120
        while True:
            job = api("restoration_jobs.restoration_jobs_retrieve").sync(client=client, id=job.id)
            if (
                str(job.status) in ("succeeded", "failed", "cancelled")
                or time.monotonic() > deadline
            ):
                break
            time.sleep(0.5)
        assert str(job.status) == "succeeded", job
        versions = api("restored_versions.restored_versions_list").sync(client=client, tape=tape.id)
        assert versions.count == 1 and versions.results[0].job == job.id
