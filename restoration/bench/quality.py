"""Quality benchmark: ``python -m restoration.bench quality``.

Three tables, each at its severity presets, scored against the target clip (PSNR, SSIM and
the mean signed colour error per channel, R / G / B in 0-255 levels):

- **family A**: the training simulator's damage (``restoration.simulation.degrade``) at seeds no
  training run draws;
- **family B**: damage from ``restoration.bench.family_b``, a separate simulator training never
  sees (other noise spectra, dropout and mistracking shapes, DV / MPEG-2 capture chains, level and
  gamma drift that the target keeps);
- **clean**: undamaged clips (identity: a restorer must give them back, >= 45 dB).

Rows: the damaged input; classical filters a user would reach for, run through PyAV's
libavfilter (nlmeans, atadenoise, tmedian, a 3x3 median, fftdnoiz, bm3d), each tried at a few
strengths and the best per preset reported (tuned on the benchmark itself: generous to them);
colour BM3D (the ``bm3d`` package, ``bm3d_rgb``) on a frame subset with its sigma tuned on a
separate tuning split (:mod:`restoration.bench.bm3d_rows`); the shipped model through the
product path with references (picked by the frame scorer, as ``restore`` does) and without
(the ablation).

Clean content: 'val' photos under a synthetic camera with moving objects
(``restoration.training.synth.make_clip``: content only, no damage).

Writes ``quality.md`` (tables), ``quality.json`` (all numbers) and ``quality.png`` (crops:
damaged / best classical / ours / target) to ``--out``; a single-family run writes
``quality-<family>.*`` instead, and ``--json PATH`` writes the JSON there too.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from restoration.bench.bm3d_rows import (
    SIGMA_CANDIDATES,
    Bm3dPlan,
    bm3d_frame,
    centre_crop,
    sweep_sigma,
    tuning_frame,
)
from restoration.bench.classical import CLASSICAL, best_setting, filter_clip, make_executor
from restoration.bench.report import figure_crop, render_figure, render_markdown

DEFAULT_OUT = Path(__file__).resolve().parent / "results"
PRESETS = ("light", "medium", "severe")
# Seeds of the benchmark clips: inside the held-out range, apart from training's validation.
BENCH_SEED_OFFSET = 500_000

# ---------------------------------------------------------------------------- clips, metrics

FAMILIES = ("a", "b", "clean")
FAMILY_PRESETS = {"a": PRESETS, "b": PRESETS, "clean": ("clean",)}
# Seed offsets above HELD_OUT_SEED_BASE, apart from training's validation; family A keeps the
# offset of the first bench so its figures stay comparable.
SEED_OFFSETS = {"a": BENCH_SEED_OFFSET, "b": 600_000, "clean": 700_000}
TUNING_SEED_OFFSET = 800_000  # clips BM3D's sigma is tuned on (never reported)
MIN_FRAMES = 6  # libavfilter's tmedian (radius 2) returns too few frames for shorter clips


@dataclass
class BenchClip:
    preset: str
    seed: int
    clean: np.ndarray  # (T, H, W, 3) uint8: the target (family B: the drifted clean clip)
    degraded: np.ndarray


def clip_seed(family: str, preset: str, index: int, *, tuning: bool = False) -> int:
    from restoration.training.train import HELD_OUT_SEED_BASE

    offset = SEED_OFFSETS[family]
    if tuning:
        offset = TUNING_SEED_OFFSET + FAMILIES.index(family) * 10_000
    return HELD_OUT_SEED_BASE + offset + FAMILY_PRESETS[family].index(preset) * 1000 + index


def build_clips(
    preset: str,
    *,
    count: int,
    frames: int,
    size: tuple[int, int],
    family: str = "a",
    tuning: bool = False,
) -> list[BenchClip]:
    from restoration.bench.family_b import simulate_clip
    from restoration.simulation.degrade import degrade_clip
    from restoration.training.synth import load_photo_pool, make_clip

    photos = load_photo_pool("val")
    clips = []
    for i in range(count):
        seed = clip_seed(family, preset, i, tuning=tuning)
        clean = make_clip(np.random.default_rng(seed), photos=photos, length=frames, size=size)
        if family == "a":
            degraded, _labels = degrade_clip(clean, seed=seed, preset=preset)
        elif family == "b":
            degraded, clean = simulate_clip(clean, preset=preset, seed=seed)
        else:
            degraded = clean.copy()
        clips.append(BenchClip(preset, seed, clean, degraded))
    return clips


def frame_metrics(
    outputs: Sequence[np.ndarray] | np.ndarray,
    targets: Sequence[np.ndarray] | np.ndarray,
    *,
    with_ssim: bool = True,
) -> dict[str, Any]:
    """PSNR of the MSE pooled over every frame (untouched frames would make a per-frame mean
    infinite; 100 dB when identical), mean per-frame SSIM, and the mean signed error per
    channel (R, G, B; 0-255 levels: a colour cast shows here, noise averages out)."""
    from restoration.engine.metrics import pooled_psnr, ssim

    pairs = list(zip(outputs, targets, strict=True))
    result: dict[str, Any] = {"psnr": pooled_psnr(pairs)}
    if with_ssim:
        result["ssim"] = float(np.mean([ssim(target, out).mean() for out, target in pairs]))
        total = sum(
            (out.astype(np.float64) - target).reshape(-1, 3).sum(axis=0) for out, target in pairs
        )
        pixels = sum(out.size // 3 for out, _ in pairs)
        result["colour"] = [float(v) for v in np.asarray(total) / pixels]
    return result


def clip_metrics(
    outputs: Sequence[np.ndarray], clips: Sequence[BenchClip], *, with_ssim: bool = True
) -> dict[str, Any]:
    return frame_metrics(outputs, [clip.clean for clip in clips], with_ssim=with_ssim)


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
    weights: Path | None,
    *,
    device: str,
    every_frame: bool = False,
    model_name: str = "tape-lite",
    ablation: bool = True,
    guard_ablation: bool = False,
    precision: str = "auto",
) -> dict[str, Restorer]:
    """The model through the product's own path, ``restore_video`` (frame scorer, reference
    pool, overlapping windows, FFV1 master), on a lossless file of the degraded clip; and the
    same with references disabled (the ablation). With ``every_frame``, also the network on
    every frame (``keep_clean=False``: what the clean-frame pass-through is worth)."""
    import tempfile

    from restoration.engine.execution import ExecutionOptions
    from restoration.engine.inference import (
        OutputOptions,
        RestoreOptions,
        load_model,
        restore_video,
    )
    from restoration.engine.video import iter_frames

    model = load_model(model_name, weights)

    def restore(
        frames: np.ndarray, references: int | None, keep_clean: bool = True, guard: bool = True
    ) -> np.ndarray:
        with tempfile.TemporaryDirectory(prefix="quality-") as tmp:
            src, dst = Path(tmp) / "degraded.mkv", Path(tmp) / "restored.mkv"
            write_lossless(frames, src)
            restore_video(
                src,
                dst,
                model=model,
                scorer="auto",
                options=RestoreOptions(
                    references=references, keep_clean=keep_clean, colour_guard=guard
                ),
                execution=ExecutionOptions(device=device, precision=precision),
                output=OutputOptions(master_pixel_format="bgr0", score_output=False),
            )
            restored = np.stack(list(iter_frames(dst)))
        assert restored.shape == frames.shape, f"restored {restored.shape} != input {frames.shape}"
        return restored

    restorers: dict[str, Restorer] = {
        "ours": lambda frames: restore(frames, None),
    }
    if ablation:
        restorers["ours, no references"] = lambda frames: restore(frames, 0)
    if every_frame:
        restorers["ours, every frame"] = lambda frames: restore(frames, None, keep_clean=False)
    if guard_ablation:  # what the colour guard (engine/fidelity.py) changes
        restorers["ours, no colour guard"] = lambda frames: restore(frames, None, guard=False)
    return restorers


# ---------------------------------------------------------------------------- one table cell


def _classical_rows(
    pool: Executor,
    bench: Sequence[BenchClip],
    filters: dict[str, tuple[str, ...]],
    cached: dict[str, Any],
    methods: dict[str, Any],
    outputs: dict[str, list[np.ndarray]],
) -> None:
    todo = {name: settings for name, settings in filters.items() if name not in cached}
    methods.update({name: cached[name] for name in filters if name in cached})
    runs = best_setting(pool, [c.degraded for c in bench], [c.clean for c in bench], todo)
    for name, (setting, filtered) in runs.items():
        methods[name] = {**clip_metrics(filtered, bench), "setting": setting or "defaults"}
        outputs[name] = filtered


def _bm3d_cell(
    pool: Executor,
    family: str,
    preset: str,
    bench: Sequence[BenchClip],
    plan: Bm3dPlan,
    outputs: dict[str, list[np.ndarray]],
    *,
    frames: int,
    size: tuple[int, int],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Sweep sigma on the tuning split, run BM3D on the subset; the BM3D record and the
    subset metrics of the other rows (same frames, for a like-for-like comparison)."""
    started = time.monotonic()
    tuning = build_clips(
        preset, count=plan.tuning_clips, frames=frames, size=size, family=family, tuning=True
    )
    picks = [tuning_frame(c.degraded, c.clean) for c in tuning]
    sigma, sweep = sweep_sigma(
        pool,
        [(centre_crop(c.degraded[f]), centre_crop(c.clean[f])) for c, f in zip(tuning, picks)],
        SIGMA_CANDIDATES[preset],
    )
    subset = plan.subset(frames)
    chosen = bench[: plan.clips]
    targets = np.stack([c.clean[f] for c in chosen for f in subset])
    runs = [pool.submit(bm3d_frame, c.degraded[f], sigma) for c in chosen for f in subset]
    restored = np.stack([run.result() for run in runs])
    record = {
        "sigma": sigma,
        "sweep": sweep,
        "tuning_seeds": [c.seed for c in tuning],
        "tuning_frames": picks,
        "frames": subset,
        "clips": len(chosen),
        "row": frame_metrics(restored, targets),
        "seconds": time.monotonic() - started,
    }
    same_frames = {"degraded": [c.degraded for c in chosen]} | {
        name: clips[: plan.clips] for name, clips in outputs.items() if name.startswith("ours")
    }
    subset_rows = {
        name: frame_metrics(np.stack([clip[f] for clip in clips for f in subset]), targets)
        for name, clips in same_frames.items()
    }
    return record, subset_rows


