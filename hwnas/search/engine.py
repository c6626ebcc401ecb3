"""The search loop: phases of ageing evolution under hardware constraints, checkpointed per step.

What a search does is decided by its :class:`~hwnas.search.strategies.Strategy`
(the phases, their operators and fitness, the winner rule); this module only runs
phases and never branches on a strategy's name.

Every candidate is checked against the constraints *before* it is scored;
infeasible ones (and those of unknown latency, counted apart) are never scored or
reported. A step breeds a fixed number of children (``config.parallel``, from the driver's
seeded RNG) and scores them together, so the executor (local processes or a Ray cluster)
and its number of workers never change the result. State after each step is a JSON
checkpoint: resuming replays nothing and ends where an uninterrupted run ends.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from typing import Any

from hwnas.errors import HwnasError
from hwnas.executors import Executor
from hwnas.search.config import SearchConfig, SearchState, new_state, plan_phases
from hwnas.search.constraints import FeasibilityChecker
from hwnas.search.evolution import AgeingPopulation
from hwnas.search.fitness import BUDGET_USE, ZScoreSum
from hwnas.search.reference import FreeSample, free_sample
from hwnas.search.scoring import ProxyScorer
from hwnas.search.strategies import Phase
from hwnas.search.strategies.base import has_size_genes
from hwnas.search.surrogate import Surrogate
from hwnas.spaces import get_space

MAX_TRIES_PER_CHILD = 200
MAX_INIT_TRIES = 20000
MAX_IDLE_STEPS = 50
#: Random feasible samples needed before they, not the history, set the winner rule's scale.
MIN_REFERENCE = 20


class SearchEngine:
    """Runs a :class:`SearchConfig` step by step; ``on_step`` sees the state after each step."""

    def __init__(
        self,
        config: SearchConfig,
        latency_source: Any,
        *,
        workers: int = 1,
        state: SearchState | None = None,
        budget_s: float | None = None,
        scorer: ProxyScorer | None = None,
        executor: Executor | None = None,
    ) -> None:
        self.config = config
        self.strategy = config.strategy
        self.space = get_space(config.space)
        self.phases = plan_phases(config, self.space)
        self.has_size_genes = has_size_genes(self.space)
        self.checker = FeasibilityChecker(self.space, config.constraints, latency_source, resolution=config.resolution)
        self.state = state or new_state(config.seed)
        self.budget_s = budget_s
        self.scorer = scorer or ProxyScorer.for_search(config, workers=workers, executor=executor)
        self.scorer.cache = self.state.scores  # the checkpoint holds the cache
        self.surrogate = Surrogate.for_search(self.space, self.strategy, config.seed)
        self.refit_surrogate = True
        self.member: int | None = None
        """In a budget family, this member's index (its records say so)."""
        self.reference_members: set[int | None] = {None}
        """Whose random samples scale the winner rule: a single search's own; in a family, those of the
        members whose budget is at least this one's. A uniform sample of a looser budget's feasible set,
        kept where it meets this budget, is a uniform sample of this budget's set; a tighter member's is not."""
        self._screening = False
        self._scale: tuple[list[dict[str, float]], list[dict[str, float]] | None] | None = None
        self._free: FreeSample | None = None

    # ---- driving ----------------------------------------------------------------------
    def run(self, on_step: Callable[[SearchState, Phase | None], None] | None = None) -> SearchState:
        try:
            while not self.state.done:
                started = time.perf_counter()
                self.step()
                self.state.elapsed_s += time.perf_counter() - started
                if self.budget_s is not None and self.state.elapsed_s >= self.budget_s and not self.state.done:
                    self.state.done, self.state.stop_reason = True, f"time budget of {self.budget_s:g} s reached"
                    self._close_phase()
                if on_step is not None:
                    on_step(self.state, self.current_phase)
        finally:
            self.scorer.close()
        return self.state

    @property
    def current_phase(self) -> Phase | None:
        return self.phases[self.state.phase_index] if self.state.phase_index < len(self.phases) else None

    def _population(self) -> AgeingPopulation:
        return AgeingPopulation.from_json(self.state.population, self.strategy.population, self.strategy.tournament)

    def step(self) -> None:
        st = self.state
        phase = self.current_phase
        if phase is None:
            st.done, st.stop_reason = True, st.stop_reason or "all phases done"
            return
        rng = st.rng()
        if st.incumbent is None and phase.operator != "sample":
            st.incumbent = self._random_feasible(rng)
        population = self._population()
        wanted = min(self.config.parallel, max(1, phase.budget - st.phase_evaluations))
        # the population is fixed while a step breeds, so its fitness is computed once per step
        fitness = phase.fitness.values(self._fitness_inputs(population.members))
        self._screening = self._fit_surrogate(phase)
        self._scale = None  # the history's fitness inputs and the reference, built once per step
        children: list[str] = []
        for slot in range(wanted):
            child = self._feasible_child(phase, population, fitness, rng, slot, taken=children)
            if child is not None:
                children.append(child)
        st.save_rng(rng)
        fresh = {t for t in children if t not in st.scores}
        scores = self.scorer.score_many(children)
        new = 0
        for text, score in zip(children, scores, strict=True):
            if text in fresh:
                fresh.discard(text)
                new += 1
                st.evaluations += 1
                st.phase_evaluations += 1
                st.history.append(self._record(text, score, phase))
            else:
                st.cache_hits += 1
            population.tell(text)
            if text not in st.phase_members:
                st.phase_members.append(text)
        st.population = population.to_json()
        st.idle_steps = 0 if new else st.idle_steps + 1
        if st.phase_evaluations >= phase.budget or st.idle_steps >= MAX_IDLE_STEPS:
            self._close_phase()

    def _close_phase(self) -> None:
        st = self.state
        phase = self.current_phase
        if st.phase_members and phase is not None:
            group = self._fitness_inputs(st.phase_members)
            st.incumbent = st.phase_members[phase.fitness.best(group)]
        st.phase_index += 1
        st.phase_evaluations = 0
        st.idle_steps = 0
        st.phase_members = []
        st.population = []
        if st.phase_index >= len(self.phases):
            st.done = True
            st.stop_reason = st.stop_reason or "all phases done"

    # ---- candidates -------------------------------------------------------------------
    def _fitness_inputs(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """Proxy scores plus the engine's own term (the budget a candidate uses)."""
        return [
            {**scores, BUDGET_USE: self.checker.budget_use(self.space.decode(text))}
            for text, scores in zip(texts, self.scorer.score_many(texts), strict=True)
        ]

    def _record(self, text: str, scores: dict[str, float], phase: Phase) -> dict[str, Any]:
        arch = self.space.decode(text)
        verdict = self.checker.check(arch)
        params_m, flops_m = (
            (verdict.params_m, verdict.flops_m) if verdict.params_m is not None else self.checker.counts(arch)
        )
        record = {
            "index": len(self.state.history) + 1,
            "cycle": phase.cycle,
            "phase": phase.name,
            "arch": text,
            "scores": scores,
            "latency_ms": verdict.latency_ms,
            "params_m": params_m,
            "flops_m": flops_m,
        }
        if verdict.latencies_ms is not None:
            record["latencies_ms"] = dict(verdict.latencies_ms)
        if self.member is not None:
            record["member"] = self.member
        return record

    def _feasible(self, arch: Any) -> bool:
        st = self.state
        st.attempts += 1
        verdict = self.checker.check(arch)
        if not verdict.feasible:
            st.infeasible += 1
            st.unknown_latency += int(verdict.latency_unknown)
        return verdict.feasible

    def _random_feasible(self, rng: random.Random) -> str:
        fastest: float | None = None
        for _ in range(MAX_INIT_TRIES):
            arch = self.space.sample(rng)
            if self._feasible(arch):
                return self.space.encode(arch)
            latency = self.checker.check(arch).latency_ms
            if latency is not None and (fastest is None or latency < fastest):
                fastest = latency
        raise HwnasError(self._nothing_feasible_message(fastest))

    def _nothing_feasible_message(self, fastest: float | None) -> str:
        """Why no random sample was feasible, with the figure that tells the user what to change."""
        head = f"no feasible architecture in {MAX_INIT_TRIES} random samples"
        c = self.config.constraints
        if fastest is None:
            return f"{head}: the latency table knows none of them (is it for this space and resolution?)"
        if c.latency_ms is not None and fastest > c.latency_ms:
            return (
                f"{head}: the fastest sampled takes {fastest:.3f} ms, above --latency-ms {c.latency_ms:g}; "
                "raise the budget or choose a faster device"
            )
        return f"{head}: --params-m / --flops-m are too tight for this space"

    def _mutate(self, arch: Any, operator: str, rng: random.Random) -> Any:
        if operator in ("any", "crossover"):
            operator = "size" if self.has_size_genes and rng.random() < 0.5 else "topology"
        if operator == "size":
            return self.space.mutate_size(arch, rng)
        return self.space.mutate_topology(arch, rng)

    def _feasible_child(
        self,
        phase: Phase,
        population: AgeingPopulation,
        fitness: list[float],
        rng: random.Random,
        slot: int,
        taken: Sequence[str] = (),
    ) -> str | None:
        """A feasible child, preferring one not evaluated yet (nor ``taken`` by this step).

        Mutations go one hop from the parent at first and further as tries fail, so a
        sparse feasible region (a whole-architecture table that knows few archs, a
        tight budget) is still explored; a seen child is returned only when no unseen
        one turns up. The crossover operator first mixes two tournament winners. When
        the strategy screens, ``screen`` such children are bred and the surrogate keeps
        the one the phase's fitness would rank first (:mod:`hwnas.search.surrogate`).
        """
        st = self.state
        if phase.operator == "sample":
            return self._random_feasible(rng)
        # the first children of a phase are mutations of the incumbent; so is every child of a phase's
        # first step (its population is empty until the step's children are scored, even when K > size)
        seeding = len(population) + slot < population.size or len(population) == 0
        if seeding and len(population) == 0 and slot == 0:
            return st.incumbent  # every phase starts from the incumbent (already scored or scored now)
        if not self._screening:
            return self._bred_child(phase, population, fitness, rng, seeding, set(taken))
        candidates: list[str] = []
        for _ in range(self.strategy.screen):
            child = self._bred_child(phase, population, fitness, rng, seeding, {*taken, *candidates})
            if child is None or child in st.scores:
                break  # nothing unseen is left near the parents: no choice to screen
            candidates.append(child)
        if not candidates:
            return child
        return candidates[self._screened_best(phase, candidates)]

    def _fit_surrogate(self, phase: Phase) -> bool:
        """Refit the surrogate on every scored candidate; True when it can screen this step."""
        if self.surrogate is None or phase.operator == "sample":
            return False
        if not self.refit_surrogate:  # a budget family fits the shared surrogate once per round
            return self.surrogate.covers(phase.fitness.proxies)
        return self.fit_surrogate(phase.fitness.proxies)

    def fit_surrogate(self, proxies: Sequence[str]) -> bool:
        """Fit the surrogate on every scored candidate of the history, one model per proxy."""
        assert self.surrogate is not None
        texts = [h["arch"] for h in self.state.history]
        latencies = [h["latency_ms"] for h in self.state.history]
        return self.surrogate.fit(texts, self.scorer.score_many(texts), latencies, proxies)

    def _screened_best(self, phase: Phase, candidates: Sequence[str]) -> int:
        """The candidate the phase's fitness ranks first on predicted scores, beside the scored history."""
        assert self.surrogate is not None
        archs = [self.space.decode(t) for t in candidates]
        latencies = [self.checker.check(a).latency_ms for a in archs]
        uses = [self.checker.budget_use(a) for a in archs]
        if self._scale is None:  # the history does not change while a step breeds: built once per step
            self._scale = (self._fitness_inputs([h["arch"] for h in self.state.history]), self._reference())
        history, reference = self._scale
        return self.surrogate.best(phase.fitness, candidates, latencies, uses, history, reference)

    def _bred_child(
        self,
        phase: Phase,
        population: AgeingPopulation,
        fitness: list[float],
        rng: random.Random,
        seeding: bool,
        exclude: set[str],
    ) -> str | None:
        """One feasible mutation (or crossover) not in ``exclude``, unseen if one turns up."""
        st = self.state
        seen_fallback = None
        for attempt in range(MAX_TRIES_PER_CHILD):
            if seeding:
                arch = self.space.decode(str(st.incumbent))
                hops = rng.randint(1, 3)
            else:
                arch = self.space.decode(population.parent(rng, fitness))
                if phase.operator == "crossover":
                    other = self.space.decode(population.parent(rng, fitness))
                    arch = self.space.crossover(arch, other, rng)
                hops = 1 + attempt // 20
            for _ in range(hops):
                arch = self._mutate(arch, phase.operator, rng)
            if self._feasible(arch):
                text = self.space.encode(arch)
                if text in exclude:
                    continue
                if text not in st.scores:
                    return text
                seen_fallback = seen_fallback or text
        return seen_fallback

    def _reference(self) -> list[dict[str, float]] | None:
        """The random feasible samples' fitness inputs, when there are enough: an unbiased estimate of
        the feasible set's scale for a standardising rule (the history is biased toward the best)."""
        sampling = {p.name for p in self.phases if p.operator == "sample"}
        sample = [
            h["arch"]
            for h in self._feasible_history()
            if h["phase"] in sampling and h.get("member") in self.reference_members
        ]
        if len(sample) < MIN_REFERENCE:
            return None
        dead = [self.space.is_dead(self.space.decode(t)) for t in sample]
        return self._free_sample().reference(self._fitness_inputs(sample), dead, MIN_REFERENCE)

    def _free_sample(self) -> FreeSample:
        """A large unscored random feasible sample, drawn once from a stream of its own: it scales
        the rule's free terms and sets the dead share of the scored sample (search/reference.py)."""
        if self._free is None:
            rule = self.strategy.winner_fitness(self.space)
            if not isinstance(rule, ZScoreSum):
                self._free = FreeSample()  # only a standardising rule has a scale
                return self._free
            terms = [name for name, weight, _ in rule.terms if weight > 0]
            self._free = free_sample(
                self.space, lambda arch: self.checker.check(arch).feasible, self.checker.budget_use, terms,
                f"hwnas-reference/{self.config.seed}/{self.config.constraints}",
            )  # fmt: skip
        return self._free

    def _feasible_history(self) -> list[dict[str, Any]]:
        """The history's candidates that meet this search's constraints: all of them in a single
        search; in a budget family, whose members share one history, this member's."""
        return [h for h in self.state.history if self.checker.check(self.space.decode(h["arch"])).feasible]

    # ---- results ----------------------------------------------------------------------
    @property
    def selection(self) -> str:
        """How :meth:`winner` picks, in words (saved in best.json)."""
        text = self.strategy.selection(self.space)
        reference = self._reference()
        if reference is not None and isinstance(self.strategy.winner_fitness(self.space), ZScoreSum):
            text += self._free_sample().describe(reference, MIN_REFERENCE)
        return text

    def winner(self) -> dict[str, Any]:
        """The reported architecture: the best of the history by the strategy's winner
        fitness, or the last incumbent when the strategy has none."""
        st = self.state
        if not st.history:
            raise HwnasError("the search evaluated no feasible architecture")
        rule = self.strategy.winner_fitness(self.space)
        if rule is None and st.incumbent is not None:
            text = st.incumbent
        else:
            rule = rule or self.phases[-1].fitness
            history = self._feasible_history()
            if not history:
                raise HwnasError("the search evaluated no architecture feasible for its constraints")
            group = [
                {**h["scores"], BUDGET_USE: self.checker.budget_use(self.space.decode(h["arch"]))} for h in history
            ]
            text = history[rule.best(group, self._reference())]["arch"]
        record = next((h for h in st.history if h["arch"] == text), None)
        if record is None:  # the incumbent was never new in the history (e.g. budget ended at once)
            record = self._record(text, self.scorer.score_many([text])[0], self.phases[-1])
        return record
