"""NAS-Bench-201 (Dong & Yang, ICLR 2020): the benchmark's cell space and "tiny network".

Encoding grammar (the benchmark's own arch string)::

    |op~0|+|op~0|op~1|+|op~0|op~1|op~2|

three ``+``-separated groups list the inputs of nodes 1, 2 and 3; ``op~i`` is the
operation on the edge from node ``i``. ``op`` is one of ``none``, ``skip_connect``,
``nor_conv_1x1``, ``nor_conv_3x3``, ``avg_pool_3x3``.

The six edge operations are all *topology* genes; the space has no size genes
(channels 16/32/64 and 5 cells per stage are fixed): ``has_size_genes`` is False.
Block list: stem, 15 cells, 2 residual reduction blocks and the head; a cell's
key holds its arch string and input shape, so a per-block table for this space
has up to 3 x 15,625 cell entries. Whole-architecture latency tables (for example
HW-NAS-Bench's measurements) are the usual latency source here.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import torch
from torch import nn

from hwnas.errors import InvalidArchitecture, excerpt
from hwnas.layers import entropy
from hwnas.layers.entropy import RELU_SECOND_MOMENT, Field, Mix
from hwnas.spaces import SPACES
from hwnas.spaces.base import CIFAR10, BlockSpec, GeneGroup, SearchSpace, SedRules

OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
EDGES = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))  # (to, from), in arch-string order
STAGE_CHANNELS = (16, 32, 64)
CELLS_PER_STAGE = 5


@dataclass(frozen=True)
class NB201Arch:
    """Six edge operations in arch-string order (edges 1<-0, 2<-0, 2<-1, 3<-0, 3<-1, 3<-2)."""

    ops: tuple[str, ...]


def _arch_string(ops: tuple[str, ...]) -> str:
    groups, k = [], 0
    for node in (1, 2, 3):
        groups.append("|" + "|".join(f"{ops[k + i]}~{i}" for i in range(node)) + "|")
        k += node
    return "+".join(groups)


# ---- layers of the benchmark's network --------------------------------------------------
class ReLUConvBN(nn.Sequential):
    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=False),
            nn.BatchNorm2d(c_out),
        )


class Zero(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mul(0.0)


def _edge_op(name: str, c: int) -> nn.Module:
    if name == "none":
        return Zero()
    if name == "skip_connect":
        return nn.Identity()
    if name == "nor_conv_1x1":
        return ReLUConvBN(c, c, 1, 1)
    if name == "nor_conv_3x3":
        return ReLUConvBN(c, c, 3, 1)
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    raise InvalidArchitecture(f"unknown NB201 operation {excerpt(name)}")


class Cell(nn.Module):
    """The benchmark's InferCell: node j = sum of op(node i) over i < j; output node 3."""

    def __init__(self, ops: tuple[str, ...], c: int) -> None:
        super().__init__()
        self.edges = nn.ModuleList(_edge_op(op, c) for op in ops)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        k = 0
        for node in (1, 2, 3):
            total = self.edges[k](nodes[0])
            for i in range(1, node):
                total = total + self.edges[k + i](nodes[i])
            nodes.append(total)
            k += node
        return nodes[3]