def _summary(
    family: str, cell: dict[str, Any], filters: dict[str, tuple[str, ...]]
) -> dict[str, Any]:
    methods = cell["methods"]
    if "ours" not in methods:
        return {}
    ours = methods["ours"]
    classical = [name for name in methods if name in filters]
    summary: dict[str, Any] = {"ours_max_abs_colour": max(abs(v) for v in ours["colour"])}
    if family == "clean":
        summary["identity_psnr"] = ours["psnr"]
        summary["identity_ok"] = ours["psnr"] >= 45.0
        return summary
    beats = [
        ours["psnr"] > methods[n]["psnr"] and ours["ssim"] > methods[n]["ssim"] for n in classical
    ]
    if classical:
        top = max(classical, key=lambda name: methods[name]["psnr"])
        summary["best_classical"] = top
        summary["ours_vs_best_classical_db"] = ours["psnr"] - methods[top]["psnr"]
    summary["ours_vs_degraded_db"] = ours["psnr"] - methods["degraded"]["psnr"]
    summary["references_gain_db"] = ours["psnr"] - methods.get("ours, no references", ours)["psnr"]
    if "bm3d" in cell and "ours" in cell["subset"]:
        row, ours_subset = cell["bm3d"]["row"], cell["subset"]["ours"]
        summary["ours_vs_bm3d_db"] = ours_subset["psnr"] - row["psnr"]
        beats.append(ours_subset["psnr"] > row["psnr"] and ours_subset["ssim"] > row["ssim"])
    # None when no classical row ran (--filters none --no-bm3d): nothing was compared.
    summary["beats_every_classical"] = all(beats) if beats else None
    return summary


