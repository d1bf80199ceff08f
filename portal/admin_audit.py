"""Edits made in the Django admin go on the audit history like any other change.

Every app's admin builds on ``AuditedModelAdmin``, accounts' too, so it records through
``portal.events`` rather than importing the audit app.

``AuditedModelAdmin`` records ``<model>.created|updated|deleted`` with the superuser as actor and
``details={"via": "admin"}``; inline rows (a tape's metadata, an institution's memberships) are
recorded too. The admin's change and delete views run in one transaction, so every record
commits or rolls back with its change.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import models
from django.http import HttpRequest

from portal.db import diff, snapshot
from portal.events import audit_record

VIA_ADMIN = {"via": "admin"}


def _fields(obj: models.Model) -> list[str]:
    return [
        field.name
        for field in obj._meta.concrete_fields
        if not field.primary_key and not getattr(field, "auto_now", False)
    ]


def _institution_of(obj: models.Model) -> models.Model | None:
    if obj._meta.label_lower == "accounts.institution":
        return obj
    institution = getattr(obj, "institution", None)
    if institution is None and getattr(obj, "tape", None) is not None:
        institution = obj.tape.institution  # type: ignore[attr-defined]
    return institution


def _tape_of(obj: models.Model) -> models.Model | None:
    if obj._meta.label_lower == "catalog.tape":
        return obj
    return getattr(obj, "tape", None)


def _stored(obj: models.Model) -> dict[str, Any]:
    if obj.pk is None:
        return {}
    old = type(obj)._base_manager.filter(pk=obj.pk).first()
    return snapshot(old, _fields(old)) if old is not None else {}


def _record(request: HttpRequest, obj: models.Model, verb: str, changes: dict[str, Any]) -> None:
    institution = _institution_of(obj)
    if institution is None:  # not an archive object: nothing to put on a history
        return
    audit_record(
        actor=request.user,
        institution=institution,
        action=f"{obj._meta.model_name}.{verb}",
        target=obj,
        tape=_tape_of(obj),
        changes=changes,
        details=VIA_ADMIN,
    )


class AuditedModelAdmin(admin.ModelAdmin):
    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        old = _stored(obj) if change else {}
        super().save_model(request, obj, form, change)
        changes = diff(old, snapshot(obj, _fields(obj)))
        if changes or not change:
            _record(request, obj, "updated" if change else "created", changes)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        _record(request, obj, "deleted", diff(snapshot(obj, _fields(obj)), {}))
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for obj in queryset:
            _record(request, obj, "deleted", diff(snapshot(obj, _fields(obj)), {}))
        super().delete_queryset(request, queryset)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        instances = formset.save(commit=False)
        for obj in formset.deleted_objects:
            _record(request, obj, "deleted", diff(snapshot(obj, _fields(obj)), {}))
            obj.delete()
        for obj in instances:
            is_new = obj.pk is None
            old = {} if is_new else _stored(obj)
            obj.save()
            changes = diff(old, snapshot(obj, _fields(obj)))
            if changes or is_new:
                _record(request, obj, "created" if is_new else "updated", changes)
        formset.save_m2m()
