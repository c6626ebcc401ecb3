"""Benchmark the export of a search winner: parity, latency vs the table, INT8 agreement and speed-up.

Takes a ``hwnas search`` run directory, optionally trains the winner briefly on
scikit-learn's handwritten digits (bundled with scikit-learn, nothing is downloaded;
8x8 digits resized to the run's resolution with the export's own preprocessing) so
that INT8 agreement is measured on a network that has learnt something, writes the
held-out digits as the calibration .npz, runs ``hwnas export`` with every format
this machine can write, and prints the figures. Run it alone on the machine
(``flock /tmp/hwnas-cpu.lock``): it times files.

    flock /tmp/hwnas-cpu.lock .venv/bin/python scripts/bench_export.py runs/quickstart/search \
        --out runs/export-bench --train-steps 150
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from hwnas.errors import HwnasError, MissingDependency
from hwnas.export import FORMATS, ExportRequest, export_model
from hwnas.export.card import ModelCard, latency_summary
from hwnas.export.images import Preprocessing
from hwnas.io import read_json
from hwnas.spaces import get_space

DIGITS_CLASSES = 10


def train_on_digits(run_dir: Path, steps: int, batch: int, seed: int, out: Path, console: Console) -> tuple[Path, Path]:
    """Train the winner (10 classes) on the first 1,400 digits; returns (weights, held-out calibration .npz)."""
    from sklearn.datasets import load_digits

    best = read_json(run_dir / "best.json")
    space = get_space(best["space"])
    resolution = best.get("resolution") or space.default_resolution
    digits = load_digits()
    images = (digits.images / 16.0 * 255.0).round().astype(np.uint8)  # 0..16 -> 8-bit grey
    labels = digits.target.astype(np.int64)
    train_x, train_y = images[:1400], labels[:1400]
    out.mkdir(parents=True, exist_ok=True)
    calibration = out / "digits_heldout.npz"
    np.savez(calibration, images=images[1400:], labels=labels[1400:])
    torch.manual_seed(seed)
    model = space.build(space.decode(best["arch"]), num_classes=DIGITS_CLASSES, resolution=resolution)
    pre = Preprocessing.for_space(space, resolution)
    x_all = pre.apply(torch.from_numpy(train_x).float().div(255.0).unsqueeze(1).expand(-1, 3, -1, -1))
    y_all = torch.from_numpy(train_y)
    optimiser = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=2e-3, total_steps=max(1, steps))
    gen = torch.Generator().manual_seed(seed)
    model.train()
    start = time.perf_counter()
    for step in range(steps):
        idx = torch.randint(0, len(x_all), (batch,), generator=gen)
        loss = torch.nn.functional.cross_entropy(model(x_all[idx]), y_all[idx])
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
        if step % 25 == 0 or step == steps - 1:
            console.print(
                f"train step {step + 1}/{steps}: loss {loss.item():.3f}  ({time.perf_counter() - start:.0f} s)"
            )
    model.eval()
    weights = out / "digits_weights.pt"
    torch.save(model.state_dict(), weights)
    return weights, calibration


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--out", type=Path, required=True, help="work folder; the export goes to OUT/export")
    parser.add_argument("--train-steps", type=int, default=150, help="0: export the untrained initial weights")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--formats", default=None, help="default: every format this machine can write")
    parser.add_argument("--json", action="store_true", help="print the model card as one JSON document")
    args = parser.parse_args()
    console = Console(stderr=True, highlight=False)

    if args.formats is None:
        formats = []
        for name in FORMATS.names():
            try:
                FORMATS.get(name)().check_available()
                formats.append(name)
            except MissingDependency as exc:
                console.print(f"[yellow]skipping {name}[/yellow]: {escape(str(exc))}")
    else:
        formats = args.formats.split(",")
    weights = None
    if args.train_steps > 0:
        weights, calibration = train_on_digits(args.run_dir, args.train_steps, args.batch, args.seed, args.out, console)
    else:
        from sklearn.datasets import load_digits

        args.out.mkdir(parents=True, exist_ok=True)
        digits = load_digits()
        calibration = args.out / "digits_heldout.npz"
        np.savez(calibration, images=digits.images[1400:], labels=digits.target[1400:])
    request = ExportRequest(
        target=str(args.run_dir),
        out=args.out / "export",
        formats=tuple(formats),
        weights=weights,
        num_classes=DIGITS_CLASSES if weights is not None else None,
        calibration=calibration,
        overwrite=True,
    )
    try:
        card = export_model(request, on_step=lambda text: console.print(f"[dim]{escape(text)}[/dim]"))
    except HwnasError as exc:
        console.print(f"[red]error:[/red] {escape(str(exc))}")
        return 1
    if args.json:
        print(json.dumps(card.to_json(), indent=2))
        return 0
    print_figures(card)
    return 0


def print_figures(record: ModelCard) -> None:
    out = Console(highlight=False, width=140)
    card = record.to_json()
    arch = card["architecture"]
    out.print(
        f"[bold]{arch['encoding']}[/bold] ({arch['space']} {arch['resolution']}px, {arch['params_m']:.3f} M params, "
        f"{arch['flops_m']:.1f} MFLOPs; weights: {card['weights']['kind']})"
    )
    table = Table("format", "precision", "parity with PyTorch", "median ms", "p10-p90 ms", "device")
    for a in card["artifacts"]:
        p = a["parity"]
        if p is None:
            parity = "not run here"
        elif "calibration_images" in p:
            c = p["calibration_images"]
            acc = (
                f", acc {100 * c['top1_accuracy']:.1f}% (fp32 {100 * c['top1_accuracy_reference']:.1f}%)"
                if "top1_accuracy" in c
                else ""
            )
            parity = f"top-1 agreement {100 * c['top1_agreement']:.1f}% of {c['n']}{acc}"
        else:
            parity = ", ".join(f"{k} {v['max_abs_diff']:.1e}" for k, v in p.items() if isinstance(v, dict))
        lat = a["latency"] or {}
        if lat.get("measured"):
            table.add_row(
                a["format"],
                a["precision"],
                parity,
                f"{lat['median_ms']:.3f}",
                f"{lat['p10_ms']:.3f}-{lat['p90_ms']:.3f}",
                lat["device"],
            )
        else:
            table.add_row(a["format"], a["precision"], parity, "-", "-", lat.get("reason", "-"))
    out.print(table)
    for line in latency_summary(record):
        out.print(escape(line))
    out.print(f"model card: {card['out']}/model_card.json")


if __name__ == "__main__":
    sys.exit(main())
