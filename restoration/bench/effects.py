"""`python -m restoration.bench effects`: what the network does to each kind of damage alone.

The quality bench scores whole presets, where several effects mix; a weak spot hides in the
mean. This bench applies one effect at a time (every other effect off, no untouched frames)
to the same clips, and prints for each preset and effect the damaged input's PSNR / SSIM, the
network's (through the product's own path, as in the quality bench), the gain, and the mean
colour error per channel of both. A negative gain means the network makes that damage worse.

Family B by default (``restoration/bench/family_b.py``, never trained on); ``--family a`` runs
the training simulator's effects. Clips come from the tuning split by default (``--split``), so
looking at this table to decide what to train next does not touch the reported clips.

Writes ``effects-<family>[-tuning].md`` and ``.json`` to ``--out``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from restoration.bench.quality import (
    DEFAULT_OUT,
    PRESETS,
    _size,
    clip_seed,
    frame_metrics,
    model_restorers,
)

__all__ = ["effect_clip", "family_effects", "main", "run_effects"]


def family_effects(family: str) -> tuple[str, ...]:
    """The effects of a damage family that can be switched on one at a time."""
    if family == "b":
        from restoration.bench.family_b import EFFECTS

        return tuple(EFFECTS)
    from restoration.simulation.degrade import EFFECTS as A_EFFECTS

    return tuple(A_EFFECTS)


def effect_clip(
    clean: np.ndarray, *, family: str, preset: str, effect: str, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """(damaged, target) of ``clean`` with only ``effect`` of ``preset`` on."""
    if family == "b":
        from restoration.bench.family_b import family_b_preset, simulate_clip

        return simulate_clip(clean, preset=family_b_preset(preset).only(effect), seed=seed)
    from restoration.simulation.degrade import degrade_clip, preset_config

    # On every frame, as family B's ``only`` does: no clean frames, the effect always on
    # (mistracking, an event of several frames, starts on half the frames without one).
    config = dataclasses.replace(preset_config(preset).only(effect), clean_probability=0.0)
    settings = getattr(config, effect)
    if hasattr(settings, "probability"):
        settings = dataclasses.replace(settings, probability=1.0)
    elif hasattr(settings, "event_rate"):
        settings = dataclasses.replace(settings, event_rate=max(settings.event_rate, 0.5))
    config = dataclasses.replace(config, **{effect: settings})
    damaged, _labels = degrade_clip(clean, seed=seed, preset=preset, config=config)
    return damaged, clean


def run_effects(
    *,
    family: str,
    presets: Sequence[str],
    effects: Sequence[str],
    clips: int,
    frames: int,
    size: tuple[int, int],
    tuning: bool,
    restore: Any,
    log: Any = print,
) -> list[dict[str, Any]]:
    """One row per (preset, effect): metrics of the input and of ``restore``'s output."""
    from restoration.training.synth import load_photo_pool, make_clip

    photos = load_photo_pool("val")
    rows = []
    for preset in presets:
        cleans = []
        for index in range(clips):
            seed = clip_seed(family, preset, index, tuning=tuning)
            clean = make_clip(np.random.default_rng(seed), photos=photos, length=frames, size=size)
            cleans.append((seed, clean))
        for effect in effects:
            inputs, outputs, targets = [], [], []
            for seed, clean in cleans:
                damaged, target = effect_clip(
                    clean, family=family, preset=preset, effect=effect, seed=seed
                )
                inputs += list(damaged)
                outputs += list(restore(damaged))
                targets += list(target)
            row = {
                "preset": preset,
                "effect": effect,
                "input": frame_metrics(inputs, targets),
                "ours": frame_metrics(outputs, targets),
            }
            row["gain_db"] = row["ours"]["psnr"] - row["input"]["psnr"]
            rows.append(row)
            log(_line(row))
    return rows


def _colour(values: Sequence[float]) -> str:
    return " / ".join(f"{v:+.2f}" for v in values)


def _line(row: dict[str, Any]) -> str:
    i, o = row["input"], row["ours"]
    return (
        f"{row['preset']:7s} {row['effect']:15s} input {i['psnr']:6.2f} / {i['ssim']:.3f}  "
        f"ours {o['psnr']:6.2f} / {o['ssim']:.3f}  gain {row['gain_db']:+6.2f} dB  "
        f"colour input {_colour(i['colour'])}  ours {_colour(o['colour'])}"
    )


