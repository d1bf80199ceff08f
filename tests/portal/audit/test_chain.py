"""Item 8 of issue 12: a tamper-evident audit history.

Events are hash-chained per institution in the transaction that records them; the command and
the managers' page find the first broken link after an UPDATE, a DELETE or an INSERT made in
the database behind the application's back. On PostgreSQL the application's role cannot
TRUNCATE, ALTER, disable the trigger or switch off triggers with session_replication_role.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections
from django.test import Client
from django.urls import reverse

from accounts.models import Institution
from portal.audit.chain import GENESIS, chain_verify
from portal.audit.models import AuditEvent
from portal.audit.services import audit_record
from portal.catalog.services import tape_create

pytestmark = pytest.mark.django_db
POSTGRES = connection.vendor == "postgresql"


def _events(institution: Institution, count: int, actor: Any = None) -> list[AuditEvent]:
    return [
        audit_record(
            actor=actor,
            institution=institution,
            action="test.event",
            target=None,
            changes={"n": [None, index]},
            details={"ratio": 0.1 * index, "text": "é ✓"},
        )
        for index in range(count)
    ]


def _tamper(sql: str, params: list[Any]) -> None:
    """What a person with database access (not the application) can do."""
    with connection.cursor() as cursor:
        if POSTGRES:
            cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_event_immutable")
            cursor.execute(sql, params)
            cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER audit_event_immutable")
        else:
            cursor.execute("DROP TRIGGER audit_event_immutable")
            cursor.execute(sql, params)
            cursor.execute(
                "CREATE TRIGGER audit_event_immutable BEFORE UPDATE ON audit_auditevent "
                "BEGIN SELECT RAISE(ABORT, 'audit history is append-only: UPDATE refused'); END"
            )


def test_events_are_chained_per_institution(
    institution: Institution, other_institution: Institution, archivist: Any
) -> None:
    ours = _events(institution, 3, archivist)
    theirs = _events(other_institution, 2)
    assert [event.sequence for event in ours] == [1, 2, 3]
    assert [event.sequence for event in theirs] == [1, 2]
    assert ours[0].prev_hash == GENESIS and ours[1].prev_hash == ours[0].hash
    for institution_id, count in ((institution.pk, 3), (other_institution.pk, 2)):
        report = chain_verify(institution_id=institution_id)
        assert report.ok and report.events == count


@pytest.mark.parametrize("attack", ["update", "delete", "insert"])
def test_verification_finds_the_first_broken_link(
    attack: str, institution: Institution, manager: Any, capsys: Any
) -> None:
    events = _events(institution, 5)
    target = events[2]
    if attack == "update":
        _tamper(
            "UPDATE audit_auditevent SET changes = %s WHERE id = %s",
            ['{"n": [null, 99]}', target.pk],
        )
        expected = 3
    elif attack == "delete":
        _tamper("DELETE FROM audit_auditevent WHERE id = %s", [target.pk])
        expected = 3
    else:  # a back-dated event slipped in at the end, with a made-up hash
        _tamper(
            "INSERT INTO audit_auditevent (institution_id, actor_label, action, target_type, "
            "target_id, target_label, changes, details, created_at, sequence, prev_hash, hash) "
            "VALUES (%s, 'ghost', 'tape.deleted', '', '', '', '{}', '{}', %s, 6, %s, %s)",
            [institution.pk, events[0].created_at, events[-1].hash, "f" * 64],
        )
        expected = 6
    report = chain_verify(institution_id=institution.pk)
    assert not report.ok and report.broken_sequence == expected

    with pytest.raises(CommandError):
        call_command("verify_audit_chain", "--institution", institution.slug)
    assert f"BROKEN at event #{expected}" in capsys.readouterr().out

    client = Client()
    client.force_login(manager)
    page = client.get(reverse("audit:history_verify"))
    assert page.status_code == 200
    assert f"event #{expected}" in page.content.decode()


def test_intact_chain_command_and_page(
    institution: Institution, manager: Any, archivist_client: Client, capsys: Any
) -> None:
    tape_create(actor=manager, institution=institution, identifier="CHAIN-1")
    call_command("verify_audit_chain")
    assert "test-archive: OK, 1 events" in capsys.readouterr().out
    client = Client()
    client.force_login(manager)
    assert b"The history is intact" in client.get(reverse("audit:history_verify")).content
    assert archivist_client.get(reverse("audit:history_verify")).status_code == 403


@pytest.mark.skipif(not POSTGRES, reason="row locks and concurrent writers need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_concurrent_events_never_fork_the_chain(institution: Institution) -> None:
    errors: list[BaseException] = []

    def write() -> None:
        try:
            _events(institution, 10)
        except BaseException as exc:  # noqa: BLE001 (reported by the assertion below)
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    report = chain_verify(institution_id=institution.pk)
    assert report.ok and report.events == 40


@pytest.mark.skipif(not POSTGRES, reason="database roles are a PostgreSQL feature")
@pytest.mark.django_db(transaction=True)
def test_the_app_role_cannot_bypass_the_guard(institution: Institution) -> None:
    import psycopg
    from django.conf import settings

    _events(institution, 1)
    role = "portal_app_test_role"
    with connection.cursor() as cursor:
        cursor.execute(f"DROP ROLE IF EXISTS {role}")
        cursor.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'app-test'")
    call_command("grant_app_role", role)
    database = settings.DATABASES["default"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_database()")
        name = cursor.fetchone()[0]
    refused = []
    attempts = [
        "TRUNCATE audit_auditevent",
        "ALTER TABLE audit_auditevent DISABLE TRIGGER audit_event_immutable",
        "ALTER TABLE audit_auditevent DROP COLUMN hash",
        "SET session_replication_role = replica",
        "UPDATE audit_auditevent SET action = 'x'",
        "DELETE FROM audit_auditevent",
    ]
    try:
        for statement in attempts:
            with psycopg.connect(
                host=database.get("HOST") or "127.0.0.1",
                port=database.get("PORT") or 5432,
                dbname=name,
                user=role,
                password="app-test",
                autocommit=True,
            ) as app:
                try:
                    app.execute(statement)
                except psycopg.Error as exc:
                    refused.append((statement, type(exc).__name__))
                else:
                    pytest.fail(f"the app role could run: {statement}")
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP OWNED BY {role}")
            cursor.execute(f"DROP ROLE IF EXISTS {role}")
    assert len(refused) == len(attempts)
