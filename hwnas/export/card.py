"""The model card: ``model_card.json`` for programs, ``README.md`` for people, both from one
:class:`~hwnas.records.ModelCard` record.

It says what the files are (architecture, space, #Params, FLOPs, interface and
preprocessing), whether the weights are trained, what was checked (ONNX checker, Core
ML spec, parity with PyTorch, INT8 agreement), how fast each file ran and how that
compares with the latency table's prediction, the SHA-256 of every file, and a
snippet that loads and runs the ONNX file.

Every latency figure shown (README, CLI, the ±10% check) is the device's timing
estimator (median, or p10 on host-cpu), the statistic the latency table predicts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from hwnas.export.base import INPUT_NAME, OUTPUT_NAME
from hwnas.io import atomic_write_json, atomic_write_text
from hwnas.records import CARD_VERSION, ModelCard

__all__ = ["CARD_VERSION", "ModelCard", "latency_summary", "onnx_snippet", "render_readme", "write_card"]


def onnx_snippet(preprocessing: Mapping[str, Any], resolution: int) -> str:
    """Python that loads model.onnx, preprocesses an image as the card says and prints the top class."""
    pre = preprocessing
    r = resolution
    mean = ", ".join(f"{v:g}" for v in pre["mean"])
    std = ", ".join(f"{v:g}" for v in pre["std"])
    return f'''import numpy as np
import onnxruntime as ort
from PIL import Image

MEAN = np.array([{mean}], dtype=np.float32)
STD = np.array([{std}], dtype=np.float32)


def preprocess(image: Image.Image) -> np.ndarray:
    """RGB, bilinear resize to {r}x{r}, [0, 1], per-channel normalisation, NCHW float32."""
    x = np.asarray(image.convert("RGB").resize(({r}, {r}), Image.BILINEAR), dtype=np.float32) / 255.0
    return ((x - MEAN) / STD).transpose(2, 0, 1)[None]


session = ort.InferenceSession("model.onnx", providers=["CPUExecutionProvider"])
image = Image.new("RGB", (640, 480), (120, 160, 200))  # your photo: Image.open("photo.jpg")
logits = session.run(["{OUTPUT_NAME}"], {{"{INPUT_NAME}": preprocess(image)}})[0]
print("top-1 class:", int(logits.argmax(1)[0]), "logits shape:", logits.shape)
'''


def write_card(out_dir: Path, card: ModelCard) -> None:
    atomic_write_json(out_dir / "model_card.json", card.to_json())
    atomic_write_text(out_dir / "README.md", render_readme(card))


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f} ms"


def _parity_text(parity: Mapping[str, Any] | None) -> str:
    if not parity:
        return "not run here"
    if "calibration_images" in parity:
        a = parity["calibration_images"]
        return f"top-1 agreement {100 * a['top1_agreement']:.1f}% on {a['n']} calibration images"
    sets = {k: v for k, v in parity.items() if isinstance(v, dict)}
    worst = max(v["max_abs_diff"] for v in sets.values())
    verdict = "pass" if parity.get("passed") else "FAIL"
    weak = "; weak: outputs barely depend on the input" if parity.get("warning") else ""
    return f"max abs diff {worst:.2e} ({verdict}, tol {parity['tolerance']:g}; {', '.join(sets)}{weak})"


def _latency_text(latency: Mapping[str, Any] | None) -> str:
    """The device's estimator first (what the check compares), then the other statistics."""
    if not latency:
        return "-"
    if not latency.get("measured"):
        return str(latency.get("reason", "not timed"))
    est = latency.get("estimator", "median")
    others = ", ".join(f"{name} {latency[f'{name}_ms']:.3f}" for name in ("median", "p10", "p90") if name != est)
    return f"{latency[f'{est}_ms']:.3f} ms {est} ({others}; {latency['device']}, {latency['runtime']})"


def latency_summary(card: ModelCard) -> list[str]:
    """Plain-text lines for the latency check and the INT8 speed-up (printed by the CLI and the bench)."""
    lines = []
    check = card.latency_check
    if check.checked:
        verdict = "within" if check.within_tolerance else "OUTSIDE"
        lines.append(
            f"latency on {check.device}: measured {check.measured_ms:.3f} ms "
            f"({check.estimator}) vs predicted {check.predicted_ms:.3f} ms "
            f"({check.error_pct:+.1f}%, {verdict} ±{check.tolerance_pct:.0f}%)"
        )
    else:
        lines.append(f"latency vs prediction: not checked ({check.reason})")
    if card.int8_speedup is not None:
        sp = card.int8_speedup
        lines.append(
            f"INT8 speed-up on {sp.device} ({sp.estimator}): {sp.speedup:.2f}x "
            f"({sp.fp32_ms:.3f} -> {sp.int8_ms:.3f} ms)"
        )
    return lines


