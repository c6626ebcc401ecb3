"""`hwnas devices`, `hwnas profile`, `hwnas latency`, `hwnas validate-table`: devices and their latency tables."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from hwnas.cli.options import JsonOpt, NoProbeOpt, ResolutionOpt, SeedOpt, SpaceOpt
from hwnas.cli.output import emit_json, stderr, stdout
from hwnas.devices import DEFAULT_DEVICE, Device, load_device
from hwnas.errors import HwnasError, UsageError
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
def progress_bar(label: str) -> Iterator[Progress]:
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


def devices(no_probe: NoProbeOpt = False, json_out: JsonOpt = False) -> None:
    """List every device (devices/*.yaml): its runtime and whether that runtime is installed here
    (with the install hint), whether a latency table exists and, for a local device whose runtime
    is installed, whether the table describes this machine (a probe re-times a few of its blocks).
    A device file that does not load is listed with its error; it never stops the listing."""
    from hwnas.devices import device_files

    rows: list[dict[str, Any]] = []
    for path, dev_or_error in device_files():
        if isinstance(dev_or_error, HwnasError):
            rows.append({"name": path.stem, "source": str(path), "error": str(dev_or_error)})
        else:
            rows.append(_device_row(dev_or_error, probe=not no_probe))
    if json_out:
        emit_json(rows)
        return
    table = Table()
    table.add_column("device (aliases)", no_wrap=True)
    for column in ("runtime", "where", "runtime here?", "hybrid table", "this machine?"):
        table.add_column(column, overflow="fold")  # wrap, never hide part of a name behind "…"
    notes: list[str] = []
    for row in rows:
        if "error" in row:
            notes.append(f"{row['name']}: {row['error']}")
            table.add_row(row["name"], "[red]does not load[/red]", "-", f"no ({len(notes)})", "-", "-")
            continue
        threads = f", {row['threads']} thread{'s' if row['threads'] != 1 else ''}" if row["threads"] else ""
        aliases = "\n[dim]" + ", ".join(row["aliases"]) + "[/dim]" if row["aliases"] else ""
        here = "[green]yes[/green]"
        if row["runtime_missing"]:
            notes.append(f"{row['name']}: {row['runtime_missing']}")
            here = f"[yellow]no[/yellow] ({len(notes)})"
        table.add_row(
            row["name"] + aliases,
            f"{row['runtime']} {row['precision']}{threads}",
            escape(row["where"]),
            here,
            _table_status(row["table"]),
            _machine(row),
        )
    stdout.print(table)
    for i, note in enumerate(notes, 1):  # full text below the table: install hints are long and must stay exact
        stdout.print(f"({i}) {escape(note)}", soft_wrap=True)


def _device_row(dev: Device, *, probe: bool) -> dict[str, Any]:
    """One device's entry: settings, runtime availability, table summary and (local, installed) probe."""
    from hwnas.latency.probe import check_table, probe_disabled
    from hwnas.latency.table import LatencyTable, table_path
    from hwnas.runtimes import RUNTIMES

    missing = RUNTIMES.get(dev.runtime).missing(local=not dev.is_remote)
    entry: dict[str, Any] = {**dev.to_dict(), "where": dev.where(), "runtime_missing": missing, "table": None}
    path = table_path(dev.name, get_space(DEFAULT_SPACE))
    if not path.exists():
        return entry
    doc = LatencyTable.load(path)
    validation = doc.header.validation
    entry["table"] = {
        "path": str(path),
        "entries": len(doc.entries),
        "predicted_entries": len(doc.predicted_keys),
        "complete": doc.complete,
        "within_10pct": None if validation is None else validation.calibrated.get("within_10pct"),
        "this_machine": None,
        "probe_error": None,
    }
    if dev.is_remote or missing:  # a remote device is not probed; a missing runtime cannot be
        return entry
    try:
        check = check_table(doc, dev, probe=probe and not probe_disabled())
    except HwnasError as exc:  # one device's failure is that device's row, not the listing's
        entry["table"]["probe_error"] = str(exc)
    else:
        entry["table"]["this_machine"] = check.to_json()
    return entry


def _table_status(t: dict[str, Any] | None) -> str:
    if t is None:
        return "[dim]none[/dim]"
    status = f"{t['entries']} entries" + ("" if t["complete"] else " (incomplete)")
    if t["predicted_entries"]:
        status += f" ({t['predicted_entries']} predicted)"
    if t["within_10pct"] is not None:
        status += f", {t['within_10pct']:.0%} in ±10%"
    return status


def _machine(row: dict[str, Any]) -> str:
    """The probe's verdict for the devices table: yes / no (drift, differences) / not checked (why)."""
    table = row["table"]
    if table is None:
        return "[dim]-[/dim]"
    if row["runtime_missing"]:
        return "[dim]not checked[/dim]"
    if table["probe_error"]:
        return f"[red]probe failed[/red]: {escape(table['probe_error'])}"
    check = table["this_machine"]
    if check is None:
        return "[dim]-[/dim]"
    drift = "" if check["drift"] is None else f"drift {check['drift']:+.0%}"
    why = ", ".join(x for x in [drift, *check["host_differences"], *check["runtime_differences"]][:2] if x)
    if check["describes_this_machine"]:
        return f"[green]yes[/green] ({drift or 'fingerprint only'})"
    return f"[red]no[/red] ({escape(why)})"


def probe(
    device: DeviceOpt = DEFAULT_DEVICE,
    space: SpaceOpt = DEFAULT_SPACE,
    resolution: ResolutionOpt = None,
    table: Annotated[Path | None, typer.Option("--table", help="Table file (default: the device's).")] = None,
    blocks: Annotated[int, typer.Option("--blocks", help="How many of the table's blocks to re-time.")] = 8,
    fresh: Annotated[bool, typer.Option("--fresh", help="Re-time now even if a recent probe is cached.")] = False,
    tables_dir: TablesDirOpt = None,
    work_dir: WorkDirOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Check that a local device's latency table describes this machine: fingerprint, then re-time a few blocks."""
    from hwnas.latency.probe import advice, check_table
    from hwnas.latency.table import LatencyTable, table_path

    if not 1 <= blocks <= 100:
        raise UsageError(f"--blocks must be from 1 to 100, got {blocks}")
    dev = load_device(device)
    if dev.is_remote:
        raise UsageError(f"{dev.name} is reached over SSH; the probe checks local devices only")
    path = table if table is not None else table_path(dev.name, get_space(space), resolution, None, tables_dir)
    if not path.exists():
        raise UsageError(f"no latency table at {path}: run `hwnas profile --device {dev.name}` first")
    check = check_table(LatencyTable.load(path), dev, blocks=blocks, work_dir=work_dir, use_cache=not fresh)
    if json_out:
        emit_json({**check.to_json(), "cached": check.cached, "advice": advice(check)})
        return
    verdict = "describes this machine" if check.describes_this_machine else "does NOT describe this machine"
    drift = "not probed" if check.drift is None else f"drift {check.drift:+.1%} over {len(check.blocks)} blocks"
    stdout.print(f"{path}: {verdict} ({drift}{', cached' if check.cached else ''})", soft_wrap=True)
    for b in check.blocks:
        stdout.print(f"  {b.stored_ms:8.3f} ms stored  {b.measured_ms:8.3f} ms now  x{b.ratio:.2f}  {b.key}")
    for line in (*check.host_differences, *check.runtime_differences):
        stdout.print(f"  differs: {line}")
    text = advice(check)
    if text:
        stderr.print(f"warning: {text}", soft_wrap=True)


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
    no_probe: NoProbeOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Predict an architecture's latency on a device (and measure it end to end with --measure)."""
    from hwnas.latency.sources import load_latency_source, measure_end_to_end

    sp = get_space(space)
    text = sp.encode(sp.decode(arch))
    dev = load_device(device or DEFAULT_DEVICE) if device is not None or table is None or measure else None
    source = load_latency_source(
        space=sp,
        device=dev,
        table=table,
        latency_column=latency_column,
        resolution=resolution,
        tables_dir=tables_dir,
        probe=not no_probe,
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


def validation_line(report: Any) -> str:
    """One line a script can print: the calibrated (leave-one-out) figures of a validation."""
    fig = report.calibrated
    return (
        f"validation: {fig['within_10pct']:.0%} of {report.n} networks within ±10% end to end "
        f"(calibrated, leave-one-out), MAPE {fig['mape_pct']:.1f}%, worst {fig['max_abs_error_pct']:.1f}%"
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
    entry_checks: Annotated[
        int | None,
        typer.Option(
            "--entry-checks",
            help="Few-shot tables: re-time N predicted entries and as many measured ones (default 20; 0 skips).",
        ),
    ] = None,
    tables_dir: TablesDirOpt = None,
    work_dir: WorkDirOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Time sampled networks end to end, calibrate the device's table and report its accuracy
    (a few-shot table: for its measured and predicted entries apart, and for the whole)."""
    from hwnas.latency.validate import validate_table

    dev = load_device(device)
    if samples < 1:
        raise UsageError(f"--samples must be positive, got {samples}")
    if entry_checks is not None and entry_checks < 0:
        raise UsageError(f"--entry-checks must be 0 or more, got {entry_checks}")
    with progress_bar(f"validate {dev.name}") as progress:
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
            entry_checks=entry_checks,
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
    rows = [("sum of blocks", report.uncalibrated), ("calibrated (LOO)", report.calibrated)]
    if report.by_source is not None:
        rows += [(f"  networks, {g['group']}", g) for g in report.by_source["networks"]]
        entries = report.by_source["entries"]
        rows += [
            (f"{group} entries re-timed", entries[group]) for group in ("measured", "predicted") if group in entries
        ]
    for name, fig in rows:
        out.add_row(
            f"{name} ({fig['n']})" if "group" in fig or "keys" in fig else name,
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
    app.command("probe")(probe)
    app.command("latency")(latency)
    app.command("validate-table")(validate_table_cmd)
