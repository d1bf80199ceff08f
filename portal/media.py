"""Serving stored media to pages and API alike: the media-view guard, content types, and
streaming with HTTP range requests (RFC 9110 section 14).

Players seek by asking for byte ranges; archive files are large, so a response never reads a
whole file: it streams the requested window in chunks. Only single ranges are honoured; a
multi-range or malformed header is ignored and the whole file is sent (allowed by the RFC).
Callers check permissions first: this module only serves what it is given. On object storage
(S3) the checked request is redirected to a short-lived signed URL instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import wraps
from pathlib import PurePath
from typing import IO, Any

from django.conf import settings
from django.core.files.storage import Storage
from django.db.models.fields.files import FieldFile
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_http_methods

from accounts.permissions import resolve_institution
from portal.storage import is_remote, iter_stored

CHUNK_SIZE = 256 * 1024
MIME_BY_EXTENSION = {
    ".mkv": "video/x-matroska",
    ".mka": "audio/x-matroska",
    ".mp4": "video/mp4",
    ".m4v": "video/mp4",
    ".mov": "video/quicktime",
    ".avi": "video/x-msvideo",
    ".dv": "video/x-dv",
    ".mpg": "video/mpeg",
    ".mpeg": "video/mpeg",
    ".ts": "video/mp2t",
    ".mxf": "application/mxf",
    ".webm": "video/webm",
}
_RANGE_RE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)


def content_type_for(filename: str) -> str:
    """The media type of a video file by its extension (octet-stream when unknown)."""
    return MIME_BY_EXTENSION.get(PurePath(filename).suffix.lower(), "application/octet-stream")


@dataclass
class StoredFile:
    """The bits of a FieldFile that ``serve_file_with_ranges`` uses, for a file no model owns."""

    storage: Storage
    name: str

    def __bool__(self) -> bool:
        return bool(self.name)


def media_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Media URLs answer 404 to anonymous users and non-members, never a login redirect: a
    file URL must not even reveal that it exists. The view gets an ``InstitutionRequest``."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        resolved = resolve_institution(request) if request.user.is_authenticated else None
        if resolved is None:
            raise Http404("No such file.")
        return view(resolved, *args, **kwargs)

    return require_http_methods(["GET", "HEAD"])(wrapper)


class UnsatisfiableRange(Exception):
    """The range starts beyond the end of the file (answer 416)."""


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(first, last) byte positions, inclusive, or None to send the whole file.

    Raises UnsatisfiableRange for a syntactically valid range that selects no byte.
    """
    if not header or "," in header:
        return None
    match = _RANGE_RE.match(header)
    if not match:
        return None
    first_text, last_text = match.groups()
    if not first_text and not last_text:
        return None
    if not first_text:  # "bytes=-N": the last N bytes
        suffix = int(last_text)
        if suffix == 0 or size == 0:
            raise UnsatisfiableRange
        return max(size - suffix, 0), size - 1
    first = int(first_text)
    if last_text and int(last_text) < first:
        return None  # invalid range: ignore it
    if first >= size:
        raise UnsatisfiableRange
    last = min(int(last_text), size - 1) if last_text else size - 1
    return first, last


def _first_byte_hook(chunks: Iterator[bytes], hook: Callable[[], None]) -> Iterator[bytes]:
    """Call ``hook`` when the first chunk is handed to the server for sending, not before:
    a request that never receives a byte leaves no trace."""
    called = False
    for chunk in chunks:
        if not called:
            called = True
            hook()
        yield chunk


def _iter_window(handle: IO[bytes], first: int, length: int) -> Iterator[bytes]:
    try:
        handle.seek(first)
        remaining = length
        while remaining > 0:
            chunk = handle.read(min(CHUNK_SIZE, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk
    finally:
        handle.close()


def _is_remote(storage: Any) -> bool:
    return is_remote(storage)


def _signed_redirect(
    storage: Any, name: str, content_type: str, filename: str, as_attachment: bool
) -> HttpResponse:
    """Object storage (S3): after the permission check, send the client to a short-lived
    signed URL. The object store answers range requests itself; streaming through Django would
    first download the whole object (django-storages' S3File is not seekable remotely)."""
    url = storage.url(
        name,
        parameters={
            "ResponseContentType": content_type,
            "ResponseContentDisposition": content_disposition_header(as_attachment, filename),
            "ResponseCacheControl": "private, max-age=0",
        },
        expire=settings.MEDIA_SIGNED_URL_SECONDS,
    )
    response = HttpResponseRedirect(url)
    response["Cache-Control"] = "private, no-store"
    return response


def serve_file_with_ranges(
    request: HttpRequest,
    field_file: FieldFile | StoredFile,
    content_type: str,
    filename: str,
    *,
    as_attachment: bool = False,
    stream_remote: bool = False,
    on_first_byte: Callable[[], None] | None = None,
) -> HttpResponse | StreamingHttpResponse:
    """Stream ``field_file`` honouring a Range header (206/416), for GET and HEAD.

    On object storage the client is redirected to a signed URL, unless ``stream_remote``: a
    file whose download is recorded is streamed through this server (ranged reads, bounded
    memory) so that ``on_first_byte`` runs only when bytes actually go out.
    """
    if not field_file:
        raise Http404("This file does not exist (yet).")
    storage = field_file.storage
    remote = _is_remote(storage)
    if remote and not stream_remote:
        return _signed_redirect(storage, field_file.name, content_type, filename, as_attachment)
    try:
        size = storage.size(field_file.name)
    except (FileNotFoundError, OSError) as exc:
        raise Http404("This file is missing from storage.") from exc

    common = {
        "Accept-Ranges": "bytes",
        "Content-Disposition": content_disposition_header(as_attachment, filename),
        # Private: a shared cache must never keep an institution's media.
        "Cache-Control": "private, max-age=0, must-revalidate",
        "X-Content-Type-Options": "nosniff",
    }
    try:
        window = parse_range(request.headers.get("Range"), size)
    except UnsatisfiableRange:
        refusal = HttpResponse(status=416, content_type=content_type)
        refusal["Content-Range"] = f"bytes */{size}"
        for key, value in common.items():
            refusal[key] = value
        return refusal

    first, last = window if window is not None else (0, size - 1)
    length = max(last - first + 1, 0)
    response: HttpResponse | StreamingHttpResponse
    if request.method == "HEAD" or length == 0:
        response = HttpResponse(content_type=content_type)
    else:
        chunks: Iterator[bytes]
        if remote:
            chunks = iter_stored(storage, field_file.name, start=first, length=length)
        else:
            chunks = _iter_window(storage.open(field_file.name, "rb"), first, length)
        if on_first_byte is not None:
            chunks = _first_byte_hook(chunks, on_first_byte)
        response = StreamingHttpResponse(chunks, content_type=content_type)
    if window is not None:
        response.status_code = 206
        response["Content-Range"] = f"bytes {first}-{last}/{size}"
    response["Content-Length"] = str(length)
    for key, value in common.items():
        response[key] = value
    return response
