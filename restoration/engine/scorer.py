"""Offline artifact scorer: a small CNN trained on the tape simulator's labels.

It is the default reference selector when no CLIP weights are configured, and feeds the
per-frame artifact timeline. For each frame it gives

* ``artifact``: an overall artifact score in [0, 1], regressed on the simulator's overall
  severity (0 = clean);
* ``effects``: probabilities that ``noise``, ``dropouts``, ``fringing`` and ``mistracking`` hit
  the frame;
* ``embeddings``: a 64-d L2-normalised vector for frame similarity, trained contrastively so a
  damaged frame lands next to the other frames of its shot, whatever the damage.

Input. Thin artifacts (one-line dropouts, grain) vanish when a frame is shrunk, so six feature
planes are computed at the frame's own resolution and pooled to 96x128 (:func:`frame_features`):
Y, U, V (area-averaged), grain energy |Y - box3(Y)| (area-averaged), and horizontal-line
responses of luma and chroma (vertical second derivative smoothed along the row, max-pooled, so a
one-pixel streak survives any downscale). The network then runs on 96x128 whatever the video's
size.

Weights: ``restoration/engine/weights/artifact-scorer.safetensors`` + ``.json`` card (sha256,
training data, metrics), loaded and verified by :meth:`OfflineArtifactScorer.load_default`.
Retrain with ``python -m restoration train-scorer`` (see :func:`train_scorer`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

__all__ = [
    "DEFAULT_WEIGHTS",
    "INPUT_SIZE",
    "SCORED_EFFECTS",
    "ArtifactScorerNet",
    "OfflineArtifactScorer",
    "frame_features",
]

# The effects the artifact scorer predicts (the names used across the engine and by the
# training simulator's labels).
SCORED_EFFECTS = ("noise", "dropouts", "fringing", "mistracking")

VARIANT = "artifact-scorer"
DEFAULT_WEIGHTS = Path(__file__).parent / "weights" / f"{VARIANT}.safetensors"
INPUT_SIZE = (96, 128)  # (H, W) the network sees
ANALYSIS_SIZE = (192, 256)  # larger frames are area-averaged to this before feature extraction
FEATURE_CHANNELS = 6
EFFECT_PRESENT = 0.02  # an effect label above this counts as "present" for the classifiers

_RGB2YUV = torch.tensor(
    [[0.299, 0.587, 0.114], [-0.14713, -0.28886, 0.436], [0.615, -0.51499, -0.10001]]
)
_AREA_MEAN = torch.tensor([0.45, 0.0, 0.0, 0.0]).view(1, 4, 1, 1)
_AREA_SCALE = torch.tensor([4.0, 8.0, 8.0, 25.0]).view(1, 4, 1, 1)


# --------------------------------------------------------------------------- features


def _row_box(plane: torch.Tensor, k: int) -> torch.Tensor:
    """Mean of k neighbours along each row (zero padded), by a cumulative sum: cheap on CPU."""
    summed = torch.cumsum(F.pad(plane, (k // 2 + 1, k // 2)), dim=-1)
    return (summed[..., k:] - summed[..., :-k]) / k


def _line_response(plane: torch.Tensor) -> torch.Tensor:
    """|2 p(y) - p(y-1) - p(y+1)| smoothed along rows: lights up horizontal streaks, not grain."""
    second = torch.zeros_like(plane)
    second[..., 1:-1, :] = 2 * plane[..., 1:-1, :] - plane[..., :-2, :] - plane[..., 2:, :]
    return _row_box(second, 5).abs()


@torch.no_grad()
def frame_features(frames: np.ndarray | torch.Tensor) -> torch.Tensor:
    """(B, H, W, 3) uint8 RGB -> (B, 6, 96, 128) float features (see the module docstring)."""
    rgb = torch.as_tensor(frames)
    assert rgb.ndim == 4 and rgb.shape[-1] == 3, (
        f"expected (B, H, W, 3) frames, got {tuple(rgb.shape)}"
    )
    rgb = rearrange(rgb, "b h w c -> b c h w").float()
    height, width = rgb.shape[-2:]
    if height > ANALYSIS_SIZE[0] or width > ANALYSIS_SIZE[1]:
        # Bigger frames are first area-averaged to at most twice the network's input: thin
        # streaks still show there, and every later step is cheap.
        size = (min(height, ANALYSIS_SIZE[0]), min(width, ANALYSIS_SIZE[1]))
        rgb = F.interpolate(rgb, size=size, mode="area")
    yuv = torch.einsum("bchw,dc->bdhw", rgb, _RGB2YUV / 255.0)
    luma = yuv[:, :1]
    grain = (luma - F.avg_pool2d(luma, 3, stride=1, padding=1, count_include_pad=False)).abs()
    luma_lines = _line_response(luma)
    chroma_lines = _line_response(yuv[:, 1:]).sum(dim=1, keepdim=True)
    area = F.interpolate(torch.cat([yuv, grain], dim=1), size=INPUT_SIZE, mode="area")
    peaks = F.adaptive_max_pool2d(torch.cat([luma_lines, chroma_lines], dim=1), INPUT_SIZE)
    # Rough standardisation so every plane starts near unit scale.
    area = (area - _AREA_MEAN) * _AREA_SCALE
    return torch.cat([area, peaks * 6.0], dim=1)


# --------------------------------------------------------------------------- network


def _conv(cin: int, cout: int, stride: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class ArtifactScorerNet(nn.Module):
    """Four strided conv stages over the feature planes, then pooled heads.

    Average and max pooling both feed the heads: grain is everywhere, a mistracking band or a
    dropout is local. The embedding comes from average-pooled features only (content, not
    damage, after contrastive training).
    """

    def __init__(self, widths: tuple[int, ...] = (16, 32, 64, 96), embedding_dim: int = 64):
        super().__init__()
        self.config: dict[str, Any] = {
            "name": VARIANT,
            "widths": list(widths),
            "embedding_dim": embedding_dim,
            "input_size": list(INPUT_SIZE),
            "feature_channels": FEATURE_CHANNELS,
            "effects": list(SCORED_EFFECTS),
        }
        stages = []
        cin = FEATURE_CHANNELS
        for width in widths:
            stages += [_conv(cin, width, 2), _conv(width, width, 1)]
            cin = width
        self.body = nn.Sequential(*stages)
        self.head = nn.Sequential(
            nn.Linear(2 * cin, 128), nn.ReLU(inplace=True), nn.Linear(128, 1 + len(SCORED_EFFECTS))
        )
        self.embed = nn.Sequential(
            nn.Linear(cin, 128), nn.ReLU(inplace=True), nn.Linear(128, embedding_dim)
        )

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """features (B, 6, 96, 128) -> (severity logit (B,), effect logits (B, 4), embedding
        (B, E))."""
        assert features.shape[1:] == (FEATURE_CHANNELS, *INPUT_SIZE), (
            f"expected (B, {FEATURE_CHANNELS}, {INPUT_SIZE[0]}, {INPUT_SIZE[1]}), "
            f"got {tuple(features.shape)}"
        )
        maps = self.body(features)
        mean, peak = maps.mean(dim=(2, 3)), maps.amax(dim=(2, 3))
        logits = self.head(torch.cat([mean, peak], dim=1))
        embedding = F.normalize(self.embed(mean), dim=1)
        return logits[:, 0], logits[:, 1:], embedding


# --------------------------------------------------------------------------- FrameScorer


class OfflineArtifactScorer:
    """FrameScorer (see ``restoration.engine.references``) backed by the trained CNN."""

    name = "offline"
    max_input_side = 1024  # references.BatchScorer caps frames to this; features shrink anyway
    # The score regresses true severity: on held-out 384x288 clips truly clean frames scored at
    # most 0.20 (99th percentile) while the median damaged frame scored 0.28 (light) to 0.97
    # (severe). Above this, inference restores a frame even if Otsu calls it clean.
    clean_ceiling = 0.25

    def __init__(
        self, model: ArtifactScorerNet, *, card: dict[str, Any] | None = None, chunk: int = 4
    ):
        self.model = model.eval()
        self.card = card or {}
        # Frames turned into float features at once: 4 SD frames take about 20 MB (32 took
        # 160 MB of a worker's memory); the scores do not depend on it.
        self.chunk = chunk

    @classmethod
    def load(cls, path: str | Path) -> OfflineArtifactScorer:
        from restoration.engine.models import load_checkpoint

        state, card = load_checkpoint(path, variant=VARIANT)
        config = card.get("config", {})
        model = ArtifactScorerNet(
            widths=tuple(config.get("widths", (16, 32, 64, 96))),
            embedding_dim=int(config.get("embedding_dim", 64)),
        )
        try:
            model.load_state_dict(state)
        except RuntimeError as exc:
            from restoration.engine.exceptions import WeightsError

            raise WeightsError(f"{path}: weights do not fit the artifact scorer ({exc})") from exc
        return cls(model, card=card)

    @classmethod
    def load_default(cls) -> OfflineArtifactScorer:
        """The shipped weights (sha256-verified); WeightsError says how to retrain if missing."""
        from restoration.engine.exceptions import WeightsError

        if not DEFAULT_WEIGHTS.exists():
            raise WeightsError(
                f"artifact scorer weights not found at {DEFAULT_WEIGHTS}; "
                "retrain them with `python -m restoration train-scorer --install`"
            )
        return cls.load(DEFAULT_WEIGHTS)

    @torch.no_grad()
    def score_batch(
        self, frames: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """(B, H, W, 3) uint8 RGB -> artifact (B,), embeddings (B, E), {effect: (B,)}."""
        if frames.ndim != 4 or frames.shape[-1] != 3:
            raise ValueError(f"expected (B, H, W, 3) RGB frames, got {frames.shape}")
        artifact, effects, embeddings = [], [], []
        for start in range(0, len(frames), self.chunk):
            severity, effect_logits, embedding = self.model(
                frame_features(frames[start : start + self.chunk])
            )
            artifact.append(torch.sigmoid(severity))
            effects.append(torch.sigmoid(effect_logits))
            embeddings.append(embedding)
        if not artifact:
            dim = self.model.config["embedding_dim"]
            empty = np.zeros(0, dtype=np.float32)
            return empty, np.zeros((0, dim), np.float32), {e: empty for e in SCORED_EFFECTS}
        probs = torch.cat(effects).numpy().astype(np.float32)
        return (
            torch.cat(artifact).numpy().astype(np.float32),
            torch.cat(embeddings).numpy().astype(np.float32),
            {name: probs[:, i] for i, name in enumerate(SCORED_EFFECTS)},
        )
