"""Storage benchmark on a real S3-protocol server (moto): ``python -m portal.bench_storage``.

``--mode memory`` (default): a real FFV1 capture of ``--size-mb`` MB is uploaded with tus to a
gunicorn (gthread) server, then the default worker's tasks (finalize: probe, store to S3,
poster; proxy build; review thumbnails) and a short restoration run, each process printing
its baseline RSS (after start-up and imports) and its peak (VmHWM). Target: peak growth
< 100 MB each. The restoration worker runs two jobs in a row: the first in a fresh process
(one-time costs that stay: torch kernels, thread pools, allocator arenas), then the next one
measured from the RSS the first left, which is what a long-running worker does.
``--mode latency``: p50/p95 of the catalog page (/tapes/, logged in) and the API tapes list
while 5 slow tus uploads (``--upload-rate`` bytes/s each) run against the same gunicorn
server; any answer but 200 stops the benchmark.

The test S3 server is moto through ``tests.s3_server`` (large objects streamed as S3 does).
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


def _growth(baseline_kb: int, peak_kb: int) -> str:
    return (
        f"baseline RSS {baseline_kb / 1024:.1f} MB, peak {peak_kb / 1024:.1f} MB: "
        f"peak growth {(peak_kb - baseline_kb) / 1024:.1f} MB"
    )


def _reset_peak(pid: int | str = "self") -> None:
    """Start VmHWM again from the current RSS (Linux >= 4.0: clear_refs 5)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


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
        # A logged-in session for the pages (the catalog), an API token for the API.
        "from django.contrib.sessions.backends.db import SessionStore;"
        "import django.contrib.auth as a;s=SessionStore();s[a.SESSION_KEY]=str(u.pk);"
        "s[a.HASH_SESSION_KEY]=u.get_session_auth_hash();"
        "s[a.BACKEND_SESSION_KEY]='django.contrib.auth.backends.ModelBackend';s.create();"
        "print(json.dumps({'token':api_token(u),'tape':t.pk,'session':s.session_key}))"
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


def _auth(ids: dict[str, Any], url: str) -> dict[str, str]:
    """Pages take the session cookie, the API the token."""
    if url.startswith("/api/"):
        return {"Authorization": f"Bearer {ids['token']}"}
    return {"Cookie": f"sessionid={ids['session']}"}


