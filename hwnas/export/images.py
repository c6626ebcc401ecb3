"""Input preprocessing of an exported network and the calibration images that feed it (``--calibration``).

An exported file is only useful with the preprocessing it expects, so the export fixes
one and the model card states it: RGB, resized (bilinear, no crop) to the network's
resolution, scaled to [0, 1], normalised per channel with the statistics the space states
(:attr:`SearchSpace.preprocessing`), NCHW float32.

Calibration inputs (nothing is downloaded):

- an ``.npz`` with ``images`` (N,H,W grey, N,H,W,C or N,C,H,W) and optionally ``labels``
  (N integers). ``uint8`` pixels are divided by 255; other numeric arrays are min-max
  scaled to [0, 1] over the whole set (so 0..16 digits work);
- a folder of images PIL can read: files anywhere below it, sorted by path. When every
  image sits in a first-level sub-folder, the sorted sub-folder names are labels 0, 1, ...

At most :data:`MAX_CALIBRATION_IMAGES` images are used, a seeded subset when more are given.

(``hwnas.proxies.data`` reads similar inputs for the proxies, but it needs labels and
class folders and standardises each batch by its own statistics; a deployed network
needs fixed constants, hence this module.)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from hwnas.errors import UsageError
from hwnas.spaces.base import SearchSpace

MAX_CALIBRATION_IMAGES = 256
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm")


@dataclass(frozen=True)
class Preprocessing:
    """What an application must do to an RGB image before feeding the exported network."""

    resolution: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    statistics: str

    @classmethod
    def for_space(cls, space: SearchSpace[Any], resolution: int) -> Preprocessing:
        """The space's own input statistics (:attr:`SearchSpace.preprocessing`) at ``resolution``."""
        stats = space.preprocessing
        return cls(resolution, stats.mean, stats.std, stats.statistics)

    def apply(self, images01: torch.Tensor) -> torch.Tensor:
        """N,3,H,W in [0, 1] -> N,3,R,R normalised float32."""
        x = images01.float()
        if x.shape[-2:] != (self.resolution, self.resolution):
            down = x.shape[-1] > self.resolution or x.shape[-2] > self.resolution
            x = F.interpolate(x, size=(self.resolution, self.resolution), mode="bilinear", align_corners=False,
                              antialias=down)
        mean = torch.tensor(self.mean).view(1, 3, 1, 1)
        std = torch.tensor(self.std).view(1, 3, 1, 1)
        return ((x - mean) / std).contiguous()

    def to_dict(self) -> dict[str, Any]:
        r = self.resolution
        return {
            "color": "RGB",
            "resize": f"bilinear to {r}x{r}, no crop",
            "scale": "pixel / 255 -> [0, 1]",
            "normalize": "(x - mean) / std per channel",
            "mean": list(self.mean),
            "std": list(self.std),
            "statistics": self.statistics,
            "layout": "NCHW",
            "dtype": "float32",
        }


@dataclass(frozen=True)
class CalibrationImages:
    """Preprocessed images (N,3,R,R float32) and their labels when the source has them."""

    images: np.ndarray
    labels: np.ndarray | None
    source: str
    available: int

    def describe(self) -> dict[str, Any]:
        return {"source": self.source, "images": int(self.images.shape[0]), "available": self.available,
                "labels": self.labels is not None}


def load_calibration(path: str | os.PathLike[str], preprocessing: Preprocessing, *, seed: int,
                     limit: int = MAX_CALIBRATION_IMAGES) -> CalibrationImages:
    """Read, subsample (seeded) and preprocess calibration images; UsageError names what is wrong."""
    p = Path(path)
    if not p.exists():
        raise UsageError(f"--calibration {p}: no such file or directory")
    if p.is_dir():
        images01, labels, available = _from_folder(p, preprocessing.resolution, seed, limit)
    elif p.suffix.lower() == ".npz":
        images01, labels, available = _from_npz(p, seed, limit)
    else:
        raise UsageError(f"--calibration {p}: expected an .npz file or a folder of images")
    return CalibrationImages(preprocessing.apply(images01).numpy(), labels, str(p), available)


def _subset(n: int, seed: int, limit: int) -> np.ndarray:
    if n <= limit:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=limit, replace=False))


def _from_npz(path: Path, seed: int, limit: int) -> tuple[torch.Tensor, np.ndarray | None, int]:
    try:
        with np.load(path, allow_pickle=False) as npz:
            if "images" not in npz.files:
                raise UsageError(f"--calibration {path}: no 'images' array (has {', '.join(npz.files) or 'none'})")
            images = npz["images"]
            labels = npz["labels"] if "labels" in npz.files else None
    except (OSError, ValueError) as exc:
        raise UsageError(f"--calibration {path}: not a readable .npz ({exc})") from None
    if not np.issubdtype(images.dtype, np.number) or images.ndim not in (3, 4) or len(images) == 0:
        raise UsageError(f"--calibration {path}: 'images' must be a non-empty numeric N,H,W / N,H,W,C / N,C,H,W "
                         f"array, got {images.dtype} {images.shape}")
    if labels is not None and (labels.shape != (len(images),) or not np.issubdtype(labels.dtype, np.integer)):
        raise UsageError(f"--calibration {path}: 'labels' must be {len(images)} integers, got {labels.dtype} {labels.shape}")
    if images.dtype == np.uint8:
        x = images.astype(np.float32) / 255.0
    else:
        x = images.astype(np.float32)
        lo, hi = float(x.min()), float(x.max())
        x = (x - lo) / (hi - lo) if hi > lo else np.zeros_like(x)
    index = _subset(len(x), seed, limit)
    return _to_nchw(x[index], str(path)), (labels[index].astype(np.int64) if labels is not None else None), len(x)


def _to_nchw(x: np.ndarray, source: str) -> torch.Tensor:
    t = torch.from_numpy(np.ascontiguousarray(x))
    if t.ndim == 3:
        t = t.unsqueeze(1)
    elif t.shape[-1] in (1, 3) and t.shape[1] not in (1, 3):
        t = t.permute(0, 3, 1, 2)
    if t.shape[1] not in (1, 3):
        raise UsageError(f"--calibration {source}: images need 1 or 3 channels, got shape {tuple(x.shape)}")
    return t.expand(-1, 3, -1, -1).contiguous() if t.shape[1] == 1 else t.contiguous()


def _from_folder(root: Path, resolution: int, seed: int, limit: int) -> tuple[torch.Tensor, np.ndarray | None, int]:
    from PIL import Image, UnidentifiedImageError

    files = sorted(f for f in root.rglob("*") if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise UsageError(f"--calibration {root}: no images found ({', '.join(IMAGE_SUFFIXES)})")
    labelled = all(len(f.relative_to(root).parts) == 2 for f in files)
    classes = sorted({f.relative_to(root).parts[0] for f in files}) if labelled else []
    picked = [files[i] for i in _subset(len(files), seed, limit)]
    arrays = []
    for file in picked:
        try:
            with Image.open(file) as img:
                rgb = img.convert("RGB").resize((resolution, resolution), Image.BILINEAR)
        except (OSError, UnidentifiedImageError):
            raise UsageError(f"--calibration {file}: not a readable image") from None
        arrays.append(np.asarray(rgb, dtype=np.float32) / 255.0)
    images = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()
    labels = np.array([classes.index(f.relative_to(root).parts[0]) for f in picked], dtype=np.int64) if labelled else None
    return images, labels, len(files)
