"""Strict query parameters: an unknown filter, ordering field or parameter answers 400.

A misspelt filter that is silently ignored returns every row, which a client cannot tell from
a correct answer; refusing it is the honest reply. The backends below replace DRF's defaults
(settings ``DEFAULT_FILTER_BACKENDS``).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema_field
from rest_framework.exceptions import ValidationError
from rest_framework.filters import BaseFilterBackend, OrderingFilter, SearchFilter
from rest_framework.request import Request

PAGINATION_PARAMETERS = frozenset({"page", "page_size"})
#: The pages' name for ordering, on views with ``sort_choices`` (key -> ORM ordering).
SORT_PARAM = "sort"
#: Ids in paths and filters: up to 18 digits (a bigger number cannot be a database id; without
#: the bound it would reach the database and fail there).
ID_PATTERN = r"[0-9]{1,18}"
MAX_ID = 10**18 - 1


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": MAX_ID})
class IdFilter(filters.NumberFilter):
    """An object id filter: a whole number from 1 (not any decimal, as NumberFilter takes)."""

    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class _StrictBooleanField(forms.NullBooleanField):
    """true/false (also 1/0, yes/no); anything else is an error, not "no filter"."""

    def to_python(self, value: Any) -> bool | None:
        if value in (None, ""):
            return None
        text = str(value).strip().lower()
        if text in ("true", "1", "yes"):
            return True
        if text in ("false", "0", "no"):
            return False
        raise forms.ValidationError(f"{value!r} is not true or false.", code="invalid")

    def validate(self, value: Any) -> None:
        pass


class StrictBooleanFilter(filters.BooleanFilter):
    """A yes/no filter that refuses a value it cannot read (django-filter's own BooleanFilter
    turns ``preview=maybe`` into no filter at all and returns every row)."""

    field_class = _StrictBooleanField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", forms.TextInput)  # the raw text, for the field to check
        super().__init__(*args, **kwargs)


class IdConverter:
    """URL converter ``<id:name>``: like ``<int:name>`` but bounded to database ids."""

    regex = ID_PATTERN

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


def allowed_query_parameters(view: Any) -> set[str]:
    """Every query parameter a list view understands (filters, search, ordering, pages).

    Page parameters only where the answer is paginated: on an export or a single object
    ``page=2`` would otherwise be accepted and do nothing."""
    names = set(getattr(view, "extra_query_parameters", ()))
    if getattr(view, "pagination_class", None) is not None and getattr(view, "action", "list") in (
        None,
        "list",
    ):
        names |= PAGINATION_PARAMETERS
    filterset_class = getattr(view, "filterset_class", None)
    if filterset_class is not None:
        names |= set(filterset_class.base_filters)
    if getattr(view, "search_fields", None):
        names.add(SearchFilter.search_param)
    if getattr(view, "ordering_fields", None):
        names.add(OrderingFilter.ordering_param)
    if getattr(view, "sort_choices", None):
        names.add(SORT_PARAM)
    return names


def check_query_parameters(request: Request, view: Any) -> None:
    unknown = sorted(set(request.query_params) - allowed_query_parameters(view))
    if unknown:
        allowed = ", ".join(sorted(allowed_query_parameters(view)))
        raise ValidationError(
            {
                name: [f"Unknown query parameter; this endpoint takes: {allowed}."]
                for name in unknown
            }
        )


class KnownParametersFilter(BaseFilterBackend):
    """First backend of list views: refuses query parameters no other backend understands."""

    def filter_queryset(self, request: Request, queryset: QuerySet[Any], view: Any) -> Any:
        strict = getattr(view, "strict_query_actions", ("list",))
        if getattr(view, "action", "list") in strict:
            check_query_parameters(request, view)
        return queryset


class StrictSearchFilter(SearchFilter):
    """Documents ``search`` only on views that have search fields."""

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        if not getattr(view, "search_fields", None):
            return []
        return super().get_schema_operation_parameters(view)


class StrictOrderingFilter(OrderingFilter):
    """``ordering`` with an unknown field answers 400 (DRF would ignore it)."""

    def get_ordering(self, request: Request, queryset: QuerySet[Any], view: Any) -> Any:
        sorts = getattr(view, "sort_choices", None)
        sort = request.query_params.get(SORT_PARAM)
        if sorts and sort is not None:
            if sort not in sorts:
                message = f"Unknown sort {sort!r}; use {', '.join(sorts)}."
                raise ValidationError({SORT_PARAM: [message]})
            if request.query_params.get(self.ordering_param):
                raise ValidationError({SORT_PARAM: ["Send sort or ordering, not both."]})
            return list(sorts[sort])
        raw = request.query_params.get(self.ordering_param)
        if raw:
            wanted = [term.strip() for term in raw.split(",") if term.strip()]
            valid = {
                name for name, _ in self.get_valid_fields(queryset, view, {"request": request})
            }
            unknown = [term for term in wanted if term.lstrip("-") not in valid]
            if unknown:
                message = (
                    f"Unknown ordering field {', '.join(unknown)}; use "
                    f"{', '.join(sorted(valid))} (prefix - for descending)."
                )
                raise ValidationError({self.ordering_param: [message]})
        return super().get_ordering(request, queryset, view)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        if not getattr(view, "ordering_fields", None):
            return []
        parameters = list(super().get_schema_operation_parameters(view))
        sorts = getattr(view, "sort_choices", None)
        if sorts:
            parameters.append(
                {
                    "name": SORT_PARAM,
                    "required": False,
                    "in": "query",
                    "description": "The page's sort keys (prefix - for descending); "
                    "instead of `ordering`.",
                    "schema": {"type": "string", "enum": list(sorts)},
                }
            )
        return parameters
