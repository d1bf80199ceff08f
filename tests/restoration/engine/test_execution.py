"""Cores, precision, worker processes, batching and the reader/writer threads (real videos)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch

from restoration.engine import video
from restoration.engine.exceptions import CancelledError, ConfigError, InvalidVideoError
from restoration.engine.execution import (
    POOL_MIN_WORK_MPX,
    ExecutionOptions,
    WindowJob,
    cpu_has_native_bf16,
    discard_kept_workers,
    plan_execution,
    precision_name,
    resolve_precision,
    usable_cores,
)
from restoration.engine.inference import OutputOptions, RestoreOptions, restore_video
from restoration.engine.models import create_model
from restoration.engine.restorer import WindowRestorer
from restoration.engine.streaming import FrameReader, FrameWriter
from restoration.shutdown import is_running

from .conftest import moving_pattern, write_video

CPU = torch.device("cpu")


@pytest.fixture
def tiny() -> torch.nn.Module:
    torch.manual_seed(7)
    return create_model("tiny").eval()


# --- plans ------------------------------------------------------------------------------------


def test_cpu_plan_uses_every_core_with_one_thread_each() -> None:
    plan = plan_execution("cpu", cores=4)
    assert plan.devices == ("cpu",) * 4 and plan.threads == 1 and plan.batch == 1
    assert plan_execution("cpu").workers == usable_cores()


def test_cpu_plan_workers_and_threads_share_the_cores() -> None:
    assert (plan_execution("cpu", cores=8, workers=2).threads, plan_execution("cpu").batch) == (
        4,
        1,
    )
    assert plan_execution("cpu", cores=8, threads=2).workers == 4
    assert plan_execution("cpu", cores=8, workers=3, threads=3).to_dict()["threads"] == 3
    one = plan_execution("cpu", cores=8, workers=1)
    assert one.in_process and one.threads == 8


def test_small_jobs_stay_in_process_unless_workers_are_given() -> None:
    small = plan_execution("cpu", cores=4, work_mpx=POOL_MIN_WORK_MPX / 2)
    assert small.in_process and small.threads == 1
    assert plan_execution("cpu", cores=4, work_mpx=POOL_MIN_WORK_MPX * 2).workers == 4
    assert plan_execution("cpu", cores=4, workers=2, work_mpx=0.01).workers == 2


def test_a_device_list_gets_one_worker_per_entry() -> None:
    """The multi-GPU path ("cuda:0,cuda:1"), exercised with CPUs."""
    plan = plan_execution("cpu,cpu", cores=8)
    assert plan.devices == ("cpu", "cpu") and plan.threads == 4


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"precision": "int4"}, "precision"),
        ({"workers": -1}, "workers"),
        ({"batch": 0}, "batch"),
        ({"device": "quantum"}, "unknown device"),
    ],
)
def test_bad_execution_options_say_what_is_wrong(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        plan_execution(**{"device": "cpu", **kwargs})


# --- precision --------------------------------------------------------------------------------


def test_bf16_is_native_only_with_avx512_bf16_or_amx() -> None:
    assert cpu_has_native_bf16({"avx2", "avx512_bf16"})
    assert cpu_has_native_bf16({"amx_bf16", "amx_tile"})
    assert not cpu_has_native_bf16({"avx2", "fma", "avx512f"})


def test_auto_precision_on_cpu_follows_the_hardware() -> None:
    assert resolve_precision("auto", CPU, native_bf16=True) == torch.bfloat16
    assert resolve_precision("auto", CPU, native_bf16=False) is None
    assert resolve_precision("fp32", CPU, native_bf16=True) is None
    assert resolve_precision("bf16", CPU, native_bf16=False) == torch.bfloat16
    with pytest.raises(ConfigError, match="fp16"):
        resolve_precision("fp16", CPU)
    assert [precision_name(d) for d in (None, torch.bfloat16, torch.float16)] == [
        "fp32",
        "bf16",
        "fp16",
    ]


def test_bf16_autocast_stays_close_to_fp32(tiny: torch.nn.Module) -> None:
    frames = [moving_pattern(i, 64, 48) for i in range(3)]
    refs = [(1, moving_pattern(9, 64, 48))]
    fp32 = WindowRestorer(tiny, device=CPU, precision="fp32")
    bf16 = WindowRestorer(tiny, device=CPU, precision="bf16")
    assert (fp32.precision, bf16.precision) == ("fp32", "bf16")
    a, b = np.stack(fp32.restore(frames, refs)), np.stack(bf16.restore(frames, refs))
    assert np.abs(a.astype(int) - b).mean() < 2


# --- batching and worker processes ------------------------------------------------------------


def test_batched_windows_equal_one_at_a_time(tiny: torch.nn.Module) -> None:
    clips = [[moving_pattern(i + k, 64, 48) for i in range(3)] for k in range(4)]
    refs = [(100 + k, moving_pattern(20 + k, 64, 48)) for k in range(2)]
    jobs = [WindowJob(clip, refs, (1, 2)) for clip in clips]
    jobs.append(WindowJob(clips[0], refs, (0, 2)))  # another `keep`: a batch of its own
    restorer = WindowRestorer(tiny, device=CPU)
    one = restorer.restore_jobs(jobs, batch=1)
    many = restorer.restore_jobs(jobs, batch=3)
    assert [len(window) for window in many] == [1, 1, 1, 1, 2]
    for a, b in zip(one, many, strict=True):
        assert np.abs(np.stack(a).astype(int) - np.stack(b)).max() <= 1


def _pooled_run(model: torch.nn.Module, **options: Any) -> dict[str, Any]:
    """restore_video arguments of the pool tests: references, no clean pass-through, an RGB
    master (bit-exact comparisons)."""
    return {
        "model": model,
        "scorer": "none",
        "options": RestoreOptions(references=2, window=3, margin=1, keep_clean=False, **options),
        "output": OutputOptions(master_pixel_format="bgr0"),
    }


@pytest.mark.slow  # starts two worker processes (each imports torch)
def test_worker_processes_write_the_same_frames_as_one_process(
    tmp_path: Path, tiny: torch.nn.Module
) -> None:
    src = write_video(tmp_path / "in.mkv", frames=14, size=(64, 48), audio=None)
    common = _pooled_run(tiny)
    one_worker = ExecutionOptions(workers=1, threads=1, precision="fp32")
    two_workers = ExecutionOptions(device="cpu,cpu", threads=1, precision="fp32")
    single = restore_video(src, tmp_path / "one.mkv", execution=one_worker, **common)
    pooled = restore_video(src, tmp_path / "two.mkv", execution=two_workers, **common)
    assert single.execution["workers"] == 1 and pooled.execution["workers"] == 2
    assert pooled.precision == "fp32" and pooled.dtype == "float32"
    assert pooled.execution["worker_peak_rss_mb"] > 0
    one = list(video.iter_frames(tmp_path / "one.mkv"))
    two = list(video.iter_frames(tmp_path / "two.mkv"))
    assert len(one) == len(two) == 14
    for a, b in zip(one, two, strict=True):
        np.testing.assert_array_equal(a, b)
    assert pooled.references_used == single.references_used


def test_kept_workers_serve_the_next_job_with_nothing_carried_over(
    tmp_path: Path, tiny: torch.nn.Module
) -> None:
    from restoration.engine import execution

    first = write_video(tmp_path / "a.mkv", frames=10, size=(64, 48), audio=None)
    second = write_video(tmp_path / "b.mkv", frames=10, size=(96, 64), audio=None)
    common = _pooled_run(tiny)
    gentle = _pooled_run(tiny, strength=0.5)
    kept = ExecutionOptions(device="cpu,cpu", threads=1, precision="fp32", keep_workers=True)
    fresh = ExecutionOptions(device="cpu,cpu", threads=1, precision="fp32")
    try:
        one = restore_video(first, tmp_path / "1.mkv", execution=kept, **common)
        workers = set(execution._KEPT["executor"]._processes)
        two = restore_video(second, tmp_path / "2.mkv", execution=kept, **gentle)
        assert (one.execution["workers_reused"], two.execution["workers_reused"]) == (False, True)
        assert set(execution._KEPT["executor"]._processes) == workers  # no process started
        # The second job's strength and references are its own, as in a fresh pool.
        alone = restore_video(second, tmp_path / "alone.mkv", execution=fresh, **gentle)
        assert not alone.execution["workers_reused"]
        for a, b in zip(
            video.iter_frames(tmp_path / "2.mkv"),
            video.iter_frames(tmp_path / "alone.mkv"),
            strict=True,
        ):
            np.testing.assert_array_equal(a, b)
        # Other weights: the kept workers are stopped and new ones serve the job.
        torch.manual_seed(8)
        other = create_model("tiny").eval()
        three = restore_video(
            first, tmp_path / "3.mkv", execution=kept, **{**common, "model": other}
        )
        assert not three.execution["workers_reused"]
        assert not workers & set(execution._KEPT["executor"]._processes)
        # A cancelled job stops them: nothing half-done is kept.
        calls = iter(range(100))
        with pytest.raises(CancelledError):
            restore_video(
                first,
                tmp_path / "4.mkv",
                execution=kept,
                cancel=lambda: next(calls) >= 2,
                **{**common, "model": other},
            )
        assert execution._KEPT == {}
    finally:
        discard_kept_workers()


def _restore_keeping_workers(src: Path, out: Path) -> None:
    torch.manual_seed(7)
    kept = ExecutionOptions(device="cpu,cpu", threads=1, precision="fp32", keep_workers=True)
    restore_video(src, out, execution=kept, **_pooled_run(create_model("tiny").eval()))


@pytest.mark.slow  # a child process that starts two window workers
def test_a_child_process_that_kept_its_workers_still_exits(tmp_path: Path) -> None:
    """A django-q2 worker is a multiprocessing child (forked here): when it stops or recycles
    after a job, its kept window workers must stop with it, or it waits for them forever."""
    import multiprocessing

    src = write_video(tmp_path / "in.mkv", frames=10, size=(64, 48), audio=None)
    child = multiprocessing.get_context("fork").Process(
        target=_restore_keeping_workers, args=(src, tmp_path / "out.mkv")
    )
    child.start()
    child.join(90)
    hung = child.is_alive()
    if hung:
        child.kill()
        child.join()
    assert not hung, "the process did not exit: its kept window workers were not stopped"
    assert child.exitcode == 0
    assert len(list(video.iter_frames(tmp_path / "out.mkv"))) == 10


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="reads Linux /proc")
@pytest.mark.parametrize("keep", [False, True], ids=["glibc-default", "window-worker"])
def test_a_window_worker_keeps_the_memory_it_frees_for_the_next_window(keep: bool) -> None:
    """A kept window worker's resident memory must not fall between windows and grow back by
    its whole working set in each job (glibc returns blocks of 128 KB+ to the system)."""
    import subprocess
    import sys

    code = (
        "import os, numpy as np\n"
        "from restoration.engine.execution import _keep_freed_memory\n"
        f"if {keep}: _keep_freed_memory()\n"
        "page = os.sysconf('SC_PAGESIZE')\n"
        "rss = lambda: int(open('/proc/self/statm').read().split()[1]) * page\n"
        "blocks = [np.ones(4 << 20, np.uint8) for _ in range(8)]\n"
        "held = rss()\n"
        "del blocks\n"
        "print((held - rss()) >> 20)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True, text=True)
    given_back_mb = int(out.stdout.split()[-1])
    assert (given_back_mb < 4) if keep else (given_back_mb >= 28), given_back_mb


def test_kept_workers_also_serve_small_jobs() -> None:
    kept = ExecutionOptions(device="cpu", cores=2, keep_workers=True)
    assert kept.plan(work_mpx=0.01).workers == 2
    assert ExecutionOptions(device="cpu", cores=2).plan(work_mpx=0.01).workers == 1


@pytest.mark.slow
def test_cancel_stops_the_workers_and_leaves_no_files(
    tmp_path: Path, tiny: torch.nn.Module
) -> None:
    src = write_video(tmp_path / "in.mkv", frames=12, size=(64, 48), audio=None)
    calls = iter(range(100))
    with pytest.raises(CancelledError, match="cancelled after"):
        restore_video(
            src,
            tmp_path / "c.mkv",
            model=tiny,
            scorer="none",
            options=RestoreOptions(window=3),
            execution=ExecutionOptions(workers=2),
            output=OutputOptions(access_copy=tmp_path / "c.mp4"),
            cancel=lambda: next(calls) >= 2,
        )
    assert not (tmp_path / "c.mkv").exists() and not (tmp_path / "c.mp4").exists()


_ORPHAN_PROBE = """
import sys, time, torch
from restoration.engine.execution import WindowPool, plan_execution
from restoration.engine.models import create_model
from restoration.engine.restorer import WindowRestorer
pool = WindowPool(create_model("tiny"), plan_execution("cpu,cpu"), restorer_options={})
pool.precisions()  # both workers started
print(*pool._executor._processes, flush=True)
time.sleep(600)
"""


@pytest.mark.slow
def test_workers_exit_when_their_job_process_is_killed() -> None:
    import os
    import signal
    import subprocess
    import sys

    job = subprocess.Popen([sys.executable, "-c", _ORPHAN_PROBE], stdout=subprocess.PIPE, text=True)
    assert job.stdout is not None
    workers = [int(pid) for pid in job.stdout.readline().split()]
    assert len(workers) == 2
    job.send_signal(signal.SIGKILL)
    job.wait()
    deadline = time.monotonic() + 30
    alive = workers
    while alive and time.monotonic() < deadline:
        time.sleep(0.5)
        alive = [pid for pid in workers if is_running(pid)]
    for pid in alive:  # clean up before failing
        os.kill(pid, signal.SIGKILL)
    assert alive == [], "window workers outlived their job process"


@pytest.mark.slow
def test_window_workers_obey_only_their_job_process() -> None:
    """A stop sent to the whole group or service (systemd's SIGTERM, Ctrl-C's SIGINT, a
    worker's forwarded SIGUSR1) must not kill a window worker halfway through writing a result
    (the job process would wait for the rest of it forever); its job process's SIGTERM (the
    pool's own terminate, when another worker died) still ends it, and the pool reports it."""
    import os
    import signal
    import subprocess

    from restoration.engine.execution import WindowPool, plan_execution
    from restoration.engine.models import create_model

    pool = WindowPool(create_model("tiny"), plan_execution("cpu,cpu"), restorer_options={})
    try:
        pool.precisions()  # both workers started
        assert pool._executor is not None
        first, second = list(pool._executor._processes)
        os.kill(first, signal.SIGINT)
        os.kill(first, signal.SIGUSR1)
        subprocess.run(["kill", "-TERM", str(first), str(second)], check=True)  # not the parent
        time.sleep(1.5)
        assert is_running(first) and is_running(second), "a window worker died of a group signal"
        os.kill(first, signal.SIGTERM)  # from its job process
        deadline = time.monotonic() + 20
        while (is_running(first) or is_running(second)) and time.monotonic() < deadline:
            time.sleep(0.2)  # the pool, broken, terminates the other worker itself
        assert not is_running(first), "the job process's SIGTERM did not end its window worker"
        assert not is_running(second), "the broken pool could not terminate its other worker"
    finally:
        pool.close(cancel=True)


# --- reader and writer threads ----------------------------------------------------------------


def _frames(count: int, consumed: list[int], fail_at: int | None = None) -> Iterator[Any]:
    for index in range(count):
        if index == fail_at:
            raise InvalidVideoError(f"damaged near frame {index}")
        consumed.append(index)
        yield SimpleNamespace(image=np.full((2, 2, 3), index, np.uint8), time=index / 25)


def test_reader_decodes_a_bounded_number_of_frames_ahead() -> None:
    consumed: list[int] = []
    with FrameReader(_frames(100, consumed), convert=lambda f: f.image, ahead=3) as reader:
        frames, times = reader.get(0, 2)
        assert [int(f[0, 0, 0]) for f in frames] == [0, 1] and times == [0.0, 0.04]
        time.sleep(0.3)  # time for the thread to run ahead as far as it may
        assert len(consumed) <= 2 + 3 + 1
        reader.release(1)
        assert [int(f[0, 0, 0]) for f in reader.get(1, 4)[0]] == [1, 2, 3]


def test_reader_raises_decoder_errors_and_truncation_in_the_caller() -> None:
    with FrameReader(_frames(10, [], fail_at=4), convert=lambda f: f.image) as reader:
        reader.get(0, 3)
        with pytest.raises(InvalidVideoError, match="frame 4"):
            reader.get(2, 6)
    with (
        FrameReader(_frames(3, []), convert=lambda f: f.image) as reader,
        pytest.raises(InvalidVideoError, match="truncated"),
    ):
        reader.get(0, 5)


def test_reader_iterates_in_order_ahead_and_raises_in_the_caller() -> None:
    consumed: list[int] = []
    with FrameReader(_frames(20, consumed), convert=lambda f: f.image, ahead=4) as reader:
        seen = []
        for frame in reader:
            seen.append(int(frame[0, 0, 0]))
            if len(seen) == 2:
                time.sleep(0.3)  # the thread runs ahead, but only `ahead` frames
                assert len(consumed) <= 2 + 4 + 1
        assert seen == list(range(20))
    with (
        FrameReader(_frames(10, [], fail_at=4), convert=lambda f: f.image) as reader,
        pytest.raises(InvalidVideoError, match="frame 4"),
    ):
        list(reader)


def test_writer_keeps_order_and_reports_its_errors() -> None:
    written: list[int] = []

    def write(image: np.ndarray, time_s: float | None) -> None:
        if int(image[0, 0, 0]) == 7:
            raise OSError(28, "No space left on device")
        written.append(int(image[0, 0, 0]))

    writer = FrameWriter(write, depth=2)
    for index in range(5):
        writer.put(np.full((2, 2, 3), index, np.uint8), None)
    writer.finish()
    assert written == [0, 1, 2, 3, 4]
    failing = FrameWriter(write, depth=2)
    with pytest.raises(OSError, match="No space"):
        for index in range(5, 40):
            failing.put(np.full((2, 2, 3), index, np.uint8), None)
        failing.finish()
    failing.abort()


# --- GPUs -------------------------------------------------------------------------------------


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_gpu_batched_windows_match_cpu(tiny: torch.nn.Module) -> None:
    clips = [[moving_pattern(i + k, 64, 48) for i in range(3)] for k in range(4)]
    jobs = [WindowJob(clip, [(5, moving_pattern(30, 64, 48))], (1, 2)) for clip in clips]
    cpu = WindowRestorer(tiny, device=CPU).restore_jobs(jobs)
    gpu_model = create_model("tiny").eval()
    gpu_model.load_state_dict(tiny.state_dict())
    gpu = WindowRestorer(gpu_model, device=torch.device("cuda")).restore_jobs(jobs, batch=4)
    for a, b in zip(cpu, gpu, strict=True):
        assert np.abs(np.stack(a).astype(int) - np.stack(b)).mean() < 2


@pytest.mark.gpu
@pytest.mark.skipif(torch.cuda.device_count() < 1, reason="needs a CUDA GPU")
def test_one_job_over_every_gpu(tmp_path: Path, tiny: torch.nn.Module) -> None:
    """Two workers per GPU when there is one, one per GPU when there are several."""
    src = write_video(tmp_path / "in.mkv", frames=14, size=(64, 48), audio=None)
    count = torch.cuda.device_count()
    devices = ",".join(f"cuda:{i}" for i in range(count)) if count > 1 else "cuda:0,cuda:0"
    result = restore_video(
        src,
        tmp_path / "out.mkv",
        model=tiny,
        scorer="none",
        execution=ExecutionOptions(device=devices),
    )
    assert result.execution["workers"] == max(2, count)
    assert len(list(video.iter_frames(tmp_path / "out.mkv"))) == 14
