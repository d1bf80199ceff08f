"""Streaming access to stored files, the same on local disk and on S3-protocol object storage.

Archive files are tens of gigabytes: nothing here ever holds a stored object in memory. A local
copy is written chunk by chunk (``CHUNK_SIZE`` bytes at a time), S3 objects are read with plain
(or ranged) GETs whose body is consumed incrementally, and hashing reads the same way.

django-storages' ``S3File`` (what ``storage.open()`` returns) downloads the whole object into a
spooled buffer first, in memory unless ``max_memory_size`` is set: code that reads media goes
through these helpers instead, and the settings give ``S3File`` a small spill-over threshold
for any other caller.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import PurePosixPath
from typing import Any

from django.conf import settings
from django.core.files.storage import Storage

try:  # django-storages' S3 backend needs boto3, which every install has (pyproject).
    from storages.backends.s3 import S3Storage
    from storages.utils import clean_name
except ImportError:  # pragma: no cover - boto3 missing: only local storage works
    S3Storage = None  # type: ignore[assignment,misc]

#: Bytes read or written per step: the bound on memory a copy, a hash or a response uses.
CHUNK_SIZE = 1024 * 1024


def temp_dir() -> str:
    """Scratch folder for local copies (FILE_UPLOAD_TEMP_DIR, next to the media on one disk)."""
    path = getattr(settings, "FILE_UPLOAD_TEMP_DIR", None) or tempfile.gettempdir()
    os.makedirs(path, exist_ok=True)
    return str(path)


def is_remote(storage: Storage) -> bool:
    """True for object storage (no local path), False for a file system."""
    try:
        storage.path("probe")
    except NotImplementedError:
        return True
    return False


def _s3_object(storage: Any, name: str) -> Any:
    key = storage._normalize_name(clean_name(name))
    return storage.bucket.Object(key)


def stored_size(storage: Storage, name: str) -> int:
    return int(storage.size(name))


def iter_stored(
    storage: Storage,
    name: str,
    *,
    start: int = 0,
    length: int | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> Iterator[bytes]:
    """The bytes of a stored file from ``start`` (``length`` of them, or to the end), in chunks.

    On S3 this is one (ranged) GET whose body is read incrementally; locally a plain read.
    """
    if length is not None and length <= 0:
        return
    if is_remote(storage):
        extra: dict[str, str] = {}
        if start or length is not None:
            last = "" if length is None else str(start + length - 1)
            extra["Range"] = f"bytes={start}-{last}"
        body = _s3_object(storage, name).get(**extra)["Body"]
        try:
            yield from body.iter_chunks(chunk_size)
        finally:
            body.close()
        return
    with open(storage.path(name), "rb") as handle:
        handle.seek(start)
        remaining = length
        while remaining is None or remaining > 0:
            chunk = handle.read(chunk_size if remaining is None else min(chunk_size, remaining))
            if not chunk:
                break
            if remaining is not None:
                remaining -= len(chunk)
            yield chunk


@contextlib.contextmanager
def local_copy(field_file: Any) -> Iterator[str]:
    """A path on local disk for a stored file: the file itself on a file system, else a
    temporary copy written chunk by chunk (removed on exit)."""
    storage, name = field_file.storage, field_file.name
    if not is_remote(storage):
        yield storage.path(name)
        return
    suffix = PurePosixPath(name).suffix
    fd, path = tempfile.mkstemp(prefix="stored-", suffix=suffix, dir=temp_dir())
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in iter_stored(storage, name):
                out.write(chunk)
        yield path
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


class Throttle:
    """Sleeps so that reading stays under ``bytes_per_second`` (0 = unlimited)."""

    def __init__(
        self,
        bytes_per_second: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rate = bytes_per_second
        self.clock, self.sleep = clock, sleep
        self.started = clock()
        self.done = 0

    def __call__(self, nbytes: int) -> None:
        self.done += nbytes
        if self.rate <= 0:
            return
        ahead = self.done / self.rate - (self.clock() - self.started)
        if ahead > 0:
            self.sleep(ahead)


def stored_sha256(
    storage: Storage, name: str, *, throttle: Callable[[int], None] | None = None
) -> tuple[str, int]:
    """(SHA-256 hex digest, size in bytes) of a stored file, read in chunks."""
    hasher = hashlib.sha256()
    size = 0
    for chunk in iter_stored(storage, name):
        hasher.update(chunk)
        size += len(chunk)
        if throttle is not None:
            throttle(len(chunk))
    return hasher.hexdigest(), size


def file_sha256(path: str | os.PathLike[str]) -> tuple[str, int]:
    """(SHA-256 hex digest, size in bytes) of a local file, read in chunks."""
    hasher = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK_SIZE):
            hasher.update(chunk)
            size += len(chunk)
    return hasher.hexdigest(), size


def jpeg_bytes(rgb: Any, *, max_width: int) -> bytes:
    """An RGB frame (H x W x 3 uint8) as JPEG, scaled down to ``max_width`` when wider."""
    from PIL import Image

    image = Image.fromarray(rgb)
    if image.width > max_width:
        image = image.resize((max_width, max(1, round(image.height * max_width / image.width))))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def _local_path_of(content: Any) -> str | None:
    """The path of ``content`` when it is a whole file on local disk (an upload's temporary
    file, or a File wrapping an open file), else None."""
    temporary = getattr(content, "temporary_file_path", None)
    if temporary is not None:
        return str(temporary())
    handle = getattr(content, "file", content)
    path = getattr(handle, "name", None)
    if isinstance(path, str) and os.path.isfile(path) and getattr(handle, "mode", "rb") == "rb":
        return path
    return None


if S3Storage is not None:

    class ArchiveS3Storage(S3Storage):
        """S3Storage whose signed URLs name a public endpoint different from the internal one.

        Workers and web servers reach the object store at ``endpoint_url`` (often an internal
        address); browsers follow signed URLs to ``public_endpoint_url``. A presigned URL is
        computed locally (no request), so signing with a client bound to the public endpoint
        gives a URL whose signature matches the host the browser sends.
        """

        def __init__(self, **options: Any) -> None:
            self.public_endpoint_url: str | None = options.pop("public_endpoint_url", None)
            self._public_client: Any = None
            super().__init__(**options)

        def _save(self, name: str, content: Any) -> str:
            """Upload a file that is on local disk from its path: s3transfer then reads each
            part from the file as it is sent (memory: the parts in flight), instead of reading
            a file object's parts ahead into memory (measured: +93 MiB for a 120 MiB file)."""
            path = _local_path_of(content)
            if path is None or self.gzip:
                return str(super()._save(name, content))
            cleaned = clean_name(name)
            key = self._normalize_name(cleaned)
            params = self._get_write_parameters(key, content)
            self.bucket.Object(key).upload_file(path, ExtraArgs=params, Config=self.transfer_config)
            return str(cleaned)

        def _public(self) -> Any:
            if self._public_client is None:
                self._public_client = self._create_session().client(
                    "s3",
                    region_name=self.region_name,
                    use_ssl=self.use_ssl,
                    endpoint_url=self.public_endpoint_url,
                    config=self.client_config,
                    verify=self.verify,
                )
            return self._public_client

        def url(
            self,
            name: str,
            parameters: dict[str, str] | None = None,
            expire: int | None = None,
            http_method: str | None = None,
        ) -> str:
            if not self.public_endpoint_url or self.custom_domain:
                return super().url(name, parameters, expire, http_method)
            params = dict(parameters or {})
            params["Bucket"] = self.bucket_name
            params["Key"] = self._normalize_name(clean_name(name))
            return self._public().generate_presigned_url(
                "get_object",
                Params=params,
                ExpiresIn=self.querystring_expire if expire is None else expire,
                HttpMethod=http_method,
            )


