"""Storage benchmark on a real S3-protocol server (moto): ``python -m portal.bench_storage``.

``--mode memory`` (default): a real FFV1 capture of ``--size-mb`` MB is uploaded with tus to a
gunicorn (gthread) server, then the default worker's tasks (finalize: probe, store to S3,
poster; proxy build; review thumbnails) and a short restoration run, each process reporting
its peak RSS growth (VmHWM minus the RSS before the work). Target < 100 MB each.
``--mode latency``: p50/p95 of the catalog page and the API tapes list while 5 slow tus
uploads (``--upload-rate`` bytes/s each) run against the same gunicorn server.

Everything lives in a throwaway directory (SQLite, moto, media temp); nothing is asserted.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

MB = 1024 * 1024


def _rss_kb(pid: int | str = "self") -> tuple[int, int]:
    """(current RSS, peak RSS) in KiB from /proc."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    return values["VmRSS"], values["VmHWM"]


def _env(workdir: Path, endpoint: str) -> dict[str, str]:
    from tests.s3 import CREDENTIALS, create_bucket

    bucket = create_bucket(endpoint, "bench")
    return {
        **os.environ,
        **CREDENTIALS,
        "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}",
        "PORTAL_VAR_DIR": str(workdir / "var"),
        "FILE_UPLOAD_TEMP_DIR": str(workdir / "tmp"),
        "UPLOAD_PARTIAL_DIR": str(workdir / "partial"),
        "RESTORATION_WORK_DIR": str(workdir / "work"),
        "AWS_STORAGE_BUCKET_NAME": bucket,
        "AWS_S3_ENDPOINT_URL": endpoint,
        "AWS_S3_ADDRESSING_STYLE": "path",
        "AWS_S3_REGION_NAME": "us-east-1",
        "CAPTURE_MAX_UPLOAD_SIZE": str(300 * 1024**3),
        "RESTORATION_DEFAULT_SCORER": "none",
        # The web process only receives bytes; the capture is made by the default worker.
        "UPLOAD_INLINE_FINALIZE_BYTES": "0",
        "DJANGO_SETTINGS_MODULE": "portal.settings",
    }


def _make_capture(path: Path, size_mb: int) -> int:
    """A real, valid FFV1/MKV of about ``size_mb`` MB (noise frames barely compress)."""
    import av
    import numpy as np

    width, height = 720, 576
    rng = np.random.default_rng(0)
    noise = [rng.integers(0, 256, (height, width, 3), dtype=np.uint8) for _ in range(8)]
    with av.open(str(path), "w", format="matroska") as container:
        stream = container.add_stream("ffv1", rate=25)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        index, written = 0, 0
        while written < size_mb * MB:
            frame = av.VideoFrame.from_ndarray(noise[index % 8], format="rgb24")
            frame.pts = index
            for packet in stream.encode(frame):
                written += packet.size
                container.mux(packet)
            index += 1
        for packet in stream.encode():
            container.mux(packet)
    return index


def _setup(env: dict[str, str]) -> dict[str, Any]:
    """Migrate and create an archivist (token), a tape; runs in a child with ``env``."""
    code = (
        "import django,json;django.setup();"
        "from django.core.management import call_command;call_command('migrate',verbosity=0);"
        "from tests.personas import api_token,make_institution,make_user;"
        "from accounts.models import Role;from portal.catalog.models import Tape;"
        "i=make_institution();u=make_user('bench',i,Role.MANAGER);"
        "t=Tape.objects.create(institution=i,identifier='BENCH-1',title='Bench');"
        "print(json.dumps({'token':api_token(u),'tape':t.pk}))"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True)
    return json.loads(out.stdout.decode().strip().splitlines()[-1])


def _gunicorn(env: dict[str, str], port: int, workers: int = 1) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "gunicorn.conf.py",
            "portal.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(300):
        try:
            http.client.HTTPConnection("127.0.0.1", port, timeout=1).request("GET", "/api/")
            return process
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("gunicorn did not start")


def _worker_pid(master: subprocess.Popen[bytes]) -> int:
    children = Path(f"/proc/{master.pid}/task/{master.pid}/children").read_text().split()
    return int(children[0])


