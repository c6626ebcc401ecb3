"""The contract every search space fulfils.

A space owns its genes and everything that follows from them: sampling, the two
mutation families the cyclic search alternates (topology vs size), a canonical
text encoding, the ``torch.nn.Module`` it describes and the list of blocks a
latency table is keyed by. Architectures are the space's own frozen dataclasses;
code outside a space handles them only through this interface and their
encoding string.

Guarantees every implementation gives (the conformance tests in
``tests/spaces/test_conformance.py`` check them for every registered space):

- ``sample(rng)`` and the mutations draw every random choice from ``rng`` only,
  so a seed fixes the result; inputs are never modified.
- ``mutate_topology`` changes only topology genes, ``mutate_size`` only size genes,
  and both return a valid architecture different from the input. ``mutate_size`` is an
  optional capability: callers ask ``has_size_genes`` first, and a space without size
  genes (nb201) does not implement it.
- ``preprocessing`` names the input statistics the space's networks expect (as timm's
  pretrained config carries mean/std), so an export never guesses them from the name.
- ``examples`` are valid canonical encodings (docs, tests and bug reports copy them).
- ``sed_rules``, where a space has them (an optional capability, like size genes), hold one
  entry per block kind its ``all_blocks`` lists: how that block changes the Gaussian field SED
  follows (:mod:`hwnas.layers.entropy`), or None for a block SED does not count.
- ``decode(encode(a)) == a`` and ``encode(decode(s)) == s`` for canonical ``s``.
- ``decode`` raises :class:`~hwnas.errors.InvalidArchitecture` naming the bad part.
- The blocks of ``blocks(arch)`` run in sequence reproduce ``build(arch)``'s layers,
  stem first and head last, each with the exact input shape it sees (batch 1).
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, ClassVar, Generic, TypeVar

import torch
from torch import nn

from hwnas.errors import UsageError
from hwnas.layers.entropy import Field

A = TypeVar("A")


@dataclass(frozen=True)
class BlockSpec:
    """One block of a network at its input shape: the unit a latency table stores.

    ``key`` is canonical and unique for (block configuration, input shape), so two
    networks sharing a block share its table entry. ``config`` holds what the space
    needs to rebuild the block on its own (``SearchSpace.build_block``).
    """

    key: str
    kind: str
    input_shape: tuple[int, ...]
    config: tuple[tuple[str, Any], ...] = field(default=())

    def config_dict(self) -> dict[str, Any]:
        return dict(self.config)


#: SED's rule for one block kind: the field the block hands to the next, from the field it receives.
SedRule = Callable[[Field, BlockSpec], Field]
#: A space's SED rules by block kind; None for a kind SED does not count (a classifier head, the
#: same for every topology).
SedRules = Mapping[str, SedRule | None]


@dataclass(frozen=True)
class InputStats:
    """The per-channel normalisation a space's networks are built for: ``(x - mean) / std`` on RGB in [0, 1]."""

    statistics: str
    mean: tuple[float, float, float]
    std: tuple[float, float, float]


