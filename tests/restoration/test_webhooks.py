"""Per-institution webhook on job completion: HMAC-signed JSON to a real local HTTP server,
failed deliveries retried later with backoff, every attempt kept."""

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

from restoration import services
from restoration.models import JobStatus, WebhookDelivery, WebhookEndpoint
from restoration.webhooks import sign, webhook_deliver
from tests.restoration.factories import finished_job, version_for


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


def verify(request: dict[str, Any], secret: str) -> dict[str, Any]:
    headers = request["headers"]
    expected = sign(secret, headers["X-Restoration-Timestamp"], request["body"])
    assert headers["X-Restoration-Signature"] == expected
    return json.loads(request["body"])


@pytest.mark.usefixtures("sync_tasks")
def test_finished_job_calls_the_signed_webhook(
    archivist: Any, capture: Any, receiver: Receiver
) -> None:
    WebhookEndpoint.objects.create(
        institution=capture.institution, url=receiver.url, secret="s3cret"
    )
    job = services.job_request(actor=archivist, capture=capture)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert len(receiver.requests) == 1
    payload = verify(receiver.requests[0], "s3cret")
    assert payload["event"] == "job.succeeded" and payload["job"]["id"] == job.pk
    assert payload["version"]["master_sha256"] == job.version.master_sha256
    assert receiver.requests[0]["headers"]["X-Restoration-Event"] == "job.succeeded"
    delivery = WebhookDelivery.objects.get()
    assert delivery.delivered and delivery.status_code == 200 and delivery.attempt == 1
    with pytest.raises(AssertionError):  # a wrong secret does not verify
        verify(receiver.requests[0], "other")


@pytest.mark.django_db
def test_failed_delivery_is_retried_with_backoff_until_the_limit(
    archivist: Any, capture: Any, receiver: Receiver, settings: Any
) -> None:
    from django_q.models import Schedule

    settings.RESTORATION_WEBHOOK_ATTEMPTS = 2
    WebhookEndpoint.objects.create(institution=capture.institution, url=receiver.url, secret="k")
    job = finished_job(capture, archivist)
    version_for(job)
    receiver.status = 500
    before = timezone.now()
    assert webhook_deliver(job_id=job.pk, event="job.succeeded", attempt=1) is False
    retry = Schedule.objects.get(func="restoration.tasks.deliver_webhook")
    assert ast.literal_eval(retry.args) == (job.pk, "job.succeeded", 2)  # as the scheduler reads it
    assert before + dt.timedelta(seconds=29) < retry.next_run < before + dt.timedelta(seconds=40)

    assert webhook_deliver(job_id=job.pk, event="job.succeeded", attempt=2) is False
    assert Schedule.objects.filter(func="restoration.tasks.deliver_webhook").count() == 1
    receiver.status = 204
    assert webhook_deliver(job_id=job.pk, event="job.succeeded", attempt=2) is True
    attempts = list(WebhookDelivery.objects.order_by("id").values_list("status_code", "delivered"))
    assert attempts == [(500, False), (500, False), (204, True)]


@pytest.mark.django_db
def test_unreachable_endpoint_is_recorded(archivist: Any, capture: Any) -> None:
    WebhookEndpoint.objects.create(
        institution=capture.institution, url="http://127.0.0.1:9/nothing", secret="k"
    )
    job = finished_job(capture, archivist)
    assert webhook_deliver(job_id=job.pk, event="job.succeeded", attempt=1) is False
    delivery = WebhookDelivery.objects.get()
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
    WebhookEndpoint.objects.create(
        institution=capture.institution, url="http://x.invalid/", secret="k"
    )
    default, own = get_broker(default_queue), get_broker("restoration")
    own_before = own.queue_size()
    try:
        with django_capture_on_commit_callbacks(execute=True):
            webhook_notify(job=finished_job(capture, archivist))
        assert default.queue_size() == 1 and own.queue_size() == own_before
    finally:
        default.purge_queue()
