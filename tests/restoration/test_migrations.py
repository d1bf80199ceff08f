"""The restoration webhook of earlier versions, with its delivery history, survives the move to
portal.webhooks (webhooks 0002/0003) before its tables are dropped (restoration 0004)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("restoration", "0003_frame_comments"), ("webhooks", "0001_initial")]
AFTER = [("restoration", "0004_remove_old_webhooks")]


def _migrate(targets: list[tuple[str, str]]) -> Any:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_old_webhook_and_its_deliveries_move_to_portal_webhooks(
    capture: Any, archivist: Any
) -> None:
    institution = capture.institution  # tables the migrations below leave alone
    old_apps = _migrate(BEFORE)
    try:
        job = old_apps.get_model("restoration", "RestorationJob").objects.create(
            institution_id=institution.pk,
            capture_id=capture.pk,
            requested_by_id=archivist.pk,
            created_at=dt.datetime(2026, 1, 2, tzinfo=dt.UTC),
        )
        OldEndpoint = old_apps.get_model("restoration", "WebhookEndpoint")
        old = OldEndpoint.objects.create(
            institution_id=institution.pk, url="https://cms.example.org/hook", secret="s3cret"
        )
        at = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
        old_apps.get_model("restoration", "WebhookDelivery").objects.create(
            institution_id=institution.pk,
            endpoint=old,
            job=job,
            event="job.succeeded",
            attempt=2,
            status_code=500,
            error="HTTP 500",
            created_at=at,
        )
        new_apps = _migrate(AFTER)
        endpoint = new_apps.get_model("webhooks", "Endpoint").objects.get(
            institution_id=institution.pk
        )
        assert endpoint.url == "https://cms.example.org/hook"
        assert endpoint.secret.startswith("whsec_")
        delivery = new_apps.get_model("webhooks", "Delivery").objects.get(endpoint=endpoint)
        assert (delivery.event_type, delivery.attempt, delivery.status_code) == (
            "job.succeeded",
            2,
            500,
        )
        assert delivery.error == "HTTP 500" and delivery.created_at == at
        assert delivery.message_id == f"legacy_job_{job.pk}"
        with connection.cursor() as cursor:
            tables = connection.introspection.table_names(cursor)
        assert "restoration_webhookendpoint" not in tables
        assert "restoration_webhookdelivery" not in tables
    finally:
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
