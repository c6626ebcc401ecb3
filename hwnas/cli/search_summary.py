"""`hwnas search`'s closing tables: one winner, or a budget family's members side by side."""

from __future__ import annotations

from rich.table import Table

from hwnas.cli.output import stdout


def print_family(result: dict) -> None:
    doc, run = result["family"], result["run"]
    family = doc["family"]
    table = Table(
        "budget", "predicted latency", "#Params", "FLOPs", "budget use", "file",
        title=f"hwnas search: a family of {len(doc['members'])} on {doc['space']} ({family['kind']})",
        title_justify="left",
    )  # fmt: skip
    for m in doc["members"]:
        lat = m["predicted_latency_ms"]
        table.add_row(
            m["label"], f"{lat:.3f} ms" if lat is not None else "unknown",
            f"{m['params_m']:.3f} M", f"{m['flops_m']:.1f} M", f"{m['budget_use']:.1%}", m["file"],
        )  # fmt: skip
    stdout.print(table)
    stdout.print(
        f"{run['evaluations']} candidates scored once for all {len(doc['members'])} budgets "
        f"({run['cache_hits']} cache hits) in {run['search_s']:.1f} s; "
        f"results in {result['out']} (family.json, best-<budget>.json, history.jsonl, pareto.png)"
    )


def print_summary(result: dict) -> None:
    best, run = result["best"], result["run"]
    table = Table(title=f"hwnas search: {best['strategy']} on {best['space']}", title_justify="left", show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value", overflow="fold")
    table.add_row("winner", best["arch"])
    lat = best["predicted_latency_ms"]
    target = best["constraints"]["latency_ms"]
    each = best.get("predicted_latencies_ms")
    devices = dict(best["config"].get("devices") or [])
    if each:
        table.add_row(
            "predicted latency", ", ".join(f"{d} {ms:.3f} ms (target {devices.get(d)} ms)" for d, ms in each.items())
        )
    else:
        table.add_row("predicted latency", f"{lat:.3f} ms (target {target} ms)" if lat is not None else "unknown")
    table.add_row("#Params / FLOPs", f"{best['params_m']:.3f} M / {best['flops_m']:.1f} M")
    table.add_row("scores", ", ".join(f"{k} {v:.4g}" for k, v in best["scores"].items()))
    table.add_row(
        "evaluations",
        f"{run['evaluations']} scored, {run['infeasible']} infeasible "
        f"({run['unknown_latency']} of unknown latency), {run['cache_hits']} cache hits",
    )
    table.add_row("wall time", f"{run['search_s']:.1f} s ({run['stop_reason']})")
    table.add_row("results", f"{result['out']}/best.json, history.jsonl, pareto.png")
    stdout.print(table)
