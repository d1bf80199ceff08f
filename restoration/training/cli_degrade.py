"""``python -m restoration degrade`` and ``python -m restoration train-scorer``.

Registered by ``restoration.engine.cli`` through ``register(subparsers)``; thin callers of
:mod:`restoration.simulation.degrade` and :mod:`restoration.engine.scorer`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any, TextIO

from restoration.simulation.degrade import EFFECTS, PRESETS


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    _register_degrade(subparsers)
    _register_train_scorer(subparsers)


# --------------------------------------------------------------------------- degrade


def _register_degrade(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "degrade",
        help="simulate analog-tape damage on a video (seeded, with per-frame labels)",
        description="Stream IN through the tape simulator frame by frame and write OUT "
        "(.mkv: lossless FFV1; .mp4: H.264 access copy), audio copied. The same seed gives "
        "the same damage. --labels writes, per frame, which effects hit it and how hard.",
    )
    parser.add_argument("input", type=Path, metavar="IN")
    parser.add_argument("output", type=Path, metavar="OUT")
    parser.add_argument("--preset", choices=PRESETS, default="medium")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--labels", type=Path, default=None, help="write per-frame labels (JSON)")
    parser.add_argument(
        "--only",
        action="append",
        choices=EFFECTS,
        default=None,
        metavar="EFFECT",
        help=f"keep only these effects (repeatable): {', '.join(EFFECTS)}",
    )
    parser.add_argument(
        "--disable",
        action="append",
        choices=EFFECTS,
        default=None,
        metavar="EFFECT",
        help="turn an effect off (repeatable)",
    )
    parser.add_argument(
        "--clean-probability",
        type=float,
        default=None,
        help="share of frames left untouched (default: the preset's)",
    )
    parser.add_argument("--max-frames", type=int, default=None, help="stop after N frames")
    parser.set_defaults(handler=run_degrade)


def _build_config(args: argparse.Namespace) -> Any:
    from restoration.engine.exceptions import ConfigError
    from restoration.simulation.degrade import preset_config

    config = preset_config(args.preset)
    if args.only:
        config = config.only(*args.only)
    for name in args.disable or ():
        setattr(config, name, dataclasses.replace(getattr(config, name), enabled=False))
    if args.clean_probability is not None:
        if not 0.0 <= args.clean_probability < 1.0:
            raise ConfigError("--clean-probability must be in [0, 1)")
        config.clean_probability = args.clean_probability
    return config


class _LabelStream:
    """Writes {"preset", "seed", "config", "frames": [...]} one frame at a time."""

    def __init__(self, handle: TextIO, header: dict[str, Any]):
        self.handle = handle
        self.count = 0
        head = json.dumps(header)
        handle.write(head[:-1] + ', "frames": [\n')

    def write(self, entry: dict[str, Any]) -> None:
        self.handle.write((",\n" if self.count else "") + json.dumps(entry))
        self.count += 1

    def close(self) -> None:
        self.handle.write("\n]}\n")


def run_degrade(args: argparse.Namespace) -> int:
    from restoration.engine.exceptions import ConfigError
    from restoration.engine.video import iter_frames, probe
    from restoration.engine.writers import AccessWriter, MasterWriter, VideoWriter
    from restoration.simulation.degrade import TapeSimulator

    if args.max_frames is not None and args.max_frames <= 0:
        raise ConfigError("--max-frames must be positive")
    suffix = args.output.suffix.lower()
    writers: dict[str, type[VideoWriter]] = {".mkv": MasterWriter, ".mp4": AccessWriter}
    if suffix not in writers:
        raise ConfigError(f"OUT must end in .mkv (lossless) or .mp4 (H.264), not {suffix!r}")
    config = _build_config(args)
    info = probe(args.input)
    simulator = TapeSimulator(seed=args.seed, config=config)
    writer_cls = writers[suffix]
    options: dict[str, Any] = {"pixel_format": "bgr0"} if writer_cls is MasterWriter else {}
    label_handle = args.labels.open("w") if args.labels else None
    labels = (
        _LabelStream(
            label_handle,
            {
                "input": str(args.input),
                "preset": args.preset,
                "seed": args.seed,
                "config": config.to_dict(),
            },
        )
        if label_handle
        else None
    )
    degraded = 0
    try:
        with writer_cls(args.output, info, audio_source=args.input, **options) as writer:
            for index, frame in enumerate(iter_frames(args.input, end=args.max_frames)):
                out, frame_labels = simulator.process(frame)
                writer.write(out)
                degraded += not frame_labels.clean
                if labels:
                    labels.write({"frame": index, **frame_labels.to_dict()})
        if labels:
            labels.close()
    finally:
        if label_handle:
            label_handle.close()
    print(
        f"{args.output}: {simulator.frame_index} frames, {degraded} degraded "
        f"(preset {args.preset}, seed {args.seed})"
    )
    return 0


# --------------------------------------------------------------------------- train-scorer


def _register_train_scorer(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "train-scorer",
        help="train the offline artifact scorer on simulator labels",
        description="Train the small artifact-scoring CNN on clips synthesised from the packaged "
        "photos and degraded by the tape simulator; evaluate on validation photos with unseen "
        "seeds (AUROC, Spearman) and write OUT/artifact-scorer.safetensors + .json.",
    )
    parser.add_argument("--out", type=Path, default=Path("runs/artifact-scorer"))
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--batch", type=int, default=64, help="frames per step")
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--max-minutes", type=float, default=None, help="stop training after")
    parser.add_argument("--val-clips", type=int, default=48)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument(
        "--install", action="store_true", help="also copy the result over the shipped weights"
    )
    parser.add_argument("--rank-weight", type=float, default=0.5, help="pairwise ranking loss")
    parser.add_argument(
        "--mix-probability",
        type=float,
        default=0.4,
        help="share of training clips degraded by a random subset of effects",
    )
    parser.add_argument("--init", type=Path, default=None, help="fine-tune from this checkpoint")
    parser.add_argument(
        "--evaluate",
        type=Path,
        default=None,
        metavar="WEIGHTS",
        help="only evaluate an existing scorer checkpoint and update its card's metrics",
    )
    parser.set_defaults(handler=run_train_scorer)


def run_train_scorer(args: argparse.Namespace) -> int:
    from restoration.engine.exceptions import ConfigError
    from restoration.training.scorer_training import (
        ScorerTrainConfig,
        evaluate_checkpoint,
        train_scorer,
    )

    if args.evaluate is not None:
        metrics = evaluate_checkpoint(args.evaluate, clips=args.val_clips, threads=args.threads)
        print(json.dumps(metrics, indent=2))
        return 0
    for name in ("steps", "batch", "val_clips"):
        if getattr(args, name) <= 0:
            raise ConfigError(f"--{name.replace('_', '-')} must be positive")
    result = train_scorer(
        ScorerTrainConfig(
            out=args.out,
            steps=args.steps,
            batch=args.batch,
            lr=args.lr,
            max_minutes=args.max_minutes,
            val_clips=args.val_clips,
            seed=args.seed,
            threads=args.threads,
            install=args.install,
            rank_weight=args.rank_weight,
            mix_probability=args.mix_probability,
            init=args.init,
        )
    )
    print(json.dumps(result["metrics"], indent=2))
    return 0