def _tus_upload(port: int, token: str, tape: int, path: Path, *, rate: float = 0.0) -> str:
    size = path.stat().st_size
    meta = ",".join(
        f"{k} {base64.b64encode(v.encode()).decode()}"
        for k, v in {"tape": str(tape), "filename": path.name}.items()
    )
    auth = {"Authorization": f"Bearer {token}", "Tus-Resumable": "1.0.0"}
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    connection.request(
        "POST",
        "/api/v1/uploads/",
        headers={**auth, "Upload-Length": str(size), "Upload-Metadata": meta},
    )
    answer = connection.getresponse()
    answer.read()
    location = urlsplit(str(answer.getheader("Location"))).path
    chunk = 32 * MB  # the browser client's default PATCH size (UPLOAD_CHUNK_SIZE)
    offset = 0
    with path.open("rb") as handle:
        while offset < size:
            length = min(chunk, size - offset)
            connection.putrequest("PATCH", location)
            for key, value in {
                **auth,
                "Upload-Offset": str(offset),
                "Content-Length": str(length),
                "Content-Type": "application/offset+octet-stream",
            }.items():
                connection.putheader(key, value)
            connection.endheaders()
            sent = 0
            while sent < length:
                piece = handle.read(min(MB if not rate else 16 * 1024, length - sent))
                connection.send(piece)
                sent += len(piece)
                if rate:
                    time.sleep(len(piece) / rate)
            reply = connection.getresponse()
            reply.read()
            if reply.status != 204:
                raise RuntimeError(f"PATCH answered {reply.status}")
            offset += length
    return location.rstrip("/").rsplit("/", 1)[-1]


def _child(env: dict[str, str], step: str, arg: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "portal.bench_storage", "--child", step, arg],
        env=env,
        check=False,
        capture_output=True,
    )
    if out.returncode != 0:
        raise RuntimeError(f"{step} failed:\n{out.stderr.decode()[-3000:]}")
    return json.loads(out.stdout.decode().strip().splitlines()[-1])


def _run_child(step: str, arg: str) -> None:
    """One worker process doing what a django-q2 worker would, reporting its RSS growth."""
    import django

    django.setup()
    # Fixed costs are paid before the baseline: imported libraries (torch, PyAV, boto3) and, for
    # the restoration, the model; what is measured is what grows with the file.
    import av  # noqa: F401
    import boto3  # noqa: F401
    import PIL.Image  # noqa: F401

    import restoration.engine.video  # noqa: F401
    from portal.captures.models import Capture
    from portal.captures.services import capture_proxy_build
    from portal.uploads.models import ResumableUpload
    from portal.uploads.services import upload_finalize
    from restoration.models import RestoredVersion
    from restoration.thumbnails import version_thumbnails_build
    from restoration.worker import job_run

    if step == "restoration":
        import torch  # noqa: F401

        from restoration.engine.models import create_model  # noqa: F401
    before = _rss_kb()[0]
    started = time.perf_counter()
    result: dict[str, Any] = {}
    if step == "default":  # finalize (probe, store, poster), proxy, thumbnails
        upload = ResumableUpload.objects.get(uuid=arg)
        upload_finalize(upload_id=upload.pk)
        upload.refresh_from_db()
        if upload.capture_id is None:
            raise RuntimeError(upload.error)
        result["finalize_rss_growth_mb"] = round((_rss_kb()[1] - before) / 1024, 1)
        capture_proxy_build(capture_id=upload.capture_id)
        result["capture"] = upload.capture_id
        result["finalize_proxy_s"] = round(time.perf_counter() - started, 1)
        result["proxy_status"] = Capture.objects.get(pk=upload.capture_id).proxy_status
    elif step == "restoration":
        from portal.storage import local_copy
        from restoration.models import RestorationJob

        capture = RestorationJob.objects.get(pk=int(arg)).capture
        with local_copy(capture.original):  # the storage part: streamed copy from S3
            result["copy_rss_growth_mb"] = round((_rss_kb()[1] - before) / 1024, 1)
        job_run(job_id=int(arg))
    elif step == "thumbnails":
        result["thumbnails"] = version_thumbnails_build(
            version_id=RestoredVersion.objects.get(job_id=int(arg)).pk, extra=[0, 3]
        )
    result["seconds"] = round(time.perf_counter() - started, 1)
    result["rss_growth_mb"] = round((_rss_kb()[1] - before) / 1024, 1)
    print(json.dumps(result))


def _request_job(env: dict[str, str], capture_id: int, frames: int) -> int:
    code = (
        "import django;django.setup();from restoration import services;"
        "from portal.captures.models import Capture;from django.contrib.auth.models import User;"
        f"c=Capture.objects.get(pk={capture_id});"
        "j=services.job_request(actor=User.objects.get(username='bench'),capture=c,"
        f"parameters={{'frame_start':0,'frame_end':{frames},'scorer':'none'}});print(j.pk)"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True)
    return int(out.stdout.decode().strip().splitlines()[-1])


