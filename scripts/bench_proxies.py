"""Throughput of every proxy on this machine: architectures per second on NB201 and on the hybrid space.

Each proxy scores a seeded sample of architectures on its own (network build included,
one process), and the pair the cyclic search uses, es + logsynflow, scores them together
with one build. Heavy: run it under the shared CPU lock.

    flock /tmp/hwnas-cpu.lock .venv/bin/python scripts/bench_proxies.py --archs 30 --hybrid-resolution 96
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table

from hwnas.proxies import get_proxy, load_labelled_images, proxy_names, score_architecture_timed
from hwnas.spaces import get_space

PAIR = ("es", "logsynflow")


def _throughput(
    space_name: str, names: list[str], n: int, resolution: int | None, seed: int, data
) -> tuple[float, float]:
    space = get_space(space_name)
    archs = space.sample_many(n, seed)
    score_architecture_timed(space, archs[0], names, seed=seed, resolution=resolution, data=data)  # warm-up
    start = time.perf_counter()
    for arch in archs:
        score_architecture_timed(space, arch, names, seed=seed, resolution=resolution, data=data)
    elapsed = time.perf_counter() - start
    return n / elapsed, 1000.0 * elapsed / n


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archs", type=int, default=30, help="architectures per space and proxy")
    parser.add_argument("--hybrid-resolution", type=int, default=96, help="input resolution for the hybrid space")
    parser.add_argument("--proxies", default=",".join(proxy_names()), help="comma-separated proxies")
    parser.add_argument("--data", type=Path, default=None, help="labelled images for revisit (.npz or image folder)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    parser.add_argument("--json-out", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    data = load_labelled_images(args.data) if args.data else None
    console = Console()
    spaces = (("nb201", None, args.archs), ("hybrid", args.hybrid_resolution, max(3, args.archs // 3)))
    entries = [[p] for p in args.proxies.split(",") if p] + [list(PAIR)]
    results: dict[str, dict[str, dict[str, float] | str]] = {}
    for names in entries:
        label = "+".join(names) + (" (one build)" if len(names) > 1 else "")
        results[label] = {}
        for space_name, resolution, n in spaces:
            if any(get_proxy(p).needs_data for p in names) and data is None:
                results[label][space_name] = "needs --data"
                continue
            rate, ms = _throughput(space_name, names, n, resolution, args.seed, data)
            results[label][space_name] = {"archs_per_s": rate, "ms_per_arch": ms, "archs": n}
            Console(stderr=True).print(
                f"{label:28s} {space_name:7s} {rate:9.2f} arch/s  {ms:9.2f} ms/arch", highlight=False
            )
    table = Table(
        "proxy",
        "nb201 arch/s",
        "nb201 ms/arch",
        f"hybrid@{args.hybrid_resolution} arch/s",
        f"hybrid@{args.hybrid_resolution} ms/arch",
        title=f"proxy throughput, torch threads {torch.get_num_threads()}, single process",
    )
    for label, by_space in results.items():
        cells = []
        for space_name, _, _ in spaces:
            value = by_space[space_name]
            cells += (
                [f"{value['archs_per_s']:.2f}", f"{value['ms_per_arch']:.1f}"]
                if isinstance(value, dict)
                else [value, ""]
            )
        table.add_row(label, *cells)
    console.print(table)
    if args.json_out:
        args.json_out.write_text(json.dumps({"threads": torch.get_num_threads(), "results": results}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
