"""Reads of the catalog. Every list is scoped with ``.for_institution``."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Exists, IntegerField, Model, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from accounts.models import Institution
from accounts.selectors import get_for_institution
from portal.catalog.models import Collection, Tape, TapeMetadata

#: Public sort keys of the tape list -> ORM ordering.
TAPE_SORTS: dict[str, tuple[str, ...]] = {
    "identifier": ("identifier",),
    "-identifier": ("-identifier",),
    "title": ("title", "identifier"),
    "-title": ("-title", "identifier"),
    "date": ("date_start", "identifier"),
    "-date": ("-date_start", "identifier"),
    "format": ("carrier_format", "identifier"),
    "-format": ("-carrier_format", "identifier"),
    "updated": ("updated_at", "identifier"),
    "-updated": ("-updated_at", "identifier"),
    "captures": ("capture_count", "identifier"),
    "-captures": ("-capture_count", "identifier"),
}


def _capture_model() -> type[Model]:
    return Tape._meta.get_field("captures").related_model  # type: ignore[return-value]


def tape_list(
    *,
    institution: Institution | None,
    search: str = "",
    collection_id: int | None = None,
    carrier_format: str = "",
    video_standard: str = "",
    has_captures: bool | None = None,
    published: bool | None = None,
    sort: str = "identifier",
) -> QuerySet[Tape]:
    """Tapes of ``institution``, searched, filtered and sorted; each row knows its
    ``capture_count`` and collection without extra queries."""
    # A correlated subquery, not a JOIN + GROUP BY: the paginator's COUNT(*) then leaves it out
    # and each page only counts the captures of its own rows.
    # Captures depend on the catalog, not the reverse: reach them through the relation.
    captures = _capture_model().objects.filter(tape=OuterRef("pk"))
    capture_count = captures.order_by().values("tape").annotate(n=Count("pk")).values("n")
    tapes = (
        Tape.objects.for_institution(institution)
        .select_related("collection")
        .annotate(capture_count=Coalesce(Subquery(capture_count, output_field=IntegerField()), 0))
    )
    search = search.strip()
    if search:
        in_metadata = TapeMetadata.objects.filter(tape=OuterRef("pk"), value__icontains=search)
        tapes = tapes.filter(
            Q(identifier__icontains=search)
            | Q(title__icontains=search)
            | Q(description__icontains=search)
            | Q(Exists(in_metadata))
        )
    if collection_id is not None:
        tapes = tapes.filter(collection_id=collection_id)
    if carrier_format:
        tapes = tapes.filter(carrier_format=carrier_format)
    if video_standard:
        tapes = tapes.filter(video_standard=video_standard)
    if has_captures is not None:
        tapes = tapes.filter(Exists(captures)) if has_captures else tapes.exclude(Exists(captures))
    if published is not None:
        # The restoration app's publications, reached through the relation (catalog never
        # imports restoration); "published" is an open publication period.
        publications = Tape._meta.get_field("publications").related_model
        current = publications.objects.current().filter(tape=OuterRef("pk"))  # type: ignore[union-attr]
        tapes = tapes.filter(Exists(current)) if published else tapes.exclude(Exists(current))
    return tapes.order_by(*TAPE_SORTS.get(sort, TAPE_SORTS["identifier"]))


def tape_get(*, institution: Institution | None, pk: Any) -> Tape:
    """One tape of ``institution`` or Http404."""
    return get_for_institution(Tape.objects.select_related("institution"), institution, pk=pk)


def collection_get(*, institution: Institution | None, pk: Any) -> Collection:
    """One collection of ``institution`` or Http404."""
    return get_for_institution(Collection.objects.all(), institution, pk=pk)


def collection_list(*, institution: Institution | None) -> QuerySet[Collection]:
    return Collection.objects.for_institution(institution).annotate(tape_count=Count("tapes"))


def tape_with_metadata(*, institution: Institution | None) -> QuerySet[Tape]:
    return (
        Tape.objects.for_institution(institution)
        .select_related("collection", "institution")
        .prefetch_related("metadata")
    )
