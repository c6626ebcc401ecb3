"""The search: constraints respected, unknown latency counted, deterministic, resumable."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from dev_data import nb201_latency_csv

from hwnas.cli.main import main
from hwnas.search import Constraints, SearchConfig, make_strategy, plan_phases, run_search
from hwnas.search.config import CLUSTER_PARALLEL, DEFAULT_PARALLEL, default_parallel
from hwnas.spaces import get_space

NB201_DEV_CSV = nb201_latency_csv()  # the dev CSV, or a synthetic latency table without ../shared

CHEAP = ["--topology-proxy", "sed", "--size-proxy", "params"]


def nb201_args(out: Path, *extra: str) -> list[str]:
    return [
        "search",
        "--space",
        "nb201",
        "--latency-table",
        str(NB201_DEV_CSV),
        "--latency-column",
        "pixel3_latency_ms",
        "--latency-ms",
        "10.66",
        *CHEAP,
        "--out",
        str(out),
        *extra,
    ]


@pytest.fixture()
def dev_table():
    from hwnas.latency.sources import ArchLatencyTable

    return ArchLatencyTable.from_csv(NB201_DEV_CSV, get_space("nb201"), latency_column="pixel3_latency_ms")


def test_phases_alternate_and_split_the_budget() -> None:
    config = SearchConfig(
        space="hybrid", constraints=Constraints(5.0), strategy=make_strategy("cyclic", cycles=2), evaluations=101
    )
    phases = plan_phases(config, get_space("hybrid"))
    # a space with size genes starts from the best of a random sample by the winner rule
    initial, phases = phases[0], phases[1:]
    assert (initial.name, initial.operator, initial.budget) == ("initial", "sample", 25)
    assert initial.fitness == make_strategy("cyclic").winner_fitness(get_space("hybrid"))
    assert [p.name for p in phases] == ["topology", "size", "topology", "size"]
    assert [p.fitness.proxies for p in phases] == [("es",), ("logsynflow",)] * 2
    assert [p.operator for p in phases] == ["topology", "size"] * 2
    assert initial.budget + sum(p.budget for p in phases) == 101
    unsampled = SearchConfig(
        space="hybrid", constraints=Constraints(5.0), strategy=make_strategy("cyclic", initial_samples=0)
    )
    assert plan_phases(unsampled, get_space("hybrid"))[0].name == "topology"
    tiny = SearchConfig(space="hybrid", constraints=Constraints(5.0), evaluations=1)
    assert [p.name for p in plan_phases(tiny, get_space("hybrid"))] == ["topology"]  # never all sampling
    nb201 = plan_phases(SearchConfig(space="nb201", constraints=Constraints()), get_space("nb201"))
    # no size genes: both phases evolve the cell, after a random sample that trains the screen's
    # surrogate and sets the winner rule's scale (2 x population; docs/search.md)
    assert (nb201[0].name, nb201[0].operator, nb201[0].budget) == ("initial", "sample", 50)
    assert {p.operator for p in nb201[1:]} == {"topology"}
    assert [p.name for p in nb201[1:3]] == ["topology", "joint"]
    assert nb201[2].fitness == make_strategy("cyclic").winner_fitness(get_space("nb201"))
    plain = make_strategy("cyclic", screen=1)  # without screening: no sample on a space without size genes
    assert (
        plan_phases(SearchConfig(space="nb201", constraints=Constraints(), strategy=plain), get_space("nb201"))[0].name
        == "topology"
    )
    single = plan_phases(
        SearchConfig(space="nb201", constraints=Constraints(), strategy=make_strategy("single", proxy="sed")),
        get_space("nb201"),
    )
    assert len(single) == 1 and single[0].operator == "any"


def test_cyclic_winner_must_rank_high_on_both_proxies() -> None:
    scores = [
        {"es": es, "logsynflow": ls, "skip_length": 1.0}
        for es, ls in [(1.0, 1e3), (5.0, 10.0), (4.0, 9e2), (3.0, 10.0)]
    ]
    fused = make_strategy("cyclic").winner_fitness(get_space("nb201"))
    assert fused.proxies == ("es", "logsynflow", "skip_length")
    assert fused.best(scores) == 2  # 0 has the most logsynflow but the least ES; 1 the most ES but little size
    assert make_strategy("single", proxy="logsynflow").winner_fitness(get_space("nb201")).best(scores) == 0


def test_every_reported_candidate_meets_the_constraints(tmp_path, dev_table) -> None:
    config = SearchConfig(
        space="nb201",
        constraints=Constraints(latency_ms=8.0, params_m=0.5),
        strategy=make_strategy("cyclic", topology_proxy="sed", size_proxy="params"),
        evaluations=40,
        seed=3,
    )
    result = run_search(config, dev_table, tmp_path / "run")
    history = [json.loads(line) for line in (tmp_path / "run" / "history.jsonl").read_text().splitlines()]
    assert len(history) == result["run"]["evaluations"] >= 30
    for h in history:
        assert h["latency_ms"] is not None and h["latency_ms"] <= 8.0
        assert h["params_m"] <= 0.5
        assert h["phase"] in ("initial", "topology", "joint") and h["cycle"] in (0, 1, 2)
    best = result["best"]
    assert best["predicted_latency_ms"] <= 8.0 and best["params_m"] <= 0.5
    # with the dev CSV only 3,000 of 15,625 archs are in the table: the rest are infeasible and counted apart
    if len(dev_table.latency_ms) < 15625:
        assert result["run"]["unknown_latency"] > 0
    assert result["run"]["infeasible"] >= result["run"]["unknown_latency"]
    assert (tmp_path / "run" / "pareto.png").stat().st_size > 0


def test_same_seed_same_result_and_workers_do_not_matter(tmp_path, dev_table) -> None:
    def best(out: str, seed: int, workers: int = 1) -> str:
        config = SearchConfig(
            space="nb201",
            constraints=Constraints(latency_ms=10.66),
            evaluations=24,
            seed=seed,
            strategy=make_strategy("cyclic", topology_proxy="sed", size_proxy="params"),
        )
        run_search(config, dev_table, tmp_path / out, workers=workers)
        return (tmp_path / out / "best.json").read_text() + (tmp_path / out / "history.jsonl").read_text()

    first = best("a", 1)
    assert best("b", 1) == first
    assert best("c", 1, workers=2) == first
    assert best("d", 2) != first


def test_a_given_parallel_k_gives_the_same_result_on_any_number_of_workers(tmp_path, dev_table) -> None:
    """K children per step are bred in the driver and scored together: K shapes the result, workers never do."""

    def run(out: str, parallel: int, workers: int) -> tuple[str, dict]:
        config = SearchConfig(
            space="nb201",
            constraints=Constraints(latency_ms=10.66),
            evaluations=40,
            parallel=parallel,
            seed=1,
            strategy=make_strategy("cyclic", topology_proxy="sed", size_proxy="params"),
        )
        result = run_search(config, dev_table, tmp_path / out, workers=workers)
        return (tmp_path / out / "best.json").read_text() + (tmp_path / out / "history.jsonl").read_text(), result

    sixteen, result = run("a", 16, workers=1)
    assert result["best"]["config"]["parallel"] == 16
    assert run("b", 16, workers=2)[0] == sixteen
    assert run("c", 4, workers=1)[0] != sixteen
    # K above the population (25): a phase's first step breeds every child from the incumbent
    assert run("d", 32, workers=1)[1]["run"]["evaluations"] == 40


def test_an_older_checkpoint_with_batch_still_resumes(tmp_path, capsys) -> None:
    """Runs saved before the step size was named ``parallel`` (it was ``batch``) load and resume."""
    out = tmp_path / "run"
    assert main(nb201_args(out, "-n", "8", "--json")) == 0
    capsys.readouterr()
    checkpoint = json.loads((out / "checkpoint.json").read_text())
    checkpoint["config"]["batch"] = checkpoint["config"].pop("parallel")
    (out / "checkpoint.json").write_text(json.dumps(checkpoint))
    assert SearchConfig.from_json(checkpoint["config"]).parallel == 4
    assert main(nb201_args(out, "-n", "8", "--resume", "--json")) == 0
    assert main(nb201_args(out, "-n", "8", "--parallel", "8", "--resume")) == 2
    assert "other settings (parallel)" in capsys.readouterr().err


def test_parallel_defaults_by_executor_and_a_resumed_run_keeps_its_own(tmp_path, capsys) -> None:
    assert default_parallel("local") == DEFAULT_PARALLEL == 4
    assert default_parallel("ray") == CLUSTER_PARALLEL
    assert default_parallel("ray", {"parallel": 8}) == default_parallel("local", {"parallel": 8}) == 8
    out = tmp_path / "run"
    assert main(nb201_args(out, "-n", "8", "--parallel", "8", "--json")) == 0
    capsys.readouterr()
    assert main(nb201_args(out, "-n", "8", "--resume", "--json")) == 0  # no --parallel: the run's own 8
    assert json.loads((out / "best.json").read_text())["config"]["parallel"] == 8


def test_existing_run_needs_resume_and_same_settings(tmp_path, capsys) -> None:
    out = tmp_path / "run"
    assert main(nb201_args(out, "-n", "8", "--json")) == 0
    capsys.readouterr()
    assert main(nb201_args(out, "-n", "8")) == 2
    assert "--resume" in capsys.readouterr().err
    assert main(nb201_args(out, "-n", "9", "--resume")) == 2
    assert "other settings" in capsys.readouterr().err


def test_killed_search_resumes_to_the_same_best(tmp_path) -> None:
    """A real SIGKILL mid-run, then --resume: best.json and history equal an uninterrupted run's."""
    reference = tmp_path / "reference"
    assert main(nb201_args(reference, "-n", "60", "--seed", "5", "--json")) == 0

    interrupted = tmp_path / "interrupted"
    cmd = [sys.executable, "-m", "hwnas", *nb201_args(interrupted, "-n", "60", "--seed", "5", "--json")]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    checkpoint = interrupted / "checkpoint.json"
    deadline = time.time() + 120
    while time.time() < deadline:
        if checkpoint.exists():
            try:
                state = json.loads(checkpoint.read_text())["state"]
            except ValueError:
                state = {"evaluations": 0}
            if state["evaluations"] >= 12:
                break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (interrupted / "best.json").exists(), "the run finished before it could be killed"
    state = json.loads(checkpoint.read_text())["state"]
    assert 0 < state["evaluations"] < 60

    assert main(nb201_args(interrupted, "-n", "60", "--seed", "5", "--resume", "--json")) == 0
    for name in ("best.json", "history.jsonl"):
        assert (interrupted / name).read_text() == (reference / name).read_text(), name


