"""The light training-based metric of "Revisiting Training-free NAS Metrics" (Yang et al., WACV 2023).

The paper's recipe (REFERENCE §2, their public code): re-initialise the network
(kaiming-normal, fan_in, for conv/linear weights, zero biases; norm weight 1 and
bias 0), train 50 SGD steps (lr 0.2, momentum 0.9, Nesterov, weight decay 5e-4,
cross-entropy) on ONE batch of 100 labelled images (10 per class), then read

- the angle between the final classifier's weights before and after training
  (a net whose cosine is ≥ 0.95 barely learnt: "trivial", ranked last), and
- the final training loss.

The paper's ranking is population-relative: rank(#Params) + rank(rank(angle) + rank(−loss)).
A proxy here scores one architecture at a time, so hwnas registers the two
per-architecture signals, both from one shared training run:

- ``revisit``       = −final loss,
- ``revisit_angle`` = the angle in radians, arccos(cos),

each minus 1000 for trivial nets so they rank below every non-trivial one. Rank
fusion in ``hwnas bench-proxies`` (``params+revisit_angle+revisit``) gives the
flat sum of ranks, close to the paper's nested one. Both need labelled images
(``--data``): the training signal is meaningless on noise. The network of
``ctx.model`` is copied, never trained in place.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from hwnas.proxies import PROXIES
from hwnas.proxies.base import Proxy, ProxyContext, batch_statistics, seeded_torch

STEPS = 50
LR = 0.2
MOMENTUM = 0.9
WEIGHT_DECAY = 5e-4
TRIVIAL_COSINE = 0.95
TRIVIAL_PENALTY = 1000.0


@dataclass(frozen=True)
class RevisitResult:
    """What one Revisiting training run yields for an architecture."""

    cosine: float
    final_loss: float

    @property
    def trivial(self) -> bool:
        return self.cosine >= TRIVIAL_COSINE


def _classifier(model: nn.Module) -> nn.Linear:
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ValueError("the Revisiting metric needs a final nn.Linear classifier")
    return linears[-1]


def _reinitialise(model: nn.Module) -> None:
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.modules.batchnorm._BatchNorm, nn.LayerNorm, nn.GroupNorm)):
            if getattr(m, "weight", None) is not None:
                nn.init.ones_(m.weight)
            if getattr(m, "bias", None) is not None:
                nn.init.zeros_(m.bias)


def revisit_train(
    model: nn.Module, images: torch.Tensor, labels: torch.Tensor, *, seed: int, steps: int = STEPS
) -> RevisitResult:
    """Train a re-initialised copy of ``model`` on one batch; the original is untouched."""
    net = copy.deepcopy(model)
    with seeded_torch(seed):
        _reinitialise(net)
    classifier = _classifier(net)
    before = classifier.weight.detach().clone()
    net.train()
    optimiser = torch.optim.SGD(net.parameters(), lr=LR, momentum=MOMENTUM, nesterov=True, weight_decay=WEIGHT_DECAY)
    with torch.enable_grad():
        for _ in range(steps):
            optimiser.zero_grad(set_to_none=True)
            F.cross_entropy(net(images), labels).backward()
            optimiser.step()
    with torch.no_grad(), batch_statistics(net):
        final_loss = float(F.cross_entropy(net(images), labels))
    after = classifier.weight.detach()
    cosine = float(F.cosine_similarity(before.flatten(), after.flatten(), dim=0))
    if not math.isfinite(final_loss):
        final_loss = 1e6  # diverged: the worst possible loss, still comparable
    return RevisitResult(cosine=cosine, final_loss=final_loss)


def _shared_run(ctx: ProxyContext, batch: int) -> RevisitResult:
    key = f"revisit:{batch}"
    if key not in ctx.cache:
        images, labels = ctx.labelled_batch(batch, salt=101)
        ctx.cache[key] = revisit_train(ctx.model, images, labels, seed=ctx.seed)
    return ctx.cache[key]


class _Revisit(Proxy):
    needs_data = True
    default_batch_size = 100


@PROXIES.register("revisit")
class RevisitLoss(_Revisit):
    """Revisiting (Yang et al. 2023): −loss after 50 SGD steps on one labelled batch; trivial nets −1000."""

    def score(self, ctx: ProxyContext) -> float:
        run = _shared_run(ctx, self.batch_size(ctx))
        return -run.final_loss - (TRIVIAL_PENALTY if run.trivial else 0.0)


@PROXIES.register("revisit_angle")
class RevisitAngle(_Revisit):
    """Revisiting (Yang et al. 2023): angle of the classifier weights moved by the same run; trivial nets −1000."""

    def score(self, ctx: ProxyContext) -> float:
        run = _shared_run(ctx, self.batch_size(ctx))
        angle = math.acos(max(-1.0, min(1.0, run.cosine)))
        return angle - (TRIVIAL_PENALTY if run.trivial else 0.0)
