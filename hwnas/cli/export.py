"""`hwnas export`: turn a search winner (or any architecture) into deployable, checked files."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from hwnas.cli.options import JsonOpt, NumClassesOpt, ResolutionOpt
from hwnas.cli.output import emit_json, stderr, stdout

if TYPE_CHECKING:
    from hwnas.records import ArtifactCard, ModelCard


def export(
    target: Annotated[
        str,
        typer.Argument(
            metavar="RUN_DIR | ARCH", help="A `hwnas search` run directory, or an architecture encoding with --space."
        ),
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out", "-o", help="Directory for the artifacts and the model card (created whole or not at all)."
        ),
    ],
    space: Annotated[
        str | None, typer.Option("--space", "-s", help="Space of ARCH (exporting an encoding, not a run directory).")
    ] = None,
    formats: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            help="Comma-separated: onnx, ort, int8, coreml, tensorrt (onnx is always written). Example: onnx,ort,int8",
        ),
    ] = "onnx",
    weights: Annotated[
        Path | None,
        typer.Option(
            "--weights", help="A PyTorch state dict for the architecture (default: untrained initial weights)."
        ),
    ] = None,
    num_classes: NumClassesOpt = None,
    resolution: ResolutionOpt = None,
    precision: Annotated[
        str | None,
        typer.Option(
            "--precision", help="fp32|fp16|int8: compute precision of coreml/tensorrt; int8 also adds the int8 format."
        ),
    ] = None,
    calibration: Annotated[
        Path | None,
        typer.Option(
            "--calibration",
            help="Images for INT8 calibration and real-image parity: a folder or an .npz with 'images' [, 'labels'].",
        ),
    ] = None,
    dynamic_batch: Annotated[
        bool, typer.Option("--dynamic-batch", help="ONNX/ORT/INT8 files accept any batch size.")
    ] = False,
    device: Annotated[
        str | None,
        typer.Option(
            "--device", "-d", help="Target device (default: the run's, else host-cpu): its table predicts, it times."
        ),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option(
            "--seed",
            help="Seed of the initial weights, random parity inputs and calibration subset "
            "(default: the run's, else 0).",
        ),
    ] = None,
    measure: Annotated[bool, typer.Option("--measure/--no-measure", help="Time every file on its device.")] = True,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing --out directory.")] = False,
    all_members: Annotated[
        bool,
        typer.Option(
            "--all",
            help="A budget family's run: export every member into --out/<budget>/ with its card, and a "
            "family card that lists them side by side.",
        ),
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Export RUN_DIR's winner (or ARCH) as ONNX / ORT / INT8 / Core ML / TensorRT files with a model card."""
    from hwnas.export import ExportRequest, export_model

    request = ExportRequest(
        target=target,
        out=out,
        space=space,
        formats=tuple(formats.split(",")),
        weights=weights,
        num_classes=num_classes,
        resolution=resolution,
        precision=precision,
        calibration=calibration,
        dynamic_batch=dynamic_batch,
        device=device,
        seed=seed,
        measure=measure,
        overwrite=overwrite,
    )
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]export[/bold] {task.description}"),
        TimeElapsedColumn(),
        console=stderr,
        disable=not stderr.is_terminal,  # no bar in logs and pipes: only the summary and errors
        transient=True,
    ) as progress:
        task = progress.add_task("starting", total=None)
        if all_members:
            from hwnas.export.family import export_family

            family = export_family(request, on_step=lambda text: progress.update(task, description=text))
        else:
            card = export_model(request, on_step=lambda text: progress.update(task, description=text))
    if all_members:
        if json_out:
            emit_json(family)
        else:
            _print_family(family)
        return
    if json_out:
        emit_json(card.to_json())
        return
    _print_summary(card)


def _print_summary(card: ModelCard) -> None:
    from hwnas.export.card import latency_summary

    arch = card.architecture
    stdout.print(
        f"[bold]{card.name}[/bold]  {arch['space']} {arch['resolution']}x{arch['resolution']}, "
        f"#Params {arch['params_m']:.3f} M, FLOPs {arch['flops_m']:.1f} M"
    )
    stdout.print(f"arch {escape(arch['encoding'])}", soft_wrap=True)
    if card.weights["kind"] == "initial":
        stdout.print("[yellow]weights: untrained initial weights (pass --weights for a trained model)[/yellow]")
    table = Table("format", "file", "prec.", "MB", "parity with PyTorch", "latency", title_justify="left")
    for a in card.artifacts:
        table.add_row(a.format, a.file, a.precision, f"{a.size_bytes / 1e6:.2f}", _parity(a.parity), _latency(a))
    stdout.print(table)
    for line in latency_summary(card):
        stdout.print(escape(line))
    stdout.print(f"model card: {card.out}/model_card.json and README.md")


def _print_family(family: dict[str, Any]) -> None:
    table = Table(
        "member", "predicted", "measured", "#Params", "FLOPs", "folder",
        title=f"a family of {len(family['members'])} exported to {family['out']}", title_justify="left",
    )  # fmt: skip
    for m in family["members"]:
        table.add_row(
            m["label"], _ms(m["predicted_ms"]), _ms(m["measured_ms"]), f"{m['params_m']:.3f} M",
            f"{m['flops_m']:.1f} M", f"{m['folder']}/",
        )  # fmt: skip
    stdout.print(table)
    stdout.print(f"family card: {family['out']}/family_card.json and README.md")


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f} ms"


def _parity(parity: Mapping[str, Any] | None) -> str:
    if not parity:
        return "not run here"
    if "calibration_images" in parity:
        return f"top-1 agree {100 * parity['calibration_images']['top1_agreement']:.1f}%"
    worst = max(v["max_abs_diff"] for v in parity.values() if isinstance(v, dict))
    return f"max |diff| {worst:.1e}" + (" (weak: constant outputs)" if parity.get("warning") else "")


def _latency(artifact: ArtifactCard) -> str:
    value, latency = artifact.estimate_ms, artifact.latency
    if value is None or latency is None:
        return "-"
    return f"{value:.3f} ms {latency.get('estimator', 'median')} ({latency['device']})"


def register(app: typer.Typer) -> None:
    app.command("export")(export)
