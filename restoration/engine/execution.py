"""Where windows run: cores, devices, reduced precision and parallel window workers.

CPU. A job gets `workers` processes, each with `threads` intra-op threads (default: one process
per usable core, one thread each). Measured on the shared 2-core development machine (one
tape-lite window at 720x576): one thread 1.97-2.21 CPU-s per window; two OpenMP threads in one
process 4.7-4.8 CPU-s per window (the threads spin waiting for each other whenever another
program holds a core, so the second core makes it slower); two Python threads with one intra-op
thread each 2.2-2.8 CPU-s. Processes share nothing but the frames they are sent, so windows
are independent, whole units of work, and nothing contends for the GIL.

GPU. Each listed device gets a worker (a device listed twice gets two: several windows in
flight on one GPU, for GPUs large enough); with one device the network runs in the calling
process. Windows that share a shape are batched (`batch` windows per pass).

Precision. "auto" is bf16 autocast where the hardware computes in bf16 natively (CUDA GPUs
with bf16, CPUs with AVX512-BF16 or AMX, ARM CPUs with BF16), fp16 on older GPUs and MPS, and
float32 elsewhere: emulated bf16 on a CPU without it is slower than float32.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import multiprocessing
import multiprocessing.util
import os
import platform
import signal
import threading
import time
import uuid
import weakref
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import numpy as np
import torch

from .exceptions import ConfigError, EngineError

if TYPE_CHECKING:
    from .models import RestorationNet
    from .restorer import WindowRestorer

PRECISIONS = ("auto", "fp32", "bf16", "fp16")
# Below this much work (frames x megapixels) automatic CPU plans stay in one process: starting
# a worker (importing torch, loading the model) costs seconds, about what ten SD frames do.
POOL_MIN_WORK_MPX = 4.0
_DTYPES = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


class WorkerError(EngineError):
    """A window worker process died (killed, out of memory): retrying may help."""

    permanent = False


# ---------------------------------------------------------------------------------------------
# Cores and precision


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity, which containers and taskset set)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def cpu_flags() -> set[str]:
    """The CPU's feature flags (x86 "flags", ARM "Features") from /proc/cpuinfo; empty elsewhere."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return set(value.split())
    return set()


def cpu_has_native_bf16(flags: set[str] | None = None) -> bool:
    """AVX512-BF16 or AMX (x86), or the BF16 extension (ARM): bf16 matrix work in hardware."""
    flags = cpu_flags() if flags is None else flags
    if {"avx512_bf16", "amx_bf16"} & flags:
        return True
    return platform.machine().lower() in ("aarch64", "arm64") and "bf16" in flags


def resolve_precision(
    precision: str, device: torch.device, *, native_bf16: bool | None = None
) -> torch.dtype | None:
    """The autocast dtype for `precision` on `device`; None means float32 (no autocast)."""
    if precision not in PRECISIONS:
        raise ConfigError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    if precision == "fp32":
        return None
    if device.type == "cuda":
        bf16 = torch.cuda.is_bf16_supported()
        if precision == "auto":
            return torch.bfloat16 if bf16 else torch.float16
        if precision == "bf16" and not bf16:
            raise ConfigError("this GPU has no bf16: use --precision fp16 or fp32")
        return _DTYPES[precision]
    if device.type == "mps":
        return torch.float16 if precision == "auto" else _DTYPES[precision]
    if precision == "fp16":
        raise ConfigError("fp16 is not supported on CPUs: use --precision bf16 or fp32")
    if precision == "bf16":
        return torch.bfloat16
    native = cpu_has_native_bf16() if native_bf16 is None else native_bf16
    return torch.bfloat16 if native else None


def precision_name(dtype: torch.dtype | None) -> str:
    return {None: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}.get(dtype, str(dtype))


# ---------------------------------------------------------------------------------------------
# The plan: which devices, how many workers and threads


