"""Serving a version's master: the one download the audit history records."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse

from accounts.models import Membership
from portal.media import serve_file_with_ranges
from restoration import services
from restoration.models import RestoredVersion


def serve_master(
    request: HttpRequest,
    *,
    version: RestoredVersion,
    actor: Any,
    membership: Membership | None = None,
) -> HttpResponse | StreamingHttpResponse:
    """The FFV1/MKV master as an attachment, range-capable.

    A download of the whole master (a GET answered with the whole file: not a HEAD, a 304 or
    a resumed transfer; a stale ``If-Range`` is sent whole, so it counts) is recorded when its
    first byte is sent, so a request that transfers nothing leaves no record. On S3 that means
    streaming through this server (ranged reads, bounded memory) instead of a redirect to a
    signed URL, whose use the portal could not observe.
    """

    def record_download() -> None:
        services.version_record_download(
            actor=actor, membership=membership, version=version, rendition="master"
        )

    return serve_file_with_ranges(
        request,
        version.master,
        "video/x-matroska",
        f"version-{version.pk}.master.mkv",
        as_attachment=True,
        stream_remote=True,
        on_whole_download=record_download,
    )
