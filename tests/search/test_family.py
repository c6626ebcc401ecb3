"""Budget families and device sets (issue 24): one search, a winner per budget; one network, every device."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from dev_data import nb201_latency_csv

from hwnas.cli.main import main
from hwnas.errors import LatencyUnknown, UsageError
from hwnas.latency.device_set import DeviceBudget, DeviceSet
from hwnas.latency.sources import ArchLatencyTable, LatencySource
from hwnas.search import Constraints, SearchConfig, make_strategy
from hwnas.search.constraints import FeasibilityChecker
from hwnas.search.family import BudgetFamily
from hwnas.search.family_engine import FamilyEngine, feasible_shares, member_shares
from hwnas.search.run import run_family
from hwnas.search.scoring import ProxyScorer, ScoringConfig
from hwnas.search.targets import search_targets
from hwnas.spaces import get_space

NB201_CSV = nb201_latency_csv()
BUDGETS = (9.0, 10.66, 13.0)
#: data-free proxies: the family's bookkeeping is under test, not the proxies
CHEAP = {"topology_proxy": "sed", "size_proxy": "params", "population": 8, "tournament": 3}


@pytest.fixture(scope="module")
def table() -> ArchLatencyTable:
    return ArchLatencyTable.from_csv(NB201_CSV, get_space("nb201"), latency_column="pixel3_latency_ms")


class CountingScorer(ProxyScorer):
    """Counts how often each architecture is actually scored."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.scored: list[str] = []

    def score_many(self, texts):  # type: ignore[no-untyped-def]
        self.scored.extend(t for t in dict.fromkeys(texts) if t not in self.cache)
        return super().score_many(texts)


def family_config(evaluations: int = 60, seed: int = 0) -> SearchConfig:
    return SearchConfig(
        space="nb201",
        constraints=Constraints(),
        strategy=make_strategy("cyclic", **CHEAP),
        evaluations=evaluations,
        seed=seed,
        family=BudgetFamily("latency_ms", BUDGETS),
    )


def test_a_family_writes_one_feasible_winner_per_budget(tmp_path: Path, table: ArchLatencyTable) -> None:
    result = run_family(family_config(), table, tmp_path / "run")
    members = result["family"]["members"]
    assert [m["budget"] for m in members] == list(BUDGETS)
    for m in members:
        assert m["predicted_latency_ms"] <= m["budget"]
        best = json.loads((tmp_path / "run" / m["file"]).read_text())
        assert best["arch"] == m["arch"] and best["constraints"]["latency_ms"] == m["budget"]
    assert (tmp_path / "run" / "family.json").is_file() and (tmp_path / "run" / "pareto.png").is_file()
    assert not (tmp_path / "run" / "best.json").exists()  # a family has no single winner
    # each candidate is scored once for the whole family, and the total is the family's evaluations
    history = [json.loads(line) for line in (tmp_path / "run" / "history.jsonl").read_text().splitlines()]
    assert len({h["arch"] for h in history}) == len(history) == result["run"]["evaluations"] <= 60
    assert {h["member"] for h in history} == {0, 1, 2}


def test_a_family_is_deterministic_and_resumes_to_the_same_winners(tmp_path: Path, table: ArchLatencyTable) -> None:
    first = run_family(family_config(seed=3), table, tmp_path / "a")["family"]["members"]
    again = run_family(family_config(seed=3), table, tmp_path / "b")["family"]["members"]
    assert [m["arch"] for m in first] == [m["arch"] for m in again]
    resumed = run_family(family_config(seed=3), table, tmp_path / "a", resume=True)["family"]["members"]
    assert [m["arch"] for m in resumed] == [m["arch"] for m in first]


def test_member_shares_even_or_by_feasible_set_size(table: ArchLatencyTable) -> None:
    config = family_config(evaluations=90)
    members = [config.member(b, 1) for b in BUDGETS]
    sizes = feasible_shares(config, members, table)
    assert sizes == sorted(sizes) and 0 < sizes[0] < sizes[-1] <= 1  # nested sets, tightest first
    assert sizes == feasible_shares(config, members, table)  # seeded
    shares = member_shares(90, sizes, size_weight=0.5)
    assert sum(shares) == 90 and shares == sorted(shares) and shares[0] >= 90 // (2 * len(BUDGETS))
    assert member_shares(100, [0.25, 0.25, 0.25, 0.25], size_weight=0.5) == [25, 25, 25, 25]
    assert member_shares(90, sizes, size_weight=0.0) == [30, 30, 30]
    # the default (docs/search.md): even shares
    assert [c.evaluations for c in FamilyEngine(config, table).member_configs] == [30, 30, 30]


def test_candidates_are_scored_once_across_members(tmp_path: Path, table: ArchLatencyTable) -> None:
    config = family_config()
    scorer = CountingScorer(
        ScoringConfig(config.space, config.scored_proxies, config.seed, config.proxy_resolution, None)
    )
    run_family(config, table, tmp_path / "run", scorer=scorer)
    assert scorer.scored and len(scorer.scored) == len(set(scorer.scored))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--latency-ms", "5,5,10"], "--latency-ms lists a budget twice"),
        (["--latency-ms", "5,nan"], "--latency-ms must be a finite number above 0"),
        (["--latency-ms", "5,inf"], "--latency-ms must be a finite number above 0"),
        (["--latency-ms", "5,abc"], "--latency-ms takes a number or a comma-separated list"),
        (["--latency-ms", "5,10", "--params-m", "1,2"], "a family varies one budget"),
        (["--device", "host-cpu", "--device", "host-cpu-openvino", "--latency-ms", "8"], "--device is given 2 times"),
        (["--latency-ms", "5", "--latency-ms", "8"], "--latency-ms is given 2 times for one device"),
        (
            ["--device", "host-cpu", "--latency-ms", "5,10", "--device", "host-cpu-openvino", "--latency-ms", "8"],
            "a budget family runs on one device",
        ),
    ],
)
def test_bad_targets_are_one_line_usage_errors(args: list[str], message: str, capsys: pytest.CaptureFixture) -> None:
    code = main(["search", *args, "--evaluations", "4", "--out", "/nonexistent/never-written"])
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1 and err.startswith("error: "), err


