"""One `create_model` for every registered variant, and safetensors checkpoints with cards.

The variants and their configs are ``engine/registry.py``'s (torch-free); each config names an
`architecture`, and architectures register themselves here (no if/elif chain: a new variant is
a new JSON file).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from ..exceptions import ConfigError, WeightsError
from ..registry import model_config
from .tape import RestorationNet, TapeNet

CARD_FORMAT = "tape-archive-checkpoint/1"

ARCHITECTURES: dict[str, Callable[[dict[str, Any]], RestorationNet]] = {"tape": TapeNet}


def create_model(name: str, *, checkpoint: str | Path | None = None) -> RestorationNet:
    """Build a registered variant; with `checkpoint`, load and verify its weights."""
    config = model_config(name)
    architecture = config.get("architecture", "tape")
    if architecture not in ARCHITECTURES:
        raise ConfigError(f"model {name!r} names unknown architecture {architecture!r}")
    model = ARCHITECTURES[architecture](dict(config))
    if checkpoint is not None:
        state, card = load_checkpoint(checkpoint, variant=name)
        try:
            model.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            first_line = str(exc).splitlines()[1] if len(str(exc).splitlines()) > 1 else str(exc)
            raise WeightsError(
                f"{checkpoint}: weights don't fit the {name!r} architecture ({first_line.strip()})"
            ) from exc
        model.card = card
    return model


def _stem(path: str | Path) -> Path:
    path = Path(path)
    return path.with_suffix("") if path.suffix in {".safetensors", ".json"} else path


def _beside(stem: Path, suffix: str) -> Path:
    """``stem`` + ``suffix``, keeping a dot in the stem ("blend-a0.5" -> "blend-a0.5.json")."""
    return stem.with_name(stem.name + suffix)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save_checkpoint(model: nn.Module, path_stem: str | Path, card: dict[str, Any]) -> Path:
    """Write `<stem>.safetensors` and `<stem>.json` (card: variant, config, sha256, ...)."""
    config: dict[str, Any] = getattr(model, "config")  # noqa: B009 - any module with a JSON config
    stem = _stem(path_stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    weights = _beside(stem, ".safetensors")
    state = {key: value.detach().cpu().contiguous() for key, value in model.state_dict().items()}
    save_file(state, str(weights), metadata={"variant": str(config["name"])})
    full_card = {
        "format": CARD_FORMAT,
        "variant": config["name"],
        "config": config,
        "parameters": sum(p.numel() for p in model.parameters()),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        **card,
        "weights_file": weights.name,
        "sha256": file_sha256(weights),
    }
    _beside(stem, ".json").write_text(json.dumps(full_card, indent=2, sort_keys=True) + "\n")
    return weights


def load_checkpoint(
    path: str | Path, *, variant: str | None = None
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """(state_dict, card) after checking the card, the sha256 and (if given) the variant."""
    stem = _stem(path)
    weights, card_path = _beside(stem, ".safetensors"), _beside(stem, ".json")
    if not weights.exists():
        raise WeightsError(f"checkpoint not found: {weights}")
    if not card_path.exists():
        raise WeightsError(
            f"checkpoint card not found: {card_path} (it holds the sha256 and variant)"
        )
    try:
        card = json.loads(card_path.read_text())
    except json.JSONDecodeError as exc:
        raise WeightsError(f"{card_path}: not valid JSON ({exc.msg})") from exc
    if not isinstance(card, dict) or "variant" not in card or "sha256" not in card:
        raise WeightsError(
            f"{card_path}: not a checkpoint card (it needs a variant and a sha256; "
            "save_checkpoint writes one)"
        )
    if variant is not None and card.get("variant") != variant:
        raise WeightsError(
            f"{weights} holds weights for {card.get('variant')!r}, not {variant!r}; "
            f"pass --model {card.get('variant')} or another checkpoint"
        )
    actual = file_sha256(weights)
    if card.get("sha256") != actual:
        raise WeightsError(
            f"{weights}: sha256 mismatch (card says {card.get('sha256')}, file is {actual}); "
            "the file is corrupt or was replaced"
        )
    try:
        state = load_file(str(weights))
    except Exception as exc:  # safetensors raises its own error types
        raise WeightsError(f"{weights}: unreadable safetensors file ({exc})") from exc
    return state, card
