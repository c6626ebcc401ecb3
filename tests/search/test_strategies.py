"""Every registered strategy: deterministic for a seed, feasible winners, exact resume, JSON round trip.

The tests iterate the registry, so a new strategy is checked without new test code.
Scores come from a cheap deterministic stand-in (a hash of arch and proxy), because
what is tested here is the search's bookkeeping, not the proxies.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from dev_data import nb201_latency_csv

from hwnas.search import STRATEGIES, Constraints, SearchConfig, make_strategy, run_search
from hwnas.search.scoring import ProxyScorer, ScoringConfig
from hwnas.search.strategies import strategy_from_json
from hwnas.spaces import get_space

NB201_DEV_CSV = nb201_latency_csv()  # the dev CSV, or a synthetic latency table without ../shared
LIMIT_MS = 10.0


class HashScorer(ProxyScorer):
    """Pseudo-scores that depend only on (arch, proxy): deterministic, distinct, free."""

    def __init__(self, proxies: Sequence[str]) -> None:
        super().__init__(ScoringConfig("", tuple(proxies), 0, None, None))

    def score_many(self, texts: Sequence[str]) -> list[dict[str, float]]:
        for text in texts:
            if text not in self.cache:
                self.cache[text] = {
                    p: int(hashlib.sha256(f"{p}:{text}".encode()).hexdigest()[:8], 16) / 2**32
                    for p in self.config.proxies
                }
        return [self.cache[t] for t in texts]


@pytest.fixture()
def dev_table():
    from hwnas.latency.sources import ArchLatencyTable

    return ArchLatencyTable.from_csv(NB201_DEV_CSV, get_space("nb201"), latency_column="pixel3_latency_ms")


def _config(name: str, seed: int = 0, evaluations: int = 40) -> SearchConfig:
    return SearchConfig(
        space="nb201",
        constraints=Constraints(latency_ms=LIMIT_MS),
        strategy=make_strategy(name),
        evaluations=evaluations,
        seed=seed,
    )


def _run(config: SearchConfig, source, out: Path, **kwargs) -> dict:
    return run_search(config, source, out, scorer=HashScorer(config.scored_proxies), **kwargs)


@pytest.mark.parametrize("name", STRATEGIES.names())
def test_strategy_json_round_trips(name: str) -> None:
    strategy = make_strategy(name)
    assert strategy_from_json(json.loads(json.dumps(strategy.to_json()))) == strategy
    config = _config(name)
    assert SearchConfig.from_json(json.loads(json.dumps(config.to_json()))) == config
    assert strategy.__doc__ and strategy.proxies


@pytest.mark.parametrize("name", STRATEGIES.names())
def test_strategy_is_deterministic_and_its_winner_feasible(tmp_path: Path, dev_table, name: str) -> None:
    first = _run(_config(name, seed=4), dev_table, tmp_path / "a")
    _run(_config(name, seed=4), dev_table, tmp_path / "b")
    other = _run(_config(name, seed=5), dev_table, tmp_path / "c")

    def read(d):
        return (d / "best.json").read_text() + (d / "history.jsonl").read_text()

    assert read(tmp_path / "a") == read(tmp_path / "b")
    assert read(tmp_path / "a") != read(tmp_path / "c")
    for result in (first, other):
        best = result["best"]
        assert best["strategy"] == name
        assert best["predicted_latency_ms"] is not None and best["predicted_latency_ms"] <= LIMIT_MS
        assert dev_table.predict_ms(get_space("nb201"), get_space("nb201").decode(best["arch"])) <= LIMIT_MS
        history = [json.loads(line) for line in (Path(result["out"]) / "history.jsonl").read_text().splitlines()]
        assert best["arch"] in {h["arch"] for h in history}
        assert all(h["latency_ms"] <= LIMIT_MS for h in history)


class Interrupted(Exception):
    pass


@pytest.mark.parametrize("name", STRATEGIES.names())
def test_strategy_resumes_to_the_same_best(tmp_path: Path, dev_table, name: str) -> None:
    """Stopped after a checkpoint (as a kill or Ctrl-C leaves it), then resumed: the same files."""
    reference = tmp_path / "reference"
    _run(_config(name, seed=2), dev_table, reference)

    def stop(state, phase) -> None:
        if state.evaluations >= 15:
            raise Interrupted

    interrupted = tmp_path / "interrupted"
    with pytest.raises(Interrupted):
        _run(_config(name, seed=2), dev_table, interrupted, on_step=stop)
    assert not (interrupted / "best.json").exists()
    _run(_config(name, seed=2), dev_table, interrupted, resume=True)
    for file in ("best.json", "history.jsonl"):
        assert (interrupted / file).read_text() == (reference / file).read_text(), file


def test_unknown_strategy_and_parameter_are_usage_errors() -> None:
    from hwnas.errors import UsageError

    with pytest.raises(UsageError, match="known: cyclic"):
        make_strategy("annealing")
    with pytest.raises(UsageError, match="takes no --proxy"):
        make_strategy("cyclic", proxy="es")
    with pytest.raises(UsageError, match="--topology-weight"):
        make_strategy("cyclic", topology_weight=float("nan"))
