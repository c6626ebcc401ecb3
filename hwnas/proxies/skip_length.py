"""Mean skip-connection length: FreeREA's third fitness term (Cavagnero et al., WACV 2023).

For every identity (``skip_connect``) edge of a cell, the target node minus the
source node; the score is their mean, 0 without any. Long skips let a cell keep
its input while its conv paths deepen the features, which FreeREA found to go with
accuracy on NAS-Bench-201. Read from the architecture description alone
(``SearchSpace.skip_lengths``), so it costs microseconds and never builds a
network. A space of plain block sequences (hybrid) has no such edges: 0 for all.
"""

from __future__ import annotations

from hwnas.proxies import PROXIES
from hwnas.proxies.base import Proxy, ProxyContext


@PROXIES.register("skip_length")
class SkipLength(Proxy):
    """Mean (target − source) node distance of a cell's skip_connect edges; 0 without any."""

    needs_network = False
    uses_seed = False

    def score(self, ctx: ProxyContext) -> float:
        lengths = ctx.space.skip_lengths(ctx.arch)
        return sum(lengths) / len(lengths) if lengths else 0.0
