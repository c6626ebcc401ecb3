"""The search of a budget family: one search engine per member, one shared history (issue 24).

Each member is the strategy's own search under its budget, with its share of the
evaluations, its own population, phases and random stream. What they share is what does
not depend on the budget: the proxy scores (a candidate is scored once for the family),
the history of scored candidates and the surrogate fitted on it. The members take steps
in turn, tightest first, so every budget's frontier is searched from the first step to
the last, not one after another; a candidate one member scored is a free cache hit for
the others, and every member's winner is picked from the whole shared history, among the
candidates feasible for its budget. The evidence for the split is in docs/search.md.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

from hwnas.executors import Executor
from hwnas.search.config import SearchConfig, SearchState
from hwnas.search.constraints import FeasibilityChecker
from hwnas.search.engine import SearchEngine
from hwnas.search.scoring import ProxyScorer
from hwnas.search.strategies import Phase
from hwnas.search.strategies.base import split_budget
from hwnas.spaces import get_space

#: Members share the children feasible for them (docs/search.md has the ablation).
MIGRATE = True
#: The share of the family's evaluations split by the size of each member's feasible set (the
#: rest evenly), and the random draws that estimate those sizes. Even shares (0) by default:
#: 0.5 did better in the whole NB201 space, worse on the hybrid space, and 0.25 worse on the dev
#: grid (docs/search.md has the ablation); the family benches' ``--size-weight`` sets it.
SIZE_WEIGHT = 0.0
SIZE_DRAWS = 2000
#: Each member's random stream: one of its own ("own", the default) or its single-budget twin's ("twin").
STREAM = "own"


def feasible_shares(config: SearchConfig, members: list[SearchConfig], latency_source: Any) -> list[float]:
    """Each member's share of the space that meets its budget, from :data:`SIZE_DRAWS` random
    archs of a seeded stream of their own (a member with none found counts one draw)."""
    space = get_space(config.space)
    checkers = [FeasibilityChecker(space, m.constraints, latency_source, resolution=config.resolution) for m in members]
    rng = random.Random(f"hwnas-family-sizes/{config.seed}")
    hits = [0] * len(members)
    for _ in range(SIZE_DRAWS):
        arch = space.sample(rng)
        for i, checker in enumerate(checkers):
            hits[i] += checker.check(arch).feasible
    return [max(h, 1) / SIZE_DRAWS for h in hits]


def member_shares(evaluations: int, sizes: list[float], size_weight: float | None = None) -> list[int]:
    """The family's evaluations split among its members: ``size_weight`` (default
    :data:`SIZE_WEIGHT`) of them in proportion to the size of each one's feasible set, the rest
    evenly. The sets are nested and a looser member searches a larger one; the even part keeps
    a tight member's own search going."""
    size_weight = SIZE_WEIGHT if size_weight is None else size_weight
    even = split_budget(evaluations, len(sizes))
    if size_weight == 0:
        return even
    weights = [size_weight * s / sum(sizes) + (1 - size_weight) / len(sizes) for s in sizes]
    shares = [int(w * evaluations) for w in weights]
    shares[-1] += evaluations - sum(shares)  # rounding to the loosest (budgets are sorted)
    return shares if min(shares) >= 1 else even


def member_state(seed: int, index: int) -> SearchState:
    """A member's fresh state, with a random stream of its own, derived from the seed and its index
    (its single-budget twin's stream instead did worse on the NB201 dev grid: docs/search.md)."""
    state = SearchState(rng_state=[])
    state.save_rng(random.Random(seed) if STREAM == "twin" else random.Random(f"hwnas-family/{seed}/{index}"))
    return state


class FamilyEngine:
    """Runs the members of ``config.family`` in turn over one shared history and score cache."""

    def __init__(
        self,
        config: SearchConfig,
        latency_source: Any,
        *,
        workers: int = 1,
        states: list[SearchState] | None = None,
        budget_s: float | None = None,
        scorer: ProxyScorer | None = None,
        executor: Executor | None = None,
    ) -> None:
        if config.family is None:
            raise ValueError("FamilyEngine needs a config with a family")
        self.config = config
        self.family = config.family
        budgets = self.family.budgets
        shares = split_budget(config.evaluations, len(budgets))
        if SIZE_WEIGHT > 0:
            sizes = feasible_shares(config, [config.member(b, 1) for b in budgets], latency_source)
            shares = member_shares(config.evaluations, sizes)
        self.member_configs = [config.member(b, n) for b, n in zip(budgets, shares, strict=True)]
        self.states = states or [member_state(config.seed, i) for i in range(len(budgets))]
        history, scores = self.states[0].history, self.states[0].scores
        for state in self.states:  # one history and one score cache, whatever the checkpoint held
            state.history, state.scores = history, scores
        self.budget_s = budget_s
        self.migrate = MIGRATE
        self.scorer = scorer or ProxyScorer.for_search(config, workers=workers, executor=executor)
        self.members = [
            SearchEngine(c, latency_source, state=s, scorer=self.scorer)
            for c, s in zip(self.member_configs, self.states, strict=True)
        ]
        self.surrogate = self.members[0].surrogate
        for index, member in enumerate(self.members):  # one surrogate, fitted once per round for all
            member.surrogate = self.surrogate
            member.refit_surrogate = False
            member.member = index
            member.reference_members = set(range(index, len(self.members)))  # budgets are sorted, tightest first

    @property
    def history(self) -> list[dict[str, Any]]:
        return self.states[0].history

    @property
    def done(self) -> bool:
        return all(s.done for s in self.states)

    @property
    def elapsed_s(self) -> float:
        return sum(s.elapsed_s for s in self.states)

    def run(self, on_round: Callable[[list[SearchState], Phase | None], None] | None = None) -> list[SearchState]:
        """Rounds of one step per unfinished member, tightest first, until all are done."""
        try:
            while not self.done:
                self._fit_surrogate()
                for member in self.members:
                    if member.state.done:
                        continue
                    started = time.perf_counter()
                    before = len(self.history)
                    member.step()
                    if self.migrate:
                        self._share(member, [h["arch"] for h in self.history[before:]])
                    member.state.elapsed_s += time.perf_counter() - started
                if self.budget_s is not None and self.elapsed_s >= self.budget_s and not self.done:
                    for member in self.members:
                        if not member.state.done:
                            member.state.done = True
                            member.state.stop_reason = f"time budget of {self.budget_s:g} s reached"
                            member._close_phase()
                if on_round is not None:
                    on_round(self.states, next((m.current_phase for m in self.members if not m.state.done), None))
        finally:
            self.scorer.close()
        return self.states

    def _fit_surrogate(self) -> None:
        """Fit the shared surrogate on the whole history for every proxy a phase may screen by (once
        per round, not once per member: the members' steps of a round see the same fit)."""
        if self.surrogate is not None:
            self.members[0].fit_surrogate(self.config.scored_proxies)  # the history is shared by all

    def _share(self, source: SearchEngine, children: list[str]) -> None:
        """Tell each other member's population the children feasible for it (migration): a member
        breeds from what the whole family found within its budget, at no scoring cost."""
        for member in self.members:
            if member is source or member.state.done or not member.state.population:
                continue
            population = member._population()
            for text in children:
                if text not in population.members and member.checker.check(member.space.decode(text)).feasible:
                    population.tell(text)
            member.state.population = population.to_json()

    def winners(self) -> list[dict[str, Any]]:
        """Each member's winner, picked from the shared history among the candidates feasible for it."""
        return [member.winner() for member in self.members]