def test_device_without_table_says_to_profile(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # no latency_tables/ here
    code = main(["search", "--device", "raspberry-pi-5", "--latency-ms", "5", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 1 and "hwnas profile --device raspberry-pi-5" in err and err.count("\n") == 1


def test_exactly_one_latency_source(tmp_path, capsys) -> None:
    code = main(
        [
            "search",
            "--latency-ms",
            "5",
            "--out",
            str(tmp_path / "o"),
            "--device",
            "host-cpu",
            "--latency-table",
            "x.csv",
        ]
    )
    assert code == 2 and "exactly one of --device" in capsys.readouterr().err


def test_search_with_only_a_budget_uses_the_default_device_and_a_new_run_folder(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    code = main(["search", "--latency-ms", "5", "-n", "3"])
    err = capsys.readouterr().err
    assert code == 0 and "default device, host-cpu" in err and "runs/host-cpu-5ms-" in err
    (run,) = (tmp_path / "runs").iterdir()
    best = json.loads((run / "best.json").read_text())
    assert best["device"] == "host-cpu" and best["predicted_latency_ms"] <= 5


@pytest.mark.parametrize("bound", ["nan", "inf", "-1", "0"])
def test_a_budget_that_is_not_a_finite_positive_number_is_a_usage_error(tmp_path, capsys, bound) -> None:
    args = nb201_args(tmp_path / "run", "-n", "4")
    args[args.index("--latency-ms") + 1] = bound
    code = main(args)
    err = capsys.readouterr().err
    assert code == 2 and "--latency-ms must be a finite number above 0" in err and err.count("\n") == 1
    assert not (tmp_path / "run").exists()


def test_a_non_finite_or_negative_table_entry_is_never_feasible() -> None:
    from hwnas.search.constraints import FeasibilityChecker

    class Corrupt:
        def predict_ms(self, space, arch, resolution=None) -> float:
            return {0: float("nan"), 1: -3.0}.get(len(space.encode(arch)) % 2, 1.0)

    space = get_space("nb201")
    checker = FeasibilityChecker(space, Constraints(latency_ms=5.0), Corrupt())
    for arch in space.sample_many(20, seed=0):
        verdict = checker.check(arch)
        assert not verdict.feasible and verdict.latency_unknown


def test_best_record_reads_an_old_best_json() -> None:
    """best.json written before the records (no schema_version) loads, and writes back the same keys plus it."""
    from hwnas.records import SCHEMA_VERSION, BestRecord

    old = {
        "arch": "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|nor_conv_1x1~0|avg_pool_3x3~1|none~2|",
        "space": "nb201",
        "strategy": "single",
        "selection": "highest es",
        "predicted_latency_ms": 4.2,
        "params_m": 0.3,
        "flops_m": 40.0,
        "resolution": 32,
        "scores": {"es": 1.5},
        "device": None,
        "latency_source": {"kind": "arch-table"},
        "constraints": {"latency_ms": 5.0},
        "seed": 3,
        "config": {"space": "nb201"},
        "hwnas_version": "0.1.0",
    }
    best = BestRecord.from_json(old)
    assert best.arch == old["arch"] and best.scores == {"es": 1.5} and best.device is None
    assert best.to_json() == {"schema_version": SCHEMA_VERSION, **old}
    assert BestRecord.from_json({"arch": old["arch"], "space": "nb201"}).resolution is None