def _memory(args: argparse.Namespace, workdir: Path, env: dict[str, str]) -> None:
    from tests.s3 import free_port

    ids = _setup(env)
    capture = workdir / "capture.mkv"
    started = time.perf_counter()
    frames = _make_capture(capture, args.size_mb)
    size = capture.stat().st_size
    print(
        f"capture: {size / MB:.0f} MB FFV1/MKV 720x576, {frames} frames "
        f"(made in {time.perf_counter() - started:.0f} s)"
    )
    port = free_port()
    server = _gunicorn(env, port)
    try:
        worker = _worker_pid(server)
        # Warm-up: the first requests import the URL configuration and every view module.
        for url in ("/api/v1/tapes/", "/catalog/"):
            warm = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            warm.request("GET", url, headers={"Authorization": f"Bearer {ids['token']}"})
            warm.getresponse().read()
        base = _rss_kb(worker)[0]
        started = time.perf_counter()
        upload_id = _tus_upload(port, ids["token"], ids["tape"], capture)
        seconds = time.perf_counter() - started
        web = (_rss_kb(worker)[1] - base) / 1024
        print(
            f"web (gunicorn gthread worker), tus upload: {seconds:.0f} s "
            f"({size / MB / seconds:.0f} MB/s); peak RSS growth {web:.1f} MB"
        )
    finally:
        server.terminate()
        server.wait()
    capture.unlink()
    default = _child(env, "default", upload_id)
    print(
        f"default worker, finalize (probe, store to S3, poster): peak RSS growth "
        f"{default['finalize_rss_growth_mb']} MB; + proxy (decode FFV1, encode H.264): "
        f"{default['seconds']} s in all; peak RSS growth {default['rss_growth_mb']} MB"
    )
    job = _request_job(env, default["capture"], args.frames)
    restoration = _child(env, "restoration", str(job))
    print(
        f"restoration worker, copy of the original from S3: peak RSS growth "
        f"{restoration['copy_rss_growth_mb']} MB; whole job of {args.frames} frames (copy, "
        f"model load, inference, store): {restoration['seconds']} s; peak RSS growth "
        f"{restoration['rss_growth_mb']} MB"
    )
    thumbs = _child(env, "thumbnails", str(job))
    print(
        f"default worker, review thumbnails ({thumbs['thumbnails']}) by ranged reads: "
        f"{thumbs['seconds']} s; peak RSS growth {thumbs['rss_growth_mb']} MB"
    )


def _latency(args: argparse.Namespace, workdir: Path, env: dict[str, str]) -> None:
    from tests.s3 import free_port

    ids = _setup(env)
    source = workdir / "slow.mkv"
    _make_capture(source, args.upload_mb)
    port = free_port()
    server = _gunicorn(env, port, workers=args.workers)
    stop = threading.Event()
    headers = {"Authorization": f"Bearer {ids['token']}"}
    for _ in range(3 * args.workers):  # warm-up: every worker imports its views once
        for url in ("/api/v1/tapes/", "/catalog/"):
            warm = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            warm.request("GET", url, headers=headers)
            warm.getresponse().read()

    def slow_upload() -> None:
        try:
            _tus_upload(port, ids["token"], ids["tape"], source, rate=args.upload_rate)
        except OSError:
            if not stop.is_set():
                raise

    try:
        uploads = [threading.Thread(target=slow_upload, daemon=True) for _ in range(5)]
        for thread in uploads:
            thread.start()
        time.sleep(2)
        timings: dict[str, list[float]] = {"/api/v1/tapes/": [], "/catalog/": []}
        deadline = time.monotonic() + args.seconds
        while time.monotonic() < deadline and any(t.is_alive() for t in uploads):
            for url, values in timings.items():
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                begin = time.perf_counter()
                connection.request("GET", url, headers=headers)
                connection.getresponse().read()
                values.append((time.perf_counter() - begin) * 1000)
                time.sleep(0.05)
        alive = sum(t.is_alive() for t in uploads)
        print(
            f"5 tus uploads at {args.upload_rate / 1024:.0f} KiB/s each; {alive} still "
            "running at the end of the measurement"
        )
        for url, values in timings.items():
            values.sort()
            p95 = values[int(0.95 * (len(values) - 1))]
            print(
                f"GET {url}: n={len(values)} p50 {statistics.median(values):.0f} ms, "
                f"p95 {p95:.0f} ms, max {values[-1]:.0f} ms"
            )
    finally:
        stop.set()
        server.terminate()
        server.wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["memory", "latency"], default="memory")
    parser.add_argument("--size-mb", type=int, default=2048, help="capture size (memory mode)")
    parser.add_argument("--frames", type=int, default=4, help="frames restored (memory mode)")
    parser.add_argument("--upload-mb", type=int, default=64, help="slow uploads' file size")
    parser.add_argument("--upload-rate", type=float, default=1024 * 1024, help="bytes/s each")
    parser.add_argument("--seconds", type=float, default=30, help="latency measurement length")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn processes (latency)")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _run_child(*args.child)
        return
    from tests.s3 import moto_server

    with tempfile.TemporaryDirectory(prefix="bench-storage-") as tmp, moto_server() as endpoint:
        workdir = Path(tmp)
        env = _env(workdir, endpoint)
        print(f"moto S3 server at {endpoint}; work folder {workdir}")
        (_memory if args.mode == "memory" else _latency)(args, workdir, env)


if __name__ == "__main__":
    main()
