"""The model card record reads a card written before it existed, and its README shows the estimator."""

from __future__ import annotations

from hwnas.export.card import latency_summary, render_readme
from hwnas.records import SCHEMA_VERSION, ModelCard

LATENCY = {
    "measured": True,
    "device": "host-cpu",
    "runtime": "onnxruntime 1.32.0",
    "threads": 1,
    "clock": "thread_cpu",
    "median_ms": 2.0,
    "p10_ms": 1.5,
    "p90_ms": 2.5,
    "mean_ms": 2.0,
    "std_ms": 0.1,
    "n": 50,
    "estimator": "p10",
    "rounds": 4,
    "round_medians_ms": [2.0, 2.1, 2.2, 2.3],
}
OLD_CARD = {
    "card_version": 1,
    "name": "hwnas-nb201-32-abcdef12",
    "hwnas_version": "0.1.0",
    "torch_version": "2.0",
    "architecture": {
        "space": "nb201",
        "encoding": "|x|",
        "resolution": 32,
        "num_classes": 10,
        "params_m": 0.1,
        "flops_m": 10.0,
    },
    "search": None,
    "weights": {"kind": "initial", "seed": 0, "note": "not trained"},
    "input": {
        "name": "input",
        "shape": [1, 3, 32, 32],
        "dtype": "float32",
        "preprocessing": {
            "color": "RGB",
            "resize": "bilinear",
            "scale": "[0, 1]",
            "normalize": "per channel",
            "mean": [0.5, 0.5, 0.5],
            "std": [0.25, 0.25, 0.25],
            "statistics": "CIFAR-10",
        },
    },
    "output": {"name": "logits", "shape": [1, 10], "meaning": "scores"},
    "target": {"device": "host-cpu", "runtime": "onnxruntime", "precision": "fp32", "predicted_latency_ms": 1.6},
    "artifacts": [
        {
            "format": "onnx",
            "file": "model.onnx",
            "precision": "fp32",
            "size_bytes": 1000,
            "sha256": "0" * 64,
            "checks": {"onnx_checker": "passed"},
            "parity": None,
            "latency": LATENCY,
            "notes": [],
            "extra_files": [],
        }
    ],
    "latency_check": {
        "checked": True,
        "device": "host-cpu",
        "predicted_ms": 1.6,
        "measured_ms": 1.5,
        "estimator": "p10",
        "ratio": 0.9375,
        "error_pct": -6.25,
        "tolerance_pct": 10.0,
        "within_tolerance": True,
    },
    "int8_speedup": None,
    "calibration": None,
    "parity_inputs": {"random": 4},
    "seed": 0,
    "snippet": "print(1)\n",
}


def test_old_card_loads_and_writes_the_same_keys_plus_schema_version() -> None:
    card = ModelCard.from_json(OLD_CARD)
    assert card.to_json() == {"schema_version": SCHEMA_VERSION, **OLD_CARD}
    assert card.artifacts[0].estimate_ms == 1.5


def test_readme_and_summary_show_the_estimator_the_check_uses() -> None:
    card = ModelCard.from_json(OLD_CARD)
    readme = render_readme(card)
    row = next(line for line in readme.splitlines() if line.startswith("| onnx"))
    assert "1.500 ms p10" in row and "median 2.000" in row
    assert "measured 1.500 ms (p10)" in latency_summary(card)[0]
