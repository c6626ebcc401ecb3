"""Bad executor options end as one ``error:`` line and exit code 2 (usage) or 1 (no cluster), never a traceback."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from dev_data import nb201_latency_csv

from hwnas.cli.main import main

REPO = Path(__file__).resolve().parents[2]
NB201_LATENCY_CSV = nb201_latency_csv()
ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|none~1|+|nor_conv_1x1~0|avg_pool_3x3~1|nor_conv_3x3~2|"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def one_error(capsys, args: list[str]) -> tuple[int, str]:
    code = main(args)
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    return code, lines[0]


@pytest.mark.parametrize(
    ("extra", "code", "expected"),
    [
        (["--executor", "foo"], 2, "error: unknown executor 'foo' (known: local, ray)"),
        (["--batch", "0"], 2, "error: --batch must be a whole number from 1 to 100000, got 0"),
        (["--ray-address", "127.0.0.1:6379"], 2, "error: --ray-address needs --executor ray"),
        (["--executor", "ray", "--workers", "2"], 2, "error: --workers is for --executor local"),
        (["--executor", "ray", "--ray-address", "no port"], 2, "error: --ray-address 'no port' is not HOST:PORT"),
        (["--executor", "ray", "--ray-address", "h:99999"], 2, "error: --ray-address 'h:99999' is not HOST:PORT"),
    ],
)
def test_search_executor_options(capsys, tmp_path: Path, extra: list[str], code: int, expected: str) -> None:
    args = ["search", "--space", "nb201", "--latency-table", str(NB201_LATENCY_CSV), "--latency-column",
            "pixel3_latency_ms", "--latency-ms", "10", "--out", str(tmp_path / "run"), *extra]  # fmt: skip
    got, line = one_error(capsys, args)
    assert got == code and line.startswith(expected), line
    assert not (tmp_path / "run").exists()


def test_score_and_bench_check_their_executor_options(capsys, tmp_path: Path) -> None:
    score = ["score", "--space", "nb201", ARCH, "--out", str(tmp_path / "s.csv"), "--batch", "-1"]
    got, line = one_error(capsys, score)
    assert got == 2 and line.startswith("error: --batch must be a whole number")
    bench = ["bench-proxies", "--references", "--space", "hybrid", "--out", str(tmp_path / "b"), "--executor", "x"]
    got, line = one_error(capsys, bench)
    assert got == 2 and line == "error: unknown executor 'x' (known: local, ray)"
    assert not (tmp_path / "s.csv").exists()


def test_an_unreachable_cluster_is_one_line(capsys, tmp_path: Path) -> None:
    pytest.importorskip("ray", reason="Ray is not installed (pip install 'hwnas[ray]')")
    port = free_port()  # nothing listens there
    args = ["score", "--space", "nb201", ARCH, "--out", str(tmp_path / "s.csv"), "--executor", "ray",
            "--ray-address", f"127.0.0.1:{port}"]  # fmt: skip
    got, line = one_error(capsys, args)
    assert got == 1
    assert line.startswith(f"error: no Ray cluster answers at 127.0.0.1:{port} (Connection refused)"), line
    assert not (tmp_path / "s.csv").exists()


def test_a_port_that_is_not_ray_is_one_line_not_a_hang(capsys, tmp_path: Path) -> None:
    pytest.importorskip("ray", reason="Ray is not installed (pip install 'hwnas[ray]')")
    with socket.socket() as server:  # listens and accepts, but says nothing (a wrong port, another service)
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        args = ["score", "--space", "nb201", ARCH, "--out", str(tmp_path / "s.csv"), "--executor", "ray",
                "--ray-address", f"127.0.0.1:{port}"]  # fmt: skip
        got, line = one_error(capsys, args)
    assert got == 1
    assert line.startswith(f"error: 127.0.0.1:{port} answers but is not a Ray cluster (no gRPC reply)"), line
