"""The hybrid CNN-Transformer space (ESFormer-style), hwnas's default space.

A patchify stem (stride 4) and four stages at strides 4/8/16/32; stages 2-4
start with a 2x2 stride-2 downsample. Every layer is one residual block at the
stage width: an inverted bottleneck (IBN), a ConvNeXt block, or a Transformer
encoder whose feed-forward part is an MLP, an IBN or a ConvNeXt block.

Genes (REFERENCE §5), split the way the cyclic search uses them:

- topology, per layer: block type, kernel size (3/5/7) and, for Transformer
  layers, the feed-forward type;
- size, per stage: width, depth, expansion ratio, and for stages 2-4 the QKV
  dimension and number of heads (stage 1 has no attention: 3,136 tokens at 224²).

Encoding grammar (four stage strings joined by ``/``)::

    arch   := stage "/" stage "/" stage "/" stage
    stage  := "w" WIDTH "-e" EXPANSION ["-q" QKV "-h" HEADS] ":" layer ("," layer)*
    layer  := "ib" K | "cn" K | "tm" | "ti" K | "tc" K        K in {3, 5, 7}

``ib``: inverted bottleneck, ``cn``: ConvNeXt, ``tm``/``ti``/``tc``: Transformer
with an MLP / IBN / ConvNeXt feed-forward; the number of layers is the depth;
``-q -h`` appear on stages 2-4 only. Example (about 1.4M parameters)::

    w24-e3:ib3,ib3/w48-e3-q32-h2:ib3,ib5/w96-e3-q64-h2:ib5,ti5,tc5/w160-e3-q96-h2:cn7,tc7

When a size mutation deepens a stage, the new layers repeat the stage's last
layer; when it makes a stage shallower, the last layers go. So the first
``min(depth, new depth)`` layers keep their topology genes.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace

from torch import nn

from hwnas.errors import InvalidArchitecture, UsageError, excerpt
from hwnas.layers.blocks import ClassifierHead, ConvNeXtBlock, Downsample, InvertedBottleneck, Stem, TransformerEncoder
from hwnas.spaces import SPACES
from hwnas.spaces.base import IMAGENET, BlockSpec, GeneGroup, SearchSpace
from hwnas.spaces.hybrid_sed import SED_RULES, STEM_STRIDE

KERNELS = (3, 5, 7)
EXPANSIONS = (2, 3, 4)
WIDTHS = ((24, 32, 48), (48, 64, 96), (96, 128, 176), (160, 224, 320))
DEPTHS = ((1, 2, 3), (1, 2, 3), (2, 3, 4, 6, 8), (1, 2, 3))
QKV_DIMS: tuple[tuple[int, ...] | None, ...] = (None, (32, 48), (64, 96), (96, 128))
HEADS: tuple[tuple[int, ...] | None, ...] = (None, (2, 4), (2, 4), (2, 4))
NUM_STAGES = 4
FFN_TYPES = ("mlp", "ibn", "convnext")
_FFN_CODE = {"tm": "mlp", "ti": "ibn", "tc": "convnext"}
_LAYER_RE = re.compile(r"^(ib|cn|ti|tc)([0-9]{1,3})$|^(tm)$")
_STAGE_RE = re.compile(r"^w([0-9]{1,5})-e([0-9]{1,3})(?:-q([0-9]{1,5})-h([0-9]{1,3}))?$")  # ASCII digits, bounded


def _layer_tokens(stage: int) -> tuple[str, ...]:
    cnn = tuple(f"{t}{k}" for t in ("ib", "cn") for k in KERNELS)
    if stage == 0:
        return cnn
    return cnn + ("tm",) + tuple(f"{t}{k}" for t in ("ti", "tc") for k in KERNELS)


@dataclass(frozen=True)
class Stage:
    """One stage: size genes plus one topology token per layer (see the module grammar)."""

    width: int
    expansion: int
    layers: tuple[str, ...]
    qkv_dim: int | None = None
    heads: int | None = None

    @property
    def depth(self) -> int:
        return len(self.layers)


@dataclass(frozen=True)
class HybridArch:
    stages: tuple[Stage, ...]


def _parse_layer(token: str) -> tuple[str, int | None, str | None]:
    """(block kind, kernel, ffn) of a layer token."""
    m = _LAYER_RE.match(token)
    if m is None:
        raise InvalidArchitecture(f"layer {excerpt(token)} is not one of ib<k>, cn<k>, tm, ti<k>, tc<k>")
    if m.group(3):
        return "transformer", None, "mlp"
    code, kernel = m.group(1), int(m.group(2))
    if code == "ib":
        return "ibn", kernel, None
    if code == "cn":
        return "convnext", kernel, None
    return "transformer", kernel, _FFN_CODE[code]


def _stem_spec(r: int, c_in: int, c_out: int) -> BlockSpec:
    o = r // STEM_STRIDE
    return BlockSpec(f"stem-input:{r}x{r}x{c_in}-output:{o}x{o}x{c_out}", "stem", (1, c_in, r, r), (("c_out", c_out),))


def _downsample_spec(r: int, c_in: int, c_out: int) -> BlockSpec:
    key = f"downsample-input:{r}x{r}x{c_in}-output:{r // 2}x{r // 2}x{c_out}"
    return BlockSpec(key, "downsample", (1, c_in, r, r), (("c_out", c_out),))


def _head_spec(r: int, c: int, num_classes: int) -> BlockSpec:
    key = f"head-input:{r}x{r}x{c}-classes:{num_classes}"
    return BlockSpec(key, "head", (1, c, r, r), (("num_classes", num_classes),))


@SPACES.register("hybrid")
class HybridSpace(SearchSpace[HybridArch]):
    name = "hybrid"
    sequential_blocks = True
    description = "ESFormer-style CNN-Transformer space (IBN/ConvNeXt/Transformer layers), 224x224, ~0.6-6.5M params"
    default_resolution = 224
    default_num_classes = 1000
    preprocessing = IMAGENET
    sed_rules = SED_RULES
    examples = (
        "w24-e2:ib3/w48-e2-q32-h2:tm/w96-e2-q64-h2:ib3,ti3/w160-e2-q96-h2:cn3",
        "w24-e3:ib3,ib3/w48-e3-q32-h2:ib3,ib5/w96-e3-q64-h2:ib5,ti5,tc5/w160-e3-q96-h2:cn7,tc7",
    )
    # proxy_resolution stays None (score at 224, as deployed): no reduced resolution ranks like 224 at
    # >= 0.9 for both search proxies (LogSynflow among topology mutants: 0.73); scripts/proxy_fidelity.py

    def gene_groups(self) -> tuple[GeneGroup, GeneGroup]:
        topology = (
            ("block", "per layer: ib (inverted bottleneck), cn (ConvNeXt), t* (Transformer; stages 2-4)"),
            ("kernel", "per layer: depthwise kernel size 3/5/7 (of the feed-forward block for ti/tc)"),
            ("ffn", "per Transformer layer: feed-forward part tm (MLP), ti (IBN), tc (ConvNeXt)"),
        )
        size = (
            ("width", "per stage: " + " | ".join("/".join(map(str, w)) for w in WIDTHS)),
            ("depth", "per stage: " + " | ".join("/".join(map(str, d)) for d in DEPTHS)),
            ("expansion", "per stage: " + "/".join(map(str, EXPANSIONS))),
            ("qkv", "stages 2-4: " + " | ".join("/".join(map(str, q)) for q in QKV_DIMS if q)),
            ("heads", "stages 2-4: " + " | ".join("/".join(map(str, h)) for h in HEADS if h)),
        )
        return GeneGroup("topology", topology), GeneGroup("size", size)

    # ---- sampling and mutation ---------------------------------------------------------
    def _sample_token(self, stage: int, rng: random.Random) -> str:
        kinds = ("ib", "cn") if stage == 0 else ("ib", "cn", "t")
        kind = rng.choice(kinds)
        kernel = rng.choice(KERNELS)
        if kind != "t":
            return f"{kind}{kernel}"
        ffn = rng.choice(("tm", "ti", "tc"))
        return "tm" if ffn == "tm" else f"{ffn}{kernel}"

    def sample(self, rng: random.Random) -> HybridArch:
        stages = []
        for s in range(NUM_STAGES):
            width = rng.choice(WIDTHS[s])
            depth = rng.choice(DEPTHS[s])
            expansion = rng.choice(EXPANSIONS)
            qkvs, head_counts = QKV_DIMS[s], HEADS[s]
            qkv = rng.choice(qkvs) if qkvs else None
            heads = rng.choice(head_counts) if head_counts else None
            layers = tuple(self._sample_token(s, rng) for _ in range(depth))
            stages.append(Stage(width, expansion, layers, qkv, heads))
        return HybridArch(tuple(stages))

    def features(self, arch: HybridArch) -> list[float]:
        """Per stage: width, expansion, depth, QKV dimension and heads (scaled by the stage's
        largest choice), the share of each layer kind (ib, cn, tm, ti, tc) and the mean kernel."""
        out: list[float] = []
        for s, stage in enumerate(arch.stages):
            qkvs, heads = QKV_DIMS[s], HEADS[s]
            out += [
                stage.width / max(WIDTHS[s]),
                stage.expansion / max(EXPANSIONS),
                stage.depth / max(DEPTHS[s]),
                (stage.qkv_dim or 0) / max(qkvs) if qkvs else 0.0,
                (stage.heads or 0) / max(heads) if heads else 0.0,
            ]
            codes = [token[:2] for token in stage.layers]
            out += [codes.count(code) / stage.depth for code in ("ib", "cn", "tm", "ti", "tc")]
            kernels = [int(token[2:]) for token in stage.layers if token[2:]]
            out.append(sum(kernels) / len(kernels) / max(KERNELS) if kernels else 0.0)
        return out

    def mutate_topology(self, arch: HybridArch, rng: random.Random) -> HybridArch:
        s = rng.randrange(NUM_STAGES)
        stage = arch.stages[s]
        i = rng.randrange(stage.depth)
        token = rng.choice([t for t in _layer_tokens(s) if t != stage.layers[i]])
        layers = stage.layers[:i] + (token,) + stage.layers[i + 1 :]
        return self._with_stage(arch, s, replace(stage, layers=layers))

    def mutate_size(self, arch: HybridArch, rng: random.Random) -> HybridArch:
        s = rng.randrange(NUM_STAGES)
        stage = arch.stages[s]
        qkvs, head_counts = QKV_DIMS[s] or (), HEADS[s] or ()
        genes = ["width", "depth", "expansion"] + (["qkv", "heads"] if qkvs else [])
        gene = rng.choice(genes)
        if gene == "width":
            new = replace(stage, width=rng.choice([w for w in WIDTHS[s] if w != stage.width]))
        elif gene == "expansion":
            new = replace(stage, expansion=rng.choice([e for e in EXPANSIONS if e != stage.expansion]))
        elif gene == "qkv":
            new = replace(stage, qkv_dim=rng.choice([q for q in qkvs if q != stage.qkv_dim]))
        elif gene == "heads":
            new = replace(stage, heads=rng.choice([h for h in head_counts if h != stage.heads]))
        else:
            depth = rng.choice([d for d in DEPTHS[s] if d != stage.depth])
            layers = stage.layers[:depth] + (stage.layers[-1],) * max(0, depth - stage.depth)
            new = replace(stage, layers=layers)
        return self._with_stage(arch, s, new)

    def crossover(self, a: HybridArch, b: HybridArch, rng: random.Random) -> HybridArch:
        """Stage-wise uniform crossover: each stage comes whole from one parent."""
        return HybridArch(tuple(x if rng.random() < 0.5 else y for x, y in zip(a.stages, b.stages, strict=True)))

    def topology_of(self, arch: HybridArch) -> tuple[tuple[str, ...], ...]:
        return tuple(st.layers for st in arch.stages)

    def size_of(self, arch: HybridArch) -> tuple[tuple[int | None, ...], ...]:
        return tuple((st.width, st.depth, st.expansion, st.qkv_dim, st.heads) for st in arch.stages)

    @staticmethod
    def _with_stage(arch: HybridArch, s: int, stage: Stage) -> HybridArch:
        return HybridArch(arch.stages[:s] + (stage,) + arch.stages[s + 1 :])

    # ---- encoding ----------------------------------------------------------------------
    def encode(self, arch: HybridArch) -> str:
        parts = []
        for st in arch.stages:
            head = f"w{st.width}-e{st.expansion}"
            if st.qkv_dim is not None:
                head += f"-q{st.qkv_dim}-h{st.heads}"
            parts.append(head + ":" + ",".join(st.layers))
        return "/".join(parts)

    def decode(self, text: str) -> HybridArch:
        parts = text.strip().split("/")
        if len(parts) != NUM_STAGES:
            raise InvalidArchitecture(f"hybrid arch needs {NUM_STAGES} '/'-separated stages, got {len(parts)}")
        return HybridArch(tuple(self._decode_stage(s, p) for s, p in enumerate(parts)))

    def _decode_stage(self, s: int, text: str) -> Stage:
        where = f"stage {s + 1} ({excerpt(text)})"
        head, sep, body = text.partition(":")
        if not sep or not body:
            raise InvalidArchitecture(f"{where}: expected 'w<width>-e<expansion>...:<layer>,<layer>...'")
        m = _STAGE_RE.match(head)
        if m is None:
            raise InvalidArchitecture(
                f"{where}: stage header {excerpt(head)} must look like 'w48-e4-q32-h2' ('w24-e4' in stage 1)"
            )
        width, expansion = int(m.group(1)), int(m.group(2))
        qkv = int(m.group(3)) if m.group(3) else None
        heads = int(m.group(4)) if m.group(4) else None
        if width not in WIDTHS[s]:
            raise InvalidArchitecture(f"{where}: width {width} not in {WIDTHS[s]}")
        if expansion not in EXPANSIONS:
            raise InvalidArchitecture(f"{where}: expansion {expansion} not in {EXPANSIONS}")
        qkvs, head_counts = QKV_DIMS[s], HEADS[s]
        if qkvs is None or head_counts is None:
            if qkv is not None:
                raise InvalidArchitecture(f"{where}: stage 1 has no attention, so no -q/-h")
        else:
            if qkv is None:
                raise InvalidArchitecture(f"{where}: missing '-q<qkv>-h<heads>'")
            if qkv not in qkvs:
                raise InvalidArchitecture(f"{where}: qkv dimension {qkv} not in {qkvs}")
            if heads not in head_counts:
                raise InvalidArchitecture(f"{where}: heads {heads} not in {head_counts}")
        layers = tuple(body.split(","))
        if len(layers) not in DEPTHS[s]:
            raise InvalidArchitecture(f"{where}: depth {len(layers)} not in {DEPTHS[s]}")
        allowed = _layer_tokens(s)
        for token in layers:
            kind, kernel, _ = _parse_layer(token)
            if kernel is not None and kernel not in KERNELS:
                raise InvalidArchitecture(f"{where}: layer {excerpt(token)} has kernel {kernel}, not in {KERNELS}")
            if token not in allowed:
                raise InvalidArchitecture(f"{where}: {kind} layer {excerpt(token)} is not allowed in stage {s + 1}")
        return Stage(width, expansion, layers, qkv, heads)

    # ---- networks ----------------------------------------------------------------------
    def _check_resolution(self, resolution: int) -> None:
        if resolution < 32 or resolution % 32:
            raise UsageError(f"hybrid resolution must be a multiple of 32 (>= 32), got {resolution}")

    def _layer_spec(self, stage: Stage, token: str, r: int) -> BlockSpec:
        kind, kernel, ffn = _parse_layer(token)
        c = stage.width
        shape = f"input:{r}x{r}x{c}"
        if kind == "transformer":
            ffn_part = f"ffn:{ffn}" + (f"-kernel:{kernel}" if kernel else "")
            key = f"transformer-{shape}-qkv:{stage.qkv_dim}-heads:{stage.heads}-{ffn_part}-expand:{stage.expansion}"
            config: tuple[tuple[str, object], ...] = (
                ("qkv_dim", stage.qkv_dim),
                ("heads", stage.heads),
                ("ffn", ffn),
                ("kernel", kernel),
                ("expansion", stage.expansion),
            )
        else:
            key = f"{kind}-{shape}-kernel:{kernel}-expand:{stage.expansion}"
            config = (("kernel", kernel), ("expansion", stage.expansion))
        return BlockSpec(key=key, kind=kind, input_shape=(1, c, r, r), config=config)

    def blocks(
        self, arch: HybridArch, resolution: int | None = None, num_classes: int | None = None
    ) -> list[BlockSpec]:
        r = resolution or self.default_resolution
        self._check_resolution(r)
        k = num_classes or self.default_num_classes
        c_in = self.in_channels
        w0 = arch.stages[0].width
        specs = [_stem_spec(r, c_in, w0)]
        r //= STEM_STRIDE
        prev = w0
        for s, stage in enumerate(arch.stages):
            if s > 0:
                specs.append(_downsample_spec(r, prev, stage.width))
                r //= 2
            specs.extend(self._layer_spec(stage, token, r) for token in stage.layers)
            prev = stage.width
        specs.append(_head_spec(r, prev, k))
        return specs

    def build_block(self, spec: BlockSpec) -> nn.Module:
        cfg = spec.config_dict()
        c = spec.input_shape[1]
        if spec.kind == "stem":
            module: nn.Module = Stem(c, cfg["c_out"])
        elif spec.kind == "downsample":
            module = Downsample(c, cfg["c_out"])
        elif spec.kind == "ibn":
            module = InvertedBottleneck(c, cfg["kernel"], cfg["expansion"])
        elif spec.kind == "convnext":
            module = ConvNeXtBlock(c, cfg["kernel"], cfg["expansion"])
        elif spec.kind == "transformer":
            module = TransformerEncoder(
                c, cfg["qkv_dim"], cfg["heads"], cfg["ffn"], cfg["kernel"] or 3, cfg["expansion"]
            )
        elif spec.kind == "head":
            module = ClassifierHead(c, cfg["num_classes"])
        else:
            raise InvalidArchitecture(f"unknown hybrid block kind {spec.kind!r}")
        return module.eval()

    def build(self, arch: HybridArch, num_classes: int | None = None, resolution: int | None = None) -> nn.Module:
        return nn.Sequential(*(self.build_block(s) for s in self.blocks(arch, resolution, num_classes))).eval()

    def all_blocks(self, resolution: int | None = None, num_classes: int | None = None) -> Iterator[BlockSpec]:
        """Stem, head and downsample for every width, and every layer block per stage."""
        r = resolution or self.default_resolution
        self._check_resolution(r)
        k = num_classes or self.default_num_classes
        seen: set[str] = set()

        def fresh(specs: list[BlockSpec]) -> Iterator[BlockSpec]:
            for spec in specs:
                if spec.key not in seen:
                    seen.add(spec.key)
                    yield spec

        for s in range(NUM_STAGES):
            for width in WIDTHS[s]:
                for expansion in EXPANSIONS:
                    for qkv in QKV_DIMS[s] or (None,):
                        for heads in HEADS[s] or (None,):
                            # one probe arch per (stage, width, expansion, qkv, heads) lists every token
                            yield from fresh(self._stage_blocks(s, width, expansion, qkv, heads, r, k))

    def _stage_blocks(
        self, s: int, width: int, expansion: int, qkv: int | None, heads: int | None, resolution: int, num_classes: int
    ) -> list[BlockSpec]:
        r_stage = resolution // STEM_STRIDE // (2**s)
        stage = Stage(width, expansion, ("ib3",), qkv, heads)
        specs = [self._layer_spec(stage, token, r_stage) for token in _layer_tokens(s)]
        if s == 0:
            specs.insert(0, _stem_spec(resolution, self.in_channels, width))
        else:
            r_prev = r_stage * 2
            specs.extend(_downsample_spec(r_prev, prev, width) for prev in WIDTHS[s - 1])
        if s == NUM_STAGES - 1:
            specs.append(_head_spec(r_stage, width, num_classes))
        return specs
