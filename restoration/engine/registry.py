"""The model variants the engine can build: one JSON config each, and where shipped weights live.

Torch-free on purpose: the web process (job form, API, system checks, job parameters) reads the
list of variants and their options from here without loading the network code. The networks are
built from these configs by ``restoration.engine.models.create_model``.

A config (``engine/configs/<name>.json``) holds the keys of ``ModelConfig``; a new variant is a
new JSON file, never a code change.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, NotRequired, TypedDict

from .exceptions import ConfigError

CONFIG_DIR = Path(__file__).resolve().parent / "configs"
#: Small shipped weights (``<name>.safetensors`` + ``<name>.json`` card); big ones are
#: configured by path (the worker's ``RESTORATION_CHECKPOINT_DIR``, the CLI's ``--checkpoint``).
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"


class RefineConfig(TypedDict):
    guide: int  # guidance maps the coarse decoder hands to the full-resolution refinement
    channels: int  # width of the refinement's thin convolutions


class ModelConfig(TypedDict):
    name: str  # the variant's name (defaults to the file's stem)
    architecture: str  # a key of ``models.factory.ARCHITECTURES`` ("tape")
    description: NotRequired[str]
    window: int  # frames restored together (T)
    references: int  # clean reference frames fused per window (0 disables fusion)
    stem_stride: int  # pixel-unshuffle factor of the stem (2 or 4)
    dims: list[int]  # channels per encoder stage
    depths: list[int]  # blocks per encoder stage
    decoder_depths: list[int]  # blocks per decoder stage (one stage fewer than the encoder)
    block_types: list[str]  # "conv" (temporal shift) or "swin" (3-D windows) per stage
    heads: list[int]  # attention heads per stage
    window_size: list[int]  # Swin window (frames, height, width)
    mlp_ratio: float  # hidden width of the transformer MLPs, relative to the stage's dims
    fusion_levels: list[int]  # encoder stages where references are fused (MRSFF)
    pad_multiple: int  # frames are padded to a multiple of this many pixels
    refine: NotRequired[RefineConfig]  # full-resolution refinement (absent: none)


def _scan() -> dict[str, dict[str, Any]]:
    configs: dict[str, dict[str, Any]] = {}
    for path in sorted(CONFIG_DIR.glob("*.json")):
        config = json.loads(path.read_text())
        config.setdefault("name", path.stem)
        configs[config["name"]] = config
    return configs


_CONFIGS = _scan()


def list_models() -> list[str]:
    """The registered variants' names, sorted."""
    return sorted(_CONFIGS)


def model_config(name: str) -> ModelConfig:
    """A deep copy of variant ``name``'s config (callers may change it)."""
    if name not in _CONFIGS:
        raise ConfigError(f"unknown model {name!r}; available: {', '.join(list_models())}")
    config: ModelConfig = copy.deepcopy(_CONFIGS[name])  # type: ignore[assignment]
    return config


def default_weights(name: str) -> Path:
    """Where shipped weights for a variant live: engine/weights/<name>.safetensors."""
    return WEIGHTS_DIR / f"{name}.safetensors"
