"""`hwnas score` and `hwnas bench-proxies`: files, resume, --data, and one-line errors."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from hwnas.cli.main import main
from hwnas.spaces import get_space
from hwnas.spaces.references import REFERENCES

NB = get_space("nb201")
ARCHS = [NB.encode(a) for a in NB.sample_many(4, seed=11)]
NB201_DEV_CSV = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "nb201" / "nb201_dev_cifar10.csv"


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def _rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_score_writes_csv_and_resumes(capsys, tmp_path) -> None:
    out = tmp_path / "scores.csv"
    code, stdout, _ = run(
        capsys,
        "score",
        *ARCHS[:2],
        "--space",
        "nb201",
        "-p",
        "params,sed,logsynflow",
        "--resolution",
        "16",
        "--out",
        out,
        "--json",
    )
    assert code == 0
    doc = json.loads(stdout)
    assert doc["scored"] == 2 and doc["reused"] == 0 and [r["arch"] for r in doc["rows"]] == ARCHS[:2]
    rows = _rows(out)
    assert list(rows[0]) == [
        "arch",
        "params",
        "sed",
        "logsynflow",
        "seconds_params",
        "seconds_sed",
        "seconds_logsynflow",
    ]
    archs_file = tmp_path / "archs.txt"
    archs_file.write_text("# four archs\n" + "\n".join(ARCHS) + "\n")
    code, stdout, err = run(
        capsys,
        "score",
        "--archs",
        archs_file,
        "--space",
        "nb201",
        "-p",
        "params,sed,logsynflow",
        "--resolution",
        "16",
        "--out",
        out,
        "--resume",
        "--json",
    )
    doc = json.loads(stdout)
    assert code == 0 and doc["scored"] == 2 and doc["reused"] == 2
    assert [r["arch"] for r in _rows(out)] == ARCHS
    assert {r["logsynflow"] for r in _rows(out)[:2]} == {r["logsynflow"] for r in rows}  # old rows kept as they were


def test_score_reads_stdin_and_prints_tables(capsys, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(ARCHS[:2]) + "\n"))
    code, stdout, err = run(
        capsys, "score", "--archs", "-", "--space", "nb201", "-p", "sed", "--out", tmp_path / "s.csv"
    )
    assert code == 0 and "sed" in stdout and "s/arch" in stdout
    assert "arch/s" not in stdout  # the progress bar (its rate column) never reaches stdout


def test_revisit_with_digits(capsys, tmp_path, digits_npz) -> None:
    out = tmp_path / "revisit.csv"
    code, stdout, err = run(
        capsys,
        "score",
        ARCHS[0],
        "--space",
        "nb201",
        "-p",
        "revisit,revisit_angle",
        "--data",
        digits_npz,
        "--resolution",
        "8",
        "--batch-size",
        "10",
        "--out",
        out,
        "--json",
    )
    assert code == 0, err
    row = json.loads(stdout)["rows"][0]
    assert row["revisit"] <= 0 and row["revisit_angle"] is not None


def test_bench_proxies_writes_report_and_plots_and_resumes(capsys, tmp_path, nb201_dev_rows) -> None:
    out = tmp_path / "bench"
    args = (
        "bench-proxies",
        "--space",
        "nb201",
        "--ground-truth",
        NB201_DEV_CSV,
        "--accuracy-column",
        "cifar10_test_acc",
        "--sample",
        "40",
        "--seed",
        "3",
        "-p",
        "params,sed,synflow,sed+synflow",
        "--resolution",
        "16",
        "--min-group",
        "5",
        "--out",
        out,
    )
    code, stdout, err = run(capsys, *args, "--json")
    assert code == 0, err
    report = json.loads(stdout)
    assert report == json.loads((out / "report.json").read_text())
    names = [p["name"] for p in report["proxies"]]
    assert names == ["params", "sed", "synflow", "sed+synflow"]
    for entry in report["proxies"]:
        assert (out / f"{entry['name']}.png").stat().st_size > 1000
        assert -1 <= entry["spearman"] <= 1 and entry["seconds_per_arch"] >= 0
    assert report["proxies"][0]["within_params_spearman"] is None  # params is constant within its groups
    assert report["proxies"][3]["fusion_of"] == ["sed", "synflow"]
    assert report["archs"] == 40 and report["scored_now"] == 40
    code, stdout, _ = run(capsys, *args)
    assert code == 0 and "Spearman" in stdout and "sed+synflow" in stdout
    assert json.loads((out / "report.json").read_text())["scored_now"] == 0  # everything reused


@pytest.mark.parametrize(
    "args",
    [
        ("score", ARCHS[0], "--space", "nb201", "-p", "nope", "--out", "{tmp}/s.csv"),
        ("score", ARCHS[0], "--space", "nb201", "-p", "revisit", "--out", "{tmp}/s.csv"),
        ("score", ARCHS[0], "--space", "nb201", "-p", "revisit", "--data", "{tmp}/missing.npz", "--out", "{tmp}/s.csv"),
        ("score", "not-an-arch", "--space", "nb201", "-p", "sed", "--out", "{tmp}/s.csv"),
        ("score", ARCHS[0], "--space", "nb201", "-p", "sed"),
        ("score", "--space", "nb201", "-p", "sed", "--out", "{tmp}/s.csv"),
        ("score", "--archs", "{tmp}/missing.txt", "--space", "nb201", "-p", "sed", "--out", "{tmp}/s.csv"),
        ("score", ARCHS[0], "--space", "nb201", "-p", "es", "--batch-size", "0", "--out", "{tmp}/s.csv"),
        (
            "score",
            "w24-e2:ib3/w48-e2-q32-h2:tm/w96-e2-q64-h2:cn3,ti5/w160-e2-q96-h2:tc3",
            "-p",
            "sed",
            "--resolution",
            "50",
            "--out",
            "{tmp}/s.csv",
        ),
        ("bench-proxies", "--ground-truth", "{tmp}/missing.csv", "--accuracy-column", "acc", "--out", "{tmp}/b"),
        ("bench-proxies", "--ground-truth", "{gt}", "--accuracy-column", "nope", "--out", "{tmp}/b"),
        ("bench-proxies", "--ground-truth", "{gt}", "--accuracy-column", "acc", "-p", "sed+", "--out", "{tmp}/b"),
        ("bench-proxies", "--ground-truth", "{gt}", "--accuracy-column", "acc", "--sample", "0", "--out", "{tmp}/b"),
        ("bench-proxies", "--ground-truth", "{gt}", "--out", "{tmp}/b"),
    ],
)
def test_bad_input_exits_2_with_one_line(capsys, tmp_path, args) -> None:
    gt = tmp_path / "gt.csv"
    gt.write_text("arch_str,acc\n" + "".join(f"{a},{i}\n" for i, a in enumerate(ARCHS)))
    filled = [a.replace("{tmp}", str(tmp_path)).replace("{gt}", str(gt)) for a in args]
    code, out, err = run(capsys, *filled)
    assert code == 2, err
    assert out == ""
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert not (tmp_path / "s.csv").exists()


def test_sigterm_checkpoints_the_table_and_resume_finishes_it(tmp_path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    archs = tmp_path / "archs.txt"
    unique = list(dict.fromkeys(NB.encode(a) for a in NB.sample_many(150, seed=2)))
    archs.write_text("\n".join(unique) + "\n")
    out = tmp_path / "scores.csv"
    cmd = [
        sys.executable,
        "-m",
        "hwnas",
        "score",
        "--space",
        "nb201",
        "-p",
        "logsynflow",
        "--resolution",
        "16",
        "--archs",
        str(archs),
        "--out",
        str(out),
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    # 2 s after scoring starts (its meta file): the first checkpoint, after 5 s, can come so near the end
    # that the signal meets the exiting interpreter instead
    meta = out.with_name(out.name + ".meta.json")
    deadline = time.monotonic() + 180
    while not meta.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(2)
    assert proc.poll() is None, "scoring finished before it was interrupted"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err.decode()  # typer maps the interrupt to exit code 130
    done = _rows(out)
    assert 0 < len(done) < len(unique) and all(float(r["logsynflow"]) >= 0 for r in done)
    finished = subprocess.run([*cmd, "--resume", "--json"], capture_output=True, env=env, timeout=300)
    report = json.loads(finished.stdout)
    assert report["reused"] >= len(done) and report["scored"] + report["reused"] == len(unique)
    assert [r["arch"] for r in _rows(out)][: len(done)] == [r["arch"] for r in done]


def test_bench_proxies_judges_against_the_reference_models(capsys, tmp_path) -> None:
    out = tmp_path / "refs"
    code, stdout, err = run(
        capsys,
        "bench-proxies",
        "--space",
        "hybrid",
        "--references",
        "-p",
        "params,sed,rule",
        "--min-group",
        "2",
        "--out",
        out,
        "--json",
    )
    assert code == 0, err
    report = json.loads(stdout)
    assert report["archs"] == len(REFERENCES) and report["ground_truth"] == "references"
    params = next(p for p in report["proxies"] if p["name"] == "params")
    assert params["spearman"] > 0.9  # the encodings were sized like the published models
    assert params["top1_acc"] == 79.4  # the largest is EdgeNeXt-S
    # the search's winner rule is judged too, and every entry within groups of similar host-cpu latency
    assert report["latency_groups"] == {"device": "host-cpu", "size": 3}
    rule = next(p for p in report["proxies"] if p["name"] == "rule")
    assert -1 <= rule["kendall"] <= 1 and rule["fusion_of"] is None
    assert all(p["within_latency_kendall"] is not None for p in report["proxies"])
    code, _, err = run(capsys, "bench-proxies", "--space", "nb201", "--references", "--out", tmp_path / "x")
    assert code == 2 and "no reference models" in err
