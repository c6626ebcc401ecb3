"""Labelled images for the proxies that need them (``--data``): an .npz or an image folder.

Accepted inputs are those of :mod:`hwnas.images` (the one loader, shared with the export's
calibration images), with labels required:

- an ``.npz`` with ``images`` (N,H,W grey, N,H,W,C or N,C,H,W; any numeric dtype) and
  ``labels`` (N integers);
- a directory with one sub-folder per class (sorted names give labels 0, 1, ...)
  holding image files PIL can read.

Images are scaled to [0, 1], replicated to 3 channels when grey, resized to the
network's input resolution and standardised per channel (by each batch's own statistics),
so a set of 8x8 digits can feed a 32x32 or 224x224 network. Nothing is downloaded.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from hwnas.errors import UsageError
from hwnas.images import load_images


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
    """Read an .npz or an image-folder directory (:func:`hwnas.images.load_images`, labels required);
    raises UsageError naming what is wrong."""
    loaded = load_images(path, option="--data", need_labels=True)
    assert loaded.labels is not None  # need_labels refuses a source without them
    return LabelledImages(loaded.images, torch.from_numpy(loaded.labels), loaded.source)
