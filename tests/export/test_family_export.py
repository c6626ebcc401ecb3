"""Exporting a budget family (``--all``) and a network searched for several devices (issue 24)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from dev_data import nb201_latency_csv

from hwnas.cli.main import main
from hwnas.latency.sources import ArchLatencyTable
from hwnas.search import Constraints, SearchConfig, make_strategy
from hwnas.search.family import BudgetFamily
from hwnas.search.run import run_family
from hwnas.spaces import get_space

CHEAP = {"topology_proxy": "sed", "size_proxy": "params", "population": 4, "tournament": 2}


@pytest.fixture(scope="module")
def family_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    table = ArchLatencyTable.from_csv(nb201_latency_csv(), get_space("nb201"), latency_column="pixel3_latency_ms")
    config = SearchConfig(
        space="nb201", constraints=Constraints(), strategy=make_strategy("cyclic", **CHEAP), evaluations=16,
        family=BudgetFamily("latency_ms", (9.0, 13.0)),
    )  # fmt: skip
    out = tmp_path_factory.mktemp("family") / "run"
    run_family(config, table, out)
    return out


def test_export_all_writes_every_member_and_a_family_card(
    family_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "e"
    assert main(["export", str(family_run), "--all", "--no-measure", "--out", str(out), "--json"]) == 0
    card = json.loads(capsys.readouterr().out)
    family = json.loads((family_run / "family.json").read_text())
    assert [m["label"] for m in card["members"]] == ["9ms", "13ms"]
    for member, row in zip(family["members"], card["members"], strict=True):
        model = json.loads((out / row["folder"] / "model_card.json").read_text())
        assert model["architecture"]["encoding"] == member["arch"] == row["arch"]
        assert (out / row["folder"] / "model.onnx").is_file()
    readme = (out / "README.md").read_text()
    assert "| 9ms |" in readme and "| 13ms |" in readme and (out / "family_card.json").is_file()
    # an existing family export is replaced only with --overwrite, and then whole
    assert main(["export", str(family_run), "--all", "--no-measure", "--out", str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main(["export", str(family_run), "--all", "--no-measure", "--out", str(out), "--overwrite"]) == 0


def test_a_family_run_without_all_and_all_without_a_family_are_one_line(
    family_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", str(family_run), "--no-measure", "--out", str(tmp_path / "a")]) == 2
    err = capsys.readouterr().err
    assert "holds a budget family: export every member with --all" in err and err.count("\n") == 1
    single = tmp_path / "single"
    single.mkdir()
    (single / "best.json").write_text((family_run / "best-9ms.json").read_text())
    assert main(["export", str(single), "--all", "--no-measure", "--out", str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err
    assert "holds no budget family" in err and err.count("\n") == 1
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_a_two_device_winner_lists_every_target_in_its_card(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run"
    search = ["search", "--device", "host-cpu", "--latency-ms", "12", "--device", "host-cpu-openvino",
              "--latency-ms", "8", "--evaluations", "4", "--population", "4", "--tournament", "2",
              "--topology-proxy", "sed", "--size-proxy", "params", "--no-probe", "--out", str(run)]  # fmt: skip
    assert main(search) == 0
    capsys.readouterr()
    assert main(["export", str(run), "--no-measure", "--out", str(tmp_path / "e"), "--json"]) == 0
    card = json.loads(capsys.readouterr().out)
    best = json.loads((run / "best.json").read_text())
    targets = {t["device"]: t for t in card["targets"]}
    assert list(targets) == ["host-cpu", "host-cpu-openvino"] and card["target"]["device"] == "host-cpu"
    for name, budget in (("host-cpu", 12.0), ("host-cpu-openvino", 8.0)):
        assert targets[name]["budget_ms"] == budget
        assert targets[name]["predicted_ms"] == pytest.approx(best["predicted_latencies_ms"][name], rel=0.15)
        assert targets[name]["check"] == {"checked": False, "reason": "not timed (--no-measure)"}
    assert "## Targets" in (tmp_path / "e" / "README.md").read_text()