class ResidualReduction(nn.Module):
    """The benchmark's ResNetBasicblock with stride 2 between stages."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, 2)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1)
        self.downsample = nn.Sequential(
            nn.AvgPool2d(kernel_size=2, stride=2, padding=0),
            nn.Conv2d(c_in, c_out, 1, stride=1, padding=0, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.downsample(x) + self.conv_b(self.conv_a(x))


class Stem(nn.Sequential):
    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out))


class Head(nn.Module):
    """BN + ReLU, global average pool, linear classifier."""

    def __init__(self, c: int, num_classes: int) -> None:
        super().__init__()
        self.lastact = nn.Sequential(nn.BatchNorm2d(c), nn.ReLU(inplace=False))
        self.classifier = nn.Linear(c, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.lastact(x).mean(dim=(2, 3)))


# ---- SED (hwnas.proxies.sed): cells as DAGs of sources ---------------------------------
def _sed_stem(x: Field, spec: BlockSpec) -> Field:
    return entropy.conv(x, 9 * spec.input_shape[1])


def _sed_cell(inp: Field, spec: BlockSpec) -> Field:
    """The field of the cell's output node; every node is a linear mix of independent sources
    (the cell input and each conv's output), each smoothed p times by 3x3 average pooling."""
    ops, channels = tuple(spec.config_dict()["ops"]), spec.input_shape[1]
    sources: list[tuple[float, float]] = [(1.0, inp.r)]  # (variance relative to the input, r)
    nodes: list[Mix] = [{(0, 0): 1.0}]
    fields: list[Field] = [Field(0.0, inp.r)]
    for target in (1, 2, 3):
        node: Mix = {}
        for (to, frm), op in zip(EDGES, ops, strict=True):
            if to != target or op == "none":
                continue
            parent = nodes[frm]
            terms: Iterable[tuple[tuple[int, int], float]]
            if op == "skip_connect":
                terms = parent.items()
            elif op == "avg_pool_3x3":
                terms = (((s, p + 1), c) for (s, p), c in parent.items())
            else:  # nor_conv_kxk: ReLU -> conv -> BN (identity at initialisation)
                k = 3 if op == "nor_conv_3x3" else 1
                pf = fields[frm]
                if pf.log_var <= entropy.DEAD_LOG_VAR:
                    continue
                variance = math.exp(pf.log_var) * k * k * channels * RELU_SECOND_MOMENT
                sources.append((variance, entropy.relu_correlation(pf.r)))
                terms = (((len(sources) - 1, 0), 1.0),)
            for key, c in terms:
                node[key] = node.get(key, 0.0) + c
        nodes.append(node)
        fields.append(entropy.mixed_field(node, sources))
    return entropy.shift(fields[3], inp.log_var)


def _sed_reduction(x: Field, spec: BlockSpec) -> Field:
    c_in, c_out = spec.input_shape[1], spec.config_dict()["c_out"]
    branch = entropy.conv(entropy.conv(x, 9 * c_in, relu_before=True, stride=2), 9 * c_out, relu_before=True)
    shortcut = entropy.conv(entropy.avg_pool(x, 2, 2), c_in)
    return entropy.add_independent(branch, shortcut)


#: The head (BN, ReLU, pooling, classifier) is the same for every topology: SED does not count it.
SED_RULES: SedRules = {"stem": _sed_stem, "cell": _sed_cell, "reduction": _sed_reduction, "head": None}


# ---- the space --------------------------------------------------------------------------
@SPACES.register("nb201")
class NB201Space(SearchSpace[NB201Arch]):
    name = "nb201"
    sequential_blocks = True
    description = "NAS-Bench-201 cell space: 6 edges x 5 ops = 15,625 architectures (CIFAR, 32x32)"
    default_resolution = 32
    default_num_classes = 10
    preprocessing = CIFAR10
    sed_rules = SED_RULES
    examples = ("|nor_conv_3x3~0|+|nor_conv_3x3~0|none~1|+|nor_conv_1x1~0|avg_pool_3x3~1|nor_conv_3x3~2|",)

    def gene_groups(self) -> tuple[GeneGroup, GeneGroup]:
        edges = tuple((f"edge{to}<-{frm}", f"operation on edge {frm}->{to}: " + "/".join(OPS)) for to, frm in EDGES)
        return GeneGroup("topology", edges), GeneGroup("size", ())

    def sample(self, rng: random.Random) -> NB201Arch:
        return NB201Arch(tuple(rng.choice(OPS) for _ in EDGES))

    def mutate_topology(self, arch: NB201Arch, rng: random.Random) -> NB201Arch:
        i = rng.randrange(len(EDGES))
        new_op = rng.choice([op for op in OPS if op != arch.ops[i]])
        return NB201Arch(arch.ops[:i] + (new_op,) + arch.ops[i + 1 :])

    def crossover(self, a: NB201Arch, b: NB201Arch, rng: random.Random) -> NB201Arch:
        return NB201Arch(tuple(x if rng.random() < 0.5 else y for x, y in zip(a.ops, b.ops, strict=True)))

    def topology_of(self, arch: NB201Arch) -> tuple[str, ...]:
        return arch.ops

    def size_of(self, arch: NB201Arch) -> tuple[()]:
        return ()

    def features(self, arch: NB201Arch) -> list[float]:
        """One-hot operation per edge (30), and the log of the cells' parameters (5 cells per
        stage at 16 / 32 / 64 channels: a 1x1 conv holds C² + 2C, a 3x3 conv 9C² + 2C), which a
        linear surrogate cannot form from the one-hot part alone."""
        onehot = [1.0 if op == name else 0.0 for op in arch.ops for name in OPS]
        c1 = sum(op == "nor_conv_1x1" for op in arch.ops)
        c3 = sum(op == "nor_conv_3x3" for op in arch.ops)
        cell_params = sum(5 * (c1 * (c * c + 2 * c) + c3 * (9 * c * c + 2 * c)) for c in (16, 32, 64))
        return [*onehot, math.log1p(cell_params)]

    def is_dead(self, arch: NB201Arch) -> bool:
        reached = {0}
        for (to, frm), op in zip(EDGES, arch.ops, strict=True):  # edges in node order: sources come first
            if op != "none" and frm in reached:
                reached.add(to)
        return 3 not in reached

    def skip_lengths(self, arch: NB201Arch) -> list[int]:
        return [to - frm for (to, frm), op in zip(EDGES, arch.ops, strict=True) if op == "skip_connect"]

    def encode(self, arch: NB201Arch) -> str:
        return _arch_string(arch.ops)

    def decode(self, text: str) -> NB201Arch:
        text = text.strip()
        groups = text.split("+")
        if len(groups) != 3:
            raise InvalidArchitecture(
                f"NB201 arch string needs 3 '+'-separated node groups, got {len(groups)}: {excerpt(text)}"
            )
        ops: list[str] = []
        for node, group in enumerate(groups, start=1):
            if not (group.startswith("|") and group.endswith("|")):
                raise InvalidArchitecture(f"node {node} group {excerpt(group)} must start and end with '|'")
            entries = group[1:-1].split("|")
            if len(entries) != node:
                raise InvalidArchitecture(f"node {node} group {excerpt(group)} needs {node} inputs, got {len(entries)}")
            for i, entry in enumerate(entries):
                op, sep, src = entry.partition("~")
                if not sep or src != str(i):
                    raise InvalidArchitecture(f"node {node} entry {excerpt(entry)} must be 'op~{i}'")
                if op not in OPS:
                    raise InvalidArchitecture(
                        f"node {node} entry {excerpt(entry)}: unknown operation {excerpt(op)} (known: {', '.join(OPS)})"
                    )
                ops.append(op)
        return NB201Arch(tuple(ops))

    # ---- networks ---------------------------------------------------------------------
    def _layout(self, arch: NB201Arch, resolution: int, num_classes: int) -> list[BlockSpec]:
        specs = []
        c0 = STAGE_CHANNELS[0]
        r = resolution
        specs.append(
            BlockSpec(
                key=f"nb201_stem-input:{r}x{r}x{self.in_channels}-output:{r}x{r}x{c0}",
                kind="stem",
                input_shape=(1, self.in_channels, r, r),
                config=(("c_out", c0),),
            )
        )
        arch_str = _arch_string(arch.ops)
        for stage, c in enumerate(STAGE_CHANNELS):
            if stage > 0:
                c_prev = STAGE_CHANNELS[stage - 1]
                specs.append(
                    BlockSpec(
                        key=f"nb201_reduction-input:{r}x{r}x{c_prev}-output:{r // 2}x{r // 2}x{c}",
                        kind="reduction",
                        input_shape=(1, c_prev, r, r),
                        config=(("c_out", c),),
                    )
                )
                r //= 2
            for _ in range(CELLS_PER_STAGE):
                specs.append(
                    BlockSpec(
                        key=f"nb201_cell-input:{r}x{r}x{c}-arch:{arch_str}",
                        kind="cell",
                        input_shape=(1, c, r, r),
                        config=(("ops", arch.ops),),
                    )
                )
        c_last = STAGE_CHANNELS[-1]
        specs.append(
            BlockSpec(
                key=f"nb201_head-input:{r}x{r}x{c_last}-classes:{num_classes}",
                kind="head",
                input_shape=(1, c_last, r, r),
                config=(("num_classes", num_classes),),
            )
        )
        return specs

    def blocks(self, arch: NB201Arch, resolution: int | None = None, num_classes: int | None = None) -> list[BlockSpec]:
        return self._layout(arch, resolution or self.default_resolution, num_classes or self.default_num_classes)

    def build_block(self, spec: BlockSpec) -> nn.Module:
        cfg = spec.config_dict()
        c_in = spec.input_shape[1]
        if spec.kind == "stem":
            module: nn.Module = Stem(c_in, cfg["c_out"])
        elif spec.kind == "reduction":
            module = ResidualReduction(c_in, cfg["c_out"])
        elif spec.kind == "cell":
            module = Cell(tuple(cfg["ops"]), c_in)
        elif spec.kind == "head":
            module = Head(c_in, cfg["num_classes"])
        else:
            raise InvalidArchitecture(f"unknown nb201 block kind {spec.kind!r}")
        return module.eval()

    def build(self, arch: NB201Arch, num_classes: int | None = None, resolution: int | None = None) -> nn.Module:
        specs = self.blocks(arch, resolution, num_classes)
        return nn.Sequential(*(self.build_block(s) for s in specs)).eval()

    def all_blocks(self, resolution: int | None = None, num_classes: int | None = None) -> Iterator[BlockSpec]:
        seen: set[str] = set()
        for ops in itertools.product(OPS, repeat=len(EDGES)):
            for spec in self.blocks(NB201Arch(ops), resolution, num_classes):
                if spec.key not in seen:
                    seen.add(spec.key)
                    yield spec
