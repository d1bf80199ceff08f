"""Serving stored media to pages and API alike: the media-view guard, content types, and
streaming with HTTP range requests (RFC 9110 section 14) and conditional requests (section 13).

Players seek by asking for byte ranges; archive files are large, so a response never reads a
whole file: it streams the requested window in chunks. Only single ranges are honoured; a
multi-range or malformed header is ignored and the whole file is sent (allowed by the RFC).
Every file answer carries an ``ETag`` (from the stored name, size and modification time) and
``Last-Modified``: a player or client that already holds the file asks again with
``If-None-Match`` / ``If-Modified-Since`` and gets 304 with no body, and a resumed download
sends ``If-Range`` so that a file replaced in between is sent whole instead of spliced.
Callers check permissions first: this module only serves what it is given. On object storage
(S3) the checked request is redirected to a short-lived signed URL instead.
"""

from __future__ import annotations

import datetime as dt
import hashlib
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
    HttpResponseNotModified,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.utils.http import content_disposition_header, http_date, parse_http_date_safe
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


@dataclass(frozen=True)
class Validators:
    """What identifies one stored version of a file: its ETag and modification time."""

    etag: str
    modified: int | None  # seconds since the epoch, whole (HTTP dates have no fractions)

    @property
    def last_modified(self) -> str | None:
        return http_date(self.modified) if self.modified is not None else None


def file_validators(storage: Storage, name: str, size: int) -> Validators:
    """A strong ETag and ``Last-Modified`` of a stored file, without reading it.

    A file rebuilt under the same name (a new proxy) gets a new modification time, hence a new
    ETag. Storages that cannot tell the time (rare) get an ETag of name and size only and no
    ``Last-Modified``.
    """
    try:
        modified_at: dt.datetime | None = storage.get_modified_time(name)
    except (NotImplementedError, OSError):
        modified_at = None
    stamp = int(modified_at.timestamp()) if modified_at is not None else None
    exact = modified_at.timestamp() if modified_at is not None else ""
    digest = hashlib.sha256(f"{name}\n{size}\n{exact}".encode()).hexdigest()[:32]
    return Validators(etag=f'"{digest}"', modified=stamp)


def _etag_list(header: str) -> list[str]:
    return [tag.strip() for tag in header.split(",") if tag.strip()]


def not_modified(request: HttpRequest, validators: Validators) -> bool:
    """RFC 9110 13.2.2: If-None-Match (weak comparison) first; If-Modified-Since only without
    it. Only GET and HEAD are ever answered 304."""
    if request.method not in ("GET", "HEAD"):
        return False
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None:
        tags = _etag_list(if_none_match)
        return "*" in tags or validators.etag in [tag.removeprefix("W/") for tag in tags]
    since = parse_http_date_safe(request.headers.get("If-Modified-Since") or "")
    return since is not None and validators.modified is not None and validators.modified <= since


def range_still_valid(request: HttpRequest, validators: Validators) -> bool:
    """If-Range: the Range applies only while the file is the one the client has part of
    (a strong ETag match, or exactly its Last-Modified date); otherwise send it whole."""
    if_range = (request.headers.get("If-Range") or "").strip()
    if not if_range:
        return True
    if if_range.startswith('"'):
        return if_range == validators.etag
    if if_range.startswith("W/"):
        return False  # a weak validator never validates a range
    date = parse_http_date_safe(if_range)
    return date is not None and validators.modified is not None and date == validators.modified


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


def _stored_chunks(
    storage: Storage, name: str, first: int, length: int, *, remote: bool
) -> Iterator[bytes]:
    if remote:
        return iter_stored(storage, name, start=first, length=length)
    return _iter_window(storage.open(name, "rb"), first, length)


def _not_modified_response(common: dict[str, str]) -> HttpResponse:
    unchanged = HttpResponseNotModified()  # no body, no Content-Type
    for key in ("ETag", "Last-Modified", "Cache-Control"):
        if key in common:
            unchanged[key] = common[key]
    return unchanged


def _common_headers(
    validators: Validators, filename: str, *, as_attachment: bool
) -> dict[str, str]:
    headers = {
        "Accept-Ranges": "bytes",
        "Content-Disposition": content_disposition_header(as_attachment, filename),
        # Private: a shared cache must never keep an institution's media.
        "Cache-Control": "private, max-age=0, must-revalidate",
        "X-Content-Type-Options": "nosniff",
        "ETag": validators.etag,
    }
    if validators.last_modified is not None:
        headers["Last-Modified"] = validators.last_modified
    return headers


def serve_file_with_ranges(
    request: HttpRequest,
    field_file: FieldFile | StoredFile,
    content_type: str,
    filename: str,
    *,
    as_attachment: bool = False,
    stream_remote: bool = False,
    on_whole_download: Callable[[], None] | None = None,
) -> HttpResponse | StreamingHttpResponse:
    """Stream ``field_file`` honouring Range (206/416), If-Range and the conditional headers
    (304), for GET and HEAD.

    On object storage the client is redirected to a signed URL, unless ``stream_remote``: a
    file whose download is recorded is streamed through this server (ranged reads, bounded
    memory) so that ``on_whole_download`` runs only when the first byte of a whole-file GET
    actually goes out (not for HEAD, 304, a satisfied range, or a request that gets nothing).
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

    validators = file_validators(storage, field_file.name, size)
    common = _common_headers(validators, filename, as_attachment=as_attachment)
    if not_modified(request, validators):
        return _not_modified_response(common)
    range_header = request.headers.get("Range") if range_still_valid(request, validators) else None
    try:
        window = parse_range(range_header, size)
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
        chunks = _stored_chunks(storage, field_file.name, first, length, remote=remote)
        if on_whole_download is not None and window is None:
            chunks = _first_byte_hook(chunks, on_whole_download)
        response = StreamingHttpResponse(chunks, content_type=content_type)
    if window is not None:
        response.status_code = 206
        response["Content-Range"] = f"bytes {first}-{last}/{size}"
    response["Content-Length"] = str(length)
    for key, value in common.items():
        response[key] = value
    return response
