"""Reading images from disk: one loader for the proxies' ``--data`` and the export's ``--calibration``.

Accepted inputs (nothing is downloaded):

- an ``.npz`` with ``images`` (N,H,W grey, N,H,W,C or N,C,H,W; any numeric dtype) and
  ``labels`` (N integers >= 0; optional unless the caller needs labels);
- a folder of images PIL can read: files anywhere below it, sorted by path. When every image
  sits in a first-level sub-folder, the sorted sub-folder names are labels 0, 1, ...

Pixels come back as N,3,H,W float32 in [0, 1]: ``uint8`` pixels are divided by 255, other
numeric arrays are min-max scaled over the whole set (so 0..16 digits work); grey images are
replicated to 3 channels. Folder images are resized (bilinear) to one size: ``size`` when the
caller gives one, else the first image's. What follows (normalisation, resizing to a network's
resolution) is the caller's: the proxies standardise each batch (``hwnas.proxies.data``), an
export applies the space's fixed statistics (``hwnas.export.images``).

Errors are :class:`~hwnas.errors.UsageError` naming the option and the file that is wrong.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from hwnas.errors import UsageError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm")


@dataclass(frozen=True)
class LoadedImages:
    """``images`` N,3,H,W float32 in [0, 1]; ``labels`` N int64 or None; ``available``: images before any subset."""

    images: torch.Tensor
    labels: np.ndarray | None
    source: str
    available: int


def load_images(
    path: str | os.PathLike[str],
    *,
    option: str,
    need_labels: bool = False,
    size: int | None = None,
    seed: int = 0,
    limit: int | None = None,
) -> LoadedImages:
    """Read an .npz or an image folder; ``option`` (``--data``, ``--calibration``) prefixes every error.

    ``need_labels``: refuse a source without labels. ``limit``: at most that many images, a subset
    drawn with ``seed`` (sorted, so the order of the source is kept)."""
    p = Path(path)
    if not p.exists():
        raise UsageError(f"{option} {p}: no such file or directory")
    if p.is_dir():
        loaded = _from_folder(p, option, size, seed, limit)
    elif p.suffix.lower() == ".npz":
        loaded = _from_npz(p, option, seed, limit)
    else:
        raise UsageError(f"{option} {p}: expected an .npz file or a folder of images")
    if need_labels and loaded.labels is None:
        if p.is_dir():
            raise UsageError(f"{option} {p}: an image folder needs one sub-folder per class (and no images outside)")
        raise UsageError(f"{option} {p}: no 'labels' array; {option} needs one label per image")
    return loaded


def _subset(n: int, seed: int, limit: int | None) -> np.ndarray:
    if limit is None or n <= limit:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=limit, replace=False))


def _from_npz(path: Path, option: str, seed: int, limit: int | None) -> LoadedImages:
    where = f"{option} {path}"
    try:
        with np.load(path, allow_pickle=False) as npz:
            if "images" not in npz.files:
                raise UsageError(f"{where}: no 'images' array (has {', '.join(npz.files) or 'none'})")
            images = npz["images"]
            labels = npz["labels"] if "labels" in npz.files else None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError):
        # numpy's own advice (load it with pickle) is the wrong one for a file of unknown origin
        raise UsageError(
            f"{where}: not a valid .npz archive of arrays (expected numpy.savez(file, images=..., labels=...))"
        ) from None
    if not np.issubdtype(images.dtype, np.number) or images.ndim not in (3, 4) or len(images) == 0:
        raise UsageError(
            f"{where}: 'images' must be a non-empty numeric N,H,W / N,H,W,C / N,C,H,W array, "
            f"got {images.dtype} {images.shape}"
        )
    if labels is not None:
        if labels.shape != (len(images),) or not np.issubdtype(labels.dtype, np.integer):
            raise UsageError(f"{where}: 'labels' must be {len(images)} integers, got {labels.dtype} {labels.shape}")
        if labels.min() < 0:
            raise UsageError(f"{where}: labels must be >= 0")
    if images.dtype == np.uint8:
        x = images.astype(np.float32) / 255.0
    else:
        x = images.astype(np.float32)
        lo, hi = float(x.min()), float(x.max())
        x = (x - lo) / (hi - lo) if hi > lo else np.zeros_like(x)
    index = _subset(len(x), seed, limit)
    picked = labels[index].astype(np.int64) if labels is not None else None
    return LoadedImages(_to_nchw(x[index], where), picked, str(path), len(x))


def _to_nchw(x: np.ndarray, where: str) -> torch.Tensor:
    t = torch.from_numpy(np.ascontiguousarray(x))
    if t.ndim == 3:  # N,H,W grey
        t = t.unsqueeze(1)
    elif t.shape[-1] in (1, 3) and t.shape[1] not in (1, 3):
        t = t.permute(0, 3, 1, 2)
    if t.shape[1] not in (1, 3):
        raise UsageError(f"{where}: images need 1 or 3 channels, got shape {tuple(x.shape)}")
    return t.expand(-1, 3, -1, -1).contiguous() if t.shape[1] == 1 else t.contiguous()


def _from_folder(root: Path, option: str, size: int | None, seed: int, limit: int | None) -> LoadedImages:
    from PIL import Image, UnidentifiedImageError

    files = sorted(f for f in root.rglob("*") if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise UsageError(f"{option} {root}: no images found ({', '.join(IMAGE_SUFFIXES)})")
    labelled = all(len(f.relative_to(root).parts) == 2 for f in files)
    classes = sorted({f.relative_to(root).parts[0] for f in files}) if labelled else []
    picked = [files[i] for i in _subset(len(files), seed, limit)]
    target = (size, size) if size is not None else None
    arrays = []
    for file in picked:
        try:
            with Image.open(file) as img:
                rgb = img.convert("RGB")
                target = target or rgb.size
                if rgb.size != target:
                    rgb = rgb.resize(target, Image.Resampling.BILINEAR)
        except (OSError, UnidentifiedImageError):
            raise UsageError(f"{option} {file}: not a readable image") from None
        arrays.append(np.asarray(rgb, dtype=np.float32) / 255.0)
    images = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()
    labels = (
        np.array([classes.index(f.relative_to(root).parts[0]) for f in picked], dtype=np.int64) if labelled else None
    )
    return LoadedImages(images, labels, str(root), len(files))
