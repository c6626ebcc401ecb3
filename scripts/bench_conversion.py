"""Seconds per block of LiteRT conversion, the old path and the new ones, in one run.

The same sample of the space's blocks (``--blocks`` of them, every kind in proportion, drawn
with ``--seed``) is converted with litert-torch three ways, in this order, each into its own
folder, and every file is compared byte for byte with the old path's (what is timed must not
change):

1. ``old``: one process, one block after another, torch's operator scan on every call
   (``convert_to_tflite(reuse=False)``: the path before issue 25);
2. ``reuse``: the same, with the scan reused (:func:`hwnas.runtimes.litert.host.reused_cia_op_scan`);
3. ``workers``: ``--workers`` spawned processes (``ArtifactCache.blocks``, as ``hwnas profile``
   with ``HWNAS_CONVERT_WORKERS``), start-up included.

The converter is imported and warmed up on one block first, so (1) and (2) pay no import. Run it
alone (``flock /tmp/hwnas-cpu.lock``): its figures are wall seconds.

    flock /tmp/hwnas-cpu.lock .venv/bin/python scripts/bench_conversion.py --blocks 12 --workers 2 \\
        --out runs/issue25/bench-conversion
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from pathlib import Path

import torch

from hwnas.devices import load_device
from hwnas.latency.artifacts import ArtifactCache, export_block
from hwnas.runtimes import get_runtime
from hwnas.runtimes.litert.host import convert_to_tflite
from hwnas.spaces import get_space


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--blocks", type=int, default=12)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--space", default="hybrid")
    ap.add_argument("--out", type=Path, default=Path("runs/bench-conversion"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    space = get_space(args.space)
    specs = list(space.all_blocks())
    sample = sorted(random.Random(args.seed).sample(range(len(specs)), args.blocks))
    picked = [specs[i] for i in sample]
    runtime = get_runtime(load_device("host-cpu-litert"))

    def old(spec, path: Path) -> None:
        with torch.random.fork_rng():
            torch.manual_seed(0)
            module = space.build_block(spec)
        convert_to_tflite(module, spec.input_shape, path, channels_last=True, reuse=False)

    warm = args.out / "warm"
    warm.mkdir(parents=True, exist_ok=True)
    export_block(runtime, space, specs[0], warm / "warm.tflite")  # import and first-call costs, outside every path
    seconds: dict[str, float] = {}
    files: dict[str, list[Path]] = {}
    for name in ("old", "reuse"):
        folder = args.out / name
        folder.mkdir(parents=True, exist_ok=True)
        files[name] = [folder / f"{i}.tflite" for i in sample]
        t0 = time.perf_counter()
        for spec, path in zip(picked, files[name], strict=True):
            if name == "old":
                old(spec, path)
            else:
                export_block(runtime, space, spec, path)
        seconds[name] = time.perf_counter() - t0
    os.environ["HWNAS_CONVERT_WORKERS"] = str(args.workers)
    cache = ArtifactCache(runtime, space, args.out / "workers")
    t0 = time.perf_counter()
    files["workers"] = cache.blocks(picked)
    cache.close()
    seconds["workers"] = time.perf_counter() - t0
    same = {
        name: [p.read_bytes() == q.read_bytes() for p, q in zip(files["old"], files[name], strict=True)]
        for name in ("reuse", "workers")
    }
    result = {
        "blocks": [s.key for s in picked],
        "workers": args.workers,
        "cpus": os.cpu_count(),
        "load_avg_1m": os.getloadavg()[0],
        "seconds": seconds,
        "s_per_block": {k: v / len(picked) for k, v in seconds.items()},
        "speedup_vs_old": {k: seconds["old"] / v for k, v in seconds.items()},
        "byte_identical_to_old": {k: all(v) for k, v in same.items()},
    }
    for name, s in result["s_per_block"].items():
        print(f"{name:8s} {s:6.2f} s/block  x{result['speedup_vs_old'][name]:.2f}")
    print(json.dumps(result))
    if not all(result["byte_identical_to_old"].values()):
        raise SystemExit("a new path wrote a different file: what is timed would change")


if __name__ == "__main__":
    main()
