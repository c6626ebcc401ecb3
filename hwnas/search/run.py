"""Run a search into a run directory: resume, checkpoint per step, write the results."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from hwnas.errors import UsageError
from hwnas.executors import Executor
from hwnas.io import announce_checkpoint, missing_folders, remove_empty_folders
from hwnas.records import BestRecord
from hwnas.search.config import SearchConfig, SearchState
from hwnas.search.engine import Phase, SearchEngine
from hwnas.search.family_engine import FamilyEngine
from hwnas.search.rundir import RunDir, best_document, plot_pareto
from hwnas.search.scoring import ProxyScorer

T = TypeVar("T")


def open_run_dir(out: str | Path, resume: bool) -> RunDir:
    """The run directory; one that holds a checkpoint is continued only with ``resume``, so a finished
    or interrupted run is never overwritten by accident."""
    run_dir = RunDir(out)
    announce_checkpoint(run_dir.path)
    if run_dir.has_checkpoint() and not resume:
        raise UsageError(
            f"{run_dir.path} already holds a search: pass --resume to continue it, or choose another --out"
        )
    return run_dir


def run_creating(run_dir: RunDir, run: Callable[[], T]) -> T:
    """``run()`` with the run directory created for it; a search that fails before its first checkpoint
    leaves no folder behind."""
    created = missing_folders(run_dir.path)
    run_dir.path.mkdir(parents=True, exist_ok=True)
    try:
        return run()
    except BaseException:
        remove_empty_folders(created)
        raise


def run_search(
    config: SearchConfig,
    latency_source: Any,
    out: str | Path,
    *,
    device: str | None = None,
    workers: int = 1,
    resume: bool = False,
    budget_s: float | None = None,
    on_step: Callable[[SearchState, Phase | None], None] | None = None,
    scorer: ProxyScorer | None = None,
    executor: Executor | None = None,
) -> dict[str, Any]:
    """Search, checkpointing after every step; returns {"best": best.json's content, "run": ..., "out": ...}.

    An existing checkpoint in ``out`` is continued with ``resume=True`` and refused
    otherwise, so a finished or interrupted run is never overwritten by accident. The
    checkpoint holds no trace of the executor: a run begun on Ray resumes locally and back.
    """
    run_dir = open_run_dir(out, resume)
    state = run_dir.load_checkpoint(config) if run_dir.has_checkpoint() else None
    engine = SearchEngine(
        config, latency_source, workers=workers, state=state, budget_s=budget_s, scorer=scorer, executor=executor
    )
    where = engine.scorer.executor.describe()  # before the run closes it
    started = time.perf_counter()

    def step_done(st: SearchState, phase: Phase | None) -> None:
        run_dir.save_checkpoint(config, st)
        if on_step is not None:
            on_step(st, phase)

    state = run_creating(run_dir, lambda: engine.run(step_done))
    run_dir.save_checkpoint(config, state)
    winner = engine.winner()
    describe = getattr(latency_source, "describe", None)
    best = best_document(
        config, winner, device=device, latency_source=describe() if describe else {}, selection=engine.selection
    )
    run = {
        "evaluations": state.evaluations,
        "candidates_checked": state.attempts,
        "infeasible": state.infeasible,
        "unknown_latency": state.unknown_latency,
        "cache_hits": state.cache_hits,
        "search_s": round(state.elapsed_s, 3),
        "this_invocation_s": round(time.perf_counter() - started, 3),
        "stop_reason": state.stop_reason,
        "phases": [p.to_json() for p in engine.phases],
        "workers": where["workers"],
        "executor": where,
    }
    run_dir.write_history(state)
    run_dir.write_best(best)
    run_dir.write_run(run)
    plot_pareto(state.history, best, config.scored_proxies, run_dir.path / "pareto.png")
    return {"best": best.to_json(), "run": run, "out": str(run_dir.path)}


def run_family(
    config: SearchConfig,
    latency_source: Any,
    out: str | Path,
    *,
    device: str | None = None,
    workers: int = 1,
    resume: bool = False,
    budget_s: float | None = None,
    on_step: Callable[[list[SearchState], Phase | None], None] | None = None,
    scorer: ProxyScorer | None = None,
    executor: Executor | None = None,
) -> dict[str, Any]:
    """A budget family's search (``config.family``), checkpointing after every round; returns
    {"family": family.json's content, "members": each best-<budget>.json, "run": ..., "out": ...}."""
    if config.family is None:
        raise UsageError("run_family needs a config with a family (run_search runs one budget)")
    run_dir = open_run_dir(out, resume)
    states = run_dir.load_family_checkpoint(config) if run_dir.has_checkpoint() else None
    engine = FamilyEngine(
        config, latency_source, workers=workers, states=states, budget_s=budget_s, scorer=scorer, executor=executor
    )
    where = engine.scorer.executor.describe()
    started = time.perf_counter()

    def round_done(sts: list[SearchState], phase: Phase | None) -> None:
        run_dir.save_family_checkpoint(config, sts)
        if on_step is not None:
            on_step(sts, phase)

    states = run_creating(run_dir, lambda: engine.run(round_done))
    run_dir.save_family_checkpoint(config, states)
    describe = getattr(latency_source, "describe", None)
    family = config.family
    members, bests = [], []
    for budget, member, winner in zip(family.budgets, engine.members, engine.winners(), strict=True):
        best = best_document(
            member.config, winner, device=device, latency_source=describe() if describe else {},
            selection=member.selection,
        )  # fmt: skip
        name = f"best-{family.label(budget)}.json"
        run_dir.write_json(name, best.to_json())
        bests.append(best.to_json())
        use = member.checker.budget_use(member.space.decode(winner["arch"]))
        members.append(
            {
                "budget": budget, "label": family.label(budget), "file": name, "arch": winner["arch"],
                "predicted_latency_ms": winner["latency_ms"], "params_m": winner["params_m"],
                "flops_m": winner["flops_m"], "budget_use": use, "scores": dict(winner["scores"]),
                "evaluations": member.state.evaluations,
            }
        )  # fmt: skip
    document = {
        "family": family.to_json(),
        "space": config.space,
        "device": device,
        "constraints": config.constraints.as_dict(),
        "seed": config.seed,
        "selection": engine.members[0].strategy.selection(engine.members[0].space),
        "members": members,
        "config": config.to_json(),
    }
    run_dir.write_json("family.json", document)
    run = {
        "evaluations": len(engine.history),
        "member_evaluations": [s.evaluations for s in states],
        "candidates_checked": sum(s.attempts for s in states),
        "cache_hits": sum(s.cache_hits for s in states),
        "search_s": round(engine.elapsed_s, 3),
        "this_invocation_s": round(time.perf_counter() - started, 3),
        "stop_reason": "; ".join(dict.fromkeys(s.stop_reason for s in states)),
        "workers": where["workers"],
        "executor": where,
    }
    run_dir.write_history(states[0])
    run_dir.write_run(run)
    records = [BestRecord.from_json(b) for b in bests]
    labels = [m["label"] for m in members]
    plot_pareto(engine.history, records, config.scored_proxies, run_dir.path / "pareto.png", labels)
    return {"family": document, "members": bests, "run": run, "out": str(run_dir.path)}
