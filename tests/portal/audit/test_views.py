import datetime as dt

from django.urls import reverse

from portal.audit.models import AuditEvent
from portal.catalog.services import tape_create, tape_update


def test_institution_history_is_for_managers_only(
    archivist_client, reviewer_client, manager_client
):
    url = reverse("audit:institution_history")
    assert archivist_client.get(url).status_code == 403
    assert reviewer_client.get(url).status_code == 403
    assert manager_client.get(url).status_code == 200


def test_history_filters_by_action_actor_and_date(
    manager_client, institution, archivist, manager, other_institution, outsider
):
    tape = tape_create(actor=archivist, institution=institution, identifier="T-1")
    tape_update(actor=manager, tape=tape, title="Renamed")
    tape_create(actor=outsider, institution=other_institution, identifier="FOREIGN-1")
    url = reverse("audit:institution_history")

    def shown(**params):
        content = manager_client.get(url, params).content.decode()
        return sorted(
            a for a in ("tape.created", "tape.updated") if f'data-action="{a}"' in content
        ), content

    assert shown()[0] == ["tape.created", "tape.updated"]
    assert "FOREIGN-1" not in shown()[1]
    assert shown(action="tape.updated")[0] == ["tape.updated"]
    assert shown(action="tape")[0] == ["tape.created", "tape.updated"]
    assert shown(actor=archivist.pk)[0] == ["tape.created"]  # ids of older links
    assert shown(actor="archivist")[0] == ["tape.created"]  # user names, as the API's filter
    assert shown(actor="nobody-here")[0] == []  # not everybody's events
    assert 'value="archivist" selected' in shown(actor="archivist")[1]
    tomorrow = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    assert shown(**{"from": tomorrow})[0] == []
    assert "Renamed" in shown(actor=manager.pk)[1]


def test_no_page_changes_history(manager_client, institution, archivist):
    tape_create(actor=archivist, institution=institution, identifier="T-1")
    event = AuditEvent.objects.get()
    url = reverse("audit:institution_history")
    assert manager_client.post(url, {"action": "x"}).status_code in (200, 405)
    for suffix in (f"{event.pk}/", f"{event.pk}/delete/", f"{event.pk}/edit/"):
        assert manager_client.post(url + suffix).status_code == 404
    assert AuditEvent.objects.get().action == "tape.created"


def test_admin_history_is_read_only(client, institution, archivist, django_user_model):
    tape_create(actor=archivist, institution=institution, identifier="T-1")
    event = AuditEvent.objects.get()
    admin = django_user_model.objects.create_superuser("root", "root@example.org", "pw-root-123456")
    client.force_login(admin)
    assert client.get(reverse("admin:audit_auditevent_changelist")).status_code == 200
    assert client.get(reverse("admin:audit_auditevent_add")).status_code == 403
    assert (
        client.post(
            reverse("admin:audit_auditevent_delete", args=[event.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    response = client.post(
        reverse("admin:audit_auditevent_change", args=[event.pk]), {"action": "forged"}
    )
    assert response.status_code == 403
    assert AuditEvent.objects.get().action == "tape.created"


def test_history_csv_escapes_formulas_and_json_keeps_values(manager_client, institution, archivist):
    import csv
    import io
    import json

    tape_create(actor=archivist, institution=institution, identifier='=HYPERLINK("http://x","y")')

    def text(response):
        return b"".join(response.streaming_content).decode("utf-8-sig")

    rows = list(csv.DictReader(io.StringIO(text(manager_client.get("/history/export.csv")))))
    label = next(row["target_label"] for row in rows if row["action"] == "tape.created")
    assert label.startswith("'=HYPERLINK(")
    events = json.loads(text(manager_client.get("/history/export.json")))
    assert any(e["target_label"].startswith("=HYPERLINK(") for e in events)