def _get(port: int, url: str, ids: dict[str, Any]) -> float:
    """GET ``url``; milliseconds. Anything but 200 stops the benchmark (no timing of errors)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    begin = time.perf_counter()
    connection.request("GET", url, headers=_auth(ids, url))
    answer = connection.getresponse()
    answer.read()
    elapsed = (time.perf_counter() - begin) * 1000
    if answer.status != 200:
        raise RuntimeError(f"GET {url} answered {answer.status}, not 200")
    return elapsed


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
    """One worker process doing what a django-q2 worker does, reporting its RSS: the baseline
    (after django.setup() and the imports every such worker has made before its first task)
    and the peak (VmHWM) during the work."""
    import django

    django.setup()
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

    if step == "restoration":
        import torch  # noqa: F401

        from restoration.engine.models import create_model  # noqa: F401
    started = time.perf_counter()
    result: dict[str, Any] = {"baseline_kb": _rss_kb()[0]}
    if step == "default":  # finalize (probe, store, poster), proxy
        upload = ResumableUpload.objects.get(uuid=arg)
        upload_finalize(upload_id=upload.pk)
        upload.refresh_from_db()
        if upload.capture_id is None:
            raise RuntimeError(upload.error)
        result["finalize_peak_kb"] = _rss_kb()[1]
        capture_proxy_build(capture_id=upload.capture_id)
        result["capture"] = upload.capture_id
        result["proxy_status"] = Capture.objects.get(pk=upload.capture_id).proxy_status
    elif step == "restoration":
        result.update(_restoration_jobs(*(int(job) for job in arg.split(","))))
    elif step == "thumbnails":
        result["thumbnails"] = version_thumbnails_build(
            version_id=RestoredVersion.objects.get(job_id=int(arg)).pk, extra=[0, 3]
        )
    result["seconds"] = round(time.perf_counter() - started, 1)
    result["peak_kb"] = _rss_kb()[1]
    print(json.dumps(result))


def _restoration_jobs(first: int, second: int) -> dict[str, Any]:
    """The restoration worker: it warms up as ``manage.py restoration_worker``'s processes do
    (django-q2's post_spawn), then a streamed copy of the original, then two jobs in a row.

    A worker is a process tree: the job process and the window worker processes it keeps
    between jobs (RESTORATION_KEEP_WORKERS). Before each job every process's peak counter is
    restarted; each one's growth over its RSS at that moment is reported.
    """
    import gc

    from portal.storage import local_copy
    from restoration.models import RestorationJob
    from restoration.shutdown import descendants
    from restoration.worker import job_run, on_worker_spawn_warm_up

    result: dict[str, Any] = {"before_warm_up_kb": _rss_kb()[0]}
    started = time.perf_counter()
    on_worker_spawn_warm_up()
    result["warm_up_seconds"] = round(time.perf_counter() - started, 1)
    tree = [os.getpid(), *descendants(os.getpid())]
    result["ready_kb"] = {pid: _rss_kb(pid)[0] for pid in tree}
    result["warm_up_peak_kb"] = {pid: _rss_kb(pid)[1] for pid in tree}
    result["names"] = {pid: _process_name(pid) for pid in tree[1:]}
    capture = RestorationJob.objects.get(pk=first).capture
    _reset_peak()
    copy_baseline = _rss_kb()[0]
    with local_copy(capture.original):  # the storage part: streamed copy from S3
        result["copy_kb"] = (copy_baseline, _rss_kb()[1])
    for key, job_id in (("first", first), ("second", second)):
        gc.collect()
        tree = [os.getpid(), *descendants(os.getpid())]
        for pid in tree:
            _reset_peak(pid)
        baseline = {pid: _rss_kb(pid)[0] for pid in tree}
        started = time.perf_counter()
        job_run(job_id=job_id)
        job = RestorationJob.objects.get(pk=job_id)
        if job.status != "succeeded":
            raise RuntimeError(f"restoration job {job_id} ended {job.status}: {job.error}")
        result[f"{key}_job_seconds"] = round(time.perf_counter() - started, 1)
        result[f"{key}_job_kb"] = {
            pid: (baseline[pid], _rss_kb(pid)[1]) for pid in tree if Path(f"/proc/{pid}").exists()
        }
        result[f"{key}_job_new_processes"] = len(set(descendants(os.getpid())) - set(tree))
    return result


def _process_name(pid: int) -> str:
    """A child of the job process as the report names it (read while it runs)."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return f"process {pid} (gone)"
    return f"{'resource tracker' if b'resource_tracker' in command else 'window worker'} {pid}"


def _tree_growth(run: dict[str, Any], key: str, main: str) -> str:
    """Each process of a worker tree, the job process first: its growth over its RSS when the
    job started, and its peak against the peak it reached in the warm-up (a kept window worker
    gives memory back between jobs, so the first figure also counts memory it had before)."""
    parts = []
    for pid, (baseline, peak) in run[f"{key}_job_kb"].items():
        name = "job process" if pid == main else run["names"][pid]
        warm_up = run["warm_up_peak_kb"][pid] / 1024
        parts.append(f"{name}: {_growth(baseline, peak)} (warm-up peak {warm_up:.1f} MB)")
    return "; ".join(parts)


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
        for url in ("/api/v1/tapes/", "/tapes/"):
            _get(port, url, ids)
        base = _rss_kb(worker)[0]
        started = time.perf_counter()
        upload_id = _tus_upload(port, ids["token"], ids["tape"], capture)
        seconds = time.perf_counter() - started
        peak = _rss_kb(worker)[1]
        print(
            f"web (gunicorn gthread worker, warmed up by 2 requests), tus upload: {seconds:.0f} s "
            f"({size / MB / seconds:.0f} MB/s); {_growth(base, peak)}"
        )
    finally:
        server.terminate()
        server.wait()
    capture.unlink()
    default = _child(env, "default", upload_id)
    print(
        f"default worker, finalize (probe, store to S3, poster): "
        f"{_growth(default['baseline_kb'], default['finalize_peak_kb'])}; + proxy (decode "
        f"FFV1, encode H.264; {default['proxy_status']}): {default['seconds']} s in all; "
        f"{_growth(default['baseline_kb'], default['peak_kb'])}"
    )
    jobs = [_request_job(env, default["capture"], args.frames) for _ in range(2)]
    from restoration.management.commands.restoration_worker import MALLOC_ARENAS

    tile = {"RESTORATION_TILE": str(args.restoration_tile)} if args.restoration_tile else {}
    # As `manage.py restoration_worker` runs it (the command restarts itself with this).
    worker_env = {
        **env,
        **tile,
        "MALLOC_ARENA_MAX": os.environ.get("MALLOC_ARENA_MAX", MALLOC_ARENAS),
        "Q_CLUSTER_NAME": "restoration",  # the warm-up runs in restoration workers only
    }
    run = _child(worker_env, "restoration", ",".join(map(str, jobs)))
    print(
        "restoration worker settings: RESTORATION_TILE="
        f"{args.restoration_tile or 'unset (auto: SD frames run whole)'}, "
        f"MALLOC_ARENA_MAX={worker_env['MALLOC_ARENA_MAX']} (as manage.py restoration_worker), "
        "RESTORATION_WARM_UP on, RESTORATION_KEEP_WORKERS="
        f"{os.environ.get('RESTORATION_KEEP_WORKERS', 'true (the default)')}"
    )
    ready = run["ready_kb"]
    main = next(iter(ready))
    print(
        f"restoration worker, warm-up at start ({run['warm_up_seconds']} s, synthetic SD clip): "
        f"job process {run['before_warm_up_kb'] / 1024:.0f} -> {ready[main] / 1024:.0f} MB; "
        + ", ".join(
            f"{run['names'][pid]} {kb / 1024:.0f} MB" for pid, kb in ready.items() if pid != main
        )
        + " (one-time: model, torch kernels and thread pools, codecs; window workers kept)"
    )
    print(f"restoration worker, streamed copy of the original from S3: {_growth(*run['copy_kb'])}")
    for key in ("first", "second"):
        print(
            f"restoration worker, {key} job ({args.frames} frames: copy, scoring, inference, "
            f"store; {run[key + '_job_new_processes']} processes started): "
            f"{run[key + '_job_seconds']} s; "
            f"{_tree_growth(run, key, main)}"
        )
    thumbs = _child(env, "thumbnails", str(jobs[-1]))
    print(
        f"default worker, review thumbnails ({thumbs['thumbnails']}) by ranged reads: "
        f"{thumbs['seconds']} s; {_growth(thumbs['baseline_kb'], thumbs['peak_kb'])}"
    )


def _latency(args: argparse.Namespace, workdir: Path, env: dict[str, str]) -> None:
    from tests.s3 import free_port

    ids = _setup(env)
    source = workdir / "slow.mkv"
    _make_capture(source, args.upload_mb)
    port = free_port()
    server = _gunicorn(env, port, workers=args.workers)
    stop = threading.Event()
    for _ in range(3 * args.workers):  # warm-up: every worker imports its views once
        for url in ("/api/v1/tapes/", "/tapes/"):
            _get(port, url, ids)

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
        timings: dict[str, list[float]] = {"/api/v1/tapes/": [], "/tapes/": []}
        deadline = time.monotonic() + args.seconds
        while time.monotonic() < deadline and any(t.is_alive() for t in uploads):
            for url, values in timings.items():
                values.append(_get(port, url, ids))
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
    parser.add_argument(
        "--restoration-tile",
        type=int,
        default=0,
        help="RESTORATION_TILE for the restoration worker (default: unset, as deployed)",
    )
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
