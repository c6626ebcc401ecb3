"""The space commands: output on stdout, one-line errors with the right exit codes."""

from __future__ import annotations

import json

import pytest

from hwnas.cli.main import main
from hwnas.spaces import get_space


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_sample_nb201_is_valid_and_deterministic(capsys) -> None:
    code, out, _ = run(capsys, "sample", "--space", "nb201", "-n", "5", "--seed", "1")
    assert code == 0
    lines = out.strip().splitlines()
    assert len(lines) == 5
    for line in lines:
        get_space("nb201").validate(line)
    assert run(capsys, "sample", "--space", "nb201", "-n", "5", "--seed", "1")[1] == out
    assert run(capsys, "sample", "--space", "nb201", "-n", "5", "--seed", "2")[1] != out


def test_info_json_reports_params_flops_and_blocks(capsys) -> None:
    arch = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
    code, out, _ = run(capsys, "info", arch, "--space", "nb201", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["arch"] == arch and data["space"] == "nb201"
    assert abs(data["params_m"] - 0.802426) < 1e-3
    assert data["flops_m"] > 0
    assert data["blocks"][0]["kind"] == "stem" and len(data["blocks"]) == 1 + 15 + 2 + 1


def test_info_hybrid_prints_a_table(capsys) -> None:
    arch = get_space("hybrid").encode(get_space("hybrid").sample_many(1, seed=0)[0])
    code, out, _ = run(capsys, "info", arch, "--resolution", "128")
    assert code == 0 and "#Params" in out and "stem-input:128x128x3" in out


@pytest.mark.parametrize(
    "args",
    [
        ("info", "not-an-arch", "--space", "nb201"),
        ("info", "w24-e2:ib3", "--space", "hybrid"),
        ("sample", "--space", "nope"),
        ("sample", "-n", "0"),
        ("info", "--no-such-option"),
    ],
)
def test_bad_input_exits_2_with_one_line(capsys, args) -> None:
    code, out, err = run(capsys, *args)
    assert code == 2
    assert out == ""
    assert err.startswith("error: ") and err.count("\n") == 1
    assert "Traceback" not in err


def test_spaces_lists_gene_groups(capsys) -> None:
    code, out, _ = run(capsys, "spaces", "--json")
    data = {entry["name"]: entry for entry in json.loads(out)}
    assert code == 0 and {"hybrid", "nb201"} <= set(data)
    assert "kernel" in data["hybrid"]["topology_genes"] and "width" in data["hybrid"]["size_genes"]