def _markdown(report: dict[str, Any]) -> str:
    lines = [
        f"### One effect at a time: family {report['family'].upper()} ({report['split']} split)",
        "",
        (
            "| preset | effect | input PSNR / SSIM | ours PSNR / SSIM | gain dB "
            "| colour error input, R / G / B | colour error ours |"
        ),
        "|---|---|---|---|---|---|---|",
    ]
    for row in report["rows"]:
        i, o = row["input"], row["ours"]
        lines.append(
            f"| {row['preset']} | {row['effect']} | {i['psnr']:.2f} / {i['ssim']:.3f} "
            f"| {o['psnr']:.2f} / {o['ssim']:.3f} | {row['gain_db']:+.2f} "
            f"| {_colour(i['colour'])} | {_colour(o['colour'])} |"
        )
    worse = [
        f"{r['preset']} {r['effect']}"
        for r in report["rows"]
        if r["gain_db"] < 0 and r["effect"] != "drift"
    ]
    lines += [
        "",
        f"Made worse by the network: {', '.join(worse) if worse else 'none'}.",
        "",
    ]
    if any(r["effect"] == "drift" for r in report["rows"]):
        note = (
            "`drift` (family B's level and gamma drift) is content, applied to the target too: "
            "its input equals its target (100 dB), and its row shows how closely the network "
            "gives back undamaged frames under a drifting level."
        )
        lines += [note, ""]
    lines += [
        (
            f"Clips: {report['clips']} per preset, {report['frames']} frames of "
            f"{report['size'][1]}x{report['size'][0]}, every frame damaged by the one effect "
            f"(untouched frames off). Weights: `{report['weights']}`. "
            f"Runtime {report['seconds']:.0f} s; {report['hardware']}."
        ),
        "",
    ]
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m restoration.bench effects", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--family", choices=("a", "b"), default="b")
    parser.add_argument("--presets", default="light,severe", help="comma-separated")
    parser.add_argument("--effects", default="all", help="comma-separated, or 'all'")
    parser.add_argument("--clips", type=int, default=4, help="clips per preset")
    parser.add_argument("--frames", type=int, default=12, help="frames per clip")
    parser.add_argument("--size", type=_size, default=(192, 256), help="HxW of the clips")
    parser.add_argument("--split", choices=("tuning", "report"), default="tuning")
    parser.add_argument("--checkpoint", "--weights", dest="weights", type=Path, default=None)
    parser.add_argument("--model", default="tape-lite")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--precision", choices=("auto", "fp32", "bf16", "fp16"), default="fp32")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for the reports")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)

    import torch

    from restoration.engine.exceptions import EngineError
    from restoration.training.train import hardware_description

    torch.set_num_threads(max(1, args.threads))
    presets = [p.strip() for p in args.presets.split(",") if p.strip()]
    known = family_effects(args.family)
    effects = (
        list(known)
        if args.effects == "all"
        else [e.strip() for e in args.effects.split(",") if e.strip()]
    )
    problems = [f"unknown preset {p!r}" for p in presets if p not in PRESETS]
    problems += [
        f"unknown effect {e!r} of family {args.family.upper()}" for e in effects if e not in known
    ]
    if problems or not presets or not effects:
        print(
            f"error: {'; '.join(problems) or 'nothing to run'} (presets: {', '.join(PRESETS)}; "
            f"effects: {', '.join(known)})",
            file=sys.stderr,
        )
        return 2
    if args.clips < 1 or args.frames < 1:
        print("error: --clips and --frames must be at least 1", file=sys.stderr)
        return 2
    try:
        restore = model_restorers(
            args.weights,
            device=args.device,
            model_name=args.model,
            ablation=False,
            precision=args.precision,
        )["ours"]
    except EngineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    started = time.monotonic()
    rows = run_effects(
        family=args.family,
        presets=presets,
        effects=effects,
        clips=args.clips,
        frames=args.frames,
        size=args.size,
        tuning=args.split == "tuning",
        restore=restore,
    )
    report = {
        "family": args.family,
        "split": args.split,
        "clips": args.clips,
        "frames": args.frames,
        "size": list(args.size),
        "weights": str(args.weights or f"{args.model} (shipped)"),
        "seconds": time.monotonic() - started,
        "hardware": hardware_description(torch.device(args.device)),
        "rows": rows,
    }
    stem = f"effects-{args.family}" + ("-tuning" if args.split == "tuning" else "")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{stem}.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.out / f"{stem}.md").write_text(_markdown(report))
    print(f"wrote {args.out / (stem + '.md')} and .json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
