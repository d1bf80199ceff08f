"""Training clips synthesised from still photographs.

No video data set can be downloaded here, so training clips are made from photos that packages
ship, moved by a synthetic camera, with one or two objects moving across them:

* **Photos** (:func:`load_photo_pool`). Always: the photographs bundled inside scikit-image's
  wheel (``skimage/data``: astronaut, coffee, chelsea, rocket, motorcycle, hubble deep field,
  immunohistochemistry, retina, and the greyscale camera, coins, grass, gravel, brick, moon).
  When installed, also the photographic wallpapers of two Debian packages (their renderings and
  vector art are left out): ``mate-backgrounds`` (the 12 photos of
  ``/usr/share/backgrounds/mate/nature``) and ``plasma-workspace-wallpapers`` (the 10
  photographs of ``/usr/share/wallpapers`` listed in ``_PLASMA_PHOTOS``). Install them with
  ``apt-get install --no-install-recommends mate-backgrounds plasma-workspace-wallpapers``
  (``gnome-backgrounds`` and ``ukui-wallpapers`` of bookworm hold renderings only); a machine without them trains on scikit-image's photos alone
  (fewer, so the model generalises less well), and the training card records which pool it had
  (:func:`photo_pool_sources`).
* **Split**: by photo, never by crop, so validation sees no photo training saw. scikit-image's
  photos are split by a fixed list (``_SKIMAGE_VAL``); wallpapers by a hash of their file name
  (one in five to validation). Deterministic on every machine.
* **Camera** (:func:`make_clip`): a crop window that pans, zooms and rotates slightly, each a
  smooth function of time (constant velocity plus a gentle acceleration), sometimes still.
  Frames are sampled with one batched ``grid_sample`` call over an area-downscaled copy of the
  photo, so zoomed-out views don't alias.
* **Moving objects**: one or two sprites, a patch of another photo cut out by a soft ellipse or
  rounded rectangle (or a textured flat shape), crossing the frame on a straight path with a
  little spin, composited with their alpha.

Big wallpapers are decoded once per process and downsized so their short side is at most
``_MAX_SHORT_SIDE`` pixels (cached in memory).
"""

from __future__ import annotations

import functools
import hashlib
import math
import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["load_photo_pool", "make_clip", "photo_label", "photo_pool_sources"]

_MAX_SHORT_SIDE = 720
_MIN_SHORT_SIDE = 160

_SKIMAGE_PHOTOS = (
    "astronaut.png",
    "coffee.png",
    "chelsea.png",
    "rocket.jpg",
    "motorcycle_left.png",  # only the left image of the stereo pair: the right one is near-identical
    "hubble_deep_field.jpg",
    "ihc.png",
    "retina.jpg",
    "camera.png",
    "coins.png",
    "grass.png",
    "gravel.png",
    "brick.png",
    "moon.png",
)
# Validation photos among scikit-image's: one colour portrait-like scene and one greyscale.
_SKIMAGE_VAL = ("chelsea.png", "coins.png")

# Wallpaper directories searched when the Debian packages are installed (photographs only;
# each package also ships renderings, which are left out).
_WALLPAPER_DIRS = (("/usr/share/backgrounds/mate/nature", ("*.jpg", "*.jpeg", "*.png")),)
_PLASMA_PHOTOS = (
    "BytheWater",
    "ColdRipple",
    "ColorfulCups",
    "DarkestHour",
    "EveningGlow",
    "FallenLeaf",
    "Grey",
    "Kite",
    "OneStandsOut",
    "Path",
)
_PLASMA_DIR = "/usr/share/wallpapers"


def _is_val_wallpaper(path: Path) -> bool:
    digest = hashlib.sha1(path.name.encode()).digest()
    return digest[0] % 5 == 0


def _wallpaper_paths() -> list[Path]:
    paths: list[Path] = []
    for directory, patterns in _WALLPAPER_DIRS:
        root = Path(directory)
        if root.is_dir():
            for pattern in patterns:
                paths.extend(sorted(root.glob(pattern)))
    plasma = Path(_PLASMA_DIR)
    for name in _PLASMA_PHOTOS:
        contents = plasma / name / "contents" / "images"
        if contents.is_dir():
            # Largest landscape rendition of each wallpaper is enough.
            candidates = sorted(contents.glob("*.jpg")) + sorted(contents.glob("*.png"))
            if candidates:
                paths.append(max(candidates, key=lambda p: p.stat().st_size))
    return sorted(set(paths))


