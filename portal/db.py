"""Model bases every app shares: institution-scoped querysets (THE scoping rule), append-only
rows, and the JSON-safe field snapshots the audit history stores.

Nothing here imports an app: accounts, the audit log and the archive apps all build on it.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, TypeVar

from django.db import models

_M = TypeVar("_M", bound=models.Model)


class InstitutionScopedQuerySet(models.QuerySet[_M]):
    """Queryset of a model with an ``institution`` foreign key (or a path to one).

    ``for_institution`` is the single scoping rule of the project: an object of another
    institution simply does not exist (``accounts.selectors.get_for_institution`` makes it a 404).
    """

    #: Lookup path from the model to its Institution, e.g. ``"tape__institution"`` for a capture.
    institution_path = "institution"

    def for_institution(self, institution: models.Model | None) -> InstitutionScopedQuerySet[_M]:
        if institution is None:
            return self.none()
        path = getattr(self.model, "institution_path", self.institution_path)
        return self.filter(**{path: institution})


# --------------------------------------------------------------------------------------------
# Append-only rows


class ImmutableError(Exception):
    """Raised when code tries to change or delete a row that is on the record for good."""


class AppendOnlyQuerySet(InstitutionScopedQuerySet[_M]):
    """Bulk ``update()`` and ``delete()`` refuse, as the rows' own ``save()`` and ``delete()``."""

    def update(self, **kwargs: Any) -> int:
        raise ImmutableError(f"{self.model._meta.verbose_name_plural} cannot be changed.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise ImmutableError(f"{self.model._meta.verbose_name_plural} cannot be deleted.")


class AppendOnlyModel(models.Model):
    """A row that can be created but never updated or deleted through the ORM.

    ``immutable_error`` is the exception raised (a subclass of ``ImmutableError``).
    """

    immutable_error: ClassVar[type[ImmutableError]] = ImmutableError

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise self.immutable_error(f"{self._meta.verbose_name} #{self.pk} is immutable.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise self.immutable_error(f"{self._meta.verbose_name} #{self.pk} cannot be deleted.")


# --------------------------------------------------------------------------------------------
# Field snapshots (what the audit history stores as "changes")


def json_value(value: Any) -> Any:
    """A JSON-safe rendering of a model field value, readable in the history table."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, models.Model):
        return str(value)
    if isinstance(value, dt.timedelta):
        total = int(value.total_seconds())
        return f"{total // 3600:d}:{total % 3600 // 60:02d}:{total % 60:02d}"
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    if isinstance(value, (decimal.Decimal, uuid.UUID)):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [json_value(v) for v in value]
    return str(value)


def snapshot(instance: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    """Field values of ``instance`` as JSON-safe values (foreign keys by their label)."""
    result: dict[str, Any] = {}
    for name in fields:
        field = instance._meta.get_field(name)
        if isinstance(field, models.ForeignKey):
            value = getattr(instance, name) if getattr(instance, field.attname) else None
        else:
            value = getattr(instance, name)
        result[name] = json_value(value)
    return result


def diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, list[Any]]:
    """{field: [old, new]} for every field whose value differs."""
    keys = list(old) + [key for key in new if key not in old]
    return {key: [old.get(key), new.get(key)] for key in keys if old.get(key) != new.get(key)}


def assign(
    instance: models.Model, fields: Mapping[str, Any], *, allowed: Iterable[str], what: str
) -> dict[str, list[Any]]:
    """Set ``fields`` on ``instance`` and validate it (``full_clean``); returns what changed
    among ``allowed``, ``{field: [old, new]}``. The caller saves and records the change. A field
    outside ``allowed`` is a programming error: TypeError, before anything is set."""
    allowed = list(allowed)
    if unknown := set(fields) - set(allowed):
        raise TypeError(f"unknown {what} fields: {sorted(unknown)}")
    old = snapshot(instance, allowed)
    for name, value in fields.items():
        setattr(instance, name, value)
    instance.full_clean()
    return diff(old, snapshot(instance, allowed))
