"""Compare candidate readings of the Entropic Score formula on NAS-Bench-201 dev archs.

The evidence behind ``hwnas.proxies.entropic.ES_READING`` (docs/proxies.md shows the
table). Scores a seeded sample of the dev CSV under every reading below, one row per
architecture in ``--out`` (resumable: rows already there are kept), then prints per
reading the overall Spearman / Kendall with accuracy, the mean Spearman within groups
of equal #Params (>= 30 archs) and the seconds per architecture.

    flock /tmp/hwnas-cpu.lock .venv/bin/python scripts/es_readings.py --sample 600 \\
        --out runs/es_readings/scores.csv --markdown runs/es_readings/table.md
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch
from rich.console import Console
from rich.table import Table

from hwnas.io import atomic_write_text
from hwnas.proxies.base import seeded_torch
from hwnas.proxies.entropic import ES_READING, EntropicReading, entropic_score
from hwnas.proxies.evaluation import judge
from hwnas.spaces import get_space

DEV_CSV = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "nb201" / "nb201_dev_cifar10.csv"

READINGS: dict[str, EntropicReading] = {
    # (a) Gaussian differential entropy per element, over a noise batch
    "a1": EntropicReading("gaussian", "post", "eval", "mean", 16),
    "a2": EntropicReading("gaussian", "post", "batch", "mean", 16),
    "a3": EntropicReading("gaussian", "pre", "eval", "mean", 16),
    "a4": EntropicReading("gaussian", "pre", "batch", "mean", 16),
    "a5": EntropicReading("gaussian", "block", "eval", "mean", 16),
    "a6": EntropicReading("gaussian", "block", "batch", "mean", 16),
    "a7": EntropicReading("gaussian", "pre", "batch", "sum", 16),
    "a8": EntropicReading("gaussian", "block", "batch", "mean", 64),
    # (b) binary entropy of each unit's firing probability over the batch
    "b1": EntropicReading("binary", "pre", "eval", "mean", 16),
    "b2": EntropicReading("binary", "pre", "batch", "mean", 16),
    "b3": EntropicReading("binary", "pre", "batch", "sum", 16),
    "b4": EntropicReading("binary", "block", "batch", "mean", 16),
    # (c) multivariate Gaussian entropy of a feature map's standardised channel vector
    "c1": EntropicReading("channel", "block", "batch", "sum", 4, "input"),
    "c2": EntropicReading("channel", "block", "eval", "sum", 4, "input"),
    "c3": EntropicReading("channel", "block", "batch", "mean", 4, "input"),
    "c4": EntropicReading("channel", "block", "batch", "sum", 4, "pooled"),
    "c5": EntropicReading("channel", "block", "batch", "sum", 1, "input"),
    "c6": EntropicReading("channel", "block", "batch", "sum", 16, "input"),
    "c7": EntropicReading("channel", "block", "batch", "mean", 1, "input"),
    "c8": EntropicReading("channel", "block", "batch", "mean", 4, "pooled"),
    "c9": EntropicReading("channel", "block", "batch", "mean", 1, "input", "nondegenerate"),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ground-truth", type=Path, default=DEV_CSV)
    parser.add_argument("--sample", type=int, default=600, help="seeded sample of the dev archs (0: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("runs/es_readings/scores.csv"))
    parser.add_argument("--markdown", type=Path, default=None, help="also write the table as markdown here")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    console = Console(stderr=True)

    with args.ground_truth.open(newline="") as fh:
        truth = list(csv.DictReader(fh))
    if args.sample and args.sample < len(truth):
        truth = [truth[i] for i in sorted(random.Random(args.seed).sample(range(len(truth)), args.sample))]
    done: dict[str, dict[str, str]] = {}
    if args.out.exists():
        with args.out.open(newline="") as fh:
            done = {row["arch"]: row for row in csv.DictReader(fh)}
    columns = ["arch", *READINGS, *(f"seconds_{k}" for k in READINGS)]
    space = get_space("nb201")
    rows = [done.get(r["arch_str"], {"arch": r["arch_str"]}) for r in truth]
    todo = [row for row in rows if any(not row.get(key) for key in READINGS)]
    last = time.monotonic()
    for i, row in enumerate(todo, start=1):
        arch = space.decode(row["arch"])
        with seeded_torch(args.seed):
            model = space.build(arch)
        for key, reading in READINGS.items():
            if row.get(key):
                continue
            inputs = torch.randn(
                space.input_shape(32, reading.batch_size), generator=torch.Generator().manual_seed(args.seed)
            )
            start = time.perf_counter()
            row[key] = repr(entropic_score(model, inputs, reading))
            row[f"seconds_{key}"] = repr(time.perf_counter() - start)
        if time.monotonic() - last > 10 or i == len(todo):
            _write(args.out, columns, rows)
            last = time.monotonic()
            console.print(f"{i}/{len(todo)} archs scored", highlight=False)
    _write(args.out, columns, rows)

    by_arch = {row["arch"]: row for row in rows}
    accuracy = np.array([float(r["cifar10_test_acc"]) for r in truth])
    params = np.array([float(r["ref_params"]) for r in truth])
    table = Table(
        "key",
        "reading",
        "Spearman",
        "Kendall",
        "within #Params",
        "s/arch",
        title=f"Entropic Score readings on {len(truth)} NB201 dev archs (es = {ES_READING.label})",
    )
    lines = [
        "| key | reading (entropy/hook/norm/aggregate/batch) | Spearman | Kendall "
        "| within-#Params Spearman (groups) | s/arch |",
        "|---|---|---|---|---|---|",
    ]
    for key, reading in READINGS.items():
        scores = np.array([float(by_arch[r["arch_str"]][key]) for r in truth])
        seconds = np.array([float(by_arch[r["arch_str"]][f"seconds_{key}"]) for r in truth])
        j = judge(key, scores, accuracy, params, seconds)
        within = "n.a." if j.within_params_spearman is None else f"{j.within_params_spearman:.3f} ({j.groups})"
        mark = " (es)" if reading == ES_READING else ""
        table.add_row(
            key, reading.label + mark, f"{j.spearman:.3f}", f"{j.kendall:.3f}", within, f"{j.seconds_per_arch:.3f}"
        )
        lines.append(
            f"| {key} | {reading.label}{mark} | {j.spearman:.3f} | {j.kendall:.3f} | {within} "
            f"| {j.seconds_per_arch:.3f} |"
        )
    Console().print(table)
    if args.markdown:
        atomic_write_text(args.markdown, "\n".join(lines) + "\n")
    return 0


def _write(path: Path, columns: list[str], rows: list[dict[str, str]]) -> None:
    import io

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, buffer.getvalue())


if __name__ == "__main__":
    sys.exit(main())