def render_readme(card: ModelCard) -> str:
    arch, target, weights = card.architecture, card.target, card.weights
    inp, out = card.input, card.output
    lines = [
        f"# {card.name}",
        "",
        f"An image classifier exported by hwnas {card.hwnas_version} from the `{arch['space']}` search space.",
        "",
    ]
    if weights["kind"] == "initial":
        lines += [f"> **Untrained.** {weights['note']}", ""]
    else:
        lines += [f"Weights: `{weights['file']}` (sha256 `{weights['sha256'][:16]}...`).", ""]
    lines += [
        "## Architecture",
        "",
        f"- encoding: `{arch['encoding']}`",
        f"- space: `{arch['space']}`, input {arch['resolution']}x{arch['resolution']}, {arch['num_classes']} classes",
        f"- #Params: {arch['params_m']:.4f} M, FLOPs: {arch['flops_m']:.2f} M",
    ]
    if card.search:
        s = card.search
        lines.append(f"- found by `hwnas search` ({s.get('strategy')}) in `{s.get('run_dir')}`")
    lines += [
        "",
        "## Interface",
        "",
        f"- input `{inp['name']}`: shape {inp['shape']}, {inp['dtype']}",
        f"- output `{out['name']}`: shape {out['shape']}, {out['meaning']}",
        "- preprocessing: "
        + ", ".join(
            [
                inp["preprocessing"]["color"],
                inp["preprocessing"]["resize"],
                inp["preprocessing"]["scale"],
                inp["preprocessing"]["normalize"],
            ]
        )
        + f" with mean {inp['preprocessing']['mean']} and std {inp['preprocessing']['std']} "
        f"({inp['preprocessing']['statistics']} statistics)",
        "",
        "## Files",
        "",
        "| format | file | precision | size | checks | parity with PyTorch | latency |",
        "|---|---|---|---|---|---|---|",
    ]
    for a in card.artifacts:
        check_text = next(
            (f"{k}: {v}" for k, v in a.checks.items() if k in ("onnx_checker", "spec_check", "loads")), ""
        )
        lines.append(
            f"| {a.format} | `{a.file}` | {a.precision} | {a.size_bytes / 1e6:.2f} MB | {check_text} | "
            f"{_parity_text(a.parity)} | {_latency_text(a.latency)} |"
        )
    lines += ["", "Notes:", ""]
    for a in card.artifacts:
        for note in a.notes:
            lines.append(f"- {a.format}: {note}")
    lines += ["", "## Latency", ""]
    lines.append(f"- target device: `{target['device']}` ({target.get('runtime', '')}, {target.get('precision', '')})")
    if target.get("predicted_latency_ms") is not None:
        lines.append(f"- predicted by the latency table: {_ms(target['predicted_latency_ms'])}")
    else:
        lines.append(f"- no prediction: {target.get('reason', 'no table')}")
    if target.get("search_predicted_latency_ms") is not None:
        lines.append(f"- predicted during the search: {_ms(target['search_predicted_latency_ms'])}")
    check = card.latency_check
    if check.checked:
        verdict = "within" if check.within_tolerance else "OUTSIDE"
        lines.append(
            f"- {check.file or 'model.onnx'} measured {_ms(check.measured_ms)} ({check.estimator}) on "
            f"{check.device}: {check.error_pct:+.1f}% "
            f"from the prediction ({verdict} ±{check.tolerance_pct:.0f}%)"
        )
    else:
        lines.append(f"- prediction vs measurement: not checked ({check.reason})")
    if card.int8_speedup is not None:
        sp = card.int8_speedup
        lines.append(
            f"- INT8 speed-up over fp32 on {sp.device} ({sp.estimator}): {sp.speedup:.2f}x "
            f"({_ms(sp.fp32_ms)} -> {_ms(sp.int8_ms)})"
        )
    if card.targets:
        lines += _targets_section(card.targets)
    lines += ["", "## SHA-256", ""]
    for a in card.artifacts:
        lines.append(f"- `{a.file}`: `{a.sha256}`")
        for extra in a.extra_files:
            lines.append(f"- `{extra['file']}`: `{extra['sha256']}`")
    lines += ["", "## Run the ONNX file", "", "```python", card.snippet.rstrip(), "```", ""]
    for a in card.artifacts:
        if a.format == "openvino":
            lines += _openvino_section(a)
    return "\n".join(lines)


def _openvino_section(artifact: Any) -> list[str]:
    """How to load the IR as its parity check did: fp32 execution must be asked for, since
    OpenVINO runs an fp32 IR in bf16 on CPUs with bf16 units and the IR cannot carry the hint."""
    hint = "f32"  # fp16 IRs too: their weights are fp16, the parity check computed in f32
    default = artifact.checks.get("default_cpu_compile")
    seen = (
        f"Without it, this machine's default CPU compile ran in {default['inference_precision']}: "
        f"max abs diff {default['max_abs_diff']:.1e} against PyTorch."
        if default
        else ""
    )
    return [
        "## Run the OpenVINO IR",
        "",
        f"Ask for {hint} execution, as the parity check did. {seen}".rstrip(),
        "",
        "```python",
        "import openvino as ov",
        "",
        f'config = {{"INFERENCE_PRECISION_HINT": "{hint}"}}',
        f'compiled = ov.Core().compile_model("{artifact.file}/model.xml", "CPU", config)',
        "logits = compiled(preprocess(image))[0]  # preprocess and image as in the ONNX example",
        "```",
        "",
    ]


def _targets_section(targets: Sequence[Mapping[str, Any]]) -> list[str]:
    """The devices the network was searched for, each with its budget, prediction and check."""
    lines = [
        "",
        "## Targets",
        "",
        "Searched to meet every device's budget at once.",
        "",
        "| device | runtime | budget | predicted | measured here |",
        "|---|---|---|---|---|",
    ]
    for t in targets:
        check = t.get("check") or {}
        if check.get("checked"):
            verdict = "within" if check["within_tolerance"] else "OUTSIDE"
            measured = (
                f"{_ms(check['measured_ms'])} ({check['error_pct']:+.1f}%, {verdict} ±{check['tolerance_pct']:.0f}%)"
            )
        else:
            measured = f"not checked: {check.get('reason', 'no measurement')}"
        predicted = _ms(t["predicted_ms"]) if t.get("predicted_ms") is not None else "unknown"
        lines.append(f"| `{t['device']}` | {t.get('runtime', '')} | {_ms(t['budget_ms'])} | {predicted} | {measured} |")
    return lines
