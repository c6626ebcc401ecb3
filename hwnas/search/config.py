"""What determines a search (:class:`SearchConfig`) and what it has done so far (:class:`SearchState`).

Both round-trip through JSON exactly: the config is saved in the checkpoint and ``best.json``,
the state after every step, so a resumed search replays nothing.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from hwnas.errors import UsageError
from hwnas.search.constraints import Constraints
from hwnas.search.family import BudgetFamily
from hwnas.search.strategies import Phase, Strategy, make_strategy, strategy_from_json
from hwnas.spaces import get_space
from hwnas.spaces.base import SearchSpace

MAX_EVALUATIONS = 10**9
#: Children bred per step and scored together when --parallel is not given (docs/scale.md: the regret evidence).
DEFAULT_PARALLEL = 4
#: Children per step when a cluster scores (--executor ray) and --parallel is not given: the largest K
#: whose regret stayed at 4's level, so a step can keep that many CPUs busy (docs/scale.md).
CLUSTER_PARALLEL = 16
#: Largest --parallel accepted: far above any cluster a search step could keep busy.
MAX_PARALLEL = 1024
#: Config keys renamed since older checkpoints were written (old -> new), so those still load and resume.
_RENAMED = {"batch": "parallel"}


def _default_strategy() -> Strategy:
    return make_strategy("cyclic")


@dataclass(frozen=True)
class SearchConfig:
    """Everything that determines a search's result (saved in the checkpoint and best.json).

    ``parallel`` is the number of children a step breeds and scores together (``--parallel``):
    it shapes the search's trajectory, so it is part of the result; the executor and its
    workers are not.

    ``proxy_resolution`` None means the space's own choice
    (:attr:`~hwnas.spaces.base.SearchSpace.proxy_resolution`), filled in here so the
    CLI and the Python API run the same search and the checkpoint records it.
    """

    space: str
    constraints: Constraints
    strategy: Strategy = field(default_factory=_default_strategy)
    evaluations: int = 500
    parallel: int = DEFAULT_PARALLEL
    seed: int = 0
    resolution: int | None = None
    proxy_resolution: int | None = None
    proxy_batch_size: int | None = None
    family: BudgetFamily | None = None
    """One winner per budget of this family (the constraints hold the other bounds)."""
    devices: tuple[tuple[str, float], ...] | None = None
    """(device, latency budget in ms) of a search for several devices at once, each met at once."""

    def __post_init__(self) -> None:
        if not isinstance(self.strategy, Strategy):
            raise UsageError(f"strategy must be a Strategy object (hwnas.search.strategies), got {self.strategy!r}")
        for name, top in (("evaluations", MAX_EVALUATIONS), ("parallel", MAX_PARALLEL)):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= top:
                raise UsageError(f"--{name} must be a whole number from 1 to {top}, got {value!r}")
        if self.proxy_resolution is None:
            object.__setattr__(self, "proxy_resolution", get_space(self.space).proxy_resolution)
        if self.devices is not None:
            object.__setattr__(self, "devices", tuple((str(n), float(b)) for n, b in self.devices))
            if self.family is not None:
                raise UsageError("a budget family runs on one device: give one --device, or one budget per device")
            if self.constraints.latency_ms is not None:
                raise UsageError("with several devices, each --device takes its own --latency-ms")
        if self.family is not None and getattr(self.constraints, self.family.kind) is not None:
            raise UsageError(f"{self.family.option} is the family's budget list; give it once, as a list")

    def member(self, budget: float, evaluations: int) -> SearchConfig:
        """The single-budget search of one family member, with its share of the evaluations."""
        if self.family is None:
            raise UsageError("this search is not a family")
        return replace(self, constraints=self.family.constraints(self.constraints, budget),
                       evaluations=evaluations, family=None)  # fmt: skip

    @property
    def batch(self) -> int:
        """The former name of :attr:`parallel` (read-only)."""
        return self.parallel

    @property
    def scored_proxies(self) -> tuple[str, ...]:
        return self.strategy.proxies_for(get_space(self.space))

    def to_json(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["constraints"] = self.constraints.as_dict()
        data["strategy"] = self.strategy.to_json()
        data["family"] = self.family.to_json() if self.family else None
        data["devices"] = [list(d) for d in self.devices] if self.devices else None
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SearchConfig:
        data = upgrade_config_json(data)
        return cls(
            **{
                **data,
                "constraints": Constraints(**data["constraints"]),
                "strategy": strategy_from_json(data["strategy"]),
                "family": BudgetFamily.from_json(data.get("family")),
                "devices": tuple(tuple(d) for d in data["devices"]) if data.get("devices") else None,
            }
        )


def upgrade_config_json(data: Mapping[str, Any]) -> dict[str, Any]:
    """A saved config under today's key names (an older checkpoint's ``batch`` is ``parallel``)."""
    return {_RENAMED.get(key, key): value for key, value in data.items()}


def default_parallel(executor: str, saved: Mapping[str, Any] | None = None) -> int:
    """K when --parallel is not given: a resumed run's own (``saved``: its config), so it resumes on
    any executor; else DEFAULT_PARALLEL on this machine and CLUSTER_PARALLEL on a Ray cluster."""
    if saved is not None and isinstance(saved.get("parallel"), int):
        return int(saved["parallel"])
    return CLUSTER_PARALLEL if executor == "ray" else DEFAULT_PARALLEL


def plan_phases(config: SearchConfig, space: SearchSpace[Any]) -> list[Phase]:
    """The phases of a search and their evaluation budgets, as its strategy plans them."""
    return config.strategy.phases(space, config.evaluations)


@dataclass
class SearchState:
    """Everything a search needs to continue; JSON round-trips exactly."""

    rng_state: list[Any]
    phase_index: int = 0
    phase_evaluations: int = 0
    idle_steps: int = 0
    evaluations: int = 0
    attempts: int = 0
    infeasible: int = 0
    unknown_latency: int = 0
    cache_hits: int = 0
    incumbent: str | None = None
    phase_members: list[str] = field(default_factory=list)
    population: list[str] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    scores: dict[str, dict[str, float]] = field(default_factory=dict)
    elapsed_s: float = 0.0
    done: bool = False
    stop_reason: str = ""

    def rng(self) -> random.Random:
        rng = random.Random()
        version, internal, gauss = self.rng_state
        rng.setstate((version, tuple(internal), gauss))
        return rng

    def save_rng(self, rng: random.Random) -> None:
        version, internal, gauss = rng.getstate()
        self.rng_state = [version, list(internal), gauss]


def new_state(seed: int) -> SearchState:
    state = SearchState(rng_state=[])
    state.save_rng(random.Random(seed))
    return state