def run_cell(
    pool: Executor,
    family: str,
    preset: str,
    *,
    clips: int,
    frames: int,
    size: tuple[int, int],
    restorers: dict[str, Restorer],
    filters: dict[str, tuple[str, ...]],
    bm3d: Bm3dPlan | None,
    cached: dict[str, Any],
    tuning: bool = False,
) -> tuple[dict[str, Any], tuple[str, list[tuple[str, np.ndarray]]] | None]:
    timing: dict[str, float] = {}
    clock = time.monotonic()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.monotonic()
        timing[name] = timing.get(name, 0.0) + now - clock
        clock = now

    bench = build_clips(preset, count=clips, frames=frames, size=size, family=family, tuning=tuning)
    methods: dict[str, Any] = {"degraded": clip_metrics([c.degraded for c in bench], bench)}
    lap("clips")
    outputs: dict[str, list[np.ndarray]] = {}
    _classical_rows(pool, bench, filters, cached, methods, outputs)
    lap("classical")
    for name, restore in restorers.items():
        outputs[name] = [restore(c.degraded) for c in bench]
        methods[name] = clip_metrics(outputs[name], bench)
    lap("model")
    cell: dict[str, Any] = {"methods": methods}
    if bm3d is not None:
        cell["bm3d"], cell["subset"] = _bm3d_cell(
            pool, family, preset, bench, bm3d, outputs, frames=frames, size=size
        )
        lap("bm3d")
    cell["summary"] = _summary(family, cell, filters)
    cell["timing_s"] = timing
    if family == "clean":
        return cell, None
    c, f, box = figure_crop([b.degraded for b in bench], [b.clean for b in bench])
    panels = [("damaged", bench[c].degraded[f])]
    classical = [name for name in methods if name in filters]
    if classical:
        top = max(classical, key=lambda name: methods[name]["psnr"])
        if top not in outputs:  # a cached row: filter just the clip the figure shows
            setting = methods[top]["setting"]
            outputs[top] = [np.empty(0)] * len(bench)
            outputs[top][c] = filter_clip(
                bench[c].degraded, top, "" if setting == "defaults" else setting
            )
        panels.append((f"best classical ({top})", outputs[top][c][f]))
    if "ours" in outputs:
        panels.append(("ours", outputs["ours"][c][f]))
    panels.append(("target", bench[c].clean[f]))
    return cell, (f"{family.upper()} {preset}", [(label, image[box]) for label, image in panels])


