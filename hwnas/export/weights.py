"""``--weights``: load a state dict trained elsewhere into the exported architecture, strictly.

Accepted: a ``torch.save``d state dict, or a checkpoint dict holding it under
``state_dict``, ``model`` or ``model_state_dict``; a ``module.`` prefix (DataParallel)
is stripped. Loaded with ``weights_only=True`` (no code runs from the file). Every
tensor must exist on both sides with the same shape; the first difference is a
one-line error naming the tensor, so weights of another architecture never load.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from hwnas.errors import UsageError

_CONTAINER_KEYS = ("state_dict", "model_state_dict", "model")


def read_state_dict(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """The tensors of a checkpoint file, names normalised; UsageError when it is not one."""
    p = Path(path)
    if not p.is_file():
        raise UsageError(f"--weights {p}: no such file")
    try:
        data: Any = torch.load(p, map_location="cpu", weights_only=True)
    except Exception:  # torch.load raises many kinds (pickle, zip, unsupported global)
        # torch's own advice (weights_only=False) would run the file's pickled code: never relay it
        raise UsageError(
            f"--weights {p}: not a valid PyTorch state dict (a torch.save(model.state_dict(), file) checkpoint "
            "of tensors only)"
        ) from None
    if isinstance(data, Mapping):
        for key in _CONTAINER_KEYS:
            if isinstance(data.get(key), Mapping):
                data = data[key]
                break
    if not isinstance(data, Mapping) or not data or not all(isinstance(v, torch.Tensor) for v in data.values()):
        raise UsageError(f"--weights {p}: expected a state dict (tensor name -> tensor)")
    return {(k[len("module.") :] if k.startswith("module.") else k): v for k, v in data.items()}


def load_weights(model: nn.Module, path: str | os.PathLike[str], *, arch: str) -> dict[str, Any]:
    """Copy the checkpoint's tensors into ``model``; returns what the model card records about them."""
    state = read_state_dict(path)
    own = model.state_dict()
    for name, tensor in own.items():
        if name not in state:
            raise UsageError(
                f"--weights {path}: tensor {name!r} of {arch} is missing from the checkpoint "
                "(weights of another architecture?)"
            )
        if tuple(state[name].shape) != tuple(tensor.shape):
            raise UsageError(
                f"--weights {path}: tensor {name!r} has shape {tuple(state[name].shape)} in the checkpoint "
                f"but {tuple(tensor.shape)} in {arch} (weights of another architecture, or --num-classes?)"
            )
    extra = sorted(set(state) - set(own))
    if extra:
        raise UsageError(
            f"--weights {path}: tensor {extra[0]!r} is in the checkpoint but not in {arch} "
            f"({len(extra)} unexpected; weights of another architecture?)"
        )
    model.load_state_dict({k: state[k].to(own[k].dtype) for k in own}, strict=True)
    return {
        "kind": "checkpoint",
        "file": Path(path).name,
        "sha256": hashlib.sha256(Path(path).read_bytes()).hexdigest(),
        "tensors": len(own),
        "note": "weights loaded from the checkpoint (trained elsewhere)",
    }


def initial_weights(seed: int) -> dict[str, Any]:
    return {
        "kind": "initial",
        "seed": seed,
        "note": f"the space's initial weights (torch seed {seed}), not trained: the outputs are not predictions. "
        "Train the architecture and export again with --weights.",
    }