def _skimage_dir() -> Path:
    import skimage.data

    return Path(os.path.dirname(skimage.data.__file__))


@functools.cache
def _load_photo(path: str) -> np.ndarray:
    """Decode to (H, W, 3) uint8 RGB, short side at most _MAX_SHORT_SIDE (area downscale)."""
    from PIL import Image

    with Image.open(path) as source:
        source.draft("RGB", (_MAX_SHORT_SIDE * 2, _MAX_SHORT_SIDE * 2))  # fast JPEG pre-shrink
        image = source.convert("RGB")
    short = min(image.size)
    if short > _MAX_SHORT_SIDE:
        scale = _MAX_SHORT_SIDE / short
        size = (round(image.width * scale), round(image.height * scale))
        image = image.resize(size, Image.Resampling.BOX)
    photo = np.asarray(image, dtype=np.uint8).copy()
    photo.setflags(write=False)
    return photo


def photo_label(path: str) -> str:
    """Short, unambiguous name of a pool photo for training cards ("plasma:Path", "skimage:coffee.png")."""
    parts = Path(path).parts
    if _PLASMA_DIR in path and len(parts) >= 4:
        return f"plasma:{parts[-4]}"
    if "/mate/" in path:
        return f"mate:{parts[-1]}"
    return f"skimage:{parts[-1]}" if "skimage" in path else parts[-1]


def photo_pool_sources(split: str = "train") -> list[str]:
    """File paths of the photos in a split (what a training card records)."""
    if split not in ("train", "val"):
        raise ValueError(f"split must be 'train' or 'val', not {split!r}")
    want_val = split == "val"
    root = _skimage_dir()
    sources = [
        str(root / name)
        for name in _SKIMAGE_PHOTOS
        if (name in _SKIMAGE_VAL) == want_val and (root / name).is_file()
    ]
    sources += [str(p) for p in _wallpaper_paths() if _is_val_wallpaper(p) == want_val]
    return sources


def load_photo_pool(split: str = "train") -> list[np.ndarray]:
    """Photos of one split as read-only (H, W, 3) uint8 RGB arrays; "train" and "val" are disjoint."""
    photos = [_load_photo(path) for path in photo_pool_sources(split)]
    return [p for p in photos if min(p.shape[:2]) >= _MIN_SHORT_SIDE]


# --------------------------------------------------------------------------- camera + sprites


def _area_downscale(image: torch.Tensor, factor: int) -> torch.Tensor:
    """(C, H, W) float -> average-pooled by an integer factor (anti-aliasing for zoomed-out views)."""
    if factor <= 1:
        return image
    return F.avg_pool2d(image[None], factor, ceil_mode=True)[0]


def _smooth_path(
    rng: np.random.Generator, t: np.ndarray, velocity: float, accel: float
) -> np.ndarray:
    """Position offset over normalised time t: constant velocity plus a gentle acceleration."""
    return velocity * t + 0.5 * accel * t**2 + rng.normal(0.0, 0.15) * velocity * np.sin(np.pi * t)


