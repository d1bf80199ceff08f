"""moto's S3 server streaming large objects as S3 does: ``python -m tests.s3_server``.

moto (5.2.x) keeps each object in a spooled temporary file, so storing parts costs no memory, but
two operations materialise a whole object as ``bytes``:

- CompleteMultipartUpload joins every part into a ``bytearray``, copies it for the full-object
  checksum, copies both again with ``bytes()`` and writes the result through an in-memory
  buffer: about 2.8 times the object in RAM (measured: +705 MB for a 256 MB object, so
  5-6 GB for a 2 GB capture) and time in proportion. On a loaded machine the call then fails
  with a 500 (out of memory, or, when it outlasts botocore's 60 s read timeout, the retried
  call finds the upload already removed by the first one: ``KeyError`` in
  ``del bucket.multiparts[...]``).
- GetObject reads the whole object for every request, also for a 1 MB range.

Real S3 does neither, and the portal's code is measured against a server that behaves like S3
in this respect. This module replaces those two paths, keeping moto's answers (ETag
``md5-of-part-md5s-N``, the checksum moto would compute, idempotent completion, ranges), and
then runs moto's own server. Written against the pinned moto version (requirements-test.lock);
``tests/portal/test_s3_server.py`` checks the answers against unpatched moto.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import contextvars
import hashlib
import importlib.util
import tempfile
import threading
from collections.abc import Iterator
from typing import Any

from moto.core.compat import HAS_CRT
from moto.s3 import models as s3_models
from moto.s3 import responses as s3_responses
from moto.s3.exceptions import EntityTooSmall, InvalidPart, MalformedXML, NoSuchUpload

CHUNK = 1024 * 1024

#: Set while GetObject runs: only then does ``FakeKey.value`` answer a streamed body.
_STREAMING_GET: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "streaming_get", default=False
)
_COMPLETE_LOCK = threading.Lock()


def _has_module(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


class _Checksum:
    """Incremental form of ``moto.s3.utils.compute_checksum`` (same digests, raw bytes)."""

    def __init__(self, algorithm: str) -> None:
        self.crc = 0
        self.hasher: Any = None
        if algorithm == "SHA1":
            self.hasher = hashlib.sha1(usedforsecurity=False)
        elif algorithm not in ("CRC32", "CRC32C", "CRC64NVME"):
            self.hasher = hashlib.sha256(usedforsecurity=False)
        elif (
            algorithm == "CRC32C" and _has_module("crc32c") or algorithm == "CRC64NVME" and HAS_CRT
        ):
            # moto uses these libraries when installed; the test environment has neither.
            raise NotImplementedError(f"{algorithm} with its native library is not streamed")

    def update(self, data: bytes) -> None:
        if self.hasher is not None:
            self.hasher.update(data)
        else:  # moto falls back to CRC32 for CRC32C and CRC64NVME without their libraries
            self.crc = binascii.crc32(data, self.crc)

    def digest(self) -> bytes:
        if self.hasher is not None:
            return bytes(self.hasher.digest())
        return self.crc.to_bytes(4, "big")


def _validated_parts(multipart: Any, body: Iterator[tuple[int, str]]) -> tuple[list[Any], bytes]:
    """The listed parts, checked as moto checks them, and their MD5s joined (for the ETag)."""
    parts: list[Any] = []
    decode_hex = codecs.getdecoder("hex_codec")
    md5s = bytearray()
    for number, etag in body:
        part = multipart.parts.get(number)
        if part is None or part.etag.replace('"', "") != etag.replace('"', ""):
            raise InvalidPart()
        if parts and parts[-1].contentsize < s3_models.S3_UPLOAD_PART_MIN_SIZE:
            raise EntityTooSmall()
        md5s.extend(decode_hex(part.etag.replace('"', ""))[0])
        parts.append(part)
    if not parts:
        raise MalformedXML
    return parts, bytes(md5s)


def _joined(parts: list[Any], metadata: Any) -> tuple[Any, int, tuple[str, str, int]]:
    """The parts copied into one spooled file chunk by chunk: (file, size, checksum as moto's
    ``MultipartChecksumBuilder.build`` answers it)."""
    algorithm = metadata.get("x-amz-checksum-algorithm") or "CRC64NVME"
    checksum_type = metadata.get("x-amz-checksum-type") or (
        "FULL_OBJECT" if algorithm == "CRC64NVME" else "COMPOSITE"
    )
    # The file outlives this function: it becomes the new object's buffer.
    buffer = tempfile.SpooledTemporaryFile(s3_models.get_s3_default_key_buffer_size())  # noqa: SIM115
    whole, composite, size = _Checksum(algorithm), bytearray(), 0
    for part in parts:
        per_part = _Checksum(algorithm)
        with part.lock:
            part._value_buffer.seek(0)
            while chunk := part._value_buffer.read(CHUNK):
                buffer.write(chunk)
                size += len(chunk)
                (per_part if checksum_type == "COMPOSITE" else whole).update(chunk)
        composite.extend(per_part.digest())
    if checksum_type == "COMPOSITE":
        of_parts = _Checksum(algorithm)
        of_parts.update(bytes(composite))
        return buffer, size, (checksum_type, _b64(of_parts.digest()), len(parts))
    return buffer, size, (checksum_type, _b64(whole.digest()), 1)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _complete_multipart_upload(
    self: Any, bucket_name: str, multipart_id: str, body: Iterator[tuple[int, str]]
) -> Any:
    """moto's ``S3Backend.complete_multipart_upload`` copying parts into the new object's
    spooled file chunk by chunk; a retried call while (or after) the first one runs answers
    the same object instead of a 500."""
    bucket = self.get_bucket(bucket_name)
    with _COMPLETE_LOCK:
        multipart = bucket.multiparts.get(multipart_id)
        if multipart is None:
            for key in bucket.keys.values():
                if key.multipart is not None and key.multipart.id == multipart_id:
                    return key
            raise NoSuchUpload(upload_id=multipart_id)
        parts, md5s = _validated_parts(multipart, body)
        buffer, size, checksum = _joined(parts, multipart.metadata)
        key = self.put_object(
            bucket_name,
            multipart.key_name,
            b"",
            storage=multipart.storage,
            etag=f"{hashlib.md5(md5s, usedforsecurity=False).hexdigest()}-{len(parts)}",
            multipart=multipart,
            encryption=multipart.sse_encryption,
            kms_key_id=multipart.kms_key_id,
        )
        with key.lock:
            key._value_buffer.close()
            key._value_buffer, key.contentsize = buffer, size
        del bucket.multiparts[multipart_id]

    key.set_metadata(multipart.metadata)
    key.checksum_algorithm = multipart.metadata.get("x-amz-checksum-algorithm")
    key.checksum_type, key.checksum_value, key.checksum_parts = checksum
    self.put_object_tagging(key, multipart.tags)
    self.put_object_acl(
        bucket_name=bucket_name, key_name=key.name, acl=multipart.acl, disable_notification=True
    )
    s3_models.notifications.send_event(
        self.account_id,
        s3_models.notifications.S3NotificationEvent.OBJECT_CREATED_COMPLETE_MULTIPART_UPLOAD_EVENT,
        bucket,
        bucket.keys.get(multipart.key_name),
    )
    return key


class _KeyBody:
    """An object's bytes as GetObject's answer: its length, a slice (a range) read on demand,
    and iteration in 1 MB chunks for the whole body, never all of it at once."""

    def __init__(self, key: Any) -> None:
        self.key, self.size = key, key.contentsize

    def __len__(self) -> int:
        return int(self.size)

    def __bool__(self) -> bool:
        return self.size > 0

    def _read(self, start: int, length: int) -> bytes:
        with self.key.lock:
            self.key._value_buffer.seek(start)
            return bytes(self.key._value_buffer.read(length))

    def __getitem__(self, item: slice) -> bytes:
        start, stop, step = item.indices(self.size)
        if step != 1:
            raise ValueError("only contiguous ranges are read")
        return self._read(start, max(0, stop - start))

    def __iter__(self) -> Iterator[bytes]:
        for start in range(0, self.size, CHUNK):
            yield self._read(start, min(CHUNK, self.size - start))


def _install() -> None:
    plain_value = s3_models.FakeKey.value

    def value(self: Any) -> Any:
        if _STREAMING_GET.get() and self.contentsize > CHUNK:
            return _KeyBody(self)
        return plain_value.fget(self)  # type: ignore[attr-defined]

    s3_models.FakeKey.value = property(value, plain_value.fset)  # type: ignore[method-assign,assignment,attr-defined]
    plain_get = s3_responses.S3Response.get_object

    def get_object(self: Any) -> Any:
        token = _STREAMING_GET.set(True)
        try:
            return plain_get(self)
        finally:
            _STREAMING_GET.reset(token)

    s3_responses.S3Response.get_object = get_object  # type: ignore[method-assign]
    s3_models.S3Backend.complete_multipart_upload = _complete_multipart_upload  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> None:
    from moto import server

    _install()
    server.main(argv)


if __name__ == "__main__":
    main()
