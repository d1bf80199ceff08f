"""`python -m restoration`: restore, probe, score, scores (+ degrade/train from their modules).

A thin caller of the engine's functions: parses options, draws a progress bar on stderr, and
turns every EngineError into one line on stderr and a non-zero exit (no traceback).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .exceptions import EngineError

# register(subparsers): adds subcommands that live outside the engine.
Registrar = Callable[[Any], None]

# Subcommands that live outside the engine (training, data synthesis); each module exposes
# register(subparsers). The engine never imports them itself: `python -m restoration` passes them.
EXIT_ERROR = 1
EXIT_CANCELLED = 130


class ProgressBar:
    """frames done / total, fps and ETA on one stderr line (redrawn at most 5 times a second)."""

    def __init__(self, label: str, stream: Any = None) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.started = time.monotonic()
        self._last = 0.0

    def __call__(self, done: int, total: int, eta: float | None) -> None:
        now = time.monotonic()
        if done < total and now - self._last < 0.2:
            return
        self._last = now
        width = 30
        filled = int(width * done / total) if total else width
        fps = done / max(now - self.started, 1e-9)
        eta_text = f"{int(eta // 60)}:{int(eta % 60):02d}" if eta is not None else "?"
        bar = "#" * filled + "." * (width - filled)
        line = f"\r{self.label} [{bar}] {done}/{total} {fps:.2f} fps ETA {eta_text}"
        self.stream.write(line)
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def _tile(text: str) -> int | str | None:
    if text in ("auto", "none", "off"):
        return None if text != "auto" else "auto"
    value = _positive(text)
    if value < 32:
        raise argparse.ArgumentTypeError("tile must be at least 32 pixels (or auto/none)")
    return value


def _threads(args: argparse.Namespace) -> None:
    if getattr(args, "threads", None):
        import torch

        torch.set_num_threads(args.threads)


def cmd_restore(args: argparse.Namespace) -> int:
    from .execution import ExecutionOptions
    from .inference import OutputOptions, RestoreOptions, restore_image, restore_video
    from .references import get_scorer

    _threads(args)
    source = Path(args.input)
    if source.suffix.lower() in {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp"}:
        info = restore_image(
            source,
            args.output,
            model=args.model,
            checkpoint=args.checkpoint,
            tile=args.tile,
            device=args.device,
            strength=args.strength,
            colour_guard=args.colour_guard,
        )
        print(json.dumps({"output": args.output, **info}, default=str))
        return 0
    scorer_options = {}
    if args.scorer == "clip":
        scorer_options = {"model_name": args.clip_model, "pretrained": args.clip_pretrained}
    scorer = get_scorer(args.scorer, **scorer_options)
    result = restore_video(
        source,
        args.output,
        model=args.model,
        checkpoint=args.checkpoint,
        scorer=scorer,
        start=args.start,
        end=args.end,
        deinterlace=args.deinterlace,
        options=RestoreOptions(
            window=args.window or None,
            references=args.references,
            tile=args.tile,
            keep_clean=args.keep_clean,
            strength=args.strength,
            colour_guard=args.colour_guard,
        ),
        execution=ExecutionOptions(
            device=args.device,
            workers=args.workers or None,
            threads=args.threads or None,
            precision=args.precision,
            batch=args.batch or None,
        ),
        output=OutputOptions(access_copy=args.access_copy),
        progress=None if args.quiet else ProgressBar("restore"),
    )
    summary = {
        k: v
        for k, v in result.to_dict().items()
        if k not in {"scores_before", "scores_after", "references_used"}
    }
    if args.report:
        Path(args.report).write_text(json.dumps(result.to_dict(), indent=1, default=str) + "\n")
    print(json.dumps(summary, default=str))
    return 0


def cmd_probe(args: argparse.Namespace) -> int:
    from .video import probe

    print(json.dumps(probe(args.input).to_dict(), indent=2))
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    from .metrics import compare_videos

    comparison = compare_videos(args.clean, args.restored, use_lpips=not args.no_lpips)
    summary = comparison.summary()
    if args.per_frame:
        summary["per_frame"] = [
            {"frame": i, "psnr": round(p, 4), "ssim": round(s, 5)}
            for i, (p, s) in enumerate(zip(comparison.psnr, comparison.ssim, strict=True))
        ]
    print(json.dumps(summary, indent=2))
    if comparison.lpips_note and not args.no_lpips:
        print(comparison.lpips_note, file=sys.stderr)
    return 0


def cmd_scores(args: argparse.Namespace) -> int:
    from .references import get_scorer, score_video
    from .video import probe

    _threads(args)
    scorer_options = {}
    if args.scorer == "clip":
        scorer_options = {"model_name": args.clip_model, "pretrained": args.clip_pretrained}
    info = probe(args.input)
    scores = score_video(
        args.input,
        get_scorer(args.scorer, **scorer_options),
        total=info.frame_count,
        progress=None if args.quiet else ProgressBar("score"),
    )
    rows = scores.to_rows()
    if args.format == "json":
        text = json.dumps(
            {"scorer": scores.scorer, "threshold": scores.threshold(), "frames": rows}, indent=1
        )
    else:
        buffer = io.StringIO()
        writer = csv.DictWriter(
            buffer, fieldnames=list(rows[0]) if rows else ["frame", "artifact", "clean"]
        )
        writer.writeheader()
        writer.writerows(rows)
        text = buffer.getvalue()
    if args.output:
        Path(args.output).write_text(text)
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0


def _add_scorer_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scorer",
        choices=("auto", "offline", "clip", "none"),
        default="auto",
        help="frame scorer: offline (trained CNN), clip (zero-shot, local weights), none "
        "(classical fallback); auto = offline if its weights are installed, else none",
    )
    parser.add_argument("--clip-model", default="ViT-B-32", help="open_clip model name")
    parser.add_argument(
        "--clip-pretrained",
        default="openai",
        help="open_clip pretrained tag already in the local cache, or a local checkpoint file",
    )
    parser.add_argument(
        "--threads",
        type=_positive,
        default=0,
        help="CPU threads (restore: per worker, default 1 with several workers)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def build_parser(extra_commands: Sequence[Registrar] = ()) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m restoration",
        description="Restore digitized analog videotapes (TAPE-style reference-based network).",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_restore_command(subparsers)
    _add_inspection_commands(subparsers)
    for register in extra_commands:
        register(subparsers)
    return parser


def _add_restore_command(subparsers: Any) -> None:
    restore = subparsers.add_parser(
        "restore",
        help="restore a video (FFV1/MKV master) or a photo",
        description="Restore IN into OUT (an FFV1 Matroska master; a photo when IN is an image).",
    )
    restore.add_argument("input", metavar="IN")
    restore.add_argument("output", metavar="OUT")
    restore.add_argument(
        "--model", default="tape-lite", help="variant (tiny, tape-lite, tape-base)"
    )
    restore.add_argument(
        "--checkpoint", default=None, help="weights (.safetensors with its .json card)"
    )
    restore.add_argument(
        "--device",
        default="auto",
        help="auto (every GPU, else mps, else cpu), cpu, cuda, cuda:N, mps, or a list such as "
        "cuda:0,cuda:1 (a device listed twice runs two workers on it)",
    )
    restore.add_argument(
        "--workers",
        type=_positive,
        default=0,
        help="parallel window workers (processes; default: one per CPU core, or every GPU)",
    )
    restore.add_argument(
        "--precision",
        choices=("auto", "fp32", "bf16", "fp16"),
        default="auto",
        help="network precision: auto = bf16 where the CPU or GPU computes it natively, "
        "else fp32 on CPUs (default: auto)",
    )
    restore.add_argument(
        "--batch", type=_positive, default=0, help="windows per network pass (default: 4 on GPUs)"
    )
    restore.add_argument(
        "--window", type=_positive, default=0, help="frames per window (default: the model's T)"
    )
    restore.add_argument(
        "--references", type=_positive, default=None, help="references per window, 0 disables"
    )
    restore.add_argument(
        "--tile", type=_tile, default="auto", help="tile size in pixels, auto or none"
    )
    restore.add_argument("--start", type=_positive, default=0, help="first frame (index)")
    restore.add_argument("--end", type=_positive, default=None, help="stop before this frame")
    restore.add_argument("--deinterlace", choices=("off", "bwdif"), default="off")
    restore.add_argument(
        "--access-copy", default=None, metavar="PATH", help="also write an H.264 MP4"
    )
    restore.add_argument(
        "--keep-clean",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="write frames the scorer calls clean unchanged, restore only the corrupted ones "
        "(default: on)",
    )
    restore.add_argument(
        "--strength",
        default="standard",
        help="how much of the network's change to keep: gentle (0.5), standard (1.0, default) "
        "or a number from 0 to 1",
    )
    restore.add_argument(
        "--colour-guard",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="keep the input's colour balance and brightness outside damaged areas (default: on)",
    )
    restore.add_argument(
        "--report", default=None, metavar="JSON", help="write the full result (scores, references)"
    )
    _add_scorer_options(restore)
    restore.set_defaults(handler=cmd_restore)


def _add_inspection_commands(subparsers: Any) -> None:
    """probe, score and scores: read files, write nothing but their report."""
    probe_parser = subparsers.add_parser("probe", help="describe a video file as JSON")
    probe_parser.add_argument("input", metavar="IN")
    probe_parser.set_defaults(handler=cmd_probe)

    score = subparsers.add_parser(
        "score", help="PSNR/SSIM (LPIPS if available) of RESTORED against CLEAN"
    )
    score.add_argument("clean", metavar="CLEAN")
    score.add_argument("restored", metavar="RESTORED")
    score.add_argument("--per-frame", action="store_true")
    score.add_argument("--no-lpips", action="store_true")
    score.set_defaults(handler=cmd_score)

    scores = subparsers.add_parser(
        "scores", help="per-frame artifact scores of a video (CSV or JSON)"
    )
    scores.add_argument("input", metavar="IN")
    scores.add_argument("--format", choices=("csv", "json"), default="csv")
    scores.add_argument("--output", "-o", default=None, help="file to write (default stdout)")
    _add_scorer_options(scores)
    scores.set_defaults(handler=cmd_scores)


def main(argv: Sequence[str] | None = None, *, extra_commands: Sequence[Registrar] = ()) -> int:
    parser = build_parser(extra_commands)
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except EngineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CANCELLED if type(exc).__name__ == "CancelledError" else EXIT_ERROR
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return EXIT_CANCELLED
    except OSError as exc:  # disk full, permission denied, ...
        print(f"error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
        return EXIT_ERROR