def test_resuming_a_single_budget_run_as_a_family_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    table = ["--latency-table", str(NB201_CSV), "--latency-column", "pixel3_latency_ms"]
    cheap = ["--topology-proxy", "sed", "--size-proxy", "params", "--evaluations", "8"]
    common = ["search", "--space", "nb201", *table, *cheap, "--out", str(tmp_path / "r")]
    assert main([*common, "--latency-ms", "10.66"]) == 0
    capsys.readouterr()
    assert main([*common, "--latency-ms", "9,10.66", "--resume"]) == 2
    err = capsys.readouterr().err
    assert "holds a single-budget search" in err and err.count("\n") == 1


def test_search_targets_read_lists_and_device_pairs() -> None:
    one = search_targets([], ["10"])
    assert one.constraints.latency_ms == 10 and one.family is None and one.devices is None
    family = search_targets(["host-cpu"], ["20,5,10"])
    assert family.family == BudgetFamily("latency_ms", (5.0, 10.0, 20.0)) and family.constraints.latency_ms is None
    sized = search_targets([], ["10"], params_m="1,2")
    assert sized.family == BudgetFamily("params_m", (1.0, 2.0)) and sized.constraints.latency_ms == 10
    pair = search_targets(["a", "b"], ["12", "8"])
    assert pair.devices == (("a", 12.0), ("b", 8.0)) and pair.constraints.latency_ms is None
    with pytest.raises(UsageError):
        BudgetFamily("latency_ms", (5.0,))


class Fixed(LatencySource):
    """A latency source that prices every architecture by a function of its encoding."""

    def __init__(self, name: str, ms: Any) -> None:
        self.name, self.ms = name, ms

    def predict_ms(self, space, arch, *, resolution=None) -> float:  # type: ignore[no-untyped-def]
        text = arch if isinstance(arch, str) else space.encode(arch)
        value = self.ms(text)
        if value is None:
            raise LatencyUnknown(f"{self.name} does not know {text}")
        return value

    def describe(self) -> dict[str, Any]:
        return {"kind": "fixed", "device": self.name}


def test_a_device_set_needs_every_budget_met_and_counts_the_tightest() -> None:
    space = get_space("nb201")
    arch = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|skip_connect~1|skip_connect~2|"
    devices = DeviceSet(
        [DeviceBudget("a", Fixed("a", lambda t: 10.0), 12.0), DeviceBudget("b", Fixed("b", lambda t: 6.0), 8.0)]
    )
    verdict = FeasibilityChecker(space, Constraints(), devices).check(space.decode(arch))
    assert verdict.feasible and verdict.latencies_ms == {"a": 10.0, "b": 6.0} and verdict.latency_ms == 10.0
    assert FeasibilityChecker(space, Constraints(), devices).budget_use(space.decode(arch)) == pytest.approx(10 / 12)
    tight = DeviceSet(
        [DeviceBudget("a", Fixed("a", lambda t: 10.0), 12.0), DeviceBudget("b", Fixed("b", lambda t: 9.0), 8.0)]
    )
    verdict = FeasibilityChecker(space, Constraints(), tight).check(space.decode(arch))
    assert not verdict.feasible and "latency on b 9.000 ms > 8 ms" in verdict.reason
    unknown = DeviceSet(
        [DeviceBudget("a", Fixed("a", lambda t: 1.0), 12.0), DeviceBudget("b", Fixed("b", lambda t: None), 8.0)]
    )
    verdict = FeasibilityChecker(space, Constraints(), unknown).check(space.decode(arch))
    assert not verdict.feasible and verdict.latency_unknown
    with pytest.raises(UsageError, match="twice"):
        DeviceSet(
            [DeviceBudget("a", Fixed("a", lambda t: 1.0), 1.0), DeviceBudget("a", Fixed("a", lambda t: 1.0), 2.0)]
        )


def test_a_two_device_search_records_each_prediction(tmp_path: Path) -> None:
    code = main(
        [
            "search",
            "--device",
            "host-cpu",
            "--latency-ms",
            "12",
            "--device",
            "host-cpu-openvino",
            "--latency-ms",
            "8",
            "--evaluations",
            "6",
            "--population",
            "4",
            "--tournament",
            "2",
            "--topology-proxy",
            "sed",
            "--size-proxy",
            "params",
            "--no-probe",
            "--out",
            str(tmp_path / "r"),
        ]  # fmt: skip
    )
    assert code == 0
    best = json.loads((tmp_path / "r" / "best.json").read_text())
    each = best["predicted_latencies_ms"]
    assert set(each) == {"host-cpu", "host-cpu-openvino"} and each["host-cpu"] <= 12 and each["host-cpu-openvino"] <= 8
    assert best["predicted_latency_ms"] == each["host-cpu"] and best["config"]["devices"] == [
        ["host-cpu", 12.0],
        ["host-cpu-openvino", 8.0],
    ]
