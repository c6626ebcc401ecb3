"""Time one network on this CPU through ONNX Runtime, LiteRT and OpenVINO, each against its own table.

Takes a ``hwnas search`` run directory (its winner) or an encoding with ``--space``, builds the
network with the run's seed, and for each device (default ``host-cpu``, ``host-cpu-litert``,
``host-cpu-openvino``) prepares the runtime's file, times it with the device's own settings
(rounds, estimator: what its table was built and validated with) and prints the figure next to
that device's table prediction. Run it alone on the machine: it times models.

    flock /tmp/hwnas-cpu.lock .venv/bin/python scripts/compare_runtimes.py runs/s10
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import torch

from hwnas.devices import load_device
from hwnas.errors import HwnasError
from hwnas.export.measure import predict
from hwnas.export.source import resolve_source
from hwnas.latency.targets import open_target
from hwnas.latency.timing import best_of_rounds

DEVICES = ("host-cpu", "host-cpu-litert", "host-cpu-openvino")


def time_on(device_name: str, model: torch.nn.Module, shape: tuple[int, ...], scratch: Path) -> dict[str, Any]:
    """The device's estimator over its best round, as ``hwnas validate-table`` times a network."""
    device = load_device(device_name)
    with open_target(device) as target:
        artifact = target.runtime.prepare(model, shape, scratch / f"{device.name}{target.runtime.artifact_suffix}")
        (where,) = target.upload([artifact])
        runtime = target.describe()["runtime"]
        rounds = [target.measure(where, shape).stats for _ in range(max(1, device.timing.rounds))]
    best = best_of_rounds(rounds, device.timing.estimator)
    return {
        "runtime": f"{runtime['name']} {runtime['version']}",
        "estimator": device.timing.estimator,
        "measured_ms": best.value_ms(device.timing.estimator),
        "median_ms": best.median_ms,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", help="a search run directory, or an encoding with --space")
    parser.add_argument("--space", default=None)
    parser.add_argument("--resolution", type=int, default=None)
    parser.add_argument("--devices", default=",".join(DEVICES))
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args(argv)
    try:
        src = resolve_source(
            args.target, space=args.space, resolution=args.resolution, num_classes=None, device=None, seed=None
        )
        torch.manual_seed(src.seed)
        model = src.space.build(src.space.decode(src.arch), num_classes=src.num_classes, resolution=src.resolution)
        model.eval()
        shape = src.space.input_shape(src.resolution)
        rows = []
        with tempfile.TemporaryDirectory(prefix="hwnas-compare-") as scratch:
            for name in args.devices.split(","):
                device = load_device(name)
                prediction = predict(src.space, src.arch, device, src.resolution, src.num_classes, None)
                timed = time_on(name, model, shape, Path(scratch))
                predicted = prediction.get("predicted_latency_ms")
                error = None if predicted is None else 100 * (timed["measured_ms"] / predicted - 1)
                rows.append({"device": name, **timed, "predicted_ms": predicted, "error_pct": error})
    except HwnasError as exc:
        print(f"error: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({"arch": src.arch, "resolution": src.resolution, "rows": rows}, indent=2))
        return 0
    print(f"{src.arch} at {src.resolution}px")
    print(f"{'device':20} {'runtime':32} {'measured':>12} {'predicted':>10} {'error':>8}")
    for r in rows:
        pred = "-" if r["predicted_ms"] is None else f"{r['predicted_ms']:.3f}"
        err = "-" if r["error_pct"] is None else f"{r['error_pct']:+.1f}%"
        measured = f"{r['measured_ms']:.3f} {r['estimator']}"
        print(f"{r['device']:20} {r['runtime'][:32]:32} {measured:>12} {pred:>10} {err:>8}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
