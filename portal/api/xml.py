"""XML bodies for the API: PBCore export (renderer) and import (parser)."""

from __future__ import annotations

from typing import Any

from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer


class XMLParser(BaseParser):
    """``application/xml`` bodies, passed on as bytes (``portal.catalog.pbcore`` reads them)."""

    media_type = "application/xml"

    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> bytes:
        return stream.read() if stream is not None else b""


class XMLRenderer(BaseRenderer):
    """Bytes already serialised as XML; errors of XML actions are rendered as JSON."""

    media_type = "application/xml"
    format = "xml"
    charset = "utf-8"

    def render(
        self, data: Any, accepted_media_type: Any = None, renderer_context: Any = None
    ) -> Any:
        return data


def published_version(tape: Any) -> Any:
    """The tape's published restored version, or None."""
    from restoration.models import Publication

    publication = Publication.objects.current().filter(tape=tape).select_related("version").first()
    return publication.version if publication is not None else None
