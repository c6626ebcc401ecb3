"""Labelled images for the proxies that need them (``--data``): an .npz or an image folder.

Accepted inputs:

- an ``.npz`` with ``images`` (N,H,W grey, N,H,W,C or N,C,H,W; any numeric dtype) and
  ``labels`` (N integers);
- a directory with one sub-folder per class (sorted names give labels 0, 1, ...)
  holding image files PIL can read.

Images are scaled to [0, 1], replicated to 3 channels when grey, resized to the
network's input resolution and standardised per channel, so a set of 8x8 digits can
feed a 32x32 or 224x224 network. Nothing is downloaded.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from hwnas.errors import UsageError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm")


@dataclass(frozen=True)
class LabelledImages:
    """Images (N,3,H,W float32 in [0,1]) and labels (N int64); ``source`` says where they came from."""

    images: torch.Tensor
    labels: torch.Tensor
    source: str

    def __post_init__(self) -> None:
        if self.images.ndim != 4 or self.images.shape[1] != 3:
            raise UsageError(f"{self.source}: images must be N,3,H,W after loading, got {tuple(self.images.shape)}")
        if self.labels.shape != (self.images.shape[0],):
            raise UsageError(f"{self.source}: {self.images.shape[0]} images but {tuple(self.labels.shape)} labels")
        if self.images.shape[0] == 0:
            raise UsageError(f"{self.source}: no images")

    @property
    def num_classes(self) -> int:
        return int(self.labels.max().item()) + 1

    def batch(self, size: int, *, resolution: int, num_classes: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``size`` images drawn class-balanced with ``seed`` (as the Revisiting metric's
        "10 per class"), resized to ``resolution`` and standardised per channel."""
        if self.num_classes > num_classes:
            raise UsageError(
                f"{self.source}: labels go up to {self.num_classes - 1} but the network has {num_classes} outputs "
                "(use --num-classes)"
            )
        gen = torch.Generator().manual_seed(seed)
        by_class = [torch.nonzero(self.labels == c).flatten() for c in range(self.num_classes)]
        by_class = [idx[torch.randperm(len(idx), generator=gen)] for idx in by_class if len(idx)]
        picked: list[int] = []
        depth = 0
        while len(picked) < size:
            row = [int(idx[depth % len(idx)]) for idx in by_class]
            picked.extend(row[: size - len(picked)])
            depth += 1
        index = torch.tensor(picked)
        images = self.images[index]
        if images.shape[-1] != resolution or images.shape[-2] != resolution:
            images = F.interpolate(images, size=(resolution, resolution), mode="bilinear", align_corners=False)
        mean = images.mean(dim=(0, 2, 3), keepdim=True)
        std = images.std(dim=(0, 2, 3), keepdim=True).clamp_min(1e-6)
        return (images - mean) / std, self.labels[index]


def load_labelled_images(path: str | os.PathLike[str]) -> LabelledImages:
    """Read an .npz or an image-folder directory; raises UsageError naming what is wrong."""
    p = Path(path)
    if not p.exists():
        raise UsageError(f"--data {p}: no such file or directory")
    if p.is_dir():
        return _from_folder(p)
    if p.suffix.lower() == ".npz":
        return _from_npz(p)
    raise UsageError(f"--data {p}: expected an .npz file or an image-folder directory")


def _from_npz(path: Path) -> LabelledImages:
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = {"images", "labels"} - set(npz.files)
            if missing:
                raise UsageError(f"--data {path}: missing array(s) {', '.join(sorted(missing))} (has {', '.join(npz.files)})")
            images, labels = npz["images"], npz["labels"]
    except (OSError, ValueError) as exc:
        raise UsageError(f"--data {path}: not a readable .npz ({exc})") from None
    return LabelledImages(_to_nchw(images, str(path)), _to_labels(labels, str(path)), str(path))


def _from_folder(root: Path) -> LabelledImages:
    from PIL import Image, UnidentifiedImageError

    classes = sorted(d for d in root.iterdir() if d.is_dir())
    if not classes:
        raise UsageError(f"--data {root}: an image folder needs one sub-folder per class")
    arrays: list[np.ndarray] = []
    labels: list[int] = []
    size: tuple[int, int] | None = None
    for label, folder in enumerate(classes):
        for file in sorted(folder.iterdir()):
            if file.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            try:
                with Image.open(file) as img:
                    rgb = img.convert("RGB")
            except (OSError, UnidentifiedImageError):
                raise UsageError(f"--data {file}: not a readable image") from None
            size = size or rgb.size
            if rgb.size != size:
                rgb = rgb.resize(size)
            arrays.append(np.asarray(rgb))
            labels.append(label)
    if not arrays:
        raise UsageError(f"--data {root}: no images found in its class folders")
    images = np.stack(arrays)  # N,H,W,3
    return LabelledImages(_to_nchw(images, str(root)), _to_labels(np.array(labels), str(root)), str(root))


def _to_nchw(images: np.ndarray, source: str) -> torch.Tensor:
    if not np.issubdtype(images.dtype, np.number):
        raise UsageError(f"{source}: images must be numeric, got {images.dtype}")
    x = torch.from_numpy(np.ascontiguousarray(images)).float()
    if x.ndim == 3:  # N,H,W grey
        x = x.unsqueeze(1)
    elif x.ndim == 4 and x.shape[-1] in (1, 3) and x.shape[1] not in (1, 3):
        x = x.permute(0, 3, 1, 2)
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        raise UsageError(f"{source}: images must be N,H,W or N,H,W,C or N,C,H,W with 1 or 3 channels, got {tuple(images.shape)}")
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    lo, hi = float(x.min()), float(x.max())
    x = (x - lo) / (hi - lo) if hi > lo else torch.zeros_like(x)
    return x.contiguous()


def _to_labels(labels: np.ndarray, source: str) -> torch.Tensor:
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise UsageError(f"{source}: labels must be a 1-D integer array, got {labels.dtype} {labels.shape}")
    if labels.min() < 0:
        raise UsageError(f"{source}: labels must be >= 0")
    return torch.from_numpy(labels.astype(np.int64))
