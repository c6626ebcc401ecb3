"""Input preprocessing of an exported network and the calibration images that feed it (``--calibration``).

An exported file is only useful with the preprocessing it expects, so the export fixes
one and the model card states it: RGB, resized (bilinear, no crop) to the network's
resolution, scaled to [0, 1], normalised per channel with the statistics the space states
(:attr:`SearchSpace.preprocessing`), NCHW float32.

Calibration inputs are read by :func:`hwnas.images.load_images` (the one loader, shared with
the proxies' ``--data``): an ``.npz`` with ``images`` and optionally ``labels``, or a folder of
images (labelled when every image sits in a first-level class folder), scaled to [0, 1] and
resized to the network's resolution. At most :data:`MAX_CALIBRATION_IMAGES` images are used,
a seeded subset when more are given. The proxies standardise each batch by its own statistics;
a deployed network needs fixed constants, hence :class:`Preprocessing` here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from hwnas.images import load_images
from hwnas.spaces.base import SearchSpace

MAX_CALIBRATION_IMAGES = 256


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
            x = F.interpolate(
                x, size=(self.resolution, self.resolution), mode="bilinear", align_corners=False, antialias=down
            )
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
        return {
            "source": self.source,
            "images": int(self.images.shape[0]),
            "available": self.available,
            "labels": self.labels is not None,
        }


def load_calibration(
    path: str | os.PathLike[str], preprocessing: Preprocessing, *, seed: int, limit: int = MAX_CALIBRATION_IMAGES
) -> CalibrationImages:
    """Read, subsample (seeded) and preprocess calibration images; UsageError names what is wrong."""
    loaded = load_images(path, option="--calibration", size=preprocessing.resolution, seed=seed, limit=limit)
    return CalibrationImages(preprocessing.apply(loaded.images).numpy(), loaded.labels, loaded.source, loaded.available)
