"""The task broker (Redis) unreachable, from the web and from a worker (issue 12, fault tests).

A change that is already committed must not answer 500 (a page save) or fail a finished job (a
worker) because the broker is down, and the webhook it emits must not be lost: it is kept in the
database and delivered once the broker is back. Real commits (``transaction=True``), a real
local webhook receiver, a broker address where nothing listens.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.models import Schedule

from portal.webhooks.models import Delivery, Endpoint
from portal.webhooks.signing import new_secret
from restoration import services
from restoration.models import JobStatus, RestoredVersion, ReviewDecision
from tests.restoration.factories import finished_job, version_for
from tests.restoration.test_webhooks import Receiver

pytestmark = pytest.mark.django_db(transaction=True)

# Port 9 (discard) on loopback: nothing listens, so every connection is refused at once.
UNREACHABLE_REDIS = "redis://127.0.0.1:9/0"
DELIVER = "portal.webhooks.tasks.deliver"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def broker_down(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Conf, "ORM", None)
    monkeypatch.setattr(Conf, "REDIS", UNREACHABLE_REDIS)
    monkeypatch.setattr(Conf, "SYNC", False)


def _broker_back(monkeypatch: pytest.MonkeyPatch) -> None:
    """The broker answers again (the ORM broker, tasks run inline)."""
    monkeypatch.setattr(Conf, "ORM", "default")
    monkeypatch.setattr(Conf, "REDIS", None)
    monkeypatch.setattr(Conf, "SYNC", True)


def _run_due_schedules() -> None:
    """What the cluster's scheduler does once the broker is back, after the retry delay."""
    from django_q.scheduler import scheduler

    Schedule.objects.update(next_run=timezone.now() - dt.timedelta(seconds=1))
    scheduler(broker=get_broker())


def _kept_for_later(event_type: str) -> Schedule:
    waiting = [s for s in Schedule.objects.filter(func=DELIVER) if event_type in s.args]
    assert len(waiting) == 1, list(Schedule.objects.values("name", "func", "args"))
    schedule = waiting[0]
    assert schedule.next_run > timezone.now()
    return schedule


def _delivered_types(receiver: Receiver) -> list[str]:
    return [json.loads(r["body"])["type"] for r in receiver.requests]


def test_page_save_with_broker_down_is_not_a_500_and_its_webhook_is_delivered_later(
    archivist: Any,
    reviewer: Any,
    capture: Any,
    receiver: Receiver,
    broker_down: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    endpoint = Endpoint.objects.create(
        institution=capture.institution, url=receiver.url, secret=new_secret()
    )
    version = version_for(finished_job(capture, archivist))
    client = Client(raise_request_exception=False)
    client.force_login(reviewer)

    response = client.post(
        reverse("restoration:version_decide", args=[version.pk]),
        {"decision": "approve", "comment": "Looks right."},
    )

    assert response.status_code == 302, response.content[:500]
    assert ReviewDecision.objects.filter(version=version, decision="approve").exists()
    _kept_for_later("review.decided")
    assert receiver.requests == []

    _broker_back(monkeypatch)
    _run_due_schedules()
    assert _delivered_types(receiver) == ["review.decided"]
    assert Delivery.objects.filter(endpoint=endpoint, delivered=True).count() == 1


def test_job_finished_on_a_worker_that_cannot_reach_the_broker_keeps_its_result_and_webhook(
    archivist: Any,
    capture: Any,
    receiver: Receiver,
    broker_down: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from restoration.worker import job_run

    Endpoint.objects.create(
        institution=capture.institution,
        url=receiver.url,
        secret=new_secret(),
        event_types=["job.succeeded", "job.failed"],
    )
    job = services.job_request(actor=archivist, capture=capture)  # queued: the enqueue failed
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED

    assert job_run(job_id=job.pk) == job.pk  # the worker got the task before the outage

    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error_message
    assert RestoredVersion.objects.filter(job=job).count() == 1
    _kept_for_later("job.succeeded")

    _broker_back(monkeypatch)
    _run_due_schedules()
    assert _delivered_types(receiver) == ["job.succeeded"]


def test_the_same_message_is_kept_once_even_when_queued_twice(
    institution: Any, broker_down: None
) -> None:
    from portal.webhooks.services import _enqueue

    endpoint = Endpoint.objects.create(
        institution=institution, url="http://127.0.0.1:9/", secret=new_secret()
    )
    for _ in range(2):
        _enqueue(endpoint.pk, "msg_1", "job.failed", "{}", 1)
    assert Schedule.objects.filter(func=DELIVER).count() == 1


def test_bag_requested_with_broker_down_is_built_once_the_broker_is_back(
    manager: Any, tape: Any, broker_down: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from portal.preservation.bags import package_request
    from portal.preservation.models import PackageStatus

    package = package_request(actor=manager, tape=tape)  # no exception: the request was saved

    kept = Schedule.objects.get(func="portal.preservation.tasks.build_package")
    assert kept.next_run > timezone.now()
    _broker_back(monkeypatch)
    _run_due_schedules()
    package.refresh_from_db()
    assert package.status == PackageStatus.READY, package.error
