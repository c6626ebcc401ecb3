"""`hwnas search`: the main job: the best architecture for a device and a latency budget."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from hwnas.cli.options import (
    ExecutorOpt,
    JsonOpt,
    NoProbeOpt,
    RayAddressOpt,
    ResolutionOpt,
    SeedOpt,
    SpaceOpt,
    TaskBatchOpt,
    ThreadsOpt,
    check_resolution,
)
from hwnas.cli.output import emit_json, stderr, stdout
from hwnas.cli.search_summary import print_family, print_summary
from hwnas.devices import DEFAULT_DEVICE
from hwnas.errors import UsageError
from hwnas.search import SearchConfig, Strategy, make_strategy, run_search
from hwnas.search.config import CLUSTER_PARALLEL, DEFAULT_PARALLEL, MAX_EVALUATIONS, default_parallel
from hwnas.search.family import FAMILY_COST
from hwnas.search.run import run_family
from hwnas.search.rundir import RunDir
from hwnas.search.strategies import DEFAULT_STRATEGY
from hwnas.search.targets import load_search_source, search_targets
from hwnas.spaces import DEFAULT_SPACE, get_space


def search(
    latency_ms: Annotated[
        list[str],
        typer.Option(
            "--latency-ms",
            help="Latency budget in ms (from the table). A list, 5,10,20: a family, one winner per budget. "
            "Once per --device: one network that meets each device's budget.",
        ),
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Run directory for best.json, history.jsonl, pareto.png (default: a new runs/DEVICE-BUDGETms-TIME).",
        ),
    ] = None,
    space: SpaceOpt = DEFAULT_SPACE,
    device: Annotated[
        list[str] | None,
        typer.Option(
            "--device",
            "-d",
            help="Device name, alias or yaml; its table in latency_tables/ (default: host-cpu). "
            "Give it again, each with its --latency-ms, for one network that meets every device's budget.",
        ),
    ] = None,
    latency_table: Annotated[
        Path | None, typer.Option("--latency-table", help="A latency table file (device JSON, or whole-arch CSV/JSON).")
    ] = None,
    latency_column: Annotated[
        str | None, typer.Option("--latency-column", help="Latency column of a whole-arch CSV, e.g. pixel3_latency_ms.")
    ] = None,
    params_m: Annotated[
        str | None, typer.Option("--params-m", help="Upper bound on #Params (millions); a list: a family.")
    ] = None,
    flops_m: Annotated[
        str | None, typer.Option("--flops-m", help="Upper bound on FLOPs (millions); a list: a family.")
    ] = None,
    strategy: Annotated[
        str | None,
        typer.Option(
            "--strategy", help="Search strategy: cyclic (default), single, random or freerea (see `hwnas strategies`)."
        ),
    ] = None,
    topology_proxy: Annotated[
        str | None, typer.Option("--topology-proxy", help="cyclic: fitness of topology phases (default es).")
    ] = None,
    size_proxy: Annotated[
        str | None, typer.Option("--size-proxy", help="cyclic: fitness of size phases (default logsynflow).")
    ] = None,
    topology_weight: Annotated[
        float | None,
        typer.Option(
            "--topology-weight",
            help="cyclic: weight of the topology proxy in the winner rule, a sum of z-scores "
            "(default 0.5 on cell spaces, 0.25 on hybrid).",
        ),
    ] = None,
    size_weight: Annotated[
        float | None,
        typer.Option(
            "--size-weight",
            help="cyclic: weight of the size proxy in the winner rule (default 1 on cell spaces, 0 on hybrid).",
        ),
    ] = None,
    params_weight: Annotated[
        float | None,
        typer.Option(
            "--params-weight",
            help="cyclic: weight of #Params in the winner rule (default 1 on spaces with size genes, 0 on cells).",
        ),
    ] = None,
    skip_weight: Annotated[
        float | None,
        typer.Option(
            "--skip-weight",
            help="cyclic: weight of the skip-length prior in the winner rule (default 0.25 on cell spaces).",
        ),
    ] = None,
    budget_weight: Annotated[
        float | None,
        typer.Option(
            "--budget-weight",
            help="cyclic: weight of the share of the budget a candidate uses, in the winner rule "
            "(default 0.25 on cell spaces, 0 on hybrid).",
        ),
    ] = None,
    proxy: Annotated[
        str | None,
        typer.Option("--proxy", help="single / random: the one proxy (--proxy alone means --strategy single)."),
    ] = None,
    cycles: Annotated[int | None, typer.Option("--cycles", help="cyclic: topology+size cycles (default 3).")] = None,
    initial_samples: Annotated[
        int | None,
        typer.Option(
            "--initial-samples",
            help="cyclic: random feasible archs to start from, the best by the winner rule "
            "(default: the population on a space with size genes, 0 otherwise).",
        ),
    ] = None,
    evaluations: Annotated[
        int | None,
        typer.Option(
            "--evaluations",
            "-n",
            help="Proxy evaluations (unique architectures scored; default 500, a family's 750 in all).",
        ),
    ] = None,
    budget_s: Annotated[
        float | None, typer.Option("--budget-s", help="Stop after this many seconds of search.")
    ] = None,
    population: Annotated[
        int | None, typer.Option("--population", help="Ageing-evolution population size (default: the strategy's).")
    ] = None,
    tournament: Annotated[
        int | None, typer.Option("--tournament", help="Tournament size (default: the strategy's).")
    ] = None,
    screen: Annotated[
        int | None,
        typer.Option(
            "--screen",
            help="Children bred per child scored: a surrogate fitted on the scored ones keeps the most "
            "promising (1: no screening; default: the strategy's).",
        ),
    ] = None,
    parallel: Annotated[
        int | None,
        typer.Option(
            "--parallel",
            help="Children bred per step and scored together: how many CPUs a step can use. Part of the result "
            "(the same K gives the same result on any executor and worker count); default "
            f"{DEFAULT_PARALLEL}, {CLUSTER_PARALLEL} with --executor ray, a resumed run's own with --resume "
            "(docs/scale.md).",
        ),
    ] = None,
    seed: SeedOpt = 0,
    workers: Annotated[
        int, typer.Option("--workers", "-w", help="Processes that score candidates (results do not depend on it).")
    ] = 1,
    executor: ExecutorOpt = "local",
    ray_address: RayAddressOpt = None,
    batch: TaskBatchOpt = None,
    threads: ThreadsOpt = 1,
    resolution: ResolutionOpt = None,
    proxy_resolution: Annotated[
        int | None,
        typer.Option(
            "--proxy-resolution",
            help="Input resolution the proxies score at (default: the space's, see `hwnas spaces`).",
            callback=check_resolution,
        ),
    ] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the interrupted search in --out.")] = False,
    no_probe: NoProbeOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Search SPACE for the best architecture under a latency budget, without training."""
    # validated before anything is named after them
    targets = search_targets(device or [], latency_ms, params_m, flops_m)
    constraints, family = targets.constraints, targets.family
    if device and latency_table is not None:
        raise UsageError("give exactly one of --device NAME or --latency-table FILE")
    if not device and latency_table is None:
        device = [DEFAULT_DEVICE]
        stderr.print(f"no --device or --latency-table: searching for the default device, {DEFAULT_DEVICE}")
    names = device or []
    if out is None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        bound = "-".join(f"{b:g}" for b in targets.latency_budgets) + "ms"
        where = "+".join(names) if names else latency_table.stem  # type: ignore[union-attr]
        out = Path("runs") / f"{where}-{bound}-{stamp}"
        stderr.print(f"writing the run to {out}")
    if evaluations is not None and budget_s is not None:
        raise UsageError("give --evaluations or --budget-s, not both")
    chosen = build_strategy(
        strategy,
        proxy=proxy,
        topology_proxy=topology_proxy,
        size_proxy=size_proxy,
        topology_weight=topology_weight,
        size_weight=size_weight,
        params_weight=params_weight,
        skip_weight=skip_weight,
        budget_weight=budget_weight,
        cycles=cycles,
        initial_samples=initial_samples,
        population=population,
        tournament=tournament,
        screen=screen,
    )
    search_space = get_space(space)
    config = SearchConfig(
        space=space,
        constraints=constraints,
        strategy=chosen,
        evaluations=evaluations if evaluations is not None else default_evaluations(family, budget_s),
        parallel=parallel if parallel is not None else _default_parallel(executor, out, resume),
        seed=seed,
        resolution=resolution,
        proxy_resolution=proxy_resolution,
        family=family,
        devices=targets.devices,
    )
    _check_proxies(config)
    from hwnas.executors import check_executor, make_executor

    check_executor(executor, workers=workers, address=ray_address, batch=batch, threads=threads)  # before the probe
    source = load_search_source(
        search_space, names, targets.devices, latency_table, latency_column, resolution, probe=not no_probe
    )
    label = "+".join(names) if names else None
    runner = make_executor(executor, workers=workers, address=ray_address, batch=batch, threads=threads)
    if parallel is None and not resume and config.parallel != DEFAULT_PARALLEL:
        stderr.print(  # once the cluster answers: no note before an error
            f"--executor {executor}: {config.parallel} children per step (--parallel {config.parallel}); "
            f"--parallel {DEFAULT_PARALLEL} gives the local executor's result"
        )
    total = config.evaluations if budget_s is None else None
    with (
        runner,
        Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[status]}"),
            console=stderr,
            disable=not stderr.is_terminal,  # no bar in logs and pipes: only the summary and errors
            transient=True,
        ) as progress,
    ):
        task = progress.add_task(f"search {space}", total=total, status="")

        def on_step(state, phase) -> None:
            where = f"cycle {phase.cycle + 1} {phase.name}" if phase else "done"
            progress.update(
                task,
                completed=state.evaluations,
                status=f"{where} | infeasible {state.infeasible} (unknown latency {state.unknown_latency})",
            )

        def on_round(states, phase) -> None:
            where = f"cycle {phase.cycle + 1} {phase.name}" if phase else "done"
            progress.update(task, completed=len(states[0].history), status=f"{len(states)} budgets | {where}")

        kwargs: dict[str, Any] = dict(device=label, workers=workers, resume=resume, budget_s=budget_s, executor=runner)
        if family is not None:
            result = run_family(config, source, out, on_step=on_round, **kwargs)
        else:
            result = run_search(config, source, out, on_step=on_step, **kwargs)
    if json_out:
        emit_json(result)
        return
    if family is not None:
        print_family(result)
    else:
        print_summary(result)


