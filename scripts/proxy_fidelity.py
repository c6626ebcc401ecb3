"""Do the hybrid proxies at a reduced resolution rank networks as they do at the deployed one?

The search scores hybrid networks at ``SearchSpace.proxy_resolution`` to save time,
but deploys them at the space's resolution (224). This script scores the same
archs at several resolutions and reports, per proxy and resolution, the Spearman
correlation with the deployed resolution's scores in two settings:

- *across sizes*: ``--archs`` archs sampled with ``--seed`` (what a fitness that
  compares networks of different sizes sees);
- *within one size genome*: ``--mutants`` topology mutants of a sampled arch (its
  size genes fixed: what the cyclic topology phase compares), the Spearman averaged
  over ``--genomes`` such groups;

next to the seconds per arch. The rule it supports: the cheapest resolution whose
rankings agree with the deployed one at >= 0.9 for every proxy the search uses,
else the deployed resolution itself. Heavy (tens of seconds per resolution): run
it under the shared CPU lock.

    flock /tmp/hwnas-cpu.lock .venv/bin/python scripts/proxy_fidelity.py --archs 60 --mutants 30
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from typing import Any

import numpy as np
import torch
from rich.console import Console
from rich.table import Table
from scipy import stats

from hwnas.proxies import score_architecture
from hwnas.spaces import get_space


def topology_mutants(space: Any, arch: Any, n: int, rng: random.Random) -> list[Any]:
    """``n`` distinct archs sharing ``arch``'s size genes (random walks of topology mutations)."""
    seen = {space.encode(arch): arch}
    current = arch
    for _ in range(50 * n):
        if len(seen) >= n:
            break
        current = space.mutate_topology(current if rng.random() < 0.7 else arch, rng)
        seen.setdefault(space.encode(current), current)
    return list(seen.values())[:n]


def score_all(space: Any, archs: list[Any], proxies: list[str], resolution: int) -> tuple[np.ndarray, float]:
    """Scores (archs x proxies) at ``resolution`` and the mean seconds per arch."""
    started = time.perf_counter()
    rows = [score_architecture(space, a, proxies, seed=0, resolution=resolution) for a in archs]
    seconds = (time.perf_counter() - started) / len(archs)
    return np.array([[r[p] for p in proxies] for r in rows], dtype=float), seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--space", default="hybrid")
    parser.add_argument("--proxies", default="es,logsynflow")
    parser.add_argument("--resolutions", default="64,96,128,160,224", help="the last is the reference (deployed)")
    parser.add_argument("--archs", type=int, default=60)
    parser.add_argument("--mutants", type=int, default=30)
    parser.add_argument("--genomes", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)

    space = get_space(args.space)
    proxies = args.proxies.split(",")
    resolutions = [int(r) for r in args.resolutions.split(",")]
    reference = resolutions[-1]
    rng = random.Random(args.seed)
    sampled = [space.sample(rng) for _ in range(args.archs)]
    groups = {"across sizes": [sampled]}
    groups["within one size genome"] = [
        topology_mutants(space, space.sample(rng), args.mutants, rng) for _ in range(args.genomes)
    ]
    console = Console(stderr=True)
    scores: dict[str, dict[int, list[np.ndarray]]] = {setting: {} for setting in groups}
    seconds: dict[int, float] = {}
    for resolution in resolutions:
        for setting, members in groups.items():
            results = [score_all(space, archs, proxies, resolution) for archs in members]
            scores[setting][resolution] = [r[0] for r in results]
            if setting == "across sizes":
                seconds[resolution] = results[0][1]
        console.print(f"resolution {resolution}: {seconds[resolution]:.3f} s/arch")
    report: dict[str, Any] = {
        "space": args.space,
        "reference_resolution": reference,
        "archs": len(sampled),
        "mutants": args.mutants,
        "genomes": args.genomes,
        "seed": args.seed,
        "rows": [],
    }
    for setting, by_res in scores.items():
        for resolution in resolutions[:-1]:
            for j, proxy in enumerate(proxies):
                rho = np.mean(
                    [
                        stats.spearmanr(low[:, j], ref[:, j]).statistic
                        for low, ref in zip(by_res[resolution], by_res[reference], strict=True)
                    ]
                )
                report["rows"].append(
                    {
                        "setting": setting,
                        "resolution": resolution,
                        "proxy": proxy,
                        "spearman_vs_reference": float(rho),
                        "seconds_per_arch": seconds[resolution],
                    }
                )
    report["reference_seconds_per_arch"] = seconds[reference]
    agree = [
        r
        for r in resolutions[:-1]
        if all(row["spearman_vs_reference"] >= 0.9 for row in report["rows"] if row["resolution"] == r)
    ]
    report["cheapest_faithful_resolution"] = min(agree, key=lambda r: seconds[r]) if agree else reference
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    table = Table(
        title=f"{args.space}: Spearman of each proxy at R vs at {reference} (seed {args.seed}); "
        f"{reference}: {seconds[reference]:.3f} s/arch",
        title_justify="left",
    )
    table.add_column("R")
    for setting in scores:
        for proxy in proxies:
            table.add_column(f"{proxy}\n{setting}")
    table.add_column("s/arch (all proxies)")
    for resolution in resolutions[:-1]:
        cells = [
            f"{row['spearman_vs_reference']:.2f}"
            for setting in scores
            for proxy in proxies
            for row in report["rows"]
            if row["setting"] == setting and row["proxy"] == proxy and row["resolution"] == resolution
        ]
        table.add_row(str(resolution), *cells, f"{seconds[resolution]:.3f}")
    Console(width=160).print(table)
    print(f"cheapest resolution agreeing at >= 0.9 everywhere: {report['cheapest_faithful_resolution']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