IMAGENET = InputStats("ImageNet", (0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
CIFAR10 = InputStats("CIFAR-10", (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616))


@dataclass(frozen=True)
class GeneGroup:
    """A named group of genes (``topology`` or ``size``) with a one-line description each."""

    name: str
    genes: tuple[tuple[str, str], ...]


class SearchSpace(ABC, Generic[A]):
    """Base class of search spaces; see the module docstring for the guarantees."""

    name: str = ""
    description: str = ""
    default_resolution: int = 224
    default_num_classes: int = 1000
    #: The input resolution the search scores proxies at; None: the network's own resolution.
    #: The one place this default lives (the CLI and ``run_search`` both read it).
    proxy_resolution: int | None = None
    in_channels: int = 3
    #: SED's rules by block kind (read by :mod:`hwnas.proxies.sed`); None: the space has none, and
    #: scoring it with ``sed`` is a usage error that names it.
    sed_rules: ClassVar[SedRules | None] = None

    # ---- genes -------------------------------------------------------------------------
    @abstractmethod
    def gene_groups(self) -> tuple[GeneGroup, GeneGroup]:
        """The topology group first, then the size group."""

    @abstractmethod
    def sample(self, rng: random.Random) -> A:
        """A uniformly drawn architecture of the space."""

    @abstractmethod
    def mutate_topology(self, arch: A, rng: random.Random) -> A:
        """A different architecture that shares every size gene with ``arch``."""

    @property
    def has_size_genes(self) -> bool:
        """Whether the space has size genes, so ``mutate_size`` applies (the size gene group is not empty)."""
        return bool(self.gene_groups()[1].genes)

    def mutate_size(self, arch: A, rng: random.Random) -> A:
        """A different architecture that shares every topology gene with ``arch``.

        Only for spaces with ``has_size_genes``; such a space must override it (the conformance
        tests check), and calling it on one without size genes is a usage error."""
        raise UsageError(f"the {self.name} space has no size genes; check has_size_genes before mutate_size")

    #: True when :meth:`build` is the plain sequence of :meth:`blocks`' modules, so a network's
    #: #Params is the sum of its blocks' (:meth:`count_params`).
    sequential_blocks: bool = False

    def count_params(self, arch: A, num_classes: int | None = None) -> int | None:
        """#Params of ``arch`` without building it: the sum of its blocks', each counted once per block
        on the meta device (a screening search counts thousands of candidates: ~10-100 ms per network
        becomes well under one). None when the space is not a sequence of blocks: count the network."""
        if not self.sequential_blocks:
            return None
        return sum(_block_params(self, spec) for spec in self.blocks(arch, num_classes=num_classes))

    def features(self, arch: A) -> list[float]:
        """A fixed-length numeric description of ``arch`` from its genes alone (microseconds, nothing
        built), what a search's surrogate regresses proxy scores on to screen candidates before
        scoring them. Empty: the space offers none, and the search does not screen."""
        return []

    @abstractmethod
    def crossover(self, a: A, b: A, rng: random.Random) -> A:
        """A child whose genes each come from ``a`` or ``b``."""

    def topology_of(self, arch: A) -> Any:
        """A hashable value that equals for two archs iff their topology genes are equal."""
        return self.encode(arch)

    def size_of(self, arch: A) -> Any:
        """A hashable value that equals for two archs iff their size genes are equal."""
        return self.encode(arch)

    def is_dead(self, arch: A) -> bool:
        """True when the network's output cannot depend on its input (every path crosses a zero
        operation). Its proxy scores are the same degenerate constants for every such arch, far
        from the live ones, so how many a random sample holds swings a standardising rule's scale
        (search/reference.py counts them in a large unscored sample). False in a space without
        zero operations."""
        return False

    def skip_lengths(self, arch: A) -> list[int]:
        """For cell (DAG) spaces: target node minus source node of every identity edge.

        FreeREA's third fitness term reads it; a space whose networks are plain block
        sequences has no such edges (its residuals all span one block) and returns [].
        """
        return []

    # ---- metadata ----------------------------------------------------------------------
    @property
    @abstractmethod
    def preprocessing(self) -> InputStats:
        """The input statistics the space's networks expect (its dataset's mean/std)."""

    @property
    @abstractmethod
    def examples(self) -> tuple[str, ...]:
        """A few canonical encodings of the space (the first is the one docs and smoke tests use)."""

    # ---- encoding ----------------------------------------------------------------------
    @abstractmethod
    def encode(self, arch: A) -> str:
        """The canonical, human-readable encoding."""

    @abstractmethod
    def decode(self, text: str) -> A:
        """Parse and validate an encoding; raises InvalidArchitecture naming the bad part."""

    def validate(self, text: str) -> None:
        """Raise InvalidArchitecture if ``text`` is not an architecture of this space."""
        self.decode(text)

    # ---- networks ----------------------------------------------------------------------
    @abstractmethod
    def build(self, arch: A, num_classes: int | None = None, resolution: int | None = None) -> nn.Module:
        """The network, in eval mode, with the space's default initialisation."""

    @abstractmethod
    def blocks(self, arch: A, resolution: int | None = None, num_classes: int | None = None) -> list[BlockSpec]:
        """Stem, every block and the head, in order, each at its input shape (batch 1)."""

    @abstractmethod
    def build_block(self, spec: BlockSpec) -> nn.Module:
        """One block on its own, in eval mode: what profiling exports and times."""

    @abstractmethod
    def all_blocks(self, resolution: int | None = None, num_classes: int | None = None) -> Iterator[BlockSpec]:
        """Every distinct block any architecture of the space can contain (for profiling)."""

    def input_shape(self, resolution: int | None = None, batch: int = 1) -> tuple[int, int, int, int]:
        r = resolution or self.default_resolution
        return (batch, self.in_channels, r, r)

    def example_input(self, resolution: int | None = None, batch: int = 1, seed: int = 0) -> torch.Tensor:
        gen = torch.Generator().manual_seed(seed)
        return torch.randn(self.input_shape(resolution, batch), generator=gen)

    # ---- convenience -------------------------------------------------------------------
    def sample_many(self, n: int, seed: int) -> list[A]:
        """``n`` samples drawn from one ``random.Random(seed)``: same seed, same list."""
        rng = random.Random(seed)
        return [self.sample(rng) for _ in range(n)]


@lru_cache(maxsize=65536)
def _block_params(space: SearchSpace[Any], spec: BlockSpec) -> int:
    """#Params of one block, a pure function of its spec (counted on the meta device)."""
    from hwnas.counting import count_params

    with torch.device("meta"):
        module = space.build_block(spec)
    return count_params(module)
