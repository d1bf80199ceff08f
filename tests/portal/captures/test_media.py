"""Range requests on capture media (originals, proxies, posters) and who may fetch them."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from portal.captures.models import Capture
from portal.captures.tasks import build_capture_proxy
from portal.media import UnsatisfiableRange, parse_range

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("bytes=0-99", (0, 99)),
        ("bytes=100-", (100, 999)),
        ("bytes=-10", (990, 999)),
        ("bytes=-5000", (0, 999)),
        ("bytes=900-5000", (900, 999)),
        ("bytes=5-1", None),  # invalid: ignored, whole file
        ("bytes=0-1,5-9", None),  # multi-range: whole file (allowed by RFC 9110)
        ("items=0-1", None),
    ],
)
def test_parse_range(header: str | None, expected: tuple[int, int] | None) -> None:
    assert parse_range(header, 1000) == expected


@pytest.mark.parametrize("header", ["bytes=1000-", "bytes=2000-3000", "bytes=-0"])
def test_parse_range_unsatisfiable(header: str) -> None:
    with pytest.raises(UnsatisfiableRange):
        parse_range(header, 1000)


def _body(response: Any) -> bytes:
    return b"".join(response.streaming_content)


def test_original_whole_and_ranges(
    archivist_client: Client, tape: Any, make_capture: Callable[..., Capture]
) -> None:
    capture = make_capture(tape)
    url = reverse("captures:original", args=[capture.pk])
    data = capture.original.read()
    size = len(data)

    whole = archivist_client.get(url)
    assert whole.status_code == 200
    assert whole["Accept-Ranges"] == "bytes"
    assert whole["Content-Length"] == str(size)
    assert whole["Content-Type"] == "video/x-matroska"
    assert _body(whole) == data

    part = archivist_client.get(url, HTTP_RANGE="bytes=10-109")
    assert part.status_code == 206
    assert part["Content-Range"] == f"bytes 10-109/{size}"
    assert part["Content-Length"] == "100"
    assert _body(part) == data[10:110]

    tail = archivist_client.get(url, HTTP_RANGE="bytes=-16")
    assert tail.status_code == 206 and _body(tail) == data[-16:]

    beyond = archivist_client.get(url, HTTP_RANGE=f"bytes={size}-")
    assert beyond.status_code == 416
    assert beyond["Content-Range"] == f"bytes */{size}"

    head = archivist_client.head(url)
    assert head.status_code == 200 and head["Content-Length"] == str(size)

    download = archivist_client.get(url + "?download=1")
    assert download["Content-Disposition"].startswith("attachment")


def test_poster_and_proxy_are_range_served(
    archivist_client: Client, tape: Any, make_capture: Callable[..., Capture]
) -> None:
    capture = make_capture(tape)
    proxy_url = reverse("captures:proxy", args=[capture.pk])
    assert archivist_client.get(proxy_url).status_code == 404  # not made yet
    build_capture_proxy(capture.pk)

    proxy = archivist_client.get(proxy_url, HTTP_RANGE="bytes=0-7")
    assert proxy.status_code == 206 and proxy["Content-Type"] == "video/mp4"
    assert _body(proxy)[4:8] == b"ftyp"

    poster = archivist_client.get(reverse("captures:poster", args=[capture.pk]))
    assert poster.status_code == 200 and poster["Content-Type"] == "image/jpeg"
    assert _body(poster)[:3] == b"\xff\xd8\xff"


def test_conditional_requests_answer_304_and_if_range_guards_resumes(
    archivist_client: Client, tape: Any, make_capture: Callable[..., Capture]
) -> None:
    capture = make_capture(tape)
    url = reverse("captures:original", args=[capture.pk])
    data = capture.original.read()
    first = archivist_client.get(url)
    etag, modified = first["ETag"], first["Last-Modified"]
    assert etag.startswith('"') and etag.endswith('"')
    assert archivist_client.get(url)["ETag"] == etag  # stable while the file is unchanged

    unchanged = archivist_client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert unchanged.status_code == 304 and unchanged["ETag"] == etag
    assert unchanged.content == b"" and "Content-Type" not in unchanged
    assert archivist_client.get(url, HTTP_IF_NONE_MATCH=f'"other", W/{etag}').status_code == 304
    assert archivist_client.head(url, HTTP_IF_NONE_MATCH=etag).status_code == 304
    assert archivist_client.get(url, HTTP_IF_MODIFIED_SINCE=modified).status_code == 304
    changed = archivist_client.get(url, HTTP_IF_NONE_MATCH='"not-this-file"')
    assert changed.status_code == 200 and _body(changed) == data
    # If-None-Match wins over If-Modified-Since (RFC 9110 13.2.2)
    both = archivist_client.get(
        url, HTTP_IF_NONE_MATCH='"not-this-file"', HTTP_IF_MODIFIED_SINCE=modified
    )
    assert both.status_code == 200
    older = archivist_client.get(url, HTTP_IF_MODIFIED_SINCE="Mon, 01 Jan 1990 00:00:00 GMT")
    assert older.status_code == 200
    assert archivist_client.get(url, HTTP_IF_MODIFIED_SINCE="yesterday").status_code == 200

    resumed = archivist_client.get(url, HTTP_RANGE="bytes=10-19", HTTP_IF_RANGE=etag)
    assert resumed.status_code == 206 and _body(resumed) == data[10:20]
    by_date = archivist_client.get(url, HTTP_RANGE="bytes=10-19", HTTP_IF_RANGE=modified)
    assert by_date.status_code == 206
    replaced = archivist_client.get(url, HTTP_RANGE="bytes=10-19", HTTP_IF_RANGE='"older-file"')
    assert replaced.status_code == 200 and _body(replaced) == data  # whole, never spliced
    weak = archivist_client.get(url, HTTP_RANGE="bytes=10-19", HTTP_IF_RANGE=f"W/{etag}")
    assert weak.status_code == 200


def test_a_rebuilt_file_gets_a_new_etag(
    archivist_client: Client, tape: Any, make_capture: Callable[..., Capture]
) -> None:
    import os

    capture = make_capture(tape)
    build_capture_proxy(capture.pk)
    capture.refresh_from_db()
    url = reverse("captures:proxy", args=[capture.pk])
    etag = archivist_client.get(url)["ETag"]
    later = time.time() + 5
    os.utime(capture.proxy.path, (later, later))  # the proxy written again, same name
    fresh = archivist_client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert fresh.status_code == 200 and fresh["ETag"] != etag


@pytest.mark.parametrize("name", ["original", "proxy", "poster"])
def test_media_is_404_for_outsiders_and_anonymous(
    outsider_client: Client, tape: Any, make_capture: Callable[..., Capture], name: str
) -> None:
    capture = make_capture(tape)
    build_capture_proxy(capture.pk)
    url = reverse(f"captures:{name}", args=[capture.pk])
    assert outsider_client.get(url).status_code == 404
    assert outsider_client.get(url, HTTP_RANGE="bytes=0-10").status_code == 404
    assert Client().get(url).status_code == 404


def test_media_root_is_not_served_publicly(
    archivist_client: Client, tape: Any, make_capture: Callable[..., Capture]
) -> None:
    capture = make_capture(tape)
    from django.conf import settings

    assert archivist_client.get(settings.MEDIA_URL + capture.original.name).status_code == 404
    assert archivist_client.get("/media/" + capture.original.name).status_code == 404


def test_object_storage_redirects_to_a_short_lived_signed_url(rf: Any) -> None:
    # Signing happens offline in boto3: no bucket or network needed to check the redirect.
    from django.conf import settings
    from storages.backends.s3 import S3Storage

    from portal.media import serve_file_with_ranges

    storage = S3Storage(
        bucket_name="archive",
        endpoint_url="http://127.0.0.1:9",
        access_key="key",
        secret_key="secret",
        region_name="us-east-1",
        querystring_expire=3600,
    )
    capture = Capture(original="captures/1/abc/original.mkv")
    capture.original.storage = storage
    response = serve_file_with_ranges(
        rf.get("/", HTTP_RANGE="bytes=0-9"),
        capture.original,
        "video/x-matroska",
        "tape 1.mkv",
        as_attachment=True,
    )
    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith("http://127.0.0.1:9/archive/captures/1/abc/original.mkv?")
    query = parse_qs(urlsplit(location).query)
    assert query.get("Signature") or query.get("X-Amz-Signature")
    if "Expires" in query:  # signature v2: an absolute time, MEDIA_SIGNED_URL_SECONDS from now
        assert abs(int(query["Expires"][0]) - time.time() - settings.MEDIA_SIGNED_URL_SECONDS) < 30
    else:
        assert query["X-Amz-Expires"] == [str(settings.MEDIA_SIGNED_URL_SECONDS)]
    assert query["response-content-disposition"][0].startswith("attachment")
