"""A client generated from /api/schema/ by openapi-python-client (pinned, with the project's
config docs/openapi-python-client.yaml) imports cleanly and runs the main flow against the live
test server: 20 tapes in one bulk call, upload a real capture, request a restoration job, poll
it, approve (a reviewer), publish (a manager), download the access copy and the PBCore XML, and
read the audit history filtered by person."""

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
CONFIG = Path(__file__).resolve().parents[2] / "docs" / "openapi-python-client.yaml"
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
            "--config",
            str(CONFIG),
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
    # Nothing left out: every operation and every response the schema describes is generated.
    output = result.stdout + result.stderr
    for omission in ("will not be generated", "will be omitted", "Unsupported content"):
        assert omission not in output, output
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
    manager = make_user("client-manager", institution, Role.MANAGER)
    reviewer = make_user("client-reviewer", institution, Role.REVIEWER)

    def connect(user: Any) -> Any:
        return generated_client.AuthenticatedClient(
            base_url=live_server.url, token=api_token(user), timeout=120
        )

    with connect(manager) as client, connect(reviewer) as review_client:
        rows = [
            models.BulkTapeRowRequest(
                identifier=f"GEN-{n:02d}",
                title=f"Generated {n}",
                collection="Generated",
                recording_date="1975~",
            )
            for n in range(1, 21)
        ]
        bulk = api("tapes.tapes_bulk_create").sync(client=client, body=rows)
        assert isinstance(bulk, models.BulkResult) and bulk.created == 20, bulk
        listed = api("tapes.tapes_list").sync(client=client, q="GEN-01")
        assert listed.count == 1, listed
        tape = listed.results[0]
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
        versions = api("restored_versions.restored_versions_list").sync(
            client=client, tape=tape.id, state=models.RestoredVersionsListState("pending")
        )
        assert versions.count == 1 and versions.results[0].job == job.id
        version_id = versions.results[0].id

        decision = api("restored_versions.restored_versions_decisions_create").sync(
            client=review_client,
            id=version_id,
            body=models.DecisionRequest(decision=models.DecisionEnum("approve"), comment="clean"),
            idempotency_key="gen-approve-1",
        )
        assert isinstance(decision, models.DecisionRead), decision
        publication = api("restored_versions.restored_versions_publish_create").sync(
            client=client, id=version_id, body=models.PublishRequest(comment="for the web")
        )
        assert isinstance(publication, models.Publication), publication
        assert publication.version == version_id

        access = api("restored_versions.restored_versions_access_retrieve").sync(
            client=client, id=version_id
        )
        assert isinstance(access, types.File), access
        assert access.payload.read()[4:8] == b"ftyp"  # an MP4
        pbcore = api("tapes.tapes_pbcore_retrieve").sync(client=client, id=tape.id)
        assert isinstance(pbcore, bytes), pbcore  # XML text: the document's bytes
        assert b"<pbcoreDescriptionDocument" in pbcore

        history = api("audit.audit_events_list").sync(client=client, actor="client-reviewer")
        assert {event.action for event in history.results} == {"review.approved"}
        refused = api("audit.audit_events_list").sync(client=client, actor="nobody")
        assert isinstance(refused, models.Error) and refused.error.code == "invalid"
