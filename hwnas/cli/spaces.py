"""`hwnas spaces`, `hwnas sample`, `hwnas info`: look at the search spaces."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from hwnas.cli.options import JsonOpt, NumClassesOpt, ResolutionOpt, SeedOpt, SpaceOpt
from hwnas.cli.output import emit_json, stdout
from hwnas.errors import UsageError
from hwnas.spaces import DEFAULT_SPACE, get_space, space_names
from hwnas.spaces.summary import describe_arch


def spaces(json_out: JsonOpt = False) -> None:
    """List the search spaces with their topology and size genes."""
    data = []
    for name in space_names():
        space = get_space(name)
        topology, size = space.gene_groups()
        data.append({
            "name": name,
            "description": space.description,
            "default_resolution": space.default_resolution,
            "default_num_classes": space.default_num_classes,
            "proxy_resolution": space.proxy_resolution,
            "topology_genes": dict(topology.genes),
            "size_genes": dict(size.genes),
        })
    if json_out:
        emit_json(data)
        return
    for entry in data:
        table = Table(title=f"{entry['name']}: {entry['description']}", show_lines=False, title_justify="left")
        table.add_column("group")
        table.add_column("gene")
        table.add_column("values")
        for group in ("topology", "size"):
            genes = entry[f"{group}_genes"] or {"(none)": "fixed by the space"}
            for gene, text in genes.items():
                table.add_row(group, gene, text)
        stdout.print(table)


def sample(
    space: SpaceOpt = DEFAULT_SPACE,
    n: Annotated[int, typer.Option("-n", help="How many architectures.")] = 1,
    seed: SeedOpt = 0,
    json_out: JsonOpt = False,
) -> None:
    """Print N architectures drawn from the space, one encoding per line."""
    if n < 1:
        raise UsageError(f"-n must be at least 1, got {n}")
    search_space = get_space(space)
    encodings = [search_space.encode(a) for a in search_space.sample_many(n, seed)]
    if json_out:
        emit_json({"space": space, "seed": seed, "archs": encodings})
    else:
        for text in encodings:
            print(text)


def info(
    arch: Annotated[str, typer.Argument(help="Architecture encoding (quote it in the shell).")],
    space: SpaceOpt = DEFAULT_SPACE,
    resolution: ResolutionOpt = None,
    num_classes: NumClassesOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Print #Params, FLOPs and the block list of an architecture."""
    summary = describe_arch(get_space(space), arch, resolution=resolution, num_classes=num_classes)
    if json_out:
        emit_json(summary)
        return
    stdout.print(f"[bold]{summary['arch']}[/bold]  ({summary['space']}, input {'x'.join(map(str, summary['input_shape']))})")
    stdout.print(f"#Params {summary['params_m']:.4f} M   FLOPs {summary['flops_m']:.2f} M")
    table = Table("#", "kind", "input", "key")
    for i, block in enumerate(summary["blocks"]):
        table.add_row(str(i), block["kind"], "x".join(map(str, block["input_shape"])), block["key"])
    stdout.print(table)