def _camera_grid(
    rng: np.random.Generator, *, photo_hw: tuple[int, int], length: int, size: tuple[int, int]
) -> np.ndarray:
    """Sampling grid (T, H, W, 2) in grid_sample's normalised source coordinates."""
    ph, pw = photo_hw
    h, w = size
    fit = min(ph / h, pw / w)  # source pixels per output pixel when the crop fills the photo
    # Scale (source px per output px) log-uniform between 0.6x (magnified) and 85% of fit.
    lo, hi = min(0.6, 0.85 * fit), 0.85 * fit
    scale0 = math.exp(rng.uniform(math.log(lo), math.log(hi)))
    t = np.linspace(0.0, 1.0, length) if length > 1 else np.zeros(1)
    still = rng.random() < 0.15
    motion = 0.0 if still else 1.0
    steps = max(length - 1, 1)
    # Pan in output pixels per frame (up to ~3 px/frame), expressed in source pixels over the clip.
    pan_speed = motion * rng.uniform(0.0, 3.0) * scale0 * steps
    pan_dir = rng.uniform(0, 2 * np.pi)
    dx = _smooth_path(rng, t, pan_speed * math.cos(pan_dir), rng.normal(0, 0.3) * pan_speed)
    dy = _smooth_path(rng, t, pan_speed * math.sin(pan_dir), rng.normal(0, 0.3) * pan_speed)
    zoom_rate = motion * rng.normal(0.0, 0.006) * steps  # log-scale change over the clip
    log_zoom = zoom_rate * t + 0.5 * motion * rng.normal(0, 0.002) * steps * t**2
    scale = scale0 * np.exp(log_zoom)
    angle0 = np.deg2rad(rng.normal(0.0, 2.0))
    angle = angle0 + motion * np.deg2rad(rng.normal(0.0, 0.15)) * steps * t
    # Keep the rotated, scaled crop inside the photo: clamp the centre path.
    half_w = 0.5 * w * scale * (np.abs(np.cos(angle)) + (h / w) * np.abs(np.sin(angle)))
    half_h = 0.5 * h * scale * (np.abs(np.cos(angle)) + (w / h) * np.abs(np.sin(angle)))
    room_x = np.maximum(pw / 2 - half_w, 0.0)
    room_y = np.maximum(ph / 2 - half_h, 0.0)
    start_x = rng.uniform(-1, 1) * float(room_x.min())
    start_y = rng.uniform(-1, 1) * float(room_y.min())
    cx = pw / 2 + np.clip(start_x + dx - dx.mean(), -room_x, room_x)
    cy = ph / 2 + np.clip(start_y + dy - dy.mean(), -room_y, room_y)

    ys = np.arange(h, dtype=np.float64) - (h - 1) / 2
    xs = np.arange(w, dtype=np.float64) - (w - 1) / 2
    gx, gy = np.meshgrid(xs, ys)  # (H, W) output pixel offsets from the centre
    cos_a = (np.cos(angle) * scale)[:, None, None]
    sin_a = (np.sin(angle) * scale)[:, None, None]
    src_x = cx[:, None, None] + cos_a * gx - sin_a * gy
    src_y = cy[:, None, None] + sin_a * gx + cos_a * gy
    # Pixel centres -> normalised coordinates (align_corners=False convention).
    grid = np.stack([(2 * src_x + 1) / pw - 1, (2 * src_y + 1) / ph - 1], axis=-1)
    return grid.astype(np.float32)


def _sample_frames(photo: torch.Tensor, grid: np.ndarray) -> torch.Tensor:
    """photo (C, Hp, Wp) float, grid (T, H, W, 2) -> (T, C, H, W), one grid_sample call."""
    t, h, w, _ = grid.shape
    stacked = torch.from_numpy(grid).reshape(1, t * h, w, 2)
    out = F.grid_sample(
        photo[None], stacked, mode="bilinear", padding_mode="reflection", align_corners=False
    )
    return out[0].reshape(photo.shape[0], t, h, w).permute(1, 0, 2, 3)


