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

from restoration.engine import video
from restoration.engine.inference import WindowRestorer, plan_windows, restore_video
from restoration.engine.models import RestorationNet, create_model, default_weights
from restoration.engine.references import get_scorer

WIDTH, HEIGHT = 720, 576


def make_clip(path: Path, frames: int, *, seed: int = 0) -> Path:
    """A moving textured scene with grain, written frame by frame (memory stays flat)."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (HEIGHT // 8 + 2, WIDTH // 8 + 2, 3), dtype=np.uint8)
    texture = np.kron(base, np.ones((8, 8, 1), dtype=np.uint8))
    with av.open(str(path), "w") as container:
        stream = container.add_stream("ffv1", rate=25)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv422p"
        stream.codec_context.sample_aspect_ratio = Fraction(16, 15)
        audio = container.add_stream("pcm_s16le", rate=48000, layout="stereo")
        for index in range(frames):
            dy, dx = index % 16, (2 * index) % 16
            rgb = texture[dy : dy + HEIGHT, dx : dx + WIDTH].copy()
            grain = rng.normal(0, 6, (HEIGHT, WIDTH, 1))
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
    with video.MasterWriter(dst, info, audio_source=src) as writer:
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


def peak_rss_mb(src: Path, frames: int, model: str, threads: int) -> dict[str, Any]:
    """Restore `frames` frames in a fresh subprocess; report its peak resident memory.

    VmHWM (this process's own high-water mark), not getrusage's ru_maxrss: Linux carries the
    forked parent's RSS into ru_maxrss across exec, so a big parent would be counted.
    """
    code = (
        "import json, sys, torch\n"
        f"torch.set_num_threads({threads})\n"
        "from restoration.bench.speed import load_variant, vm_hwm_mb\n"
        "from restoration.engine.inference import restore_video\n"
        f"model, _ = load_variant({model!r})\n"
        f"r = restore_video({str(src)!r}, sys.argv[1], model=model, scorer='auto', end={frames}, device='cpu')\n"
        "print(json.dumps({'frames': r.frames, 'seconds': r.timings['total'], 'rss_mb': vm_hwm_mb()}))\n"
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
        "seconds": round(data["seconds"], 1),
    }


def vm_hwm_mb() -> float:
    """Peak resident memory of this process (Linux /proc), in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(args: argparse.Namespace) -> dict[str, Any]:
    torch.set_num_threads(args.threads)
    report: dict[str, Any] = {
        "machine": f"{platform.processor() or platform.machine()}, torch threads {args.threads}",
        "clip": f"{WIDTH}x{HEIGHT} FFV1 4:2:2 + PCM, {args.frames} frames",
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
        if "lite" in args.only:
            report["tape_lite"] = _lite_end_to_end(args, short, tmp, lite, report["ceiling"])
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
                "note": "a full window per frame costs 5 frame passes per frame away from the clip's ends",
            }
            print(
                f"amortised vs full window: {report['amortised_vs_full_window']}", file=sys.stderr
            )
        if "rss" in args.only and args.rss_frames:
            src = make_clip(tmp / "long.mkv", max(args.rss_frames))
            runs = []
            for count in args.rss_frames:
                runs.append(peak_rss_mb(src, count, args.rss_model, args.threads))
                print(f"peak RSS: {runs[-1]}", file=sys.stderr)
            report["peak_rss"] = {"model": args.rss_model, "runs": runs}
        if "base" in args.only:  # last: its memory would not matter to the subprocesses anyway
            report["tape_base"] = tape_base_window(frames)
            print(f"tape-base: {report['tape_base']}", file=sys.stderr)
    report["self_peak_rss_mb"] = round(vm_hwm_mb(), 1)
    return report


def _lite_end_to_end(
    args: argparse.Namespace,
    short: Path,
    tmp: Path,
    lite: RestorationNet,
    ceiling: dict[str, float],
) -> dict[str, Any]:
    cpu = time.process_time()
    result = restore_video(
        short, tmp / "lite.mkv", model=lite, scorer=get_scorer(args.scorer), device="cpu"
    )
    cpu = time.process_time() - cpu
    fps_cpu = result.frames / cpu * args.threads
    return {
        "fps_wall": round(result.fps, 3),
        "fps_cpu_time": round(fps_cpu, 3),
        "network_fps_wall": round(result.frames / result.timings["network"], 3),
        "ratio_to_ceiling_wall": round(result.fps / ceiling["fps_wall"], 4),
        "ratio_to_ceiling_cpu_time": round(fps_cpu / ceiling["fps_cpu_time"], 4),
        "scorer": result.scorer,
        "timings_s": result.timings,
        "computations_per_frame": round(result.computations_per_frame, 3),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m restoration.bench speed", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--frames", type=int, default=24, help="frames of the timed clip")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--scorer", default="auto", help="scorer used by the end-to-end run")
    parser.add_argument(
        "--rss-frames", default="100,1000", help="comma-separated lengths ('' to skip)"
    )
    parser.add_argument("--rss-model", default="tape-lite")
    parser.add_argument("--skip-base", action="store_true", help="skip the tape-base window")
    parser.add_argument(
        "--only",
        default="ceiling,lite,amortised,base,rss",
        help="comma-separated sections to run (ceiling, lite, amortised, base, rss)",
    )
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON report here")
    args = parser.parse_args(argv)
    args.rss_frames = [int(n) for n in args.rss_frames.split(",") if n.strip()]
    args.only = {name.strip() for name in args.only.split(",") if name.strip()}
    if args.skip_base:
        args.only.discard("base")
    report = run(args)
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    return 0
