"""Search and bulk scoring on a real two-node Ray cluster give exactly the local results, through faults.

The cluster (conftest.py) is two ``ray start`` nodes of one CPU each on 127.0.0.1; the
commands run as separate processes, as a user runs them, with ``--ray-address``.
"""

from __future__ import annotations

import csv
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

REPO = Path(__file__).resolve().parents[2]
NB201_DEV_CSV = REPO.parent / "shared" / "data" / "nb201" / "nb201_dev_cifar10.csv"
NB201_LATENCY_CSV = nb201_latency_csv()
EVALUATIONS = "60"


def search_args(out: Path, *extra: str, parallel: str = "4") -> list[str]:
    """A search with an explicit --parallel (the default differs between executors: docs/scale.md)."""
    return [
        "search", "--space", "nb201", "--latency-table", str(NB201_LATENCY_CSV),
        "--latency-column", "pixel3_latency_ms", "--parallel", parallel,
        "--latency-ms", "10.66", "-n", EVALUATIONS, "--seed", "3", "--out", str(out), *extra,
    ]  # fmt: skip


def hwnas(args: list[str], env: dict[str, str], **kwargs: object) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "hwnas.cli.main", *args],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,  # type: ignore[arg-type]
    )


def finish(proc: subprocess.Popen, timeout: float = 120) -> tuple[int, str]:
    _, err = proc.communicate(timeout=timeout)
    return proc.returncode, err


def result(out: Path) -> str:
    return (out / "best.json").read_text() + (out / "history.jsonl").read_text()


@pytest.fixture(scope="module")
def local_result(tmp_path_factory: pytest.TempPathFactory) -> str:
    out = tmp_path_factory.mktemp("local") / "run"
    assert main(search_args(out, "--executor", "local")) == 0
    return result(out)


def evaluations_done(out: Path) -> int:
    try:
        return int(json.loads((out / "checkpoint.json").read_text())["state"]["evaluations"])
    except (OSError, ValueError, KeyError):
        return 0


def busy_workers(cluster) -> list[int]:
    """This cluster's worker processes running a scoring task (Ray titles them after the task)."""
    found = []
    for pid in cluster.processes():
        try:
            title = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if title.startswith(b"ray::") and b"_run_batch" in title:
            found.append(pid)
    return found


def test_search_on_ray_writes_the_same_best_json_as_local(ray_cluster, local_result, tmp_path: Path) -> None:
    out = tmp_path / "ray"
    code, err = finish(hwnas(search_args(out, "--executor", "ray", "--ray-address", ray_cluster.address),
                             ray_cluster.driver_env()))  # fmt: skip
    assert code == 0, err
    assert result(out) == local_result  # best.json and the whole history, byte for byte
    run = json.loads((out / "run.json").read_text())
    assert run["executor"]["executor"] == "ray" and run["executor"]["workers"] == ray_cluster.cpus == 2


def test_a_ray_worker_killed_mid_search_changes_nothing(ray_cluster, local_result, tmp_path: Path) -> None:
    out = tmp_path / "ray"
    proc = hwnas(search_args(out, "--executor", "ray", "--ray-address", ray_cluster.address, "--batch", "1"),
                 ray_cluster.driver_env())  # fmt: skip
    killed: list[int] = []
    deadline = time.monotonic() + 60
    while not killed and proc.poll() is None and time.monotonic() < deadline:
        if evaluations_done(out) >= 8:
            for pid in busy_workers(ray_cluster)[:1]:
                os.kill(pid, signal.SIGKILL)  # the worker dies in the middle of scoring a candidate
                killed.append(pid)
        time.sleep(0.02)
    code, err = finish(proc)
    assert killed, "no busy worker was found to kill"
    assert code == 0, err
    assert evaluations_done(out) == int(EVALUATIONS)
    assert result(out) == local_result  # Ray retried the lost task; the result is the same


