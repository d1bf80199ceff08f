"""Streaming storage helpers, on the local disk and on a real S3-protocol server (moto)."""

from __future__ import annotations

import hashlib
import os
import tracemalloc
import urllib.request
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage, storages

from portal.storage import Throttle, iter_stored, local_copy, stored_sha256

pytestmark = pytest.mark.django_db


class _Stored:
    def __init__(self, name: str) -> None:
        self.storage, self.name = default_storage, name


def _store(content: bytes, name: str = "probe/object.bin") -> _Stored:
    return _Stored(default_storage.save(name, ContentFile(content)))


def test_local_copy_is_byte_identical(any_storage: str) -> None:
    content = os.urandom(3 * 1024 * 1024 + 17)
    stored = _store(content)
    with local_copy(stored) as path:
        with open(path, "rb") as handle:
            assert handle.read() == content
        remote_copy = any_storage == "s3"
    # A temporary copy disappears with the block; a local file is the stored file itself.
    assert os.path.exists(path) is not remote_copy


def test_sha256_and_ranges_are_streamed(any_storage: str) -> None:
    content = os.urandom(2 * 1024 * 1024 + 5)
    stored = _store(content)
    digest, size = stored_sha256(default_storage, stored.name)
    assert (digest, size) == (hashlib.sha256(content).hexdigest(), len(content))
    window = b"".join(iter_stored(default_storage, stored.name, start=1000, length=70_000))
    assert window == content[1000:71_000]
    tail = b"".join(iter_stored(default_storage, stored.name, start=len(content) - 3))
    assert tail == content[-3:]


def test_copy_from_s3_never_holds_the_object_in_memory(s3_storage: dict[str, Any]) -> None:
    content = os.urandom(24 * 1024 * 1024)
    stored = _store(content, "big/original.mkv")
    del content
    tracemalloc.start()
    try:
        with local_copy(stored) as path:
            peak = tracemalloc.get_traced_memory()[1]
            assert os.path.getsize(path) == 24 * 1024 * 1024
    finally:
        tracemalloc.stop()
    assert peak < 6 * 1024 * 1024, f"peak Python allocation {peak / 2**20:.1f} MiB"


def test_signed_urls_use_sigv4_and_the_public_endpoint(
    settings: Any, s3_storage: dict[str, Any], s3_endpoint: str
) -> None:
    # The browser's address for the same server: another host name than the internal one.
    public = s3_endpoint.replace("127.0.0.1", "localhost")
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "portal.storage.ArchiveS3Storage",
            "OPTIONS": {**s3_storage, "public_endpoint_url": public},
        },
    }
    storage = storages["default"]
    name = storage.save("signed/poster.jpg", ContentFile(b"jpeg bytes"))
    url = storage.url(name, expire=60)
    assert url.startswith(public + "/")
    assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in url
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.read() == b"jpeg bytes"


def test_throttle_keeps_reads_under_the_rate() -> None:
    clock = [0.0]
    slept: list[float] = []
    throttle = Throttle(1000, clock=lambda: clock[0], sleep=slept.append)
    throttle(500)
    throttle(1500)
    assert slept == [0.5, 2.0]


def test_saving_a_file_on_disk_to_s3_streams_it_from_its_path(
    s3_storage: dict[str, Any], tmp_path: Any
) -> None:
    from django.core.files import File

    content = os.urandom(40 * 1024 * 1024 + 3)  # multipart: six 8 MiB parts
    path = tmp_path / "master.mkv"
    path.write_bytes(content)
    del content
    tracemalloc.start()
    try:
        with path.open("rb") as handle:
            name = default_storage.save("versions/master.mkv", File(handle))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert stored_sha256(default_storage, name)[1] == 40 * 1024 * 1024 + 3
    assert b"".join(iter_stored(default_storage, name)) == path.read_bytes()
    # At most the parts in flight (4 x 8 MiB); a file object would be read ahead (> 50 MiB).
    assert peak < 28 * 1024 * 1024, f"peak Python allocation {peak / 2**20:.1f} MiB"
