"""Speed benchmark: `python -m restoration.bench speed`.

Measures, on a synthetic 720x576 PAL clip (FFV1 4:2:2 + PCM audio, as a capture would be):
- the ceiling: decode + FFV1 encode only, frames per second;
- tape-lite restoring the clip end to end (scoring, references, windows, master), frames per
  second, and the ratio to the ceiling;
- tape-base: one window (T=5, D=5) on the same frames, seconds and frames per second equivalent;
- compute per output frame: the amortised windows (T=5, margin 1) against one full window per
  output frame (the published approach), network seconds per frame on the same variant;
- peak RSS of subprocesses restoring 100 and 1,000 frames (must not grow with length).
Weights: the shipped ones when present, else random initialisation (speed does not depend on
the values; the report says which). Wall-clock numbers depend on what else runs on the machine;
`*_cpu_time` numbers divide by this process's CPU seconds (x threads): what a free machine
with that many cores would give, assuming perfect thread scaling (exact for --threads 1).
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import torch

from restoration.engine import video, writers
from restoration.engine.execution import (
    ExecutionOptions,
    cpu_has_native_bf16,
    plan_execution,
    precision_name,
    resolve_precision,
    usable_cores,
)
from restoration.engine.inference import restore_video
from restoration.engine.models import RestorationNet, create_model, default_weights
from restoration.engine.planning import plan_windows
from restoration.engine.references import get_scorer
from restoration.engine.restorer import WindowRestorer

WIDTH, HEIGHT = 720, 576


def make_clip(
    path: Path, frames: int, *, seed: int = 0, size: tuple[int, int] = (WIDTH, HEIGHT)
) -> Path:
    """A moving textured scene with grain, written frame by frame (memory stays flat)."""
    width, height = size
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (height // 8 + 2, width // 8 + 2, 3), dtype=np.uint8)
    texture = np.kron(base, np.ones((8, 8, 1), dtype=np.uint8))
    with av.open(str(path), "w") as container:
        stream = container.add_stream("ffv1", rate=25)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv422p"
        stream.codec_context.sample_aspect_ratio = Fraction(16, 15)
        audio = container.add_stream("pcm_s16le", rate=48000, layout="stereo")
        for index in range(frames):
            dy, dx = index % 16, (2 * index) % 16
            rgb = texture[dy : dy + height, dx : dx + width].copy()
            grain = rng.normal(0, 6, (height, width, 1))
            rgb = np.clip(rgb.astype(np.float32) + grain, 0, 255).astype(np.uint8)
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts, frame.time_base = index, Fraction(1, 25)
            container.mux(stream.encode(frame))
            samples = np.zeros((1, 1920 * 2), np.int16)
            audio_frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="stereo")
            audio_frame.sample_rate, audio_frame.pts = 48000, index * 1920
            container.mux(audio.encode(audio_frame))
        container.mux(stream.encode(None))
        container.mux(audio.encode(None))
    return path


def load_variant(name: str) -> tuple[RestorationNet, str]:
    weights = default_weights(name)
    if weights.exists():
        return create_model(name, checkpoint=weights).eval(), f"shipped weights {weights.name}"
    torch.manual_seed(0)
    return create_model(name).eval(), "random initialisation (no shipped weights yet; speed only)"


def ceiling_fps(src: Path, dst: Path) -> dict[str, float]:
    """Decode + FFV1 encode with nothing in between: the fastest any restoration can be."""
    info = video.probe(src)
    wall, cpu = time.perf_counter(), time.process_time()
    with writers.MasterWriter(dst, info, audio_source=src) as writer:
        for frame in video.iter_av_frames(src):
            writer.write(video.frame_to_rgb(frame), time_s=frame.time)
    return {
        "fps_wall": round(info.frame_count / (time.perf_counter() - wall), 2),
        "fps_cpu_time": round(info.frame_count / (time.process_time() - cpu), 2),
    }


def network_seconds_per_frame(
    model: RestorationNet, frames: list[np.ndarray], margin: int
) -> dict[str, float]:
    """Network time per output frame with the given window margin (2 = one window per frame)."""
    window = int(model.config["window"])
    references = int(model.config["references"])
    restorer = WindowRestorer(model, device=torch.device("cpu"))
    refs = [(1000 + i, frames[(3 * i) % len(frames)]) for i in range(references)]
    restorer.restore(frames[:window], refs, keep=(0, 1))  # warm-up, fills the reference cache
    plan = plan_windows(len(frames), window, margin)
    wall, cpu = time.perf_counter(), time.process_time()
    for item in plan:
        restorer.restore(
            frames[item.begin : item.end],
            refs,
            keep=(item.out_begin - item.begin, item.out_end - item.begin),
        )
    return {
        "frame_passes_per_frame": round(sum(w.end - w.begin for w in plan) / len(frames), 3),
        "wall_s_per_frame": round((time.perf_counter() - wall) / len(frames), 3),
        "cpu_s_per_frame": round((time.process_time() - cpu) / len(frames), 3),
    }


def tape_base_window(frames: list[np.ndarray]) -> dict[str, Any]:
    model, weights = load_variant("tape-base")
    config = model.config
    restorer = WindowRestorer(model, device=torch.device("cpu"))
    window = frames[: config["window"]]
    refs = [(2000 + i, frames[i % len(frames)]) for i in range(config["references"])]
    wall, cpu = time.perf_counter(), time.process_time()
    restorer.restore(window, refs)
    seconds, cpu = time.perf_counter() - wall, time.process_time() - cpu
    margin = (config["window"] - 1) // 4
    outputs = config["window"] - 2 * margin
    return {
        "weights": weights,
        "window_seconds_wall": round(seconds, 2),
        "window_cpu_seconds": round(cpu, 2),
        "fps_amortised_wall": round(outputs / seconds, 3),
        "note": f"one window of T={config['window']} with D={config['references']} references "
        f"(encoding them included), at {WIDTH}x{HEIGHT}; amortised: {outputs} output frames/window",
    }


def peak_rss_mb(src: Path, frames: int, model: str, args: argparse.Namespace) -> dict[str, Any]:
    """Restore `frames` frames in a fresh subprocess; report its peak resident memory and its
    window workers' (each one's own high-water mark).

    VmHWM (this process's own high-water mark), not getrusage's ru_maxrss: Linux carries the
    forked parent's RSS into ru_maxrss across exec, so a big parent would be counted.
    """
    code = (
        "import json, sys, torch\n"
        "from restoration.bench.speed import load_variant, vm_hwm_mb\n"
        "from restoration.engine.execution import ExecutionOptions\n"
        "from restoration.engine.inference import restore_video\n"
        f"model, _ = load_variant({model!r})\n"
        f"r = restore_video({str(src)!r}, sys.argv[1], model=model, scorer='auto', end={frames}, "
        f"execution={_cpu_execution(args)!r})\n"
        "print(json.dumps({'frames': r.frames, 'seconds': r.timings['total'],"
        " 'rss_mb': vm_hwm_mb(), 'worker_rss_mb': r.execution['worker_peak_rss_mb'],"
        " 'workers': r.execution['workers']}))\n"
    )
    with tempfile.TemporaryDirectory() as folder:
        result = subprocess.run(
            [sys.executable, "-c", code, str(Path(folder) / "out.mkv")],
            capture_output=True,
            text=True,
            check=False,
        )
    if result.returncode != 0:
        raise RuntimeError(f"RSS subprocess failed: {result.stderr.strip().splitlines()[-1:]}")
    data = json.loads(result.stdout.strip().splitlines()[-1])
    return {
        "frames": data["frames"],
        "peak_rss_mb": round(data["rss_mb"], 1),
        "workers": data["workers"],
        "worker_peak_rss_mb": data["worker_rss_mb"],
        "seconds": round(data["seconds"], 1),
    }


def vm_hwm_mb() -> float:
    """Peak resident memory of this process (Linux /proc), in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(args: argparse.Namespace) -> dict[str, Any]:
    if args.device != "cpu":
        return run_device(args)
    torch.set_num_threads(args.threads or 1)  # in-process sections (amortised, tape-base)
    report: dict[str, Any] = {
        "machine": f"{platform.processor() or platform.machine()}, {usable_cores()} usable cores, "
        f"CPU capability {torch.backends.cpu.get_cpu_capability()}, native bf16 "
        f"{'yes' if cpu_has_native_bf16() else 'no'}",
        "clip": f"{WIDTH}x{HEIGHT} FFV1 4:2:2 + PCM, {args.frames} frames",
        "execution": plan_execution(
            "cpu", workers=args.workers or None, threads=args.threads or None
        ).to_dict(),
    }
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        short = make_clip(tmp / "short.mkv", args.frames)
        frames = list(video.iter_frames(short, end=args.frames))
        if {"ceiling", "lite"} & args.only:
            report["ceiling"] = ceiling_fps(short, tmp / "ceiling.mkv")
            print(f"ceiling (decode + FFV1 encode): {report['ceiling']}", file=sys.stderr)
        lite, weights = load_variant("tape-lite")
        report["tape_lite_weights"] = weights
        if "precision" in args.only:
            report["precision"] = precision_change(args)
            print(f"reduced precision: {report['precision']}", file=sys.stderr)
        if "lite" in args.only:
            report["tape_lite"] = _lite_end_to_end(args, short, tmp, lite, report["ceiling"])
            if "precision" in report:
                report["tape_lite"]["psnr_change_db"] = report["precision"]["auto_change_db"]
            print(f"tape-lite end to end: {report['tape_lite']}", file=sys.stderr)
        if "amortised" in args.only:
            amortised = network_seconds_per_frame(lite, frames, margin=1)
            full = network_seconds_per_frame(
                lite, frames, margin=(int(lite.config["window"]) - 1) // 2
            )
            report["amortised_vs_full_window"] = {
                "variant": "tape-lite",
                "frames": len(frames),
                "amortised (T=5, margin 1)": amortised,
                "full window per output frame": full,
                "speedup_cpu_time": round(
                    full["cpu_s_per_frame"] / amortised["cpu_s_per_frame"], 2
                ),
                "speedup_wall": round(full["wall_s_per_frame"] / amortised["wall_s_per_frame"], 2),
                "note": "a full window per frame costs 5 frame passes per frame "
                "away from the clip's ends",
            }
            print(
                f"amortised vs full window: {report['amortised_vs_full_window']}", file=sys.stderr
            )
        if "rss" in args.only and args.rss_frames:
            src = make_clip(tmp / "long.mkv", max(args.rss_frames))
            runs = []
            for count in args.rss_frames:
                runs.append(peak_rss_mb(src, count, args.rss_model, args))
                print(f"peak RSS: {runs[-1]}", file=sys.stderr)
            report["peak_rss"] = {"model": args.rss_model, "runs": runs}
        if "base" in args.only:  # last: its memory would not matter to the subprocesses anyway
            report["tape_base"] = tape_base_window(frames)
            print(f"tape-base: {report['tape_base']}", file=sys.stderr)
    report["self_peak_rss_mb"] = round(vm_hwm_mb(), 1)
    return report


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children (the window workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _cpu_execution(args: argparse.Namespace) -> ExecutionOptions:
    """The CPU workers and threads asked for on the command line (0: automatic)."""
    return ExecutionOptions(
        device="cpu",
        workers=args.workers or None,
        threads=args.threads or None,
        precision=args.precision,
    )


def _lite_end_to_end(
    args: argparse.Namespace,
    short: Path,
    tmp: Path,
    lite: RestorationNet,
    ceiling: dict[str, float],
) -> dict[str, Any]:
    cpu = _cpu_seconds()
    result = restore_video(
        short,
        tmp / "lite.mkv",
        model=lite,
        scorer=get_scorer(args.scorer),
        execution=_cpu_execution(args),
    )
    cpu = _cpu_seconds() - cpu
    return {
        "fps_wall": round(result.fps, 3),
        "cpu_s_per_frame": round(cpu / result.frames, 3),
        "fps_per_cpu_second": round(result.frames / cpu, 3),
        "precision": result.precision,
        "workers": result.execution["workers"],
        "threads_per_worker": result.execution["threads"],
        "ratio_to_ceiling_wall": round(result.fps / ceiling["fps_wall"], 4),
        "scorer": result.scorer,
        "timings_s": result.timings,
        "computations_per_frame": round(result.computations_per_frame, 3),
        "passed_through": result.passed_through,
    }


def precision_change(args: argparse.Namespace) -> dict[str, Any]:
    """PSNR of tape-lite in fp32 and in bf16 autocast on a subset of the quality benchmark's
    clips (same clips, same seeds, pooled PSNR against the clean clips)."""
    from restoration.bench.quality import build_clips, clip_metrics, model_restorers

    presets = [name.strip() for name in args.precision_presets.split(",") if name.strip()]
    clips = [
        clip
        for preset in presets
        for clip in build_clips(
            preset, count=args.precision_clips, frames=12, size=args.precision_size
        )
    ]
    psnr: dict[str, float] = {}
    seconds: dict[str, float] = {}
    for precision in ("fp32", "bf16"):
        restore = model_restorers(None, device="cpu", precision=precision)["ours"]
        started = time.process_time()
        outputs = [restore(clip.degraded) for clip in clips]
        seconds[precision] = round(time.process_time() - started, 2)
        psnr[precision] = round(clip_metrics(outputs, clips, with_ssim=False)["psnr"], 4)
    auto = precision_name(resolve_precision(args.precision, torch.device("cpu")))
    change = round(psnr["bf16"] - psnr["fp32"], 4)
    return {
        "clips": f"{len(clips)} quality-bench clips ({', '.join(presets)}), 12 frames, "
        f"{args.precision_size[0]}x{args.precision_size[1]}",
        "psnr_fp32_db": psnr["fp32"],
        "psnr_bf16_db": psnr["bf16"],
        "bf16_change_db": change,
        "cpu_seconds": seconds,
        "auto_precision_here": auto,
        "auto_change_db": change if auto == "bf16" else 0.0,
    }


def run_device(args: argparse.Namespace) -> dict[str, Any]:
    """GPU section: fps of tape-lite and tape-base at SD and HD, end to end, with batched
    windows, bf16 autocast, with and without torch.compile, and several workers per GPU."""
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit("--device cuda: no CUDA GPU here")
    count = torch.cuda.device_count() if args.device.startswith("cuda") else 0
    report: dict[str, Any] = {
        "device": args.device,
        "gpus": [torch.cuda.get_device_name(i) for i in range(count)],
        "frames": args.frames,
        "runs": [],
    }
    setups: list[tuple[str, dict[str, Any]]] = [
        ("batch 1", {"batch": 1}),
        (f"batch {args.batch}", {"batch": args.batch}),
        (f"batch {args.batch}, 2 workers per GPU", {"batch": args.batch, "per_gpu": 2}),
    ]
    if not args.no_compile:
        setups.append((f"batch {args.batch}, compiled", {"batch": args.batch, "compile": True}))
    with tempfile.TemporaryDirectory() as folder:
        for height, width in args.sizes:
            src = make_clip(Path(folder) / f"{width}.mkv", args.frames, size=(width, height))
            for variant in args.variants:
                model, weights = load_variant(variant)
                for label, options in setups:
                    options = dict(options)
                    per_gpu = int(options.pop("per_gpu", 1))
                    devices = args.device
                    if per_gpu > 1 or count > 1:
                        names = [f"cuda:{i}" for i in range(count)] or [args.device]
                        devices = ",".join(name for name in names for _ in range(per_gpu))
                    result = restore_video(
                        src,
                        Path(folder) / "out.mkv",
                        model=model,
                        scorer=get_scorer(args.scorer),
                        execution=ExecutionOptions(
                            device=devices, precision=args.precision, **options
                        ),
                    )
                    row = {
                        "variant": variant,
                        "size": f"{width}x{height}",
                        "setup": label,
                        "devices": devices,
                        "fps_wall": round(result.fps, 2),
                        "network_fps": round(
                            result.frames / max(result.timings["network"], 1e-9), 2
                        ),
                        "precision": result.precision,
                        "weights": weights,
                        "timings_s": result.timings,
                    }
                    report["runs"].append(row)
                    print(
                        f"{variant} {width}x{height} {label}: {row['fps_wall']} fps",
                        file=sys.stderr,
                    )
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m restoration.bench speed", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--frames",
        type=int,
        default=96,
        help="frames of the timed clip (96: long enough that starting the window workers, "
        "a few seconds, is not most of the run)",
    )
    parser.add_argument(
        "--workers", type=int, default=0, help="window workers (default: one per usable core)"
    )
    parser.add_argument(
        "--threads", type=int, default=0, help="intra-op threads per worker (default: 1)"
    )
    parser.add_argument("--precision", default="auto", choices=("auto", "fp32", "bf16", "fp16"))
    parser.add_argument("--device", default="cpu", help="cpu, or cuda for the GPU section")
    parser.add_argument("--batch", type=int, default=4, help="windows per pass (GPU section)")
    parser.add_argument(
        "--sizes",
        type=lambda text: [_size(part) for part in text.split(",")],
        default=[(576, 720), (1080, 1920)],
        help="HxW list of the GPU section",
    )
    parser.add_argument(
        "--variants",
        type=lambda text: [part.strip() for part in text.split(",")],
        default=["tape-lite", "tape-base"],
        help="variants of the GPU section",
    )
    parser.add_argument("--no-compile", action="store_true", help="GPU section: skip compile")
    parser.add_argument("--scorer", default="auto", help="scorer used by the end-to-end run")
    parser.add_argument(
        "--rss-frames", default="100,1000", help="comma-separated lengths ('' to skip)"
    )
    parser.add_argument("--rss-model", default="tape-lite")
    parser.add_argument("--skip-base", action="store_true", help="skip the tape-base window")
    parser.add_argument(
        "--precision-presets", default="medium,severe", help="quality-bench presets (precision)"
    )
    parser.add_argument("--precision-clips", type=int, default=2, help="clips per preset")
    parser.add_argument(
        "--precision-size", type=_size, default=(192, 256), help="HxW of the precision clips"
    )
    parser.add_argument(
        "--only",
        default="ceiling,lite,precision,amortised,base,rss",
        help="comma-separated sections to run (ceiling, lite, precision, amortised, base, rss)",
    )
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON report here")
    args = parser.parse_args(argv)
    args.rss_frames = [int(n) for n in args.rss_frames.split(",") if n.strip()]
    args.only = {name.strip() for name in args.only.split(",") if name.strip()}
    if args.skip_base:
        args.only.discard("base")
    if "lite" in args.only:
        args.only.add("ceiling")
    report = run(args)
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    return 0


def _size(text: str) -> tuple[int, int]:
    height, _, width = text.partition("x")
    return int(height), int(width)