def test_ctrl_c_stops_the_cluster_jobs_and_the_checkpoint_resumes_on_either_executor(
    ray_cluster, local_result, tmp_path: Path
) -> None:
    env = ray_cluster.driver_env()
    ray_args = ["--executor", "ray", "--ray-address", ray_cluster.address, "--batch", "1"]

    def interrupted(out: Path, *extra: str) -> None:
        proc = hwnas(search_args(out, *extra), env)
        while evaluations_done(out) < 8 and proc.poll() is None:
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        code, err = finish(proc, timeout=30)
        assert code == 130, err
        assert err.strip().splitlines()[-1].startswith("error: interrupted: what was done so far is saved")
        assert 8 <= evaluations_done(out) < int(EVALUATIONS)

    # begun on Ray, interrupted, resumed locally
    first = tmp_path / "ray-then-local"
    interrupted(first, *ray_args)
    deadline = time.monotonic() + 10
    while busy_workers(ray_cluster) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not busy_workers(ray_cluster), "a scoring task kept running after Ctrl-C"
    assert main([*search_args(first, "--executor", "local"), "--resume"]) == 0
    assert result(first) == local_result

    # begun locally, interrupted, resumed on Ray
    second = tmp_path / "local-then-ray"
    interrupted(second, "--executor", "local")
    code, err = finish(hwnas([*search_args(second, *ray_args), "--resume"], env))
    assert code == 0, err
    assert result(second) == local_result


def scores(path: Path) -> list[list[str]]:
    """The table without its timing columns (seconds differ from run to run)."""
    with path.open(newline="") as fh:
        return [[v for k, v in row.items() if not k.startswith("seconds_")] for row in csv.DictReader(fh)]


def test_bulk_scoring_and_bench_proxies_on_ray_equal_local(ray_cluster, nb201_dev_rows, tmp_path: Path) -> None:
    archs = tmp_path / "archs.txt"
    archs.write_text("\n".join(row["arch_str"] for row in nb201_dev_rows[:16]) + "\n")
    score = ["score", "--space", "nb201", "--archs", str(archs), "--proxies", "es,logsynflow,naswot", "--seed", "5"]
    bench = ["bench-proxies", "--ground-truth", str(NB201_DEV_CSV), "--accuracy-column", "cifar10_test_acc",
             "--sample", "16", "--proxies", "es,naswot,es+naswot", "--seed", "5"]  # fmt: skip
    ray = ["--executor", "ray", "--ray-address", ray_cluster.address]
    env = ray_cluster.driver_env()
    # batch 1: 16 tasks on two nodes finish out of order; the table's rows must not
    procs = [
        hwnas([*score, "--out", str(tmp_path / "ray.csv"), *ray, "--batch", "1"], env),
        hwnas([*bench, "--out", str(tmp_path / "bench-ray"), *ray], env),
    ]
    assert main([*score, "--out", str(tmp_path / "local.csv")]) == 0
    assert main([*bench, "--out", str(tmp_path / "bench-local")]) == 0
    for proc in procs:
        code, err = finish(proc)
        assert code == 0, err
    assert scores(tmp_path / "ray.csv") == scores(tmp_path / "local.csv")
    assert len(scores(tmp_path / "ray.csv")) == 16
    assert scores(tmp_path / "bench-ray" / "scores.csv") == scores(tmp_path / "bench-local" / "scores.csv")

    def judged(folder: str) -> list[tuple[str, float, float]]:
        report = json.loads((tmp_path / folder / "report.json").read_text())
        return [(p["name"], p["spearman"], p["kendall"]) for p in report["proxies"]]

    assert judged("bench-ray") == judged("bench-local")


def test_a_given_parallel_k_on_ray_equals_local_with_two_workers(ray_cluster, tmp_path: Path) -> None:
    """--parallel 8: 8 children per step spread over both nodes; the result is the local one, byte for byte."""
    ray = tmp_path / "ray"
    proc = hwnas(search_args(ray, "--executor", "ray", "--ray-address", ray_cluster.address, parallel="8"),
                 ray_cluster.driver_env())  # fmt: skip
    local = tmp_path / "local"
    assert main(search_args(local, "--workers", "2", parallel="8")) == 0
    code, err = finish(proc)
    assert code == 0, err
    assert result(ray) == result(local)
    assert json.loads((ray / "best.json").read_text())["config"]["parallel"] == 8


def test_more_threads_than_a_node_has_cpus_is_one_line_not_a_hang(ray_cluster, capsys, tmp_path: Path) -> None:
    args = search_args(tmp_path / "run", "--executor", "ray", "--ray-address", ray_cluster.address, "--threads", "2")
    proc = hwnas(args, ray_cluster.driver_env())
    code, err = finish(proc, timeout=60)
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 1, err
    assert lines[0].startswith("error: --threads 2: a task holds that many CPUs, and the largest node"), err
