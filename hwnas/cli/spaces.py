"""`hwnas spaces`, `hwnas sample`, `hwnas info`, `hwnas references`: look at the search spaces."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from hwnas.cli.options import JsonOpt, NumClassesOpt, ResolutionOpt, SeedOpt, SpaceOpt
from hwnas.cli.output import emit_json, stdout
from hwnas.errors import UsageError
from hwnas.spaces import DEFAULT_SPACE, get_space, space_names
from hwnas.spaces.references import REFERENCES
from hwnas.spaces.summary import describe_arch

MAX_SAMPLES = 1_000_000  # -n is held in memory before printing


def spaces(json_out: JsonOpt = False) -> None:
    """List the search spaces with their topology and size genes."""
    data: list[dict[str, Any]] = []
    for name in space_names():
        space = get_space(name)
        topology, size = space.gene_groups()
        data.append(
            {
                "name": name,
                "description": space.description,
                "default_resolution": space.default_resolution,
                "default_num_classes": space.default_num_classes,
                "proxy_resolution": space.proxy_resolution,
                "topology_genes": dict(topology.genes),
                "size_genes": dict(size.genes),
            }
        )
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
    if not 1 <= n <= MAX_SAMPLES:
        raise UsageError(f"-n must be from 1 to {MAX_SAMPLES:,}, got {n}")
    search_space = get_space(space)
    encodings = [search_space.encode(a) for a in search_space.sample_many(n, seed)]
    if json_out:
        emit_json({"space": space, "seed": seed, "archs": encodings})
    else:
        for text in encodings:
            print(text)


def info(
    arch: Annotated[
        str,
        typer.Argument(
            help="Architecture encoding (quote it in the shell), or a reference model's name (see `hwnas references`)."
        ),
    ],
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
    ref = summary.get("reference")
    if ref is not None:
        stdout.print(
            f"[bold]{ref['name']}[/bold]: published ImageNet top-1 {ref['published_top1']:.1f}%, "
            f"#Params {ref['published_params_m']:.1f} M; approximated: {ref['note']}",
            soft_wrap=True,
        )
    stdout.print(
        f"[bold]{summary['arch']}[/bold]  ({summary['space']}, input {'x'.join(map(str, summary['input_shape']))})"
    )
    stdout.print(f"#Params {summary['params_m']:.4f} M   FLOPs {summary['flops_m']:.2f} M")
    table = Table("#", "kind", "input", "key")
    for i, block in enumerate(summary["blocks"]):
        table.add_row(str(i), block["kind"], "x".join(map(str, block["input_shape"])), block["key"])
    stdout.print(table)


def references(json_out: JsonOpt = False) -> None:
    """List the reference models (EdgeNeXt, MobileViT) written in the hybrid grammar.

    Each has its published ImageNet top-1 and #Params and the #Params of its encoding;
    pass the name wherever `hwnas info` takes an encoding.
    """
    data = []
    for ref in REFERENCES.values():
        summary = describe_arch(get_space(ref.space), ref.encoding)
        data.append(
            {
                **ref.to_json(),
                "params_m": summary["params_m"],
                "flops_m": summary["flops_m"],
                "params_error": summary["params_m"] / ref.published_params_m - 1.0,
            }
        )
    if json_out:
        emit_json(data)
        return
    table = Table(
        title="Reference models in the hybrid grammar (published figures: REFERENCE §5, ImageNet)", title_justify="left"
    )
    table.add_column("name")
    for column in ("published top-1 %", "published #Params M", "encoding #Params M", "diff"):
        table.add_column(column, justify="right")
    for entry in data:
        table.add_row(
            entry["name"],
            f"{entry['published_top1']:.1f}",
            f"{entry['published_params_m']:.1f}",
            f"{entry['params_m']:.3f}",
            f"{entry['params_error']:+.1%}",
        )
    stdout.print(table)
    for entry in data:
        stdout.print(f"[bold]{entry['name']}[/bold]  {entry['encoding']}", soft_wrap=True)
        stdout.print(f"  approximated: {entry['note']}", soft_wrap=True)
