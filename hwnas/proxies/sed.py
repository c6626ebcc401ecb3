"""SED, Suppression of Local Entropy Decrease (after Wu, Huang, Xu, Hao, arXiv 2411.06236):
hwnas's derivation, computed from the architecture description alone.

The paper's stated principle: some topology choices decrease the *local entropy*
of feature maps, degrading features toward a bias (large pooling kernels, small
convolution kernels, excessive skip connections); a good architecture suppresses
that decrease. Its exact formula was not available, so hwnas derives one from that
principle with 1-D and multivariate Gaussian entropy: every feature map is a
Gaussian field (variance, adjacent-element correlation), and each layer acts on it
with no data and no run. The algebra is :mod:`hwnas.layers.entropy`; docs/proxies.md
gives the derivation in full and reports the measured correlations.

SED = Σ over the feature maps a block hands to the next (stem, every cell and
reduction output in NB201, every block output in the hybrid space) of their local
entropy (constants dropped). What a block does to the field is the space's to say:
its ``sed_rules`` map every block kind to a rule (or to None for a block SED does not
count, a classifier head); this module only folds the rules over the block list, so
a space with rules gets SED with no change here.
Cost: tens of microseconds per NB201 architecture; it never builds a network.
"""

from __future__ import annotations

from typing import Any

from hwnas.errors import UsageError
from hwnas.layers.entropy import WHITE
from hwnas.proxies import PROXIES
from hwnas.proxies.base import Proxy, ProxyContext
from hwnas.spaces import SPACES
from hwnas.spaces.base import SearchSpace


def sed_score(space: SearchSpace[Any], arch: Any, resolution: int | None = None) -> float:
    """SED of ``arch`` from its block list alone (no network is built or run)."""
    rules = space.sed_rules
    if rules is None:
        with_rules = [name for name in SPACES.names() if SPACES.get(name).sed_rules is not None]
        raise UsageError(
            f"sed has no rules for the {space.name!r} space: it defines no sed_rules "
            f"(spaces with them: {', '.join(with_rules) or 'none'})"
        )
    field = WHITE
    total = 0.0
    for spec in space.blocks(arch, resolution):
        try:
            rule = rules[spec.kind]
        except KeyError:
            raise UsageError(
                f"the {space.name!r} space's sed_rules have no rule for its {spec.kind!r} blocks "
                f"(rules for: {', '.join(rules)})"
            ) from None
        if rule is None:
            continue
        field = rule(field, spec)
        total += field.local_entropy
    return total


@PROXIES.register("sed")
class Sed(Proxy):
    """SED: summed Gaussian local entropy of every block's output, from the architecture description alone."""

    needs_network = False
    uses_seed = False

    def score(self, ctx: ProxyContext) -> float:
        return sed_score(ctx.space, ctx.arch, ctx.res)