@dataclass(frozen=True)
class ExecutionPlan:
    devices: tuple[str, ...]  # one window worker per entry; a single entry runs in-process
    threads: int  # intra-op threads of each worker
    precision: str  # requested: auto, fp32, bf16, fp16 (each worker resolves it on its device)
    batch: int  # windows per network pass (GPU); 1 on CPUs, where batching gains nothing

    @property
    def workers(self) -> int:
        return len(self.devices)

    @property
    def in_process(self) -> bool:
        return len(self.devices) == 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "devices": list(self.devices),
            "workers": self.workers,
            "threads": self.threads,
            "precision": self.precision,
            "batch": self.batch,
        }


@dataclass(frozen=True)
class ExecutionOptions:
    """Where one job's windows run, as asked; `plan` settles it (`plan_execution`).

    None and 0 mean automatic: on a CPU one worker process per usable core with one thread
    each, on GPUs one worker per listed device.
    """

    device: str | None = "auto"  # "auto", "cpu", "cuda", "cuda:N" or a comma-separated list
    workers: int | None = None  # worker processes (on GPUs: spread over the devices in turn)
    threads: int | None = None  # intra-op threads of each worker
    cores: int | None = None  # CPU cores the job may use (default: every usable one)
    precision: str = "auto"  # auto, fp32, bf16 or fp16 autocast (auto: bf16 where native)
    batch: int | None = None  # windows per network pass (default: 1 on a CPU, 4 on a GPU)
    compile: bool = False  # torch.compile the network (worth it on GPUs)
    # Keep the worker processes (model loaded, kernels warm) for this process's next job with
    # the same weights and plan: for a process serving a queue. A kept pool also serves small
    # jobs, which would otherwise run in this process to save the start-up.
    keep_workers: bool = False

    def plan(self, *, work_mpx: float | None = None) -> ExecutionPlan:
        return plan_execution(
            self.device,
            workers=self.workers,
            threads=self.threads,
            precision=self.precision,
            batch=self.batch,
            cores=self.cores,
            work_mpx=None if self.keep_workers else work_mpx,
        )


def resolve_device(device: str | None = "auto") -> torch.device:
    """ "auto": cuda, then mps, then cpu; anything else is passed to torch.device."""
    if device in (None, "auto"):
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError as exc:
        raise ConfigError(
            f"unknown device {device!r} (use auto, cpu, cuda, cuda:N or mps)"
        ) from exc
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device cuda requested but no CUDA GPU is available")
    if resolved.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError("device mps requested but MPS is not available")
    return resolved


