"""Webhooks: several endpoints per institution with event selection, Standard Webhooks
signatures checked by a real local HTTP server, events of the workflow (job, review,
publication, proxy, fixity), retries with backoff, management through API and page."""

from __future__ import annotations

import ast
import datetime as dt
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from django.utils import timezone

from portal.webhooks.models import Delivery, Endpoint
from portal.webhooks.services import webhook_deliver, webhook_emit, webhook_endpoint_create
from portal.webhooks.signing import new_secret, verify
from restoration import services
from restoration.models import JobStatus
from tests.personas import api_token
from tests.restoration.factories import finished_job


class Receiver:
    """A local HTTP endpoint that records requests and answers with ``status``."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                receiver.requests.append(
                    {"headers": dict(self.headers), "body": self.rfile.read(length)}
                )
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


def verified(request: dict[str, Any], secret: str) -> dict[str, Any]:
    headers = {name.lower(): value for name, value in request["headers"].items()}
    assert headers["webhook-id"].startswith("msg_") and headers["webhook-timestamp"].isdigit()
    assert headers["webhook-signature"].startswith("v1,")
    assert verify(secret=secret, headers=headers, body=request["body"])
    return json.loads(request["body"])


def _endpoint(institution: Any, url: str, events: list[str] | None = None) -> Endpoint:
    return Endpoint.objects.create(
        institution=institution, url=url, secret=new_secret(), event_types=events or []
    )


@pytest.mark.usefixtures("sync_tasks")
def test_finished_job_calls_the_signed_webhooks_that_want_it(
    archivist: Any, manager: Any, reviewer: Any, capture: Any, receiver: Receiver
) -> None:
    everything = _endpoint(capture.institution, receiver.url)
    _endpoint(capture.institution, receiver.url + "?only-fixity", ["fixity.failed"])
    job = services.job_request(actor=archivist, capture=capture)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    job_events = [r for r in receiver.requests if b'"job.' in r["body"]]
    assert len(job_events) == 1  # the fixity-only endpoint got nothing
    payload = verified(job_events[0], everything.secret)
    assert payload["type"] == "job.succeeded" and payload["data"]["job"]["id"] == job.pk
    assert payload["data"]["version"]["master_sha256"] == job.version.master_sha256
    with pytest.raises(AssertionError):  # a wrong secret does not verify
        verified(job_events[0], new_secret())
    services.version_decide(actor=reviewer, version=job.version, decision="approve")
    services.version_publish(actor=manager, version=job.version)
    types = [json.loads(r["body"])["type"] for r in receiver.requests]
    assert "review.decided" in types and "version.published" in types
    assert Delivery.objects.filter(endpoint=everything, delivered=True).count() == len(types)


@pytest.mark.usefixtures("sync_tasks")
def test_failed_job_sends_job_failed_with_the_reason(
    archivist: Any, capture: Any, receiver: Receiver, settings: Any, tmp_path: Any
) -> None:
    endpoint = _endpoint(capture.institution, receiver.url, ["job.failed"])
    _endpoint(capture.institution, receiver.url + "?succeeded", ["job.succeeded"])
    settings.RESTORATION_CHECKPOINT_DIR = str(tmp_path / "no-weights")
    job = services.job_request(actor=archivist, capture=capture)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert len(receiver.requests) == 1  # the endpoint that wants only successes got nothing
    payload = verified(receiver.requests[0], endpoint.secret)
    assert payload["type"] == "job.failed" and payload["data"]["job"]["id"] == job.pk
    assert payload["data"]["job"]["error_permanent"] is True
    assert "No weights are installed" in payload["data"]["job"]["error_message"]
    assert payload["data"]["version"] is None


@pytest.mark.usefixtures("sync_tasks")
def test_proxy_ready_is_sent_when_the_browser_copy_is_built(
    capture: Any, receiver: Receiver
) -> None:
    from portal.captures.models import Capture, ProxyStatus
    from portal.captures.services import capture_proxy_build

    endpoint = _endpoint(capture.institution, receiver.url, ["proxy.ready"])
    Capture.objects.filter(pk=capture.pk).update(proxy_status=ProxyStatus.PENDING)
    assert capture_proxy_build(capture_id=capture.pk) is True
    assert len(receiver.requests) == 1
    payload = verified(receiver.requests[0], endpoint.secret)
    assert payload["type"] == "proxy.ready"
    assert payload["data"] == {
        "capture_id": capture.pk,
        "tape_id": capture.tape_id,
        "sha256": capture.sha256,
        "original_filename": capture.original_filename,
    }
    # a build that is not claimed (already ready) sends nothing more
    assert capture_proxy_build(capture_id=capture.pk) is False
    assert len(receiver.requests) == 1


def test_standard_webhooks_reference_vector() -> None:
    """The example of the Standard Webhooks specification verifies with our implementation."""
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    headers = {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    }
    assert verify(secret=secret, headers=headers, body=body)


@pytest.mark.django_db
def test_failed_delivery_is_retried_with_backoff_until_the_limit(
    institution: Any, receiver: Receiver, settings: Any
) -> None:
    from django_q.models import Schedule

    settings.RESTORATION_WEBHOOK_ATTEMPTS = 2
    endpoint = _endpoint(institution, receiver.url)
    receiver.status = 500
    before = timezone.now()
    args = {"endpoint_id": endpoint.pk, "message_id": "msg_1", "event_type": "job.failed"}
    assert webhook_deliver(**args, body="{}", attempt=1) is False
    retry = Schedule.objects.get(func="portal.webhooks.tasks.deliver")
    assert ast.literal_eval(retry.args) == (endpoint.pk, "msg_1", "job.failed", "{}", 2)
    assert before + dt.timedelta(seconds=29) < retry.next_run < before + dt.timedelta(seconds=40)
    assert webhook_deliver(**args, body="{}", attempt=2) is False
    assert Schedule.objects.filter(func="portal.webhooks.tasks.deliver").count() == 1
    receiver.status = 204
    assert webhook_deliver(**args, body="{}", attempt=2) is True
    attempts = list(Delivery.objects.order_by("id").values_list("status_code", "delivered"))
    assert attempts == [(500, False), (500, False), (204, True)]
    # every retry of one message carries the same webhook-id (receivers deduplicate on it)
    ids = {{k.lower(): v for k, v in r["headers"].items()}["webhook-id"] for r in receiver.requests}
    assert ids == {"msg_1"}


@pytest.mark.django_db
def test_unreachable_endpoint_is_recorded(institution: Any) -> None:
    endpoint = _endpoint(institution, "http://127.0.0.1:9/nothing")
    assert not webhook_deliver(
        endpoint_id=endpoint.pk, message_id="m", event_type="job.failed", body="{}", attempt=1
    )
    delivery = Delivery.objects.get()
    assert delivery.status_code is None and delivery.error


@pytest.mark.django_db
def test_deliveries_go_to_the_default_queue_even_from_a_restoration_worker(
    archivist: Any,
    capture: Any,
    monkeypatch: pytest.MonkeyPatch,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    import uuid

    from django_q.brokers import get_broker
    from django_q.conf import Conf

    from restoration.webhooks import webhook_notify

    default_queue = f"portal-test-{uuid.uuid4().hex[:8]}"
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "cluster_name": default_queue}
    monkeypatch.setattr(Conf, "CLUSTER_NAME", "restoration")  # as inside a restoration worker
    _endpoint(capture.institution, "http://x.invalid/")
    default, own = get_broker(default_queue), get_broker("restoration")
    own_before = own.queue_size()
    try:
        with django_capture_on_commit_callbacks(execute=True):
            webhook_notify(job=finished_job(capture, archivist))
        assert default.queue_size() == 1 and own.queue_size() == own_before
    finally:
        default.purge_queue()


@pytest.mark.django_db
def test_fixity_failure_signal_emits_the_event(
    institution: Any, capture: Any, django_capture_on_commit_callbacks: Any, monkeypatch: Any
) -> None:
    from portal.events import fixity_failed

    sent: list[tuple[Any, ...]] = []
    monkeypatch.setattr("portal.webhooks.services._enqueue", lambda *args: sent.append(args))
    _endpoint(institution, "http://x.invalid/", ["fixity.failed"])

    class Record:
        institution_id = institution.pk
        tape_id = capture.tape_id
        capture_id = capture.pk
        version_id = None
        role = "original"
        storage_name = "captures/x.mkv"
        expected_sha256 = "a" * 64
        last_sha256 = "b" * 64
        last_error = ""

    with django_capture_on_commit_callbacks(execute=True):
        fixity_failed.send(sender=None, record=Record(), event=None)
    assert len(sent) == 1 and sent[0][2] == "fixity.failed"
    assert json.loads(sent[0][3])["data"]["actual_sha256"] == "b" * 64


@pytest.mark.django_db
def test_unknown_event_type_cannot_be_emitted(institution: Any) -> None:
    with pytest.raises(ValueError, match="unknown webhook event"):
        webhook_emit(institution=institution, event_type="tape.burned", data={})


@pytest.mark.django_db
def test_managers_manage_endpoints_through_the_api(
    manager: Any, archivist: Any, institution: Any
) -> None:
    from rest_framework.test import APIClient

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token(manager)}")
    created = api.post(
        "/api/v1/webhooks/",
        {"url": "https://cms.example.org/hook", "event_types": ["job.failed", "fixity.failed"]},
    )
    assert created.status_code == 201, created.content
    assert created.json()["secret"].startswith("whsec_")
    assert api.get("/api/v1/webhooks/").json()["count"] == 1
    bad = api.post("/api/v1/webhooks/", {"url": "https://x.org", "event_types": ["nope"]})
    assert bad.status_code == 400
    archivist_api = APIClient()
    archivist_api.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token(archivist)}")
    assert archivist_api.get("/api/v1/webhooks/").status_code == 403
    endpoint_id = created.json()["id"]
    assert api.delete(f"/api/v1/webhooks/{endpoint_id}/").status_code == 204
    assert not Endpoint.objects.exists()


@pytest.mark.django_db
def test_webhook_endpoint_create_is_audited(manager: Any, institution: Any) -> None:
    from portal.audit.models import AuditEvent

    webhook_endpoint_create(actor=manager, institution=institution, url="https://a.example/h")
    assert AuditEvent.objects.filter(action="webhook.created").count() == 1