#: Proxy evaluations of a search when --evaluations is not given.
DEFAULT_EVALUATIONS = 500


def default_evaluations(family: Any, budget_s: float | None) -> int:
    """A single search's 500; a family's 1.5 times that, shared by all its members (docs/search.md:
    each member then matches its single-budget twin on the NB201 dev grid)."""
    if budget_s:
        return MAX_EVALUATIONS
    return round(FAMILY_COST * DEFAULT_EVALUATIONS) if family is not None else DEFAULT_EVALUATIONS


def _default_parallel(executor: str, out: Path, resume: bool) -> int:
    return default_parallel(executor, RunDir(out).saved_config() if resume else None)


def build_strategy(name: str | None, **options: object) -> Strategy:
    """The strategy object from the command line: options left out keep the strategy's defaults;
    an option the strategy does not take is a usage error naming it."""
    chosen = name or ("single" if options.get("proxy") else DEFAULT_STRATEGY)
    given = {k: v for k, v in options.items() if v is not None}
    return make_strategy(chosen, **given)


def _check_proxies(config: SearchConfig) -> None:
    from hwnas.proxies import PROXIES

    for name in config.scored_proxies:
        PROXIES.get(name)


def strategies(space: SpaceOpt = DEFAULT_SPACE, json_out: JsonOpt = False) -> None:
    """List the search strategies: their defaults, scored proxies, phases and winner rule on SPACE."""
    from hwnas.search.strategies import STRATEGIES

    search_space = get_space(space)
    data: list[dict[str, Any]] = []
    for name in STRATEGIES.names():
        strategy = make_strategy(name)
        phases = strategy.phases(search_space, 500)
        data.append(
            {
                "name": name,
                "description": (type(strategy).__doc__ or "").strip().splitlines()[0],
                "defaults": strategy.to_json(),
                "proxies": list(strategy.proxies_for(search_space)),
                "phases": [f"{p.name} ({p.operator}, {p.fitness.describe()})" for p in phases],
                "selection": strategy.selection(search_space),
            }
        )
    if json_out:
        emit_json({"space": space, "strategies": data})
        return
    table = Table(
        "strategy",
        "what",
        "phases (500 evaluations)",
        "winner",
        title=f"strategies on {space}",
        title_justify="left",
        show_lines=True,
    )
    for entry in data:
        phases = entry["phases"]
        shown = phases if len(phases) <= 2 else [*phases[:2], f"... {len(phases)} phases"]
        table.add_row(
            entry["name"] + (" (default)" if entry["name"] == DEFAULT_STRATEGY else ""),
            entry["description"],
            "\n".join(shown),
            entry["selection"],
        )
    stdout.print(table)


def register(app: typer.Typer) -> None:
    app.command("search")(search)
    app.command("strategies")(strategies)