class RangedReader(io.RawIOBase):
    """A seekable, read-only file over a stored object: each read is a ranged GET of at least
    ``block`` bytes (one block is kept), so a decoder that seeks reads only what it needs."""

    def __init__(self, storage: Storage, name: str, *, block: int = CHUNK_SIZE) -> None:
        super().__init__()
        self.storage, self.name, self.block = storage, name, block
        self.size = stored_size(storage, name)
        self.position = 0
        self.gets = 0
        self._start, self._data = 0, b""

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        self.position = max(0, base + offset)
        return self.position

    def readinto(self, buffer: Any) -> int:
        if self.position >= self.size:
            return 0
        inside = self._start <= self.position < self._start + len(self._data)
        if not inside:
            length = min(max(len(buffer), self.block), self.size - self.position)
            self._data = b"".join(
                iter_stored(self.storage, self.name, start=self.position, length=length)
            )
            self._start = self.position
            self.gets += 1
        begin = self.position - self._start
        piece = self._data[begin : begin + len(buffer)]
        buffer[: len(piece)] = piece
        self.position += len(piece)
        return len(piece)


@contextlib.contextmanager
def open_stored(field_file: Any) -> Iterator[Any]:
    """A seekable binary file of a stored object: the file itself locally, ranged GETs on S3."""
    storage, name = field_file.storage, field_file.name
    if not is_remote(storage):
        with open(storage.path(name), "rb") as handle:
            yield handle
        return
    reader = RangedReader(storage, name)
    try:
        yield reader
    finally:
        reader.close()