def run_benchmark(
    *,
    families: Sequence[str],
    clips: int,
    frames: int,
    size: tuple[int, int],
    presets: Sequence[str],
    restorers: dict[str, Restorer],
    filters: dict[str, tuple[str, ...]] = CLASSICAL,
    bm3d: Bm3dPlan | None = None,
    cached: dict[str, Any] | None = None,
    workers: int = 2,
    echo: Callable[[str], None] = print,
    tuning: bool = False,
) -> tuple[dict[str, Any], list[tuple[str, list[tuple[str, np.ndarray]]]]]:
    """Every cell (family x preset). ``cached``: the "families" part of an earlier
    quality.json on the same clips, whose classical rows are reused (they don't depend on the
    model)."""
    results: dict[str, Any] = {"families": {}}
    figure_rows: list[tuple[str, list[tuple[str, np.ndarray]]]] = []
    with make_executor(workers) as pool:
        for family in families:
            _run_family(
                pool,
                family,
                results,
                figure_rows,
                clips=clips,
                frames=frames,
                size=size,
                presets=presets,
                restorers=restorers,
                filters=filters,
                bm3d=bm3d,
                cached=cached,
                echo=echo,
                tuning=tuning,
            )
    return results, figure_rows


def _run_family(
    pool: Executor,
    family: str,
    results: dict[str, Any],
    figure_rows: list[Any],
    *,
    clips: int,
    frames: int,
    size: tuple[int, int],
    presets: Sequence[str],
    restorers: dict[str, Restorer],
    filters: dict[str, tuple[str, ...]],
    bm3d: Bm3dPlan | None,
    cached: dict[str, Any] | None,
    echo: Callable[[str], None],
    tuning: bool = False,
) -> None:
    family_presets = presets if family != "clean" else FAMILY_PRESETS["clean"]
    results["families"][family] = {"presets": {}}
    for preset in family_presets:
        started = time.monotonic()
        previous = (cached or {}).get(family, {}).get("presets", {}).get(preset, {})
        reuse = {n: row for n, row in previous.get("methods", {}).items() if n in filters}
        cell, row = run_cell(
            pool,
            family,
            preset,
            clips=clips,
            frames=frames,
            size=size,
            restorers=restorers,
            filters=filters,
            bm3d=bm3d,
            cached=reuse,
            tuning=tuning,
        )
        results["families"][family]["presets"][preset] = cell
        if row is not None:
            figure_rows.append(row)
        scores = ", ".join(f"{n} {m['psnr']:.2f}" for n, m in cell["methods"].items())
        if "bm3d" in cell:
            scores += f", bm3d-rgb {cell['bm3d']['row']['psnr']:.2f} (subset)"
        laps = ", ".join(f"{k} {v:.0f} s" for k, v in cell["timing_s"].items())
        echo(f"{family}/{preset}: {scores} [{time.monotonic() - started:.0f} s: {laps}]")


