"""Network variants, built by name from JSON configs: create_model("tape-lite", checkpoint=...)."""

from ..registry import default_weights, list_models, model_config
from .factory import create_model, load_checkpoint, save_checkpoint
from .tape import MultiReferenceFusion, RestorationNet, TapeNet

__all__ = [
    "MultiReferenceFusion",
    "RestorationNet",
    "TapeNet",
    "create_model",
    "default_weights",
    "list_models",
    "load_checkpoint",
    "model_config",
    "save_checkpoint",
]
