"""Benchmark of the portal: ``python -m portal.bench`` (prints a table; nothing is asserted).

1. Catalog list page and the API tapes list over 10,000 tapes: SQL queries per request at two
   page sizes (must not grow with the page size), and median/p95 server time over N requests
   (Django test Client, in process: no network, no browser).
2. A ~1 GB capture uploaded through the API to a real gunicorn server: peak RSS growth of the
   server's worker process (target < 100 MB) and throughput.

Everything happens in a throwaway directory (SQLite database, media, static files, upload
temp); the configured database and media are never touched.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

BENCH_PASSWORD = "bench-password-not-secret"


def _configure_environment(workdir: Path) -> dict[str, str]:
    """Point every path of the settings into ``workdir``; returns the env for subprocesses."""
    env = {
        "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}",
        "PORTAL_VAR_DIR": str(workdir / "var"),
        "MEDIA_ROOT": str(workdir / "media"),
        "STATIC_ROOT": str(workdir / "static"),
        "FILE_UPLOAD_TEMP_DIR": str(workdir / "upload-tmp"),
        "DEBUG": "0",  # production code paths (no debug query log, hashed static files)
        "SECURE_SSL_REDIRECT": "0",  # plain HTTP on loopback, as behind a TLS proxy
        "SECRET_KEY": uuid.uuid4().hex * 2,
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "CAPTURE_MAX_UPLOAD_SIZE": str(4 * 1024**3),
        "DJANGO_SETTINGS_MODULE": "portal.settings",
    }
    env.pop("REDIS_URL", None)
    os.environ.update(env)
    os.environ.pop("REDIS_URL", None)  # keep the task queue in the throwaway database
    return env


def _setup_django(workdir: Path) -> None:
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    call_command("collectstatic", verbosity=0, interactive=False)


def _seed(tape_count: int) -> tuple[Any, Any]:
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from accounts.models import Institution, Membership, Role
    from portal.catalog.models import CarrierFormat, Collection, Tape, TapeMetadata, VideoStandard

    institution = Institution.objects.create(name="Bench Archive", slug="bench")
    other = Institution.objects.create(name="Other Archive", slug="other")
    user = get_user_model().objects.create_user("bench", password=BENCH_PASSWORD)
    Membership.objects.create(user=user, institution=institution, role=Role.MANAGER)
    collections = [
        Collection.objects.create(institution=institution, name=f"Collection {n}")
        for n in range(20)
    ]
    formats = [value for value, _ in CarrierFormat.choices]
    standards = [value for value, _ in VideoStandard.choices]
    now = timezone.now()
    tapes = [
        Tape(
            institution=institution if n % 10 else other,  # 10% belong to another institution
            collection=collections[n % len(collections)] if n % 10 else None,
            identifier=f"T-{n:06d}",
            title=f"Recording {n} of the municipal archive",
            carrier_format=formats[n % len(formats)],
            video_standard=standards[n % len(standards)],
            recording_date=str(1970 + n % 30),
            description="Street festival, interviews and city council sessions. " * 3,
            subjects="city; festival; politics",
            created_at=now,
            updated_at=now,
        )
        for n in range(tape_count)
    ]
    Tape.objects.bulk_create(tapes, batch_size=2000)
    metadata = [
        TapeMetadata(tape_id=tape_id, key="donor", value=f"Donor {tape_id % 97}")
        for tape_id in Tape.objects.values_list("pk", flat=True)
    ]
    TapeMetadata.objects.bulk_create(metadata, batch_size=2000)
    return institution, user


def _time_requests(client: Any, url: str, count: int, **headers: Any) -> tuple[float, float]:
    durations = []
    for _ in range(count):
        start = time.perf_counter()
        response = client.get(url, **headers)
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)
        durations.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    durations.sort()
    p95 = durations[min(len(durations) - 1, round(0.95 * len(durations)) - 1)]
    return statistics.median(durations), p95


def _query_count(client: Any, url: str, **headers: Any) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, **headers)
        assert response.status_code == 200, (url, response.status_code)
    return len(queries)


def bench_lists(requests: int, user: Any) -> list[tuple[str, str, str, str, str]]:
    from django.test import Client
    from django.urls import reverse

    from portal.api.tokens import token_create

    page_client = Client()
    page_client.force_login(user)
    token = token_create(user=user, name="bench")[1]
    api_client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    page_url = reverse("catalog:tape_list")
    api_url = "/api/v1/tapes/"
    json = {"HTTP_ACCEPT": "application/json"}
    rows = []
    for label, client, url, size_param, sizes, headers in (
        ("catalog list page", page_client, page_url, "per_page", (25, 200), {}),
        ("API /api/v1/tapes/", api_client, api_url, "page_size", (25, 200), json),
    ):
        counts = [_query_count(client, f"{url}?{size_param}={size}", **headers) for size in sizes]
        for size in sizes:
            _time_requests(client, f"{url}?{size_param}={size}", 5, **headers)  # warm up
        median, p95 = _time_requests(client, f"{url}?{size_param}=50", requests, **headers)
        search_median, search_p95 = _time_requests(
            client,
            f"{url}?{size_param}=50&{'q' if client is page_client else 'search'}=donor+42",
            max(requests // 4, 10),
            **headers,
        )
        rows.append(
            (
                label,
                " / ".join(f"{c} (size {s})" for c, s in zip(counts, sizes, strict=True)),
                f"{median:.1f} / {p95:.1f}",
                f"{search_median:.1f} / {search_p95:.1f}",
                "yes" if counts[0] == counts[1] else "NO",
            )
        )
    return rows


# --- 1 GB upload ----------------------------------------------------------------------------


def write_big_video(path: Path, *, target_bytes: int) -> tuple[int, int]:
    """A real, decodable ~``target_bytes`` video: 1080p rawvideo (noise) in Matroska.

    Noise frames cost nothing to encode (rawvideo is stored as is), so a gigabyte is written in
    seconds. Returns (frames, bytes).
    """
    import av
    import numpy as np

    width, height = 1920, 1080
    frame_bytes = width * height * 3 // 2
    frames = max(2, target_bytes // frame_bytes)
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, size=(height * 3 // 2, width), dtype=np.uint8)
    with av.open(str(path), mode="w", format="matroska") as container:
        stream = container.add_stream("rawvideo", rate=25)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for index in range(frames):
            plane = np.roll(base, index * 7, axis=1)  # moving noise, cheap to make
            frame = av.VideoFrame.from_ndarray(plane, format="yuv420p")
            frame.pts = index
            frame.time_base = Fraction(1, 25)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return frames, path.stat().st_size


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(part) for part in path.read_text().split()] if path.exists() else []


def _status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def _multipart(path: Path, fields: dict[str, str], boundary: str) -> tuple[list[bytes], bytes, int]:
    head = b""
    for name, value in fields.items():
        head += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        ).encode()
    head += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
        f'filename="{path.name}"\r\nContent-Type: video/x-matroska\r\n\r\n'
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    return [head], tail, len(head) + path.stat().st_size + len(tail)


def _upload(
    port: int, token: str, path: Path, tape_id: int
) -> tuple[int, dict[str, Any], float, float, str]:
    import json

    boundary = uuid.uuid4().hex
    heads, tail, length = _multipart(path, {"tape": str(tape_id)}, boundary)
    hasher = hashlib.sha256()
    sent_at: list[float] = []

    def body() -> Iterator[bytes]:
        yield from heads
        with path.open("rb") as handle:
            while chunk := handle.read(1024 * 1024):
                hasher.update(chunk)
                yield chunk
        yield tail
        sent_at.append(time.perf_counter())

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1200)
    start = time.perf_counter()
    connection.request(
        "POST",
        "/api/v1/captures/",
        body=body(),
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Length": str(length),
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Accept": "application/json",
        },
    )
    response = connection.getresponse()
    payload = json.loads(response.read() or b"{}")
    total = time.perf_counter() - start
    connection.close()
    return (
        response.status,
        payload,
        sent_at[0] - start if sent_at else total,
        total,
        hasher.hexdigest(),
    )


def bench_upload(
    env: dict[str, str], workdir: Path, user: Any, size_mb: int
) -> list[tuple[str, str]]:
    from portal.api.tokens import token_create
    from portal.catalog.models import Tape

    token = token_create(user=user, name="bench")[1]
    tape = Tape.objects.filter(institution__slug="bench").order_by("pk").first()
    assert tape is not None
    big = workdir / "big-capture.mkv"
    started = time.perf_counter()
    frames, size = write_big_video(big, target_bytes=size_mb * 1024 * 1024)
    generate_s = time.perf_counter() - started
    small = workdir / "warmup.mkv"
    write_big_video(small, target_bytes=4 * 1024 * 1024)

    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "portal.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--timeout",
            "1200",
            "--log-level",
            "warning",
        ],
        env={**os.environ, **env},
        cwd=str(Path(__file__).resolve().parent.parent),
    )
    try:
        worker = _wait_for_worker(server, port)
        # Warm up: the first upload imports PyAV, NumPy and Pillow into the worker; that one-off
        # cost is not upload memory, so it is taken before the baseline.
        status, payload, *_ = _upload(port, token, small, tape.pk)
        assert status == 201, payload
        baseline_kb = _status_kb(worker, "VmRSS")
        Path(f"/proc/{worker}/clear_refs").write_text("5")  # reset VmHWM to the current RSS
        peak_kb = [baseline_kb]
        stop = threading.Event()

        def poll() -> None:
            while not stop.is_set():
                try:
                    peak_kb[0] = max(peak_kb[0], _status_kb(worker, "VmRSS"))
                except (FileNotFoundError, ProcessLookupError):
                    return
                time.sleep(0.02)

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        status, payload, sent_s, total_s, client_hash = _upload(port, token, big, tape.pk)
        stop.set()
        poller.join()
        hwm_kb = _status_kb(worker, "VmHWM")
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert status == 201, payload
    assert payload["sha256"] == client_hash, "server hash differs from the client's"
    mb = size / 1e6
    growth_mb = (max(hwm_kb, peak_kb[0]) - baseline_kb) / 1024
    return [
        (
            "file",
            (
                f"{big.name}: {mb:,.0f} MB, {frames} frames 1920x1080 rawvideo/MKV "
                f"(generated in {generate_s:.1f} s)"
            ),
        ),
        ("HTTP status / sha256 matches client", f"{status} / yes ({client_hash[:16]}...)"),
        ("worker RSS before upload", f"{baseline_kb / 1024:.1f} MB"),
        ("worker peak RSS during upload (VmHWM)", f"{max(hwm_kb, peak_kb[0]) / 1024:.1f} MB"),
        ("peak RSS growth (target < 100 MB)", f"{growth_mb:.1f} MB"),
        ("body sent in", f"{sent_s:.1f} s -> {mb / sent_s:.0f} MB/s"),
        (
            "request total (stream+hash, probe, poster, store)",
            f"{total_s:.1f} s -> {mb / total_s:.0f} MB/s",
        ),
    ]


def _wait_for_worker(server: subprocess.Popen[bytes], port: int) -> int:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("gunicorn exited during start-up")
        workers = _children(server.pid)
        if workers:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return workers[0]
            except OSError:
                pass
        time.sleep(0.2)
    raise RuntimeError("gunicorn did not start within 60 s")


def _print_table(title: str, header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> None:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    line = "+".join("-" * (width + 2) for width in widths)
    print(f"\n{title}\n+{line}+")
    print("| " + " | ".join(str(c).ljust(w) for c, w in zip(header, widths, strict=True)) + " |")
    print(f"+{line}+")
    for row in rows:
        print("| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
    print(f"+{line}+")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m portal.bench", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--tapes", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--upload-mb", type=int, default=1024, help="0 skips the upload benchmark")
    parser.add_argument("--keep", action="store_true", help="keep the throwaway directory")
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="portal-bench-"))
    try:
        env = _configure_environment(workdir)
        _setup_django(workdir)
        started = time.perf_counter()
        _, user = _seed(args.tapes)
        print(
            f"seeded {args.tapes:,} tapes (+ metadata) in {time.perf_counter() - started:.1f} s "
            f"into {workdir} (SQLite, DEBUG=0)"
        )
        rows = bench_lists(args.requests, user)
        _print_table(
            f"Tape lists, {args.tapes:,} tapes "
            f"({int(args.tapes * 0.9):,} in the user's institution), "
            f"{args.requests} requests at 50 per page",
            (
                "endpoint",
                "SQL queries per request",
                "median / p95 ms",
                "search median / p95 ms",
                "constant",
            ),
            rows,
        )
        if args.upload_mb:
            upload_rows = bench_upload(env, workdir, user, args.upload_mb)
            _print_table(
                "Capture upload through the API (gunicorn, 1 sync worker)",
                ("measure", "value"),
                upload_rows,
            )
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