# ---------------------------------------------------------------------------- main


def _size(text: str) -> tuple[int, int]:
    h, w = (int(part) for part in text.lower().split("x"))
    return h, w


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m restoration.bench quality", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--family", choices=(*FAMILIES, "all"), default="all")
    parser.add_argument("--clips", type=int, default=8, help="clips per preset")
    parser.add_argument("--frames", type=int, default=12, help="frames per clip")
    parser.add_argument("--size", type=_size, default=(192, 256), help="HxW of the clips")
    parser.add_argument("--presets", default=",".join(PRESETS), help="of families A and B")
    parser.add_argument(
        "--checkpoint",
        "--weights",
        dest="weights",
        type=Path,
        default=None,
        help="tape-lite checkpoint (default: the shipped weights)",
    )
    parser.add_argument("--model", default="tape-lite", help="network variant of the checkpoint")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (the network)")
    parser.add_argument(
        "--precision",
        choices=("auto", "fp32", "bf16", "fp16"),
        default="auto",
        help="network precision (auto: bf16 where the CPU/GPU has it natively, else fp32)",
    )
    parser.add_argument(
        "--workers", type=int, default=2, help="processes for the filter and BM3D runs"
    )
    parser.add_argument("--no-model", action="store_true", help="classical filters only")
    parser.add_argument(
        "--filters",
        default=",".join(CLASSICAL),
        help="libavfilter rows to run, comma-separated, or 'none' (default: all)",
    )
    parser.add_argument("--no-bm3d", action="store_true", help="skip the colour BM3D rows")
    parser.add_argument(
        "--no-ablation", action="store_true", help="skip the 'ours, no references' row"
    )
    parser.add_argument("--bm3d-every", type=int, default=4, help="BM3D on every N-th frame ...")
    parser.add_argument("--bm3d-clips", type=int, default=4, help="... of the first N clips")
    parser.add_argument(
        "--every-frame",
        action="store_true",
        help="also report the network run on every frame (no clean-frame pass-through)",
    )
    parser.add_argument(
        "--guard-ablation",
        action="store_true",
        help="also report the network without the colour guard (engine/fidelity.py)",
    )
    parser.add_argument(
        "--reuse-classical",
        type=Path,
        default=None,
        help="quality.json of an earlier run with the same clips: reuse its classical rows",
    )
    parser.add_argument(
        "--split",
        choices=("report", "tuning"),
        default="report",
        help="clips to run on: 'report' (the published tables) or 'tuning', other seeds for "
        "choosing a checkpoint or a setting without touching the reported clips",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for the reports")
    parser.add_argument("--json", type=Path, default=None, help="also write the JSON here")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)

    import torch

    from restoration.engine.exceptions import EngineError
    from restoration.training.train import hardware_description

    if args.threads:
        torch.set_num_threads(args.threads)
    presets = [p.strip() for p in args.presets.split(",") if p.strip()]
    unknown = [p for p in presets if p not in PRESETS]
    if unknown:
        print(f"error: unknown preset(s) {unknown}; choose from {PRESETS}", file=sys.stderr)
        return 2
    for name, least in (("clips", 1), ("frames", MIN_FRAMES), ("bm3d_every", 1), ("bm3d_clips", 1)):
        if getattr(args, name) < least:
            print(f"error: --{name.replace('_', '-')} must be at least {least}", file=sys.stderr)
            return 2
    chosen = [f.strip() for f in args.filters.split(",") if f.strip() and f.strip() != "none"]
    if [f for f in chosen if f not in CLASSICAL]:
        print(
            f"error: unknown filter(s) in {args.filters!r}; choose from {list(CLASSICAL)}",
            file=sys.stderr,
        )
        return 2
    families = list(FAMILIES) if args.family == "all" else [args.family]
    tuning = args.split == "tuning"
    if tuning and (args.reuse_classical is not None or not args.no_bm3d):
        print(
            "error: --split tuning runs without --reuse-classical and with --no-bm3d "
            "(BM3D tunes its strength on the tuning split itself)",
            file=sys.stderr,
        )
        return 2
    bm3d = (
        None
        if args.no_bm3d
        else Bm3dPlan(every=args.bm3d_every, clips=min(args.bm3d_clips, args.clips))
    )
    started = time.monotonic()
    try:
        restorers = (
            {}
            if args.no_model
            else model_restorers(
                args.weights,
                device=args.device,
                every_frame=args.every_frame,
                model_name=args.model,
                ablation=not args.no_ablation,
                guard_ablation=args.guard_ablation,
                precision=args.precision,
            )
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
            cached = previous.get("families", {})
        results, figure_rows = run_benchmark(
            families=families,
            clips=args.clips,
            frames=args.frames,
            size=args.size,
            presets=presets,
            restorers=restorers,
            filters={name: CLASSICAL[name] for name in chosen},
            bm3d=bm3d,
            cached=cached,
            workers=args.workers,
            tuning=tuning,
        )
    except (EngineError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    results["setup"] = {
        "families": families,
        "clips": args.clips,
        "frames": args.frames,
        "size": list(args.size),
        "split": args.split,
        "seeds": ("tuning split: " if tuning else "")
        + ", ".join(
            f"{f.upper() if f != 'clean' else f} "
            f"{clip_seed(f, FAMILY_PRESETS[f][0], 0, tuning=tuning)}.."
            f"{clip_seed(f, FAMILY_PRESETS[f][-1], args.clips - 1, tuning=tuning)}"
            for f in families
        ),
        "bm3d": None
        if bm3d is None
        else {"every": bm3d.every, "clips": bm3d.clips, "tuning_clips": bm3d.tuning_clips},
        "workers": args.workers,
        "precision": args.precision,
        "weights": "none"
        if args.no_model
        else f"{args.model} {args.weights or '(shipped weights)'}",
        "runtime_s": time.monotonic() - started,
        "classical_rows_from": str(args.reuse_classical) if args.reuse_classical else "this run",
        "hardware": hardware_description(torch.device(args.device)),
    }
    stem = "quality" if args.family == "all" else f"quality-{args.family}"
    stem += "-tuning" if tuning else ""
    args.out.mkdir(parents=True, exist_ok=True)
    text = json.dumps(results, indent=2) + "\n"
    (args.out / f"{stem}.json").write_text(text)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text)
    (args.out / f"{stem}.md").write_text(render_markdown(results))
    if figure_rows:
        render_figure(args.out / f"{stem}.png", figure_rows)
    print(render_markdown(results))
    print(
        f"wrote {args.out / stem}.md, .json{', .png' if figure_rows else ''}; total {results['setup']['runtime_s']:.0f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
