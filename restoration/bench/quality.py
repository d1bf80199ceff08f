"""Quality benchmark: ``python -m restoration.bench quality``.

Builds held-out clips (photos of the "val" split, simulator seeds no training run draws) at
each severity preset and reports PSNR/SSIM against the clean clips for:

- the degraded input;
- classical filters a user would reach for, run through PyAV's libavfilter: nlmeans,
  atadenoise, tmedian, a 3x3 median, fftdnoiz, bm3d. Each is tried at a few strengths and
  the best per preset (by PSNR) is reported, i.e. tuned on the benchmark itself: generous to
  the baselines, so any margin of ours is conservative;
- the shipped model with references (the product path: references picked by the frame
  scorer, as ``restore`` does) and with references disabled (the ablation).

Writes ``quality.md`` (table), ``quality.json`` (all numbers) and ``quality.png`` (crops:
degraded / best classical / ours / clean, one row per preset) to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_OUT = Path(__file__).resolve().parent / "results"
PRESETS = ("light", "medium", "severe")
# Seeds of the benchmark clips: inside the held-out range, apart from training's validation.
BENCH_SEED_OFFSET = 500_000

# Filter name -> candidate settings (libavfilter option strings); "" = the filter's defaults.
CLASSICAL: dict[str, tuple[str, ...]] = {
    "nlmeans": ("s=3:p=7:r=9", "s=6:p=7:r=9", "s=12:p=7:r=9", "s=20:p=7:r=9", "s=30:p=7:r=9"),
    "atadenoise": (
        "",
        "0a=0.1:0b=0.5:1a=0.1:1b=0.5:2a=0.1:2b=0.5",
        "0a=0.3:0b=1:1a=0.3:1b=1:2a=0.3:2b=1",
        "0a=0.3:0b=3:1a=0.3:1b=3:2a=0.3:2b=3",
        "0a=0.3:0b=5:1a=0.3:1b=5:2a=0.3:2b=5",
    ),
    "tmedian": ("radius=1", "radius=2"),
    "median": ("radius=1",),  # 3x3 spatial median
    "fftdnoiz": ("sigma=6", "sigma=12", "sigma=24", "sigma=40", "sigma=64"),
    "bm3d": ("sigma=8", "sigma=15", "sigma=30", "sigma=50", "sigma=80"),
}
TEMPORAL_PAD = 5  # frames mirrored at each end so temporal filters see full neighbourhoods


# ---------------------------------------------------------------------------- classical


def filter_clip(frames: np.ndarray, name: str, options: str) -> np.ndarray:
    """Run one libavfilter filter over a (T, H, W, 3) uint8 RGB clip; same shape out.

    The filter works in yuv444p (no chroma subsampling loss). Frames are mirrored at both
    ends so temporal filters neither drop nor shortchange the edge frames; output frames are
    matched to input frames by pts.
    """
    import av
    from av.filter import Graph

    count, h, w = frames.shape[:3]
    pad = min(TEMPORAL_PAD, count - 1)
    order = (
        list(range(pad, 0, -1)) + list(range(count)) + list(range(count - 2, count - 2 - pad, -1))
    )
    time_base = Fraction(1, 25)
    graph = Graph()
    nodes = [
        graph.add_buffer(width=w, height=h, format="rgb24", time_base=time_base),  # type: ignore[arg-type]
        graph.add("format", "yuv444p"),
        graph.add(name, options or None),
        graph.add("format", "rgb24"),
        graph.add("buffersink"),
    ]
    graph.link_nodes(*nodes).configure()
    by_pts: dict[int, np.ndarray] = {}

    def drain() -> None:
        while True:
            try:
                frame = graph.pull()
            except (av.BlockingIOError, av.EOFError):
                return
            assert isinstance(frame, av.VideoFrame) and frame.pts is not None
            by_pts[int(frame.pts)] = frame.to_ndarray(format="rgb24")

    for pts, index in enumerate(order, start=-pad):
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(frames[index]), format="rgb24")
        frame.pts, frame.time_base = pts, time_base
        graph.push(frame)
        drain()
    graph.push(None)
    drain()
    missing = [i for i in range(count) if i not in by_pts]
    if missing:
        raise RuntimeError(f"{name}={options!r} returned no frame for pts {missing}")
    return np.stack([by_pts[i] for i in range(count)])


# ---------------------------------------------------------------------------- clips, metrics


@dataclass
class BenchClip:
    preset: str
    seed: int
    clean: np.ndarray  # (T, H, W, 3) uint8
    degraded: np.ndarray


def build_clips(preset: str, *, count: int, frames: int, size: tuple[int, int]) -> list[BenchClip]:
    from restoration.training.degrade import degrade_clip
    from restoration.training.synth import load_photo_pool, make_clip
    from restoration.training.train import HELD_OUT_SEED_BASE

    photos = load_photo_pool("val")
    clips = []
    for i in range(count):
        seed = HELD_OUT_SEED_BASE + BENCH_SEED_OFFSET + PRESETS.index(preset) * 1000 + i
        clean = make_clip(np.random.default_rng(seed), photos=photos, length=frames, size=size)
        degraded, _labels = degrade_clip(clean, seed=seed, preset=preset)
        clips.append(BenchClip(preset, seed, clean, degraded))
    return clips


def clip_metrics(
    outputs: Sequence[np.ndarray], clips: Sequence[BenchClip], *, with_ssim: bool = True
) -> dict[str, float]:
    """PSNR of the MSE pooled over every frame of every clip (untouched frames would make a
    per-frame mean infinite), and the mean per-frame SSIM."""
    from restoration.training.train import pooled_psnr, ssim

    pairs = [(out, clip.clean) for out, clip in zip(outputs, clips, strict=True)]
    result = {"psnr": pooled_psnr(pairs)}
    if with_ssim:
        result["ssim"] = float(np.mean([ssim(out, clean) for out, clean in pairs]))
    return result


# ---------------------------------------------------------------------------- the model


Restorer = Callable[[np.ndarray], np.ndarray]


def write_lossless(frames: np.ndarray, path: Path, *, fps: int = 25) -> None:
    """(T, H, W, 3) uint8 RGB -> FFV1 (bgr0, bit-exact) in Matroska."""
    import av

    with av.open(str(path), "w", format="matroska") as container:
        stream = container.add_stream("ffv1", rate=fps)
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = "bgr0"
        for image in frames:
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def model_restorers(
    weights: Path | None, *, device: str, every_frame: bool = False
) -> dict[str, Restorer]:
    """The model through the product's own path, ``restore_video`` (frame scorer, reference
    pool, overlapping windows, FFV1 master), on a lossless file of the degraded clip; and the
    same with references disabled (the ablation). With ``every_frame``, also the network on
    every frame (``keep_clean=False``: what the clean-frame pass-through is worth)."""
    import tempfile

    from restoration.engine.inference import load_model, restore_video
    from restoration.engine.video import iter_frames

    model = load_model("tape-lite", weights)

    def restore(frames: np.ndarray, references: int | None, keep_clean: bool = True) -> np.ndarray:
        with tempfile.TemporaryDirectory(prefix="quality-") as tmp:
            src, dst = Path(tmp) / "degraded.mkv", Path(tmp) / "restored.mkv"
            write_lossless(frames, src)
            restore_video(
                src,
                dst,
                model=model,
                scorer="auto",
                references=references,
                master_pixel_format="bgr0",
                score_output=False,
                device=device,
                keep_clean=keep_clean,
            )
            restored = np.stack(list(iter_frames(dst)))
        assert restored.shape == frames.shape, f"restored {restored.shape} != input {frames.shape}"
        return restored

    restorers: dict[str, Restorer] = {
        "ours": lambda frames: restore(frames, None),
        "ours, no references": lambda frames: restore(frames, 0),
    }
    if every_frame:
        restorers["ours, every frame"] = lambda frames: restore(frames, None, keep_clean=False)
    return restorers


# ---------------------------------------------------------------------------- report


def best_classical(results: dict[str, Any], preset: str) -> str:
    rows = results["presets"][preset]["methods"]
    names = [name for name in rows if name in CLASSICAL]
    return max(names, key=lambda name: rows[name]["psnr"])


def render_markdown(results: dict[str, Any]) -> str:
    presets = list(results["presets"])
    methods: list[str] = []
    for preset in presets:
        for name in results["presets"][preset]["methods"]:
            if name not in methods:
                methods.append(name)
    header = "| method | " + " | ".join(f"{p} PSNR / SSIM" for p in presets) + " |"
    lines = [header, "|" + "---|" * (len(presets) + 1)]
    for name in methods:
        cells = []
        for preset in presets:
            row = results["presets"][preset]["methods"].get(name)
            if row is None:
                cells.append("n/a")
                continue
            setting = f" <sub>{row['setting']}</sub>" if row.get("setting") else ""
            cells.append(f"{row['psnr']:.2f} / {row['ssim']:.4f}{setting}")
        label = {"degraded": "degraded input"}.get(name, name)
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines.append("")
    for preset in presets:
        summary = results["presets"][preset]["summary"]
        if not summary:
            continue
        lines.append(
            f"- **{preset}**: ours {summary['ours_vs_degraded_db']:+.2f} dB over the degraded "
            f"input, {summary['ours_vs_best_classical_db']:+.2f} dB over the best classical "
            f"filter ({summary['best_classical']}); references add "
            f"{summary['references_gain_db']:+.2f} dB; better than every classical filter in "
            f"PSNR and SSIM: {'yes' if summary['beats_every_classical'] else 'no'}."
        )
    s = results["setup"]
    lines += [
        "",
        f"Clips: {s['clips']} per preset, {s['frames']} frames of {s['size'][1]}x{s['size'][0]}, "
        f"'val' photos, simulator seeds {s['seed_range']} (never used in training). Classical "
        "filters through PyAV's libavfilter in yuv444p, each at its best strength per preset "
        f"(setting shown). Weights: `{s['weights']}`. Runtime {s['runtime_s']:.0f} s on {s['hardware']}"
        + (
            f" (classical rows reused from `{s['classical_rows_from']}`, same clips)."
            if s.get("classical_rows_from", "this run") != "this run"
            else "."
        ),
    ]
    return "\n".join(lines) + "\n"


def figure_crop(clips: Sequence[BenchClip], crop: int = 96) -> tuple[int, int, tuple[slice, slice]]:
    """(clip, frame, region) to show: a typical damaged frame (75th percentile of the
    degraded frames' error, so neither a clean frame nor the single worst one) and the crop
    where its damage is densest."""
    errors = [
        (float(np.mean((clip.degraded[f].astype(np.float32) - clip.clean[f]) ** 2)), c, f)
        for c, clip in enumerate(clips)
        for f in range(len(clip.clean))
    ]
    damaged = sorted(e for e in errors if e[0] > 0) or sorted(errors)
    _, c, f = damaged[int(0.75 * (len(damaged) - 1))]
    error = np.abs(clips[c].degraded[f].astype(np.float32) - clips[c].clean[f]).sum(axis=-1)
    h, w = error.shape
    crop = min(crop, h, w)
    best = (-1.0, 0, 0)
    for y in range(0, h - crop + 1, 8):
        for x in range(0, w - crop + 1, 8):
            best = max(best, (float(error[y : y + crop, x : x + crop].sum()), y, x))
    _, y, x = best
    return c, f, (slice(y, y + crop), slice(x, x + crop))


def render_figure(
    path: Path, rows: Sequence[tuple[str, list[tuple[str, np.ndarray]]]], *, zoom: int = 2
) -> None:
    """One row per preset of same-place crops, upscaled (nearest) so artifacts stay visible."""
    from PIL import Image, ImageDraw

    label_h, margin = 16, 4
    columns = max(len(panels) for _, panels in rows)
    crop = max(max(image.shape[:2]) for _, panels in rows for _, image in panels)
    tile = crop * zoom
    width = margin + columns * (tile + margin)
    height = margin + len(rows) * (tile + label_h + margin)
    canvas = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(canvas)
    for r, (preset, panels) in enumerate(rows):
        y0 = margin + r * (tile + label_h + margin)
        for c, (label, image) in enumerate(panels):
            x0 = margin + c * (tile + margin)
            patch = Image.fromarray(np.ascontiguousarray(image))
            size = (patch.width * zoom, patch.height * zoom)
            canvas.paste(patch.resize(size, Image.Resampling.NEAREST), (x0, y0 + label_h))
            draw.text((x0, y0 + 2), f"{preset}: {label}" if c == 0 else label, fill="black")
    path.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(path)


# ---------------------------------------------------------------------------- main


def _size(text: str) -> tuple[int, int]:
    h, w = (int(part) for part in text.lower().split("x"))
    return h, w


def run_benchmark(
    *,
    clips: int,
    frames: int,
    size: tuple[int, int],
    presets: Sequence[str],
    restorers: dict[str, Restorer],
    filters: dict[str, tuple[str, ...]] = CLASSICAL,
    cached: dict[str, Any] | None = None,
    echo: Callable[[str], None] = print,
) -> tuple[dict[str, Any], list[tuple[str, list[tuple[str, np.ndarray]]]]]:
    """All rows for each preset. ``cached``: the "presets" part of an earlier quality.json on
    the same clips, whose classical rows are reused (they don't depend on the model)."""
    results: dict[str, Any] = {"presets": {}}
    figure_rows = []
    for preset in presets:
        started = time.monotonic()
        bench = build_clips(preset, count=clips, frames=frames, size=size)
        methods: dict[str, dict[str, Any]] = {
            "degraded": clip_metrics([c.degraded for c in bench], bench)
        }
        outputs: dict[str, list[np.ndarray]] = {}
        for name, settings in filters.items():
            previous = ((cached or {}).get(preset) or {}).get("methods", {}).get(name)
            if previous is not None:
                methods[name] = previous
                continue
            best: tuple[float, str, list[np.ndarray]] | None = None
            for options in settings:
                filtered = [filter_clip(c.degraded, name, options) for c in bench]
                score = clip_metrics(filtered, bench, with_ssim=False)["psnr"]
                if best is None or score > best[0]:
                    best = (score, options, filtered)
            assert best is not None
            methods[name] = {**clip_metrics(best[2], bench), "setting": best[1] or "defaults"}
            outputs[name] = best[2]
        for name, restore in restorers.items():
            outputs[name] = [restore(c.degraded) for c in bench]
            methods[name] = clip_metrics(outputs[name], bench)
        results["presets"][preset] = {"methods": methods, "summary": {}}
        classical = [name for name in methods if name in filters]
        top = max(classical, key=lambda name: methods[name]["psnr"]) if classical else None
        if "ours" in methods and top:
            ours = methods["ours"]
            results["presets"][preset]["summary"] = {
                "best_classical": top,
                "ours_vs_degraded_db": ours["psnr"] - methods["degraded"]["psnr"],
                "ours_vs_best_classical_db": ours["psnr"] - methods[top]["psnr"],
                "references_gain_db": ours["psnr"]
                - methods.get("ours, no references", ours)["psnr"],
                "beats_every_classical": all(
                    ours["psnr"] > methods[n]["psnr"] and ours["ssim"] > methods[n]["ssim"]
                    for n in classical
                ),
            }
        c, f, box = figure_crop(bench)
        panels = [("degraded", bench[c].degraded[f])]
        if top:
            if top not in outputs:  # a cached row: filter just the clip the figure shows
                setting = methods[top]["setting"]
                options = "" if setting == "defaults" else setting
                outputs[top] = [np.empty(0)] * len(bench)
                outputs[top][c] = filter_clip(bench[c].degraded, top, options)
            panels.append((f"best classical ({top})", outputs[top][c][f]))
        if "ours" in outputs:
            panels.append(("ours", outputs["ours"][c][f]))
        panels.append(("clean", bench[c].clean[f]))
        figure_rows.append((preset, [(label, image[box]) for label, image in panels]))
        echo(
            f"{preset}: "
            + ", ".join(f"{n} {m['psnr']:.2f}" for n, m in methods.items())
            + f" ({time.monotonic() - started:.0f} s)"
        )
    return results, figure_rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m restoration.bench quality", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--clips", type=int, default=8, help="clips per preset")
    parser.add_argument("--frames", type=int, default=12, help="frames per clip")
    parser.add_argument("--size", type=_size, default=(192, 256), help="HxW of the clips")
    parser.add_argument("--presets", default=",".join(PRESETS))
    parser.add_argument("--weights", type=Path, default=None, help="checkpoint (default: shipped)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-model", action="store_true", help="classical filters only")
    parser.add_argument(
        "--every-frame",
        action="store_true",
        help="also report the network run on every frame (no clean-frame pass-through)",
    )
    parser.add_argument(
        "--reuse-classical",
        type=Path,
        default=None,
        help="quality.json of an earlier run with the same clips: reuse its classical rows",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for the reports")
    args = parser.parse_args(argv)

    import torch

    from restoration.engine.exceptions import EngineError
    from restoration.training.train import HELD_OUT_SEED_BASE, hardware_description

    if args.threads:
        torch.set_num_threads(args.threads)
    presets = [p.strip() for p in args.presets.split(",") if p.strip()]
    unknown = [p for p in presets if p not in PRESETS]
    if unknown:
        print(f"error: unknown preset(s) {unknown}; choose from {PRESETS}", file=sys.stderr)
        return 2
    started = time.monotonic()
    try:
        restorers = (
            {}
            if args.no_model
            else model_restorers(args.weights, device=args.device, every_frame=args.every_frame)
        )
        cached = None
        if args.reuse_classical is not None:
            previous = json.loads(args.reuse_classical.read_text())
            same = {k: previous["setup"][k] for k in ("clips", "frames", "size")}
            if same != {"clips": args.clips, "frames": args.frames, "size": list(args.size)}:
                print(
                    f"error: {args.reuse_classical} was made on other clips ({same})",
                    file=sys.stderr,
                )
                return 2
            cached = previous["presets"]
        results, figure_rows = run_benchmark(
            clips=args.clips,
            frames=args.frames,
            size=args.size,
            presets=presets,
            restorers=restorers,
            cached=cached,
        )
    except EngineError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    base = HELD_OUT_SEED_BASE + BENCH_SEED_OFFSET
    results["setup"] = {
        "clips": args.clips,
        "frames": args.frames,
        "size": list(args.size),
        "seed_range": f"{base}..{base + 2 * 1000 + args.clips - 1}",
        "weights": "none" if args.no_model else str(args.weights or "shipped tape-lite"),
        "runtime_s": time.monotonic() - started,
        "classical_rows_from": str(args.reuse_classical) if args.reuse_classical else "this run",
        "hardware": hardware_description(torch.device(args.device)),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "quality.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out / "quality.md").write_text(render_markdown(results))
    render_figure(args.out / "quality.png", figure_rows)
    print(render_markdown(results))
    print(f"wrote {args.out / 'quality.md'}, quality.json, quality.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
