"""``python -m restoration train``: train a restoration network on simulated tape damage.

Registered by ``restoration.engine.cli`` through ``register(subparsers)``; a thin caller of
``restoration.training.train.train``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from restoration.training.losses import LossWeights


def _size(text: str) -> tuple[int, int]:
    """ "HxW" -> (H, W)."""
    try:
        h, w = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected HxW (e.g. 160x192), got {text!r}") from None
    if h <= 0 or w <= 0:
        raise argparse.ArgumentTypeError(f"sizes must be positive, got {text!r}")
    return h, w


def _presets(text: str) -> tuple[str, ...]:
    """ "light,severe,severe" -> ("light", "severe", "severe"): a repeated preset is drawn more."""
    from restoration.simulation.degrade import PRESETS

    names = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = sorted(set(names) - set(PRESETS))
    if not names or unknown:
        raise argparse.ArgumentTypeError(
            f"expected presets among {', '.join(PRESETS)}, got {text!r}"
        )
    return names


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "train",
        help="train a restoration network on simulated tape damage",
        description="Train on clips synthesised from the packaged photos and degraded by the "
        "tape simulator. Checkpoints (safetensors + JSON card + optimizer state), log.jsonl and "
        "summary.json go to --out. Stop early with Ctrl-C/SIGTERM: it checkpoints first.",
    )
    parser.add_argument("--model", default="tape-lite", help="variant: tiny, tape-lite, tape-base")
    parser.add_argument("--out", type=Path, default=None, help="run folder (default runs/MODEL)")
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--crop", type=int, default=128, help="square training crop in pixels")
    parser.add_argument("--lr", type=float, default=4e-4)
    parser.add_argument("--weight-decay", type=float, default=0.01)
    parser.add_argument("--warmup-steps", type=int, default=200)
    parser.add_argument("--grad-clip", type=float, default=1.0)
    parser.add_argument(
        "--max-minutes",
        type=float,
        default=None,
        help="training time budget (total across resumes); the LR schedule anneals within it",
    )
    parser.add_argument("--checkpoint-minutes", type=float, default=5.0)
    parser.add_argument("--checkpoint-every", type=int, default=0, help="also every N steps")
    parser.add_argument("--log-every", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scene-frames", type=int, default=24, help="frames per generated clip")
    parser.add_argument("--scene-size", type=_size, default=(160, 192), help="HxW of clips")
    parser.add_argument("--pool-size", type=int, default=24, help="degraded clips kept in memory")
    parser.add_argument(
        "--refresh-per-step", type=float, default=0.5, help="new clips per step (0.5 = every other)"
    )
    parser.add_argument("--no-reference-prob", type=float, default=0.1)
    parser.add_argument("--val-clips", type=int, default=6)
    parser.add_argument("--val-size", type=_size, default=(128, 160), help="HxW of val clips")
    parser.add_argument("--loss-frequency", type=float, default=0.05, help="FFT amplitude weight")
    parser.add_argument("--loss-gradient", type=float, default=0.0, help="edge loss weight")
    parser.add_argument("--loss-contrastive", type=float, default=0.0)
    parser.add_argument("--loss-ssim", type=float, default=0.0, help="1 - SSIM weight")
    parser.add_argument(
        "--loss-colour", type=float, default=0.0, help="per-channel mean colour shift weight"
    )
    parser.add_argument(
        "--randomise",
        type=float,
        default=0.0,
        help="fraction of scenes with domain-randomised damage and content (0..1; the rest "
        "use the presets)",
    )
    parser.add_argument(
        "--clean-scenes",
        type=float,
        default=0.0,
        help="fraction of scenes left undamaged, target = input (0..1, with --randomise <= 1)",
    )
    parser.add_argument(
        "--presets",
        type=_presets,
        default=("light", "medium", "severe"),
        help="comma-separated presets the non-randomised scenes are drawn from; repeat one to "
        "draw it more often (e.g. light,medium,severe,severe)",
    )
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, ...")
    parser.add_argument(
        "--precision",
        default="auto",
        choices=("auto", "fp32", "bf16", "fp16"),
        help="autocast of the training step (auto: bf16 where the hardware has it)",
    )
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (0 = default)")
    parser.add_argument("--resume", action="store_true", help="continue from OUT/last.*")
    parser.add_argument(
        "--init",
        default=None,
        metavar="CHECKPOINT",
        help="start from these weights (e.g. the shipped tape-lite.safetensors), new optimizer",
    )
    parser.set_defaults(handler=run)
    _register_blend(subparsers)


def _register_blend(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "blend-weights",
        help="interpolate a fine-tune with the weights it started from (WiSE-FT)",
        description="Write (1 - alpha) * BASE + alpha * TUNED as a new checkpoint: a fine-tune "
        "often keeps more of the base's strengths, and much of its own gain, half-way.",
    )
    parser.add_argument("base", type=Path, help="the weights the fine-tune started from")
    parser.add_argument("tuned", type=Path, help="the fine-tuned checkpoint")
    parser.add_argument("--alpha", type=float, default=0.5, help="share of TUNED (0..1)")
    parser.add_argument("--out", type=Path, required=True, help="stem of the new checkpoint")
    parser.set_defaults(handler=run_blend)


def run_blend(args: argparse.Namespace) -> int:
    from restoration.engine.exceptions import ConfigError
    from restoration.training.train import interpolate_weights

    if not 0.0 <= args.alpha <= 1.0:
        raise ConfigError("--alpha must be between 0 and 1")
    written = interpolate_weights(args.base, args.tuned, args.out, alpha=args.alpha)
    print(f"wrote {written} and {written.with_suffix('.json')}")
    return 0


def run(args: argparse.Namespace) -> int:
    from restoration.engine.exceptions import ConfigError
    from restoration.training.train import TrainConfig, train

    if not 0.0 <= args.randomise <= 1.0:
        raise ConfigError("--randomise must be between 0 and 1")
    if not 0.0 <= args.clean_scenes <= 1.0 - args.randomise:
        raise ConfigError("--clean-scenes must be between 0 and 1 - --randomise")
    for name in ("steps", "batch", "crop", "scene_frames", "pool_size", "val_clips"):
        if getattr(args, name) <= 0:
            raise ConfigError(f"--{name.replace('_', '-')} must be positive")
    config = TrainConfig(
        model=args.model,
        out=args.out or Path("runs") / args.model,
        steps=args.steps,
        batch=args.batch,
        crop=args.crop,
        lr=args.lr,
        weight_decay=args.weight_decay,
        warmup_steps=args.warmup_steps,
        grad_clip=args.grad_clip,
        max_minutes=args.max_minutes,
        checkpoint_minutes=args.checkpoint_minutes,
        checkpoint_every=args.checkpoint_every,
        log_every=args.log_every,
        seed=args.seed,
        scene_frames=args.scene_frames,
        scene_size=args.scene_size,
        pool_size=args.pool_size,
        refresh_per_step=args.refresh_per_step,
        no_reference_prob=args.no_reference_prob,
        val_clips=args.val_clips,
        val_size=args.val_size,
        loss=LossWeights(
            frequency=args.loss_frequency,
            gradient=args.loss_gradient,
            contrastive=args.loss_contrastive,
            ssim=args.loss_ssim,
            colour=args.loss_colour,
        ),
        presets=args.presets,
        randomise=args.randomise,
        clean_scenes=args.clean_scenes,
        device=args.device,
        precision=args.precision,
        threads=args.threads or None,
        resume=args.resume,
        init=args.init,
    )
    train(config)
    return 0
