"""The contract every proxy fulfils, and the per-architecture context proxies share.

A proxy maps one untrained architecture to a float, **higher meaning "predicted
to be more accurate"**. Every implementation guarantees:

- determinism given the seed: the network's initial weights and every random
  input or label come from ``ctx.seed`` through private generators, so the same
  seed gives the same score (also in another process) and the global torch RNG
  is left as it was;
- the network in ``ctx.model`` is left as it was (weights, buffers, train/eval
  mode, no ``.grad``): proxies that need other weights train a copy (revisit) or
  swap tensors in for the call and put the originals back (the synflow family);
- no autograd graph unless the definition needs gradients, float64 only where
  the definition needs the range (the synflow family).

The network is built once per :class:`ProxyContext` and shared by all proxies
scored on it; a proxy that needs no network (``needs_network = False``) never
touches ``ctx.model``, so the network is then never built.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from hwnas.errors import UsageError
from hwnas.proxies.data import LabelledImages
from hwnas.spaces.base import SearchSpace

#: Activation modules whose inputs/outputs count as "the network's activations" for
#: NASWOT and Entropic Score. The hybrid space uses ReLU6 (inverted bottlenecks) and
#: GELU (ConvNeXt, Transformer MLP); NB201 uses ReLU.
ACTIVATIONS: tuple[type[nn.Module], ...] = (nn.ReLU, nn.ReLU6, nn.GELU, nn.LeakyReLU, nn.SiLU, nn.Hardswish)

#: Normalisation layers the synflow family takes out of the signal path.
NORMS: tuple[type[nn.Module], ...] = (nn.modules.batchnorm._BatchNorm, nn.LayerNorm, nn.GroupNorm)


@dataclass
class ProxyContext:
    """One architecture being scored: its space, settings, and the lazily built network.

    ``batch_size`` is None unless the user asked for one; each proxy then uses its own
    default. ``cache`` lets proxies that share an expensive step (the Revisiting
    training run) compute it once per architecture.
    """

    space: SearchSpace[Any]
    arch: Any
    seed: int = 0
    batch_size: int | None = None
    resolution: int | None = None
    num_classes: int | None = None
    data: LabelledImages | None = None
    cache: dict[str, Any] = field(default_factory=dict)
    _model: nn.Module | None = field(default=None, repr=False)
    _skeleton: nn.Module | None = field(default=None, repr=False)

    @property
    def res(self) -> int:
        return self.resolution or self.space.default_resolution

    @property
    def classes(self) -> int:
        return self.num_classes or self.space.default_num_classes

    @property
    def model_built(self) -> bool:
        return self._model is not None

    @property
    def model(self) -> nn.Module:
        """The network in eval mode, its weights drawn from ``seed`` (built on first use)."""
        if self._model is None:
            with seeded_torch(self.seed):
                self._model = self.space.build(self.arch, num_classes=self.classes, resolution=self.res)
        return self._model

    @property
    def skeleton(self) -> nn.Module:
        """The network's structure on the ``meta`` device: shapes without weights, no memory,
        no initialisation; enough to count parameters and FLOPs."""
        if self._skeleton is None:
            with torch.device("meta"):
                self._skeleton = self.space.build(self.arch, num_classes=self.classes, resolution=self.res)
        return self._skeleton

    def input_shape(self, batch: int) -> tuple[int, int, int, int]:
        return self.space.input_shape(self.res, batch)

    def generator(self, salt: int = 0) -> torch.Generator:
        """A private generator for random inputs/labels: same seed and salt, same stream."""
        return torch.Generator().manual_seed(_mix(self.seed, salt))

    def gaussian_batch(self, batch: int, *, salt: int = 0) -> torch.Tensor:
        return torch.randn(self.input_shape(batch), generator=self.generator(salt))

    def labelled_batch(self, batch: int, *, salt: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        """Images and labels: from ``data`` when given, else Gaussian noise with random labels."""
        if self.data is not None:
            return self.data.batch(batch, resolution=self.res, num_classes=self.classes, seed=_mix(self.seed, salt))
        gen = self.generator(salt)
        images = torch.randn(self.input_shape(batch), generator=gen)
        labels = torch.randint(0, self.classes, (batch,), generator=gen)
        return images, labels


class Proxy(ABC):
    """A training-free (or lightly trained) accuracy predictor; see the module docstring.

    Class attributes describe what a proxy needs so callers can check before scoring:
    ``needs_network`` (False: never touches ``ctx.model``, the initialised network;
    it works from ``ctx.skeleton`` or from the architecture description alone),
    ``needs_data`` (labelled images are required; the CLI's ``--data``),
    ``uses_seed`` (False: the score does not depend on the seed at all, as for
    counts) and ``default_batch_size`` (used when the caller does not set one).
    """

    needs_network: bool = True
    needs_data: bool = False
    uses_seed: bool = True
    default_batch_size: int = 1

    def batch_size(self, ctx: ProxyContext) -> int:
        return ctx.batch_size or self.default_batch_size

    @abstractmethod
    def score(self, ctx: ProxyContext) -> float:
        """The proxy's value for ``ctx.arch``; higher is better."""


@contextlib.contextmanager
def seeded_torch(seed: int) -> Iterator[None]:
    """Run a block with the global torch RNG seeded, then restore the caller's RNG state."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


@contextlib.contextmanager
def batch_statistics(model: nn.Module) -> Iterator[None]:
    """Batch norm layers normalise with the current batch's statistics, without updating
    their running buffers; every module's mode is restored afterwards."""
    saved = [
        (m, m.training, m.track_running_stats)
        for m in model.modules()
        if isinstance(m, nn.modules.batchnorm._BatchNorm)
    ]
    try:
        for m, _, _ in saved:
            m.training = True
            m.track_running_stats = False
        yield
    finally:
        for m, training, track in saved:
            m.training = training
            m.track_running_stats = track


Hook = Callable[[nn.Module, tuple[torch.Tensor, ...], Any], None]


def hooked_forward(
    model: nn.Module,
    inputs: torch.Tensor,
    modules: Iterable[nn.Module],
    record: Hook,
    *,
    proxy: str,
    statistics: bool = True,
) -> None:
    """Run ``model(inputs)`` with ``record`` as a forward hook on ``modules``, then remove the hooks.

    The one forward pass the activation-reading proxies (naswot, swap, meco, es) share:
    batch norm on the batch's statistics unless ``statistics`` is False, and the
    error batch norm raises for a single value per channel turned into a usage
    error that names ``proxy`` and the way out.
    """
    handles = [m.register_forward_hook(record) for m in modules]
    try:
        with batch_statistics(model) if statistics else contextlib.nullcontext():
            model(inputs)
    except ValueError as exc:
        if "more than 1 value per channel" not in str(exc):
            raise
        raise UsageError(
            f"{proxy} normalises with batch statistics and a feature map here has one element per channel at "
            f"batch {inputs.shape[0]}: use --batch-size 2 or a larger --resolution"
        ) from None
    finally:
        for handle in handles:
            handle.remove()


def _mix(seed: int, salt: int) -> int:
    """A 63-bit seed from (seed, salt) that differs for different salts."""
    return (seed * 1_000_003 + salt * 7_919 + 0x5EED) & 0x7FFF_FFFF_FFFF_FFFF
