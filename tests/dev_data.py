"""The NB201 latency table the search tests run on: the dev CSV when ``../shared`` sits beside
the repository, else a synthetic one with the same latency columns.

A search test needs latencies, not accuracies, so it runs on a fresh clone too. The synthetic
table is an additive cost per operation (what a block lookup table predicts), over all 15,625
archs; tests that need the dev accuracies or reference proxies still use ``nb201_dev_rows``
and skip without the data.
"""

from __future__ import annotations

import csv
import functools
import itertools
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NB201_DEV_CSV = REPO.parent / "shared" / "data" / "nb201" / "nb201_dev_cifar10.csv"

OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
#: ms per edge operation and the network's fixed part, roughly a phone CPU and a Raspberry Pi 4
OP_MS = {"pixel3": (0.0, 0.05, 0.55, 1.3, 0.45), "raspi4": (0.0, 0.2, 1.8, 5.2, 1.4)}
FIXED_MS = {"pixel3": 6.0, "raspi4": 22.0}


def _arch(ops: tuple[str, ...]) -> str:
    return "|{}~0|+|{}~0|{}~1|+|{}~0|{}~1|{}~2|".format(*ops)


@functools.cache
def nb201_latency_csv() -> Path:
    """The dev CSV if present, else a synthetic latency table (columns ``arch_str``,
    ``pixel3_latency_ms``, ``raspi4_latency_ms``) written once per test session."""
    if NB201_DEV_CSV.exists():
        return NB201_DEV_CSV
    path = Path(tempfile.mkdtemp(prefix="hwnas-nb201-")) / "nb201_synthetic_latency.csv"
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["arch_str", "pixel3_latency_ms", "raspi4_latency_ms"])
        for ops in itertools.product(OPS, repeat=6):
            cost = {d: FIXED_MS[d] + sum(OP_MS[d][OPS.index(o)] for o in ops) for d in OP_MS}
            writer.writerow([_arch(ops), f"{cost['pixel3']:.4f}", f"{cost['raspi4']:.4f}"])
    return path
