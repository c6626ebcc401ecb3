"""Block features for latency prediction: what a block costs before it is timed.

A few-shot table predicts the blocks it did not time from these numbers (and, with a
prior table, from the prior's latency of the same block). They come from the block
itself, so they work for any space: FLOPs and #Params (counted as :mod:`hwnas.counting`
counts them, on the ``meta`` device so nothing is allocated), bytes moved (fp32 input,
output and weights), the input shape, the kind, and the block's own configuration
(every number as a feature, every string as a one-hot), and the FLOPs split by operator
class (:mod:`hwnas.latency.op_flops`: depthwise per kernel size, pointwise, other
convolutions, matrix products) as logs and as shares of the block's FLOPs, which carry a
runtime's cost model where the prior's does not (LiteRT's 7x7 depthwise blocks: 58 % of
50 networks within ±10 % without them, 86 % with them, on the same 200 measured blocks;
docs/latency.md). A stored model names its columns, so a table fitted on fewer columns
(an older hwnas) is evaluated on those (:meth:`FeatureSet.row`). One pass over a 1,005-block
space takes about 10 s here, so the features are cached on disk by space, resolution
and hwnas version.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from hwnas import __version__
from hwnas.counting import count_params
from hwnas.io import atomic_write_json, read_json
from hwnas.latency.artifacts import default_work_dir, safe_name
from hwnas.latency.op_flops import CLASSES, DEPTHWISE, OperatorFlopCounter
from hwnas.spaces.base import BlockSpec, SearchSpace

BYTES_PER_VALUE = 4  # fp32: what the table's blocks are exported at before any runtime conversion


@dataclass(frozen=True)
class BlockCounts:
    """What a block costs on paper: FLOPs, parameters and the elements it reads and writes."""

    flops: int
    params: int
    input_elements: int
    output_elements: int
    flops_by_class: tuple[tuple[str, int], ...] = ()
    """(class, FLOPs) pairs, sorted (:mod:`hwnas.latency.op_flops`)."""

    @property
    def bytes_moved(self) -> int:
        return BYTES_PER_VALUE * (self.input_elements + self.output_elements + self.params)


def block_counts(space: SearchSpace, spec: BlockSpec) -> BlockCounts:
    """Counts of one block, built and run on the ``meta`` device (no memory, no arithmetic)."""
    with torch.device("meta"):
        block = space.build_block(spec).eval()
        counter = OperatorFlopCounter()
        with torch.inference_mode(), counter:
            out = block(torch.zeros(spec.input_shape))
    return BlockCounts(
        int(counter.flops),
        count_params(block),
        math.prod(spec.input_shape),
        int(out.numel()),
        tuple(sorted(counter.by_class.items())),
    )


def _log(x: float) -> float:
    return math.log(1.0 + x)


def _config_items(spec: BlockSpec) -> list[tuple[str, Any]]:
    """A block's config with sequences spread out per position (``ops[2]``): an NB201 cell's six
    operations are six labels, not one label per distinct cell (15,625 columns, gigabytes of rows)."""
    items: list[tuple[str, Any]] = []
    for name, value in spec.config:
        if isinstance(value, (list, tuple)):
            items += [(f"{name}[{i}]", v) for i, v in enumerate(value)]
        else:
            items.append((name, value))
    return items


class FeatureSet:
    """The feature matrix of a list of blocks: one row per block, named columns.

    Columns: ``log_flops``, ``log_params``, ``log_bytes``, ``log_in``, ``log_out`` (elements),
    ``channels``, ``height``, ``width``, ``kind=<k>`` for every kind, ``cfg:<name>`` for every
    numeric config value (0 where a block has none), ``cfg:<name>=<value>`` for strings, then
    ``log_flops:<class>`` and ``share:<class>`` (of the block's FLOPs) for every operator class
    and every depthwise kernel size of the space (``depthwise_k7``)."""

    def __init__(self, specs: Sequence[BlockSpec], counts: Sequence[BlockCounts]) -> None:
        self.keys = [s.key for s in specs]
        kinds = sorted({s.kind for s in specs})
        numeric: set[str] = set()
        labels: set[str] = set()
        for s in specs:
            for name, value in _config_items(s):
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    if value is not None:
                        labels.add(f"cfg:{name}={value}")
                else:
                    numeric.add(f"cfg:{name}")
        base = ["log_flops", "log_params", "log_bytes", "log_in", "log_out", "channels", "height", "width"]
        dw_sizes = sorted({name for c in counts for name, _ in c.flops_by_class if name.startswith(f"{DEPTHWISE}_")})
        classes = [*CLASSES, *dw_sizes]
        op_columns = [*(f"log_flops:{c}" for c in classes), *(f"share:{c}" for c in classes)]
        self.block_names = [*base, *(f"kind={k}" for k in kinds), *sorted(numeric), *sorted(labels)]
        """The columns without the operator classes (what a model sees unless its runtime asks for them)."""
        self.names = [*self.block_names, *op_columns]
        index = {n: i for i, n in enumerate(self.names)}
        self.rows: list[list[float]] = []
        for s, c in zip(specs, counts, strict=True):
            row = [0.0] * len(self.names)
            shape = tuple(s.input_shape) + (1,) * max(0, 4 - len(s.input_shape))
            row[:8] = [
                _log(c.flops),
                _log(c.params),
                _log(c.bytes_moved),
                _log(c.input_elements),
                _log(c.output_elements),
                float(shape[1]),
                float(shape[2]),
                float(shape[3]),
            ]
            row[index[f"kind={s.kind}"]] = 1.0
            for name, value in _config_items(s):
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    if value is not None:
                        row[index[f"cfg:{name}={value}"]] = 1.0
                else:
                    row[index[f"cfg:{name}"]] = float(value)
            by_class = dict(c.flops_by_class)
            for name in classes:
                flops = by_class.get(name, 0)
                row[index[f"log_flops:{name}"]] = _log(flops)
                row[index[f"share:{name}"]] = flops / c.flops if c.flops else 0.0
            self.rows.append(row)
        self.counts = dict(zip(self.keys, counts, strict=True))
        self._index = {k: i for i, k in enumerate(self.keys)}
        self._column = index

    def row(self, key: str, names: Sequence[str] | None = None) -> list[float]:
        """The block's row, or only the columns ``names`` (a stored model's), in that order."""
        row = self.rows[self._index[key]]
        if names is None:
            return row
        return [row[self._column[n]] for n in names]

    def has_columns(self, names: Sequence[str]) -> bool:
        return all(n in self._column for n in names)


def space_features(
    space: SearchSpace,
    specs: Sequence[BlockSpec],
    *,
    resolution: int,
    num_classes: int,
    work_dir: str | os.PathLike[str] | None = None,
) -> FeatureSet:
    """Features of ``specs``, counted once per space, resolution and class count and cached on disk."""
    root = Path(work_dir) if work_dir is not None else default_work_dir()
    # "-ops": entries carry the FLOPs by operator class; another file than the 4-number entries of
    # before, so checkouts of either layout sharing a work dir never rewrite each other's cache
    cache = root / "features" / f"{safe_name(f'{space.name}-r{resolution}-c{num_classes}-{__version__}-ops')}.json"
    stored: dict[str, list[Any]] = {}
    if cache.exists():
        try:
            data = read_json(cache)
            stored = data if isinstance(data, dict) else {}
        except ValueError:
            stored = {}
    counts = []
    missing = False
    for spec in specs:
        got = stored.get(spec.key)
        if isinstance(got, list) and len(got) == 5 and isinstance(got[4], dict):
            by_class = tuple(sorted((str(k), int(v)) for k, v in got[4].items()))
            flops, params, n_in, n_out = (int(x) for x in got[:4])
            counts.append(BlockCounts(flops, params, n_in, n_out, by_class))
        else:
            c = block_counts(space, spec)
            stored[spec.key] = [c.flops, c.params, c.input_elements, c.output_elements, dict(c.flops_by_class)]
            counts.append(c)
            missing = True
    if missing:
        atomic_write_json(cache, stored)
    return FeatureSet(specs, counts)