def plan_execution(
    device: str | None = "auto",
    *,
    workers: int | None = None,
    threads: int | None = None,
    precision: str = "auto",
    batch: int | None = None,
    cores: int | None = None,
    work_mpx: float | None = None,
) -> ExecutionPlan:
    """Devices, workers and threads for one job.

    `device`: "auto" (every CUDA GPU, else MPS, else the CPU), "cpu", "cuda", "cuda:N", or a
    comma-separated list ("cuda:0,cuda:1"; a device listed twice runs two workers).
    `cores`: how many CPU cores the job may use (default: all usable ones); on a CPU `workers`
    defaults to cores // threads and `threads` to cores // workers (so one or the other).
    `workers` on GPUs: total workers, spread over the listed devices in turn.
    `work_mpx` (frames x megapixels to restore): below POOL_MIN_WORK_MPX, and unless `workers`
    is given, a CPU job runs in this process.
    """

    if precision not in PRECISIONS:
        raise ConfigError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    for name, value in (("workers", workers), ("threads", threads), ("cores", cores)):
        if value is not None and value < 0:
            raise ConfigError(f"{name} must be 0 (automatic) or more, not {value}")
    if batch is not None and batch < 1:
        raise ConfigError(f"batch must be at least 1 window, not {batch}")
    names = [part.strip() for part in str(device or "auto").split(",") if part.strip()]
    resolved = [resolve_device(name) for name in names or ["auto"]]
    if len(names) <= 1 and names[:1] in ([], ["auto"], ["cuda"]) and resolved[0].type == "cuda":
        resolved = [torch.device("cuda", i) for i in range(torch.cuda.device_count())]
    if any(d.type != resolved[0].type for d in resolved):
        raise ConfigError(f"devices {device!r} mix kinds: list CPUs or GPUs, not both")
    budget = cores or usable_cores()
    if resolved[0].type == "cpu":
        if len(resolved) > 1 and not workers:  # "cpu,cpu": one worker per entry, as GPUs
            workers = len(resolved)
        if workers and threads:
            count, per_worker = workers, threads
        elif workers:
            count, per_worker = workers, max(1, budget // workers)
        elif work_mpx is not None and work_mpx < POOL_MIN_WORK_MPX:
            count, per_worker = 1, threads or 1
        else:
            per_worker = threads or 1
            count = max(1, budget // per_worker)
        return ExecutionPlan(("cpu",) * count, per_worker, precision, batch or 1)
    count = workers or len(resolved)
    devices = tuple(str(resolved[i % len(resolved)]) for i in range(count))
    per_worker = threads or max(1, budget // count)
    return ExecutionPlan(devices, per_worker, precision, batch or 4)


@contextlib.contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """Intra-op threads of this process for a while (restored afterwards)."""
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


# ---------------------------------------------------------------------------------------------
# Windows and the workers that run them


@dataclass
class WindowJob:
    """One window: its frames, its references (frame index, image) and the frames it keeps."""

    frames: list[np.ndarray]
    references: list[tuple[int, np.ndarray]] | None
    keep: tuple[int, int]


@dataclass
class ChunkResult:
    images: list[list[np.ndarray]]  # per job, the kept frames as uint8 RGB
    network_seconds: float
    frame_passes: int
    peak_rss_mb: float = 0.0


@dataclass
class PoolStats:
    network_seconds: float = 0.0  # summed over workers (exceeds wall time when they overlap)
    frame_passes: int = 0
    worker_peak_rss_mb: float = 0.0
    dtypes: set[str] = field(default_factory=set)


def run_chunk(restorer: WindowRestorer, jobs: list[WindowJob]) -> ChunkResult:
    seconds, passes = restorer.network_seconds, restorer.frame_passes
    images = restorer.restore_jobs(jobs)
    return ChunkResult(
        images, restorer.network_seconds - seconds, restorer.frame_passes - passes, _peak_rss_mb()
    )


def _peak_rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


_WORKER: dict[str, Any] = {}


def _keep_freed_memory() -> None:
    """A window worker frees and allocates the same large activations window after window.
    glibc gives large blocks back to the system at once (mmap) and trims the heap's top, so a
    kept worker's resident memory falls between jobs and grows back by its working set
    (~80-170 MB at SD) in each one, paying the page faults again. Serve them from the heap
    and keep it: the worker holds its working set, as a GPU allocator caches its blocks."""
    if platform.system() != "Linux":
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return
    libc.mallopt(_M_MMAP_THRESHOLD, 32 * 1024 * 1024)  # glibc's maximum
    libc.mallopt(_M_TRIM_THRESHOLD, 1 << 30)


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc <malloc.h>


def _worker_init(parent: int, model: RestorationNet, devices: Any, threads: int) -> None:
    _obey_only(parent)
    _exit_with_parent(parent)
    _keep_freed_memory()
    torch.set_num_threads(threads)
    _WORKER["device"] = torch.device(devices.get())
    _WORKER["model"] = model.to(_WORKER["device"]).eval()


_GROUP_SIGNALS = {signal.SIGTERM, signal.SIGINT, signal.SIGUSR1}


@contextlib.contextmanager
def _group_signals_blocked() -> Iterator[None]:
    """Block the signals a window worker must not die of in this thread while it starts worker
    processes: a new process inherits the mask, so they stay blocked in every thread it has,
    including those ``import torch`` starts before :func:`_obey_only` runs."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _GROUP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _obey_only(parent: int) -> None:
    """Signals a window worker acts on: only its job process's.

    A window worker is its job process's to stop (the pool's shutdown, or its SIGTERM when the
    pool is broken). A signal sent to the whole process group or service (systemd's default
    ``KillMode=control-group``, Ctrl-C in a terminal, a worker's forwarded stop request) would
    otherwise kill it, possibly halfway through writing a result: the pool's reader then waits
    for the rest of that message forever and the job process never exits. So SIGINT and SIGUSR1
    are ignored, and SIGTERM is taken by a thread (``sigwaitinfo``) that ends the process only
    when the job process sent it. The job process stops its pool when its job stops.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGUSR1, signal.SIG_IGN)
    if not hasattr(signal, "sigwaitinfo"):  # macOS: SIGTERM keeps its default action
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
        return
    # Blocked since the process started (``_group_signals_blocked``), in every thread, so a
    # SIGTERM waits for ``sigwaitinfo`` instead of killing the process.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})

    def wait() -> None:
        while True:
            info = signal.sigwaitinfo({signal.SIGTERM})
            if info.si_pid == parent:  # SIGTERM's action is the default: die of it
                signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
                signal.raise_signal(signal.SIGTERM)
                os._exit(128 + signal.SIGTERM)

    threading.Thread(target=wait, name="sigterm-from-parent", daemon=True).start()


def _exit_with_parent(parent: int, period_s: float = 1.0) -> None:
    """A worker whose job process died (kill -9, OOM killer) exits too: an idle pool worker
    would otherwise wait for work forever, holding its memory (and a GPU). `parent` comes from
    the job process: it may have died while this worker was still starting."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(period_s)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _worker_restorer(token: str, options: dict[str, Any]) -> WindowRestorer:
    """This job's restorer in a worker process: built when a job (`token`) starts, so nothing
    of the previous job (its cached reference features, its strength) carries over."""
    from .restorer import WindowRestorer

    if _WORKER.get("token") != token:
        _WORKER["restorer"] = None  # free the previous job's cache before building
        _WORKER["restorer"] = WindowRestorer(_WORKER["model"], device=_WORKER["device"], **options)
        _WORKER["token"] = token
    restorer: WindowRestorer = _WORKER["restorer"]
    return restorer


def _worker_ready(token: str, options: dict[str, Any]) -> str:
    return str(_worker_restorer(token, options).precision)


def _worker_run(token: str, options: dict[str, Any], jobs: list[WindowJob]) -> ChunkResult:
    return run_chunk(_worker_restorer(token, options), jobs)


#: The pool a process keeps between jobs (ExecutionOptions.keep_workers): executor and key.
_KEPT: dict[str, Any] = {}
_STOP_AT_EXIT = 0  # the process that registered the finalizer


def _pool_key(model: RestorationNet, plan: ExecutionPlan) -> tuple[Any, ...]:
    """What kept workers must share with a job: the weights (their sha256, or for weights
    without a card this very model object, alive), the network's config and the plan."""
    sha = (getattr(model, "card", None) or {}).get("sha256")
    return (
        sha or _Alive(model),
        json.dumps(model.config, sort_keys=True),
        plan.devices,
        plan.threads,
    )


class _Alive:
    """Equal only to another _Alive of the same object while it lives (no reused id())."""

    def __init__(self, obj: object) -> None:
        self.ref = weakref.ref(obj)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Alive) and self.ref() is not None and self.ref() is other.ref()

    def __hash__(self) -> int:
        return id(self.ref())


def discard_kept_workers() -> None:
    """Stop the worker processes kept for the next job, if any."""
    executor = _KEPT.pop("executor", None)
    _KEPT.clear()
    if executor is not None:
        executor.shutdown(wait=True, cancel_futures=True)


def _stop_kept_workers_at_exit() -> None:
    """Stop kept workers when this process exits (once per process).

    A multiprocessing child (a django-q2 worker) runs its finalizers, then joins its
    non-daemonic children, then atexit: the kept workers must be stopped in a finalizer, and
    before the executor's own queues close theirs (priority 10), or the stop sentinels are
    never fed to the workers and the process waits for them forever (a stop or recycle hangs).
    """
    global _STOP_AT_EXIT  # one finalizer per process (a forked child has none yet)
    if _STOP_AT_EXIT != os.getpid():
        multiprocessing.util.Finalize(None, discard_kept_workers, exitpriority=100)
        _STOP_AT_EXIT = os.getpid()


class WindowPool:
    """Runs chunks of windows on the plan's workers: in this process, or in worker processes
    (spawned, not forked: a forked copy of a process that already ran OpenMP threads or CUDA
    can hang). Results come back in submission order; at most `in_flight` chunks are queued
    so memory stays flat in clip length. With `keep`, the worker processes outlive the job
    when it ends normally and serve the next one with the same weights and plan (a failed or
    cancelled job stops them)."""

    def __init__(
        self,
        model: RestorationNet,
        plan: ExecutionPlan,
        *,
        restorer_options: dict[str, Any],
        keep: bool = False,
    ) -> None:
        from .restorer import WindowRestorer

        self.plan = plan
        self.stats = PoolStats()
        self.in_flight = 2 * plan.workers
        self.keep = keep and not plan.in_process
        self.reused = False
        self._executor: ProcessPoolExecutor | None = None
        self._restorer: WindowRestorer | None = None
        self._token = uuid.uuid4().hex
        self._options = restorer_options
        if plan.in_process:
            self._restorer = WindowRestorer(
                model, device=torch.device(plan.devices[0]), **restorer_options
            )
            self.stats.dtypes.add(self._restorer.precision)
            return
        key = _pool_key(model, plan)
        if self.keep and _KEPT.get("key") == key:
            self._executor, self.reused = _KEPT["executor"], True
        else:
            discard_kept_workers()
            context = multiprocessing.get_context("spawn")
            devices = context.Queue()
            for name in plan.devices:
                devices.put(name)
            self._executor = ProcessPoolExecutor(
                max_workers=plan.workers,
                mp_context=context,
                initializer=_worker_init,
                initargs=(os.getpid(), model.cpu(), devices, plan.threads),
            )
            if self.keep:
                _KEPT.update(executor=self._executor, key=key)
                _stop_kept_workers_at_exit()
        # Start every worker now: they import torch and load the model while the caller
        # scores the input (a kept pool only builds this job's restorers).
        with _group_signals_blocked():
            self._ready = [
                self._executor.submit(_worker_ready, self._token, restorer_options)
                for _ in range(plan.workers)
            ]

    def submit(self, jobs: list[WindowJob]) -> Future[ChunkResult]:
        if self._executor is None:
            assert self._restorer is not None
            done: Future[ChunkResult] = Future()
            with torch_threads(self.plan.threads):
                done.set_result(run_chunk(self._restorer, jobs))
            return done
        try:
            with _group_signals_blocked():  # a submit may start a worker process
                return self._executor.submit(_worker_run, self._token, self._options, jobs)
        except BrokenProcessPool as exc:
            raise WorkerError(_BROKEN, permanent=False) from exc

    def result(self, future: Future[ChunkResult]) -> ChunkResult:
        try:
            result = future.result()
        except BrokenProcessPool as exc:
            raise WorkerError(_BROKEN, permanent=False) from exc
        self.stats.network_seconds += result.network_seconds
        self.stats.frame_passes += result.frame_passes
        self.stats.worker_peak_rss_mb = max(self.stats.worker_peak_rss_mb, result.peak_rss_mb)
        return result

    def precisions(self) -> list[str]:
        """The precision each worker resolved (waits for the workers to have started)."""
        if self._executor is None:
            return sorted(self.stats.dtypes)
        try:
            return sorted({future.result() for future in self._ready})
        except BrokenProcessPool as exc:
            raise WorkerError(_BROKEN, permanent=False) from exc

    def close(self, *, cancel: bool = False) -> None:
        executor, self._executor = self._executor, None
        if executor is None:
            return
        kept = _KEPT.get("executor") is executor
        if kept and self.keep and not cancel:
            return  # serves the next job
        if kept:
            _KEPT.clear()
        executor.shutdown(wait=True, cancel_futures=cancel)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.close(cancel=exc_type is not None)


_BROKEN = (
    "a window worker process stopped (killed, or out of memory): retry with fewer workers "
    "(--workers, RESTORATION_CORES) or a smaller tile"
)