def _sprite(rng: np.random.Generator, photos: list[np.ndarray], size: int) -> torch.Tensor:
    """(4, S, S) float RGBA sprite: a soft-edged patch of a photo, or a textured flat shape."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    u = (xx - (size - 1) / 2) / (size / 2)
    v = (yy - (size - 1) / 2) / (size / 2)
    aspect = rng.uniform(0.5, 1.0)
    if rng.random() < 0.5:
        dist = np.sqrt(u**2 + (v / aspect) ** 2)  # ellipse
    else:
        p = 6.0  # rounded rectangle (superellipse)
        dist = (np.abs(u) ** p + np.abs(v / aspect) ** p) ** (1 / p)
    edge = 2.0 / size
    alpha = np.clip((0.95 - dist) / edge, 0.0, 1.0)
    if photos and rng.random() < 0.7:
        source = photos[rng.integers(len(photos))]
        sh, sw = source.shape[:2]
        side = int(min(sh, sw, max(size, rng.uniform(0.2, 0.5) * min(sh, sw))))
        y0, x0 = rng.integers(0, sh - side + 1), rng.integers(0, sw - side + 1)
        patch = (
            torch.from_numpy(source[y0 : y0 + side, x0 : x0 + side].copy()).permute(2, 0, 1).float()
            / 255
        )
        rgb = F.interpolate(patch[None], size=(size, size), mode="area")[0].numpy()
    else:
        base = rng.uniform(0.05, 0.95, size=3).astype(np.float32)
        freq = rng.uniform(2, 8)
        phase = rng.uniform(0, 2 * np.pi)
        texture = 0.15 * np.sin(freq * np.pi * (u * rng.normal() + v * rng.normal()) + phase)
        rgb = np.clip(
            base[:, None, None] + texture[None] + rng.normal(0, 0.03, (3, size, size)), 0, 1
        )
    return torch.from_numpy(np.concatenate([rgb, alpha[None]], axis=0).astype(np.float32))


def _composite_sprite(rng: np.random.Generator, frames: torch.Tensor, sprite: torch.Tensor) -> None:
    """Move the sprite across frames (T, 3, H, W) in place along a straight path with a little spin."""
    t_len, _, h, w = frames.shape
    size = sprite.shape[-1]
    t = np.linspace(0.0, 1.0, t_len) if t_len > 1 else np.zeros(1)
    start = np.array([rng.uniform(0, w), rng.uniform(0, h)])
    speed = rng.uniform(0.5, 4.0) * max(t_len - 1, 1)  # output px over the clip
    direction = rng.uniform(0, 2 * np.pi)
    cx = start[0] + speed * math.cos(direction) * (t - 0.5)
    cy = start[1] + speed * math.sin(direction) * (t - 0.5)
    angle = rng.uniform(0, 2 * np.pi) + rng.normal(0, 0.02) * max(t_len - 1, 1) * t
    ys = np.arange(h, dtype=np.float64)
    xs = np.arange(w, dtype=np.float64)
    gx, gy = np.meshgrid(xs, ys)
    ox = gx[None] - cx[:, None, None]
    oy = gy[None] - cy[:, None, None]
    cos_a, sin_a = np.cos(angle)[:, None, None], np.sin(angle)[:, None, None]
    sx = cos_a * ox + sin_a * oy  # inverse rotation: frame -> sprite coordinates
    sy = -sin_a * ox + cos_a * oy
    grid = np.stack([2 * sx / size, 2 * sy / size], axis=-1).astype(np.float32)
    layer = _sample_frames_zeros(sprite, grid)  # (T, 4, H, W)
    alpha = layer[:, 3:4]
    frames.mul_(1 - alpha).add_(layer[:, :3] * alpha)


def _sample_frames_zeros(image: torch.Tensor, grid: np.ndarray) -> torch.Tensor:
    t, h, w, _ = grid.shape
    stacked = torch.from_numpy(grid).reshape(1, t * h, w, 2)
    out = F.grid_sample(
        image[None], stacked, mode="bilinear", padding_mode="zeros", align_corners=False
    )
    return out[0].reshape(image.shape[0], t, h, w).permute(1, 0, 2, 3)


def make_clip(
    rng: np.random.Generator, *, photos: list[np.ndarray], length: int, size: tuple[int, int]
) -> np.ndarray:
    """A (T, H, W, 3) uint8 RGB clip: a photo under a moving camera with one or two moving objects.

    ``size`` is (height, width). Everything random comes from ``rng``, so a seeded generator
    gives the same clip on every machine.
    """
    if not photos:
        raise ValueError("make_clip needs at least one photo (see load_photo_pool)")
    if length < 1 or size[0] < 8 or size[1] < 8:
        raise ValueError(f"bad clip shape: length={length}, size={size}")
    h, w = size
    background = photos[rng.integers(len(photos))]
    if rng.random() < 0.5:
        background = background[:, ::-1]
    grid = _camera_grid(rng, photo_hw=background.shape[:2], length=length, size=size)
    photo = torch.from_numpy(np.array(background, dtype=np.uint8)).permute(2, 0, 1).float() / 255
    # Anti-alias: pool the photo so that each output pixel spans about one source pixel at most.
    fit = min(background.shape[0] / h, background.shape[1] / w)
    factor = max(1, int(min(_grid_scale(grid, background.shape[:2], size), fit / 1.2)))
    if factor > 1:
        photo = _area_downscale(photo, factor)
        # The grid is in normalised coordinates, so it is unchanged by the downscale.
    frames = _sample_frames(photo, grid)
    for _ in range(int(rng.integers(1, 3))):
        sprite_size = int(rng.uniform(0.15, 0.45) * min(h, w)) + 4
        _composite_sprite(rng, frames, _sprite(rng, photos, sprite_size))
    clip = (frames.clamp_(0, 1) * 255 + 0.5).to(torch.uint8).permute(0, 2, 3, 1)
    return clip.numpy()


def _grid_scale(grid: np.ndarray, photo_hw: tuple[int, int], size: tuple[int, int]) -> float:
    """Smallest source-pixels-per-output-pixel along the clip (how far the camera zooms out)."""
    ph, pw = photo_hw
    dx = (grid[:, :, -1, 0] - grid[:, :, 0, 0]).mean(axis=1) * pw / 2 / max(size[1] - 1, 1)
    dy = (grid[:, :, -1, 1] - grid[:, :, 0, 1]).mean(axis=1) * ph / 2 / max(size[1] - 1, 1)
    return float(np.sqrt(dx**2 + dy**2).min())
