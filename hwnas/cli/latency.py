"""`hwnas devices`, `hwnas profile`, `hwnas latency`, `hwnas validate-table`: devices and their latency tables."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from hwnas.cli.options import JsonOpt, NumClassesOpt, ResolutionOpt, SeedOpt, SpaceOpt
from hwnas.cli.output import emit_json, stderr, stdout
from hwnas.devices import DEFAULT_DEVICE, list_devices, load_device
from hwnas.errors import UsageError
from hwnas.spaces import DEFAULT_SPACE, get_space

DeviceOpt = Annotated[
    str,
    typer.Option(
        "--device", "-d", help="Device name, alias or YAML path (see `hwnas devices`), e.g. host-cpu or jetson."
    ),
]
TablesDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--tables-dir", help="Folder of latency tables (default: $HWNAS_TABLES_DIR or the repo's latency_tables/)."
    ),
]
WorkDirOpt = Annotated[
    Path | None,
    typer.Option("--work-dir", help="Cache of exported models (default: $HWNAS_CACHE_DIR or ~/.cache/hwnas)."),
]
ResumeOpt = Annotated[bool, typer.Option("--resume", help="Continue an interrupted run where it stopped.")]


@contextlib.contextmanager
def _progress(label: str) -> Iterator[Progress]:
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        TextColumn("{task.fields[item]}", style="dim"),
    )
    with Progress(*columns, console=stderr, transient=True, disable=not stderr.is_terminal) as progress:
        yield progress


def devices(json_out: JsonOpt = False) -> None:
    """List the devices (devices/*.yaml) with their runtime and whether a latency table exists."""
    from hwnas.latency.table import LatencyTable, table_path

    hybrid = get_space(DEFAULT_SPACE)
    rows = []
    for dev in list_devices():
        entry: dict[str, Any] = {**dev.to_dict(), "where": dev.where(), "table": None}
        path = table_path(dev.name, hybrid)
        if path.exists():
            doc = LatencyTable.load(path)
            validation = doc.header.validation
            entry["table"] = {
                "path": str(path),
                "entries": len(doc.entries),
                "complete": doc.complete,
                "within_10pct": None if validation is None else validation.calibrated.get("within_10pct"),
            }
        rows.append(entry)
    if json_out:
        emit_json(rows)
        return
    table = Table()
    table.add_column("device (aliases)", no_wrap=True)
    for column in ("runtime", "where", "hybrid table"):
        table.add_column(column, overflow="fold")  # wrap, never hide part of a name behind "…"
    for row in rows:
        t = row["table"]
        if t is None:
            status = "[dim]none[/dim]"
        else:
            status = f"{t['entries']} entries" + ("" if t["complete"] else " (incomplete)")
            if t["within_10pct"] is not None:
                status += f", {t['within_10pct']:.0%} in ±10%"
        threads = f", {row['threads']} thread{'s' if row['threads'] != 1 else ''}" if row["threads"] else ""
        aliases = "\n[dim]" + ", ".join(row["aliases"]) + "[/dim]" if row["aliases"] else ""
        table.add_row(row["name"] + aliases, f"{row['runtime']} {row['precision']}{threads}", row["where"], status)
    stdout.print(table)


def profile(
    device: DeviceOpt = DEFAULT_DEVICE,
    space: SpaceOpt = DEFAULT_SPACE,
    resolution: ResolutionOpt = None,
    num_classes: NumClassesOpt = None,
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit", help="Only the first N blocks of the space (the table stays incomplete; --resume continues)."
        ),
    ] = None,
    resume: ResumeOpt = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Start a new table even if one exists.")] = False,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Table file (default: latency_tables/<device>.json).")
    ] = None,
    tables_dir: TablesDirOpt = None,
    work_dir: WorkDirOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Time every distinct block of the space on the device and write its latency table."""
    from hwnas.latency.profile import profile_device

    dev = load_device(device)
    with _progress(f"profile {dev.name}") as progress:
        task = progress.add_task(f"profile {dev.name}", total=None, item="")

        def on_start(total: int, present: int) -> None:
            progress.update(task, total=total, completed=present)

        def on_block(done: Any) -> None:
            progress.update(task, completed=done.done, item=f"{done.stats.median_ms:8.3f} ms  {done.key}")

        summary = profile_device(
            dev,
            space=space,
            resolution=resolution,
            num_classes=num_classes,
            limit=limit,
            resume=resume,
            overwrite=overwrite,
            output=output,
            tables_dir=tables_dir,
            work_dir=work_dir,
            on_start=on_start,
            on_block=on_block,
        )
    if json_out:
        emit_json(summary.to_dict())
        return
    table = Table(
        title=f"latency table for {summary.device} ({summary.runtime})", title_justify="left", show_header=False
    )
    table.add_column("what")
    table.add_column("value")
    table.add_row("file", str(summary.path))
    table.add_row(
        "entries",
        f"{summary.entries} of {summary.expected_entries}"
        + ("" if summary.complete else " (incomplete: --resume continues)"),
    )
    per = f", {summary.rounds} rounds per block" if summary.rounds > 1 else ""
    table.add_row(
        "measured now", f"{summary.measured} block timings ({summary.already_present} already in the table{per})"
    )
    table.add_row("wall time", f"{summary.wall_s:.1f} s")
    table.add_row("export", f"{summary.export_s:.1f} s ({summary.exported} models exported)")
    table.add_row(
        "timed runs",
        f"{summary.timed_s:.1f} s = {summary.timed_share:.0%} of wall time "
        f"(overhead {summary.overhead_share:.0%}; load + warm-up {summary.setup_s:.1f} s)",
    )
    stdout.print(table)


def latency(
    arch: Annotated[str, typer.Argument(help="Architecture encoding (quote it in the shell).")],
    space: SpaceOpt = DEFAULT_SPACE,
    device: Annotated[
        str | None,
        typer.Option(
            "--device", "-d", help="Device name, alias or YAML path (default: host-cpu unless --table is given)."
        ),
    ] = None,
    table: Annotated[
        Path | None,
        typer.Option(
            "--table", help="A latency table file instead of the device's: block table JSON, or whole-arch CSV / JSON."
        ),
    ] = None,
    latency_column: Annotated[
        str | None, typer.Option("--latency-column", help="Column of a whole-arch CSV, e.g. pixel3_latency_ms.")
    ] = None,
    resolution: ResolutionOpt = None,
    measure: Annotated[
        bool, typer.Option("--measure", help="Also export the whole network and time it on the device.")
    ] = False,
    tables_dir: TablesDirOpt = None,
    work_dir: WorkDirOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Predict an architecture's latency on a device (and measure it end to end with --measure)."""
    from hwnas.latency.sources import load_latency_source, measure_end_to_end

    sp = get_space(space)
    text = sp.encode(sp.decode(arch))
    dev = load_device(device or DEFAULT_DEVICE) if device is not None or table is None or measure else None
    source = load_latency_source(
        space=sp, device=dev, table=table, latency_column=latency_column, resolution=resolution, tables_dir=tables_dir
    )
    predicted = source.predict_ms(sp, text, resolution=resolution)
    result: dict[str, Any] = {
        "arch": text,
        "space": sp.name,
        "device": dev.name if dev else None,
        "resolution": resolution or sp.default_resolution,
        "predicted_ms": predicted,
        "source": source.describe(),
    }
    if measure:
        assert dev is not None
        stats = measure_end_to_end(sp, text, dev, resolution=resolution, work_dir=work_dir)
        est = dev.timing.estimator  # the statistic the device's table predicts
        result["measured_ms"] = stats.value_ms(est)
        result["measured"] = {**stats.to_dict(), "estimator": est}
        result["error_pct"] = (predicted - result["measured_ms"]) / result["measured_ms"] * 100.0
    if json_out:
        emit_json(result)
        return
    stdout.print(f"[bold]{text}[/bold]")
    kind = result["source"]["kind"]
    stdout.print(f"predicted  {predicted:9.3f} ms   ({kind}: {result['source'].get('path')})")
    if measure:
        st = result["measured"]
        stdout.print(
            f"measured   {result['measured_ms']:9.3f} ms   ({st['estimator']} of {st['n']} runs; median "
            f"{st['median_ms']:.3f}, p10 {st['p10_ms']:.3f}, p90 {st['p90_ms']:.3f}; prediction error "
            f"{result['error_pct']:+.1f}%)"
        )


def validate_table_cmd(
    device: DeviceOpt = DEFAULT_DEVICE,
    samples: Annotated[int, typer.Option("--samples", "-n", help="How many sampled networks to time end to end.")] = 50,
    seed: SeedOpt = 0,
    space: SpaceOpt = DEFAULT_SPACE,
    resolution: ResolutionOpt = None,
    table: Annotated[Path | None, typer.Option("--table", help="Table file (default: the device's).")] = None,
    plot: Annotated[
        Path | None,
        typer.Option("--plot", help="Where to write the predicted-vs-measured PNG (default: beside the table)."),
    ] = None,
    resume: ResumeOpt = False,
    tables_dir: TablesDirOpt = None,
    work_dir: WorkDirOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Time sampled networks end to end, calibrate the device's table and report its accuracy."""
    from hwnas.latency.validate import validate_table

    dev = load_device(device)
    if samples < 1:
        raise UsageError(f"--samples must be positive, got {samples}")
    with _progress(f"validate {dev.name}") as progress:
        task = progress.add_task(f"validate {dev.name}", total=samples * dev.timing.rounds, item="")

        def on_start(total: int, present: int) -> None:
            progress.update(task, total=total, completed=present)

        def on_arch(done: Any) -> None:
            progress.update(task, completed=done.done, item=f"{done.measured_ms:8.2f} ms")

        report = validate_table(
            dev,
            samples=samples,
            seed=seed,
            space=space,
            resolution=resolution,
            table=table,
            tables_dir=tables_dir,
            work_dir=work_dir,
            plot=plot,
            resume=resume,
            on_start=on_start,
            on_arch=on_arch,
        )
    if json_out:
        emit_json(report.to_dict())
        return
    out = Table(
        title=f"{report.device}: block table vs {report.n} networks timed end to end (seed {report.seed})",
        title_justify="left",
    )
    out.add_column("prediction")
    for column in ("in ±5%", "in ±10%", "MAPE", "bias", "worst", "Spearman"):
        out.add_column(column, justify="right", no_wrap=True)
    for name, fig in (("sum of blocks", report.uncalibrated), ("calibrated (LOO)", report.calibrated)):
        out.add_row(
            name,
            f"{fig['within_5pct']:.0%}",
            f"{fig['within_10pct']:.0%}",
            f"{fig['mape_pct']:.2f}%",
            f"{fig['bias_pct']:+.2f}%",
            f"{fig['max_abs_error_pct']:.1f}%",
            "n/a" if fig["spearman"] is None else f"{fig['spearman']:.3f}",
        )
    stdout.print(out)
    cal = report.calibration
    stdout.print(
        f"calibration: predicted = {cal.scale:.4f} x sum + {cal.offset_ms:+.4f} ms (LOO: each network "
        "predicted by a fit on the others)"
    )
    stdout.print(f"table: {report.table_path}", soft_wrap=True)
    stdout.print(f"plot: {report.plot_path}", soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("devices")(devices)
    app.command("profile")(profile)
    app.command("latency")(latency)
    app.command("validate-table")(validate_table_cmd)
