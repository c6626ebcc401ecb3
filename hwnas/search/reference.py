"""The winner rule's scale, made steadier by a large unscored sample of the feasible set.

A standardising rule (z-scores) is only as steady as its scale, and the search can score
only a few dozen random feasible archs to estimate it. Two things about the feasible set cost
nothing to know, so they are read from hundreds of unscored random feasible archs instead:

- the rule's terms that need no network: the budget a candidate uses (its latency table),
  skip length (its encoding), #Params (summed per block), SED;
- the share of dead networks (``SearchSpace.is_dead``: the output cannot depend on the
  input). Their proxy scores are one constant far below the live ones (on NB201, ES −33 and
  LogSynflow 0 against live means of 14 and 12), so the number of them in a 50-arch sample
  swings the scale of ES and LogSynflow most of all. The scored sample is reweighted so that
  its dead share is the large sample's (post-stratification): the same target, less noise.

On the NB201 dev grid, with 50 scored samples as a search has, the Raspberry Pi 4 25 %
budget's exhaustive pick by the rule moved from 0.52 ± 0.43 regret (scale from the scored
sample alone) to 0.37 ± 0.16, the pick with the feasible set's exact scale being 0.35
(docs/search.md, "The rule's scale").
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from hwnas.proxies import score_architecture
from hwnas.search.fitness import BUDGET_USE, REFERENCE_WEIGHT
from hwnas.search.surrogate import EXACT_PROXIES
from hwnas.spaces.base import SearchSpace

#: Random feasible archs in the unscored sample (a share's or an sd's error ~ 1/√n: 3-5 %).
FREE_SAMPLES = 500
#: Draws tried per sample wanted, so a budget only a sliver of the space meets stays bounded.
DRAWS_PER_SAMPLE = 50
#: The terms that cost no proxy evaluation: the engine's budget use and the proxies every
#: screened candidate gets exactly (read from the encoding).
FREE_TERMS = frozenset({BUDGET_USE, *EXACT_PROXIES})


def free_terms(terms: Sequence[str]) -> list[str]:
    """The terms, among ``terms``, that the unscored sample can scale."""
    return [t for t in terms if t in FREE_TERMS]


@dataclass
class FreeSample:
    """The unscored sample: its rows of free terms, and the share of its archs that are dead."""

    rows: list[dict[str, float]] = field(default_factory=list)
    dead_share: float = 0.0
    size: int = 0

    def reference(self, scored: list[dict[str, float]], dead: Sequence[bool], least: int) -> list[dict[str, float]]:
        """The rule's reference: the ``scored`` random sample (``dead``: which of its archs are),
        reweighted to this sample's dead share, with the free terms taken from this sample's rows
        instead; either part only when it holds at least ``least`` archs."""
        if self.size >= least:
            scored = post_stratified(scored, dead, self.dead_share)
        if len(self.rows) < least:
            return scored
        return [{k: v for k, v in row.items() if k not in self.rows[0]} for row in scored] + self.rows

    def describe(self, reference: Sequence[dict[str, float]], least: int) -> str:
        """How :meth:`reference` scaled the rule, in words (for ``best.json``'s selection)."""
        rows = self.rows if len(self.rows) >= least else []
        text = f", each term standardised over the {len(reference) - len(rows)} random feasible archs it started from"
        if self.size < least:
            return text
        names = [name.replace("_", " ") for name in (rows[0] if rows else ())]
        text += f" (reweighted to the dead share of {self.size} unscored ones"
        return text + (f", which also scale {', '.join(names)})" if names else ")")


def free_sample(
    space: SearchSpace[Any],
    feasible: Callable[[Any], bool],
    budget_use: Callable[[Any], float],
    terms: Sequence[str],
    seed: str,
    *,
    samples: int = FREE_SAMPLES,
) -> FreeSample:
    """``samples`` random feasible archs (fewer when the budget lets few through in
    ``DRAWS_PER_SAMPLE`` × ``samples`` draws): their free ``terms`` and their dead share.
    ``seed`` is the sample's own random stream, apart from the search's, so the sample is the
    same on resume and on any executor."""
    wanted = free_terms(terms)
    proxies = [t for t in wanted if t != BUDGET_USE]
    rng = random.Random(seed)
    out, dead = FreeSample(), 0
    for _ in range(samples * DRAWS_PER_SAMPLE):
        arch = space.sample(rng)
        if not feasible(arch):
            continue
        out.size += 1
        dead += space.is_dead(arch)
        if wanted:
            row = {p: float(v) for p, v in score_architecture(space, arch, proxies).items()} if proxies else {}
            if BUDGET_USE in wanted:
                row[BUDGET_USE] = budget_use(arch)
            out.rows.append(row)
        if out.size == samples:
            break
    out.dead_share = dead / out.size if out.size else 0.0
    return out


def post_stratified(
    rows: Sequence[dict[str, float]], dead: Sequence[bool], dead_share: float
) -> list[dict[str, float]]:
    """``rows`` (the scored sample) with a :data:`REFERENCE_WEIGHT` each, so that their dead
    share is ``dead_share`` (weights average 1). Unchanged when the sample has no dead arch or
    only dead ones: there is then no stratum to reweight."""
    n, n_dead = len(rows), sum(dead)
    if n_dead in (0, n):
        return list(rows)
    weight = {True: dead_share * n / n_dead, False: (1 - dead_share) * n / (n - n_dead)}
    return [{**row, REFERENCE_WEIGHT: weight[d]} for row, d in zip(rows, dead, strict=True)]
